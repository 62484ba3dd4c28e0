//! Glue between the protocol layer and the `auth` module: turns a request's
//! credentials into a [`Caller`] and its body into a verified
//! [`RequestBody`]; for a browser form upload, whose credentials are form
//! fields, the two happen apart ([`form_body`], then
//! [`authenticate_form`] once the fields are read).
//!
//! The `auth` module decides *who* sent the request and checks the body
//! bytes; the protocol layer decides *what* that caller may do
//! (`front::authorize`).

use crate::auth::{self, AuthError, Principal, VerifiedBody};
use crate::front::AppState;
use crate::http::body::{BodyDigest, BodySource, RequestBody};
use crate::http::error::ApiError;
use crate::http::form::Form;
use crate::http::Caller;
use bytes::Bytes;
use futures_util::StreamExt;
use std::task::{Context, Poll};
use std::time::SystemTime;

/// Authenticates the request and wraps its body so that every chunk a
/// handler reads has been verified. `host_bucket` is the bucket named by the
/// `Host` header (virtual-host style), which SigV2 needs.
pub async fn authenticate<B>(
    state: &AppState,
    parts: &http::request::Parts,
    host_bucket: Option<&str>,
    incoming: B,
) -> Result<(Caller, RequestBody), ApiError>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let keyring = state.users.keyring().await;
    let verified = auth::verify(parts, host_bucket, &keyring, SystemTime::now())?;
    let caller = match verified.principal {
        Principal::Anonymous => Caller::Anonymous,
        Principal::User { access_key } => match state.users.identity(&access_key).await {
            Some(who) => Caller::User(who),
            // Removed between the two reads: as if never known.
            None => return Err(AuthError::InvalidAccessKeyId { access_key }.into()),
        },
    };
    // The CRC costs little next to the MD5 every write computes, and lets
    // every stored object answer the vendor SDKs' end-to-end check.
    let body = VerifiedBody::new(incoming, &verified.payload, &parts.headers)?.with_crc64_ecma();
    let body =
        RequestBody::new(Verified(body)).with_idle_timeout(state.config.limits.body_idle_timeout);
    Ok((caller, body))
}

/// The body of a browser form upload: its credentials are in the form,
/// not in the request head a browser writes, so the head's signature is
/// not read; the body gets the same integrity checks and idle timeout as
/// any other.
pub fn form_body<B>(
    state: &AppState,
    parts: &http::request::Parts,
    incoming: B,
) -> Result<RequestBody, ApiError>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let payload = auth::Payload::from_unsigned_request(&parts.headers)?;
    let body = VerifiedBody::new(incoming, &payload, &parts.headers)?;
    Ok(RequestBody::new(Verified(body)).with_idle_timeout(state.config.limits.body_idle_timeout))
}

/// Who signed a form upload: the user owning the access key that signed
/// its policy, or anonymous when the form has neither a policy nor
/// credentials (S3's anonymous form upload).
pub async fn authenticate_form(state: &AppState, form: &Form) -> Result<Caller, ApiError> {
    let field = |name| form.get(name);
    let Some(policy) = field("policy") else {
        let signed = [
            "x-amz-signature",
            "x-amz-credential",
            "signature",
            "awsaccesskeyid",
        ]
        .iter()
        .any(|f| field(f).is_some());
        return match signed {
            false => Ok(Caller::Anonymous),
            true => Err(ApiError::PostInvalidArgument(
                "Bucket POST must contain a field named 'policy'.  If it is specified, please check the order of the fields.".into(),
            )),
        };
    };
    let credentials = auth::FormCredentials {
        policy,
        algorithm: field("x-amz-algorithm"),
        credential: field("x-amz-credential"),
        date: field("x-amz-date"),
        signature: field("x-amz-signature"),
        v2_access_key: field("awsaccesskeyid"),
        v2_signature: field("signature"),
    };
    let keyring = state.users.keyring().await;
    let access_key = auth::verify_form(&credentials, &keyring)?;
    match state.users.identity(&access_key).await {
        Some(who) => Ok(Caller::User(who)),
        // Removed between the two reads: as if never known.
        None => Err(AuthError::InvalidAccessKeyId { access_key }.into()),
    }
}

/// Adapts the auth module's verifier to the handlers' body source.
struct Verified<B>(VerifiedBody<B>);

impl<B> BodySource for Verified<B>
where
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, ApiError>>> {
        self.0
            .poll_next_unpin(cx)
            .map(|item| item.map(|r| r.map_err(ApiError::from)))
    }

    fn finish(&mut self) -> Result<BodyDigest, ApiError> {
        let integrity = self.0.finish()?;
        Ok(BodyDigest {
            checksums: integrity.checksums,
            crc64_ecma: integrity.crc64_ecma,
        })
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        ApiError::Auth(e)
    }
}
