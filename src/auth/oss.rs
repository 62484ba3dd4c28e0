//! Alibaba Cloud OSS signatures, as the `oss2` SDK produces them:
//!
//! * V1: `Authorization: OSS <ak>:<base64 HMAC-SHA1>` and presigned
//!   `?OSSAccessKeyId=&Expires=&Signature=`. String to sign:
//!   `VERB\nContent-MD5\nContent-Type\nDate\n` + the `x-oss-*` headers
//!   (lower-case, sorted, `name:value\n`) + `/bucket/key` (key *decoded*)
//!   followed by `?` and the sorted OSS sub-resources (`x-oss-process`
//!   among them: image-processing parameters are signed). `x-oss-date`
//!   replaces `Date`.
//! * V4: `Authorization: OSS4-HMAC-SHA256 Credential=ak/date/region/oss/aliyun_v4_request,
//!   Signature=<hex>[, AdditionalHeaders=a;b]` and the presigned
//!   `x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-credential=...` form.
//!   Canonical request: method, AWS-encoded `/bucket/key`, the encoded and
//!   sorted query (`k` alone when the value is empty), the `x-oss-*`,
//!   `content-type`, `content-md5` and additional headers, the additional
//!   header list, and `x-oss-content-sha256` (else `UNSIGNED-PAYLOAD`). The
//!   key chain starts from `"aliyun_v4" + secret`.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use http::request::Parts;
use http::HeaderMap;

use super::sigv2;
use super::util::{self, QueryParam};
use super::{AuthError, Keyring, Scheme, Verified, MAX_CLOCK_SKEW, MAX_PRESIGNED_EXPIRY};

/// The query parameters that are part of the V1 canonical resource, as
/// `oss2` (2.19) lists them.
const SUB_RESOURCES: &[&str] = &[
    "response-content-type",
    "response-content-language",
    "response-cache-control",
    "logging",
    "response-content-encoding",
    "acl",
    "uploadId",
    "uploads",
    "partNumber",
    "group",
    "link",
    "delete",
    "website",
    "location",
    "objectInfo",
    "objectMeta",
    "response-expires",
    "response-content-disposition",
    "cors",
    "lifecycle",
    "restore",
    "qos",
    "referer",
    "stat",
    "bucketInfo",
    "append",
    "position",
    "security-token",
    "live",
    "comp",
    "status",
    "vod",
    "startTime",
    "endTime",
    "x-oss-process",
    "symlink",
    "callback",
    "callback-var",
    "tagging",
    "encryption",
    "versions",
    "versioning",
    "versionId",
    "policy",
    "requestPayment",
    "x-oss-traffic-limit",
    "qosInfo",
    "asyncFetch",
    "x-oss-request-payer",
    "sequential",
    "inventory",
    "inventoryId",
    "continuation-token",
    "worm",
    "wormId",
    "wormExtend",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "transferAcceleration",
    "cname",
    "metaQuery",
    "x-oss-ac-source-ip",
    "x-oss-ac-subnet-mask",
    "x-oss-ac-vpc-id",
    "x-oss-ac-forward-allow",
    "resourceGroup",
    "style",
    "styleName",
    "x-oss-async-process",
    "regionList",
    "x-oss-write-get-object-response",
    "bucketArchiveDirectRead",
    "httpsConfig",
    "redundancyTransition",
    "x-oss-target-redundancy-type",
    "x-oss-redundancy-transition-taskid",
    "accessPoint",
    "accessPointPolicy",
    "publicAccessBlock",
    "x-oss-access-point-name",
    "requesterQosInfo",
    "qosRequester",
    "resourcePoolInfo",
    "resourcePool",
    "resourcePoolBuckets",
];

/// The V4 algorithm name.
pub(crate) const V4_ALGORITHM: &str = "OSS4-HMAC-SHA256";
const V4_TERMINATOR: &str = "aliyun_v4_request";

