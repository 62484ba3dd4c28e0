//! Object operations: Put/Get/Head/Delete, DeleteObjects, CopyObject.

use super::{check_announced_length, object_location, pump_body, pump_stream};
use crate::access::ObjectRule;
use crate::http::body::{self, RequestBody};
use crate::http::error::ApiError;
use crate::http::headers::{
    attrs_from_headers, checksum_headers, content_md5, crc64_header, etag_header, http_date,
    object_headers, parse_etag_list, resolve_range, ConditionFailure, Conditions, RangeRequest,
    ResponseOverrides,
};
use crate::http::hook::UploadHook;
use crate::http::names::MAX_KEY_LEN;
use crate::http::tagging;
use crate::http::vendor::Vendor;
use crate::http::xml;
use crate::http::{empty_response, xml_response, ApiResult};
use crate::s3::op::CopySource;
use crate::s3::post_form::{FormUpload, SuccessAction};
use crate::s3::Ctx;
use http::{HeaderValue, Response, StatusCode};
use storage::{ByteRange, ObjectAttrs, ObjectMeta, Precondition};

/// Most keys one DeleteObjects request may name.
const MAX_DELETE_KEYS: usize = 1000;

/// PutObject. With a `hook` (upload-time processing, validated by the
/// front door before anything is read), the body limit is the hook's, and
/// the hook answers once the object is stored.
pub async fn put_object(
    cx: &Ctx<'_>,
    mut body: RequestBody,
    bucket: &str,
    key: &str,
    hook: Option<&dyn UploadHook>,
) -> ApiResult {
    let max = cx.state.config.limits.max_object_size;
    let max = hook.map_or(max, |h| h.max_object_size().min(max));
    check_announced_length(cx.headers, max)?;
    let attrs = attrs_from_headers(cx.headers)?;
    let md5 = content_md5(cx.headers)?;
    let precondition = write_precondition(cx)?;
    // Refused early, before the body is read, when it already fails; the
    // store checks it again atomically with the commit, where another
    // writer may have won meanwhile.
    if precondition != Precondition::Unconditional {
        let current = match cx.state.store.head_object(bucket, key).await {
            Ok(m) => Some(m.etag),
            Err(storage::Error::NoSuchKey(_)) => None,
            Err(e) => return Err(e.into()),
        };
        precondition
            .check(key, current.as_deref())
            .map_err(|e| refusal(cx, e))?;
    }
    let spec = WriteSpec {
        max,
        min: 0,
        attrs,
        md5,
        precondition,
    };
    let meta = write_object(cx, &mut body, bucket, key, spec).await?;
    if let Some(h) = hook {
        return h.after_commit(&meta).await;
    }
    let mut r = empty_response(StatusCode::OK);
    etag_header(r.headers_mut(), &meta.etag);
    checksum_headers(r.headers_mut(), &meta.attrs.checksums);
    crc64_header(r.headers_mut(), cx.vendor, meta.attrs.crc64_ecma);
    Ok(r)
}

/// What a write stores and accepts, decided before its body is read.
struct WriteSpec {
    /// The largest body accepted.
    max: u64,
    /// The smallest body accepted (a form policy's `content-length-range`).
    min: u64,
    /// The object's attributes (checksums are added from the body).
    attrs: ObjectAttrs,
    /// The `Content-MD5` to check at commit.
    md5: Option<[u8; 16]>,
    /// The condition the commit is made under.
    precondition: Precondition,
}

