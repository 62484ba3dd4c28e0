//! The HTTP layer's one error type, [`ApiError`], the S3 error-code table,
//! and the one renderer of each error envelope.
//!
//! Every failure of a request ends here: storage errors and auth errors
//! convert with `From`, protocol checks construct typed variants, and the
//! image layer hands over its failures already classified
//! ([`ApiError::Image`] with an [`ImageFailure`]). The code → HTTP status
//! mapping is data ([`ErrorCode`]'s table, one line per code), and
//! [`ApiError::into_response`] is the one place an error becomes a response,
//! with one function per envelope:
//!
//! | envelope | used for | function |
//! |---|---|---|
//! | S3 XML (`<HostId>` for OSS SDKs, `<TraceId>` for COS SDKs) | every S3 operation | `s3_envelope` |
//! | OSS XML with `<EC>` | OSS-dialect image requests | `oss_envelope` |
//! | COS XML with the `X-ErrNo` header | COS-dialect image requests, `Pic-Operations` | `cos_envelope` |
//! | US3 JSON `{"RetCode","ErrMsg"}` | US3-dialect image requests | `us3_envelope` |

use crate::http::body::{self, Body};
use crate::http::vendor::Vendor;
use crate::http::xml::XmlWriter;
use http::{HeaderValue, Response, StatusCode};

/// Declares [`ErrorCode`] and its table from `Name => status;` lines, so the
/// code string, the status and the enum cannot drift apart.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $name:ident => $status:literal;)*) => {
        /// An S3 error code (the `<Code>` element) with its HTTP status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $($(#[$doc])* $name,)*
        }

        impl ErrorCode {
            /// Every code with its status, the table as data (used by tests
            /// and docs).
            pub const TABLE: &'static [(ErrorCode, &'static str, u16)] =
                &[$((ErrorCode::$name, stringify!($name), $status),)*];

            /// The code as S3 spells it.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$name => stringify!($name),)* }
            }

            /// The HTTP status S3 answers with for this code.
            pub fn status(self) -> StatusCode {
                let code = match self { $(ErrorCode::$name => $status,)* };
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    };
}

