//! CORS as S3 does it: a bucket's `CORSConfiguration` (read from XML,
//! validated, written back as XML, stored as a versioned JSON record), the
//! matching of a request against its rules, and the `Access-Control-*`
//! headers a matching rule puts on a response.
//!
//! Pure data and functions. Where rules come from (a bucket's stored
//! setting, else the server-wide default of the config file) and when the
//! headers are added (one place in the request line) is the front door's
//! business (`front::cors`).
//!
//! Matching follows S3: the rules are tried in order and the first one that
//! allows the origin, the method and (for a preflight) every requested
//! header wins. An origin or header pattern may hold one `*`, which stands
//! for any run of characters; origins compare case-sensitively, header
//! names case-insensitively (they are case-insensitive in HTTP).

use crate::config::CorsDefault;
use crate::http::error::ApiError;
use crate::http::xml::{self, XmlWriter};
use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};

/// The bucket setting (`Store::put_bucket_setting`) a configuration is
/// stored under.
pub const SETTING: &str = "cors";
/// S3 accepts at most this many rules in one configuration.
pub const MAX_RULES: usize = 100;
/// The only methods a rule may allow (S3 refuses any other).
pub const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "HEAD"];
/// The version of the stored record (bumped if its shape changes, with a
/// decoder kept for the previous one).
const RECORD_VERSION: u32 = 1;
/// S3's limit on a rule's `ID`.
const MAX_ID_LEN: usize = 255;

/// What a preflight response varies on: caches must not hand one
/// origin's answer to another.
const VARY: &str = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method";

/// One `CORSRule`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsRule {
    /// `ID`: a name for the rule, only echoed back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `AllowedOrigin`: origins, each with at most one `*`.
    pub allowed_origins: Vec<String>,
    /// `AllowedMethod`: some of [`METHODS`].
    pub allowed_methods: Vec<String>,
    /// `AllowedHeader`: request headers a preflight may ask for, each with
    /// at most one `*`.
    #[serde(default)]
    pub allowed_headers: Vec<String>,
    /// `ExposeHeader`: response headers the page's script may read.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// `MaxAgeSeconds`: how long a browser may cache a preflight answer.
    #[serde(default)]
    pub max_age_secs: Option<u64>,
}

/// A whole `CORSConfiguration`: its rules, in the order they are tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorsConfig {
    /// The record's version ([`RECORD_VERSION`]).
    pub v: u32,
    /// The rules, first match wins.
    pub rules: Vec<CorsRule>,
}

/// A preflight (`OPTIONS`) request's questions, read from its headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preflight {
    /// `Origin`.
    pub origin: String,
    /// `Access-Control-Request-Method`.
    pub method: String,
    /// `Access-Control-Request-Headers`, split, trimmed and lower-cased.
    pub headers: Vec<String>,
}

impl Preflight {
    /// Reads a preflight's headers, refused as S3 refuses them: no `Origin`
    /// or no valid `Access-Control-Request-Method` is a 400 `BadRequest`.
    pub fn from_headers(h: &HeaderMap) -> Result<Self, ApiError> {
        let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let origin = text("origin")
            .filter(|o| !o.is_empty())
            .ok_or(ApiError::CorsBadRequest(
                "Insufficient information. Origin request header needed.",
            ))?;
        let method = text("access-control-request-method").unwrap_or("");
        if !METHODS.contains(&method) {
            // S3 prints an absent method as `null`.
            let shown = if method.is_empty() { "null" } else { method };
            return Err(ApiError::CorsInvalidMethod(shown.to_string()));
        }
        let headers = text("access-control-request-headers")
            .unwrap_or("")
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        Ok(Preflight {
            origin: origin.to_string(),
            method: method.to_string(),
            headers,
        })
    }
}

/// Whether `s` matches `pattern`, whose one `*` (if any) stands for any
/// run of characters, the empty one included.
fn wildcard_match(pattern: &str, s: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == s,
        Some((prefix, suffix)) => {
            s.len() >= prefix.len() + suffix.len() && s.starts_with(prefix) && s.ends_with(suffix)
        }
    }
}

impl CorsRule {
    /// The first of the rule's origin patterns that `origin` matches.
    fn origin_pattern(&self, origin: &str) -> Option<&str> {
        self.allowed_origins
            .iter()
            .map(String::as_str)
            .find(|p| wildcard_match(p, origin))
    }

