//! What a browser form upload (S3 POST Object) asks of the S3 layer: its
//! policy, the base64 JSON document `{"expiration": ..., "conditions":
//! [...]}` the form carries and its signature covers, parsed into
//! [`Policy`] and checked against the form's fields; and the answer it
//! wants ([`SuccessAction`]), together a [`FormUpload`].
//!
//! The rules are S3's (the "Creating a POST policy" page of the S3 API
//! reference, and the answers S3 gives, as quoted in SDK and S3-clone
//! issue threads):
//! - a condition is `{"field": "value"}` (exact match),
//!   `["eq", "$field", "value"]`, `["starts-with", "$field", "prefix"]`
//!   (an empty prefix allows anything) or
//!   `["content-length-range", min, max]`; field names are compared
//!   case-insensitively;
//! - `bucket` is the bucket the form is posted to, whether or not the form
//!   has a `bucket` field; `key` is checked after `${filename}` was
//!   replaced (as MinIO does; a `starts-with` prefix before the
//!   placeholder, which is what SDKs generate, holds either way);
//! - every field except `policy`, the signature, `file` and `x-ignore-*`
//!   must be named by a condition ("Extra input fields");
//! - a refusal is 403 AccessDenied "Invalid according to Policy: ...",
//!   and a document that does not parse is 400 InvalidPolicyDocument.

use crate::http::error::ApiError;
use base64::Engine;
use serde_json::Value;
use std::time::SystemTime;

/// Fields a policy need not name: the policy itself, the signatures
/// (SigV4 and SigV2), the file, and the temporary-credential token, which
/// this server does not use.
const EXEMPT_FIELDS: &[&str] = &[
    "policy",
    "x-amz-signature",
    "signature",
    "awsaccesskeyid",
    "file",
    "x-amz-security-token",
];

/// One condition of a policy; field names as written, without `$`
/// (compared case-insensitively, quoted as written in refusals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The field's value is exactly this.
    Eq { field: String, value: String },
    /// The field's value starts with this (empty: anything).
    StartsWith { field: String, prefix: String },
    /// The file's size in bytes is within `min..=max`.
    ContentLengthRange { min: u64, max: u64 },
}

impl Condition {
    /// The condition as S3 quotes it in its refusal.
    fn quoted(&self) -> String {
        match self {
            Condition::Eq { field, value } => format!("[\"eq\", \"${field}\", \"{value}\"]"),
            Condition::StartsWith { field, prefix } => {
                format!("[\"starts-with\", \"${field}\", \"{prefix}\"]")
            }
            Condition::ContentLengthRange { min, max } => {
                format!("[\"content-length-range\", {min}, {max}]")
            }
        }
    }
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// When the policy stops allowing uploads.
    pub expiration: SystemTime,
    /// Its conditions, in order.
    pub conditions: Vec<Condition>,
}

/// The file sizes a policy allows (`content-length-range`), enforced while
/// the file streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRange {
    /// The smallest size allowed.
    pub min: u64,
    /// The largest size allowed.
    pub max: u64,
}

impl SizeRange {
    /// No bound.
    pub const ANY: SizeRange = SizeRange {
        min: 0,
        max: u64::MAX,
    };
}

/// The answer a form asks for once its file is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuccessAction {
    /// `success_action_redirect` (or the older `redirect`): 303 to this
    /// URL with `bucket`, `key` and `etag` appended.
    Redirect(String),
    /// `success_action_status`: 200 (empty), 201 (a `PostResponse`
    /// document) or 204 (empty, the default).
    Status(u16),
}

impl SuccessAction {
    /// Reads the two fields as S3 does: a redirect that is not an
    /// http(s) URL is ignored, and so is a status other than 200, 201 or
    /// 204 (204 is answered).
    pub fn from_fields(redirect: Option<&str>, status: Option<&str>) -> SuccessAction {
        if let Some(url) = redirect.map(str::trim).filter(|u| {
            let lower = u.to_ascii_lowercase();
            (lower.starts_with("http://") || lower.starts_with("https://"))
                && u.parse::<http::Uri>().is_ok()
        }) {
            return SuccessAction::Redirect(url.to_string());
        }
        match status.map(str::trim) {
            Some("200") => SuccessAction::Status(200),
            Some("201") => SuccessAction::Status(201),
            _ => SuccessAction::Status(204),
        }
    }
}

/// A form upload as the S3 write path runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormUpload {
    /// The file sizes the policy allows.
    pub sizes: SizeRange,
    /// The answer once stored.
    pub success: SuccessAction,
}

