//! AWS Signature Version 4 for S3: the `Authorization: AWS4-HMAC-SHA256`
//! header, presigned `X-Amz-*` query parameters, and the chained chunk
//! signatures of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` bodies.
//!
//! The canonical request follows the AWS documentation for S3: the URI path
//! exactly as sent (S3 neither normalises nor double-encodes it), the query
//! re-encoded and sorted, the signed headers with trimmed values, and the
//! payload hash from `x-amz-content-sha256` (`UNSIGNED-PAYLOAD` for
//! presigned URLs).

use std::time::{Duration, SystemTime};

use http::request::Parts;

use super::util::{self, QueryParam};
use super::{
    parse_content_sha256, AuthError, Keyring, Payload, PayloadMode, Principal, Scheme, Verified,
    MAX_CLOCK_SKEW, MAX_PRESIGNED_EXPIRY, UNSIGNED_PAYLOAD,
};

/// The algorithm name in headers, query and string-to-sign.
pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The service name S3 signs with.
pub(crate) const SERVICE: &str = "s3";
/// The terminator of every credential scope.
const TERMINATOR: &str = "aws4_request";

/// The `AK/date/region/service/aws4_request` part of a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
}

impl Credential {
    /// Parses `AK/yyyymmdd/region/service/aws4_request`. The access key is
    /// everything before the last four components.
    pub fn parse(s: &str) -> Result<Credential, String> {
        let mut it = s.trim().rsplitn(5, '/');
        let (Some(term), Some(service), Some(region), Some(date), Some(ak)) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            return Err(format!(
                "the Credential {s:?} is not of the form <access key>/<date>/<region>/<service>/aws4_request"
            ));
        };
        if term != TERMINATOR {
            return Err(format!(
                "incorrect terminal {term:?}. This endpoint uses \"aws4_request\""
            ));
        }
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("invalid credential date {date:?}"));
        }
        if ak.is_empty() || region.is_empty() {
            return Err(format!("the Credential {s:?} has an empty component"));
        }
        Ok(Credential {
            access_key: ak.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        })
    }

    /// The credential scope `date/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        scope_string(&self.date, &self.region, &self.service)
    }

    /// Checks the scope against the request date and the server's
    /// configuration; the error text says what is wrong.
    pub(crate) fn check(&self, amz_date: &str, keyring: &Keyring) -> Result<(), String> {
        if !amz_date.starts_with(&self.date) {
            return Err(format!(
                "Invalid credential date {:?}. Date is not the same as X-Amz-Date {:?}.",
                self.date, amz_date
            ));
        }
        if self.service != SERVICE {
            return Err(format!(
                "incorrect service {:?}. This endpoint belongs to \"s3\".",
                self.service
            ));
        }
        if let Some(expected) = keyring.region() {
            if self.region != expected {
                return Err(format!(
                    "the region {:?} is wrong; expecting {:?}",
                    self.region, expected
                ));
            }
        }
        Ok(())
    }
}

/// `date/region/service/aws4_request`.
pub(crate) fn scope_string(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/{TERMINATOR}")
}

/// The SigV4 signing key: HMAC chain over date, region, service and the
/// terminator, starting from `"AWS4" + secret`.
pub(crate) fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> [u8; 32] {
    let k_date = util::hmac_sha256(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = util::hmac_sha256(&k_date, region.as_bytes());
    let k_service = util::hmac_sha256(&k_region, service.as_bytes());
    util::hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

/// `AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha256(canonical request)>`.
pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        util::sha256_hex(canonical_request)
    )
}

/// The canonical query string: every parameter (except `exclude`, the
/// signature of a presigned URL), name and value decoded then re-encoded per
/// the AWS rules, sorted by name then value.
pub(crate) fn canonical_query(params: &[QueryParam], exclude: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|p| exclude.is_none_or(|x| p.name != x.as_bytes()))
        .map(|p| {
            (
                util::aws_uri_encode(&p.name, false),
                util::aws_uri_encode(&p.value, false),
            )
        })
        .collect();
    pairs.sort();
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Everything that goes into a canonical request except the path, which
/// [`verify_signature`] varies.
pub(crate) struct CanonicalParts<'a> {
    pub method: &'a str,
    pub query: String,
    /// `name:value\n` lines for the signed headers, in signed order.
    pub headers: Vec<u8>,
    /// `a;b;c`.
    pub signed_headers: String,
    pub payload_hash: &'a str,
}