/// The one write path of a whole object (PutObject, a form upload): the
/// body streamed into a writer, committed only if it ended cleanly within
/// the size bounds; on any error the writer is dropped, which discards it.
async fn write_object(
    cx: &Ctx<'_>,
    body: &mut RequestBody,
    bucket: &str,
    key: &str,
    spec: WriteSpec,
) -> Result<storage::ObjectMeta, ApiError> {
    // Read (and refused) before the body: the ACL headers or field.
    let acl = super::acl::acl_for_write(cx, bucket).await?;
    let mut writer = cx.state.store.object_writer(bucket, key).await?;
    pump_body(body, &mut writer, spec.max).await?;
    if writer.written() < spec.min {
        return Err(ApiError::PostEntityTooSmall);
    }
    let mut attrs = spec.attrs;
    attrs.acl = acl;
    let digest = body.finish()?;
    attrs.checksums = digest.checksums;
    attrs.crc64_ecma = digest.crc64_ecma;
    writer.require(spec.precondition);
    writer
        .commit(attrs, spec.md5)
        .await
        .map_err(|e| refusal(cx, e))
}

/// A browser form upload (POST Object), once the front door has read the
/// form, verified its signature and policy, and authorized the caller as
/// for PutObject: `cx.headers` are the form's fields as headers (its
/// Content-Type, Cache-Control, `x-amz-meta-*`...), `body` is the file.
/// The policy's size range is enforced while the file streams; the answer
/// is the one the form asks for, or the hook's.
pub async fn post_object(
    cx: &Ctx<'_>,
    mut body: RequestBody,
    bucket: &str,
    key: &str,
    form: &FormUpload,
    hook: Option<&dyn UploadHook>,
) -> ApiResult {
    let max = cx.state.config.limits.max_object_size;
    let max = hook
        .map_or(max, |h| h.max_object_size().min(max))
        .min(form.sizes.max);
    let spec = WriteSpec {
        max,
        min: form.sizes.min,
        attrs: attrs_from_headers(cx.headers)?,
        md5: None,
        precondition: Precondition::Unconditional,
    };
    let meta = write_object(cx, &mut body, bucket, key, spec).await?;
    if let Some(h) = hook {
        return h.after_commit(&meta).await;
    }
    let location = object_location(cx, bucket, key);
    let etag = format!("\"{}\"", meta.etag);
    let mut r = match &form.success {
        SuccessAction::Redirect(url) => {
            let mut r = empty_response(StatusCode::SEE_OTHER);
            let target = redirect_target(url, bucket, key, &etag);
            if let Ok(v) = HeaderValue::from_str(&target) {
                r.headers_mut().insert(http::header::LOCATION, v);
            }
            return Ok(r);
        }
        SuccessAction::Status(201) => {
            let mut x = cx.xml();
            x.open_plain("PostResponse");
            x.elem("Location", &location);
            x.elem("Bucket", bucket);
            x.elem("Key", key);
            x.elem("ETag", &etag);
            x.close("PostResponse");
            xml_response(StatusCode::CREATED, x.finish())
        }
        SuccessAction::Status(200) => empty_response(StatusCode::OK),
        SuccessAction::Status(_) => empty_response(StatusCode::NO_CONTENT),
    };
    etag_header(r.headers_mut(), &meta.etag);
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(http::header::LOCATION, v);
    }
    crc64_header(r.headers_mut(), cx.vendor, meta.attrs.crc64_ecma);
    Ok(r)
}

/// `success_action_redirect` with `bucket`, `key` and `etag` appended to
/// its query, as S3 appends them.
fn redirect_target(url: &str, bucket: &str, key: &str, etag: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    // RFC 3986's unreserved characters stay as they are.
    const QUERY: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    let enc = |s: &str| utf8_percent_encode(s, QUERY).to_string();
    let sep = match url.contains('?') {
        true if url.ends_with('?') || url.ends_with('&') => "",
        true => "&",
        false => "?",
    };
    format!(
        "{url}{sep}bucket={}&key={}&etag={}",
        enc(bucket),
        enc(key),
        enc(etag)
    )
}