error_codes! {
    /// The principal may not perform the operation.
    AccessDenied => 403;
    /// A CORS preflight that no rule of the bucket allows (or the bucket
    /// has none).
    AccessForbidden => 403;
    /// A request S3 refuses without a more precise code (a CORS preflight
    /// without `Origin` or with no valid `Access-Control-Request-Method`).
    BadRequest => 400;
    /// The body's MD5 differs from `Content-MD5`.
    BadDigest => 400;
    /// CreateBucket on a bucket the caller already owns.
    BucketAlreadyOwnedByYou => 409;
    /// CreateBucket on a name someone else holds.
    BucketAlreadyExists => 409;
    /// DeleteBucket while objects or uploads remain.
    BucketNotEmpty => 409;
    /// The body is larger than the operation allows.
    EntityTooLarge => 400;
    /// A multipart part other than the last is below the minimum size.
    EntityTooSmall => 400;
    /// CreateBucket asked for a region this server is not.
    IllegalLocationConstraintException => 400;
    /// The body ended before `Content-Length` bytes.
    IncompleteBody => 400;
    /// A server-side failure (disk, corruption); never client input.
    InternalError => 500;
    /// The access key is unknown.
    InvalidAccessKeyId => 403;
    /// A query parameter or header has an invalid value.
    InvalidArgument => 400;
    /// The bucket name breaks the S3 naming rules.
    InvalidBucketName => 400;
    /// `Content-MD5` is not a base64 MD5.
    InvalidDigest => 400;
    /// CompleteMultipartUpload named a missing part or a wrong ETag.
    InvalidPart => 400;
    /// GetObject/HeadObject `?partNumber=` beyond the object's parts.
    InvalidPartNumber => 416;
    /// CompleteMultipartUpload's parts are not ascending.
    InvalidPartOrder => 400;
    /// A form upload's policy is not a base64 JSON policy document.
    InvalidPolicyDocument => 400;
    /// The range is not satisfiable.
    InvalidRange => 416;
    /// A tag set breaks S3's rules (count, lengths, characters, a key twice).
    InvalidTag => 400;
    /// A change to an object kept losing to writes that replaced it.
    OperationAborted => 409;
    /// The request is well-formed but not allowed in this combination.
    InvalidRequest => 400;
    /// The URI could not be parsed (bad percent-encoding, not UTF-8).
    InvalidURI => 400;
    /// The key is longer than 1024 bytes.
    KeyTooLongError => 400;
    /// An XML body is not well-formed or not of the expected schema.
    MalformedXML => 400;
    /// A form upload's body is not well-formed `multipart/form-data`.
    MalformedPOSTRequest => 400;
    /// An XML body exceeds the size limit.
    MaxMessageLengthExceeded => 400;
    /// A form upload's fields before the file exceed 20 KiB.
    MaxPostPreDataLengthExceeded => 400;
    /// User metadata exceeds 2 KiB.
    MetadataTooLarge => 400;
    /// The method is not allowed on this resource.
    MethodNotAllowed => 405;
    /// A body-carrying request without `Content-Length`.
    MissingContentLength => 411;
    /// The bucket does not exist.
    NoSuchBucket => 404;
    /// The key does not exist.
    NoSuchKey => 404;
    /// The multipart upload does not exist.
    NoSuchUpload => 404;
    /// The admin API names a user that does not exist.
    NoSuchUser => 404;
    /// A path under `/-/` that names nothing.
    NoSuchResource => 404;
    /// The admin API adds a user whose name is taken.
    UserAlreadyExists => 409;
    /// The admin API changes a user defined outside it (config file).
    UserNotManaged => 409;
    /// GetBucketCors on a bucket without a CORS configuration.
    NoSuchCORSConfiguration => 404;
    /// GetBucketLifecycleConfiguration on a bucket without one.
    NoSuchLifecycleConfiguration => 404;
    /// GetBucketTagging on a bucket without tags.
    NoSuchTagSet => 404;
    /// A known S3 feature this server does not implement.
    NotImplemented => 501;
    /// A grant names an e-mail address.
    UnresolvableGrantByEmailAddress => 400;
    /// An ACL document that cannot be read.
    MalformedACLError => 400;
    /// A bucket policy that cannot be evaluated.
    MalformedPolicy => 400;
    /// GetBucketPolicy on a bucket without a policy.
    NoSuchBucketPolicy => 404;
    /// A conditional header's condition is false.
    PreconditionFailed => 412;
    /// Alibaba OSS: `x-oss-forbid-overwrite: true` and the key exists.
    FileAlreadyExists => 409;
    /// The client stopped sending the body.
    RequestTimeout => 400;
    /// The backend store (gateway mode) is down or did not answer in time.
    ServiceUnavailable => 503;
    /// The backend store (gateway mode) is overloaded.
    SlowDown => 503;
    /// The data disk is full (`ENOSPC`, `EDQUOT`); nothing was stored. Not
    /// an AWS code: MinIO and Ceph answer a full disk with 507 too, and
    /// SDKs retry it as a server error.
    InsufficientStorage => 507;
}

/// Where an error happened: what an error document names besides the
/// error itself.
#[derive(Debug, Clone, Copy)]
pub struct ErrorSite<'a> {
    /// `/bucket/key` as decoded.
    pub resource: &'a str,
    /// This request's id (also sent as `x-amz-request-id`).
    pub request_id: &'a str,
    /// The request's `Host` (OSS `<HostId>`).
    pub host: &'a str,
}

