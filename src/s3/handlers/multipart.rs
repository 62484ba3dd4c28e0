//! Multipart uploads: create, upload (and copy) parts, complete, abort,
//! list parts, list uploads.

use super::bucket::owner;
use super::object::{check_copy_conditions, refusal, write_precondition};
use super::{check_announced_length, pump_body, pump_stream};
use crate::http::body::RequestBody;
use crate::http::error::ApiError;
use crate::http::headers::{
    attrs_from_headers, checksum_headers, content_md5, crc64_header, etag_header,
};
use crate::http::hook::UploadHook;
use crate::http::vendor::Vendor;
use crate::http::xml;
use crate::http::{empty_response, xml_response, ApiResult};
use crate::s3::op::{CopySource, UploadsParams};
use crate::s3::Ctx;
use http::StatusCode;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use storage::{ByteRange, CompletedPart, ObjectAttrs, UploadsQuery};

/// Largest part S3 accepts.
const MAX_PART_SIZE: u64 = 5 << 30;

pub async fn create(cx: &Ctx<'_>, bucket: &str, key: &str) -> ApiResult {
    let mut attrs = attrs_from_headers(cx.headers)?;
    attrs.acl = super::acl::acl_for_write(cx, bucket).await?;
    let upload_id = cx
        .state
        .store
        .create_multipart_upload(bucket, key, attrs)
        .await?;
    let mut x = cx.xml();
    x.open_root("InitiateMultipartUploadResult");
    x.elem("Bucket", bucket);
    x.elem("Key", key);
    x.elem("UploadId", &upload_id);
    x.close("InitiateMultipartUploadResult");
    Ok(xml_response(StatusCode::OK, x.finish()))
}

pub async fn upload_part(
    cx: &Ctx<'_>,
    mut body: RequestBody,
    bucket: &str,
    key: &str,
    upload_id: &str,
    part_number: u32,
) -> ApiResult {
    check_announced_length(cx.headers, MAX_PART_SIZE)?;
    let md5 = content_md5(cx.headers)?;
    let mut writer = cx
        .state
        .store
        .part_writer(bucket, key, upload_id, part_number)
        .await?;
    pump_body(&mut body, &mut writer, MAX_PART_SIZE).await?;
    let digest = body.finish()?;
    let attrs = ObjectAttrs {
        checksums: digest.checksums,
        crc64_ecma: digest.crc64_ecma,
        ..Default::default()
    };
    let meta = writer.commit(attrs, md5).await?;
    let mut r = empty_response(StatusCode::OK);
    etag_header(r.headers_mut(), &meta.etag);
    checksum_headers(r.headers_mut(), &meta.attrs.checksums);
    crc64_header(r.headers_mut(), cx.vendor, meta.attrs.crc64_ecma);
    Ok(r)
}

pub async fn upload_part_copy(
    cx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    upload_id: &str,
    part_number: u32,
    src: &CopySource,
    range: Option<(u64, u64)>,
) -> ApiResult {
    let store = &cx.state.store;
    let src_meta = store.head_object(&src.bucket, &src.key).await?;
    check_copy_conditions(cx, &src_meta)?;
    let byte_range = match range {
        Some((_, end)) if end >= src_meta.size => {
            return Err(ApiError::InvalidArgument(
                "x-amz-copy-source-range",
                format!(
                    "Range specified is not valid for source object of size: {}",
                    src_meta.size
                ),
            ))
        }
        Some((start, end)) => Some(ByteRange {
            start,
            end: Some(end),
        }),
        None => None,
    };
    let len = range.map_or(src_meta.size, |(a, b)| b - a + 1);
    if len > MAX_PART_SIZE {
        return Err(ApiError::EntityTooLarge);
    }
    // Open the part writer first: an unknown upload fails before any read.
    let mut writer = store
        .part_writer(bucket, key, upload_id, part_number)
        .await?;
    let (_, stream) = store.get_object(&src.bucket, &src.key, byte_range).await?;
    let crc = pump_stream(stream, &mut writer).await?;
    let attrs = ObjectAttrs {
        crc64_ecma: Some(crc),
        ..ObjectAttrs::default()
    };
    let meta = writer.commit(attrs, None).await?;
    let mut x = cx.xml();
    x.open_root("CopyPartResult");
    x.time_elem("LastModified", meta.last_modified);
    x.elem("ETag", &format!("\"{}\"", meta.etag));
    x.close("CopyPartResult");
    let mut r = xml_response(StatusCode::OK, x.finish());
    // OSS also sends the ETag as a header, where `oss2` reads it.
    etag_header(r.headers_mut(), &meta.etag);
    crc64_header(r.headers_mut(), cx.vendor, meta.attrs.crc64_ecma);
    Ok(r)
}