/// Conditional writes (AWS, 2024; PutObject and CompleteMultipartUpload):
/// `If-None-Match: *` creates only if the key is absent; `If-Match: <etag>`
/// overwrites only that version. (OSS's `x-oss-forbid-overwrite: true`
/// arrives as `If-None-Match: *`.)
pub(crate) fn write_precondition(cx: &Ctx<'_>) -> Result<Precondition, ApiError> {
    let text = |name: &str| {
        cx.headers
            .get(name)
            .map(|v| v.to_str().unwrap_or("").trim().to_string())
    };
    match (text("if-none-match"), text("if-match")) {
        (None, None) => Ok(Precondition::Unconditional),
        (Some(v), _) if v != "*" => Err(ApiError::NotImplemented(
            "If-None-Match on PUT with a value other than *".into(),
        )),
        (Some(_), None) => Ok(Precondition::Absent),
        (Some(_), Some(_)) => Err(ApiError::InvalidRequest(
            "If-Match and If-None-Match cannot be combined on a write".into(),
        )),
        (None, Some(list)) => Ok(Precondition::ETagIn(parse_etag_list(&list))),
    }
}

/// A failed write precondition in the client's protocol: OSS's own
/// create-only header is refused as OSS refuses it (409 FileAlreadyExists),
/// everything else as S3 does (412, or 404 for If-Match on no object).
pub(crate) fn refusal(cx: &Ctx<'_>, e: storage::Error) -> ApiError {
    let forbid_overwrite = cx.vendor == Vendor::Oss
        && cx
            .headers
            .get("x-oss-forbid-overwrite")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
    match e {
        storage::Error::PreconditionFailed if forbid_overwrite => ApiError::FileAlreadyExists,
        other => other.into(),
    }
}

/// GetObject and HeadObject: conditions, range, then headers (and body).
/// The first read of an object's record, let through only if the record
/// admits the caller (the access decision's last step, left to this read
/// by `front::authorize`). Nothing of the object, not even whether it
/// exists, passes before this.
fn admitted<T>(
    rule: Option<&ObjectRule>,
    read: Result<(ObjectMeta, T), storage::Error>,
) -> Result<(ObjectMeta, T), ApiError> {
    let Some(rule) = rule else {
        return Ok(read?);
    };
    match read {
        Ok((meta, rest)) if rule.admits(meta.attrs.acl.as_ref()) => Ok((meta, rest)),
        Ok(_) => Err(ApiError::AccessDenied),
        Err(storage::Error::NoSuchKey(_)) if !rule.admits_missing() => Err(ApiError::AccessDenied),
        Err(e) => Err(e.into()),
    }
}

