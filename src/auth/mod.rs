//! Request authentication and body integrity.
//!
//! This module answers two questions for the HTTP layer:
//!
//! 1. *Who sent this request?* [`verify`] looks at the request head, picks the
//!    signature scheme (AWS SigV4 or SigV2, Alibaba OSS V1 or V4, Tencent
//!    COS; each as a header or a presigned query; or none at all), checks
//!    the signature against the
//!    [`Keyring`] and the clock, and returns a [`Verified`] with the
//!    [`Principal`]. Anonymous requests are not an error here: the HTTP layer
//!    decides whether the bucket's ACL lets them through. A request that
//!    *tries* to sign and gets it wrong is always an error.
//! 2. *Is the body what the client signed / declared?* [`VerifiedBody`] wraps
//!    the incoming body, strips aws-chunked framing (checking every chunk
//!    signature), and checks `x-amz-content-sha256`, `Content-MD5`,
//!    `x-amz-checksum-*` headers and trailers and
//!    `x-amz-decoded-content-length`. A failed check surfaces as an `Err`
//!    item *instead of* the end of the stream, so a handler that commits only
//!    after the stream ended `Ok` never stores a bad body.
//!
//! ```ignore
//! let verified = auth::verify(&parts, host_bucket, &keyring, SystemTime::now())?;
//! // authorize verified.principal for the operation ...
//! let mut body = auth::VerifiedBody::new(incoming, &verified.payload, &parts.headers)?;
//! while let Some(chunk) = body.next().await { writer.write(&chunk?).await?; }
//! let integrity = body.finish()?;      // checksums to store, Content-MD5
//! writer.commit(attrs_with(integrity.checksums), integrity.content_md5).await?;
//! ```
//!
//! `host_bucket` is the bucket the router took from the `Host` header
//! (virtual-hosted style), `None` for path-style and service requests: SigV2
//! signs `/bucket/key` even when the bucket travels in the host name.
//!
//! Schemes: AWS SigV4 (`sigv4`), SigV2 (`sigv2`), Alibaba OSS V1/V4
//! (`oss`) and Tencent COS (`cos`), each in its own submodule and each in
//! header and presigned-query form, chosen by one dispatcher ([`verify`] →
//! `detect`). A new scheme is a new [`Scheme`] variant, a `detect` rule and
//! a submodule. The keyring's `region` applies to SigV4 only: the vendors'
//! regions have their own names.
//!
//! A browser form upload (POST Object) carries its credentials in the
//! form, signing its policy rather than the request: [`verify_form`]
//! (`post`).
//!
//! `client` signs requests with SigV4 headers (the gateway store's backend
//! requests); `sign` adds the other schemes' client-side helpers for the
//! tests, behind the `test-util` feature.

mod body;
mod checksum;
mod chunked;
pub mod client;
mod cos;
mod error;
mod oss;
mod post;
#[cfg(any(test, feature = "test-util"))]
pub mod sign;
mod sigv2;
mod sigv4;
mod ucloud;
mod util;

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

pub use body::{BodyLimits, Integrity, VerifiedBody};
pub use checksum::{checksum_base64, crc64_ecma, ChecksumAlgorithm, Checksummer, Crc64Ecma};
pub use error::AuthError;
pub use post::{verify_form, FormCredentials};
// The fuzz targets drive the aws-chunked decoder directly (`crate::fuzzing`).
#[cfg(feature = "fuzzing")]
pub(crate) use chunked::ChunkDecoder;
#[cfg(feature = "fuzzing")]
pub(crate) use sigv4::ChunkSigner;

/// How far a signed request's time may be from the server clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(15 * 60);

/// The longest validity of a SigV4 presigned URL (`X-Amz-Expires`).
pub const MAX_PRESIGNED_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// The credentials the server accepts, and the region it insists on.
#[derive(Clone, Default)]
pub struct Keyring {
    secrets: HashMap<String, String>,
    region: Option<String>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print secrets, not even in debug logs.
        let mut keys: Vec<&String> = self.secrets.keys().collect();
        keys.sort();
        f.debug_struct("Keyring")
            .field("access_keys", &keys)
            .field("region", &self.region)
            .finish()
    }
}

impl Keyring {
    /// A keyring from `(access key, secret key)` pairs. With
    /// `region: Some(r)`, SigV4 credential scopes must name `r`; with `None`
    /// any region is accepted (clients pick all sorts of defaults).
    pub fn new<I, A, S>(keys: I, region: Option<String>) -> Self
    where
        I: IntoIterator<Item = (A, S)>,
        A: Into<String>,
        S: Into<String>,
    {
        Keyring {
            secrets: keys
                .into_iter()
                .map(|(a, s)| (a.into(), s.into()))
                .collect(),
            region,
        }
    }