/// `/bucket/key` with the key decoded, as OSS signs it: the bucket comes
/// from the Host (virtual-hosted) or is already the first path segment.
pub(crate) fn resource_path(path: &str, host_bucket: Option<&str>) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let decoded = String::from_utf8_lossy(&util::percent_decode(path, false)).into_owned();
    match host_bucket {
        Some(b) => format!("/{b}{decoded}"),
        None => decoded,
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> String {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    values.join(",")
}

/// `name:value\n` for every header named by `wanted`, lower-case, sorted.
fn canonical_headers(headers: &HeaderMap, wanted: impl Fn(&str) -> bool) -> String {
    let names: std::collections::BTreeSet<&str> = headers
        .keys()
        .map(|n| n.as_str())
        .filter(|n| wanted(n))
        .collect();
    let mut out = String::new();
    for n in names {
        out.push_str(n);
        out.push(':');
        out.push_str(&header_text(headers, n));
        out.push('\n');
    }
    out
}

/// The V1 sub-resource suffix: `?a&b=v` over the sub-resources present,
/// sorted by name, values decoded; empty values give the bare name.
fn sub_resources(params: &[QueryParam]) -> String {
    sigv2::sub_resource_suffix(
        params
            .iter()
            .filter(|p| SUB_RESOURCES.contains(&p.name_str().as_ref()))
            .map(|p| {
                let v = p.value_str().into_owned();
                (p.name_str().into_owned(), (!v.is_empty()).then_some(v))
            })
            .collect(),
    )
}

/// The V1 string to sign.
pub(crate) fn v1_string_to_sign(
    method: &str,
    headers: &HeaderMap,
    date: &str,
    resource: &str,
    params: &[QueryParam],
) -> String {
    sigv2::string_to_sign(
        method,
        &header_text(headers, "content-md5"),
        &header_text(headers, "content-type"),
        date,
        &canonical_headers(headers, |n| n.starts_with("x-oss-")),
        &format!("{resource}{}", sub_resources(params)),
    )
}

/// Verifies `Authorization: OSS <ak>:<signature>`.
pub(crate) fn verify_v1_header(
    parts: &Parts,
    host_bucket: Option<&str>,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let (access_key, provided) = sigv2::parse_authorization(&parts.headers, "OSS")?;

    // x-oss-date takes precedence over Date, in the string to sign too.
    let date = match parts.headers.get("x-oss-date") {
        Some(_) => header_text(&parts.headers, "x-oss-date"),
        None => header_text(&parts.headers, "date"),
    };
    let request_time = util::parse_http_date(&date).ok_or(AuthError::MissingDate)?;
    let secret = keyring.lookup(access_key)?;
    if util::abs_diff(now, request_time) > MAX_CLOCK_SKEW {
        return Err(AuthError::RequestTimeTooSkewed { request_time: date });
    }
    let params = util::parse_query(parts.uri.query().unwrap_or(""));
    let sts = v1_string_to_sign(
        parts.method.as_str(),
        &parts.headers,
        &date,
        &resource_path(parts.uri.path(), host_bucket),
        &params,
    );
    sigv2::check(secret, &provided, [sts])?;
    Verified::user(
        access_key.to_owned(),
        Scheme::OssV1Header,
        None,
        &parts.headers,
    )
}

/// Verifies a V1 presigned URL (`OSSAccessKeyId`, `Expires`, `Signature`).
pub(crate) fn verify_v1_query(
    parts: &Parts,
    host_bucket: Option<&str>,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let params = util::parse_query(parts.uri.query().unwrap_or(""));
    let presigned = sigv2::parse_presigned(&params, "OSSAccessKeyId", keyring, now)?;
    let sts = v1_string_to_sign(
        parts.method.as_str(),
        &parts.headers,
        &presigned.expires,
        &resource_path(parts.uri.path(), host_bucket),
        &params,
    );
    sigv2::check(presigned.secret, &presigned.provided, [sts])?;
    Verified::user(
        presigned.access_key,
        Scheme::OssV1Query,
        None,
        &parts.headers,
    )
}

/// `ak/yyyymmdd/region/product/aliyun_v4_request`.
struct V4Credential {
    access_key: String,
    date: String,
    region: String,
    product: String,
}

impl V4Credential {
    fn parse(s: &str) -> Result<Self, String> {
        let mut it = s.trim().rsplitn(5, '/');
        let (Some(term), Some(product), Some(region), Some(date), Some(ak)) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            return Err(format!(
                "the Credential {s:?} is not <ak>/<date>/<region>/oss/aliyun_v4_request"
            ));
        };
        if term != V4_TERMINATOR || ak.is_empty() || date.len() != 8 {
            return Err(format!(
                "the Credential {s:?} is not <ak>/<date>/<region>/oss/aliyun_v4_request"
            ));
        }
        Ok(V4Credential {
            access_key: ak.to_owned(),
            date: date.to_owned(),
            region: region.to_owned(),
            product: product.to_owned(),
        })
    }

    fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{V4_TERMINATOR}",
            self.date, self.region, self.product
        )
    }

    fn signing_key(&self, secret: &str) -> [u8; 32] {
        let k_date = util::hmac_sha256(
            format!("aliyun_v4{secret}").as_bytes(),
            self.date.as_bytes(),
        );
        let k_region = util::hmac_sha256(&k_date, self.region.as_bytes());
        let k_product = util::hmac_sha256(&k_region, self.product.as_bytes());
        util::hmac_sha256(&k_product, V4_TERMINATOR.as_bytes())
    }
}

