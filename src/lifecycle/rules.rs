//! A bucket's `LifecycleConfiguration`: read from XML and validated as S3
//! validates a PutBucketLifecycleConfiguration, written back as XML, stored
//! as a versioned JSON record, and matched against objects and uploads.
//!
//! Pure data and functions: the clock (`now`) and the length of a day are
//! arguments, so the expiry arithmetic is tested with an injected clock.
//!
//! What a rule may hold, and what becomes of it:
//! - `Filter` with a `Prefix`, a `Tag`, an `ObjectSizeGreaterThan` or
//!   `ObjectSizeLessThan`, an `And` of several of these, an empty `Filter`,
//!   or the legacy top-level `Prefix`: kept as written, so GET answers what
//!   PUT sent. A tag filter matches an object whose tag set holds every tag
//!   it names; the sweeper checks the tags on the object it is about to
//!   delete, not on the listing (which has none).
//! - `Expiration` with `Days` or `Date`, and `AbortIncompleteMultipartUpload`
//!   with `DaysAfterInitiation`: applied by the sweeper.
//! - `Expiration` with `ExpiredObjectDeleteMarker`, and
//!   `NoncurrentVersionExpiration`: accepted and echoed back, but no-ops.
//!   The store is unversioned (PutBucketVersioning answers 501), so there
//!   are never delete markers nor noncurrent versions for them to act on;
//!   refusing them would break tools that always send them.
//! - `Transition`, `NoncurrentVersionTransition` (there are no storage
//!   classes to move to): refused with 501 `NotImplemented` naming
//!   the element, never accepted and silently ignored, since a rule that
//!   looks applied but is not would delete the wrong objects or none.

use crate::http::error::ApiError;
use crate::http::tagging::{self, TagSet};
use crate::http::xml::{self, Element, XmlWriter};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The bucket setting (`Store::put_bucket_setting`) a configuration is
/// stored under.
pub const SETTING: &str = "lifecycle";
/// Store-wide documents `<INDEX_PREFIX><bucket>` name the buckets that have
/// rules, so the sweeper visits those and not every bucket (in gateway
/// mode listing every bucket costs a backend request per bucket).
pub const INDEX_PREFIX: &str = "lifecycle-buckets/";
/// How long an index entry without rules is kept: PutBucketLifecycle
/// writes the entry before the rules (so that a crash between the two
/// leaves rules listed, never unlisted), and a sweep that reads the entry
/// in between must not take it for a stale one and drop it, which would
/// leave the rules never applied.
pub const INDEX_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// An index entry's content: when it was written (seconds since the
/// epoch, as text).
pub fn index_entry(written: std::time::SystemTime) -> Vec<u8> {
    let secs = written
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    secs.to_string().into_bytes()
}

/// When an index entry was written; `None` for an entry without that
/// (written before entries carried it), which counts as old.
pub fn index_written(entry: &[u8]) -> Option<std::time::SystemTime> {
    let secs: u64 = std::str::from_utf8(entry).ok()?.parse().ok()?;
    std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(secs))
}
/// S3 accepts at most this many rules in one configuration.
pub const MAX_RULES: usize = 1000;
/// S3's limit on a rule's `ID`.
pub const MAX_ID_LEN: usize = 255;
/// The version of the stored record (bumped if its shape changes, with a
/// decoder kept for the previous one).
const RECORD_VERSION: u32 = 1;
/// A `Date` must be a midnight UTC: a multiple of this many seconds since
/// the epoch. This is S3's calendar day, whatever `day_secs` says (that
/// only scales `Days`).
const CALENDAR_DAY_SECS: i64 = 86_400;

/// Which keys a rule applies to, as it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// `<Filter><Prefix>p</Prefix></Filter>`, or `<Filter/>` (`None`).
    Filter(Option<String>),
    /// The legacy `<Prefix>p</Prefix>` directly in the rule.
    Prefix(String),
    /// `<Filter>` with one `Tag` or size bound (`and` false), or with an
    /// `And` of an optional `Prefix`, `Tag`s and size bounds: objects under
    /// the prefix whose tags include every one of these and whose size is
    /// within the bounds (exclusive, as S3's).
    Conditions {
        and: bool,
        prefix: Option<String>,
        tags: Vec<(String, String)>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size_greater_than: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size_less_than: Option<u64>,
    },
}

/// An object as a rule sees it. `tags` is `None` where they are not known
/// (a listing), which tag conditions let pass.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub key: &'a str,
    pub size: u64,
    pub tags: Option<&'a TagSet>,
    pub last_modified: SystemTime,
}

impl Scope {
    /// The key prefix the rule applies to (empty: every key).
    pub fn prefix(&self) -> &str {
        match self {
            Scope::Filter(p) | Scope::Conditions { prefix: p, .. } => p.as_deref().unwrap_or(""),
            Scope::Prefix(p) => p,
        }
    }

    /// Whether an object of `size` bytes with `object_tags` meets the
    /// conditions besides the prefix; unknown tags pass.
    fn conditions_met(&self, size: u64, object_tags: Option<&TagSet>) -> bool {
        let Scope::Conditions {
            tags,
            size_greater_than,
            size_less_than,
            ..
        } = self
        else {
            return true;
        };
        size_greater_than.is_none_or(|min| size > min)
            && size_less_than.is_none_or(|max| size < max)
            && object_tags.is_none_or(|have| {
                tags.iter()
                    .all(|(k, v)| have.get(k).is_some_and(|h| h == v))
            })
    }

    /// Whether it names tags or sizes, which uploads do not have.
    fn has_conditions(&self) -> bool {
        matches!(self, Scope::Conditions { .. })
    }
}

/// An `Expiration` action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiration {
    /// `Days`: that many days after the object's last modification,
    /// rounded up to the next midnight.
    Days(u32),
    /// `Date`: every matching object, once this midnight UTC (seconds since
    /// the epoch) has passed.
    Date(i64),
    /// `ExpiredObjectDeleteMarker`: a no-op on an unversioned store, kept
    /// so that GET answers what PUT sent.
    DeleteMarker(bool),
}

