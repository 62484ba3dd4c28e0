//! The storage layer's one error type.
//!
//! Expected outcomes (a missing key, a failed precondition) are variants of
//! their own, kept apart from I/O failures and corruption, so that the
//! protocol layer can map each to its S3 code without string matching.

use std::io;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bucket does not exist.
    #[error("no such bucket: {0}")]
    NoSuchBucket(String),
    /// CreateBucket on a name that already exists (single-tenant store: the
    /// caller always owns it).
    #[error("bucket already exists: {0}")]
    BucketAlreadyOwnedByYou(String),
    /// CreateBucket on a name held by someone else (in gateway mode: by
    /// another user of the backend, or reserved by the gateway itself).
    #[error("bucket name already taken: {0}")]
    BucketAlreadyExists(String),
    /// DeleteBucket while objects or uploads remain.
    #[error("bucket not empty: {0}")]
    BucketNotEmpty(String),
    /// The key does not exist in the bucket.
    #[error("no such key: {0}")]
    NoSuchKey(String),
    /// The multipart upload id is unknown (or was completed or aborted).
    #[error("no such upload: {0}")]
    NoSuchUpload(String),
    /// CompleteMultipartUpload named a part that was not uploaded, or whose
    /// ETag differs.
    #[error("invalid part {part_number}: {reason}")]
    InvalidPart { part_number: u32, reason: String },
    /// CompleteMultipartUpload's parts are not in ascending order.
    #[error("parts are not in ascending order")]
    InvalidPartOrder,
    /// A part other than the last is below the minimum part size.
    #[error("part {part_number} is {size} bytes, below the minimum of {min}")]
    EntityTooSmall {
        part_number: u32,
        size: u64,
        min: u64,
    },
    /// A write's [`crate::Precondition`] did not hold at commit; nothing
    /// was committed.
    #[error("the key's current object does not satisfy the write's precondition")]
    PreconditionFailed,
    /// The body's MD5 differs from the expected `Content-MD5`.
    #[error("the Content-MD5 does not match the body")]
    BadDigest,
    /// The requested range starts past the end of the object.
    #[error("range not satisfiable for an object of {size} bytes")]
    InvalidRange { size: u64 },
    /// The store cannot do this at all (a gateway whose backend lacks the
    /// feature); names what.
    #[error("{0} is not supported by this store")]
    NotImplemented(String),
    /// The backend store is down or did not answer in time; the request
    /// may succeed later.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// The backend store asked for fewer requests.
    #[error("backend overloaded: {0}")]
    SlowDown(String),
    /// Stored data failed a consistency check (unreadable record, missing
    /// data file). Never caused by client input.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// Any other I/O failure of the underlying disk or database.
    #[error("storage I/O: {0}")]
    Io(#[from] io::Error),
}
