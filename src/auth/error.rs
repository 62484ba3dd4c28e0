//! The one error type of the auth layer: every way a request can fail
//! authentication or body-integrity checks, each mapped to the S3 error code
//! and HTTP status a client expects.

use super::checksum::ChecksumAlgorithm;

/// Why a request was refused by [`crate::auth::verify`] or why its body was
/// refused by [`crate::auth::VerifiedBody`].
///
/// [`AuthError::code`] gives the S3 error code, [`AuthError::status`] the HTTP
/// status, and `Display` a human message for the `<Message>` element.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A presigned URL used after its expiry time (both times in ISO 8601,
    /// as AWS's `<Expires>` and `<ServerTime>` give them).
    #[error("Request has expired (expired at {expired_at}; server time {now})")]
    RequestExpired { expired_at: String, now: String },
    /// `X-Amz-Expires` outside 0..=604800 seconds: AWS's code, with the 403
    /// that S3 conformance suites expect.
    #[error("{0}")]
    ExpiresOutOfRange(&'static str),
    /// A presigned URL whose signing time is further in the future than the
    /// allowed clock skew.
    #[error("Request is not valid yet")]
    RequestNotYetValid,
    /// No usable `x-amz-date` / `Date` header on a header-signed request, or
    /// one that cannot be parsed.
    #[error("AWS authentication requires a valid Date or x-amz-date header")]
    MissingDate,
    /// The access key in the credential is not in the keyring.
    #[error("The AWS Access Key Id you provided does not exist in our records.")]
    InvalidAccessKeyId {
        /// The access key the client sent.
        access_key: String,
    },
    /// The signature the client sent is not the one we computed.
    #[error(
        "The request signature we calculated does not match the signature you provided. \
         Check your key and signing method."
    )]
    SignatureDoesNotMatch {
        /// The string to sign we computed, for debug logs (S3 returns it in
        /// the error body too). Never contains the secret.
        string_to_sign: String,
    },
    /// The request time is more than the allowed skew (15 minutes) away from
    /// the server's clock.
    #[error("The difference between the request time and the current time is too large.")]
    RequestTimeTooSkewed {
        /// The request time as the client sent it.
        request_time: String,
    },
    /// The `Authorization` header is syntactically wrong or names a wrong
    /// scope (region, service, date).
    #[error("The authorization header is malformed; {reason}")]
    AuthorizationHeaderMalformed {
        /// What is wrong with it.
        reason: String,
    },
    /// The presigned-URL parameters are syntactically wrong, incomplete or
    /// out of range (e.g. `X-Amz-Expires` over a week).
    #[error("{reason}")]
    AuthorizationQueryParametersError {
        /// What is wrong with them.
        reason: String,
    },
    /// An `Authorization` header of a scheme we do not implement.
    #[error("Unsupported Authorization Type")]
    UnsupportedAuthorization,
    /// Both an `Authorization` header and signature query parameters, or
    /// query parameters of two schemes.
    #[error(
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
         Signature query string parameter or the Authorization header should be specified"
    )]
    ConflictingAuthMechanisms,
    /// A SigV4 header-signed request without `x-amz-content-sha256`.
    #[error("Missing required header for this request: x-amz-content-sha256")]
    MissingContentSha256,
    /// An `x-amz-content-sha256` value that is neither a SHA-256 hex digest
    /// nor one of the documented keywords.
    #[error(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, \
         STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER \
         or a valid sha256 value (got {value:?})"
    )]
    InvalidContentSha256 {
        /// The value as sent.
        value: String,
    },
    /// A signed-streaming payload on a request that carries no SigV4 header
    /// signature to chain the chunk signatures from.
    #[error("{mode} requires a SigV4 Authorization header")]
    StreamingRequiresSigV4 {
        /// The `x-amz-content-sha256` keyword.
        mode: &'static str,
    },
    /// The body's SHA-256 differs from the signed `x-amz-content-sha256`.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch {
        /// The hex digest the client declared.
        client: String,
        /// The hex digest of the body received.
        computed: String,
    },
    /// The body's MD5 differs from `Content-MD5`.
    #[error("The Content-MD5 you specified did not match what we received.")]
    ContentMd5Mismatch,
    /// `Content-MD5` is not the base64 of 16 bytes.
    #[error("The Content-MD5 you specified is not valid.")]
    InvalidContentMd5,
    /// The body's checksum differs from the `x-amz-checksum-*` header or
    /// trailer.
    #[error("The {} you specified did not match the calculated checksum.", .algorithm.as_str())]
    ChecksumMismatch {
        /// Which checksum.
        algorithm: ChecksumAlgorithm,
    },
    /// An `x-amz-checksum-*` value that is not the base64 of a digest of the
    /// right length.
    #[error("Value for {} header is invalid.", .algorithm.header_name())]
    InvalidChecksumValue {
        /// Which checksum.
        algorithm: ChecksumAlgorithm,
    },
    /// More than one checksum algorithm announced (headers and/or
    /// `x-amz-trailer`).
    #[error("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")]
    MultipleChecksums,
    /// A checksum algorithm name we do not know (`x-amz-trailer`,
    /// `x-amz-sdk-checksum-algorithm`).
    #[error("Unsupported checksum algorithm or trailer {name:?}")]
    UnsupportedChecksum {
        /// The name as sent.
        name: String,
    },
    /// The aws-chunked framing is broken (bad size line, missing CRLF,
    /// bytes after the final chunk, over-long line).
    #[error("Malformed aws-chunked body: {reason}")]
    MalformedChunkedEncoding {
        /// What is wrong and where.
        reason: String,
    },
    /// An aws-chunked chunk larger than the configured limit.
    #[error("aws-chunked chunk of {size} bytes exceeds the limit of {limit} bytes")]
    ChunkTooLarge {
        /// The declared chunk size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A chunk signature (or the trailer signature) of a
    /// `STREAMING-AWS4-HMAC-SHA256-PAYLOAD*` body does not verify.
    #[error(
        "The request signature we calculated does not match the signature you provided \
         (chunk {chunk_index})."
    )]
    ChunkSignatureMismatch {
        /// 0-based index of the chunk; the trailer counts as the chunk after
        /// the final empty one.
        chunk_index: u64,
    },
    /// The trailer section is missing an announced trailer, holds one that
    /// was not announced, or is syntactically wrong.
    #[error("The request contained trailing data that was not well-formed: {reason}")]
    MalformedTrailer {
        /// What is wrong.
        reason: String,
    },
    /// The body ended early (truncated chunk, connection closed, read error).
    #[error("You did not provide the number of bytes specified: {reason}")]
    IncompleteBody {
        /// What happened.
        reason: String,
    },
    /// The decoded aws-chunked payload length differs from
    /// `x-amz-decoded-content-length`.
    #[error(
        "The decoded body length {actual} does not match x-amz-decoded-content-length {declared}"
    )]
    DecodedLengthMismatch {
        /// The header value.
        declared: u64,
        /// Bytes decoded (so far, if more than declared).
        actual: u64,
    },
    /// An aws-chunked body without (or with an unparsable)
    /// `x-amz-decoded-content-length`.
    #[error(
        "You must provide a valid x-amz-decoded-content-length header for aws-chunked uploads."
    )]
    MissingDecodedContentLength,
    /// `Content-Encoding: aws-chunked` without a `STREAMING-*`
    /// `x-amz-content-sha256`: we could not tell how to decode the body.
    #[error("Content-Encoding aws-chunked requires a STREAMING-* x-amz-content-sha256 header")]
    AwsChunkedWithoutStreamingSha256,
    /// A browser form upload's credential fields are missing or malformed
    /// (S3's sentence, naming the field).
    #[error("{reason}")]
    InvalidPostForm {
        /// What is wrong.
        reason: String,
    },
    /// [`crate::auth::VerifiedBody::finish`] called before the body stream
    /// ended successfully: a bug in the caller.
    #[error("internal error: body integrity requested before the body was fully read")]
    BodyNotFinished,
}