fn invalid(why: impl Into<String>) -> ApiError {
    ApiError::InvalidPolicyDocument(why.into())
}

impl Policy {
    /// Decodes the form's `policy` field.
    pub fn parse(b64: &str) -> Result<Policy, ApiError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|_| invalid("the policy is not base64."))?;
        let doc: Value =
            serde_json::from_slice(&raw).map_err(|_| invalid("the policy is not JSON."))?;
        let expiration = doc
            .get("expiration")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("Policy missing expiration."))?;
        let expiration = chrono::DateTime::parse_from_rfc3339(expiration)
            .map_err(|_| invalid(format!("Invalid 'expiration' value: '{expiration}'")))?;
        let expiration = SystemTime::from(expiration.with_timezone(&chrono::Utc));
        let list = doc
            .get("conditions")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid("Policy missing conditions."))?;
        let mut conditions = Vec::new();
        for c in list {
            parse_condition(c, &mut conditions)?;
        }
        Ok(Policy {
            expiration,
            conditions,
        })
    }

    /// Checks the form against the policy at `now`. `fields` are the
    /// form's (name lower-cased, value), `key` already expanded; `bucket`
    /// is the bucket posted to. Answers the file sizes allowed.
    pub fn check(
        &self,
        bucket: &str,
        fields: &[(String, String)],
        now: SystemTime,
    ) -> Result<SizeRange, ApiError> {
        if now > self.expiration {
            return Err(ApiError::PolicyRefused("Policy expired.".into()));
        }
        let value = |name: &str| -> Option<&str> {
            if name == "bucket" {
                return Some(bucket);
            }
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let mut sizes = SizeRange::ANY;
        for c in &self.conditions {
            let holds = match c {
                Condition::Eq { field, value: want } => {
                    value(&field.to_ascii_lowercase()) == Some(want.as_str())
                }
                // A missing field starts with the empty prefix only.
                Condition::StartsWith { field, prefix } => value(&field.to_ascii_lowercase())
                    .unwrap_or("")
                    .starts_with(prefix.as_str()),
                Condition::ContentLengthRange { min, max } => {
                    sizes.min = sizes.min.max(*min);
                    sizes.max = sizes.max.min(*max);
                    true
                }
            };
            if !holds {
                return Err(ApiError::PolicyRefused(format!(
                    "Policy Condition failed: {}",
                    c.quoted()
                )));
            }
        }
        let covered = |name: &str| {
            self.conditions.iter().any(|c| match c {
                Condition::Eq { field, .. } | Condition::StartsWith { field, .. } => {
                    field.eq_ignore_ascii_case(name)
                }
                Condition::ContentLengthRange { .. } => false,
            })
        };
        let extra: Vec<&str> = fields
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| !EXEMPT_FIELDS.contains(n) && !n.starts_with("x-ignore-") && !covered(n))
            .collect();
        if !extra.is_empty() {
            return Err(ApiError::PolicyRefused(format!(
                "Extra input fields: {}",
                extra.join(", ")
            )));
        }
        Ok(sizes)
    }
}