/// A `NoncurrentVersionExpiration` action: a no-op on an unversioned
/// store, kept so that GET answers what PUT sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentExpiration {
    /// `NoncurrentDays`.
    pub days: u32,
    /// `NewerNoncurrentVersions`.
    pub newer_versions: Option<u32>,
}

/// One `Rule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// `ID`: unique within the configuration; generated when absent, as S3
    /// does.
    pub id: String,
    /// `Status`: only enabled rules act.
    pub enabled: bool,
    /// Which keys it applies to.
    pub scope: Scope,
    /// `Expiration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Expiration>,
    /// `AbortIncompleteMultipartUpload/DaysAfterInitiation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_after_days: Option<u32>,
    /// `NoncurrentVersionExpiration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent: Option<NoncurrentExpiration>,
}

/// A whole `LifecycleConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleConfig {
    /// The record's version ([`RECORD_VERSION`]).
    pub v: u32,
    /// The rules, in the order they were written.
    pub rules: Vec<Rule>,
}

/// `t` rounded up to the next multiple of `day` since the epoch (S3's
/// "next midnight UTC" when `day` is 24 h); a time already at one stays.
fn ceil_to_day(t: Duration, day: Duration) -> Duration {
    let day_ns = day.as_nanos().max(1);
    let t_ns = t.as_nanos();
    let rounded = t_ns.div_ceil(day_ns).saturating_mul(day_ns);
    // Far beyond any SystemTime: saturate instead of wrapping.
    let secs = u64::try_from(rounded / 1_000_000_000).unwrap_or(u64::MAX);
    Duration::new(secs, (rounded % 1_000_000_000) as u32)
}

/// When something made at `since` is `days` days old, as S3 counts it: add
/// the days, then round up to the next midnight. `day` is the length of a
/// day (24 h, or less in tests). For example an object written on
/// 2014-01-15 at 10:30 UTC with `Days` 3 expires on 2014-01-19 at 00:00 UTC.
pub fn due_after_days(since: SystemTime, days: u32, day: Duration) -> SystemTime {
    let since = since.duration_since(UNIX_EPOCH).unwrap_or_default();
    let span = day.saturating_mul(days);
    let due = ceil_to_day(since.saturating_add(span), day);
    UNIX_EPOCH.checked_add(due).unwrap_or(far_future())
}

/// A time no object is ever due at (what an overflowing sum saturates to).
fn far_future() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 100)
}

impl Rule {
    /// Whether the rule applies to this object (enabled, under its prefix,
    /// its conditions met).
    fn covers(&self, c: &Candidate) -> bool {
        self.enabled
            && c.key.starts_with(self.scope.prefix())
            && self.scope.conditions_met(c.size, c.tags)
    }

    /// When an object last modified at `last_modified` expires by this
    /// rule (`None`: the rule does not expire objects).
    pub fn object_due(&self, last_modified: SystemTime, day: Duration) -> Option<SystemTime> {
        match self.expiration? {
            Expiration::Days(d) => Some(due_after_days(last_modified, d, day)),
            Expiration::Date(secs) => {
                let secs = u64::try_from(secs).unwrap_or(0);
                Some(UNIX_EPOCH + Duration::from_secs(secs))
            }
            Expiration::DeleteMarker(_) => None,
        }
    }

    /// Whether the rule expires objects (the sweeper lists only then).
    fn expires_objects(&self) -> bool {
        self.enabled
            && matches!(
                self.expiration,
                Some(Expiration::Days(_) | Expiration::Date(_))
            )
    }
}

impl LifecycleConfig {
    /// A configuration of these rules, checked as a PUT is.
    pub fn new(rules: Vec<Rule>) -> Result<Self, ApiError> {
        let config = LifecycleConfig {
            v: RECORD_VERSION,
            rules,
        };
        config.validate()?;
        Ok(config)
    }

    /// The first enabled rule under which the object has expired at `now`.
    pub fn expired_by(&self, c: &Candidate, now: SystemTime, day: Duration) -> Option<&Rule> {
        self.rules.iter().find(|r| {
            r.covers(c)
                && r.object_due(c.last_modified, day)
                    .is_some_and(|due| due <= now)
        })
    }

    /// The first enabled rule under which the multipart upload of `key`,
    /// initiated at `initiated`, is due to be aborted at `now`.
    pub fn abort_by(
        &self,
        key: &str,
        initiated: SystemTime,
        now: SystemTime,
        day: Duration,
    ) -> Option<&Rule> {
        // Uploads have neither tags nor a size yet: a rule that names them
        // cannot abort (`validate`).
        self.rules.iter().find(|r| {
            r.enabled
                && !r.scope.has_conditions()
                && key.starts_with(r.scope.prefix())
                && r.abort_after_days
                    .is_some_and(|d| due_after_days(initiated, d, day) <= now)
        })
    }

    /// The prefix a listing of the bucket's objects can be narrowed to:
    /// the longest one shared by every enabled expiring rule (`None`: no
    /// rule expires objects, nothing to list).
    pub fn objects_prefix(&self) -> Option<String> {
        common_prefix(self.rules.iter().filter(|r| r.expires_objects()))
    }

    /// The same for multipart uploads and the enabled abort rules.
    pub fn uploads_prefix(&self) -> Option<String> {
        common_prefix(
            self.rules
                .iter()
                .filter(|r| r.enabled && r.abort_after_days.is_some()),
        )
    }

    /// Reads a PutBucketLifecycleConfiguration body.
    pub fn from_xml(doc: &[u8]) -> Result<Self, ApiError> {
        let root = xml::parse_root(doc, "LifecycleConfiguration")?;
        if let Some(other) = root.children.iter().find(|c| c.name != "Rule") {
            return Err(unknown(&other.name, "LifecycleConfiguration"));
        }
        let count = root.children.len();
        if count == 0 {
            return Err(ApiError::MalformedXml(
                "a LifecycleConfiguration needs at least one Rule".into(),
            ));
        }
        if count > MAX_RULES {
            return Err(ApiError::MalformedXml(format!(
                "a LifecycleConfiguration holds at most {MAX_RULES} rules (got {count})"
            )));
        }
        let rules = root
            .children
            .iter()
            .map(parse_rule)
            .collect::<Result<Vec<_>, _>>()?;
        LifecycleConfig::new(rules)
    }

