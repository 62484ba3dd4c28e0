//! imgbucket: a self-hosted S3-compatible object store with image processing.
//!
//! Layers, outermost first: [`server`] (HTTP, connections, shutdown) →
//! [`s3`] (routing, auth glue, handlers, errors, XML) → `storage::Store`.
//! [`auth`] verifies signatures and request bodies; [`config`] is parsed
//! once in `main.rs` and handed down.
pub mod auth;
pub mod config;
pub mod process;
pub mod s3;
pub mod server;