    /// The secret of `access_key`, if known.
    pub fn secret(&self, access_key: &str) -> Option<&str> {
        self.secrets.get(access_key).map(String::as_str)
    }

    /// The region scopes must name, if one is configured.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    pub(crate) fn lookup(&self, access_key: &str) -> Result<&str, AuthError> {
        self.secret(access_key)
            .ok_or_else(|| AuthError::InvalidAccessKeyId {
                access_key: access_key.to_owned(),
            })
    }
}

/// Who a request is from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// No signature at all.
    Anonymous,
    /// A valid signature by this access key.
    User {
        /// The access key that signed.
        access_key: String,
    },
}

/// Which signature scheme authenticated the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scheme {
    /// Unsigned (anonymous) request.
    None,
    /// `Authorization: AWS4-HMAC-SHA256 ...`.
    SigV4Header,
    /// `?X-Amz-Algorithm=AWS4-HMAC-SHA256&...` presigned URL.
    SigV4Query,
    /// `Authorization: AWS ak:signature`.
    SigV2Header,
    /// `?AWSAccessKeyId=&Expires=&Signature=` presigned URL.
    SigV2Query,
    /// Alibaba OSS `Authorization: OSS ak:signature`.
    OssV1Header,
    /// Alibaba OSS `?OSSAccessKeyId=&Expires=&Signature=` presigned URL.
    OssV1Query,
    /// Alibaba OSS `Authorization: OSS4-HMAC-SHA256 ...`.
    OssV4Header,
    /// Alibaba OSS `?x-oss-signature-version=OSS4-HMAC-SHA256&...` presigned URL.
    OssV4Query,
    /// Tencent COS `Authorization: q-sign-algorithm=sha1&...`.
    CosHeader,
    /// Tencent COS `?q-sign-algorithm=sha1&...` presigned URL.
    CosQuery,
    /// UCloud US3 `Authorization: UCloud pk:signature`.
    UcloudHeader,
    /// UCloud US3 `?UCloudPublicKey=&Expires=&Signature=` presigned URL.
    UcloudQuery,
}

/// What the request head says about its body, as [`VerifiedBody`] must
/// check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadMode {
    /// No claim about the body (`UNSIGNED-PAYLOAD`, SigV2, presigned,
    /// anonymous without `x-amz-content-sha256`).
    Unsigned,
    /// The body's SHA-256 must be this (`x-amz-content-sha256: <hex>`).
    Sha256([u8; 32]),
    /// aws-chunked with chained chunk signatures
    /// (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`).
    StreamingSigned,
    /// aws-chunked with chunk signatures and a signed trailer
    /// (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER`).
    StreamingSignedTrailer,
    /// aws-chunked without signatures, with a trailer
    /// (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`).
    StreamingUnsignedTrailer,
}

impl PayloadMode {
    /// Whether the body carries aws-chunked framing that must be removed.
    pub fn is_aws_chunked(&self) -> bool {
        matches!(
            self,
            PayloadMode::StreamingSigned
                | PayloadMode::StreamingSignedTrailer
                | PayloadMode::StreamingUnsignedTrailer
        )
    }
}