    /// Whether the rule allows `method` from `origin`, with every header of
    /// `headers` (lower-case names).
    pub fn allows(&self, origin: &str, method: &str, headers: &[String]) -> bool {
        self.origin_pattern(origin).is_some()
            && self.allowed_methods.iter().any(|m| m == method)
            && headers.iter().all(|h| {
                self.allowed_headers
                    .iter()
                    .any(|p| wildcard_match(&p.to_ascii_lowercase(), h))
            })
    }

    /// Checks the rule as S3 checks a PUT: at least one origin and one
    /// method, methods among [`METHODS`], one `*` at most per origin and
    /// per allowed header, none in exposed headers.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.allowed_origins.is_empty() || self.allowed_methods.is_empty() {
            return Err(ApiError::MalformedXml(
                "every CORSRule needs an AllowedOrigin and an AllowedMethod".into(),
            ));
        }
        if self.id.as_ref().is_some_and(|id| id.len() > MAX_ID_LEN) {
            return Err(ApiError::InvalidArgument(
                "ID",
                format!("a CORSRule ID is at most {MAX_ID_LEN} characters"),
            ));
        }
        if let Some(m) = self
            .allowed_methods
            .iter()
            .find(|m| !METHODS.contains(&m.as_str()))
        {
            return Err(ApiError::InvalidRequest(format!(
                "Found unsupported HTTP method in CORS config. Unsupported method is {m}"
            )));
        }
        let more_than_one_star = |s: &&String| s.matches('*').count() > 1;
        if let Some(o) = self.allowed_origins.iter().find(more_than_one_star) {
            return Err(ApiError::InvalidRequest(format!(
                "AllowedOrigin \"{o}\" can not have more than one wildcard."
            )));
        }
        if let Some(h) = self.allowed_headers.iter().find(more_than_one_star) {
            return Err(ApiError::InvalidRequest(format!(
                "AllowedHeader \"{h}\" can not have more than one wildcard."
            )));
        }
        if let Some(h) = self.expose_headers.iter().find(|h| h.contains('*')) {
            return Err(ApiError::InvalidRequest(format!(
                "ExposeHeader \"{h}\" contains wildcard. We currently do not support wildcard for ExposeHeader."
            )));
        }
        Ok(())
    }

    /// The server-wide default rule of the config file (`[cors]`), checked
    /// as a PUT is.
    pub fn from_default(d: &CorsDefault) -> Result<Self, ApiError> {
        let rule = CorsRule {
            id: None,
            allowed_origins: d.allowed_origins.clone(),
            allowed_methods: d.allowed_methods.clone(),
            allowed_headers: d.allowed_headers.clone(),
            expose_headers: d.expose_headers.clone(),
            max_age_secs: d.max_age_secs,
        };
        rule.validate()?;
        Ok(rule)
    }

    /// The headers of a successful preflight answered by this rule.
    pub fn preflight_headers(&self, p: &Preflight, h: &mut HeaderMap) {
        self.common_headers(&p.origin, h);
        if !p.headers.is_empty() {
            insert(h, "access-control-allow-headers", &p.headers.join(", "));
        }
        if let Some(age) = self.max_age_secs {
            insert(h, "access-control-max-age", &age.to_string());
        }
        insert(h, "vary", VARY);
    }

    /// The headers of an actual (non-preflight) response whose request
    /// this rule allows.
    pub fn actual_headers(&self, origin: &str, h: &mut HeaderMap) {
        self.common_headers(origin, h);
        if let Some(age) = self.max_age_secs {
            insert(h, "access-control-max-age", &age.to_string());
        }
    }

    /// What preflights and actual responses share: the allowed origin
    /// (`*` when the rule allows any origin, which also rules out
    /// credentials), the rule's methods, the exposed headers.
    fn common_headers(&self, origin: &str, h: &mut HeaderMap) {
        if self.origin_pattern(origin) == Some("*") {
            insert(h, "access-control-allow-origin", "*");
        } else {
            insert(h, "access-control-allow-origin", origin);
            insert(h, "access-control-allow-credentials", "true");
        }
        insert(
            h,
            "access-control-allow-methods",
            &self.allowed_methods.join(", "),
        );
        if !self.expose_headers.is_empty() {
            insert(
                h,
                "access-control-expose-headers",
                &self.expose_headers.join(", "),
            );
        }
    }
}

/// Sets a header whose value came from a validated rule or from the
/// request's own header values; a value that is not a valid header value
/// is left out rather than sent mangled.
fn insert(h: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}

