//! Access control: who may do what to which bucket and object.
//!
//! - [`acl`]: ACLs (canned, `x-amz-grant-*`, `AccessControlPolicy`).
//! - [`policy`]: bucket policies, checked when put, evaluated per request.
//! - [`Guard`]: each bucket's owner, ACL and policy, kept in memory
//!   (see `http::memo`), and [`Guard::check`], the one decision.
//!   [`Guard::decide`] stops short of an object's own ACL, as an
//!   [`ObjectRule`] that a GET or HEAD settles on the record it reads.
//!
//! The decision, in order (the front door's `authorize` and the image
//! handlers' output targets both ask it):
//! 1. the admin may do anything; a missing bucket is left to the handler
//!    (`NoSuchBucket`) for users, and refused to anonymous callers;
//! 2. the bucket owner may always manage the bucket's policy (no lock-out);
//! 3. a policy `Deny` refuses, the owner included;
//! 4. the owner may do anything else; a policy `Allow` allows;
//! 5. otherwise the ACLs decide: the bucket's for listing (READ), writing
//!    and deleting keys (WRITE) and its own ACL (READ_ACP / WRITE_ACP);
//!    the object's for reading it (READ) and its ACL. An object without an
//!    ACL of its own is readable by whoever the bucket's ACL lets list it
//!    (the default object ACL of OSS and COS; AWS would make it private).
//!
//! Bucket ACLs are kept as the bucket setting `acl` (a list of grants;
//! absent: the canned summary in the bucket record); policies as the
//! bucket setting `policy`, the document as put.

pub mod acl;
pub mod policy;

pub use acl::Who;

use crate::http::error::ApiError;
use crate::http::memo::BucketMemo;
use crate::http::Caller;
use policy::{Policy, Target, Verdict};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use storage::{CannedAcl, Grant, Permission, Store};

/// The bucket setting that holds a bucket's grants.
pub const ACL_SETTING: &str = "acl";
/// The bucket setting that holds a bucket's policy document.
pub const POLICY_SETTING: &str = "policy";

/// Why an ACL or a policy cannot be accepted.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("Invalid canned ACL {0:?}")]
    InvalidCannedAcl(String),
    #[error("Specifying both Canned ACLs and Header Grants is not allowed")]
    CannedAndGrants,
    #[error("Invalid grant: {0}")]
    InvalidGrant(String),
    #[error("The e-mail address you provided does not match any account on record: {0}")]
    UnresolvableEmail(String),
    #[error("The XML you provided was not well-formed or did not validate against our published schema: {0}")]
    MalformedAcl(String),
    #[error("{0}")]
    MalformedPolicy(String),
    #[error("Policies must be less than 20 KB")]
    PolicyTooLarge,
    #[error("{0} is not implemented")]
    NotImplemented(String),
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::InvalidCannedAcl(_) | AccessError::InvalidGrant(_) => {
                ApiError::InvalidArgument("x-amz-acl", e.to_string())
            }
            AccessError::CannedAndGrants => ApiError::InvalidRequest(e.to_string()),
            AccessError::UnresolvableEmail(_) => ApiError::UnresolvableGrantByEmailAddress,
            AccessError::MalformedAcl(m) => ApiError::MalformedAcl(m),
            AccessError::MalformedPolicy(m) => ApiError::MalformedPolicy(m),
            AccessError::PolicyTooLarge => {
                ApiError::MalformedPolicy("Policies must be less than 20 KB".into())
            }
            AccessError::NotImplemented(what) => ApiError::NotImplemented(what),
        }
    }
}

/// Declares [`Action`] with each action's policy name, so names and
/// variants cannot drift apart.
macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident => $policy:literal;)*) => {
        /// What a request does, as policies name it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action {
            $($(#[$doc])* $name,)*
        }

        impl Action {
            /// Every action a policy may name.
            pub const ALL: &'static [Action] = &[$(Action::$name,)*];

            /// The name a policy gives it (`s3:GetObject`).
            pub fn policy_name(self) -> &'static str {
                match self { $(Action::$name => $policy,)* }
            }
        }
    };
}