impl CanonicalParts<'_> {
    pub fn build(&self, path: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.headers.len());
        out.extend_from_slice(self.method.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(path.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.query.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&self.headers);
        out.push(b'\n');
        out.extend_from_slice(self.signed_headers.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(self.payload_hash.as_bytes());
        out
    }
}

/// The canonical-headers block for `signed` (lower-case names): values of a
/// repeated header joined by `,`, each trimmed with inner whitespace
/// collapsed. `host` falls back to the URI authority (HTTP/2 `:authority`).
pub(crate) fn canonical_headers(
    headers: &http::HeaderMap,
    authority: Option<&str>,
    signed: &[String],
) -> Vec<u8> {
    let mut out = Vec::new();
    for name in signed {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut first = true;
        for value in headers.get_all(name.as_str()) {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(&util::trim_all(value.as_bytes()));
        }
        if first && name == "host" {
            if let Some(a) = authority {
                out.extend_from_slice(a.as_bytes());
            }
        }
        out.push(b'\n');
    }
    out
}

/// The canonical URI candidates for `path`: as sent first (what SDKs sign),
/// then the AWS encoding of its decoded form, for clients that send some
/// characters raw (`$`, `!`, ...) but sign them encoded, as the AWS
/// examples do. Both denote the same key, so accepting either is safe.
pub(crate) fn path_candidates(path: &str) -> Vec<String> {
    let path = if path.is_empty() { "/" } else { path };
    let mut out = vec![path.to_owned()];
    let reencoded = util::aws_uri_encode(&util::percent_decode(path, false), true);
    if reencoded != path {
        out.push(reencoded);
    }
    out
}

/// Checks `provided` against the signature of each canonical-URI candidate;
/// on failure reports the string to sign of the as-sent path.
fn verify_signature(
    parts: &Parts,
    canon: &CanonicalParts<'_>,
    amz_date: &str,
    scope: &str,
    key: &[u8; 32],
    provided: &[u8; 32],
) -> Result<(), AuthError> {
    let mut first_sts = None;
    for path in path_candidates(parts.uri.path()) {
        let sts = string_to_sign(amz_date, scope, &canon.build(&path));
        let expected = util::hmac_sha256(key, sts.as_bytes());
        if util::ct_eq(&expected, provided) {
            return Ok(());
        }
        first_sts.get_or_insert(sts);
    }
    Err(AuthError::SignatureDoesNotMatch {
        string_to_sign: first_sts.unwrap_or_default(),
    })
}

/// Parses `SignedHeaders`: lower-case, `;`-separated, must include `host`.
fn parse_signed_headers(s: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = s
        .split(';')
        .map(|n| n.trim().to_ascii_lowercase())
        .collect();
    if names.iter().any(String::is_empty) {
        return Err(format!("invalid SignedHeaders {s:?}"));
    }
    if !names.iter().any(|n| n == "host") {
        return Err("the host header must be signed".to_owned());
    }
    Ok(names)
}

/// The chain state for verifying (or producing) the chunk signatures of a
/// signed aws-chunked body.
#[derive(Clone)]
pub(crate) struct ChunkSigner {
    key: [u8; 32],
    amz_date: String,
    scope: String,
    previous: [u8; 32],
}

impl ChunkSigner {
    /// Starts the chain from the request (seed) signature.
    pub fn new(key: [u8; 32], amz_date: String, scope: String, seed: [u8; 32]) -> Self {
        ChunkSigner {
            key,
            amz_date,
            scope,
            previous: seed,
        }
    }

    /// The signature of the next chunk, whose data hashes to `chunk_sha256`.
    pub fn chunk_signature(&self, chunk_sha256: &[u8; 32]) -> [u8; 32] {
        let sts = format!(
            "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            hex::encode(self.previous),
            util::EMPTY_SHA256_HEX,
            hex::encode(chunk_sha256)
        );
        util::hmac_sha256(&self.key, sts.as_bytes())
    }

    /// The trailer signature over the canonical trailer block
    /// (`name:value\n` per trailer).
    pub fn trailer_signature(&self, canonical_trailers: &[u8]) -> [u8; 32] {
        let sts = format!(
            "AWS4-HMAC-SHA256-TRAILER\n{}\n{}\n{}\n{}",
            self.amz_date,
            self.scope,
            hex::encode(self.previous),
            util::sha256_hex(canonical_trailers)
        );
        util::hmac_sha256(&self.key, sts.as_bytes())
    }

