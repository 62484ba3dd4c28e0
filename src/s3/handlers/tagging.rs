//! Get/Put/DeleteObjectTagging: an object's tag set, kept in its
//! attributes (`storage::ObjectAttrs::tags`) and changed in place, without
//! rewriting its bytes. Tags given on upload (`x-amz-tagging`) are read
//! with the other attributes (`http::headers::attrs_from_headers`).
//! Get/Put/DeleteBucketTagging: a bucket's, one bucket setting
//! ([`BUCKET_SETTING`], a JSON map).

use super::change_object_attrs;
use crate::http::body::RequestBody;
use crate::http::error::ApiError;
use crate::http::tagging::{self, TagSet};
use crate::http::{empty_response, xml_response, ApiResult};
use crate::s3::Ctx;
use http::StatusCode;

/// GetObjectTagging: the object's tags; an empty `TagSet` when it has none.
pub async fn get(cx: &Ctx<'_>, bucket: &str, key: &str) -> ApiResult {
    let meta = cx.state.store.head_object(bucket, key).await?;
    let mut x = cx.xml();
    tagging::to_xml(&mut x, &meta.attrs.tags);
    Ok(xml_response(StatusCode::OK, x.finish()))
}

/// PutObjectTagging: replaces the object's whole tag set.
pub async fn put(cx: &Ctx<'_>, mut body: RequestBody, bucket: &str, key: &str) -> ApiResult {
    let doc = body
        .read_to_limit(cx.state.config.limits.max_xml_body)
        .await?;
    let tags = tagging::from_xml(&doc)?;
    change_object_attrs(cx, bucket, key, |attrs| attrs.tags = tags.clone()).await?;
    Ok(empty_response(StatusCode::OK))
}

/// DeleteObjectTagging: 204, whether or not the object had tags.
pub async fn delete(cx: &Ctx<'_>, bucket: &str, key: &str) -> ApiResult {
    change_object_attrs(cx, bucket, key, |attrs| attrs.tags.clear()).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// The bucket setting that holds a bucket's tags.
pub const BUCKET_SETTING: &str = "tagging";

/// GetBucketTagging: the bucket's tags, or 404 `NoSuchTagSet`.
pub async fn get_bucket(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    let Some(raw) = cx
        .state
        .store
        .bucket_setting(bucket, BUCKET_SETTING)
        .await?
    else {
        return Err(ApiError::NoSuchTagSet(bucket.to_string()));
    };
    let tags: TagSet = serde_json::from_slice(&raw)
        .map_err(|e| ApiError::Internal(format!("bucket tags of {bucket}: {e}")))?;
    let mut x = cx.xml();
    tagging::to_xml(&mut x, &tags);
    Ok(xml_response(StatusCode::OK, x.finish()))
}

/// PutBucketTagging: replaces the bucket's whole tag set (up to 50 tags).
pub async fn put_bucket(cx: &Ctx<'_>, mut body: RequestBody, bucket: &str) -> ApiResult {
    let doc = body
        .read_to_limit(cx.state.config.limits.max_xml_body)
        .await?;
    let tags = tagging::bucket_from_xml(&doc)?;
    let record =
        serde_json::to_vec(&tags).map_err(|e| ApiError::Internal(format!("bucket tags: {e}")))?;
    cx.state
        .store
        .put_bucket_setting(bucket, BUCKET_SETTING, Some(record))
        .await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// DeleteBucketTagging: 204, whether or not the bucket had tags.
pub async fn delete_bucket(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    cx.state
        .store
        .put_bucket_setting(bucket, BUCKET_SETTING, None)
        .await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}
