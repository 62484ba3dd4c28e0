//! imgbucket: a self-hosted S3-compatible object store with image processing.
//!
//! Layers, outermost first, each importing only those below it:
//! [`server`] (HTTP connections, shutdown) → [`front`] (the front door:
//! routing to a typed operation, authentication, authorization, dispatch)
//! → the two handler families, siblings that never import each other:
//! [`s3`] (S3 operations) and [`images`] (image processing) → [`access`]
//! (ACLs, bucket policies, the one access decision) → [`http`]
//! (bodies, headers, XML, vendor twins, names, the one error type and its
//! renderers) → [`auth`] (signatures, body integrity) and
//! `storage::Store`, implemented by the embedded store or by [`gateway`]
//! (over a backend S3 store; it signs with `auth::client`). [`lifecycle`]
//! (expiry rules and their sweeper) runs beside the request line over the
//! store. [`config`] is parsed once in `main.rs` and handed down.
//! [`metrics`] is a leaf: the front door feeds it, `/-/metrics` renders it.
pub mod access;
pub mod auth;
pub mod config;
pub mod front;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod gateway;
pub mod http;
pub mod images;
pub mod lifecycle;
pub mod metrics;
pub mod s3;
pub mod server;
pub mod users;