/// Parses `<CompleteMultipartUpload><Part><PartNumber/><ETag/></Part>…`.
pub(crate) fn parse_complete(doc: &[u8]) -> Result<Vec<CompletedPart>, ApiError> {
    let root = xml::parse_root(doc, "CompleteMultipartUpload")?;
    let mut parts = Vec::new();
    for p in root.children_named("Part") {
        let n = p
            .child_text("PartNumber")
            .ok_or_else(|| ApiError::MalformedXml("Part without PartNumber".into()))?;
        let part_number: u32 = n
            .parse()
            .map_err(|_| ApiError::MalformedXml(format!("PartNumber {n:?} is not a number")))?;
        let etag = p
            .child_text("ETag")
            .ok_or_else(|| ApiError::MalformedXml("Part without ETag".into()))?;
        parts.push(CompletedPart {
            part_number,
            etag: etag.trim_matches('"').to_string(),
        });
    }
    if parts.is_empty() {
        return Err(ApiError::MalformedXml(
            "You must specify at least one part".into(),
        ));
    }
    Ok(parts)
}

pub async fn complete(
    cx: &Ctx<'_>,
    mut body: RequestBody,
    bucket: &str,
    key: &str,
    upload_id: &str,
    hook: Option<&dyn UploadHook>,
) -> ApiResult {
    let doc = body
        .read_to_limit(cx.state.config.limits.max_complete_body)
        .await?;
    let parts = parse_complete(&doc)?;
    // Upload-time processing may refuse the completion before anything is
    // assembled (the upload then stays open), and answers after it.
    if let Some(h) = hook {
        h.check_completion(upload_id, &parts).await?;
    }
    // The SDK's service decides: OSS 100 KiB, COS 1 MiB, S3 the configured 5 MiB.
    let min = cx
        .vendor
        .min_part_size(cx.state.config.limits.min_part_size);
    // Conditional completion is decided with the commit; a refusal leaves
    // the upload open.
    let precondition = write_precondition(cx)?;
    let meta = cx
        .state
        .store
        .complete_multipart_upload_if(bucket, key, upload_id, &parts, min, &precondition)
        .await
        .map_err(|e| refusal(cx, e))?;
    if let Some(h) = hook {
        return h.after_commit(&meta).await;
    }
    let location = super::object_location(cx, bucket, key);
    let mut x = cx.xml();
    x.open_root("CompleteMultipartUploadResult");
    x.elem("Location", &location);
    x.elem("Bucket", bucket);
    x.elem("Key", key);
    x.elem("ETag", &format!("\"{}\"", meta.etag));
    x.close("CompleteMultipartUploadResult");
    let mut r = xml_response(StatusCode::OK, x.finish());
    checksum_headers(r.headers_mut(), &meta.attrs.checksums);
    crc64_header(r.headers_mut(), cx.vendor, meta.attrs.crc64_ecma);
    Ok(r)
}

