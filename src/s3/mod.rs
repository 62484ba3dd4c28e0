//! The S3 handler family: the typed operations ([`op::S3Op`]) and one
//! handler per operation, over [`storage::Store`].
//!
//! The front door (`crate::front`) routes a request to an [`op::S3Op`],
//! authenticates and authorizes it, and calls [`dispatch`]; handlers see a
//! verified [`RequestBody`], never hyper's body type, and return
//! [`ApiError`]s that the front door renders once. This module never
//! imports the image handlers (`crate::images`): upload-time processing
//! reaches PUT and CompleteMultipartUpload as an [`UploadHook`].

mod handlers;
// Request-body parsers the fuzz targets reach through `crate::fuzzing`.
#[cfg(feature = "fuzzing")]
pub(crate) use handlers::{multipart::parse_complete, object::parse_delete};
pub mod op;
pub mod post_form;
pub mod token;

use crate::access::ObjectRule;
use crate::http::body::RequestBody;
use crate::http::error::ApiError;
use crate::http::hook::UploadHook;
use crate::http::{ApiResult, S3Config};
use op::S3Op;
use std::sync::Arc;
use storage::Store;

/// What an S3 handler gets besides the op and the body.
pub(crate) type Ctx<'a> = crate::http::Ctx<'a, S3State>;

/// The owner shown in listings and ACLs.
#[derive(Debug, Clone)]
pub struct Owner {
    /// Canonical user id (hex).
    pub id: String,
    /// Display name.
    pub display_name: String,
}

impl Owner {
    /// The owner a caller's new buckets get, as shown.
    pub(crate) fn of(who: &crate::users::Identity) -> Owner {
        Owner {
            id: who.canonical_id.clone(),
            display_name: who.name.clone(),
        }
    }
}

/// The S3 handlers' shared state: the store, the protocol settings, the
/// users (owners shown in listings and ACLs), and the key that signs
/// continuation tokens.
pub struct S3State {
    /// The storage engine.
    pub store: Arc<dyn Store>,
    /// Protocol settings.
    pub config: S3Config,
    pub(crate) users: Arc<crate::users::Users>,
    /// Bucket owners, ACLs and policies (object ACLs of writes, ACL APIs).
    pub(crate) access: Arc<crate::access::Guard>,
    pub(crate) token_key: token::TokenKey,
}

impl S3State {
    /// Builds the state; the admin's secret (`admin_key.1`) derives the
    /// continuation-token key.
    pub fn new(
        store: Arc<dyn Store>,
        config: S3Config,
        admin_key: &(String, String),
        users: Arc<crate::users::Users>,
        access: Arc<crate::access::Guard>,
    ) -> Self {
        S3State {
            store,
            config,
            users,
            access,
            token_key: token::TokenKey::derive(admin_key.1.as_bytes()),
        }
    }

    /// The owner recorded as `id` (empty: the admin), as shown.
    pub(crate) async fn owner_of(&self, id: &str) -> Owner {
        let id = if id.is_empty() {
            crate::users::canonical_id(crate::users::ADMIN_NAME)
        } else {
            id.to_string()
        };
        let display_name = match self.users.display_name(&id).await {
            Some(name) => name,
            // A removed user's buckets keep its id.
            None => id.chars().take(12).collect(),
        };
        Owner { id, display_name }
    }

    /// The owner of `bucket`, as shown.
    pub(crate) async fn bucket_owner(&self, bucket: &str) -> Result<Owner, ApiError> {
        let info = self.store.bucket(bucket).await?;
        Ok(self.owner_of(&info.owner).await)
    }
}

impl std::fmt::Debug for S3State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3State")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Stores a browser form upload's file as PutObject does (the front door
/// has read the form, checked its policy and authorized the caller);
/// `cx.headers` are the form's fields as headers, `body` is the file.
pub async fn post_object(
    cx: Ctx<'_>,
    body: RequestBody,
    bucket: &str,
    key: &str,
    form: &post_form::FormUpload,
    hook: Option<&dyn UploadHook>,
) -> ApiResult {
    handlers::object::post_object(&cx, body, bucket, key, form, hook).await
}