/// Every way a request can fail in the protocol layer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The principal may not perform this operation on this resource.
    #[error("Access Denied")]
    AccessDenied,
    /// The bucket does not exist.
    #[error("The specified bucket does not exist")]
    NoSuchBucket(String),
    /// The key does not exist.
    #[error("The specified key does not exist.")]
    NoSuchKey(String),
    /// The multipart upload id is unknown.
    #[error("The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")]
    NoSuchUpload(String),
    /// GetBucketCors on a bucket without a CORS configuration.
    #[error("The CORS configuration does not exist")]
    NoSuchCorsConfiguration(String),
    /// GetBucketLifecycleConfiguration on a bucket without rules.
    #[error("The lifecycle configuration does not exist")]
    NoSuchLifecycleConfiguration(String),
    /// The bucket has no tags.
    #[error("The TagSet does not exist")]
    NoSuchTagSet(String),
    /// A CORS preflight without `Origin` (the message is S3's).
    #[error("{0}")]
    CorsBadRequest(&'static str),
    /// A CORS preflight without a valid `Access-Control-Request-Method`
    /// (the method as sent, `null` when absent).
    #[error("Invalid Access-Control-Request-Method: {0}")]
    CorsInvalidMethod(String),
    /// A CORS preflight to a bucket without rules (its own or the
    /// server's default).
    #[error("CORSResponse: CORS is not enabled for this bucket.")]
    CorsNotEnabled,
    /// A CORS preflight that none of the bucket's rules allows (S3's
    /// message, its spelling included).
    #[error("CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")]
    CorsForbidden,
    /// CreateBucket on an existing bucket.
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou(String),
    /// DeleteBucket on a bucket with objects or uploads.
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty(String),
    /// The bucket name breaks the naming rules; the reason is in the message.
    #[error("The specified bucket is not valid: {0}")]
    InvalidBucketName(String),
    /// The key is longer than the 1024-byte limit.
    #[error("Your key is too long (the maximum is {max} bytes)")]
    KeyTooLong {
        /// The limit in bytes.
        max: usize,
    },
    /// A parameter has an invalid value: (name, explanation).
    #[error("Invalid argument {0}: {1}")]
    InvalidArgument(&'static str, String),
    /// The request combines things S3 refuses (e.g. copy onto itself).
    #[error("{0}")]
    InvalidRequest(String),
    /// The URI is not valid percent-encoded UTF-8.
    #[error("Couldn't parse the specified URI: {0}")]
    InvalidUri(String),
    /// An XML body does not parse or does not follow the schema.
    #[error("The XML you provided was not well-formed or did not validate against our published schema: {0}")]
    MalformedXml(String),
    /// A tag set (body or `x-amz-tagging`) breaks S3's rules.
    #[error("{0}")]
    InvalidTag(String),
    /// An in-place change of an object's attributes (ACL, tags) found the
    /// object replaced each time it tried.
    #[error("A conflicting conditional operation is currently in progress against this resource. Try again.")]
    OperationAborted,
    /// An XML body is over the configured limit.
    #[error("Your request was too big (limit {limit} bytes).")]
    XmlTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A body is larger than the operation allows.
    #[error("Your proposed upload exceeds the maximum allowed object size.")]
    EntityTooLarge,
    /// User metadata headers exceed the 2 KiB limit.
    #[error("Your metadata headers exceed the maximum allowed metadata size.")]
    MetadataTooLarge,
    /// `Content-MD5` is malformed.
    #[error("The Content-MD5 you specified is not valid.")]
    InvalidDigest,
    /// `Content-MD5` does not match the body.
    #[error("The Content-MD5 you specified did not match what we received.")]
    BadDigest,
    /// The body ended before its announced length.
    #[error(
        "You did not provide the number of bytes specified by the Content-Length HTTP header."
    )]
    IncompleteBody,
    /// Range not satisfiable for an object of `size` bytes.
    #[error("The requested range is not satisfiable")]
    InvalidRange {
        /// The object's size (for `Content-Range: bytes */size`).
        size: u64,
    },
    /// A conditional header (If-Match, If-Unmodified-Since, copy-source-if-*)
    /// failed.
    #[error("At least one of the pre-conditions you specified did not hold")]
    PreconditionFailed,
    /// Alibaba OSS's create-only write (`x-oss-forbid-overwrite: true`)
    /// found the key taken.
    #[error("The object you specified already exists and can not be overwritten.")]
    FileAlreadyExists,
    /// CompleteMultipartUpload named a part that does not exist or differs.
    #[error("One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag. (part {part_number}: {reason})")]
    InvalidPart {
        /// The offending part.
        part_number: u32,
        /// What is wrong with it.
        reason: String,
    },
    /// CompleteMultipartUpload's part list is not ascending.
    #[error("The list of parts was not in ascending order. The parts list must be specified in order by part number.")]
    InvalidPartOrder,
    /// A non-last part below the minimum part size.
    #[error("Your proposed upload is smaller than the minimum allowed size (part {part_number} is {size} bytes, minimum {min}).")]
    EntityTooSmall {
        /// The offending part.
        part_number: u32,
        /// Its size.
        size: u64,
        /// The minimum.
        min: u64,
    },
    /// CreateBucket asked for a region this server does not serve.
    #[error("The {0} location constraint is incompatible for the region specific endpoint this request was sent to.")]
    IllegalLocationConstraint(String),
    /// The method is not allowed on this resource.
    #[error("The specified method is not allowed against this resource.")]
    MethodNotAllowed,
    /// A known S3 feature that this server does not implement (what).
    #[error("{0} is not implemented")]
    NotImplemented(String),
    /// An auth or body-integrity failure, rendered with the auth module's
    /// own code and status.
    #[error(transparent)]
    Auth(crate::auth::AuthError),
    /// Reading the request body from the connection failed.
    #[error("error reading the request body: {0}")]
    BodyRead(String),
    /// The client sent nothing for longer than the body idle timeout.
    #[error("Your socket connection to the server was not read from or written to within the timeout period.")]
    RequestTimeout,
    /// A server-side failure; details are logged, not sent.
    #[error("We encountered an internal error. Please try again.")]
    Internal(String),
    /// An upload without `Content-Length` (and not chunked).
    #[error("You must provide the Content-Length HTTP header.")]
    MissingContentLength,
    /// `?partNumber=` names a part the object does not have.
    #[error("The requested partnumber is not satisfiable")]
    InvalidPartNumber,
    /// The admin API: no such user.
    #[error("There is no user {0}.")]
    NoSuchUser(String),
    /// The admin API: the name is taken.
    #[error("The user {0} already exists.")]
    UserAlreadyExists(String),
    /// The admin API: a user it does not manage (the message says where).
    #[error("{0}")]
    UserNotManaged(String),
    /// Nothing lives at this path under `/-/`.
    #[error("There is nothing at {0}.")]
    NoSuchResource(String),
    /// CreateBucket on a name someone else holds.
    #[error("The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")]
    BucketAlreadyExists(String),
    /// The backend store is down or too slow (gateway mode); the detail
    /// is logged, not sent.
    #[error("Service is unable to handle request.")]
    ServiceUnavailable(String),
    /// The backend store asked for fewer requests (gateway mode).
    #[error("Please reduce your request rate.")]
    SlowDown(String),
    /// The data disk is full; the detail is logged, not sent.
    #[error("There is not enough free space on the server to store this object.")]
    InsufficientStorage(String),
    /// A grant names an e-mail address (this server knows no e-mails).
    #[error("The e-mail address you provided does not match any account on record.")]
    UnresolvableGrantByEmailAddress,
    /// An `AccessControlPolicy` document that cannot be read.
    #[error("The XML you provided was not well-formed or did not validate against our published schema: {0}")]
    MalformedAcl(String),
    /// A bucket policy that cannot be evaluated.
    #[error("{0}")]
    MalformedPolicy(String),
    /// GetBucketPolicy on a bucket without one.
    #[error("The bucket policy does not exist")]
    NoSuchBucketPolicy(String),
    /// A form upload (POST Object) to a bucket whose body is not
    /// `multipart/form-data` (S3's 412 and message).
    #[error("Bucket POST must be of the enclosure-type multipart/form-data")]
    PostNotMultipart,
    /// A form upload's body is not well-formed `multipart/form-data`
    /// (truncated, a part without a name, a field that is not UTF-8).
    #[error("The body of your POST request is not well-formed multipart/form-data.")]
    MalformedPostRequest,
    /// A form upload's fields before the file exceed the limit (S3's
    /// message, its spelling included).
    #[error("Your POST request fields preceeding the upload file was too large.")]
    MaxPostPreDataLengthExceeded {
        /// The limit in bytes.
        limit: usize,
    },
    /// A form upload's field is missing or wrong; the message is S3's
    /// whole sentence (`POST requires exactly one file upload per
    /// request.`).
    #[error("{0}")]
    PostInvalidArgument(String),
    /// A form upload's policy refuses it (S3 answers 403 AccessDenied,
    /// saying why: `Policy expired.`, `Extra input fields: ...`, `Policy
    /// Condition failed: [...]`).
    #[error("Invalid according to Policy: {0}")]
    PolicyRefused(String),
    /// A form upload's policy is not a base64 JSON policy document.
    #[error("Invalid Policy: {0}")]
    InvalidPolicyDocument(String),
    /// A form upload's file is smaller than the policy's
    /// `content-length-range` allows.
    #[error("Your proposed upload is smaller than the minimum allowed size")]
    PostEntityTooSmall,
    /// An image request failed; the image layer classified it, and it is
    /// rendered in its dialect's envelope (not S3's).
    #[error("{}", .0.message)]
    Image(Box<ImageFailure>),
}