    /// The semantic checks of a PUT (the XML's shape is checked while it
    /// is read): unique IDs of at most 255 characters, an action per rule,
    /// no upload abort by tags.
    fn validate(&self) -> Result<(), ApiError> {
        let mut seen = std::collections::HashSet::new();
        for r in &self.rules {
            if r.id.chars().count() > MAX_ID_LEN {
                return Err(ApiError::InvalidArgument(
                    "ID",
                    format!("ID length should not exceed allowed limit of {MAX_ID_LEN}"),
                ));
            }
            if !seen.insert(r.id.as_str()) {
                return Err(ApiError::InvalidArgument(
                    "ID",
                    "Rule ID must be unique. Found same ID for more than one rule".into(),
                ));
            }
            if r.expiration.is_none() && r.abort_after_days.is_none() && r.noncurrent.is_none() {
                return Err(ApiError::InvalidRequest(
                    "At least one action needs to be specified in a rule".into(),
                ));
            }
            // Uploads have no tags or size to match (S3's rule).
            if r.abort_after_days.is_some() && r.scope.has_conditions() {
                return Err(ApiError::InvalidRequest(
                    "AbortIncompleteMultipartUpload cannot be specified with Tags or object size filters.".into(),
                ));
            }
        }
        Ok(())
    }

    /// Writes the configuration as GetBucketLifecycleConfiguration answers.
    pub fn to_xml(&self, x: &mut XmlWriter) {
        x.open_root("LifecycleConfiguration");
        for r in &self.rules {
            x.open_plain("Rule");
            x.elem("ID", &r.id);
            match &r.scope {
                Scope::Filter(None) => x.raw("<Filter/>"),
                Scope::Filter(Some(p)) => {
                    x.open_plain("Filter");
                    x.elem("Prefix", p);
                    x.close("Filter");
                }
                Scope::Prefix(p) => x.elem("Prefix", p),
                Scope::Conditions {
                    and,
                    prefix,
                    tags,
                    size_greater_than,
                    size_less_than,
                } => {
                    x.open_plain("Filter");
                    if *and {
                        x.open_plain("And");
                        x.opt_elem("Prefix", prefix.as_deref());
                    }
                    tagging::tag_elements(x, tags.iter().map(|(k, v)| (k, v)));
                    if let Some(n) = size_greater_than {
                        x.elem("ObjectSizeGreaterThan", &n.to_string());
                    }
                    if let Some(n) = size_less_than {
                        x.elem("ObjectSizeLessThan", &n.to_string());
                    }
                    if *and {
                        x.close("And");
                    }
                    x.close("Filter");
                }
            }
            x.elem("Status", if r.enabled { "Enabled" } else { "Disabled" });
            if let Some(e) = r.expiration {
                x.open_plain("Expiration");
                match e {
                    Expiration::Days(d) => x.elem("Days", &d.to_string()),
                    Expiration::Date(secs) => {
                        let t = UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
                        x.elem("Date", &xml::iso8601(t));
                    }
                    Expiration::DeleteMarker(b) => x.bool_elem("ExpiredObjectDeleteMarker", b),
                }
                x.close("Expiration");
            }
            if let Some(n) = r.noncurrent {
                x.open_plain("NoncurrentVersionExpiration");
                x.elem("NoncurrentDays", &n.days.to_string());
                if let Some(k) = n.newer_versions {
                    x.elem("NewerNoncurrentVersions", &k.to_string());
                }
                x.close("NoncurrentVersionExpiration");
            }
            if let Some(d) = r.abort_after_days {
                x.open_plain("AbortIncompleteMultipartUpload");
                x.elem("DaysAfterInitiation", &d.to_string());
                x.close("AbortIncompleteMultipartUpload");
            }
            x.close("Rule");
        }
        x.close("LifecycleConfiguration");
    }

    /// The stored record.
    pub fn to_record(&self) -> Result<Vec<u8>, ApiError> {
        serde_json::to_vec(self)
            .map_err(|e| ApiError::Internal(format!("encoding lifecycle rules: {e}")))
    }

    /// Reads a stored record; one that does not decode is corruption.
    pub fn from_record(raw: &[u8]) -> Result<Self, ApiError> {
        let config: LifecycleConfig = serde_json::from_slice(raw)
            .map_err(|e| ApiError::Internal(format!("stored lifecycle rules: {e}")))?;
        if config.v != RECORD_VERSION {
            return Err(ApiError::Internal(format!(
                "stored lifecycle rules: unknown record version {}",
                config.v
            )));
        }
        Ok(config)
    }
}

/// The longest prefix shared by the rules' prefixes (`None` for no rule).
fn common_prefix<'a>(mut rules: impl Iterator<Item = &'a Rule>) -> Option<String> {
    let first = rules.next()?.scope.prefix();
    let mut len = first.len();
    for r in rules {
        let p = r.scope.prefix();
        len = first
            .char_indices()
            .zip(p.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, c), _)| i + c.len_utf8())
            .min(len);
    }
    Some(first[..len].to_string())
}

fn unknown(name: &str, parent: &str) -> ApiError {
    ApiError::MalformedXml(format!("unexpected element <{name}> in <{parent}>"))
}

/// Takes a child into `slot`, refusing a second one of the same name.
fn once<'a>(slot: &mut Option<&'a Element>, el: &'a Element) -> Result<(), ApiError> {
    if slot.replace(el).is_some() {
        return Err(ApiError::MalformedXml(format!(
            "<{}> appears more than once",
            el.name
        )));
    }
    Ok(())
}