actions! {
    ListBucket => "s3:ListBucket";
    ListBucketMultipartUploads => "s3:ListBucketMultipartUploads";
    GetBucketLocation => "s3:GetBucketLocation";
    GetBucketAcl => "s3:GetBucketAcl";
    PutBucketAcl => "s3:PutBucketAcl";
    GetBucketPolicy => "s3:GetBucketPolicy";
    PutBucketPolicy => "s3:PutBucketPolicy";
    DeleteBucketPolicy => "s3:DeleteBucketPolicy";
    GetBucketCors => "s3:GetBucketCORS";
    PutBucketCors => "s3:PutBucketCORS";
    GetBucketVersioning => "s3:GetBucketVersioning";
    PutBucketVersioning => "s3:PutBucketVersioning";
    GetLifecycleConfiguration => "s3:GetLifecycleConfiguration";
    PutLifecycleConfiguration => "s3:PutLifecycleConfiguration";
    DeleteBucket => "s3:DeleteBucket";
    GetObject => "s3:GetObject";
    GetObjectAcl => "s3:GetObjectAcl";
    PutObject => "s3:PutObject";
    PutObjectAcl => "s3:PutObjectAcl";
    GetObjectTagging => "s3:GetObjectTagging";
    PutObjectTagging => "s3:PutObjectTagging";
    DeleteObjectTagging => "s3:DeleteObjectTagging";
    GetBucketTagging => "s3:GetBucketTagging";
    PutBucketTagging => "s3:PutBucketTagging";
    DeleteObject => "s3:DeleteObject";
    AbortMultipartUpload => "s3:AbortMultipartUpload";
    ListMultipartUploadParts => "s3:ListMultipartUploadParts";
}

impl Action {
    /// The bucket ACL permission that allows it, for actions a bucket's
    /// ACL governs.
    fn bucket_permission(self) -> Option<Permission> {
        use Action::*;
        match self {
            ListBucket | ListBucketMultipartUploads => Some(Permission::Read),
            PutObject | DeleteObject | AbortMultipartUpload | ListMultipartUploadParts => {
                Some(Permission::Write)
            }
            GetBucketAcl => Some(Permission::ReadAcp),
            PutBucketAcl => Some(Permission::WriteAcp),
            _ => None,
        }
    }

    /// The object ACL permission that allows it, for actions an object's
    /// ACL governs.
    fn object_permission(self) -> Option<Permission> {
        match self {
            Action::GetObject => Some(Permission::Read),
            Action::GetObjectAcl => Some(Permission::ReadAcp),
            Action::PutObjectAcl => Some(Permission::WriteAcp),
            _ => None,
        }
    }

    /// The actions on a bucket's policy, which its owner can always take.
    fn manages_policy(self) -> bool {
        matches!(
            self,
            Action::GetBucketPolicy | Action::PutBucketPolicy | Action::DeleteBucketPolicy
        )
    }
}

/// What is asked: may this caller take this action here?
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    pub caller: &'a Caller,
    pub source_ip: Option<IpAddr>,
    /// `None`: an action only the bucket owner may take (image settings,
    /// the OSS bucket documents), which no policy or ACL can grant.
    pub action: Option<Action>,
    pub bucket: &'a str,
    pub target: Target<'a>,
}

/// What is known of a bucket's access rules.
#[derive(Debug, Clone)]
pub struct BucketAccess {
    /// The owner's canonical id (never empty: the admin's for buckets
    /// made before there were users).
    pub owner: String,
    /// The bucket's grants.
    pub grants: Arc<Vec<Grant>>,
    pub policy: Option<Arc<Policy>>,
}

/// The admin's canonical id, which buckets made before there were users
/// record as empty.
pub fn resolve_owner(recorded: &str) -> String {
    if recorded.is_empty() {
        crate::users::canonical_id(crate::users::ADMIN_NAME)
    } else {
        recorded.to_string()
    }
}

