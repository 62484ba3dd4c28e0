//! Listings: ListObjects (V1), ListObjectsV2, ListObjectVersions.
//!
//! All three read the same [`storage::Store::list_objects`] pages; they
//! differ in how the client names the resume point and in what the XML says.

use super::bucket::owner;
use crate::http::error::ApiError;
use crate::http::vendor::Vendor;
use crate::http::xml::{xml_safe, XmlWriter};
use crate::http::{xml_response, ApiResult};
use crate::s3::op::{ListV1Params, ListV2Params, ListVersionsParams};
use crate::s3::{Ctx, Owner};
use http::StatusCode;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use storage::{ListPage, ListQuery, ObjectMeta};

/// `encoding-type=url`: everything but unreserved characters and `/` is
/// percent-encoded (so `+` and space are unambiguous for every decoder).
const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Encodes listing values when the client asked for `encoding-type=url`.
struct Enc(bool);

impl Enc {
    fn s(&self, v: &str) -> String {
        if self.0 {
            utf8_percent_encode(v, URL_ENCODE).to_string()
        } else {
            v.to_string()
        }
    }
}

/// Without `encoding-type=url`, a listing that would carry a character
/// XML 1.0 cannot (a key holding `\x01`, say) is refused. AWS writes such
/// a key as `&#x1;`, which no conforming parser accepts, and replacing the
/// character would list a key that does not exist; the client is told to
/// ask for URL encoding instead, as the AWS SDKs and CLI do by default.
fn check_xml_safe<'a>(
    url_encode: bool,
    values: impl IntoIterator<Item = &'a str>,
) -> Result<(), ApiError> {
    if url_encode {
        return Ok(());
    }
    match values.into_iter().find(|v| !xml_safe(v)) {
        None => Ok(()),
        Some(_) => Err(ApiError::InvalidArgument(
            "encoding-type",
            "the listing holds a key with characters XML 1.0 cannot carry; \
             list with encoding-type=url"
                .into(),
        )),
    }
}

/// Every string of a page a listing writes.
fn page_strings(page: &ListPage) -> impl Iterator<Item = &str> {
    page.objects
        .iter()
        .map(|o| o.key.as_str())
        .chain(page.common_prefixes.iter().map(String::as_str))
        .chain(page.next_after.as_deref())
}

async fn page(cx: &Ctx<'_>, bucket: &str, q: ListQuery) -> Result<ListPage, ApiError> {
    if q.max_keys == 0 {
        // Nothing to return, but the bucket must still exist.
        cx.state.store.bucket(bucket).await?;
        return Ok(ListPage::default());
    }
    Ok(cx.state.store.list_objects(bucket, &q).await?)
}

fn contents(x: &mut XmlWriter, enc: &Enc, o: &ObjectMeta, with_owner: Option<&Owner>) {
    x.open_plain("Contents");
    x.elem("Key", &enc.s(&o.key));
    x.time_elem("LastModified", o.last_modified);
    x.elem("ETag", &format!("\"{}\"", o.etag));
    x.elem("Size", &o.size.to_string());
    x.elem("StorageClass", "STANDARD");
    if let Some(who) = with_owner {
        owner(x, who);
    }
    if x.vendor() == Vendor::Oss {
        // OSS states how the object was written; a multipart ETag has `-n`.
        let kind = if o.etag.contains('-') {
            "Multipart"
        } else {
            "Normal"
        };
        x.elem("Type", kind);
    }
    x.close("Contents");
}

fn common_prefixes(x: &mut XmlWriter, enc: &Enc, prefixes: &[String]) {
    for p in prefixes {
        x.open_plain("CommonPrefixes");
        x.elem("Prefix", &enc.s(p));
        x.close("CommonPrefixes");
    }
}

pub async fn list_v1(cx: &Ctx<'_>, bucket: &str, p: ListV1Params) -> ApiResult {
    let q = ListQuery {
        prefix: p.prefix.clone(),
        delimiter: p.delimiter.clone(),
        start_after: p.marker.clone(),
        max_keys: p.max_keys,
    };
    let page = page(cx, bucket, q).await?;
    check_xml_safe(p.url_encode, page_strings(&page))?;
    let enc = Enc(p.url_encode);
    let mut x = cx.xml();
    x.open_root("ListBucketResult");
    x.elem("Name", bucket);
    x.elem("Prefix", &enc.s(&p.prefix));
    x.elem("Marker", &enc.s(p.marker.as_deref().unwrap_or("")));
    // S3 sends NextMarker only with a delimiter; without one, clients resume
    // after the last key. OSS sends it on every truncated page, and `oss2`
    // pages with it.
    if page.is_truncated && (p.delimiter.is_some() || cx.vendor == Vendor::Oss) {
        x.opt_elem(
            "NextMarker",
            page.next_after.as_deref().map(|m| enc.s(m)).as_deref(),
        );
    }
    x.elem("MaxKeys", &p.max_keys.to_string());
    x.opt_elem(
        "Delimiter",
        p.delimiter.as_deref().map(|d| enc.s(d)).as_deref(),
    );
    x.bool_elem("IsTruncated", page.is_truncated);
    if p.url_encode {
        x.elem("EncodingType", "url");
    }
    let who = cx.state.bucket_owner(bucket).await?;
    for o in &page.objects {
        contents(&mut x, &enc, o, Some(&who));
    }
    common_prefixes(&mut x, &enc, &page.common_prefixes);
    x.close("ListBucketResult");
    Ok(xml_response(StatusCode::OK, x.finish()))
}

