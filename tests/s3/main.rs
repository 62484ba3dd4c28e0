//! Integration tests of the S3 layer: the whole server runs in-process on
//! port 0 over real HTTP on loopback, with an embedded store in a temp dir,
//! and requests carry real signatures (the auth module's signers): SigV4
//! as the AWS SDKs send it, and the vendors' SDKs (`vendor_sdk`); CORS
//! preflights and headers (`cors`); bucket
//! lifecycle and its sweeper (`lifecycle`); health, metrics and the access
//! log (`ops`); the web console's files (`console`).

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod buckets;
mod cli;
mod console;
mod cors;
mod disk_faults;
mod gateway;
mod lifecycle;
mod list;
mod metadata_reads;
mod multipart;
mod objects;
mod ops;
mod post_object;
mod robustness;
mod shutdown;
mod tagging;
mod vendor_sdk;
