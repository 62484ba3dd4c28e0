//! The admin API under `/-/admin/` (never a bucket: `-` cannot begin a
//! bucket name). Requests are signed like any S3 request (SigV4, or any
//! scheme the server speaks) and only admin users may call it; answers
//! are JSON, errors the usual S3 XML document.
//!
//! | request | answer |
//! |---|---|
//! | `GET /-/admin/users` | `{"users": [{name, access_key, canonical_id, admin, origin}]}` |
//! | `PUT /-/admin/users/<name>` | 200 `{name, access_key, secret_key, canonical_id}`: the secret, once |
//! | `POST /-/admin/users/<name>?rotate` | the same, with a fresh key pair; the old one stops working |
//! | `DELETE /-/admin/users/<name>` | 204 |
//!
//! `imgbucket admin user add|list|remove|rotate` is a client of this API.

use crate::http::body::Body;
use crate::http::error::ApiError;
use crate::http::names::RawQuery;
use crate::http::ApiResult;
use crate::users::{canonical_id, User, Users};
use http::{HeaderValue, Method, Response, StatusCode};
use serde::Serialize;

/// The path prefix of the admin API.
pub const PREFIX: &str = "/-/admin/";

/// An admin operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOp {
    ListUsers,
    AddUser { name: String },
    RotateUser { name: String },
    RemoveUser { name: String },
}

impl AdminOp {
    /// The operation's name (for logs).
    pub fn name(&self) -> &'static str {
        match self {
            AdminOp::ListUsers => "AdminListUsers",
            AdminOp::AddUser { .. } => "AdminAddUser",
            AdminOp::RotateUser { .. } => "AdminRotateUser",
            AdminOp::RemoveUser { .. } => "AdminRemoveUser",
        }
    }
}

/// Routes a path under `/-/` (`rest` is what follows `/-/`).
pub fn route(method: &Method, rest: &str, q: &RawQuery) -> Result<AdminOp, ApiError> {
    let missing = || ApiError::NoSuchResource(format!("/-/{rest}"));
    let Some(users) = rest.strip_prefix("admin/users") else {
        return Err(missing());
    };
    match users.strip_prefix('/') {
        None if users.is_empty() => match *method {
            Method::GET => Ok(AdminOp::ListUsers),
            _ => Err(ApiError::MethodNotAllowed),
        },
        Some(name) if !name.is_empty() && !name.contains('/') => {
            let name = name.to_string();
            match *method {
                Method::PUT => Ok(AdminOp::AddUser { name }),
                Method::DELETE => Ok(AdminOp::RemoveUser { name }),
                Method::POST if q.has("rotate") => Ok(AdminOp::RotateUser { name }),
                _ => Err(ApiError::MethodNotAllowed),
            }
        }
        _ => Err(missing()),
    }
}

#[derive(Serialize)]
struct NewKeys<'a> {
    name: &'a str,
    access_key: &'a str,
    secret_key: &'a str,
    canonical_id: String,
}

/// Runs an admin operation (the caller is known to be an admin).
pub async fn handle(users: &Users, op: AdminOp) -> ApiResult {
    match op {
        AdminOp::ListUsers => json(
            StatusCode::OK,
            &serde_json::json!({ "users": users.list().await }),
        ),
        AdminOp::AddUser { name } => {
            let user = users.add(&name).await?;
            tracing::info!(user = %name, access_key = %user.access_key, "user added");
            new_keys(&user)
        }
        AdminOp::RotateUser { name } => {
            let user = users.rotate(&name).await?;
            tracing::info!(user = %name, access_key = %user.access_key, "user key rotated");
            new_keys(&user)
        }
        AdminOp::RemoveUser { name } => {
            users.remove(&name).await?;
            tracing::info!(user = %name, "user removed");
            Ok(crate::http::empty_response(StatusCode::NO_CONTENT))
        }
    }
}

fn new_keys(user: &User) -> ApiResult {
    json(
        StatusCode::OK,
        &NewKeys {
            name: &user.name,
            access_key: &user.access_key,
            secret_key: &user.secret_key,
            canonical_id: canonical_id(&user.name),
        },
    )
}

fn json<T: Serialize>(status: StatusCode, value: &T) -> Result<Response<Body>, ApiError> {
    let text = serde_json::to_vec(value).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut r = crate::http::json_response(status, text);
    // A secret must not linger in a cache.
    r.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> RawQuery {
        RawQuery::parse(Some(s)).unwrap_or_default()
    }

    #[test]
    fn routes() {
        let r = |m: Method, p: &str, query: &str| route(&m, p, &q(query));
        assert_eq!(
            r(Method::GET, "admin/users", "").ok(),
            Some(AdminOp::ListUsers)
        );
        let alice = || "alice".to_string();
        assert_eq!(
            r(Method::PUT, "admin/users/alice", "").ok(),
            Some(AdminOp::AddUser { name: alice() })
        );
        assert_eq!(
            r(Method::POST, "admin/users/alice", "rotate").ok(),
            Some(AdminOp::RotateUser { name: alice() })
        );
        assert_eq!(
            r(Method::DELETE, "admin/users/alice", "").ok(),
            Some(AdminOp::RemoveUser { name: alice() })
        );
        assert!(matches!(
            r(Method::POST, "admin/users/alice", ""),
            Err(ApiError::MethodNotAllowed)
        ));
        assert!(matches!(
            r(Method::GET, "admin/nope", ""),
            Err(ApiError::NoSuchResource(_))
        ));
        assert!(matches!(
            r(Method::GET, "admin/users/a/b", ""),
            Err(ApiError::NoSuchResource(_))
        ));
    }
}
