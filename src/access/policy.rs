//! Bucket policies: the JSON documents of `PutBucketPolicy`, read into a
//! typed [`Policy`] when they are put and evaluated for every request a
//! bucket's owner does not make.
//!
//! The subset people write is supported, and everything else is refused
//! with `MalformedPolicy` when the policy is put, never ignored later:
//! - `Effect` `Allow` or `Deny`;
//! - `Principal` `"*"`, `{"AWS": "*"}`, user ARNs (`arn:aws:iam::…:user/NAME`)
//!   or `{"CanonicalUser": ID}` of users that exist;
//! - `Action` the S3 actions of [`Action`], with `*` and `?` wildcards;
//! - `Resource` this bucket (`arn:aws:s3:::bucket`) or its keys
//!   (`arn:aws:s3:::bucket/prefix*`);
//! - `Condition` `IpAddress` / `NotIpAddress` on `aws:SourceIp`, and no other.
//!
//! An explicit `Deny` wins over any `Allow`.

use super::{AccessError, Action, Who};
use serde_json::Value;
use std::net::IpAddr;

/// The most a policy document may weigh, as on AWS.
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

/// A checked bucket policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    deny: bool,
    principals: Principals,
    /// Lower-cased action patterns (`s3:get*`).
    actions: Vec<String>,
    /// Resource ARN patterns.
    resources: Vec<String>,
    source_ip: Option<IpCondition>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Principals {
    Anyone,
    /// Canonical ids.
    Users(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct IpCondition {
    /// `NotIpAddress`.
    negate: bool,
    nets: Vec<IpNet>,
}

/// An address block (`10.0.0.0/8`, `2001:db8::/32`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    fn parse(s: &str) -> Option<IpNet> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client over an IPv6 socket reads as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let (a, b, bits) = match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || (a >> shift) == (b >> shift)
    }
}

/// What a policy says of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A statement denies it.
    Deny,
    /// A statement allows it and none denies it.
    Allow,
    /// No statement applies.
    Silent,
}

/// Where a request acts, as policies name it.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// The bucket itself.
    Bucket,
    /// One key.
    Key(&'a str),
    /// Keys not known in advance (DeleteObjects): allowed only by a
    /// statement covering every key, denied by one covering any.
    AnyKey,
}

/// The facts of a request that a policy can test.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub who: Who<'a>,
    pub action: Action,
    pub target: Target<'a>,
    pub source_ip: Option<IpAddr>,
}

impl Policy {
    /// Reads and checks a policy for `bucket`. `user_id` resolves a user
    /// name to its canonical id and `known_id` says whether a canonical id
    /// is a user's; principals naming nobody are refused, as AWS does.
    pub fn parse(
        doc: &[u8],
        bucket: &str,
        user_id: &dyn Fn(&str) -> Option<String>,
        known_id: &dyn Fn(&str) -> bool,
    ) -> Result<Policy, AccessError> {
        if doc.len() > MAX_POLICY_BYTES {
            return Err(AccessError::PolicyTooLarge);
        }
        let bad = |m: &str| AccessError::MalformedPolicy(m.to_string());
        let root: Value =
            serde_json::from_slice(doc).map_err(|_| bad("Policies must be valid JSON"))?;
        let root = root
            .as_object()
            .ok_or_else(|| bad("Policies must be a JSON object"))?;
        for key in root.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(bad(&format!("Unknown field {key}")));
            }
        }
        match root.get("Version").map(|v| v.as_str()) {
            None | Some(Some("2012-10-17" | "2008-10-17")) => {}
            _ => return Err(bad("Policy has an invalid Version")),
        }
        let list = match root.get("Statement") {
            Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
            Some(o @ Value::Object(_)) => vec![o],
            _ => return Err(bad("Missing required field Statement")),
        };
        if list.is_empty() {
            return Err(bad("Could not parse the policy: Statement is empty!"));
        }
        let statements = list
            .into_iter()
            .map(|s| statement(s, bucket, user_id, known_id))
            .collect::<Result<_, _>>()?;
        Ok(Policy { statements })
    }

    /// What the policy says of `req`.
    pub fn evaluate(&self, req: &Request<'_>) -> Verdict {
        let mut verdict = Verdict::Silent;
        for s in &self.statements {
            if s.applies(req) {
                if s.deny {
                    return Verdict::Deny;
                }
                verdict = Verdict::Allow;
            }
        }
        verdict
    }
}

