//! Glue between the protocol layer and the `auth` module: turns a request's
//! credentials into a [`Caller`] and its body into a verified
//! [`RequestBody`].
//!
//! The `auth` module decides *who* sent the request and checks the body
//! bytes; the protocol layer decides *what* that caller may do
//! (`front::authorize`).

use crate::auth::{self, AuthError, Principal, VerifiedBody};
use crate::front::AppState;
use crate::http::body::{BodyDigest, BodySource, RequestBody};
use crate::http::error::ApiError;
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
