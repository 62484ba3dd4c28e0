//! Integration tests of image processing over HTTP: the whole server runs
//! in-process on port 0 (with a processed-variant cache in its data dir),
//! and the dialects' requests (Alibaba OSS `x-oss-process`, Tencent COS
//! `imageMogr2` & co., UCloud US3 `iopcmd`) are checked against the spec's
//! fixtures (fixtures.rs), measured by measure.rs.

#![allow(clippy::unwrap_used)]

#[path = "../common/mod.rs"]
mod common;
mod fixtures;
mod measure;

mod admission;
mod cos;
mod cos_conformance;
mod cos_persist;
mod explain;
mod hostile;
mod jpeg_scan;
mod negotiate;
mod oss;
mod styles;
mod us3;
mod us3_conformance;
mod vendor_auth;
mod video;
