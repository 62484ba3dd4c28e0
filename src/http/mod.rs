//! The bottom layer of the server: HTTP plumbing that both handler
//! families (the S3 handlers in `crate::s3` and the image handlers in
//! `crate::images`) stand on, and that knows neither of them.
//!
//! - [`body`]: the verified request body handlers read, response bodies.
//! - [`headers`]: header rules (conditions, ranges, metadata, checksums).
//! - [`xml`]: writing response documents and reading request documents.
//! - [`cors`]: CORS configurations, their rule matching and the
//!   `Access-Control-*` headers.
//! - [`vendor`]: which vendor's SDK is speaking, its header twins and hosts.
//! - [`names`]: the decoded query, bucket-name and key rules, host → bucket.
//! - [`error`]: the one error type, [`ApiError`], and the one renderer of
//!   each envelope (S3 XML, OSS XML, COS XML + `X-ErrNo`, US3 JSON).
//! - [`form`]: `multipart/form-data` bodies (browser form uploads): the
//!   fields before the file, bounded, and the file streamed.
//! - [`hook`]: [`hook::UploadHook`], how upload-time processing reaches
//!   the S3 write path without the S3 handlers knowing about images.
//!
//! [`Ctx`] is what every handler gets besides its typed operation: the
//! request's headers, query, caller and vendor, and its family's state.

pub mod body;
pub mod cors;
pub mod error;
pub mod form;
pub mod headers;
pub mod hook;
pub mod memo;
pub mod names;
pub mod tagging;
pub mod vendor;
pub mod xml;

pub use error::{ApiError, ErrorCode};

use crate::config::Limits;
use body::Body;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use names::RawQuery;

/// Protocol-level settings, parsed once at the edge.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// The region this server claims (`us-east-1` by default).
    pub region: String,
    /// Virtual-host domain: `bucket.<domain>` addresses `bucket`.
    pub domain: Option<String>,
    /// Size limits.
    pub limits: Limits,
}

/// Who is making the request, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credentials: only reads of `public-read` buckets.
    Anonymous,
    /// A known user, by the access key that signed the request.
    User(crate::users::Identity),
}

impl Caller {
    /// Whether the caller owns a bucket recorded as `owner`'s (the admin
    /// owns every bucket; see `users::Identity::owns`).
    pub fn owns(&self, owner: &str) -> bool {
        match self {
            Caller::User(who) => who.owns(owner),
            Caller::Anonymous => false,
        }
    }

    /// The canonical id a bucket made by this caller is recorded under.
    pub fn owner_id(&self) -> &str {
        match self {
            Caller::User(who) => &who.canonical_id,
            Caller::Anonymous => "",
        }
    }
}

/// What a handler gets besides the op and the body: the request's parts
/// that handlers read, and `state`, its handler family's shared state.
pub struct Ctx<'a, S> {
    /// The handler family's state (store, settings, caches).
    pub state: &'a S,
    /// The request headers (vendor headers already have their S3 twins).
    pub headers: &'a HeaderMap,
    /// The decoded query.
    pub query: &'a RawQuery,
    /// Who is asking.
    pub caller: Caller,
    /// The undecoded query string (image-processing parameters are parsed
    /// from it, as the vendors sign and encode them).
    pub raw_query: &'a str,
    /// This request's id (for error envelopes that carry it in the body).
    pub request_id: &'a str,
    /// The vendor whose SDK sent the request (its limits apply).
    pub vendor: vendor::Vendor,
    /// The client's address (bucket policies' `aws:SourceIp`).
    pub client_ip: Option<std::net::IpAddr>,
}

/// The address of the connection a request came on, which the server
/// puts in each request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub std::net::SocketAddr);

impl<'a, S> Ctx<'a, S> {
    /// The same request, seen by another handler family.
    pub fn with_state<T>(&self, state: &'a T) -> Ctx<'a, T> {
        Ctx {
            state,
            headers: self.headers,
            query: self.query,
            caller: self.caller.clone(),
            raw_query: self.raw_query,
            request_id: self.request_id,
            vendor: self.vendor,
            client_ip: self.client_ip,
        }
    }

    /// A response document spelled for the client's vendor.
    pub fn xml(&self) -> xml::XmlWriter {
        xml::XmlWriter::for_vendor(self.vendor)
    }

    /// The request's `Host` header, as documents that name this server
    /// spell it (`localhost` when absent or not text).
    pub fn host(&self) -> &'a str {
        self.headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("localhost")
    }
}

/// The result type of handlers.
pub type ApiResult = Result<Response<Body>, ApiError>;

/// A response with an XML document body.
pub fn xml_response(status: StatusCode, doc: bytes::Bytes) -> Response<Body> {
    let mut r = Response::new(body::full(doc));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    r
}

/// A JSON document response (the vendors' JSON APIs, the admin API).
pub fn json_response(status: StatusCode, doc: impl Into<bytes::Bytes>) -> Response<Body> {
    let mut r = Response::new(body::full(doc.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// A response with a status and no body.
pub fn empty_response(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(body::empty());
    *r.status_mut() = status;
    r
}
