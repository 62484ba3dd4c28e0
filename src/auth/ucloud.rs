//! UCloud US3 (UFile) signatures, as the vendor's SDKs and tools sign:
//! `Authorization: UCloud <PublicKey>:<signature>` and presigned URLs
//! (`?UCloudPublicKey=&Expires=&Signature=`).
//!
//! The signature is base64(HMAC-SHA1(private key, StringToSign)) with
//! `StringToSign = VERB \n Content-MD5 \n Content-Type \n Date \n
//! CanonicalizedUCloudHeaders /bucket/key`; a presigned URL has `Expires`
//! in place of `Date`. The canonical `x-ucloud-*` headers are lower-cased,
//! sorted by name, their values joined with commas, each line ending in a
//! newline. The header form carries no time of its own (UCloud checks
//! none): it is as replayable as the vendor made it; presigned URLs
//! expire.

use super::sigv2::{self, header_text};
use super::{util, AuthError, Keyring, Scheme, Verified};
use http::request::Parts;
use http::HeaderMap;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// `CanonicalizedUCloudHeaders`.
fn canonical_headers(headers: &HeaderMap) -> String {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        let name = name.as_str();
        if name.starts_with("x-ucloud-") {
            let value = String::from_utf8_lossy(value.as_bytes());
            found
                .entry(name.to_string())
                .or_default()
                .push(value.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    found
        .into_iter()
        .map(|(name, values)| format!("{name}:{}\n", values.join(",")))
        .collect()
}

/// The string a request is signed over; `date` is the `Date` header, or a
/// presigned URL's `Expires`. `resource` is `/bucket/key`, decoded.
fn string_to_sign(method: &str, headers: &HeaderMap, date: &str, resource: &str) -> String {
    format!(
        "{method}\n{}\n{}\n{date}\n{}{resource}",
        header_text(headers, "content-md5"),
        header_text(headers, "content-type"),
        canonical_headers(headers),
    )
}

/// `/bucket/key` as UCloud signs it: the key decoded.
fn resource(parts: &Parts, host_bucket: Option<&str>) -> String {
    super::oss::resource_path(parts.uri.path(), host_bucket)
}

/// Verifies `Authorization: UCloud <PublicKey>:<signature>`.
pub(crate) fn verify_header(
    parts: &Parts,
    host_bucket: Option<&str>,
    keyring: &Keyring,
) -> Result<Verified, AuthError> {
    let (access_key, provided) = sigv2::parse_authorization(&parts.headers, "UCloud")?;
    let secret = keyring.lookup(access_key)?;
    let sts = string_to_sign(
        parts.method.as_str(),
        &parts.headers,
        &header_text(&parts.headers, "date"),
        &resource(parts, host_bucket),
    );
    sigv2::check(secret, &provided, [sts])?;
    Verified::user(
        access_key.to_owned(),
        Scheme::UcloudHeader,
        None,
        &parts.headers,
    )
}

/// Verifies a presigned URL (`UCloudPublicKey`, `Expires`, `Signature`).
pub(crate) fn verify_query(
    parts: &Parts,
    host_bucket: Option<&str>,
    keyring: &Keyring,
    now: SystemTime,
) -> Result<Verified, AuthError> {
    let params = util::parse_query(parts.uri.query().unwrap_or(""));
    let presigned = sigv2::parse_presigned(&params, "UCloudPublicKey", keyring, now)?;
    let sts = string_to_sign(
        parts.method.as_str(),
        &parts.headers,
        &presigned.expires,
        &resource(parts, host_bucket),
    );
    sigv2::check(presigned.secret, &presigned.provided, [sts])?;
    Verified::user(
        presigned.access_key,
        Scheme::UcloudQuery,
        None,
        &parts.headers,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_vendors_worked_example() {
        // UCloud's documented request: sorted x-ucloud-* headers, values of
        // one name joined with commas.
        let mut h = HeaderMap::new();
        h.insert("content-type", "image/jpeg".parse().unwrap());
        h.insert("x-ucloud-foo", "foo".parse().unwrap());
        h.append("x-ucloud-bar", "bar1".parse().unwrap());
        h.append("x-ucloud-bar", "bar2".parse().unwrap());
        assert_eq!(
            string_to_sign("PUT", &h, "", "/demobucket/demokey"),
            "PUT\n\nimage/jpeg\n\nx-ucloud-bar:bar1,bar2\nx-ucloud-foo:foo\n/demobucket/demokey"
        );
        // The Go SDK's form: no UCloud headers.
        assert_eq!(
            string_to_sign("GET", &HeaderMap::new(), "1700000000", "/b/k"),
            "GET\n\n\n1700000000\n/b/k"
        );
    }
}