/// Runs one S3 operation. `hook`: the upload-time processing of a PUT or
/// CompleteMultipartUpload, prepared by the front door (`None` for every
/// other op, and for uploads without rules). `object_rule`: for a GET or
/// HEAD of an object, the object ACL step that `front::authorize` left to
/// the read of its record.
pub async fn dispatch(
    cx: Ctx<'_>,
    op: S3Op,
    body: RequestBody,
    hook: Option<&dyn UploadHook>,
    object_rule: Option<&ObjectRule>,
) -> ApiResult {
    use handlers::{acl, bucket, cors, lifecycle, list, multipart, object, policy, tagging};
    use S3Op::*;
    match op {
        ListBuckets => bucket::list_buckets(&cx).await,
        CreateBucket { bucket } => bucket::create_bucket(&cx, body, &bucket).await,
        HeadBucket { bucket } => bucket::head_bucket(&cx, &bucket).await,
        DeleteBucket { bucket } => bucket::delete_bucket(&cx, &bucket).await,
        GetBucketLocation { bucket } => bucket::get_location(&cx, &bucket).await,
        GetBucketAcl { bucket } => acl::get_bucket_acl(&cx, &bucket).await,
        GetBucketInfo { bucket } => bucket::get_info(&cx, &bucket).await,
        GetBucketStat { bucket } => bucket::get_stat(&cx, &bucket).await,
        PutBucketAcl { bucket } => acl::put_bucket_acl(&cx, body, &bucket).await,
        GetBucketPolicy { bucket } => policy::get_policy(&cx, &bucket).await,
        PutBucketPolicy { bucket } => policy::put_policy(&cx, body, &bucket).await,
        DeleteBucketPolicy { bucket } => policy::delete_policy(&cx, &bucket).await,
        GetBucketVersioning { bucket } => bucket::get_versioning(&cx, &bucket).await,
        PutBucketVersioning { bucket } => bucket::put_versioning(&cx, &bucket).await,
        GetBucketCors { bucket } => cors::get_cors(&cx, &bucket).await,
        PutBucketCors { bucket } => cors::put_cors(&cx, body, &bucket).await,
        DeleteBucketCors { bucket } => cors::delete_cors(&cx, &bucket).await,
        GetBucketLifecycleConfiguration { bucket } => lifecycle::get(&cx, &bucket).await,
        PutBucketLifecycleConfiguration { bucket } => lifecycle::put(&cx, body, &bucket).await,
        DeleteBucketLifecycle { bucket } => lifecycle::delete(&cx, &bucket).await,
        ListObjects { bucket, params } => list::list_v1(&cx, &bucket, params).await,
        ListObjectsV2 { bucket, params } => list::list_v2(&cx, &bucket, params).await,
        ListObjectVersions { bucket, params } => list::list_versions(&cx, &bucket, params).await,
        ListMultipartUploads { bucket, params } => {
            multipart::list_uploads(&cx, &bucket, params).await
        }
        DeleteObjects { bucket } => object::delete_objects(&cx, body, &bucket).await,
        // Its key and credentials are in the body: the front door reads
        // them and calls `post_object`.
        PostObject { .. } => Err(ApiError::Internal(
            "PostObject is served through s3::post_object".into(),
        )),
        PutObject { bucket, key } => object::put_object(&cx, body, &bucket, &key, hook).await,
        CopyObject {
            bucket,
            key,
            source,
        } => object::copy_object(&cx, &bucket, &key, &source).await,
        GetObject { bucket, key } => {
            object::get_object(&cx, &bucket, &key, false, object_rule).await
        }
        HeadObject { bucket, key } => {
            object::get_object(&cx, &bucket, &key, true, object_rule).await
        }
        GetObjectAcl { bucket, key } => acl::get_object_acl(&cx, &bucket, &key).await,
        PutObjectAcl { bucket, key } => acl::put_object_acl(&cx, body, &bucket, &key).await,
        GetObjectTagging { bucket, key } => tagging::get(&cx, &bucket, &key).await,
        GetBucketTagging { bucket } => tagging::get_bucket(&cx, &bucket).await,
        PutBucketTagging { bucket } => tagging::put_bucket(&cx, body, &bucket).await,
        DeleteBucketTagging { bucket } => tagging::delete_bucket(&cx, &bucket).await,
        PutObjectTagging { bucket, key } => tagging::put(&cx, body, &bucket, &key).await,
        DeleteObjectTagging { bucket, key } => tagging::delete(&cx, &bucket, &key).await,
        DeleteObject { bucket, key } => object::delete_object(&cx, &bucket, &key).await,
        CreateMultipartUpload { bucket, key } => multipart::create(&cx, &bucket, &key).await,
        UploadPart {
            bucket,
            key,
            upload_id,
            part_number,
        } => multipart::upload_part(&cx, body, &bucket, &key, &upload_id, part_number).await,
        UploadPartCopy {
            bucket,
            key,
            upload_id,
            part_number,
            source,
            range,
        } => {
            multipart::upload_part_copy(&cx, &bucket, &key, &upload_id, part_number, &source, range)
                .await
        }
        CompleteMultipartUpload {
            bucket,
            key,
            upload_id,
        } => multipart::complete(&cx, body, &bucket, &key, &upload_id, hook).await,
        AbortMultipartUpload {
            bucket,
            key,
            upload_id,
        } => multipart::abort(&cx, &bucket, &key, &upload_id).await,
        ListParts {
            bucket,
            key,
            upload_id,
            part_number_marker,
            max_parts,
        } => {
            multipart::list_parts(
                &cx,
                &bucket,
                &key,
                &upload_id,
                part_number_marker,
                max_parts,
            )
            .await
        }
    }
}