/// The envelope of an image request's errors: its dialect's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageEnvelope {
    /// Alibaba OSS XML, with `<EC>`.
    Oss,
    /// Tencent COS XML, with the `X-ErrNo` header.
    Cos,
    /// UCloud US3 JSON.
    Us3,
}

/// An image request's failure as data: everything the three image
/// envelopes need, decided once by the image layer (`images::error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFailure {
    /// The envelope it is written in.
    pub envelope: ImageEnvelope,
    /// HTTP status.
    pub status: StatusCode,
    /// The OSS `<Code>` (also the COS `<Code>`, mapped by `cos_envelope`).
    pub code: &'static str,
    /// Tencent's `X-ErrNo`, when one applies.
    pub cos_errno: Option<&'static str>,
    /// The parser's vendor code (OSS EC, COS errno, US3 RetCode), if any.
    pub vendor_code: Option<String>,
    /// Human-readable message naming the bad part.
    pub message: String,
    /// The cause, for the log (a 5xx's detail is never sent).
    pub cause: String,
}

impl ApiError {
    /// The S3 code and status of this error.
    pub fn code(&self) -> ErrorCode {
        use ApiError::*;
        match self {
            AccessDenied => ErrorCode::AccessDenied,
            NoSuchBucket(_) => ErrorCode::NoSuchBucket,
            NoSuchKey(_) => ErrorCode::NoSuchKey,
            NoSuchUpload(_) => ErrorCode::NoSuchUpload,
            NoSuchCorsConfiguration(_) => ErrorCode::NoSuchCORSConfiguration,
            NoSuchLifecycleConfiguration(_) => ErrorCode::NoSuchLifecycleConfiguration,
            NoSuchTagSet(_) => ErrorCode::NoSuchTagSet,
            CorsBadRequest(_) | CorsInvalidMethod(_) => ErrorCode::BadRequest,
            CorsNotEnabled | CorsForbidden => ErrorCode::AccessForbidden,
            BucketAlreadyOwnedByYou(_) => ErrorCode::BucketAlreadyOwnedByYou,
            BucketNotEmpty(_) => ErrorCode::BucketNotEmpty,
            InvalidBucketName(_) => ErrorCode::InvalidBucketName,
            KeyTooLong { .. } => ErrorCode::KeyTooLongError,
            InvalidArgument(..) => ErrorCode::InvalidArgument,
            InvalidRequest(_) => ErrorCode::InvalidRequest,
            InvalidUri(_) => ErrorCode::InvalidURI,
            MalformedXml(_) => ErrorCode::MalformedXML,
            InvalidTag(_) => ErrorCode::InvalidTag,
            OperationAborted => ErrorCode::OperationAborted,
            XmlTooLarge { .. } => ErrorCode::MaxMessageLengthExceeded,
            EntityTooLarge => ErrorCode::EntityTooLarge,
            MetadataTooLarge => ErrorCode::MetadataTooLarge,
            InvalidDigest => ErrorCode::InvalidDigest,
            BadDigest => ErrorCode::BadDigest,
            IncompleteBody => ErrorCode::IncompleteBody,
            InvalidRange { .. } => ErrorCode::InvalidRange,
            PreconditionFailed => ErrorCode::PreconditionFailed,
            FileAlreadyExists => ErrorCode::FileAlreadyExists,
            InvalidPart { .. } => ErrorCode::InvalidPart,
            InvalidPartOrder => ErrorCode::InvalidPartOrder,
            EntityTooSmall { .. } => ErrorCode::EntityTooSmall,
            IllegalLocationConstraint(_) => ErrorCode::IllegalLocationConstraintException,
            MethodNotAllowed => ErrorCode::MethodNotAllowed,
            NotImplemented(_) => ErrorCode::NotImplemented,
            // Auth errors carry their own code string; this is a fallback.
            Auth(_) => ErrorCode::AccessDenied,
            BodyRead(_) => ErrorCode::IncompleteBody,
            RequestTimeout => ErrorCode::RequestTimeout,
            Internal(_) => ErrorCode::InternalError,
            BucketAlreadyExists(_) => ErrorCode::BucketAlreadyExists,
            NoSuchUser(_) => ErrorCode::NoSuchUser,
            InvalidPartNumber => ErrorCode::InvalidPartNumber,
            MissingContentLength => ErrorCode::MissingContentLength,
            UserAlreadyExists(_) => ErrorCode::UserAlreadyExists,
            UserNotManaged(_) => ErrorCode::UserNotManaged,
            NoSuchResource(_) => ErrorCode::NoSuchResource,
            ServiceUnavailable(_) => ErrorCode::ServiceUnavailable,
            SlowDown(_) => ErrorCode::SlowDown,
            InsufficientStorage(_) => ErrorCode::InsufficientStorage,
            UnresolvableGrantByEmailAddress => ErrorCode::UnresolvableGrantByEmailAddress,
            MalformedAcl(_) => ErrorCode::MalformedACLError,
            MalformedPolicy(_) => ErrorCode::MalformedPolicy,
            NoSuchBucketPolicy(_) => ErrorCode::NoSuchBucketPolicy,
            PostNotMultipart => ErrorCode::PreconditionFailed,
            MalformedPostRequest => ErrorCode::MalformedPOSTRequest,
            MaxPostPreDataLengthExceeded { .. } => ErrorCode::MaxPostPreDataLengthExceeded,
            PostInvalidArgument(_) => ErrorCode::InvalidArgument,
            PolicyRefused(_) => ErrorCode::AccessDenied,
            InvalidPolicyDocument(_) => ErrorCode::InvalidPolicyDocument,
            PostEntityTooSmall => ErrorCode::EntityTooSmall,
            // Image failures carry their own code and status; by status.
            Image(f) if f.status.is_server_error() => ErrorCode::InternalError,
            Image(_) => ErrorCode::InvalidRequest,
        }
    }

