//! Integration tests of the S3 layer: the whole server runs in-process on
//! port 0 over real HTTP on loopback, with an embedded store in a temp dir,
//! and requests carry real SigV4 signatures (the auth module's signer).

#![allow(clippy::unwrap_used)]

mod common;

mod auth;
mod buckets;
mod cli;
mod list;
mod multipart;
mod objects;
mod robustness;
mod shutdown;
