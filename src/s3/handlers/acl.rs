//! ACLs of buckets and objects: Get/PutBucketAcl, Get/PutObjectAcl, and
//! the ACL a write gives its object (`x-amz-acl` or `x-amz-grant-*` on
//! PutObject, CopyObject and CreateMultipartUpload).
//!
//! What an ACL means is `crate::access`'s; here lists are read from
//! requests, checked (every user id must name a user), stored and shown.
//! A bucket's list is the bucket setting `access::ACL_SETTING`, with the
//! record's canned summary kept in step; an object's is in its attributes.

use super::bucket::owner;
use crate::access::acl::{self, Canned, HeaderAcl, Who};
use crate::access::{self, ACL_SETTING};
use crate::http::body::RequestBody;
use crate::http::error::ApiError;
use crate::http::vendor::Vendor;
use crate::http::xml::XmlWriter;
use crate::http::{empty_response, xml_response, ApiResult, Caller};
use crate::s3::{Ctx, Owner};
use http::StatusCode;
use storage::{CannedAcl, Grant, Grantee, ObjectAcl, Permission};

/// The grants a PutBucketAcl or PutObjectAcl sets: from its headers or
/// from its `AccessControlPolicy` body (not both), for a resource owned by
/// `owner` in a bucket owned by `bucket_owner`.
async fn requested_grants(
    cx: &Ctx<'_>,
    mut body: RequestBody,
    owner: &str,
    bucket_owner: &str,
) -> Result<Vec<Grant>, ApiError> {
    let doc = body
        .read_to_limit(cx.state.config.limits.max_xml_body)
        .await?;
    let has_doc = !doc.iter().all(u8::is_ascii_whitespace);
    let grants = match (HeaderAcl::from_headers(cx.headers)?, has_doc) {
        (HeaderAcl::Absent, true) => acl::parse_policy_document(&doc)?,
        (HeaderAcl::Absent, false) => {
            return Err(ApiError::MalformedAcl(
                "give x-amz-acl, x-amz-grant-* headers or an AccessControlPolicy body".into(),
            ))
        }
        (_, true) => {
            return Err(ApiError::InvalidRequest(
                "Give an ACL in headers or in the body, not both".into(),
            ))
        }
        (headers, false) => headers.grants(owner, bucket_owner).unwrap_or_default(),
    };
    check_user_ids(cx, &grants).await?;
    Ok(grants)
}

/// Every user a grant names must exist (AWS answers the same for an id it
/// does not know).
async fn check_user_ids(cx: &Ctx<'_>, grants: &[Grant]) -> Result<(), ApiError> {
    for g in grants {
        if let Grantee::User(id) = &g.grantee {
            if cx.state.users.display_name(id).await.is_none() {
                return Err(ApiError::InvalidArgument(
                    "Grantee",
                    format!("Invalid id {id:?}"),
                ));
            }
        }
    }
    Ok(())
}

/// The bucket's owner and grants; `NoSuchBucket` if absent.
async fn bucket_rules(cx: &Ctx<'_>, bucket: &str) -> Result<access::BucketAccess, ApiError> {
    cx.state
        .access
        .bucket(bucket)
        .await?
        .ok_or_else(|| ApiError::NoSuchBucket(bucket.to_string()))
}

/// `<AccessControlPolicy>`: the owner and each grant, with display names;
/// OSS SDKs get OSS's one-word form (`oss_word`: `default` for an object
/// without an ACL of its own).
async fn render(cx: &Ctx<'_>, owner_id: &str, grants: &[Grant], oss_word: &str) -> ApiResult {
    let who = cx.state.owner_of(owner_id).await;
    let mut x = cx.xml();
    x.open_root("AccessControlPolicy");
    owner(&mut x, &who);
    x.open_plain("AccessControlList");
    if cx.vendor == Vendor::Oss {
        x.elem("Grant", oss_word);
    } else {
        for g in grants {
            let user = match &g.grantee {
                Grantee::User(id) => Some(cx.state.owner_of(id).await),
                _ => None,
            };
            grant(&mut x, g, user.as_ref());
        }
    }
    x.close("AccessControlList");
    x.close("AccessControlPolicy");
    Ok(xml_response(StatusCode::OK, x.finish()))
}

fn grant(x: &mut XmlWriter, g: &Grant, user: Option<&Owner>) {
    x.open_plain("Grant");
    const XSI: &str = "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
    match (user, acl::group_uri(&g.grantee)) {
        (Some(u), _) => {
            x.raw(&format!("<Grantee {XSI} xsi:type=\"CanonicalUser\">"));
            x.elem("ID", &u.id);
            x.elem("DisplayName", &u.display_name);
        }
        (None, uri) => {
            x.raw(&format!("<Grantee {XSI} xsi:type=\"Group\">"));
            x.elem("URI", uri.unwrap_or(acl::ALL_USERS));
        }
    }
    x.close("Grantee");
    x.elem("Permission", acl::permission_name(g.permission));
    x.close("Grant");
}

/// GetBucketAcl.
pub async fn get_bucket_acl(cx: &Ctx<'_>, bucket: &str) -> ApiResult {
    let rules = bucket_rules(cx, bucket).await?;
    let word = acl::oss_word(&rules.grants);
    render(cx, &rules.owner, &rules.grants, word).await
}

