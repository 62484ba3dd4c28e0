//! Service and bucket operations: ListBuckets, Create/Head/DeleteBucket,
//! location, canned ACLs, versioning status.

use crate::http::body::RequestBody;
use crate::http::error::ApiError;
use crate::http::vendor::Vendor;
use crate::http::xml::{self, XmlWriter};
use crate::http::Caller;
use crate::http::{empty_response, xml_response, ApiResult};
use crate::s3::{Ctx, Owner};
use http::{HeaderValue, StatusCode};
use storage::{ListQuery, UploadsQuery};

/// The caller's own buckets (the admin's: those made by the admin, and
/// those from before there were users), by name, with AWS's `prefix`,
/// `max-buckets` (1 to 10000) and `continuation-token` paging.
pub async fn list_buckets(cx: &Ctx<'_>) -> ApiResult {
    let Caller::User(who) = &cx.caller else {
        return Err(ApiError::AccessDenied);
    };
    let prefix = cx.query.get("prefix");
    let max = match cx.query.get("max-buckets") {
        None => 10_000,
        Some(v) => match v.parse::<usize>() {
            Ok(n @ 1..=10_000) => n,
            _ => {
                return Err(ApiError::InvalidArgument(
                    "max-buckets",
                    "must be an integer from 1 to 10000".into(),
                ))
            }
        },
    };
    let after = match cx.query.get("continuation-token") {
        Some(t) => Some(cx.state.token_key.decode(t)?),
        None => None,
    };
    let mut buckets = cx.state.store.list_buckets().await?;
    buckets.retain(|b| {
        who.made(&b.owner)
            && prefix.is_none_or(|p| b.name.starts_with(p))
            && after.as_deref().is_none_or(|a| b.name.as_str() > a)
    });
    let next = if buckets.len() > max {
        buckets.truncate(max);
        buckets.last().map(|b| cx.state.token_key.encode(&b.name))
    } else {
        None
    };
    let mut x = cx.xml();
    x.open_root("ListAllMyBucketsResult");
    owner(&mut x, &Owner::of(who));
    x.open_plain("Buckets");
    for b in &buckets {
        x.open_plain("Bucket");
        x.elem("Name", &b.name);
        x.time_elem("CreationDate", b.created);
        if cx.vendor == Vendor::Oss {
            oss_location(&mut x, cx);
        }
        x.close("Bucket");
    }
    x.close("Buckets");
    x.opt_elem("ContinuationToken", next.as_deref());
    x.opt_elem("Prefix", prefix);
    x.close("ListAllMyBucketsResult");
    Ok(xml_response(StatusCode::OK, x.finish()))
}

/// Where an OSS bucket lives, as OSS describes it (ListBuckets and
/// GetBucketInfo): `oss-<region>` and its endpoints.
fn oss_location(x: &mut XmlWriter, cx: &Ctx<'_>) {
    let region = &cx.state.config.region;
    let location = format!("oss-{region}");
    x.elem("Location", &location);
    x.elem("ExtranetEndpoint", &format!("{location}.aliyuncs.com"));
    x.elem(
        "IntranetEndpoint",
        &format!("{location}-internal.aliyuncs.com"),
    );
    x.elem("Region", region);
    x.elem("StorageClass", "Standard");
}

/// Alibaba OSS GetBucketInfo: the bucket's name, creation date, location,
/// owner and ACL.
pub async fn get_info(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    let info = cx.state.store.bucket(bucket).await?;
    let mut x = cx.xml();
    x.open_root("BucketInfo");
    x.open_plain("Bucket");
    x.elem("Name", &info.name);
    x.time_elem("CreationDate", info.created);
    oss_location(&mut x, cx);
    let who = cx.state.owner_of(&info.owner).await;
    x.open_plain("Owner");
    x.elem("DisplayName", &who.display_name);
    x.elem("ID", &who.id);
    x.close("Owner");
    x.open_plain("AccessControlList");
    let word = match cx.state.access.bucket(bucket).await? {
        Some(rules) => crate::access::acl::oss_word(&rules.grants),
        None => "private",
    };
    x.elem("Grant", word);
    x.close("AccessControlList");
    // One copy on one machine: locally redundant at best.
    x.elem("DataRedundancyType", "LRS");
    x.close("Bucket");
    x.close("BucketInfo");
    Ok(xml_response(StatusCode::OK, x.finish()))
}

