//! Put/Get/DeleteBucketCors: a bucket's CORS configuration, stored as one
//! bucket setting (`http::cors::SETTING`). The front door keeps the rules
//! in memory for preflights and actual responses, and drops its copy after
//! each of these operations (`front::cors`).

use crate::http::body::RequestBody;
use crate::http::cors::{CorsConfig, SETTING};
use crate::http::error::ApiError;
use crate::http::{empty_response, xml_response, ApiResult};
use crate::s3::Ctx;
use http::StatusCode;

/// GetBucketCors: the stored rules as a `CORSConfiguration`, or 404
/// `NoSuchCORSConfiguration`.
pub async fn get_cors(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    let Some(raw) = cx.state.store.bucket_setting(bucket, SETTING).await? else {
        return Err(ApiError::NoSuchCorsConfiguration(bucket.to_string()));
    };
    let config = CorsConfig::from_record(&raw)?;
    let mut x = cx.xml();
    config.to_xml(&mut x);
    Ok(xml_response(StatusCode::OK, x.finish()))
}

/// PutBucketCors: replaces the bucket's rules. The body's `Content-MD5`,
/// when sent, is checked while it is read, as for every body.
pub async fn put_cors(cx: &Ctx<'_>, mut body: RequestBody, bucket: &str) -> ApiResult {
    let doc = body
        .read_to_limit(cx.state.config.limits.max_xml_body)
        .await?;
    let config = CorsConfig::from_xml(&doc)?;
    cx.state
        .store
        .put_bucket_setting(bucket, SETTING, Some(config.to_record()?))
        .await?;
    Ok(empty_response(StatusCode::OK))
}

/// DeleteBucketCors: 204 whether or not the bucket had rules, as S3.
pub async fn delete_cors(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    cx.state
        .store
        .put_bucket_setting(bucket, SETTING, None)
        .await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}