impl Statement {
    fn applies(&self, req: &Request<'_>) -> bool {
        let principal = match (&self.principals, req.who) {
            (Principals::Anyone, _) => true,
            (Principals::Users(ids), Who::User(id)) => ids.iter().any(|i| i == id),
            (Principals::Users(_), Who::Anonymous) => false,
        };
        let name = req.action.policy_name().to_ascii_lowercase();
        let action = self.actions.iter().any(|p| glob(p, &name));
        let ip = match (&self.source_ip, req.source_ip) {
            (None, _) => true,
            (Some(c), Some(ip)) => c.nets.iter().any(|n| n.contains(ip)) != c.negate,
            // No address known (not over TCP): only a negated block holds.
            (Some(c), None) => c.negate,
        };
        principal && action && ip && self.covers(req.target)
    }

    fn covers(&self, target: Target<'_>) -> bool {
        self.resources.iter().any(|pattern| {
            let (bucket_part, key_pattern) = match pattern.split_once('/') {
                Some((b, k)) => (b, Some(k)),
                None => (pattern.as_str(), None),
            };
            match (target, key_pattern) {
                (Target::Bucket, None) => true,
                (Target::Bucket, Some(_)) => false,
                (Target::Key(key), Some(k)) => glob(k, key),
                (Target::Key(_) | Target::AnyKey, None) => {
                    // `arn:aws:s3:::bucket*` covers its keys too.
                    bucket_part.ends_with('*')
                }
                // Allow needs every key; Deny needs any. A statement
                // `bucket/*` covers every key; `bucket/p*` only some.
                (Target::AnyKey, Some(k)) => {
                    if self.deny {
                        true
                    } else {
                        k == "*"
                    }
                }
            }
        })
    }
}

/// `*` matches any run of characters, `?` any one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Iterative matching with one backtrack point: linear in practice,
    // never exponential.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A string or an array of strings.
fn strings<'v>(v: &'v Value, field: &str) -> Result<Vec<&'v str>, AccessError> {
    let bad = || AccessError::MalformedPolicy(format!("{field} must be a string or a list"));
    match v {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(a) if !a.is_empty() => a.iter().map(|x| x.as_str().ok_or_else(bad)).collect(),
        _ => Err(bad()),
    }
}

