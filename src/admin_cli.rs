//! `imgbucket admin ...`: a client of the admin API (`/-/admin/`) of a
//! running server, signed with SigV4 like any S3 request.
//!
//! The endpoint and the admin's keys come from the environment:
//! `IMGBUCKET_ENDPOINT` (default `http://127.0.0.1:9000`), and
//! `IMGBUCKET_ACCESS_KEY` / `IMGBUCKET_SECRET_KEY` (or, failing those,
//! `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, which aws-cli users
//! already have set). A new secret is printed exactly once.

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use imgbucket::auth::client::{payload_sha256, sign_v4_request, uri_encode, Credentials};
use std::time::SystemTime;

/// `imgbucket admin ...`.
#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
}

/// `imgbucket admin user ...`.
#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user and print its key pair (the secret is shown only now).
    Add { name: String },
    /// List users (never their secrets).
    List,
    /// Remove a user; its key stops working at once.
    Remove { name: String },
    /// Give a user a new key pair (printed once); the old one stops working.
    Rotate { name: String },
}

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

/// Runs an admin command; the text to print, or why it failed.
pub async fn run(command: AdminCommand) -> Result<String, String> {
    let AdminCommand::User(cmd) = command;
    let endpoint = env(&["IMGBUCKET_ENDPOINT"]).unwrap_or_else(|| "http://127.0.0.1:9000".into());
    let (Some(access_key), Some(secret_key)) = (
        env(&["IMGBUCKET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"]),
        env(&["IMGBUCKET_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"]),
    ) else {
        return Err(
            "set IMGBUCKET_ACCESS_KEY and IMGBUCKET_SECRET_KEY to the admin's key pair".into(),
        );
    };
    let region = env(&["IMGBUCKET_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"])
        .unwrap_or_else(|| "us-east-1".into());
    let creds = Credentials::new(access_key, secret_key, region);
    let name_path = |name: &str| format!("/-/admin/users/{}", uri_encode(name, false));
    let (method, path) = match &cmd {
        UserCommand::Add { name } => (Method::PUT, name_path(name)),
        UserCommand::List => (Method::GET, "/-/admin/users".to_string()),
        UserCommand::Remove { name } => (Method::DELETE, name_path(name)),
        UserCommand::Rotate { name } => (Method::POST, format!("{}?rotate=", name_path(name))),
    };
    let base = endpoint.trim_end_matches('/');
    let uri: Uri = format!("{base}{path}")
        .parse()
        .map_err(|e| format!("IMGBUCKET_ENDPOINT {endpoint}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "IMGBUCKET_ENDPOINT {endpoint}: only http:// is spoken (put a TLS proxy in front)"
        ));
    }
    let mut headers = HeaderMap::new();
    sign_v4_request(
        &method,
        &uri,
        &mut headers,
        &payload_sha256(b""),
        &creds,
        SystemTime::now(),
    )
    .map_err(|e| format!("cannot sign the request: {e}"))?;
    let mut req = http::Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::new(Bytes::new()))
        .map_err(|e| e.to_string())?;
    *req.headers_mut() = headers;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let resp = client
        .request(req)
        .await
        .map_err(|e| format!("cannot reach {endpoint}: {e}"))?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the answer: {e}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(describe_error(status, &body));
    }
    render(&cmd, &body)
}

/// An S3 error document as one line: `403 AccessDenied: Access Denied`.
fn describe_error(status: http::StatusCode, body: &[u8]) -> String {
    let root = imgbucket::http::xml::parse(body).ok();
    let text = |name: &str| root.as_ref()?.child_text(name).map(str::to_string);
    match (text("Code"), text("Message")) {
        (Some(code), Some(message)) => format!("{} {code}: {message}", status.as_u16()),
        _ => format!(
            "{} {}",
            status.as_u16(),
            String::from_utf8_lossy(body).trim()
        ),
    }
}

fn render(cmd: &UserCommand, body: &[u8]) -> Result<String, String> {
    if let UserCommand::Remove { name } = cmd {
        return Ok(format!("removed user {name}"));
    }
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("unexpected answer: {e}"))?;
    let s = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    match cmd {
        UserCommand::List => {
            let mut out = format!("{:<20} {:<22} {:<8} {}", "NAME", "ACCESS KEY", "ADMIN", "ORIGIN");
            for u in v["users"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "\n{:<20} {:<22} {:<8} {}",
                    s(u, "name"),
                    s(u, "access_key"),
                    u["admin"].as_bool().unwrap_or(false),
                    s(u, "origin"),
                ));
            }
            Ok(out)
        }
        _ => Ok(format!(
            "user: {}\ncanonical id: {}\nAWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n(the secret is shown only now)",
            s(&v, "name"),
            s(&v, "canonical_id"),
            s(&v, "access_key"),
            s(&v, "secret_key"),
        )),
    }
}
