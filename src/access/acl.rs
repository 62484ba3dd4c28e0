//! Access-control lists: S3's grants of five permissions to users and
//! groups, read from the three ways a client states them (a canned ACL in
//! `x-amz-acl`, `x-amz-grant-*` headers, an `AccessControlPolicy`
//! document), and the one question they answer: does this list give this
//! caller this permission?
//!
//! The grant types themselves are storage's (`storage::Grant`): buckets
//! keep their list as a settings document, objects in their attributes.

use super::AccessError;
use crate::http::xml::{self, Element};
use http::HeaderMap;
use storage::{Grant, Grantee, Permission};

/// The group of everyone, signed or not.
pub const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
/// The group of every signed caller.
pub const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
/// S3's log-delivery group: accepted in grants, never a caller here.
pub const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

/// The most grants one list may hold, as on AWS.
const MAX_GRANTS: usize = 100;

/// The caller as ACLs see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who<'a> {
    Anonymous,
    /// A signed caller, by canonical id.
    User(&'a str),
}

/// Whether `grants` give `who` the permission `wanted` (FULL_CONTROL
/// gives all five).
pub fn permits(grants: &[Grant], who: Who<'_>, wanted: Permission) -> bool {
    grants.iter().any(|g| {
        (g.permission == wanted || g.permission == Permission::FullControl)
            && match (&g.grantee, who) {
                (Grantee::AllUsers, _) => true,
                (Grantee::AuthenticatedUsers, Who::User(_)) => true,
                (Grantee::User(id), Who::User(caller)) => id == caller,
                _ => false,
            }
    })
}

/// S3's canned ACLs (`aws-exec-read` grants to an AWS service that does
/// not exist here: refused as not implemented).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canned {
    Private,
    PublicRead,
    PublicReadWrite,
    AuthenticatedRead,
    BucketOwnerRead,
    BucketOwnerFullControl,
    LogDeliveryWrite,
}

impl Canned {
    /// Reads an `x-amz-acl` value.
    pub fn parse(value: &str) -> Result<Canned, AccessError> {
        Ok(match value.trim() {
            "private" => Canned::Private,
            "public-read" => Canned::PublicRead,
            "public-read-write" => Canned::PublicReadWrite,
            "authenticated-read" => Canned::AuthenticatedRead,
            "bucket-owner-read" => Canned::BucketOwnerRead,
            "bucket-owner-full-control" => Canned::BucketOwnerFullControl,
            "log-delivery-write" => Canned::LogDeliveryWrite,
            "aws-exec-read" => {
                return Err(AccessError::NotImplemented(
                    "The canned ACL aws-exec-read (it grants to Amazon EC2)".into(),
                ))
            }
            other => return Err(AccessError::InvalidCannedAcl(other.to_string())),
        })
    }

    /// The grants of this ACL on a resource owned by `owner`, in a bucket
    /// owned by `bucket_owner` (the two differ for an object another user
    /// wrote). The `bucket-owner-*` ACLs add nothing on a bucket, as on AWS.
    pub fn grants(self, owner: &str, bucket_owner: &str) -> Vec<Grant> {
        let grant = |grantee, permission| Grant {
            grantee,
            permission,
        };
        let mut grants = vec![grant(Grantee::User(owner.into()), Permission::FullControl)];
        match self {
            Canned::Private => {}
            Canned::PublicRead => grants.push(grant(Grantee::AllUsers, Permission::Read)),
            Canned::PublicReadWrite => {
                grants.push(grant(Grantee::AllUsers, Permission::Read));
                grants.push(grant(Grantee::AllUsers, Permission::Write));
            }
            Canned::AuthenticatedRead => {
                grants.push(grant(Grantee::AuthenticatedUsers, Permission::Read))
            }
            Canned::BucketOwnerRead if owner != bucket_owner => {
                grants.push(grant(Grantee::User(bucket_owner.into()), Permission::Read))
            }
            Canned::BucketOwnerFullControl if owner != bucket_owner => grants.push(grant(
                Grantee::User(bucket_owner.into()),
                Permission::FullControl,
            )),
            Canned::BucketOwnerRead | Canned::BucketOwnerFullControl => {}
            Canned::LogDeliveryWrite => {
                grants.push(grant(Grantee::LogDelivery, Permission::Write));
                grants.push(grant(Grantee::LogDelivery, Permission::ReadAcp));
            }
        }
        grants
    }
}

/// The grant headers and the permission each gives.
const GRANT_HEADERS: [(&str, Permission); 5] = [
    ("x-amz-grant-read", Permission::Read),
    ("x-amz-grant-write", Permission::Write),
    ("x-amz-grant-read-acp", Permission::ReadAcp),
    ("x-amz-grant-write-acp", Permission::WriteAcp),
    ("x-amz-grant-full-control", Permission::FullControl),
];

/// What a request's headers say of the ACL to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderAcl {
    /// Neither `x-amz-acl` nor a grant header.
    Absent,
    Canned(Canned),
    /// `x-amz-grant-*`: exactly these grants (the owner gets nothing
    /// implicit, as on AWS).
    Grants(Vec<Grant>),
}