/// Alibaba OSS GetBucketStat: bytes and objects stored, and uploads in
/// progress. Counted by walking the bucket's listing (the store keeps no
/// running totals), so it costs one pass over the keys.
pub async fn get_stat(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    let store = &cx.state.store;
    let (mut objects, mut bytes, mut latest) = (0u64, 0u64, None);
    let mut query = ListQuery {
        max_keys: 1000,
        ..ListQuery::default()
    };
    loop {
        let page = store.list_objects(bucket, &query).await?;
        for o in &page.objects {
            objects += 1;
            bytes += o.size;
            latest = latest.max(Some(o.last_modified));
        }
        match page.next_after {
            Some(next) if page.is_truncated => query.start_after = Some(next),
            _ => break,
        }
    }
    let mut uploads = 0u64;
    let mut query = UploadsQuery {
        max_uploads: 1000,
        ..UploadsQuery::default()
    };
    loop {
        let page = store.list_multipart_uploads(bucket, &query).await?;
        uploads += page.uploads.len() as u64;
        if !page.is_truncated || page.next_key_marker.is_none() {
            break;
        }
        query.key_marker = page.next_key_marker;
        query.upload_id_marker = page.next_upload_id_marker;
    }
    let last_modified = latest
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let mut x = cx.xml();
    x.open_root("BucketStat");
    x.elem("Storage", &bytes.to_string());
    x.elem("ObjectCount", &objects.to_string());
    x.elem("MultipartUploadCount", &uploads.to_string());
    x.elem("LiveChannelCount", "0");
    x.elem("LastModifiedTime", &last_modified.to_string());
    x.elem("StandardStorage", &bytes.to_string());
    x.elem("StandardObjectCount", &objects.to_string());
    x.close("BucketStat");
    Ok(xml_response(StatusCode::OK, x.finish()))
}

/// `<Owner><ID/><DisplayName/></Owner>`.
pub(crate) fn owner(x: &mut XmlWriter, who: &Owner) {
    x.open_plain("Owner");
    x.elem("ID", &who.id);
    x.elem("DisplayName", &who.display_name);
    x.close("Owner");
}

pub async fn create_bucket(cx: &Ctx<'_>, mut body: RequestBody, bucket: &str) -> ApiResult {
    let doc = body
        .read_to_limit(cx.state.config.limits.max_xml_body)
        .await?;
    if !doc.iter().all(u8::is_ascii_whitespace) {
        let root = xml::parse_root(&doc, "CreateBucketConfiguration")?;
        let wanted = root.child_text("LocationConstraint").unwrap_or("");
        // us-east-1 is spelled as an empty constraint by the SDKs.
        let ours = &cx.state.config.region;
        let same = wanted == ours || (wanted.is_empty() && ours == "us-east-1");
        if !same {
            return Err(ApiError::IllegalLocationConstraint(wanted.to_string()));
        }
    }
    let Caller::User(who) = &cx.caller else {
        return Err(ApiError::AccessDenied);
    };
    let (acl, grants) = super::acl::create_bucket_grants(cx, &who.canonical_id).await?;
    match cx
        .state
        .store
        .create_bucket(bucket, acl, &who.canonical_id)
        .await
    {
        Ok(_) => {
            cx.state.access.forget(bucket);
            if let Some(grants) = grants {
                super::acl::store_bucket_grants(cx, bucket, &grants).await?;
            }
        }
        Err(storage::Error::BucketAlreadyOwnedByYou(_)) => {
            let existing = cx.state.store.bucket(bucket).await?;
            if !who.made(&existing.owner) {
                return Err(ApiError::BucketAlreadyExists(bucket.to_string()));
            }
            // Re-creating one's own bucket: us-east-1 keeps AWS's legacy
            // 200 (nothing changes), every other region answers 409.
            if cx.state.config.region != "us-east-1" {
                return Err(ApiError::BucketAlreadyOwnedByYou(bucket.to_string()));
            }
        }
        Err(e) => return Err(e.into()),
    }
    let mut r = empty_response(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&format!("/{bucket}")) {
        r.headers_mut().insert(http::header::LOCATION, v);
    }
    Ok(r)
}

pub async fn head_bucket(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    cx.state.store.bucket(bucket).await?;
    let mut r = empty_response(StatusCode::OK);
    if let Ok(v) = HeaderValue::from_str(&cx.state.config.region) {
        r.headers_mut().insert("x-amz-bucket-region", v);
    }
    Ok(r)
}

pub async fn delete_bucket(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    let deleted = cx.state.store.delete_bucket(bucket).await;
    cx.state.access.forget(bucket);
    deleted?;
    Ok(empty_response(StatusCode::NO_CONTENT))
}

pub async fn get_location(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    cx.state.store.bucket(bucket).await?;
    let region = &cx.state.config.region;
    let mut x = cx.xml();
    if cx.vendor == Vendor::Oss {
        // OSS names its regions `oss-<region>`, and always states one.
        x.open_root("LocationConstraint");
        x.raw(&quick_xml::escape::escape(format!("oss-{region}").as_str()));
        x.close("LocationConstraint");
    } else if region == "us-east-1" {
        // S3 reports us-east-1 as an empty constraint.
        x.empty_root("LocationConstraint");
    } else {
        x.open_root("LocationConstraint");
        x.raw(&quick_xml::escape::escape(region.as_str()));
        x.close("LocationConstraint");
    }
    Ok(xml_response(StatusCode::OK, x.finish()))
}

pub async fn get_versioning(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    cx.state.store.bucket(bucket).await?;
    // Never versioned: S3 answers an empty configuration.
    let mut x = cx.xml();
    x.empty_root("VersioningConfiguration");
    Ok(xml_response(StatusCode::OK, x.finish()))
}

pub async fn put_versioning(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    cx.state.store.bucket(bucket).await?;
    Err(ApiError::NotImplemented(
        "Bucket versioning (imgbucket keeps one version per key)".into(),
    ))
}