fn statement(
    v: &Value,
    bucket: &str,
    user_id: &dyn Fn(&str) -> Option<String>,
    known_id: &dyn Fn(&str) -> bool,
) -> Result<Statement, AccessError> {
    let bad = |m: String| AccessError::MalformedPolicy(m);
    let s = v
        .as_object()
        .ok_or_else(|| bad("A Statement must be a JSON object".into()))?;
    for key in s.keys() {
        match key.as_str() {
            "Sid" | "Effect" | "Principal" | "Action" | "Resource" | "Condition" => {}
            "NotPrincipal" | "NotAction" | "NotResource" => {
                return Err(bad(format!("{key} is not supported by imgbucket")))
            }
            other => return Err(bad(format!("Unknown field {other}"))),
        }
    }
    let deny = match s.get("Effect").and_then(Value::as_str) {
        Some("Allow") => false,
        Some("Deny") => true,
        _ => return Err(bad("Invalid effect: Effect must be Allow or Deny".into())),
    };
    let principals = principals(
        s.get("Principal")
            .ok_or_else(|| bad("Missing required field Principal".into()))?,
        user_id,
        known_id,
    )?;
    let mut actions = Vec::new();
    for a in strings(
        s.get("Action")
            .ok_or_else(|| bad("Missing required field Action".into()))?,
        "Action",
    )? {
        let a = a.to_ascii_lowercase();
        let known = Action::ALL
            .iter()
            .any(|x| glob(&a, &x.policy_name().to_ascii_lowercase()));
        if a != "*" && !a.starts_with("s3:") || !known {
            return Err(bad(format!(
                "Policy has invalid action: {a} (imgbucket evaluates these: {})",
                Action::ALL
                    .iter()
                    .map(|x| x.policy_name())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        actions.push(a);
    }
    let mut resources = Vec::new();
    for r in strings(
        s.get("Resource")
            .ok_or_else(|| bad("Missing required field Resource".into()))?,
        "Resource",
    )? {
        let rest = r
            .strip_prefix("arn:aws:s3:::")
            .ok_or_else(|| bad(format!("Policy has invalid resource: {r}")))?;
        let named = rest.split('/').next().unwrap_or("");
        if named != bucket && named != format!("{bucket}*") {
            return Err(bad(format!(
                "Policy has invalid resource: {r} (not in bucket {bucket})"
            )));
        }
        resources.push(rest.to_string());
    }
    let source_ip = match s.get("Condition") {
        None => None,
        Some(c) => Some(condition(c)?),
    };
    Ok(Statement {
        deny,
        principals,
        actions,
        resources,
        source_ip,
    })
}

fn principals(
    v: &Value,
    user_id: &dyn Fn(&str) -> Option<String>,
    known_id: &dyn Fn(&str) -> bool,
) -> Result<Principals, AccessError> {
    let invalid =
        |p: &str| AccessError::MalformedPolicy(format!("Invalid principal in policy: {p}"));
    let obj = match v {
        Value::String(s) if s == "*" => return Ok(Principals::Anyone),
        Value::Object(o) => o,
        other => return Err(invalid(&other.to_string())),
    };
    let mut ids = Vec::new();
    for (kind, value) in obj {
        for p in strings(value, "Principal")? {
            match kind.as_str() {
                "AWS" if p == "*" => return Ok(Principals::Anyone),
                "AWS" => {
                    // arn:aws:iam::<account>:user/<name>; the account
                    // part is not checked (one store, one account).
                    let name = p
                        .strip_prefix("arn:aws:iam::")
                        .and_then(|r| r.split_once(":user/"))
                        .map(|(_, name)| name)
                        .ok_or_else(|| invalid(p))?;
                    ids.push(user_id(name).ok_or_else(|| invalid(p))?);
                }
                "CanonicalUser" if known_id(p) => ids.push(p.to_string()),
                _ => return Err(invalid(p)),
            }
        }
    }
    Ok(Principals::Users(ids))
}

fn condition(v: &Value) -> Result<IpCondition, AccessError> {
    let bad = |m: String| AccessError::MalformedPolicy(m);
    let obj = v
        .as_object()
        .ok_or_else(|| bad("Condition must be a JSON object".into()))?;
    let mut out: Option<IpCondition> = None;
    for (op, body) in obj {
        let negate = match op.as_str() {
            "IpAddress" => false,
            "NotIpAddress" => true,
            other => {
                return Err(bad(format!(
                    "The condition operator {other} is not supported by imgbucket \
                     (only IpAddress and NotIpAddress on aws:SourceIp)"
                )))
            }
        };
        let body = body
            .as_object()
            .ok_or_else(|| bad(format!("{op} must be a JSON object")))?;
        for (key, value) in body {
            if !key.eq_ignore_ascii_case("aws:SourceIp") {
                return Err(bad(format!(
                    "The condition key {key} is not supported by imgbucket (only aws:SourceIp)"
                )));
            }
            let nets = strings(value, "aws:SourceIp")?
                .into_iter()
                .map(|s| IpNet::parse(s).ok_or_else(|| bad(format!("Invalid IP block {s}"))))
                .collect::<Result<Vec<_>, _>>()?;
            if out.is_some() {
                return Err(bad(
                    "imgbucket supports one aws:SourceIp condition per statement".into(),
                ));
            }
            out = Some(IpCondition { negate, nets });
        }
    }
    out.ok_or_else(|| bad("An empty Condition".into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(doc: &str) -> Result<Policy, AccessError> {
        Policy::parse(
            doc.as_bytes(),
            "photos",
            &|name| (name == "alice" || name == "bob").then(|| format!("id-{name}")),
            &|id| id == "id-alice" || id == "id-bob",
        )
    }

    fn req<'a>(who: Who<'a>, action: Action, target: Target<'a>) -> Request<'a> {
        Request {
            who,
            action,
            target,
            source_ip: Some("10.1.2.3".parse().unwrap()),
        }
    }

    #[test]
    fn a_public_prefix_and_a_deny_that_wins() {
        let p = parse(
            r#"{"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/public/*"},
              {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123:user/bob"},"Action":"s3:*","Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"]}
            ]}"#,
        )
        .unwrap();
        let get = |who, key| p.evaluate(&req(who, Action::GetObject, Target::Key(key)));
        assert_eq!(get(Who::Anonymous, "public/a.jpg"), Verdict::Allow);
        assert_eq!(get(Who::Anonymous, "private/a.jpg"), Verdict::Silent);
        assert_eq!(get(Who::User("id-alice"), "public/a.jpg"), Verdict::Allow);
        assert_eq!(get(Who::User("id-bob"), "public/a.jpg"), Verdict::Deny);
        assert_eq!(
            p.evaluate(&req(
                Who::User("id-bob"),
                Action::ListBucket,
                Target::Bucket
            )),
            Verdict::Deny
        );
        assert_eq!(
            p.evaluate(&req(Who::Anonymous, Action::ListBucket, Target::Bucket)),
            Verdict::Silent
        );
        // Some keys only: not every key of a DeleteObjects.
        assert_eq!(
            p.evaluate(&req(Who::Anonymous, Action::GetObject, Target::AnyKey)),
            Verdict::Silent
        );
    }

    #[test]
    fn wildcards_and_source_ip() {
        let p = parse(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:Get*","s3:ListBucket"],
               "Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"],
               "Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}}}"#,
        )
        .unwrap();
        let mut r = req(Who::Anonymous, Action::GetObjectAcl, Target::Key("k"));
        assert_eq!(p.evaluate(&r), Verdict::Allow);
        r.source_ip = Some("192.168.0.1".parse().unwrap());
        assert_eq!(p.evaluate(&r), Verdict::Silent);
        r.source_ip = Some("::ffff:10.9.9.9".parse().unwrap());
        assert_eq!(p.evaluate(&r), Verdict::Allow);
        r.source_ip = Some("2001:db8::1".parse().unwrap());
        assert_eq!(p.evaluate(&r), Verdict::Allow);
        r.action = Action::PutObject;
        assert_eq!(p.evaluate(&r), Verdict::Silent);
        let all = parse(
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::photos/*"}}"#,
        )
        .unwrap();
        assert_eq!(
            all.evaluate(&req(Who::Anonymous, Action::DeleteObject, Target::AnyKey)),
            Verdict::Allow
        );
    }

    #[test]
    fn what_cannot_be_evaluated_is_refused() {
        for doc in [
            "not json",
            "[]",
            r#"{"Statement":[]}"#,
            r#"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}}"#,
            r#"{"Statement":{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObjectRetention","Resource":"arn:aws:s3:::photos/*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ec2:*","Resource":"arn:aws:s3:::photos/*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::1:user/carol"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}}"#,
            r#"{"Statement":{"Effect":"Allow","NotPrincipal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"StringLike":{"aws:Referer":"x"}}}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::photos/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/99"}}}}"#,
        ] {
            assert!(
                matches!(parse(doc), Err(AccessError::MalformedPolicy(_))),
                "{doc}"
            );
        }
        let big = format!(r#"{{"Id":"{}"}}"#, "x".repeat(MAX_POLICY_BYTES));
        assert!(matches!(parse(&big), Err(AccessError::PolicyTooLarge)));
    }

    #[test]
    fn glob_matches_like_aws() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(glob("*", ""));
        assert!(glob("public/*", "public/"));
        assert!(!glob("public/*", "publi"));
        assert!(glob("*.jpg", "x/y.jpg"));
    }
}