impl HeaderAcl {
    /// Reads `x-amz-acl` and the `x-amz-grant-*` headers; both at once is
    /// refused, as AWS does.
    pub fn from_headers(headers: &HeaderMap) -> Result<HeaderAcl, AccessError> {
        let mut grants = Vec::new();
        for (name, permission) in GRANT_HEADERS {
            for value in headers.get_all(name) {
                let value = value
                    .to_str()
                    .map_err(|_| AccessError::InvalidGrant(format!("{name} is not ASCII")))?;
                for grantee in parse_grantee_list(value)? {
                    grants.push(Grant {
                        grantee,
                        permission,
                    });
                }
            }
        }
        let canned = headers
            .get("x-amz-acl")
            .map(|v| Canned::parse(v.to_str().unwrap_or("")))
            .transpose()?;
        match (canned, grants.is_empty()) {
            (Some(_), false) => Err(AccessError::CannedAndGrants),
            (Some(c), true) => Ok(HeaderAcl::Canned(c)),
            (None, false) if grants.len() > MAX_GRANTS => Err(AccessError::MalformedAcl(format!(
                "more than {MAX_GRANTS} grants"
            ))),
            (None, false) => Ok(HeaderAcl::Grants(grants)),
            (None, true) => Ok(HeaderAcl::Absent),
        }
    }

    /// The grants to store for a resource owned by `owner` in a bucket
    /// owned by `bucket_owner`; `None` when the headers set nothing.
    pub fn grants(self, owner: &str, bucket_owner: &str) -> Option<Vec<Grant>> {
        match self {
            HeaderAcl::Absent => None,
            HeaderAcl::Canned(c) => Some(c.grants(owner, bucket_owner)),
            HeaderAcl::Grants(g) => Some(g),
        }
    }
}

/// `id="…", uri="…", emailAddress="…"`: one grant header's grantees.
fn parse_grantee_list(value: &str) -> Result<Vec<Grantee>, AccessError> {
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (kind, v) = item
            .split_once('=')
            .ok_or_else(|| AccessError::InvalidGrant(format!("{item:?} is not kind=\"value\"")))?;
        let v = v.trim().trim_matches('"');
        out.push(match kind.trim().to_ascii_lowercase().as_str() {
            "id" => Grantee::User(v.to_string()),
            "uri" => group(v)?,
            "emailaddress" => return Err(AccessError::UnresolvableEmail(v.to_string())),
            other => {
                return Err(AccessError::InvalidGrant(format!(
                    "unknown grantee type {other:?}"
                )))
            }
        });
    }
    Ok(out)
}

/// A group grantee by its URI.
fn group(uri: &str) -> Result<Grantee, AccessError> {
    match uri {
        ALL_USERS => Ok(Grantee::AllUsers),
        AUTHENTICATED_USERS => Ok(Grantee::AuthenticatedUsers),
        LOG_DELIVERY => Ok(Grantee::LogDelivery),
        other => Err(AccessError::InvalidGrant(format!(
            "unknown group {other:?}"
        ))),
    }
}

/// The grants of an `AccessControlPolicy` document. Its `Owner` is not
/// read: an ACL cannot change who owns a resource.
pub fn parse_policy_document(doc: &[u8]) -> Result<Vec<Grant>, AccessError> {
    let root = xml::parse_root(doc, "AccessControlPolicy")
        .map_err(|e| AccessError::MalformedAcl(e.to_string()))?;
    let list = root
        .child("AccessControlList")
        .ok_or_else(|| AccessError::MalformedAcl("missing AccessControlList".into()))?;
    let mut grants = Vec::new();
    for grant in list.children_named("Grant") {
        let grantee = grant
            .child("Grantee")
            .ok_or_else(|| AccessError::MalformedAcl("a Grant without Grantee".into()))?;
        let permission = permission(grant.child_text("Permission").unwrap_or(""))?;
        grants.push(Grant {
            grantee: document_grantee(grantee)?,
            permission,
        });
    }
    if grants.len() > MAX_GRANTS {
        return Err(AccessError::MalformedAcl(format!(
            "more than {MAX_GRANTS} grants"
        )));
    }
    Ok(grants)
}

fn document_grantee(g: &Element) -> Result<Grantee, AccessError> {
    if let Some(id) = g.child_text("ID") {
        return Ok(Grantee::User(id.to_string()));
    }
    if let Some(uri) = g.child_text("URI") {
        return group(uri);
    }
    if let Some(email) = g.child_text("EmailAddress") {
        return Err(AccessError::UnresolvableEmail(email.to_string()));
    }
    Err(AccessError::MalformedAcl(
        "a Grantee without ID or URI".into(),
    ))
}

fn permission(name: &str) -> Result<Permission, AccessError> {
    Ok(match name {
        "READ" => Permission::Read,
        "WRITE" => Permission::Write,
        "READ_ACP" => Permission::ReadAcp,
        "WRITE_ACP" => Permission::WriteAcp,
        "FULL_CONTROL" => Permission::FullControl,
        other => {
            return Err(AccessError::MalformedAcl(format!(
                "unknown permission {other:?}"
            )))
        }
    })
}