pub async fn list_v2(cx: &Ctx<'_>, bucket: &str, p: ListV2Params) -> ApiResult {
    // The token, when present, wins over start-after (it already lies past it).
    let resume = match &p.continuation_token {
        Some(t) => Some(cx.state.token_key.decode(t)?),
        None => p.start_after.clone(),
    };
    let q = ListQuery {
        prefix: p.prefix.clone(),
        delimiter: p.delimiter.clone(),
        start_after: resume,
        max_keys: p.max_keys,
    };
    let page = page(cx, bucket, q).await?;
    check_xml_safe(p.url_encode, page_strings(&page))?;
    let enc = Enc(p.url_encode);
    let mut x = cx.xml();
    x.open_root("ListBucketResult");
    x.elem("Name", bucket);
    x.elem("Prefix", &enc.s(&p.prefix));
    x.opt_elem(
        "StartAfter",
        p.start_after.as_deref().map(|s| enc.s(s)).as_deref(),
    );
    x.opt_elem("ContinuationToken", p.continuation_token.as_deref());
    if page.is_truncated {
        if let Some(last) = &page.next_after {
            x.elem("NextContinuationToken", &cx.state.token_key.encode(last));
        }
    }
    x.elem(
        "KeyCount",
        &(page.objects.len() + page.common_prefixes.len()).to_string(),
    );
    x.elem("MaxKeys", &p.max_keys.to_string());
    x.opt_elem(
        "Delimiter",
        p.delimiter.as_deref().map(|d| enc.s(d)).as_deref(),
    );
    x.bool_elem("IsTruncated", page.is_truncated);
    if p.url_encode {
        x.elem("EncodingType", "url");
    }
    let who = match p.fetch_owner {
        true => Some(cx.state.bucket_owner(bucket).await?),
        false => None,
    };
    for o in &page.objects {
        contents(&mut x, &enc, o, who.as_ref());
    }
    common_prefixes(&mut x, &enc, &page.common_prefixes);
    x.close("ListBucketResult");
    Ok(xml_response(StatusCode::OK, x.finish()))
}

/// ListObjectVersions on an unversioned store: every object is its own one
/// and only version, `VersionId` `null`, latest. Tools that empty a bucket
/// (test suites, `s3 rb --force` helpers) rely on this.
pub async fn list_versions(cx: &Ctx<'_>, bucket: &str, p: ListVersionsParams) -> ApiResult {
    let q = ListQuery {
        prefix: p.prefix.clone(),
        delimiter: p.delimiter.clone(),
        start_after: p.key_marker.clone(),
        max_keys: p.max_keys,
    };
    let page = page(cx, bucket, q).await?;
    let who = cx.state.bucket_owner(bucket).await?;
    check_xml_safe(p.url_encode, page_strings(&page))?;
    let enc = Enc(p.url_encode);
    let mut x = cx.xml();
    x.open_root("ListVersionsResult");
    x.elem("Name", bucket);
    x.elem("Prefix", &enc.s(&p.prefix));
    x.elem("KeyMarker", &enc.s(p.key_marker.as_deref().unwrap_or("")));
    x.elem("VersionIdMarker", "");
    if page.is_truncated {
        if let Some(last) = &page.next_after {
            x.elem("NextKeyMarker", &enc.s(last));
            x.elem("NextVersionIdMarker", "null");
        }
    }
    x.elem("MaxKeys", &p.max_keys.to_string());
    x.opt_elem(
        "Delimiter",
        p.delimiter.as_deref().map(|d| enc.s(d)).as_deref(),
    );
    x.bool_elem("IsTruncated", page.is_truncated);
    if p.url_encode {
        x.elem("EncodingType", "url");
    }
    for o in &page.objects {
        x.open_plain("Version");
        x.elem("Key", &enc.s(&o.key));
        x.elem("VersionId", "null");
        x.bool_elem("IsLatest", true);
        x.time_elem("LastModified", o.last_modified);
        x.elem("ETag", &format!("\"{}\"", o.etag));
        x.elem("Size", &o.size.to_string());
        x.elem("StorageClass", "STANDARD");
        owner(&mut x, &who);
        x.close("Version");
    }
    common_prefixes(&mut x, &enc, &page.common_prefixes);
    x.close("ListVersionsResult");
    Ok(xml_response(StatusCode::OK, x.finish()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_of_keys() {
        let e = Enc(true);
        assert_eq!(e.s("a b+c/ü&?.jpg"), "a%20b%2Bc/%C3%BC%26%3F.jpg");
        assert_eq!(Enc(false).s("a b"), "a b");
    }
}
