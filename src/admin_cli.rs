//! `imgbucket admin ...`: a client of the admin API (`/-/admin/`) of a
//! running server, signed with SigV4 like any S3 request.
//!
//! The endpoint and the admin's keys come from the environment (see
//! [`crate::remote`] for the full order):
//! `IMGBUCKET_ENDPOINT` (default `http://127.0.0.1:9000`), and
//! `IMGBUCKET_ACCESS_KEY` / `IMGBUCKET_SECRET_KEY` (or, failing those,
//! `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, which aws-cli users
//! already have set). A new secret is printed exactly once.

use crate::remote::Remote;
use bytes::Bytes;
use http::{HeaderMap, Method};
use imgbucket::auth::client::uri_encode;

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

/// Runs an admin command; the text to print, or why it failed.
pub async fn run(remote: &Remote, command: AdminCommand) -> Result<String, String> {
    let AdminCommand::User(cmd) = command;
    let name_path = |name: &str| format!("/-/admin/users/{}", uri_encode(name, false));
    let (method, path) = match &cmd {
        UserCommand::Add { name } => (Method::PUT, name_path(name)),
        UserCommand::List => (Method::GET, "/-/admin/users".to_string()),
        UserCommand::Remove { name } => (Method::DELETE, name_path(name)),
        UserCommand::Rotate { name } => (Method::POST, format!("{}?rotate=", name_path(name))),
    };
    let answer = remote
        .call(method, &path, HeaderMap::new(), Bytes::new())
        .await?;
    render(&cmd, &answer.body)
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