    /// The code string and status sent to the client.
    fn code_and_status(&self) -> (String, StatusCode) {
        match self {
            ApiError::Auth(e) => (
                e.code().to_string(),
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::FORBIDDEN),
            ),
            ApiError::Image(f) => (f.code.to_string(), f.status),
            other => {
                let code = other.code();
                (code.as_str().to_string(), code.status())
            }
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.code_and_status().1
    }

    /// Renders the error, the only place errors become responses: an
    /// image failure in its dialect's envelope, anything else as S3's
    /// `<Error>` document (no body for HEAD), spelled for the client's
    /// vendor.
    pub fn into_response(
        self,
        site: &ErrorSite<'_>,
        vendor: Vendor,
        is_head: bool,
    ) -> Response<Body> {
        match self {
            ApiError::Image(f) => {
                if f.status.is_server_error() {
                    tracing::error!(request_id = site.request_id, error = %f.cause, "image request failed");
                } else {
                    tracing::debug!(request_id = site.request_id, code = f.code, error = %f.cause, "image request refused");
                }
                match f.envelope {
                    ImageEnvelope::Oss => oss_envelope(&f, site),
                    ImageEnvelope::Cos => cos_envelope(&f, site),
                    ImageEnvelope::Us3 => us3_envelope(&f, site),
                }
            }
            other => other.s3_envelope(site, vendor, is_head),
        }
    }