/// Reads a stored list of grants.
pub fn grants_from_record(raw: &[u8]) -> Result<Vec<Grant>, ApiError> {
    serde_json::from_slice(raw).map_err(|e| ApiError::Internal(format!("stored bucket ACL: {e}")))
}

/// The grants of a bucket: its stored list, else its canned summary.
pub async fn bucket_grants(
    store: &dyn Store,
    bucket: &str,
    owner: &str,
    canned: CannedAcl,
) -> Result<Vec<Grant>, ApiError> {
    match store.bucket_setting(bucket, ACL_SETTING).await? {
        Some(raw) => grants_from_record(&raw),
        None => Ok(match canned {
            CannedAcl::Private => acl::Canned::Private,
            CannedAcl::PublicRead => acl::Canned::PublicRead,
        }
        .grants(owner, owner)),
    }
}

/// Reads a policy as stored: it was checked when put, so names are
/// resolved by derivation alone (a user removed since matches nobody).
fn stored_policy(raw: &[u8], bucket: &str) -> Result<Policy, ApiError> {
    Policy::parse(
        raw,
        bucket,
        &|name| Some(crate::users::canonical_id(name)),
        &|_| true,
    )
    .map_err(|e| ApiError::Internal(format!("stored policy of {bucket}: {e}")))
}

/// What [`Guard::decide`] concludes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    /// Up to the object's own ACL, or to its absence.
    ByObject(ObjectRule),
}

/// The last step of the decision (step 5 for an object), kept until the
/// object's record is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRule {
    /// The caller's canonical id; `None`: anonymous.
    caller: Option<String>,
    permission: Permission,
    /// Whether the bucket's ACL lets the caller list it (and so read the
    /// objects that have no ACL of their own).
    bucket_read: bool,
    /// Whether the caller may learn that a key is missing.
    missing_told: bool,
}

impl ObjectRule {
    /// Whether the object, with its own ACL `acl` (`None`: the bucket's
    /// default), admits the caller.
    pub fn admits(&self, acl: Option<&storage::ObjectAcl>) -> bool {
        let who = match &self.caller {
            Some(id) => Who::User(id),
            None => Who::Anonymous,
        };
        match acl {
            // The bucket's default: readable by whoever its ACL lets list
            // it (a policy's ListBucket does not read objects).
            None => self.permission == Permission::Read && self.bucket_read,
            Some(own) => {
                let is_owner = Who::User(&own.owner) == who;
                (is_owner && self.permission != Permission::Read)
                    || acl::permits(&own.grants, who, self.permission)
            }
        }
    }

    /// Whether a missing key is answered as missing (404) rather than
    /// refused (403).
    pub fn admits_missing(&self) -> bool {
        self.missing_told
    }
}

/// Each bucket's access rules in memory, and the decision.
pub struct Guard {
    store: Arc<dyn Store>,
    buckets: BucketMemo<Option<BucketAccess>>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").finish_non_exhaustive()
    }
}

impl Guard {
    /// Rules trusted for `ttl` (`None`: until this process changes them).
    pub fn new(store: Arc<dyn Store>, ttl: Option<Duration>) -> Guard {
        Guard {
            store,
            buckets: BucketMemo::new(ttl),
        }
    }

    /// The bucket's rules; `None` if it does not exist.
    pub async fn bucket(&self, bucket: &str) -> Result<Option<BucketAccess>, ApiError> {
        let store = &*self.store;
        self.buckets
            .get(bucket, || async {
                let info = match store.bucket(bucket).await {
                    Ok(info) => info,
                    Err(storage::Error::NoSuchBucket(_)) => return Ok(None),
                    Err(e) => return Err(ApiError::from(e)),
                };
                let owner = resolve_owner(&info.owner);
                let grants = bucket_grants(store, bucket, &owner, info.acl).await?;
                let policy = match store.bucket_setting(bucket, POLICY_SETTING).await? {
                    Some(raw) => Some(Arc::new(stored_policy(&raw, bucket)?)),
                    None => None,
                };
                Ok(Some(BucketAccess {
                    owner,
                    grants: Arc::new(grants),
                    policy,
                }))
            })
            .await
    }