/// Adds `Vary: Origin` to a response that depends on a bucket's CORS rules
/// (kept with any `Vary` the response already has).
pub fn vary_on_origin(h: &mut HeaderMap) {
    let already = h
        .get_all(http::header::VARY)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|v| v.trim().eq_ignore_ascii_case("origin"));
    if !already {
        h.append(http::header::VARY, HeaderValue::from_static("Origin"));
    }
}

impl CorsConfig {
    /// A configuration of these rules, checked as a PUT is.
    pub fn new(rules: Vec<CorsRule>) -> Result<Self, ApiError> {
        if rules.is_empty() {
            return Err(ApiError::MalformedXml(
                "a CORSConfiguration needs at least one CORSRule".into(),
            ));
        }
        if rules.len() > MAX_RULES {
            return Err(ApiError::MalformedXml(format!(
                "a CORSConfiguration holds at most {MAX_RULES} CORSRules, not {}",
                rules.len()
            )));
        }
        for rule in &rules {
            rule.validate()?;
        }
        Ok(CorsConfig {
            v: RECORD_VERSION,
            rules,
        })
    }

    /// The first rule that allows this request.
    pub fn find(&self, origin: &str, method: &str, headers: &[String]) -> Option<&CorsRule> {
        self.rules
            .iter()
            .find(|r| r.allows(origin, method, headers))
    }

    /// Reads a PutBucketCors body.
    pub fn from_xml(body: &[u8]) -> Result<Self, ApiError> {
        let root = xml::parse_root(body, "CORSConfiguration")?;
        let mut rules = Vec::new();
        for el in &root.children {
            if el.name != "CORSRule" {
                return Err(ApiError::MalformedXml(format!(
                    "unexpected <{}> in CORSConfiguration",
                    el.name
                )));
            }
            rules.push(rule_from_xml(el)?);
        }
        Self::new(rules)
    }

    /// The GetBucketCors document.
    pub fn to_xml(&self, x: &mut XmlWriter) {
        x.open_root("CORSConfiguration");
        for r in &self.rules {
            x.open_plain("CORSRule");
            x.opt_elem("ID", r.id.as_deref());
            for (name, values) in [
                ("AllowedHeader", &r.allowed_headers),
                ("AllowedMethod", &r.allowed_methods),
                ("AllowedOrigin", &r.allowed_origins),
                ("ExposeHeader", &r.expose_headers),
            ] {
                for v in values {
                    x.elem(name, v);
                }
            }
            if let Some(age) = r.max_age_secs {
                x.elem("MaxAgeSeconds", &age.to_string());
            }
            x.close("CORSRule");
        }
        x.close("CORSConfiguration");
    }

    /// The stored record.
    pub fn to_record(&self) -> Result<Vec<u8>, ApiError> {
        serde_json::to_vec(self).map_err(|e| ApiError::Internal(format!("CORS record: {e}")))
    }

    /// Reads a stored record; one this server cannot read is corruption
    /// (a 500), never silently "no rules".
    pub fn from_record(raw: &[u8]) -> Result<Self, ApiError> {
        let config: CorsConfig = serde_json::from_slice(raw)
            .map_err(|e| ApiError::Internal(format!("stored CORS record: {e}")))?;
        if config.v != RECORD_VERSION {
            return Err(ApiError::Internal(format!(
                "stored CORS record has version {}, this server reads {RECORD_VERSION}",
                config.v
            )));
        }
        Ok(config)
    }
}