///
/// `rule`: the access decision's last step, the object's own ACL, which
/// `front::authorize` left to this read (`None`: nothing left to settle).
pub async fn get_object(
    cx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    head: bool,
    rule: Option<&ObjectRule>,
) -> ApiResult {
    let store = &cx.state.store;
    let conditions = Conditions::request(cx.headers);
    let range_header = cx
        .headers
        .get(http::header::RANGE)
        .and_then(|v| v.to_str().ok());
    let part_number = match cx.query.get("partNumber") {
        None => None,
        Some(n) => match n.parse::<u32>() {
            Ok(n @ 1..=10_000) => Some(n),
            _ => {
                return Err(ApiError::InvalidArgument(
                    "partNumber",
                    "Part number must be an integer between 1 and 10000, inclusive".into(),
                ))
            }
        },
    };
    if part_number.is_some() && range_header.is_some() {
        return Err(ApiError::InvalidRequest(
            "Cannot specify both Range header and partNumber query parameter".into(),
        ));
    }
    // An unconditional GET of the whole object reads once: its metadata
    // comes with its body (in gateway mode, one backend request, not two).
    let mut opened = None;
    let mut part = None;
    let meta = if let Some(n) = part_number {
        let (meta, span) = admitted(rule, store.part_span(bucket, key, n).await)?;
        part = Some(span.ok_or(ApiError::InvalidPartNumber)?);
        meta
    } else if !head && range_header.is_none() && conditions.is_unconditional() {
        let (meta, stream) = admitted(rule, store.get_object(bucket, key, None).await)?;
        opened = Some(stream);
        meta
    } else {
        admitted(rule, store.head_object(bucket, key).await.map(|m| (m, ())))?.0
    };
    if let Err(f) = conditions.evaluate(&meta.etag, meta.last_modified) {
        return match f {
            ConditionFailure::PreconditionFailed => Err(ApiError::PreconditionFailed),
            ConditionFailure::NotModified => {
                let mut r = empty_response(StatusCode::NOT_MODIFIED);
                etag_header(r.headers_mut(), &meta.etag);
                if let Ok(v) = HeaderValue::from_str(&http_date(meta.last_modified)) {
                    r.headers_mut().insert(http::header::LAST_MODIFIED, v);
                }
                Ok(r)
            }
        };
    }
    let range = match (part, resolve_range(range_header, meta.size)) {
        // A part is answered as the range it covers (206), as S3 does.
        (Some(p), _) if p.len > 0 => Some((p.start, p.start + p.len - 1)),
        (Some(_), _) => None,
        (None, RangeRequest::Unsatisfiable) => {
            return Err(ApiError::InvalidRange { size: meta.size })
        }
        (None, RangeRequest::Whole) => None,
        (None, RangeRequest::Part { start, end }) => Some((start, end)),
    };
    let checksum_mode = range.is_none()
        && cx
            .headers
            .get("x-amz-checksum-mode")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"enabled"));
    let overrides = ResponseOverrides::from_query(cx.query);
    let (meta, mut resp) = if head {
        (meta, Response::new(body::empty()))
    } else if let Some(stream) = opened {
        (meta, Response::new(body::stream(stream)))
    } else {
        let byte_range = range.map(|(start, end)| ByteRange {
            start,
            end: Some(end),
        });
        let (meta, stream) = store.get_object(bucket, key, byte_range).await?;
        (meta, Response::new(body::stream(stream)))
    };
    let h = resp.headers_mut();
    object_headers(
        h,
        &meta,
        &overrides,
        checksum_mode,
        cx.vendor == Vendor::Aws,
    );
    if let Some(count) = part.and_then(|p| p.parts_count) {
        h.insert("x-amz-mp-parts-count", HeaderValue::from(count));
    }
    if range.is_none() {
        crc64_header(h, cx.vendor, meta.attrs.crc64_ecma);
    }
    let length = match range {
        Some((start, end)) => {
            // The object may have been replaced since the HEAD above; the
            // store clipped the range to the version it read.
            let end = end.min(meta.size.saturating_sub(1));
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{}", meta.size)) {
                h.insert(http::header::CONTENT_RANGE, v);
            }
            *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
            end + 1 - start
        }
        None => meta.size,
    };
    resp.headers_mut()
        .insert(http::header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(resp)
}

pub async fn delete_object(cx: &Ctx<'_>, bucket: &str, key: &str) -> ApiResult {
    // S3 answers 204 whether or not the key existed, but not for a missing
    // bucket.
    cx.state.store.delete_object(bucket, key).await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

/// One `<Object>` of a DeleteObjects request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct DeleteEntry {
    key: String,
    version_id: Option<String>,
}

/// Parses `<Delete><Quiet/><Object><Key/><VersionId/></Object>…</Delete>`.
pub(crate) fn parse_delete(doc: &[u8]) -> Result<(bool, Vec<DeleteEntry>), ApiError> {
    let root = xml::parse_root(doc, "Delete")?;
    let quiet = match root.child_text("Quiet") {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(ApiError::MalformedXml(format!(
                "Quiet must be true or false, not {v:?}"
            )))
        }
    };
    let mut entries = Vec::new();
    for obj in root.children_named("Object") {
        let key = obj
            .child("Key")
            .map(|k| k.text.clone())
            .ok_or_else(|| ApiError::MalformedXml("Object without Key".into()))?;
        let version_id = obj.child_text("VersionId").map(str::to_string);
        entries.push(DeleteEntry { key, version_id });
    }
    if entries.is_empty() {
        return Err(ApiError::MalformedXml("no Object to delete".into()));
    }
    if entries.len() > MAX_DELETE_KEYS {
        return Err(ApiError::MalformedXml(format!(
            "more than {MAX_DELETE_KEYS} keys"
        )));
    }
    Ok((quiet, entries))
}

