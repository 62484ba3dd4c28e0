//! The gateway's `ObjectWriter`: a request body is spooled to a local temp
//! file, then sent to the backend in one request with its length and MD5.
//!
//! Why spool instead of streaming straight through: the protocol layer
//! checks a body (its `Content-MD5`, trailer checksums, the aws-chunked
//! signatures) only once all of it has arrived, and a body that fails must
//! leave nothing behind. Sent straight through, it would already be the
//! backend's current object. The spool file is the node's only copy, it is
//! removed on commit and on drop, and a crash leaves only garbage that the
//! next start sweeps away.

use std::path::PathBuf;

use async_trait::async_trait;
use base64::Engine;
use http::Method;
use md5::{Digest, Md5};
use storage::{Error, ObjectAttrs, ObjectMeta, ObjectWriter, Precondition, Result};
use tokio::io::AsyncWriteExt;

use super::client::{Call, Payload};
use super::{wire, GatewayStore};

/// What a spooled body becomes.
#[derive(Debug)]
pub enum Target {
    Object {
        bucket: String,
        key: String,
    },
    Part {
        bucket: String,
        key: String,
        upload_id: String,
        part_number: u32,
    },
}

/// A body being spooled.
pub struct SpoolWriter {
    store: GatewayStore,
    target: Target,
    path: PathBuf,
    file: Option<tokio::fs::File>,
    written: u64,
    md5: Md5,
    precondition: Precondition,
}

impl SpoolWriter {
    pub async fn create(store: GatewayStore, target: Target) -> Result<SpoolWriter> {
        let mut name = [0u8; 16];
        getrandom::fill(&mut name).map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
        let path = store.shared.spool_dir.join(hex::encode(name));
        let file = tokio::fs::File::create(&path).await?;
        Ok(SpoolWriter {
            store,
            target,
            path,
            file: Some(file),
            written: 0,
            md5: Md5::new(),
            precondition: Precondition::Unconditional,
        })
    }
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        // Committed or abandoned, the spool file is never needed again.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[async_trait]
impl ObjectWriter for SpoolWriter {
    async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| Error::Io(std::io::Error::other("write after commit")))?;
        file.write_all(chunk).await?;
        self.md5.update(chunk);
        self.written += chunk.len() as u64;
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    fn require(&mut self, precondition: Precondition) {
        if matches!(self.target, Target::Object { .. }) {
            self.precondition = precondition;
        }
    }

    async fn commit(
        mut self: Box<Self>,
        attrs: ObjectAttrs,
        expected_md5: Option<[u8; 16]>,
    ) -> Result<ObjectMeta> {
        let md5: [u8; 16] = std::mem::take(&mut self.md5).finalize().into();
        if expected_md5.is_some_and(|e| e != md5) {
            return Err(Error::BadDigest);
        }
        if self.precondition != Precondition::Unconditional {
            return Err(super::conditional_writes_unsupported());
        }
        if let Some(mut file) = self.file.take() {
            file.flush().await?;
        }
        let payload = Payload::File {
            path: self.path.clone(),
            len: self.written,
        };
        let content_md5 = base64::engine::general_purpose::STANDARD.encode(md5);
        let etag = hex::encode(md5);
        let backend = self.store.backend();
        let (key, etag) = match &self.target {
            Target::Object { bucket, key } => {
                let mut call = Call::new(Method::PUT, Some(bucket), Some(key))
                    .header("content-md5", &content_md5)
                    .payload(payload);
                wire::attrs_to_headers(&attrs, &mut call.headers)?;
                backend.send_ok(&call).await?;
                (key, etag)
            }
            Target::Part {
                bucket,
                key,
                upload_id,
                part_number,
            } => {
                let call = Call::new(Method::PUT, Some(bucket), Some(key))
                    .query("partNumber", part_number.to_string())
                    .query("uploadId", upload_id.clone())
                    .header("content-md5", &content_md5)
                    .payload(payload);
                let resp = backend.send_ok(&call).await?;
                let etag = resp
                    .headers()
                    .get("etag")
                    .and_then(|v| v.to_str().ok())
                    .map(wire::unquote)
                    .unwrap_or(etag);
                // The backend keeps no checksums of parts: the meta bucket
                // does, for ListParts and the object's CRC-64.
                let record = super::PartRecord {
                    etag: etag.clone(),
                    size: self.written,
                    crc64: attrs.crc64_ecma,
                    checksums: attrs.checksums.clone(),
                };
                self.store
                    .record_part(bucket, upload_id, *part_number, &record)
                    .await?;
                (key, etag)
            }
        };
        Ok(ObjectMeta {
            key: key.clone(),
            size: self.written,
            etag,
            last_modified: std::time::SystemTime::now(),
            attrs,
        })
    }
}
