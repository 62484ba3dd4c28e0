//! Get/Put/DeleteObjectTagging: an object's tag set, kept in its
//! attributes (`storage::ObjectAttrs::tags`) and changed in place, without
//! rewriting its bytes. Tags given on upload (`x-amz-tagging`) are read
//! with the other attributes (`http::headers::attrs_from_headers`).

use super::change_object_attrs;
use crate::http::body::RequestBody;
use crate::http::tagging;
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