/// A positive day count: text that is not an integer breaks the schema
/// (MalformedXML); zero or less is S3's InvalidArgument.
fn positive_days(el: &Element, field: &'static str, action: &str) -> Result<u32, ApiError> {
    let text = el.text.trim();
    let n: i64 = text
        .parse()
        .map_err(|_| ApiError::MalformedXml(format!("{field} must be an integer, not {text:?}")))?;
    if n <= 0 {
        return Err(ApiError::InvalidArgument(
            field,
            format!("'{field}' for {action} action must be a positive integer"),
        ));
    }
    u32::try_from(n).map_err(|_| {
        ApiError::InvalidArgument(field, format!("'{field}' for {action} action is too large"))
    })
}

/// An ISO 8601 date or timestamp (a missing zone is UTC, as S3 reads it),
/// which must be a midnight UTC; as seconds since the epoch.
fn parse_date(text: &str) -> Result<i64, ApiError> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let text = text.trim();
    let t = DateTime::parse_from_rfc3339(text)
        .map(|d| d.timestamp_nanos_opt())
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|d| d.and_utc().timestamp_nanos_opt())
        })
        .or_else(|_| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map(|d| {
                d.and_hms_opt(0, 0, 0)
                    .and_then(|d| d.and_utc().timestamp_nanos_opt())
            })
        })
        .ok()
        .flatten()
        .ok_or_else(|| {
            ApiError::InvalidArgument("Date", "'Date' must be in ISO 8601 format".into())
        })?;
    let day_ns = CALENDAR_DAY_SECS * 1_000_000_000;
    if t.rem_euclid(day_ns) != 0 {
        return Err(ApiError::InvalidArgument(
            "Date",
            "'Date' must be at midnight GMT".into(),
        ));
    }
    Ok(t / 1_000_000_000)
}

fn parse_expiration(el: &Element) -> Result<Expiration, ApiError> {
    let (mut days, mut date, mut marker) = (None, None, None);
    for c in &el.children {
        match c.name.as_str() {
            "Days" => once(&mut days, c)?,
            "Date" => once(&mut date, c)?,
            "ExpiredObjectDeleteMarker" => once(&mut marker, c)?,
            other => return Err(unknown(other, "Expiration")),
        }
    }
    match (days, date, marker) {
        (Some(_), Some(_), _) => Err(ApiError::MalformedXml(
            "Expiration takes Days or Date, not both".into(),
        )),
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => Err(ApiError::MalformedXml(
            "ExpiredObjectDeleteMarker cannot be specified with Days or Date".into(),
        )),
        (Some(d), None, None) => Ok(Expiration::Days(positive_days(d, "Days", "Expiration")?)),
        (None, Some(d), None) => Ok(Expiration::Date(parse_date(&d.text)?)),
        (None, None, Some(m)) => match m.text.trim() {
            "true" => Ok(Expiration::DeleteMarker(true)),
            "false" => Ok(Expiration::DeleteMarker(false)),
            other => Err(ApiError::MalformedXml(format!(
                "ExpiredObjectDeleteMarker must be true or false, not {other:?}"
            ))),
        },
        (None, None, None) => Err(ApiError::MalformedXml(
            "Expiration needs Days, Date or ExpiredObjectDeleteMarker".into(),
        )),
    }
}

/// A `Filter`: at most one of its children (`And` groups several).
fn parse_filter(el: &Element) -> Result<Scope, ApiError> {
    if el.children.len() > 1 {
        return Err(ApiError::MalformedXml(
            "a Filter holds one of Prefix, Tag, ObjectSizeGreaterThan, ObjectSizeLessThan or And"
                .into(),
        ));
    }
    let Some(only) = el.children.first() else {
        return Ok(Scope::Filter(None));
    };
    match only.name.as_str() {
        // The prefix is taken as written: keys may begin or end with spaces.
        "Prefix" => Ok(Scope::Filter(Some(only.text.clone()))),
        "And" => conditions(&only.children, "And", true),
        _ => conditions(std::slice::from_ref(only), "Filter", false),
    }
}

/// The conditions of an `And` (`and`), or a `Filter`'s one tag or size
/// bound: an optional `Prefix`, `Tag`s with distinct keys, and the two
/// size bounds, the lower below the upper.
fn conditions(children: &[Element], parent: &str, and: bool) -> Result<Scope, ApiError> {
    let (mut prefix, mut greater, mut less) = (None, None, None);
    let mut tags: Vec<(String, String)> = Vec::new();
    for c in children {
        match c.name.as_str() {
            "Prefix" if and => once(&mut prefix, c)?,
            "Tag" => {
                let tag = parse_filter_tag(c)?;
                if tags.iter().any(|(k, _)| *k == tag.0) {
                    return Err(ApiError::InvalidRequest(
                        "Duplicate Tag Keys are not allowed.".into(),
                    ));
                }
                tags.push(tag);
            }
            "ObjectSizeGreaterThan" => once(&mut greater, c)?,
            "ObjectSizeLessThan" => once(&mut less, c)?,
            other => return Err(unknown(other, parent)),
        }
    }
    let size = |el: Option<&Element>| -> Result<Option<u64>, ApiError> {
        el.map(|e| {
            e.text.trim().parse::<u64>().map_err(|_| {
                ApiError::InvalidArgument(
                    "ObjectSize",
                    format!("{}: {:?} is not a byte count", e.name, e.text),
                )
            })
        })
        .transpose()
    };
    let (size_greater_than, size_less_than) = (size(greater)?, size(less)?);
    if let (Some(min), Some(max)) = (size_greater_than, size_less_than) {
        if min >= max {
            return Err(ApiError::InvalidRequest(
                "ObjectSizeGreaterThan must be less than ObjectSizeLessThan".into(),
            ));
        }
    }
    let named = tags.len()
        + usize::from(size_greater_than.is_some())
        + usize::from(size_less_than.is_some());
    if and && named == 0 {
        return Err(ApiError::MalformedXml(
            "an And filter needs a Tag or an object size bound besides its Prefix".into(),
        ));
    }
    Ok(Scope::Conditions {
        and,
        prefix: prefix.map(|p| p.text.clone()),
        tags,
        size_greater_than,
        size_less_than,
    })
}

