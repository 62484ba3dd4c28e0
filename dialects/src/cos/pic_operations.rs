//! The `Pic-Operations` header of upload-time and in-cloud processing
//! (`docs/cos-dialect.md`, "Pic-Operations"): a JSON object with
//! `is_pic_info` and up to [`MAX_RULES`] rules, each naming an output
//! object (`fileid`, resolved by [`resolve_fileid`]) and the processing
//! that makes it.

use super::{processing, tag, ERRNO_MALFORMED};
use crate::error::{DialectError, ErrorKind, Result};
use crate::Directive;
use serde_json::Value;

/// Most rules in one `Pic-Operations` header (`docs/cos-dialect.md`,
/// "Pic-Operations").
pub const MAX_RULES: usize = 5;

/// A parsed `Pic-Operations` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PicOperations {
    /// `is_pic_info: 1`: answer with the source's information too.
    pub is_pic_info: bool,
    /// At most [`MAX_RULES`]; empty when the header has no `rules`.
    pub rules: Vec<PicRule>,
}

/// One output object of a `Pic-Operations` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PicRule {
    /// Target bucket; `None` = the source's bucket.
    pub bucket: Option<String>,
    /// The `fileid` as written; resolve it with [`resolve_fileid`].
    pub fileid: String,
    /// The `rule` text as written (echoed in responses, logs).
    pub rule: String,
    /// The parsed rule: a pipeline or a style to resolve.
    pub directive: Directive,
}

/// Parses a `Pic-Operations` header value.
pub fn parse_pic_operations(header_value: &str) -> Result<PicOperations> {
    pic_operations(header_value).map_err(tag)
}

fn pic_operations(header_value: &str) -> Result<PicOperations> {
    let bad = |why: String| DialectError::bad_request(why, header_value);
    let json: Value = serde_json::from_str(header_value)
        .map_err(|e| bad(format!("Pic-Operations is not valid JSON: {e}")))?;
    let Value::Object(obj) = json else {
        return Err(bad("Pic-Operations must be a JSON object".into()));
    };
    let is_pic_info = is_pic_info(obj.get("is_pic_info"))?;
    let rules = match obj.get("rules") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => {
            return Err(DialectError::invalid(
                "`rules` must be an array",
                other.to_string(),
            ))
        }
    };
    if rules.len() > MAX_RULES {
        return Err(DialectError::new(
            ErrorKind::TooManyStages,
            format!("at most {MAX_RULES} rules are allowed, got {}", rules.len()),
            header_value,
        ));
    }
    let rules = rules
        .iter()
        .enumerate()
        .map(|(i, rule)| pic_rule(i + 1, rule))
        .collect::<Result<Vec<_>>>()?;
    Ok(PicOperations { is_pic_info, rules })
}

/// `is_pic_info`: 0 or 1 as a number, a string or a boolean; absent is 0.
fn is_pic_info(value: Option<&Value>) -> Result<bool> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(Value::String(s)) if s == "0" => Ok(false),
        Some(Value::String(s)) if s == "1" => Ok(true),
        Some(other) => Err(DialectError::invalid(
            format!("`is_pic_info` must be 0 or 1, got {other}"),
            other.to_string(),
        )),
    }
}

/// Rule number `n` (from 1): `fileid` and `rule` required, `bucket`
/// optional, each a non-empty string.
fn pic_rule(n: usize, rule: &Value) -> Result<PicRule> {
    let Value::Object(r) = rule else {
        return Err(DialectError::invalid(
            format!("rule {n} must be an object"),
            rule.to_string(),
        ));
    };
    let string = |name: &str, required: bool| -> Result<Option<String>> {
        match r.get(name) {
            None | Some(Value::Null) if !required => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            None | Some(Value::Null) => Err(DialectError::missing(
                format!("rule {n} has no `{name}`"),
                rule.to_string(),
            )),
            Some(other) => Err(DialectError::invalid(
                format!("rule {n}: `{name}` must be a non-empty string"),
                other.to_string(),
            )),
        }
    };
    let fileid = string("fileid", true)?.unwrap_or_default();
    if fileid.ends_with('/') {
        return Err(DialectError::invalid(
            "`fileid` must not end with `/`",
            fileid,
        ));
    }
    let text = string("rule", true)?.unwrap_or_default();
    let bucket = string("bucket", false)?;
    let directive = processing(&text, true)?;
    Ok(PicRule {
        bucket,
        fileid,
        rule: text,
        directive,
    })
}

/// The object key a rule's `fileid` names, for a source stored at
/// `source_key`: a `fileid` starting with `/` is absolute in the bucket,
/// any other is relative to the source key's directory
/// (`/p1/test1.jpg` + `p2/test2.jpg` → `p1/p2/test2.jpg`). Keys are
/// returned without a leading `/`; `.`/`..` segments are refused rather
/// than resolved.
pub fn resolve_fileid(source_key: &str, fileid: &str) -> Result<String> {
    let bad = |why: &str| {
        DialectError::invalid(format!("fileid {why}: `{fileid}`"), fileid)
            .with_code(ERRNO_MALFORMED)
    };
    if fileid.is_empty() || fileid.ends_with('/') {
        return Err(bad("must name an object (not empty, not ending with `/`)"));
    }
    let key = match fileid.strip_prefix('/') {
        Some(abs) => abs.trim_start_matches('/').to_string(),
        None => {
            let source = source_key.trim_start_matches('/');
            let dir = source.rfind('/').map_or("", |i| &source[..=i]);
            format!("{dir}{fileid}")
        }
    };
    if key.is_empty() {
        return Err(bad("must name an object"));
    }
    if key.split('/').any(|s| s == "." || s == "..") {
        return Err(bad("must not contain `.` or `..` segments"));
    }
    Ok(key)
}