    /// S3: `<Error><Code/><Message/>[<BucketName/>|<Key/>|<UploadId/>]
    /// <Resource/><RequestId/></Error>`, plus `<HostId>` for OSS SDKs and
    /// `<TraceId>` for COS SDKs.
    fn s3_envelope(self, site: &ErrorSite<'_>, vendor: Vendor, is_head: bool) -> Response<Body> {
        let ErrorSite {
            resource,
            request_id,
            host,
        } = *site;
        let (code, status) = self.code_and_status();
        if status.is_server_error() {
            // Debug, not Display: the variant's detail (never sent) is
            // what the log is for.
            tracing::error!(request_id, error = ?self, "request failed");
        } else {
            tracing::debug!(request_id, code, error = %self, "request refused");
        }
        let message = match &self {
            ApiError::Internal(_) => "We encountered an internal error. Please try again.".into(),
            other => other.to_string(),
        };
        let mut xml = XmlWriter::new();
        xml.open_plain("Error");
        xml.elem("Code", &code);
        xml.elem("Message", &message);
        match &self {
            ApiError::NoSuchBucket(b)
            | ApiError::BucketNotEmpty(b)
            | ApiError::BucketAlreadyOwnedByYou(b)
            | ApiError::BucketAlreadyExists(b)
            | ApiError::NoSuchCorsConfiguration(b)
            | ApiError::NoSuchBucketPolicy(b)
            | ApiError::NoSuchLifecycleConfiguration(b)
            | ApiError::NoSuchTagSet(b) => xml.elem("BucketName", b),
            ApiError::NoSuchKey(k) => xml.elem("Key", k),
            ApiError::NoSuchUpload(u) => xml.elem("UploadId", u),
            _ => {}
        }
        xml.elem("Resource", resource);
        xml.elem("RequestId", request_id);
        match vendor {
            Vendor::Aws => {}
            Vendor::Oss => xml.elem("HostId", host),
            Vendor::Cos => xml.elem("TraceId", request_id),
        }
        xml.close("Error");
        let body = if is_head {
            body::empty()
        } else {
            body::full(xml.finish())
        };
        let mut resp = Response::new(body);
        *resp.status_mut() = status;
        let headers = resp.headers_mut();
        if !is_head {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
        }
        if let ApiError::InvalidRange { size } = self {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                headers.insert(http::header::CONTENT_RANGE, v);
            }
        }
        resp
    }
}