pub async fn delete_objects(cx: &Ctx<'_>, mut body: RequestBody, bucket: &str) -> ApiResult {
    let doc = body
        .read_to_limit(cx.state.config.limits.max_xml_body)
        .await?;
    let (quiet, entries) = parse_delete(&doc)?;
    cx.state.store.bucket(bucket).await?;
    let mut x = cx.xml();
    x.open_root("DeleteResult");
    for e in entries {
        let outcome: Result<(), (String, String)> = if e.key.is_empty() {
            Err(("InvalidArgument".into(), "The key must not be empty".into()))
        } else if e.key.len() > MAX_KEY_LEN {
            Err(("KeyTooLongError".into(), "Your key is too long".into()))
        } else if e.version_id.as_deref().is_some_and(|v| v != "null") {
            Err((
                "NoSuchVersion".into(),
                "The specified version does not exist.".into(),
            ))
        } else {
            match cx.state.store.delete_object(bucket, &e.key).await {
                Ok(_) => Ok(()),
                Err(err) => {
                    let api: ApiError = err.into();
                    Err((api.code().as_str().to_string(), api.to_string()))
                }
            }
        };
        match outcome {
            Ok(()) if quiet => {}
            Ok(()) => {
                x.open_plain("Deleted");
                x.elem("Key", &e.key);
                x.opt_elem("VersionId", e.version_id.as_deref());
                x.close("Deleted");
            }
            Err((code, message)) => {
                x.open_plain("Error");
                x.elem("Key", &e.key);
                x.opt_elem("VersionId", e.version_id.as_deref());
                x.elem("Code", &code);
                x.elem("Message", &message);
                x.close("Error");
            }
        }
    }
    x.close("DeleteResult");
    Ok(xml_response(StatusCode::OK, x.finish()))
}

/// Evaluates `x-amz-copy-source-if-*`: any false condition is 412.
pub(crate) fn check_copy_conditions(
    cx: &Ctx<'_>,
    meta: &storage::ObjectMeta,
) -> Result<(), ApiError> {
    Conditions::copy_source(cx.headers)
        .evaluate(&meta.etag, meta.last_modified)
        .map_err(|_| ApiError::PreconditionFailed)
}