/// A filter's `<Tag><Key/><Value/></Tag>`.
fn parse_filter_tag(el: &Element) -> Result<(String, String), ApiError> {
    let (mut key, mut value) = (None, None);
    for c in &el.children {
        match c.name.as_str() {
            "Key" => once(&mut key, c)?,
            "Value" => once(&mut value, c)?,
            other => return Err(unknown(other, "Tag")),
        }
    }
    match (key, value) {
        (Some(k), Some(v)) if !k.text.is_empty() => Ok((k.text.clone(), v.text.clone())),
        _ => Err(ApiError::MalformedXml(
            "a filter's Tag needs a Key and a Value".into(),
        )),
    }
}

fn parse_noncurrent(el: &Element) -> Result<NoncurrentExpiration, ApiError> {
    let (mut days, mut newer) = (None, None);
    for c in &el.children {
        match c.name.as_str() {
            "NoncurrentDays" => once(&mut days, c)?,
            "NewerNoncurrentVersions" => once(&mut newer, c)?,
            other => return Err(unknown(other, "NoncurrentVersionExpiration")),
        }
    }
    let days = days.ok_or_else(|| {
        ApiError::MalformedXml("NoncurrentVersionExpiration needs NoncurrentDays".into())
    })?;
    Ok(NoncurrentExpiration {
        days: positive_days(days, "NoncurrentDays", "NoncurrentVersionExpiration")?,
        newer_versions: newer
            .map(|n| positive_days(n, "NewerNoncurrentVersions", "NoncurrentVersionExpiration"))
            .transpose()?,
    })
}

fn parse_rule(el: &Element) -> Result<Rule, ApiError> {
    let (mut id, mut status, mut filter, mut prefix) = (None, None, None, None);
    let (mut expiration, mut abort, mut noncurrent) = (None, None, None);
    for c in &el.children {
        match c.name.as_str() {
            "ID" => once(&mut id, c)?,
            "Status" => once(&mut status, c)?,
            "Filter" => once(&mut filter, c)?,
            "Prefix" => once(&mut prefix, c)?,
            "Expiration" => once(&mut expiration, c)?,
            "AbortIncompleteMultipartUpload" => once(&mut abort, c)?,
            "NoncurrentVersionExpiration" => once(&mut noncurrent, c)?,
            "Transition" | "NoncurrentVersionTransition" => {
                return Err(ApiError::NotImplemented(format!(
                    "The lifecycle action <{}> (there are no storage classes)",
                    c.name
                )))
            }
            other => return Err(unknown(other, "Rule")),
        }
    }
    let enabled = match status.map(|s| s.text.trim()) {
        Some("Enabled") => true,
        Some("Disabled") => false,
        Some(other) => {
            return Err(ApiError::MalformedXml(format!(
                "Status must be Enabled or Disabled, not {other:?}"
            )))
        }
        None => return Err(ApiError::MalformedXml("a Rule needs a Status".into())),
    };
    let scope = match (filter, prefix) {
        (Some(f), None) => parse_filter(f)?,
        (None, Some(p)) => Scope::Prefix(p.text.clone()),
        (Some(_), Some(_)) => {
            return Err(ApiError::MalformedXml(
                "a Rule takes a Filter or a Prefix, not both".into(),
            ))
        }
        (None, None) => {
            return Err(ApiError::MalformedXml(
                "a Rule needs a Filter (or the legacy Prefix)".into(),
            ))
        }
    };
    let abort_after_days = abort
        .map(|a| {
            let mut days = None;
            for c in &a.children {
                match c.name.as_str() {
                    "DaysAfterInitiation" => once(&mut days, c)?,
                    other => return Err(unknown(other, "AbortIncompleteMultipartUpload")),
                }
            }
            let days = days.ok_or_else(|| {
                ApiError::MalformedXml(
                    "AbortIncompleteMultipartUpload needs DaysAfterInitiation".into(),
                )
            })?;
            positive_days(
                days,
                "DaysAfterInitiation",
                "AbortIncompleteMultipartUpload",
            )
        })
        .transpose()?;
    let id = match id.map(|i| i.text.clone()) {
        Some(id) if !id.is_empty() => id,
        // S3 names a rule sent without an ID.
        _ => generated_id()?,
    };
    Ok(Rule {
        id,
        enabled,
        scope,
        expiration: expiration.map(parse_expiration).transpose()?,
        abort_after_days,
        noncurrent: noncurrent.map(parse_noncurrent).transpose()?,
    })
}

/// A random rule ID (S3 gives one to a rule sent without).
fn generated_id() -> Result<String, ApiError> {
    let mut raw = [0u8; 18];
    getrandom::fill(&mut raw).map_err(|e| ApiError::Internal(format!("random rule ID: {e}")))?;
    Ok(base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        raw,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);

    /// 2014-01-15T10:30:00Z, AWS's own example.
    /// An object of no size and unknown tags.
    fn obj(key: &str, last_modified: SystemTime) -> Candidate<'_> {
        Candidate {
            key,
            size: 0,
            tags: None,
            last_modified,
        }
    }

    fn jan15_1030() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_389_781_800)
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn parse(doc: &str) -> Result<LifecycleConfig, ApiError> {
        LifecycleConfig::from_xml(doc.as_bytes())
    }

    fn code(doc: &str) -> &'static str {
        parse(doc).unwrap_err().code().as_str()
    }

    fn rule(body: &str) -> String {
        format!("<LifecycleConfiguration><Rule>{body}</Rule></LifecycleConfiguration>")
    }

    const FULL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Rule>
    <ID>logs</ID>
    <Filter><Prefix>logs/</Prefix></Filter>
    <Status>Enabled</Status>
    <Expiration><Days>30</Days></Expiration>
  </Rule>
  <Rule>
    <ID>legacy</ID>
    <Prefix>tmp/</Prefix>
    <Status>Disabled</Status>
    <Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration>
  </Rule>
  <Rule>
    <ID>uploads</ID>
    <Filter/>
    <Status>Enabled</Status>
    <AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload>
  </Rule>
  <Rule>
    <ID>no-ops</ID>
    <Filter><Prefix></Prefix></Filter>
    <Status>Enabled</Status>
    <Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>
    <NoncurrentVersionExpiration><NoncurrentDays>3</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>
  </Rule>