/// A response with an error document.
fn with_body(status: StatusCode, content_type: &'static str, doc: bytes::Bytes) -> Response<Body> {
    let mut r = Response::new(body::full(doc));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    r
}

/// Alibaba: `<Error><Code/><Message/><RequestId/><HostId/>[<EC/>]</Error>`.
fn oss_envelope(f: &ImageFailure, site: &ErrorSite<'_>) -> Response<Body> {
    let mut x = XmlWriter::new();
    x.open_plain("Error");
    x.elem("Code", f.code);
    x.elem("Message", &f.message);
    x.elem("RequestId", site.request_id);
    x.elem("HostId", site.host);
    // Only OSS EC codes (`0040-...`) belong in <EC>; other dialects' codes
    // (a style written in COS syntax) are not OSS's.
    if let Some(ec) = f
        .vendor_code
        .as_deref()
        .filter(|v| v.contains('-') && !v.starts_with('-'))
    {
        x.elem("EC", ec);
    }
    x.close("Error");
    let mut r = with_body(f.status, "application/xml", x.finish());
    if let Ok(v) = HeaderValue::from_str(site.request_id) {
        r.headers_mut().insert("x-oss-request-id", v);
    }
    r
}

/// Tencent: `<Error><Code/><Message/><Resource/><RequestId/><TraceId/></Error>`
/// plus the `X-ErrNo` header.
fn cos_envelope(f: &ImageFailure, site: &ErrorSite<'_>) -> Response<Body> {
    // A parser-supplied COS errno (`-106`...) is more precise than ours.
    let errno = f
        .vendor_code
        .as_deref()
        .filter(|v| v.starts_with('-') && v[1..].bytes().all(|b| b.is_ascii_digit()) && v.len() > 1)
        .or(f.cos_errno);
    let code = match f.code {
        "ImageTooLarge" | "WatermarkError" | "MissingArgument" | "BadRequest" | "TooManyPipe" => {
            "InvalidArgument"
        }
        other => other,
    };
    let mut x = XmlWriter::new();
    x.open_plain("Error");
    x.elem("Code", code);
    x.elem("Message", &f.message);
    x.elem("Resource", &format!("{}{}", site.host, site.resource));
    x.elem("RequestId", site.request_id);
    x.elem("TraceId", site.request_id);
    x.close("Error");
    let mut r = with_body(f.status, "application/xml", x.finish());
    if let Some(v) = errno.and_then(|e| HeaderValue::from_str(e).ok()) {
        r.headers_mut().insert("x-errno", v);
    }
    if let Ok(v) = HeaderValue::from_str(site.request_id) {
        r.headers_mut().insert("x-cos-request-id", v);
    }
    r
}

/// UCloud: `{"RetCode": <int ≠ 0>, "ErrMsg": "..."}` plus `X-SessionId`.
fn us3_envelope(f: &ImageFailure, site: &ErrorSite<'_>) -> Response<Body> {
    let ret_code: i64 = f
        .vendor_code
        .as_deref()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n != 0)
        .unwrap_or(-1);
    let doc = serde_json::json!({ "RetCode": ret_code, "ErrMsg": f.message });
    let mut r = with_body(f.status, "application/json", doc.to_string().into());
    if let Ok(v) = HeaderValue::from_str(site.request_id) {
        r.headers_mut().insert("x-sessionid", v);
    }
    r
}