pub async fn copy_object(cx: &Ctx<'_>, bucket: &str, key: &str, src: &CopySource) -> ApiResult {
    let store = &cx.state.store;
    let replace = match cx
        .headers
        .get("x-amz-metadata-directive")
        .map(|v| v.to_str().unwrap_or(""))
    {
        None => false,
        Some(v) if v.eq_ignore_ascii_case("COPY") => false,
        Some(v) if v.eq_ignore_ascii_case("REPLACE") => true,
        Some(v) => {
            return Err(ApiError::InvalidArgument(
                "x-amz-metadata-directive",
                format!("must be COPY or REPLACE, not {v:?}"),
            ))
        }
    };
    // The destination bucket must exist even when the source is missing.
    store.bucket(bucket).await?;
    let src_meta = store.head_object(&src.bucket, &src.key).await?;
    check_copy_conditions(cx, &src_meta)?;
    if src_meta.size > cx.state.config.limits.max_object_size {
        return Err(ApiError::InvalidRequest(
            "The specified copy source is larger than the maximum allowable size for a copy source"
                .into(),
        ));
    }
    let mut new_attrs = if replace {
        let mut a = attrs_from_headers(cx.headers)?;
        // The bytes do not change, so their checksums still hold.
        a.checksums = src_meta.attrs.checksums.clone();
        a.crc64_ecma = src_meta.attrs.crc64_ecma;
        a
    } else {
        src_meta.attrs.clone()
    };
    // A copy is a new object: its ACL comes from this request, never
    // from the source (as on AWS).
    new_attrs.acl = super::acl::acl_for_write(cx, bucket).await?;
    // Its tags follow their own directive, not the metadata's: the
    // request's with REPLACE, else those of the version copied.
    let request_tags = match tagging::replace_directive(cx.headers)? {
        true => Some(tagging::from_header(cx.headers)?.unwrap_or_default()),
        false => None,
    };
    new_attrs.tags = request_tags
        .clone()
        .unwrap_or_else(|| src_meta.attrs.tags.clone());
    let meta = if src.bucket == bucket && src.key == key {
        if !replace {
            return Err(ApiError::InvalidRequest(
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.".into(),
            ));
        }
        let unchanged = Precondition::ETagIn(vec![src_meta.etag.clone()]);
        store
            .update_object_attrs(bucket, key, new_attrs, &unchanged)
            .await?
    } else {
        let (read_meta, stream) = store.get_object(&src.bucket, &src.key, None).await?;
        if read_meta.etag != src_meta.etag {
            // Replaced between the condition check and the read: the
            // conditions were evaluated against a version we are not copying.
            check_copy_conditions(cx, &read_meta)?;
        }
        // The checksums and tags of the version actually read (it may
        // differ from the one the conditions were first checked against).
        let tags = request_tags.unwrap_or_else(|| read_meta.attrs.tags.clone());
        let mut attrs = if replace {
            ObjectAttrs {
                checksums: read_meta.attrs.checksums.clone(),
                tags,
                ..new_attrs
            }
        } else {
            ObjectAttrs {
                acl: new_attrs.acl,
                tags,
                ..read_meta.attrs.clone()
            }
        };
        let mut writer = store.object_writer(bucket, key).await?;
        // The CRC of the bytes copied: also known for sources stored before
        // CRCs were kept.
        attrs.crc64_ecma = Some(pump_stream(stream, &mut writer).await?);
        writer.commit(attrs, None).await?
    };
    let mut x = cx.xml();
    x.open_root("CopyObjectResult");
    x.time_elem("LastModified", meta.last_modified);
    x.elem("ETag", &format!("\"{}\"", meta.etag));
    x.close("CopyObjectResult");
    let mut r = xml_response(StatusCode::OK, x.finish());
    // OSS also sends the ETag as a header, where `oss2` reads it.
    etag_header(r.headers_mut(), &meta.etag);
    crc64_header(r.headers_mut(), cx.vendor, meta.attrs.crc64_ecma);
    Ok(r)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn redirects_carry_the_object() {
        assert_eq!(
            redirect_target("http://a.example/done", "b", "k 1/x", "\"e\""),
            "http://a.example/done?bucket=b&key=k%201%2Fx&etag=%22e%22"
        );
        assert_eq!(
            redirect_target("http://a.example/?x=1", "b", "k", "\"e\""),
            "http://a.example/?x=1&bucket=b&key=k&etag=%22e%22"
        );
    }

    #[test]
    fn delete_documents() {
        let (quiet, e) = parse_delete(b"<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>null</VersionId></Object></Delete>").unwrap();
        assert!(quiet);
        assert_eq!(
            e,
            vec![
                DeleteEntry {
                    key: "a".into(),
                    version_id: None
                },
                DeleteEntry {
                    key: "b".into(),
                    version_id: Some("null".into())
                },
            ]
        );
        assert!(parse_delete(b"<Delete></Delete>").is_err());
        assert!(parse_delete(b"<Delete><Object/></Delete>").is_err());
        assert!(parse_delete(
            b"<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object></Delete>"
        )
        .is_err());
        let many = format!(
            "<Delete>{}</Delete>",
            "<Object><Key>k</Key></Object>".repeat(1001)
        );
        assert!(parse_delete(many.as_bytes()).is_err());
        // Keys keep their whitespace.
        let (_, e) = parse_delete(b"<Delete><Object><Key> sp </Key></Object></Delete>").unwrap();
        assert_eq!(e[0].key, " sp ");
    }
}