/// A condition's value: text, or a number written as JSON (some SDKs send
/// `{"success_action_status": 201}`).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A size bound: a JSON integer or an integer as a string.
fn size(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn parse_condition(c: &Value, out: &mut Vec<Condition>) -> Result<(), ApiError> {
    let bad = || invalid(format!("Invalid Policy condition: {c}"));
    match c {
        Value::Object(map) => {
            for (field, v) in map {
                out.push(Condition::Eq {
                    field: field.trim_start_matches('$').to_string(),
                    value: text(v).ok_or_else(bad)?,
                });
            }
            Ok(())
        }
        Value::Array(items) => {
            let op = items
                .first()
                .and_then(Value::as_str)
                .ok_or_else(bad)?
                .to_ascii_lowercase();
            if op == "content-length-range" {
                let [_, min, max] = items.as_slice() else {
                    return Err(bad());
                };
                let (min, max) = (size(min).ok_or_else(bad)?, size(max).ok_or_else(bad)?);
                out.push(Condition::ContentLengthRange { min, max });
                return Ok(());
            }
            let [_, field, v] = items.as_slice() else {
                return Err(bad());
            };
            let field = field
                .as_str()
                .and_then(|f| f.strip_prefix('$'))
                .ok_or_else(bad)?
                .to_string();
            let v = text(v).ok_or_else(bad)?;
            out.push(match op.as_str() {
                "eq" => Condition::Eq { field, value: v },
                "starts-with" => Condition::StartsWith { field, prefix: v },
                _ => return Err(bad()),
            });
            Ok(())
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::http::error::ErrorCode;
    use std::time::Duration;

    fn b64(json: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect()
    }

    const DOC: &str = r#"{"expiration": "2030-01-01T00:00:00.000Z", "conditions": [
        {"bucket": "photos"},
        ["starts-with", "$key", "user/"],
        {"acl": "public-read"},
        ["starts-with", "$Content-Type", ""],
        ["eq", "$X-Amz-Meta-Tag", "a"],
        ["content-length-range", 10, "100"],
        {"success_action_status": 201}
    ]}"#;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn ok_form() -> Vec<(&'static str, &'static str)> {
        vec![
            ("key", "user/cat.jpg"),
            ("acl", "public-read"),
            ("Content-Type", "image/jpeg"),
            ("x-amz-meta-tag", "a"),
            ("success_action_status", "201"),
            ("policy", "…"),
            ("X-Amz-Signature", "…"),
            ("x-ignore-me", "1"),
        ]
    }

    #[test]
    fn success_actions() {
        use SuccessAction::*;
        let s = SuccessAction::from_fields;
        assert_eq!(s(None, None), Status(204));
        assert_eq!(s(None, Some("201")), Status(201));
        assert_eq!(s(None, Some("200")), Status(200));
        assert_eq!(s(None, Some("302")), Status(204));
        assert_eq!(
            s(Some("https://a.example/ok"), Some("201")),
            Redirect("https://a.example/ok".into())
        );
        assert_eq!(s(Some("javascript:alert(1)"), None), Status(204));
        assert_eq!(s(Some(""), Some("200")), Status(200));
    }

    #[test]
    fn parses_every_condition_form() {
        let p = Policy::parse(&b64(DOC)).unwrap();
        assert_eq!(p.conditions.len(), 7);
        assert_eq!(
            p.conditions[3],
            Condition::StartsWith {
                field: "Content-Type".into(),
                prefix: "".into()
            }
        );
        assert_eq!(
            p.conditions[5],
            Condition::ContentLengthRange { min: 10, max: 100 }
        );
        assert_eq!(
            p.conditions[6],
            Condition::Eq {
                field: "success_action_status".into(),
                value: "201".into()
            }
        );
        for bad in [
            "not base64!",
            &b64("{"),
            &b64(r#"{"conditions": []}"#),
            &b64(r#"{"expiration": "soon", "conditions": []}"#),
            &b64(r#"{"expiration": "2030-01-01T00:00:00Z"}"#),
            &b64(r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["in", "$key", "a"]]}"#),
            &b64(r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "key", "a"]]}"#),
            &b64(
                r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 1]]}"#,
            ),
            &b64(r#"{"expiration": "2030-01-01T00:00:00Z", "conditions": [7]}"#),
        ] {
            let e = Policy::parse(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidPolicyDocument, "{bad}");
        }
    }

    #[test]
    fn a_matching_form_passes_with_its_size_range() {
        let p = Policy::parse(&b64(DOC)).unwrap();
        let sizes = p.check("photos", &fields(&ok_form()), now()).unwrap();
        assert_eq!(sizes, SizeRange { min: 10, max: 100 });
    }

    #[test]
    fn refusals_say_why() {
        let p = Policy::parse(&b64(DOC)).unwrap();
        let refused = |bucket: &str, form: Vec<(&str, &str)>, at: SystemTime| match p
            .check(bucket, &fields(&form), at)
            .unwrap_err()
        {
            ApiError::PolicyRefused(why) => why,
            other => panic!("{other:?}"),
        };
        let late = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
        assert_eq!(refused("photos", ok_form(), late), "Policy expired.");
        assert_eq!(
            refused("other", ok_form(), now()),
            r#"Policy Condition failed: ["eq", "$bucket", "photos"]"#
        );
        let mut form = ok_form();
        form[0].1 = "admin/cat.jpg";
        assert_eq!(
            refused("photos", form, now()),
            r#"Policy Condition failed: ["starts-with", "$key", "user/"]"#
        );
        let mut form = ok_form();
        form.remove(1);
        assert_eq!(
            refused("photos", form, now()),
            r#"Policy Condition failed: ["eq", "$acl", "public-read"]"#
        );
        let mut form = ok_form();
        form.push(("x-amz-meta-other", "x"));
        form.push(("Cache-Control", "no-cache"));
        assert_eq!(
            refused("photos", form, now()),
            "Extra input fields: x-amz-meta-other, cache-control"
        );
    }
}
