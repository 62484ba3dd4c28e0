//! Upload-time processing as the S3 write path sees it.
//!
//! A PUT or CompleteMultipartUpload may carry rules to run on the object
//! once it is stored (Tencent COS `Pic-Operations`). The front door
//! prepares those rules before the S3 handler runs (`crate::images`
//! validates them and implements this trait) and hands the handler an
//! [`UploadHook`]; the handler stores the object as usual, asks the hook
//! before it assembles a multipart object, and lets it answer once the
//! object is committed. The S3 handlers thereby never import the image
//! layer, and the image layer never imports the S3 handlers.

use crate::http::body::Body;
use crate::http::error::ApiError;
use async_trait::async_trait;
use http::Response;
use storage::{CompletedPart, ObjectMeta};

/// What an upload with processing rules asks of the S3 write path.
#[async_trait]
pub trait UploadHook: Send + Sync {
    /// The largest object the upload may store (the rules read the stored
    /// object back into memory, so their limit applies to the upload).
    fn max_object_size(&self) -> u64;

    /// CompleteMultipartUpload, before anything is assembled: may refuse
    /// the completion (the upload then stays open). `parts` are the parts
    /// the client named.
    async fn check_completion(
        &self,
        upload_id: &str,
        parts: &[CompletedPart],
    ) -> Result<(), ApiError>;

    /// Runs the rules on the committed object; the answer replaces the S3
    /// one. A failure is answered as is (the object stays stored).
    async fn after_commit(&self, stored: &ObjectMeta) -> Result<Response<Body>, ApiError>;
}