impl From<storage::Error> for ApiError {
    fn from(e: storage::Error) -> Self {
        use storage::Error as E;
        match e {
            E::NoSuchBucket(b) => ApiError::NoSuchBucket(b),
            E::BucketAlreadyOwnedByYou(b) => ApiError::BucketAlreadyOwnedByYou(b),
            E::BucketNotEmpty(b) => ApiError::BucketNotEmpty(b),
            E::NoSuchKey(k) => ApiError::NoSuchKey(k),
            E::NoSuchUpload(u) => ApiError::NoSuchUpload(u),
            E::PreconditionFailed => ApiError::PreconditionFailed,
            E::InvalidPart {
                part_number,
                reason,
            } => ApiError::InvalidPart {
                part_number,
                reason,
            },
            E::InvalidPartOrder => ApiError::InvalidPartOrder,
            E::EntityTooSmall {
                part_number,
                size,
                min,
            } => ApiError::EntityTooSmall {
                part_number,
                size,
                min,
            },
            E::BadDigest => ApiError::BadDigest,
            E::InvalidRange { size } => ApiError::InvalidRange { size },
            E::BucketAlreadyExists(b) => ApiError::BucketAlreadyExists(b),
            E::NotImplemented(what) => ApiError::NotImplemented(what),
            E::Unavailable(why) => ApiError::ServiceUnavailable(why),
            E::SlowDown(why) => ApiError::SlowDown(why),
            // A full disk is the one I/O failure the client can act on
            // (retry later, elsewhere): its own code. The store has
            // removed whatever it had staged.
            E::Io(io) if is_disk_full(&io) => ApiError::InsufficientStorage(io.to_string()),
            // Corruption and I/O failures are the server's fault: 500, and the
            // detail goes to the log only.
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// Whether an I/O error means "no space left": `ENOSPC`, or a quota.
pub(crate) fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

impl From<crate::users::UserError> for ApiError {
    fn from(e: crate::users::UserError) -> Self {
        use crate::users::UserError as E;
        match e {
            E::InvalidName(_) => ApiError::InvalidArgument("name", e.to_string()),
            E::Exists(name) => ApiError::UserAlreadyExists(name),
            E::NoSuchUser(name) => ApiError::NoSuchUser(name),
            E::NotManaged(..) => ApiError::UserNotManaged(e.to_string()),
            E::Invalid(why) => ApiError::Internal(why),
            E::Store(s) => s.into(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (code, name, status) in ErrorCode::TABLE {
            assert_eq!(code.as_str(), *name);
            assert_eq!(code.status().as_u16(), *status);
        }
        assert_eq!(
            ErrorCode::InvalidRange.status(),
            StatusCode::RANGE_NOT_SATISFIABLE
        );
        assert_eq!(
            ErrorCode::NotImplemented.status(),
            StatusCode::NOT_IMPLEMENTED
        );
    }

    #[test]
    fn storage_errors_map_to_codes() {
        let e: ApiError = storage::Error::NoSuchKey("k".into()).into();
        assert_eq!(e.code(), ErrorCode::NoSuchKey);
        let e: ApiError = storage::Error::Corrupt("x".into()).into();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let e: ApiError = storage::Error::EntityTooSmall {
            part_number: 1,
            size: 1,
            min: 5,
        }
        .into();
        assert_eq!(e.code(), ErrorCode::EntityTooSmall);
    }

    #[test]
    fn head_error_has_no_body_and_range_error_has_content_range() {
        let site = ErrorSite {
            resource: "/b/k",
            request_id: "RID",
            host: "h",
        };
        let r = ApiError::InvalidRange { size: 10 }.into_response(&site, Vendor::Aws, true);
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(r.headers()["content-range"], "bytes */10");
        assert!(r.headers().get("content-type").is_none());
    }

    async fn body_text(r: Response<Body>) -> String {
        use http_body_util::BodyExt;
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn vendor_error_documents() {
        let site = ErrorSite {
            resource: "/b/k",
            request_id: "RID",
            host: "h<x",
        };
        let render = |vendor| ApiError::NoSuchKey("k".into()).into_response(&site, vendor, false);
        let oss = body_text(render(Vendor::Oss)).await;
        assert!(
            oss.ends_with("<RequestId>RID</RequestId><HostId>h&lt;x</HostId></Error>"),
            "{oss}"
        );
        let cos = body_text(render(Vendor::Cos)).await;
        assert!(
            cos.ends_with("<RequestId>RID</RequestId><TraceId>RID</TraceId></Error>"),
            "{cos}"
        );
        let aws = body_text(render(Vendor::Aws)).await;
        assert!(aws.ends_with("<RequestId>RID</RequestId></Error>"), "{aws}");
    }
}