/// PutBucketAcl: stores the grants, and the canned summary the bucket
/// record keeps (public-read when everyone may read).
pub async fn put_bucket_acl(cx: &Ctx<'_>, body: RequestBody, bucket: &str) -> ApiResult {
    let rules = bucket_rules(cx, bucket).await?;
    let grants = requested_grants(cx, body, &rules.owner, &rules.owner).await?;
    store_bucket_grants(cx, bucket, &grants).await?;
    Ok(empty_response(StatusCode::OK))
}

/// Stores a bucket's grants and its summary, then drops what is known of
/// its rules.
pub(crate) async fn store_bucket_grants(
    cx: &Ctx<'_>,
    bucket: &str,
    grants: &[Grant],
) -> Result<(), ApiError> {
    let record = serde_json::to_vec(grants)
        .map_err(|e| ApiError::Internal(format!("bucket ACL record: {e}")))?;
    let store = &cx.state.store;
    store
        .put_bucket_setting(bucket, ACL_SETTING, Some(record))
        .await?;
    let summary = if acl::permits(grants, Who::Anonymous, Permission::Read) {
        CannedAcl::PublicRead
    } else {
        CannedAcl::Private
    };
    store.set_bucket_acl(bucket, summary).await?;
    cx.state.access.forget(bucket);
    Ok(())
}

/// The grants a CreateBucket's headers ask for, checked; `None`: none
/// beyond the canned summary the bucket record holds.
pub(crate) async fn create_bucket_grants(
    cx: &Ctx<'_>,
    owner_id: &str,
) -> Result<(CannedAcl, Option<Vec<Grant>>), ApiError> {
    let grants = match HeaderAcl::from_headers(cx.headers)? {
        HeaderAcl::Absent | HeaderAcl::Canned(Canned::Private) => {
            return Ok((CannedAcl::Private, None))
        }
        HeaderAcl::Canned(Canned::PublicRead) => return Ok((CannedAcl::PublicRead, None)),
        other => other.grants(owner_id, owner_id).unwrap_or_default(),
    };
    check_user_ids(cx, &grants).await?;
    let summary = if acl::permits(&grants, Who::Anonymous, Permission::Read) {
        CannedAcl::PublicRead
    } else {
        CannedAcl::Private
    };
    Ok((summary, Some(grants)))
}

/// The ACL an object written by this request gets: `None` (the bucket's
/// default) when the bucket owner writes without ACL headers; the
/// requested grants otherwise. An object another user writes is that
/// user's, private to it unless the headers say more (as on AWS).
pub(crate) async fn acl_for_write(
    cx: &Ctx<'_>,
    bucket: &str,
) -> Result<Option<ObjectAcl>, ApiError> {
    let requested = HeaderAcl::from_headers(cx.headers)?;
    let Some(rules) = cx.state.access.bucket(bucket).await? else {
        // The write fails on the missing bucket in its own way.
        return Ok(None);
    };
    let writer = match &cx.caller {
        Caller::User(who) if !who.owns(&rules.owner) => who.canonical_id.clone(),
        // The bucket owner (or the admin), and anonymous writers, whose
        // objects the bucket owner answers for.
        _ => rules.owner.clone(),
    };
    let grants = match requested.grants(&writer, &rules.owner) {
        Some(g) => g,
        None if writer == rules.owner => return Ok(None),
        None => Canned::Private.grants(&writer, &rules.owner),
    };
    check_user_ids(cx, &grants).await?;
    Ok(Some(ObjectAcl {
        owner: writer,
        grants,
    }))
}

/// GetObjectAcl. An object without an ACL of its own shows the bucket
/// owner's full control and the read the bucket's ACL gives groups.
pub async fn get_object_acl(cx: &Ctx<'_>, bucket: &str, key: &str) -> ApiResult {
    let rules = bucket_rules(cx, bucket).await?;
    let meta = cx.state.store.head_object(bucket, key).await?;
    match meta.attrs.acl {
        Some(own) => render(cx, &own.owner, &own.grants, acl::oss_word(&own.grants)).await,
        None => {
            let mut grants = Canned::Private.grants(&rules.owner, &rules.owner);
            grants.extend(
                rules
                    .grants
                    .iter()
                    .filter(|g| {
                        !matches!(g.grantee, Grantee::User(_))
                            && matches!(g.permission, Permission::Read | Permission::FullControl)
                    })
                    .map(|g| Grant {
                        grantee: g.grantee.clone(),
                        permission: Permission::Read,
                    }),
            );
            render(cx, &rules.owner, &grants, "default").await
        }
    }
}

/// PutObjectAcl. OSS's `default` (an `x-oss-object-acl` without an
/// `x-amz-acl` twin) gives the object back to its bucket's default.
pub async fn put_object_acl(cx: &Ctx<'_>, body: RequestBody, bucket: &str, key: &str) -> ApiResult {
    let rules = bucket_rules(cx, bucket).await?;
    let store = &cx.state.store;
    let meta = store.head_object(bucket, key).await?;
    let owner = meta
        .attrs
        .acl
        .as_ref()
        .map_or_else(|| rules.owner.clone(), |a| a.owner.clone());
    let oss_default = cx.vendor == Vendor::Oss
        && cx
            .headers
            .get("x-oss-object-acl")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"default"));
    let acl = if oss_default {
        None
    } else {
        let grants = requested_grants(cx, body, &owner, &rules.owner).await?;
        Some(ObjectAcl { owner, grants })
    };
    super::change_object_attrs(cx, bucket, key, |attrs| attrs.acl = acl.clone()).await?;
    Ok(empty_response(StatusCode::OK))
}
