//! Browser form uploads (S3 POST Object): the one operation whose
//! credentials, key and metadata travel in the body.
//!
//! The router marks `POST /bucket` as [`S3Op::PostObject`]; the request
//! line then takes this detour for steps 3 to 5, in the same order as
//! every other request, only with the form read first:
//! 1. the fields before the file are read, bounded (`http::form`);
//! 2. the policy's signature is verified and the caller is the user owning
//!    the key that signed it (`authn::authenticate_form`), or anonymous
//!    when the form has neither policy nor credentials;
//! 3. the policy's conditions are checked against the fields
//!    (`s3::post_form`);
//! 4. the caller is authorized by [`super::authorize`] exactly as for the
//!    PutObject the form amounts to;
//! 5. the form's fields become the headers the S3 write path reads, and
//!    the file part is streamed by it (`s3::post_object`), with the
//!    `Pic-Operations` field prepared as a hook as for a PUT.

use super::{authn, authorize, AppState};
use crate::http::error::ApiError;
use crate::http::form::{self, Form};
use crate::http::names::check_key;
use crate::http::vendor::Vendor;
use crate::http::{ApiResult, Caller, Ctx};
use crate::s3::op::S3Op;
use crate::s3::post_form::{FormUpload, Policy, SizeRange, SuccessAction};
use http::{HeaderMap, HeaderName, HeaderValue};
use std::time::SystemTime;

/// The form fields that become the stored object's headers, besides
/// `x-amz-meta-*` (and `Pic-Operations`, which the upload hook reads).
const HEADER_FIELDS: &[&str] = &[
    "content-type",
    "cache-control",
    "content-disposition",
    "content-encoding",
    "content-language",
    "expires",
    crate::images::pic_operations::HEADER,
];

/// Serves a form upload (`routed` is its `PostObject`), recording the
/// caller in `who` for the access log once the form names it.
pub(super) async fn serve<B>(
    state: &AppState,
    parts: &http::request::Parts,
    routed: &super::router::Routed,
    incoming: B,
    request_id: &str,
    vendor: Vendor,
    who: &mut Option<String>,
) -> ApiResult
where
    B: http_body::Body<Data = bytes::Bytes> + Send + Unpin + 'static,
    B::Error: std::fmt::Display,
{
    let Some(bucket) = routed.op.bucket() else {
        return Err(ApiError::Internal(
            "a form upload routed without its bucket".into(),
        ));
    };
    let boundary = form::boundary(&parts.headers).ok_or(ApiError::PostNotMultipart)?;
    let body = authn::form_body(state, parts, incoming)?;
    let (form, file) = form::read_form(body, &boundary, form::MAX_FIELDS_BYTES).await?;
    let file = file.ok_or_else(|| {
        ApiError::PostInvalidArgument("POST requires exactly one file upload per request.".into())
    })?;
    let caller = authn::authenticate_form(state, &form).await?;
    if let Caller::User(id) = &caller {
        // The access log's `caller`: known only now, from the form.
        *who = Some(id.name.clone());
    }
    let key = form.get("key").ok_or_else(|| {
        ApiError::PostInvalidArgument(
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.".into(),
        )
    })?;
    let key = key.replace("${filename}", file.filename.as_deref().unwrap_or(""));
    if key.is_empty() {
        return Err(ApiError::PostInvalidArgument(
            "User key must have a length greater than 0.".into(),
        ));
    }
    check_key(&key)?;
    let sizes = check_policy(&caller, &form, bucket, &key)?;
    let put = S3Op::PutObject {
        bucket: bucket.to_string(),
        key: key.clone(),
    };
    let processing = form.get(crate::images::pic_operations::HEADER).is_some();
    let op = match processing {
        true => super::Op::Upload(put),
        false => super::Op::S3(put),
    };
    let client_ip = super::client_ip(parts);
    // A PutObject leaves no object ACL to settle (only reads do).
    if authorize(state, &caller, client_ip, &op).await?.is_some() {
        return Err(ApiError::Internal(
            "a form upload was left an object ACL to settle".into(),
        ));
    }
    let headers = object_headers(parts, &form)?;
    let upload = FormUpload {
        sizes,
        success: SuccessAction::from_fields(
            form.get("success_action_redirect").or(form.get("redirect")),
            form.get("success_action_status"),
        ),
    };
    let cx = Ctx {
        state,
        headers: &headers,
        query: &routed.query,
        caller,
        raw_query: parts.uri.query().unwrap_or(""),
        request_id,
        vendor,
        client_ip,
    };
    let images = cx.with_state(&state.images);
    // The length is checked while the file streams: a form announces none
    // of its own.
    let hook = match processing {
        true => crate::images::pic_operations::prepare(&images, bucket, &key, false).await?,
        false => None,
    };
    let hook = hook
        .as_ref()
        .map(|h| h as &dyn crate::http::hook::UploadHook);
    crate::s3::post_object(
        cx.with_state(&state.s3),
        file.body,
        bucket,
        &key,
        &upload,
        hook,
    )
    .await
}

/// Checks a signed form's policy (an anonymous form has none) and
/// answers the file sizes it allows.
fn check_policy(
    caller: &Caller,
    form: &Form,
    bucket: &str,
    key: &str,
) -> Result<SizeRange, ApiError> {
    let Some(policy) = form.get("policy") else {
        return match caller {
            Caller::Anonymous => Ok(SizeRange::ANY),
            // `authenticate_form` refuses credentials without a policy.
            Caller::User(_) => Err(ApiError::AccessDenied),
        };
    };
    let fields: Vec<(String, String)> = form
        .fields
        .iter()
        .map(|f| {
            let name = f.name.to_ascii_lowercase();
            let value = match name.as_str() {
                "key" => key.to_string(),
                _ => f.value.clone(),
            };
            (name, value)
        })
        .collect();
    Policy::parse(policy)?.check(bucket, &fields, SystemTime::now())
}

/// The headers the S3 write path reads for the stored object, from the
/// form's fields (names lower-cased, values as sent), plus the request's
/// `Host` (for the object's `Location`).
fn object_headers(parts: &http::request::Parts, form: &Form) -> Result<HeaderMap, ApiError> {
    let mut headers = HeaderMap::new();
    if let Some(host) = parts.headers.get(http::header::HOST) {
        headers.insert(http::header::HOST, host.clone());
    }
    for f in &form.fields {
        let mut name = f.name.to_ascii_lowercase();
        // The object's ACL, as `x-amz-acl` gives it on a PUT.
        if name == "acl" {
            name = "x-amz-acl".into();
        } else if name == "tagging" {
            // A `Tagging` XML document, handed on as a PUT's header.
            let tags = crate::http::tagging::from_xml(f.value.as_bytes())?;
            let value = crate::http::tagging::to_header_value(&tags);
            let value = HeaderValue::from_str(&value)
                .map_err(|_| ApiError::InvalidArgument("form field", "tagging".into()))?;
            headers.insert("x-amz-tagging", value);
            continue;
        } else if !HEADER_FIELDS.contains(&name.as_str()) && !name.starts_with("x-amz-meta-") {
            continue;
        }
        let bad = || ApiError::InvalidArgument("form field", format!("{} is not valid", f.name));
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_bytes(f.value.as_bytes()).map_err(|_| bad())?;
        headers.append(name, value);
    }
    Ok(headers)
}
