//! Put/Get/DeleteBucketLifecycle: a bucket's lifecycle rules, stored as
//! one bucket setting (`lifecycle::rules::SETTING`). The rules are read,
//! checked and written back by `lifecycle::rules`; the sweeper
//! (`lifecycle::sweeper`) reads the same setting and applies them.

use crate::auth::ChecksumAlgorithm;
use crate::http::body::RequestBody;
use crate::http::error::ApiError;
use crate::http::{empty_response, xml_response, ApiResult};
use crate::lifecycle::rules::{index_entry, LifecycleConfig, INDEX_PREFIX, SETTING};
use crate::s3::Ctx;
use http::{HeaderMap, StatusCode};

/// GetBucketLifecycleConfiguration: the stored rules, or 404
/// `NoSuchLifecycleConfiguration`.
pub async fn get(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    let Some(raw) = cx.state.store.bucket_setting(bucket, SETTING).await? else {
        return Err(ApiError::NoSuchLifecycleConfiguration(bucket.to_string()));
    };
    let config = LifecycleConfig::from_record(&raw)?;
    let mut x = cx.xml();
    config.to_xml(&mut x);
    Ok(xml_response(StatusCode::OK, x.finish()))
}

/// PutBucketLifecycleConfiguration: replaces the bucket's rules. S3
/// requires an integrity check on this body, `Content-MD5` or (since the
/// flexible checksums) an `x-amz-checksum-*` header or trailer, and every
/// SDK and aws-cli sends one; so a request with neither is refused as S3
/// refuses it. Whichever is sent is verified while the body is read, as
/// for every body.
pub async fn put(cx: &Ctx<'_>, mut body: RequestBody, bucket: &str) -> ApiResult {
    if !has_integrity_check(cx.headers) {
        return Err(ApiError::InvalidRequest(
            "Missing required header for this request: Content-MD5".into(),
        ));
    }
    let doc = body
        .read_to_limit(cx.state.config.limits.max_xml_body)
        .await?;
    let config = LifecycleConfig::from_xml(&doc)?;
    let store = &cx.state.store;
    // The index first: a bucket listed without rules costs the sweeper a
    // read, rules unlisted would never be applied. The entry says when it
    // was written, so that a sweep between the two writes keeps it
    // (`INDEX_GRACE`).
    store
        .put_system_doc(
            &format!("{INDEX_PREFIX}{bucket}"),
            Some(index_entry(std::time::SystemTime::now())),
        )
        .await?;
    store
        .put_bucket_setting(bucket, SETTING, Some(config.to_record()?))
        .await?;
    Ok(empty_response(StatusCode::OK))
}

/// DeleteBucketLifecycle: 204 whether or not the bucket had rules, as S3.
pub async fn delete(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    let store = &cx.state.store;
    store.put_bucket_setting(bucket, SETTING, None).await?;
    store
        .put_system_doc(&format!("{INDEX_PREFIX}{bucket}"), None)
        .await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// Whether the request carries a digest of its body: `Content-MD5`, an
/// `x-amz-checksum-<algorithm>` header, or one announced as a trailer.
fn has_integrity_check(h: &HeaderMap) -> bool {
    h.contains_key("content-md5")
        || h.keys()
            .any(|n| ChecksumAlgorithm::from_header_name(n.as_str()).is_some())
        || h.get("x-amz-trailer")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| ChecksumAlgorithm::from_header_name(t.trim()).is_some())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn integrity_headers() {
        let with = |name: &'static str, value: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(name, http::HeaderValue::from_static(value));
            has_integrity_check(&h)
        };
        assert!(!has_integrity_check(&HeaderMap::new()));
        assert!(with("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg=="));
        assert!(with("x-amz-checksum-crc32", "AAAAAA=="));
        assert!(with("x-amz-trailer", "x-amz-checksum-crc64nvme"));
        // Naming an algorithm is not sending a checksum.
        assert!(!with("x-amz-sdk-checksum-algorithm", "CRC32"));
        assert!(!with("x-amz-checksum-algorithm", "CRC32"));
    }
}