/// One `<CORSRule>`.
fn rule_from_xml(el: &xml::Element) -> Result<CorsRule, ApiError> {
    let mut rule = CorsRule::default();
    for c in &el.children {
        let text = c.text.trim().to_string();
        match c.name.as_str() {
            "ID" if rule.id.is_none() => rule.id = Some(text),
            "AllowedOrigin" => rule.allowed_origins.push(text),
            "AllowedMethod" => rule.allowed_methods.push(text),
            "AllowedHeader" => rule.allowed_headers.push(text),
            "ExposeHeader" => rule.expose_headers.push(text),
            "MaxAgeSeconds" if rule.max_age_secs.is_none() => {
                let age = text.parse().map_err(|_| {
                    ApiError::MalformedXml(format!("MaxAgeSeconds {text:?} is not an integer"))
                })?;
                rule.max_age_secs = Some(age);
            }
            other => {
                return Err(ApiError::MalformedXml(format!(
                    "unexpected or repeated <{other}> in CORSRule"
                )))
            }
        }
    }
    Ok(rule)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::http::error::ErrorCode;

    fn rule(origins: &[&str], methods: &[&str], headers: &[&str]) -> CorsRule {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        CorsRule {
            allowed_origins: v(origins),
            allowed_methods: v(methods),
            allowed_headers: v(headers),
            ..Default::default()
        }
    }

    fn hdrs(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn wildcards_match_one_run_of_characters() {
        for (p, s, want) in [
            ("*", "", true),
            ("*", "http://a.example", true),
            ("http://*.example.com", "http://a.example.com", true),
            ("http://*.example.com", "http://a.b.example.com", true),
            ("http://*.example.com", "http://example.com", false),
            ("http://*.example.com", "https://a.example.com", false),
            ("http://a.example", "http://a.example", true),
            ("http://a.example", "http://a.example.evil", false),
            // The prefix and suffix may not share characters.
            ("ab*ba", "aba", false),
            ("x-amz-*", "x-amz-date", true),
        ] {
            assert_eq!(wildcard_match(p, s), want, "{p} ~ {s}");
        }
    }

    #[test]
    fn first_matching_rule_wins_and_checks_method_and_headers() {
        let config = CorsConfig::new(vec![
            CorsRule {
                id: Some("first".into()),
                ..rule(&["http://*.example.com"], &["GET"], &[])
            },
            CorsRule {
                id: Some("second".into()),
                ..rule(
                    &["http://*.example.com"],
                    &["GET", "PUT"],
                    &["x-amz-*", "Content-Type"],
                )
            },
            CorsRule {
                id: Some("any".into()),
                ..rule(&["*"], &["GET"], &["*"])
            },
        ])
        .unwrap();
        let id =
            |o: &str, m: &str, h: &[&str]| config.find(o, m, &hdrs(h)).and_then(|r| r.id.clone());
        let a = "http://a.example.com";
        assert_eq!(id(a, "GET", &[]).as_deref(), Some("first"));
        // The first rule allows no headers: the second one answers.
        assert_eq!(id(a, "GET", &["x-amz-date"]).as_deref(), Some("second"));
        assert_eq!(
            id(a, "PUT", &["content-type", "x-amz-acl"]).as_deref(),
            Some("second")
        );
        assert_eq!(id(a, "PUT", &["authorization"]), None);
        assert_eq!(id(a, "DELETE", &[]), None);
        assert_eq!(
            id("http://other.org", "GET", &["anything"]).as_deref(),
            Some("any")
        );
        assert_eq!(id("http://other.org", "PUT", &[]), None);
    }

    #[test]
    fn preflight_and_actual_headers() {
        let mut r = rule(&["http://a.example"], &["GET", "PUT"], &["*"]);
        r.expose_headers = vec!["ETag".into(), "x-amz-request-id".into()];
        r.max_age_secs = Some(600);
        let p = Preflight {
            origin: "http://a.example".into(),
            method: "PUT".into(),
            headers: hdrs(&["content-type", "x-amz-date"]),
        };
        let mut h = HeaderMap::new();
        r.preflight_headers(&p, &mut h);
        assert_eq!(h["access-control-allow-origin"], "http://a.example");
        assert_eq!(h["access-control-allow-methods"], "GET, PUT");
        assert_eq!(
            h["access-control-allow-headers"],
            "content-type, x-amz-date"
        );
        assert_eq!(h["access-control-expose-headers"], "ETag, x-amz-request-id");
        assert_eq!(h["access-control-max-age"], "600");
        assert_eq!(h["access-control-allow-credentials"], "true");
        assert_eq!(h["vary"], VARY);
        // A rule open to every origin answers `*`, without credentials.
        let any = rule(&["*"], &["GET"], &[]);
        let mut h = HeaderMap::new();
        any.actual_headers("http://b.example", &mut h);
        assert_eq!(h["access-control-allow-origin"], "*");
        assert!(h.get("access-control-allow-credentials").is_none());
        assert!(h.get("access-control-allow-headers").is_none());
        vary_on_origin(&mut h);
        vary_on_origin(&mut h);
        assert_eq!(h.get_all("vary").iter().count(), 1);
    }

    #[test]
    fn preflight_headers_are_required() {
        let mut h = HeaderMap::new();
        let code =
            |h: &HeaderMap| Preflight::from_headers(h).map_err(|e| (e.code(), e.to_string()));
        let (c, m) = code(&h).unwrap_err();
        assert_eq!(c, ErrorCode::BadRequest);
        assert_eq!(m, "Insufficient information. Origin request header needed.");
        h.insert("origin", "http://a.example".parse().unwrap());
        let (c, m) = code(&h).unwrap_err();
        assert_eq!(c, ErrorCode::BadRequest);
        assert_eq!(m, "Invalid Access-Control-Request-Method: null");
        h.insert("access-control-request-method", "PATCH".parse().unwrap());
        assert_eq!(
            code(&h).unwrap_err().1,
            "Invalid Access-Control-Request-Method: PATCH"
        );
        h.insert("access-control-request-method", "PUT".parse().unwrap());
        h.insert(
            "access-control-request-headers",
            " Content-Type ,X-Amz-Date,".parse().unwrap(),
        );
        let p = Preflight::from_headers(&h).unwrap();
        assert_eq!(p.headers, hdrs(&["content-type", "x-amz-date"]));
    }

    const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <CORSRule>
    <ID>web upload</ID>
    <AllowedOrigin>http://*.example.com</AllowedOrigin>
    <AllowedOrigin>https://app.example.org</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
  </CORSRule>
</CORSConfiguration>"#;

    #[test]
    fn xml_and_record_round_trip() {
        let config = CorsConfig::from_xml(DOC.as_bytes()).unwrap();
        assert_eq!(config.rules.len(), 2);
        let first = &config.rules[0];
        assert_eq!(first.id.as_deref(), Some("web upload"));
        assert_eq!(first.allowed_origins.len(), 2);
        assert_eq!(first.allowed_methods, hdrs(&["PUT", "POST"]));
        assert_eq!(first.expose_headers, hdrs(&["ETag"]));
        assert_eq!(first.max_age_secs, Some(3000));
        assert_eq!(config.rules[1].max_age_secs, None);
        let mut x = XmlWriter::new();
        config.to_xml(&mut x);
        let rendered = x.finish();
        assert_eq!(CorsConfig::from_xml(&rendered).unwrap(), config);
        let record = config.to_record().unwrap();
        assert_eq!(CorsConfig::from_record(&record).unwrap(), config);
        assert!(CorsConfig::from_record(br#"{"v":2,"rules":[]}"#).is_err());
        assert!(CorsConfig::from_record(b"not json").is_err());
    }

    #[test]
    fn bad_configurations_are_refused() {
        let doc = |rule: &str| {
            format!("<CORSConfiguration><CORSRule>{rule}</CORSRule></CORSConfiguration>")
        };
        let refused = |body: &str| CorsConfig::from_xml(body.as_bytes()).unwrap_err().code();
        use ErrorCode::{InvalidArgument, InvalidRequest, MalformedXML};
        for (body, want) in [
            (doc("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"), InvalidRequest),
            (doc("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>"), InvalidRequest),
            (doc("<AllowedOrigin>http://*.*.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"), InvalidRequest),
            (doc("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedHeader>**</AllowedHeader>"), InvalidRequest),
            (doc("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><ExposeHeader>x-*</ExposeHeader>"), InvalidRequest),
            (doc(&format!("<ID>{}</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>", "i".repeat(256))), InvalidArgument),
            (doc("<AllowedMethod>GET</AllowedMethod>"), MalformedXML),
            (doc("<AllowedOrigin>*</AllowedOrigin>"), MalformedXML),
            (doc("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds>"), MalformedXML),
            (doc("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><Bogus/>"), MalformedXML),
            ("<CORSConfiguration/>".into(), MalformedXML),
            ("<CORSConfiguration><CORSRule>".into(), MalformedXML),
            ("<Other/>".into(), MalformedXML),
        ] {
            assert_eq!(refused(&body), want, "{body}");
        }
        let one = "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>";
        let at_limit = format!(
            "<CORSConfiguration>{}</CORSConfiguration>",
            one.repeat(MAX_RULES)
        );
        assert!(CorsConfig::from_xml(at_limit.as_bytes()).is_ok());
        let over = format!(
            "<CORSConfiguration>{}</CORSConfiguration>",
            one.repeat(MAX_RULES + 1)
        );
        assert_eq!(refused(&over), MalformedXML);
    }

    #[test]
    fn the_server_default_is_checked_like_a_put() {
        let ok = CorsDefault {
            allowed_origins: vec!["*".into()],
            allowed_methods: vec!["GET".into(), "HEAD".into()],
            allowed_headers: vec!["*".into()],
            expose_headers: vec!["ETag".into()],
            max_age_secs: Some(3600),
        };
        let rule = CorsRule::from_default(&ok).unwrap();
        assert!(rule.allows("http://x", "HEAD", &hdrs(&["range"])));
        let bad = CorsDefault {
            allowed_methods: vec!["OPTIONS".into()],
            ..ok
        };
        assert!(CorsRule::from_default(&bad).is_err());
    }
}
