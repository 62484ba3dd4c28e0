//! The support shared by the root crate's test binaries (`tests/s3`,
//! `tests/process`), each of which includes it as
//! `#[path = "../common/mod.rs"] mod common;`: the in-process server and its
//! signing client, XML reading, digests, synthetic images and a seeded
//! random generator. One copy of each, re-exported here.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::too_many_arguments
)]

pub mod harness;
pub mod images;
pub mod rng;
pub mod server;
pub mod xml;

pub use images::*;
pub use rng::Rng;
pub use server::*;
pub use xml::*;

/// The lowercase hex MD5 of `data` (an S3 ETag without its quotes).
pub fn md5_hex(data: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(data))
}

/// Base64 of `data`, standard alphabet with padding (`Content-MD5`).
pub fn b64_std(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// URL-safe base64 without padding (as Alibaba and Tencent examples write
/// processing parameters).
pub fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.as_bytes())
}