/// The V4 canonical query: names and values AWS-encoded, sorted by name,
/// `name` alone for empty values; `exclude` (the presigned signature) left
/// out.
fn v4_canonical_query(params: &[QueryParam], exclude: Option<&str>) -> String {
    let mut pairs: BTreeMap<String, String> = BTreeMap::new();
    for p in params {
        if exclude.is_some_and(|x| p.name == x.as_bytes()) {
            continue;
        }
        pairs.insert(
            util::aws_uri_encode(&p.name, false),
            util::aws_uri_encode(&p.value, false),
        );
    }
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        if !v.is_empty() {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// Checks a V4 signature over the canonical request of `parts`.
#[allow(clippy::too_many_arguments)]
fn v4_check(
    parts: &Parts,
    host_bucket: Option<&str>,
    params: &[QueryParam],
    exclude: Option<&str>,
    additional: &[String],
    datetime: &str,
    credential: &V4Credential,
    secret: &str,
    provided: &[u8; 32],
) -> Result<(), AuthError> {
    let uri = util::aws_uri_encode(
        resource_path(parts.uri.path(), host_bucket).as_bytes(),
        true,
    );
    let headers = canonical_headers(&parts.headers, |n| {
        n.starts_with("x-oss-")
            || n == "content-type"
            || n == "content-md5"
            || additional.iter().any(|a| a == n)
    });
    let mut additional_sorted = additional.to_vec();
    additional_sorted.sort();
    let payload = match parts.headers.get("x-oss-content-sha256") {
        Some(_) => header_text(&parts.headers, "x-oss-content-sha256"),
        None => super::UNSIGNED_PAYLOAD.to_owned(),
    };
    let canonical = format!(
        "{}\n{uri}\n{}\n{headers}\n{}\n{payload}",
        parts.method.as_str(),
        v4_canonical_query(params, exclude),
        additional_sorted.join(";"),
    );
    let sts = format!(
        "{V4_ALGORITHM}\n{datetime}\n{}\n{}",
        credential.scope(),
        util::sha256_hex(canonical.as_bytes())
    );
    let expected = util::hmac_sha256(&credential.signing_key(secret), sts.as_bytes());
    if util::ct_eq(&expected, provided) {
        Ok(())
    } else {
        Err(AuthError::SignatureDoesNotMatch {
            string_to_sign: sts,
        })
    }
}

fn parse_additional(list: &str) -> Vec<String> {
    list.split(';')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Verifies `Authorization: OSS4-HMAC-SHA256 ...`.
pub(crate) fn verify_v4_header(
    parts: &Parts,
    host_bucket: Option<&str>,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let malformed = |reason: String| AuthError::AuthorizationHeaderMalformed { reason };
    let value = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let rest = value.trim().strip_prefix(V4_ALGORITHM).unwrap_or("");
    let (mut credential, mut signature, mut additional) = (None, None, None);
    for component in rest.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let (k, v) = component
            .split_once('=')
            .ok_or_else(|| malformed(format!("the component {component:?} is not key=value")))?;
        match k.trim() {
            "Credential" => credential = Some(v.trim()),
            "Signature" => signature = Some(v.trim()),
            "AdditionalHeaders" => additional = Some(v.trim()),
            other => return Err(malformed(format!("unknown component {other:?}"))),
        }
    }
    let credential =
        V4Credential::parse(credential.ok_or_else(|| malformed("missing Credential".into()))?)
            .map_err(malformed)?;
    let signature = signature.ok_or_else(|| malformed("missing Signature".into()))?;
    let provided = util::parse_hex32(signature)
        .filter(|_| signature.len() == 64)
        .ok_or_else(|| malformed("the Signature is not 64 hex digits".into()))?;
    let additional = parse_additional(additional.unwrap_or(""));

    let datetime = header_text(&parts.headers, "x-oss-date");
    let request_time = util::parse_amz_date(&datetime).ok_or(AuthError::MissingDate)?;
    let secret = keyring.lookup(&credential.access_key)?;
    if !datetime.starts_with(&credential.date) {
        return Err(malformed(format!(
            "the credential date {:?} is not the date of x-oss-date {datetime:?}",
            credential.date
        )));
    }
    if util::abs_diff(now, request_time) > MAX_CLOCK_SKEW {
        return Err(AuthError::RequestTimeTooSkewed {
            request_time: datetime,
        });
    }
    let params = util::parse_query(parts.uri.query().unwrap_or(""));
    v4_check(
        parts,
        host_bucket,
        &params,
        None,
        &additional,
        &datetime,
        &credential,
        secret,
        &provided,
    )?;
    Verified::user(
        credential.access_key,
        Scheme::OssV4Header,
        Some(credential.region),
        &parts.headers,
    )
}

/// Verifies a V4 presigned URL (`x-oss-signature-version=OSS4-HMAC-SHA256`).
pub(crate) fn verify_v4_query(
    parts: &Parts,
    host_bucket: Option<&str>,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let err = |reason: String| AuthError::AuthorizationQueryParametersError { reason };
    let params = util::parse_query(parts.uri.query().unwrap_or(""));
    let get = |name: &str| -> Result<String, AuthError> {
        util::query_get(&params, name)
            .map(|p| p.value_str().into_owned())
            .ok_or_else(|| err(format!("missing query parameter {name}")))
    };
    let version = get("x-oss-signature-version")?;
    if version != V4_ALGORITHM {
        return Err(AuthError::UnsupportedAuthorization);
    }
    let credential = V4Credential::parse(&get("x-oss-credential")?).map_err(err)?;
    let datetime = get("x-oss-date")?;
    let expires: u64 = get("x-oss-expires")?
        .trim()
        .parse()
        .map_err(|_| err("x-oss-expires must be a number of seconds".into()))?;
    let signature = get("x-oss-signature")?;
    let provided = util::parse_hex32(&signature)
        .filter(|_| signature.len() == 64)
        .ok_or_else(|| err("x-oss-signature must be 64 hex digits".into()))?;
    let additional = parse_additional(
        &util::query_get(&params, "x-oss-additional-headers")
            .map(|p| p.value_str().into_owned())
            .unwrap_or_default(),
    );
    let request_time = util::parse_amz_date(&datetime)
        .ok_or_else(|| err("x-oss-date must be yyyyMMdd'T'HHmmss'Z'".into()))?;
    if expires > MAX_PRESIGNED_EXPIRY.as_secs() {
        return Err(err("x-oss-expires must be at most 604800 seconds".into()));
    }
    let secret = keyring.lookup(&credential.access_key)?;
    if !datetime.starts_with(&credential.date) {
        return Err(err(
            "the credential date is not the date of x-oss-date".into()
        ));
    }
    if request_time > now + MAX_CLOCK_SKEW {
        return Err(AuthError::RequestNotYetValid);
    }
    let expiry = request_time + Duration::from_secs(expires);
    if now > expiry {
        return Err(AuthError::expired(expiry, now));
    }
    v4_check(
        parts,
        host_bucket,
        &params,
        Some("x-oss-signature"),
        &additional,
        &datetime,
        &credential,
        secret,
        &provided,
    )?;
    Verified::user(
        credential.access_key,
        Scheme::OssV4Query,
        Some(credential.region),
        &parts.headers,
    )
}