pub async fn abort(cx: &Ctx<'_>, bucket: &str, key: &str, upload_id: &str) -> ApiResult {
    cx.state
        .store
        .abort_multipart_upload(bucket, key, upload_id)
        .await?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

pub async fn list_parts(
    cx: &Ctx<'_>,
    bucket: &str,
    key: &str,
    upload_id: &str,
    marker: u32,
    max_parts: usize,
) -> ApiResult {
    let page = cx
        .state
        .store
        .list_parts(bucket, key, upload_id, marker, max_parts)
        .await?;
    let mut x = cx.xml();
    x.open_root("ListPartsResult");
    x.elem("Bucket", bucket);
    x.elem("Key", key);
    x.elem("UploadId", upload_id);
    let who = cx.state.bucket_owner(bucket).await?;
    x.open_plain("Initiator");
    x.elem("ID", &who.id);
    x.elem("DisplayName", &who.display_name);
    x.close("Initiator");
    owner(&mut x, &who);
    x.elem("StorageClass", "STANDARD");
    x.elem("PartNumberMarker", &marker.to_string());
    x.elem(
        "NextPartNumberMarker",
        &page.next_part_number_marker.to_string(),
    );
    x.elem("MaxParts", &max_parts.to_string());
    x.bool_elem("IsTruncated", page.is_truncated);
    for p in &page.parts {
        x.open_plain("Part");
        x.elem("PartNumber", &p.part_number.to_string());
        x.time_elem("LastModified", p.last_modified);
        x.elem("ETag", &format!("\"{}\"", p.etag));
        x.elem("Size", &p.size.to_string());
        for (alg, v) in &p.checksums {
            let name = format!("Checksum{}", alg.to_ascii_uppercase());
            x.elem(&name, v);
        }
        x.close("Part");
    }
    x.close("ListPartsResult");
    Ok(xml_response(StatusCode::OK, x.finish()))
}

pub async fn list_uploads(cx: &Ctx<'_>, bucket: &str, p: UploadsParams) -> ApiResult {
    let q = UploadsQuery {
        prefix: p.prefix.clone(),
        delimiter: p.delimiter.clone(),
        key_marker: p.key_marker.clone(),
        upload_id_marker: p.upload_id_marker.clone(),
        max_uploads: p.max_uploads,
    };
    let page = if p.max_uploads == 0 {
        cx.state.store.bucket(bucket).await?;
        Default::default()
    } else {
        cx.state.store.list_multipart_uploads(bucket, &q).await?
    };
    const ENC: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    let enc = |s: &str| {
        if p.url_encode {
            utf8_percent_encode(s, ENC).to_string()
        } else {
            s.to_string()
        }
    };
    let who = cx.state.bucket_owner(bucket).await?;
    let mut x = cx.xml();
    x.open_root("ListMultipartUploadsResult");
    x.elem("Bucket", bucket);
    x.elem("KeyMarker", &enc(p.key_marker.as_deref().unwrap_or("")));
    x.elem(
        "UploadIdMarker",
        p.upload_id_marker.as_deref().unwrap_or(""),
    );
    let next_key = page.next_key_marker.as_deref().map(enc);
    let next_id = page.next_upload_id_marker.as_deref();
    if cx.vendor == Vendor::Oss {
        // OSS always sends both markers, empty on the last page.
        x.elem("NextKeyMarker", next_key.as_deref().unwrap_or(""));
        x.elem("NextUploadIdMarker", next_id.unwrap_or(""));
    } else {
        x.opt_elem("NextKeyMarker", next_key.as_deref());
        x.opt_elem("NextUploadIdMarker", next_id);
    }
    x.elem("Prefix", &enc(&p.prefix));
    x.opt_elem("Delimiter", p.delimiter.as_deref().map(enc).as_deref());
    x.elem("MaxUploads", &p.max_uploads.to_string());
    x.bool_elem("IsTruncated", page.is_truncated);
    if p.url_encode {
        x.elem("EncodingType", "url");
    }
    for u in &page.uploads {
        x.open_plain("Upload");
        x.elem("Key", &enc(&u.key));
        x.elem("UploadId", &u.upload_id);
        x.open_plain("Initiator");
        x.elem("ID", &who.id);
        x.elem("DisplayName", &who.display_name);
        x.close("Initiator");
        owner(&mut x, &who);
        x.elem("StorageClass", "STANDARD");
        x.time_elem("Initiated", u.initiated);
        x.close("Upload");
    }
    for cp in &page.common_prefixes {
        x.open_plain("CommonPrefixes");
        x.elem("Prefix", &enc(cp));
        x.close("CommonPrefixes");
    }
    x.close("ListMultipartUploadsResult");
    Ok(xml_response(StatusCode::OK, x.finish()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn complete_documents() {
        let parts = parse_complete(br#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"aa"</ETag><PartNumber>1</PartNumber></Part><Part><PartNumber>2</PartNumber><ETag>bb</ETag></Part></CompleteMultipartUpload>"#).unwrap();
        assert_eq!(
            parts,
            vec![
                CompletedPart {
                    part_number: 1,
                    etag: "aa".into()
                },
                CompletedPart {
                    part_number: 2,
                    etag: "bb".into()
                },
            ]
        );
        for bad in [
            &b"<CompleteMultipartUpload/>"[..],
            b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
            b"<Other/>",
            b"<CompleteMultipartUpload><Part>",
        ] {
            assert!(matches!(parse_complete(bad), Err(ApiError::MalformedXml(_))));
        }
    }
}