    /// Moves the chain forward after a chunk signature was accepted.
    pub fn advance(&mut self, signature: [u8; 32]) {
        self.previous = signature;
    }
}

/// Splits the `Authorization` header value into credential, signed headers
/// and signature.
fn parse_authorization(value: &str) -> Result<(Credential, Vec<String>, [u8; 32]), String> {
    let rest = value.trim().strip_prefix(ALGORITHM).ok_or_else(|| {
        "the authorization header does not start with AWS4-HMAC-SHA256".to_owned()
    })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for component in rest.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let (k, v) = component
            .split_once('=')
            .ok_or_else(|| format!("the component {component:?} is not of the form key=value"))?;
        let slot = match k.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            other => return Err(format!("unknown component {other:?}")),
        };
        if slot.replace(v.trim()).is_some() {
            return Err(format!("duplicate component {k:?}"));
        }
    }
    let credential = credential.ok_or("missing Credential")?;
    let signed = signed.ok_or("missing SignedHeaders")?;
    let signature = signature.ok_or("missing Signature")?;
    let credential = Credential::parse(credential)?;
    let signed = parse_signed_headers(signed)?;
    let signature = util::parse_hex32(signature)
        .filter(|_| signature.len() == 64)
        // Not echoed: error messages reach the log, and a signature is a
        // credential for as long as its request could be replayed.
        .ok_or_else(|| {
            format!(
                "the Signature is not 64 hex digits ({} characters)",
                signature.len()
            )
        })?;
    Ok((credential, signed, signature))
}

/// Verifies `Authorization: AWS4-HMAC-SHA256 ...`.
pub(crate) fn verify_header(
    parts: &Parts,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let malformed = |reason: String| AuthError::AuthorizationHeaderMalformed { reason };
    let value = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (credential, signed, provided) = parse_authorization(value).map_err(malformed)?;

    // The date: x-amz-date (basic ISO 8601), else Date (HTTP date), which is
    // then reformatted for the string to sign.
    let (amz_date, request_time) = match parts.headers.get("x-amz-date") {
        Some(v) => {
            let s = v
                .to_str()
                .map_err(|_| AuthError::MissingDate)?
                .trim()
                .to_owned();
            let t = util::parse_amz_date(&s).ok_or(AuthError::MissingDate)?;
            (s, t)
        }
        None => {
            let v = parts
                .headers
                .get(http::header::DATE)
                .and_then(|v| v.to_str().ok())
                .ok_or(AuthError::MissingDate)?;
            let t = util::parse_http_date(v).ok_or(AuthError::MissingDate)?;
            (util::format_amz_date(t), t)
        }
    };

    let secret = keyring.lookup(&credential.access_key)?;
    credential.check(&amz_date, keyring).map_err(malformed)?;
    if util::abs_diff(now, request_time) > MAX_CLOCK_SKEW {
        return Err(AuthError::RequestTimeTooSkewed {
            request_time: amz_date,
        });
    }

    let content_sha256 = parts
        .headers
        .get("x-amz-content-sha256")
        .ok_or(AuthError::MissingContentSha256)?;
    let mode = parse_content_sha256(content_sha256.as_bytes())?;
    // parse_content_sha256 accepted it, so it is ASCII.
    let payload_hash = content_sha256.to_str().unwrap_or_default().trim();

    let params = util::parse_query(parts.uri.query().unwrap_or(""));
    let canon = CanonicalParts {
        method: parts.method.as_str(),
        query: canonical_query(&params, None),
        headers: canonical_headers(
            &parts.headers,
            parts.uri.authority().map(|a| a.as_str()),
            &signed,
        ),
        signed_headers: signed.join(";"),
        payload_hash,
    };
    let scope = credential.scope();
    let key = signing_key(
        secret,
        &credential.date,
        &credential.region,
        &credential.service,
    );
    verify_signature(parts, &canon, &amz_date, &scope, &key, &provided)?;

    let chunk_signer = match mode {
        PayloadMode::StreamingSigned | PayloadMode::StreamingSignedTrailer => {
            Some(ChunkSigner::new(key, amz_date, scope, provided))
        }
        _ => None,
    };
    Ok(Verified {
        principal: Principal::User {
            access_key: credential.access_key,
        },
        scheme: Scheme::SigV4Header,
        payload: Payload { mode, chunk_signer },
        region: Some(credential.region),
    })
}