/// The body contract established by [`verify`]; hand it to
/// [`VerifiedBody::new`].
#[derive(Clone)]
pub struct Payload {
    mode: PayloadMode,
    /// For the signed streaming modes: what it takes to check the chain of
    /// chunk signatures (signing key, scope, seed signature).
    chunk_signer: Option<sigv4::ChunkSigner>,
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The chunk signer holds a derived key: keep it out of logs.
        f.debug_struct("Payload")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Payload {
    /// No claims about the body.
    pub fn unsigned() -> Self {
        Payload {
            mode: PayloadMode::Unsigned,
            chunk_signer: None,
        }
    }

    /// The body mode.
    pub fn mode(&self) -> &PayloadMode {
        &self.mode
    }

    /// Interprets `x-amz-content-sha256` for a request that is not
    /// SigV4-header-signed: signed streaming is impossible there.
    pub(crate) fn from_unsigned_request(headers: &http::HeaderMap) -> Result<Self, AuthError> {
        let Some(value) = headers.get("x-amz-content-sha256") else {
            return Ok(Payload::unsigned());
        };
        let mode = parse_content_sha256(value.as_bytes())?;
        match mode {
            PayloadMode::StreamingSigned => Err(AuthError::StreamingRequiresSigV4 {
                mode: STREAMING_SIGNED,
            }),
            PayloadMode::StreamingSignedTrailer => Err(AuthError::StreamingRequiresSigV4 {
                mode: STREAMING_SIGNED_TRAILER,
            }),
            mode => Ok(Payload {
                mode,
                chunk_signer: None,
            }),
        }
    }
}

/// `x-amz-content-sha256` keyword: the body is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// `x-amz-content-sha256` keyword: aws-chunked with chunk signatures.
pub const STREAMING_SIGNED: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
/// `x-amz-content-sha256` keyword: aws-chunked with chunk signatures and a signed trailer.
pub const STREAMING_SIGNED_TRAILER: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
/// `x-amz-content-sha256` keyword: aws-chunked, unsigned, with a trailer.
pub const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// Parses an `x-amz-content-sha256` value.
pub(crate) fn parse_content_sha256(value: &[u8]) -> Result<PayloadMode, AuthError> {
    let invalid = || AuthError::InvalidContentSha256 {
        value: String::from_utf8_lossy(value).into_owned(),
    };
    let text = std::str::from_utf8(value).map_err(|_| invalid())?.trim();
    Ok(match text {
        UNSIGNED_PAYLOAD => PayloadMode::Unsigned,
        STREAMING_SIGNED => PayloadMode::StreamingSigned,
        STREAMING_SIGNED_TRAILER => PayloadMode::StreamingSignedTrailer,
        STREAMING_UNSIGNED_TRAILER => PayloadMode::StreamingUnsignedTrailer,
        hex if hex.len() == 64 => PayloadMode::Sha256(util::parse_hex32(hex).ok_or_else(invalid)?),
        _ => return Err(invalid()),
    })
}

/// The outcome of a successful [`verify`].
#[derive(Debug, Clone)]
pub struct Verified {
    /// Who sent the request.
    pub principal: Principal,
    /// How it was authenticated.
    pub scheme: Scheme,
    /// What [`VerifiedBody`] has to check about the body.
    pub payload: Payload,
    /// The region named in a SigV4 credential scope, if any.
    pub region: Option<String>,
}

impl Verified {
    /// A user's request in a scheme that signs no body (every scheme but
    /// SigV4): the body is checked only by what its headers claim.
    pub(crate) fn user(
        access_key: String,
        scheme: Scheme,
        region: Option<String>,
        headers: &http::HeaderMap,
    ) -> Result<Self, AuthError> {
        Ok(Verified {
            principal: Principal::User { access_key },
            scheme,
            payload: Payload::from_unsigned_request(headers)?,
            region,
        })
    }

    /// An unsigned request.
    pub fn anonymous(payload: Payload) -> Self {
        Verified {
            principal: Principal::Anonymous,
            scheme: Scheme::None,
            payload,
            region: None,
        }
    }
}

/// The scheme a request claims, before verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detected {
    None,
    V4Header,
    V2Header,
    V4Query,
    V2Query,
    OssV1Header,
    OssV1Query,
    OssV4Header,
    OssV4Query,
    CosHeader,
    CosQuery,
    UcloudHeader,
    UcloudQuery,
}

/// Looks at the `Authorization` header and the query parameters to decide
/// which scheme the request uses. New schemes (OSS, COS) add a case here and
/// a submodule with their verification.
fn detect(query: &str, headers: &http::HeaderMap) -> Result<Detected, AuthError> {
    let params = util::parse_query(query);
    let has = |name: &str| util::query_get(&params, name).is_some();

    // Each scheme's query parameters; more than one scheme is an error.
    let mut from_query = None;
    let candidates = [
        (
            has("X-Amz-Algorithm") || has("X-Amz-Signature") || has("X-Amz-Credential"),
            Detected::V4Query,
        ),
        (
            // UCloud's signed URLs also carry `Signature`, with
            // `UCloudPublicKey`: theirs, below.
            has("AWSAccessKeyId")
                || (has("Signature") && !has("OSSAccessKeyId") && !has("UCloudPublicKey")),
            Detected::V2Query,
        ),
        (has("OSSAccessKeyId"), Detected::OssV1Query),
        (
            has("x-oss-signature") || has("x-oss-credential"),
            Detected::OssV4Query,
        ),
        (
            has("q-sign-algorithm") || has("q-signature"),
            Detected::CosQuery,
        ),
        (has("UCloudPublicKey"), Detected::UcloudQuery),
    ];
    for (present, scheme) in candidates {
        if present {
            if from_query.is_some() {
                return Err(AuthError::ConflictingAuthMechanisms);
            }
            from_query = Some(scheme);
        }
    }

    // An empty Authorization header is what the COS SDK sends for
    // anonymous requests: treat it as absent.
    let from_header = match headers.get(http::header::AUTHORIZATION) {
        None => None,
        Some(value) if value.as_bytes().iter().all(u8::is_ascii_whitespace) => None,
        Some(value) => {
            let value = value
                .to_str()
                .map_err(|_| AuthError::UnsupportedAuthorization)?;
            let value = value.trim_start();
            if value.starts_with("AWS4-HMAC-SHA256 ") {
                Some(Detected::V4Header)
            } else if value.starts_with("AWS ") {
                Some(Detected::V2Header)
            } else if value.starts_with("OSS ") {
                Some(Detected::OssV1Header)
            } else if value.starts_with("OSS4-HMAC-SHA256 ") {
                Some(Detected::OssV4Header)
            } else if value.starts_with("q-sign-algorithm=") {
                Some(Detected::CosHeader)
            } else if value.starts_with("UCloud ") {
                Some(Detected::UcloudHeader)
            } else {
                return Err(AuthError::UnsupportedAuthorization);
            }
        }
    };

    match (from_header, from_query) {
        (Some(_), Some(_)) => Err(AuthError::ConflictingAuthMechanisms),
        (Some(d), None) | (None, Some(d)) => Ok(d),
        (None, None) => Ok(Detected::None),
    }
}