impl AuthError {
    /// A presigned request that expired at `expired_at`, refused at `now`.
    pub fn expired(expired_at: std::time::SystemTime, now: std::time::SystemTime) -> AuthError {
        AuthError::RequestExpired {
            expired_at: super::util::format_iso8601_seconds(expired_at),
            now: super::util::format_iso8601_seconds(now),
        }
    }

    /// The S3 error code for the `<Code>` element.
    pub fn code(&self) -> &'static str {
        use AuthError::*;
        match self {
            RequestExpired { .. } | RequestNotYetValid | MissingDate => "AccessDenied",
            ExpiresOutOfRange(_) => "AuthorizationQueryParametersError",
            InvalidAccessKeyId { .. } => "InvalidAccessKeyId",
            SignatureDoesNotMatch { .. } | ChunkSignatureMismatch { .. } => "SignatureDoesNotMatch",
            RequestTimeTooSkewed { .. } => "RequestTimeTooSkewed",
            AuthorizationHeaderMalformed { .. } => "AuthorizationHeaderMalformed",
            AuthorizationQueryParametersError { .. } => "AuthorizationQueryParametersError",
            UnsupportedAuthorization
            | ConflictingAuthMechanisms
            | InvalidContentSha256 { .. }
            | InvalidPostForm { .. } => "InvalidArgument",
            MissingContentSha256
            | StreamingRequiresSigV4 { .. }
            | InvalidChecksumValue { .. }
            | MultipleChecksums
            | UnsupportedChecksum { .. }
            | MalformedChunkedEncoding { .. }
            | ChunkTooLarge { .. }
            | AwsChunkedWithoutStreamingSha256 => "InvalidRequest",
            ContentSha256Mismatch { .. } => "XAmzContentSHA256Mismatch",
            ContentMd5Mismatch | ChecksumMismatch { .. } => "BadDigest",
            InvalidContentMd5 => "InvalidDigest",
            MalformedTrailer { .. } => "MalformedTrailerError",
            IncompleteBody { .. } | DecodedLengthMismatch { .. } => "IncompleteBody",
            MissingDecodedContentLength => "MissingContentLength",
            BodyNotFinished => "InternalError",
        }
    }

    /// The HTTP status code S3 answers with.
    pub fn status(&self) -> u16 {
        use AuthError::*;
        match self {
            RequestExpired { .. }
            | ExpiresOutOfRange(_)
            | RequestNotYetValid
            | MissingDate
            | InvalidAccessKeyId { .. }
            | SignatureDoesNotMatch { .. }
            | ChunkSignatureMismatch { .. }
            | RequestTimeTooSkewed { .. } => 403,
            MissingDecodedContentLength => 411,
            BodyNotFinished => 500,
            _ => 400,
        }
    }

    /// Whether the failure is an authentication failure (as opposed to a
    /// body-integrity failure). Useful for logging and metrics.
    pub fn is_auth_failure(&self) -> bool {
        self.status() == 403
    }
}