    /// Drops what is known of the bucket: its ACL or policy was written,
    /// or it was created or deleted.
    pub fn forget(&self, bucket: &str) {
        self.buckets.forget(bucket);
    }

    /// Whether `ask` is allowed (see the module doc for the rule).
    pub async fn allows(&self, ask: &Ask<'_>) -> Result<bool, ApiError> {
        match self.decide(ask).await? {
            Decision::Allow => Ok(true),
            Decision::Deny => Ok(false),
            Decision::ByObject(rule) => self.by_record(ask, &rule).await,
        }
    }

    /// Settles `rule` by reading the record of the object `ask` names.
    pub async fn by_record(&self, ask: &Ask<'_>, rule: &ObjectRule) -> Result<bool, ApiError> {
        let Target::Key(key) = ask.target else {
            return Ok(false);
        };
        match self.store.head_object(ask.bucket, key).await {
            Err(storage::Error::NoSuchKey(_)) => Ok(rule.admits_missing()),
            Err(e) => Err(e.into()),
            Ok(meta) => Ok(rule.admits(meta.attrs.acl.as_ref())),
        }
    }

    /// The decision as far as the bucket's rules take it: the last step
    /// (an object's own ACL) is left to whoever reads the object's record,
    /// so that a GET, which reads it anyway, does not read it twice.
    pub async fn decide(&self, ask: &Ask<'_>) -> Result<Decision, ApiError> {
        let verdict = |yes: bool| match yes {
            true => Decision::Allow,
            false => Decision::Deny,
        };
        let who = match ask.caller {
            Caller::User(id) if id.admin => return Ok(Decision::Allow),
            Caller::User(id) => Who::User(&id.canonical_id),
            Caller::Anonymous => Who::Anonymous,
        };
        let Some(bucket) = self.bucket(ask.bucket).await? else {
            // A user learns it is missing (`NoSuchBucket` from the
            // handler); to strangers it looks like a private bucket.
            return Ok(verdict(who != Who::Anonymous));
        };
        let owner = Who::User(&bucket.owner) == who;
        let Some(action) = ask.action else {
            return Ok(verdict(owner));
        };
        if owner && action.manages_policy() {
            return Ok(Decision::Allow);
        }
        match self.verdict(&bucket, who, action, ask.target, ask.source_ip) {
            Verdict::Deny => return Ok(Decision::Deny),
            _ if owner => return Ok(Decision::Allow),
            Verdict::Allow => return Ok(Decision::Allow),
            Verdict::Silent => {}
        }
        if let Some(p) = action.bucket_permission() {
            return Ok(verdict(acl::permits(&bucket.grants, who, p)));
        }
        let (Some(permission), Target::Key(_)) = (action.object_permission(), ask.target) else {
            return Ok(Decision::Deny);
        };
        let bucket_read = acl::permits(&bucket.grants, who, Permission::Read);
        // A missing key is told (404) only to whoever may list.
        let missing_told = bucket_read
            || self.verdict(
                &bucket,
                who,
                Action::ListBucket,
                Target::Bucket,
                ask.source_ip,
            ) == Verdict::Allow;
        Ok(Decision::ByObject(ObjectRule {
            caller: match who {
                Who::User(id) => Some(id.to_string()),
                Who::Anonymous => None,
            },
            permission,
            bucket_read,
            missing_told,
        }))
    }

    /// [`Guard::allows`], as the answer a request gets.
    pub async fn check(&self, ask: &Ask<'_>) -> Result<(), ApiError> {
        match self.allows(ask).await? {
            true => Ok(()),
            false => Err(ApiError::AccessDenied),
        }
    }

    fn verdict(
        &self,
        bucket: &BucketAccess,
        who: Who<'_>,
        action: Action,
        target: Target<'_>,
        source_ip: Option<IpAddr>,
    ) -> Verdict {
        match &bucket.policy {
            Some(p) => p.evaluate(&policy::Request {
                who,
                action,
                target,
                source_ip,
            }),
            None => Verdict::Silent,
        }
    }
}