/// Verifies a presigned URL (`X-Amz-Algorithm=AWS4-HMAC-SHA256&...`).
pub(crate) fn verify_query(
    parts: &Parts,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let err = |reason: String| AuthError::AuthorizationQueryParametersError { reason };
    let params = util::parse_query(parts.uri.query().unwrap_or(""));
    let get = |name: &str| -> Result<String, AuthError> {
        util::query_get(&params, name)
            .map(|p| p.value_str().into_owned())
            .ok_or_else(|| {
                err(format!(
                    "Query-string authentication version 4 requires the X-Amz-Algorithm, \
                     X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, \
                     and X-Amz-Expires parameters (missing {name})."
                ))
            })
    };
    let algorithm = get("X-Amz-Algorithm")?;
    let credential = get("X-Amz-Credential")?;
    let signature = get("X-Amz-Signature")?;
    let amz_date = get("X-Amz-Date")?;
    let signed = get("X-Amz-SignedHeaders")?;
    let expires = get("X-Amz-Expires")?;

    if algorithm != ALGORITHM {
        return Err(err(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"".to_owned()
        ));
    }
    let credential = Credential::parse(&credential)
        .map_err(|e| err(format!("Error parsing the X-Amz-Credential parameter; {e}")))?;
    let request_time = util::parse_amz_date(&amz_date).ok_or_else(|| {
        err("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"".to_owned())
    })?;
    let expires: i64 = expires
        .trim()
        .parse()
        .map_err(|_| err("X-Amz-Expires should be a number".to_owned()))?;
    // Out of range is refused as not allowed (403), as S3 conformance
    // suites expect, rather than as malformed.
    let expires = u64::try_from(expires)
        .ok()
        .filter(|e| *e <= MAX_PRESIGNED_EXPIRY.as_secs())
        .ok_or(AuthError::ExpiresOutOfRange(if expires < 0 {
            "X-Amz-Expires must be non-negative"
        } else {
            "X-Amz-Expires must be less than a week (in seconds); that is, the given \
             X-Amz-Expires must be less than 604800 seconds"
        }))?;
    let signed = parse_signed_headers(&signed).map_err(err)?;
    let provided = util::parse_hex32(&signature)
        .filter(|_| signature.len() == 64)
        .ok_or_else(|| err("X-Amz-Signature must be 64 hex digits".to_owned()))?;

    let secret = keyring.lookup(&credential.access_key)?;
    credential
        .check(&amz_date, keyring)
        .map_err(|e| err(format!("Error parsing the X-Amz-Credential parameter; {e}")))?;

    if request_time > now + MAX_CLOCK_SKEW {
        return Err(AuthError::RequestNotYetValid);
    }
    let expiry = request_time + Duration::from_secs(expires);
    if now > expiry {
        return Err(AuthError::expired(expiry, now));
    }

    // Presigned URLs sign UNSIGNED-PAYLOAD unless the signer put a hash in
    // the query (some SDKs do for presigned PUTs).
    let payload_hash = util::query_get(&params, "X-Amz-Content-Sha256")
        .map(|p| p.value_str().into_owned())
        .unwrap_or_else(|| UNSIGNED_PAYLOAD.to_owned());
    let signed_mode = parse_content_sha256(payload_hash.as_bytes())?;

    let canon = CanonicalParts {
        method: parts.method.as_str(),
        query: canonical_query(&params, Some("X-Amz-Signature")),
        headers: canonical_headers(
            &parts.headers,
            parts.uri.authority().map(|a| a.as_str()),
            &signed,
        ),
        signed_headers: signed.join(";"),
        payload_hash: &payload_hash,
    };
    let scope = credential.scope();
    let key = signing_key(
        secret,
        &credential.date,
        &credential.region,
        &credential.service,
    );
    verify_signature(parts, &canon, &amz_date, &scope, &key, &provided)?;

    // The body contract: a hash signed in the query binds the body; else
    // whatever the (unsigned) headers claim is still checked, except signed
    // streaming, which needs a header signature to chain from.
    let payload = match signed_mode {
        PayloadMode::Sha256(_) => Payload {
            mode: signed_mode,
            chunk_signer: None,
        },
        _ => Payload::from_unsigned_request(&parts.headers)?,
    };
    Ok(Verified {
        principal: Principal::User {
            access_key: credential.access_key,
        },
        scheme: Scheme::SigV4Query,
        payload,
        region: Some(credential.region),
    })
}