/// A permission as S3 spells it.
pub fn permission_name(p: Permission) -> &'static str {
    match p {
        Permission::Read => "READ",
        Permission::Write => "WRITE",
        Permission::ReadAcp => "READ_ACP",
        Permission::WriteAcp => "WRITE_ACP",
        Permission::FullControl => "FULL_CONTROL",
    }
}

/// A group's URI; `None` for a user.
pub fn group_uri(g: &Grantee) -> Option<&'static str> {
    match g {
        Grantee::User(_) => None,
        Grantee::AllUsers => Some(ALL_USERS),
        Grantee::AuthenticatedUsers => Some(AUTHENTICATED_USERS),
        Grantee::LogDelivery => Some(LOG_DELIVERY),
    }
}

/// The canned ACL a list amounts to, as Alibaba OSS names it in one word:
/// `public-read-write`, `public-read` or `private`.
pub fn oss_word(grants: &[Grant]) -> &'static str {
    if permits(grants, Who::Anonymous, Permission::Write) {
        "public-read-write"
    } else if permits(grants, Who::Anonymous, Permission::Read) {
        "public-read"
    } else {
        "private"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn canned_acls_expand_as_aws_documents() {
        let g = Canned::PublicReadWrite.grants("o", "o");
        assert!(permits(&g, Who::Anonymous, Permission::Write));
        assert!(permits(&g, Who::User("x"), Permission::Read));
        assert!(!permits(&g, Who::User("x"), Permission::ReadAcp));
        assert!(permits(&g, Who::User("o"), Permission::WriteAcp));
        let g = Canned::AuthenticatedRead.grants("o", "o");
        assert!(!permits(&g, Who::Anonymous, Permission::Read));
        assert!(permits(&g, Who::User("x"), Permission::Read));
        let g = Canned::BucketOwnerRead.grants("writer", "owner");
        assert!(permits(&g, Who::User("owner"), Permission::Read));
        assert!(!permits(&g, Who::User("owner"), Permission::Write));
        let g = Canned::BucketOwnerFullControl.grants("writer", "owner");
        assert!(permits(&g, Who::User("owner"), Permission::WriteAcp));
        assert_eq!(Canned::BucketOwnerRead.grants("o", "o").len(), 1);
        assert!(matches!(
            Canned::parse("aws-exec-read"),
            Err(AccessError::NotImplemented(_))
        ));
        assert!(matches!(
            Canned::parse("publik"),
            Err(AccessError::InvalidCannedAcl(_))
        ));
    }

    #[test]
    fn grant_headers_name_users_and_groups() {
        let h = headers(&[
            (
                "x-amz-grant-read",
                &format!("uri=\"{ALL_USERS}\", id=\"abc\""),
            ),
            ("x-amz-grant-write-acp", "id=def"),
        ]);
        let HeaderAcl::Grants(g) = HeaderAcl::from_headers(&h).unwrap() else {
            panic!("grants expected");
        };
        assert_eq!(g.len(), 3);
        assert!(permits(&g, Who::Anonymous, Permission::Read));
        assert!(permits(&g, Who::User("def"), Permission::WriteAcp));
        assert!(!permits(&g, Who::User("abc"), Permission::Write));
        let both = headers(&[("x-amz-acl", "private"), ("x-amz-grant-read", "id=a")]);
        assert!(matches!(
            HeaderAcl::from_headers(&both),
            Err(AccessError::CannedAndGrants)
        ));
        let email = headers(&[("x-amz-grant-read", "emailAddress=\"a@b.c\"")]);
        assert!(matches!(
            HeaderAcl::from_headers(&email),
            Err(AccessError::UnresolvableEmail(_))
        ));
        assert_eq!(
            HeaderAcl::from_headers(&HeaderMap::new()).unwrap(),
            HeaderAcl::Absent
        );
    }

    #[test]
    fn policy_documents_give_their_grants() {
        let doc = format!(
            r#"<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList>
            <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>o</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>
            <Grant><Grantee xsi:type="Group"><URI>{AUTHENTICATED_USERS}</URI></Grantee><Permission>READ</Permission></Grant>
            </AccessControlList></AccessControlPolicy>"#
        );
        let g = parse_policy_document(doc.as_bytes()).unwrap();
        assert!(permits(&g, Who::User("o"), Permission::FullControl));
        assert!(permits(&g, Who::User("z"), Permission::Read));
        assert!(!permits(&g, Who::Anonymous, Permission::Read));
        assert_eq!(oss_word(&g), "private");
        let bad = br#"<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>o</ID></Grantee><Permission>ALL</Permission></Grant></AccessControlList></AccessControlPolicy>"#;
        assert!(matches!(
            parse_policy_document(bad),
            Err(AccessError::MalformedAcl(_))
        ));
        assert!(matches!(
            parse_policy_document(b"<AccessControlPolicy/>"),
            Err(AccessError::MalformedAcl(_))
        ));
    }
}