</LifecycleConfiguration>"#;

    #[test]
    fn parses_every_supported_element() {
        let c = parse(FULL).unwrap();
        assert_eq!(c.rules.len(), 4);
        assert_eq!(c.rules[0].scope, Scope::Filter(Some("logs/".into())));
        assert_eq!(c.rules[0].expiration, Some(Expiration::Days(30)));
        assert_eq!(c.rules[1].scope, Scope::Prefix("tmp/".into()));
        assert!(!c.rules[1].enabled);
        assert_eq!(c.rules[1].expiration, Some(Expiration::Date(1_893_456_000)));
        assert_eq!(c.rules[2].scope, Scope::Filter(None));
        assert_eq!(c.rules[2].abort_after_days, Some(7));
        assert_eq!(c.rules[3].scope, Scope::Filter(Some(String::new())));
        assert_eq!(c.rules[3].expiration, Some(Expiration::DeleteMarker(true)));
        assert_eq!(
            c.rules[3].noncurrent,
            Some(NoncurrentExpiration {
                days: 3,
                newer_versions: Some(2)
            })
        );
    }

    #[test]
    fn xml_and_record_round_trip() {
        let c = parse(FULL).unwrap();
        let mut x = XmlWriter::new();
        c.to_xml(&mut x);
        let doc = x.finish();
        let text = std::str::from_utf8(&doc).unwrap();
        assert!(
            text.contains("<Date>2030-01-01T00:00:00.000Z</Date>"),
            "{text}"
        );
        assert!(text.contains("<Prefix>tmp/</Prefix><Status>Disabled</Status>"));
        assert!(text.contains("<Filter/>"));
        // What GET answers, PUT takes back unchanged.
        assert_eq!(LifecycleConfig::from_xml(&doc).unwrap(), c);
        let raw = c.to_record().unwrap();
        assert_eq!(LifecycleConfig::from_record(&raw).unwrap(), c);
        assert!(LifecycleConfig::from_record(b"{\"v\":9,\"rules\":[]}").is_err());
    }

    #[test]
    fn a_rule_without_id_gets_one() {
        let c = parse(&rule(
            "<Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>",
        ))
        .unwrap();
        assert!(c.rules[0].id.len() >= 20, "{:?}", c.rules[0].id);
    }

    #[test]
    fn refusals_follow_s3() {
        let exp = |e: &str| {
            rule(&format!(
                "<ID>r</ID><Filter/><Status>Enabled</Status><Expiration>{e}</Expiration>"
            ))
        };
        assert_eq!(code("<LifecycleConfiguration>"), "MalformedXML");
        assert_eq!(code("<LifecycleConfiguration/>"), "MalformedXML");
        assert_eq!(code("<Other/>"), "MalformedXML");
        assert_eq!(code(&exp("<Days>0</Days>")), "InvalidArgument");
        assert_eq!(code(&exp("<Days>-3</Days>")), "InvalidArgument");
        assert_eq!(code(&exp("<Days>three</Days>")), "MalformedXML");
        assert_eq!(
            code(&exp("<Date>2030-01-01T01:00:00Z</Date>")),
            "InvalidArgument"
        );
        assert_eq!(code(&exp("<Date>tomorrow</Date>")), "InvalidArgument");
        assert_eq!(
            code(&exp("<Days>1</Days><Date>2030-01-01T00:00:00Z</Date>")),
            "MalformedXML"
        );
        assert_eq!(
            code(&exp(
                "<Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
            )),
            "MalformedXML"
        );
        assert_eq!(code(&exp("")), "MalformedXML");
        // Date forms S3 takes: with or without zone or time.
        for d in [
            "2030-01-01",
            "2030-01-01T00:00:00",
            "2030-01-01T02:00:00+02:00",
        ] {
            assert!(parse(&exp(&format!("<Date>{d}</Date>"))).is_ok(), "{d}");
        }
        // No action.
        assert_eq!(
            code(&rule("<ID>r</ID><Filter/><Status>Enabled</Status>")),
            "InvalidRequest"
        );
        // Status, scope.
        let days = "<Expiration><Days>1</Days></Expiration>";
        assert_eq!(code(&rule(&format!("<Filter/>{days}"))), "MalformedXML");
        assert_eq!(
            code(&rule(&format!("<Filter/><Status>On</Status>{days}"))),
            "MalformedXML"
        );
        assert_eq!(
            code(&rule(&format!("<Status>Enabled</Status>{days}"))),
            "MalformedXML"
        );
        assert_eq!(
            code(&rule(&format!(
                "<Filter/><Prefix>a</Prefix><Status>Enabled</Status>{days}"
            ))),
            "MalformedXML"
        );
        assert_eq!(
            code(&rule(&format!(
                "<Filter/><Status>Enabled</Status>{days}<Bogus/>"
            ))),
            "MalformedXML"
        );
        // IDs.
        let long = "x".repeat(MAX_ID_LEN + 1);
        assert_eq!(
            code(&rule(&format!(
                "<ID>{long}</ID><Filter/><Status>Enabled</Status>{days}"
            ))),
            "InvalidArgument"
        );
        let twice = format!(
            "<LifecycleConfiguration>{0}{0}</LifecycleConfiguration>",
            format!("<Rule><ID>same</ID><Filter/><Status>Enabled</Status>{days}</Rule>")
        );
        assert_eq!(code(&twice), "InvalidArgument");
        // Too many rules.
        let many: String = (0..=MAX_RULES)
            .map(|i| format!("<Rule><ID>{i}</ID><Filter/><Status>Enabled</Status>{days}</Rule>"))
            .collect();
        assert_eq!(
            code(&format!(
                "<LifecycleConfiguration>{many}</LifecycleConfiguration>"
            )),
            "MalformedXML"
        );
        // Positive days everywhere.
        assert_eq!(
            code(&rule("<Filter/><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation></AbortIncompleteMultipartUpload>")),
            "InvalidArgument"
        );
    }

    #[test]
    fn what_cannot_be_acted_on_is_501_by_name() {
        for (body, name) in [
            ("<Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>", "<Transition>"),
            ("<Filter/><Status>Enabled</Status><NoncurrentVersionTransition><NoncurrentDays>3</NoncurrentDays></NoncurrentVersionTransition>", "<NoncurrentVersionTransition>"),
        ] {
            let e = parse(&rule(body)).unwrap_err();
            assert_eq!(e.code().as_str(), "NotImplemented", "{body}");
            assert!(e.to_string().contains(name), "{e}");
        }
    }

    /// `body` parsed, written back as GET answers it (returned as text),
    /// and checked to read back the same, as XML and as a record.
    fn echoed(body: &str) -> (LifecycleConfig, String) {
        let c = parse(body).unwrap();
        let mut x = XmlWriter::new();
        c.to_xml(&mut x);
        let doc = x.finish();
        assert_eq!(LifecycleConfig::from_xml(&doc).unwrap(), c);
        assert_eq!(
            LifecycleConfig::from_record(&c.to_record().unwrap()).unwrap(),
            c
        );
        (c, String::from_utf8(doc.to_vec()).unwrap())
    }

    #[test]
    fn tag_filters_are_kept_as_written_and_match_every_tag() {
        let body = "<LifecycleConfiguration>\
            <Rule><ID>one</ID><Filter><Tag><Key>temp</Key><Value>yes</Value></Tag></Filter>\
            <Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
            <Rule><ID>both</ID><Filter><And><Prefix>logs/</Prefix>\
            <Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value></Value></Tag>\
            </And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
            </LifecycleConfiguration>";
        let (c, text) = echoed(body);
        assert!(
            text.contains("<Filter><Tag><Key>temp</Key><Value>yes</Value></Tag></Filter>"),
            "{text}"
        );
        assert!(text.contains("<Filter><And><Prefix>logs/</Prefix><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>b</Key><Value></Value></Tag></And></Filter>"), "{text}");

        let written = jan15_1030();
        let due = due_after_days(written, 1, DAY);
        let tags = |pairs: &[(&str, &str)]| -> TagSet {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let id = |key: &str, t: Option<&TagSet>| {
            c.expired_by(
                &Candidate {
                    tags: t,
                    ..obj(key, written)
                },
                due,
                DAY,
            )
            .map(|r| r.id.clone())
        };
        assert_eq!(
            id("x", Some(&tags(&[("temp", "yes")]))).as_deref(),
            Some("one")
        );
        assert_eq!(id("x", Some(&tags(&[("temp", "no")]))), None);
        assert_eq!(id("x", Some(&TagSet::new())), None);
        // A listing does not know the tags: the rule may apply.
        assert_eq!(id("x", None).as_deref(), Some("one"));
        let ab = tags(&[("a", "1"), ("b", ""), ("c", "3")]);
        assert_eq!(id("logs/x", Some(&ab)).as_deref(), Some("both"));
        assert_eq!(id("other/x", Some(&ab)), None);
        assert_eq!(id("logs/x", Some(&tags(&[("a", "1")]))), None);
        // Tag rules never abort uploads, and may not be asked to.
        assert!(c.abort_by("logs/x", written, due, DAY).is_none());
        for (body, code) in [
            ("<Filter><Tag><Key>a</Key><Value>b</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>", "InvalidRequest"),
            ("<Filter><And><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value>2</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>", "InvalidRequest"),
            ("<Filter><And><Prefix>a</Prefix></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>", "MalformedXML"),
            ("<Filter><Prefix>a</Prefix><Tag><Key>a</Key><Value>1</Value></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>", "MalformedXML"),
            ("<Filter><Tag><Key>a</Key></Tag></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>", "MalformedXML"),
        ] {
            assert_eq!(self::code(&rule(body)), code, "{body}");
        }
    }

    #[test]
    fn size_bounds_are_exclusive_and_combine_with_tags() {
        let body = "<LifecycleConfiguration>\
            <Rule><ID>big</ID><Filter><ObjectSizeGreaterThan>1000</ObjectSizeGreaterThan></Filter>\
            <Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
            <Rule><ID>mid</ID><Filter><And><Prefix>p/</Prefix><Tag><Key>t</Key><Value>1</Value></Tag>\
            <ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>20</ObjectSizeLessThan>\
            </And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>\
            </LifecycleConfiguration>";
        let (c, text) = echoed(body);
        assert!(
            text.contains("<Filter><ObjectSizeGreaterThan>1000</ObjectSizeGreaterThan></Filter>"),
            "{text}"
        );
        assert!(text.contains("<And><Prefix>p/</Prefix><Tag><Key>t</Key><Value>1</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>20</ObjectSizeLessThan></And>"), "{text}");

        let written = jan15_1030();
        let due = due_after_days(written, 1, DAY);
        let t1: TagSet = [("t".to_string(), "1".to_string())].into();
        let id = |key: &str, size: u64, tags: Option<&TagSet>| {
            let c2 = Candidate {
                size,
                tags,
                ..obj(key, written)
            };
            c.expired_by(&c2, due, DAY).map(|r| r.id.clone())
        };
        assert_eq!(id("x", 1000, None), None);
        assert_eq!(id("x", 1001, None).as_deref(), Some("big"));
        assert_eq!(id("p/x", 10, Some(&t1)), None);
        assert_eq!(id("p/x", 11, Some(&t1)).as_deref(), Some("mid"));
        assert_eq!(id("p/x", 19, Some(&t1)).as_deref(), Some("mid"));
        assert_eq!(id("p/x", 20, Some(&t1)), None);
        assert_eq!(id("p/x", 15, Some(&TagSet::new())), None);
        assert_eq!(id("p/x", 15, None).as_deref(), Some("mid"));
        assert_eq!(id("q/x", 15, Some(&t1)), None);
        let size_rule = |f: &str, action: &str| {
            rule(&format!(
                "<Filter>{f}</Filter><Status>Enabled</Status>{action}"
            ))
        };
        let days = "<Expiration><Days>1</Days></Expiration>";
        let abort = "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>";
        for (doc, code) in [
            (size_rule("<ObjectSizeGreaterThan>5</ObjectSizeGreaterThan>", abort), "InvalidRequest"),
            (size_rule("<And><ObjectSizeGreaterThan>20</ObjectSizeGreaterThan><ObjectSizeLessThan>20</ObjectSizeLessThan></And>", days), "InvalidRequest"),
            (size_rule("<ObjectSizeLessThan>-1</ObjectSizeLessThan>", days), "InvalidArgument"),
            (size_rule("<ObjectSizeLessThan>5</ObjectSizeLessThan><Prefix>a</Prefix>", days), "MalformedXML"),
            (size_rule("<And><Prefix>a</Prefix></And>", days), "MalformedXML"),
        ] {
            assert_eq!(self::code(&doc), code, "{doc}");
        }
        // A size bound alone in an And is enough.
        assert!(parse(&size_rule(
            "<And><Prefix>a</Prefix><ObjectSizeLessThan>9</ObjectSizeLessThan></And>",
            days
        ))
        .is_ok());
    }

    #[test]
    fn days_round_up_to_the_next_midnight() {
        // AWS's example: 2014-01-15 10:30 + 3 days → 2014-01-19 00:00 UTC.
        let due = due_after_days(jan15_1030(), 3, DAY);
        assert_eq!(xml::iso8601(due), "2014-01-19T00:00:00.000Z");
        // Written exactly at a midnight: no rounding needed.
        let midnight = at(1_389_744_000); // 2014-01-15T00:00:00Z
        assert_eq!(
            xml::iso8601(due_after_days(midnight, 1, DAY)),
            "2014-01-16T00:00:00.000Z"
        );
        // A short day (tests): the same arithmetic at 2 s per day.
        let two = Duration::from_secs(2);
        assert_eq!(due_after_days(at(101), 1, two), at(104));
        assert_eq!(due_after_days(at(100), 1, two), at(102));
        // Sub-second times round up too.
        let t = at(100) + Duration::from_millis(1);
        assert_eq!(due_after_days(t, 1, two), at(104));
        // No overflow with absurd inputs.
        let _ = due_after_days(at(u64::from(u32::MAX)), u32::MAX, DAY);
    }

    #[test]
    fn matching_with_an_injected_clock() {
        let c = parse(FULL).unwrap();
        let written = jan15_1030();
        let due = at(1_389_744_000 + 31 * 86_400); // 2014-02-15T00:00:00Z
        let just_before = due - Duration::from_secs(1);
        // Under the prefix, by Days.
        assert!(c
            .expired_by(&obj("logs/a", written), just_before, DAY)
            .is_none());
        assert_eq!(
            c.expired_by(&obj("logs/a", written), due, DAY).unwrap().id,
            "logs"
        );
        // Outside every expiring prefix.
        assert!(c.expired_by(&obj("other", written), due, DAY).is_none());
        // The Date rule is disabled: tmp/ keys never expire.
        assert!(c
            .expired_by(&obj("tmp/x", written), at(2_000_000_000), DAY)
            .is_none());
        // Uploads: 7 days after initiation, rounded, any key.
        let abort_due = at(1_389_744_000 + 8 * 86_400);
        assert!(c
            .abort_by("k", written, abort_due - Duration::from_secs(1), DAY)
            .is_none());
        assert_eq!(
            c.abort_by("k", written, abort_due, DAY).unwrap().id,
            "uploads"
        );
        // Listings narrow to what the enabled rules share.
        assert_eq!(c.objects_prefix().as_deref(), Some("logs/"));
        assert_eq!(c.uploads_prefix().as_deref(), Some(""));

        // A Date rule, enabled: everything under it once the date passed,
        // however new (as S3 does).
        let d = parse(&rule(
            "<ID>d</ID><Prefix>tmp/</Prefix><Status>Enabled</Status><Expiration><Date>2030-01-01</Date></Expiration>",
        ))
        .unwrap();
        let date = at(1_893_456_000);
        let fresh = date + Duration::from_secs(3600);
        assert!(d
            .expired_by(&obj("tmp/a", written), date - Duration::from_secs(1), DAY)
            .is_none());
        assert!(d.expired_by(&obj("tmp/a", fresh), fresh, DAY).is_some());
        assert!(d.expired_by(&obj("tmpx", fresh), fresh, DAY).is_none());
        assert_eq!(d.uploads_prefix(), None);
    }

    #[test]
    fn common_prefixes() {
        let c = |ps: &[&str]| {
            let rules: Vec<Rule> = ps
                .iter()
                .map(|p| Rule {
                    id: p.to_string(),
                    enabled: true,
                    scope: Scope::Prefix(p.to_string()),
                    expiration: Some(Expiration::Days(1)),
                    abort_after_days: None,
                    noncurrent: None,
                })
                .collect();
            common_prefix(rules.iter())
        };
        assert_eq!(c(&[]), None);
        assert_eq!(c(&["logs/a"]).as_deref(), Some("logs/a"));
        assert_eq!(c(&["logs/a", "logs/b"]).as_deref(), Some("logs/"));
        assert_eq!(c(&["logs/", "tmp/"]).as_deref(), Some(""));
        assert_eq!(c(&["ab", "a"]).as_deref(), Some("a"));
        assert_eq!(c(&["é1", "é2"]).as_deref(), Some("é"));
    }
}
