//! Put/Get/DeleteBucketPolicy: a bucket's policy, checked when put
//! (`access::policy`; what cannot be evaluated is refused with
//! `MalformedPolicy`) and stored as put, as the bucket setting
//! `access::POLICY_SETTING`. The access guard drops its copy after each
//! write.

use crate::access::policy::Policy;
use crate::access::POLICY_SETTING;
use crate::http::body::{self, RequestBody};
use crate::http::error::ApiError;
use crate::http::{empty_response, ApiResult};
use crate::s3::Ctx;
use http::{HeaderValue, Response, StatusCode};

/// GetBucketPolicy: the document as put, or 404 `NoSuchBucketPolicy`.
pub async fn get_policy(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    let Some(raw) = cx
        .state
        .store
        .bucket_setting(bucket, POLICY_SETTING)
        .await?
    else {
        return Err(ApiError::NoSuchBucketPolicy(bucket.to_string()));
    };
    let mut r = Response::new(body::full(raw));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}

/// PutBucketPolicy: 204 once stored; every principal must name a user.
pub async fn put_policy(cx: &Ctx<'_>, mut body: RequestBody, bucket: &str) -> ApiResult {
    cx.state.store.bucket(bucket).await?;
    let doc = body
        .read_to_limit(cx.state.config.limits.max_xml_body)
        .await?;
    let users = cx.state.users.list().await;
    Policy::parse(
        &doc,
        bucket,
        &|name| {
            users
                .iter()
                .find(|u| u.name == name)
                .map(|u| u.canonical_id.clone())
        },
        &|id| users.iter().any(|u| u.canonical_id == id),
    )?;
    cx.state
        .store
        .put_bucket_setting(bucket, POLICY_SETTING, Some(doc.to_vec()))
        .await?;
    cx.state.access.forget(bucket);
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// DeleteBucketPolicy: 204 whether or not there was one, as S3.
pub async fn delete_policy(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    cx.state
        .store
        .put_bucket_setting(bucket, POLICY_SETTING, None)
        .await?;
    cx.state.access.forget(bucket);
    Ok(empty_response(StatusCode::NO_CONTENT))
}