/// The family of signature schemes a request claims to be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemeFamily {
    /// AWS SigV4 or SigV2, header or presigned.
    Aws,
    /// Alibaba OSS V1 or V4.
    Oss,
    /// Tencent COS.
    Cos,
}

/// Which family of schemes the request *claims*, read with the same rules
/// [`verify`] uses, without checking anything: the HTTP layer spells its
/// answers for that vendor's SDK. `None` when the request is unsigned or
/// its claims conflict (then [`verify`] refuses it).
pub fn claimed_family(uri: &http::Uri, headers: &http::HeaderMap) -> Option<SchemeFamily> {
    match detect(uri.query().unwrap_or(""), headers).ok()? {
        Detected::None => None,
        // UCloud's SDKs read S3-style answers (US3 has no SDK spelling of
        // its own here).
        Detected::V4Header
        | Detected::V4Query
        | Detected::V2Header
        | Detected::V2Query
        | Detected::UcloudHeader
        | Detected::UcloudQuery => Some(SchemeFamily::Aws),
        Detected::OssV1Header
        | Detected::OssV1Query
        | Detected::OssV4Header
        | Detected::OssV4Query => Some(SchemeFamily::Oss),
        Detected::CosHeader | Detected::CosQuery => Some(SchemeFamily::Cos),
    }
}

/// Authenticates a request from its head.
///
/// * `host_bucket`: the bucket named by the `Host` header when the router
///   resolved virtual-hosted-style addressing; `None` for path-style and
///   service-level requests.
/// * `now`: the server clock (a parameter so tests can pin it).
///
/// Returns the [`Verified`] principal, scheme and body contract, or the
/// [`AuthError`] to answer with. Requests without any signature yield
/// [`Principal::Anonymous`].
pub fn verify(
    parts: &http::request::Parts,
    host_bucket: Option<&str>,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    match detect(parts.uri.query().unwrap_or(""), &parts.headers)? {
        Detected::None => Ok(Verified::anonymous(Payload::from_unsigned_request(
            &parts.headers,
        )?)),
        Detected::V4Header => sigv4::verify_header(parts, keyring, now),
        Detected::V4Query => sigv4::verify_query(parts, keyring, now),
        Detected::V2Header => sigv2::verify_header(parts, host_bucket, keyring, now),
        Detected::V2Query => sigv2::verify_query(parts, host_bucket, keyring, now),
        Detected::OssV1Header => oss::verify_v1_header(parts, host_bucket, keyring, now),
        Detected::OssV1Query => oss::verify_v1_query(parts, host_bucket, keyring, now),
        Detected::OssV4Header => oss::verify_v4_header(parts, host_bucket, keyring, now),
        Detected::OssV4Query => oss::verify_v4_query(parts, host_bucket, keyring, now),
        Detected::CosHeader => cos::verify_header(parts, host_bucket, keyring, now),
        Detected::CosQuery => cos::verify_query(parts, host_bucket, keyring, now),
        Detected::UcloudHeader => ucloud::verify_header(parts, host_bucket, keyring),
        Detected::UcloudQuery => ucloud::verify_query(parts, host_bucket, keyring, now),
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod vendor_tests;
