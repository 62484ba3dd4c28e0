//! Styles and bucket image settings: storage records and their APIs.
//!
//! A style is a named, stored process string, kept as the bucket setting
//! `style/<name>` (JSON: dialect, content, creation and modification times).
//! Three management APIs share the `?style` / `?iopstyle` sub-resources:
//! * Alibaba: `PUT /?style&styleName=n` with `<Style><Content/></Style>`,
//!   `GET /?style&styleName=n`, `GET /?style` (`<StyleList><Style>`),
//!   `DELETE /?style&styleName=n`;
//! * Tencent: `PUT /?style` with `<AddStyle>`, `GET /?style`
//!   (`<StyleList><StyleRule>`), `DELETE /?style` with `<DeleteStyle>`;
//! * UCloud (no published API; ours): `PUT/GET/DELETE /?iopstyle&styleName=n`
//!   with the style text as body, `GET /?iopstyle` lists as JSON.
//!
//! The bucket's image settings (style separators, source protection) are
//! the setting `image-config`, managed with `?x-imgbucket-image-config`
//! (JSON), since no vendor publishes an API for them.

use super::error::ProcessError;
pub use crate::config::AutoFormat;
use crate::http::body::Body;
use crate::http::headers::http_date;
use crate::http::xml::{self, XmlWriter};
use dialects::Dialect;
use http::{Method, Response, StatusCode};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use storage::Store;

/// Setting-name prefix of styles.
pub const STYLE_PREFIX: &str = "style/";
/// Setting name of the bucket's image configuration.
pub const IMAGE_CONFIG: &str = "image-config";
/// Separators a bucket may configure (`docs/styles.md`, "Separators").
pub const SEPARATORS: [&str; 5] = ["-", "_", "/", "!", "@!"];

/// Most styles per bucket, by the dialect of the API that adds one
/// (OSS 50, COS 100, US3 50).
pub fn max_styles(dialect: Dialect) -> usize {
    match dialect {
        Dialect::Cos => 100,
        Dialect::Oss | Dialect::Us3 => 50,
    }
}

/// A stored style.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StyleRecord {
    /// `oss`, `cos` or `us3`: the syntax of `content`.
    pub dialect: String,
    /// The process string.
    pub content: String,
    /// Creation time, seconds since the epoch.
    pub created: u64,
    /// Last modification time, seconds since the epoch.
    pub modified: u64,
}

impl StyleRecord {
    /// The dialect of the content.
    pub fn dialect(&self) -> Dialect {
        match self.dialect.as_str() {
            "cos" => Dialect::Cos,
            "us3" => Dialect::Us3,
            _ => Dialect::Oss,
        }
    }
}

/// The short name of a dialect in records.
pub fn dialect_name(d: Dialect) -> &'static str {
    match d {
        Dialect::Oss => "oss",
        Dialect::Cos => "cos",
        Dialect::Us3 => "us3",
    }
}

/// The dialect a style's content is written in, when its API does not
/// say: `image/` → OSS, `iopcmd=` → US3, else COS.
pub fn detect_content_dialect(content: &str) -> Dialect {
    let c = content.trim_start();
    if c.starts_with("image/") {
        Dialect::Oss
    } else if c.starts_with("iopcmd=") {
        Dialect::Us3
    } else {
        Dialect::Cos
    }
}

/// A bucket's image settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImageConfig {
    /// Style separators enabled for `GET /<key><sep><style>`.
    pub separators: Vec<String>,
    /// Refuse anonymous access to originals (`docs/styles.md`, "Source
    /// protection").
    pub protect_source: bool,
    /// Key suffixes protection applies to (case-insensitive); empty = all.
    pub protected_suffixes: Vec<String>,
    /// What processed images keep of the source's metadata: `keep`,
    /// `safe` (the default) or `strip` (`docs/styles.md`, "Metadata").
    pub metadata: imaging::MetadataPolicy,
    /// Output format by the client's `Accept` for requests that name none
    /// (`docs/styles.md`, "Format by Accept"); absent = the server's
    /// `[processing] auto_format`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_format: Option<AutoFormat>,
    /// How JPEG outputs are scanned when the request does not say
    /// (`docs/styles.md`, "Progressive JPEG"): `off` (baseline, the
    /// vendors' default) or `auto` (whichever is smaller).
    #[serde(skip_serializing_if = "JpegProgressive::is_off")]
    pub jpeg_progressive: JpegProgressive,
    /// JPEG outputs with trellis quantisation (`docs/styles.md`, "Trellis
    /// quantisation"): fewer bytes at the same quality, slower to encode.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub jpeg_trellis: bool,
}

/// A bucket's `jpeg_progressive` setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JpegProgressive {
    /// Baseline unless the request asks for `interlace`.
    #[default]
    Off,
    /// Baseline or progressive, whichever is smaller, unless the request
    /// names `interlace` (either way).
    Auto,
}

impl JpegProgressive {
    fn is_off(&self) -> bool {
        *self == JpegProgressive::Off
    }
}

/// The format for a client whose `Accept` header is `accept` under the
/// setting `auto`, or `None` when it takes neither (the source's format
/// then).
pub fn negotiate(auto: AutoFormat, accept: &str) -> Option<imaging::Negotiated> {
    let webp = accepts(accept, "image/webp");
    let avif = auto == AutoFormat::AvifWebp && accepts(accept, "image/avif");
    let animated = webp.then_some(imaging::Format::Webp);
    match auto {
        AutoFormat::Off => None,
        _ if avif => Some(imaging::Negotiated {
            still: imaging::Format::Avif,
            animated,
        }),
        _ if webp => Some(imaging::Negotiated {
            still: imaging::Format::Webp,
            animated,
        }),
        _ => None,
    }
}

/// Whether `accept` names `mime` with a non-zero quality. Wildcards
/// (`image/*`, `*/*`) do not count: browsers send them without decoding
/// every image type, so only an explicit type proves support (as imgproxy
/// and thumbor decide).
fn accepts(accept: &str, mime: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let named = parts.next().is_some_and(|t| t.eq_ignore_ascii_case(mime));
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        named && !refused
    })
}

impl ImageConfig {
    /// Whether anonymous non-style access to `key` is refused.
    pub fn protects(&self, key: &str) -> bool {
        if !self.protect_source {
            return false;
        }
        if self.protected_suffixes.is_empty() {
            return true;
        }
        let k = key.to_ascii_lowercase();
        self.protected_suffixes
            .iter()
            .any(|s| k.ends_with(&s.to_ascii_lowercase()))
    }

    fn validate(&self) -> Result<(), ProcessError> {
        for s in &self.separators {
            if !SEPARATORS.contains(&s.as_str()) {
                return Err(ProcessError::InvalidArgument(format!(
                    "separator {s:?} is not one of - _ / ! @!"
                )));
            }
        }
        if self.protected_suffixes.len() > 64
            || self
                .protected_suffixes
                .iter()
                .any(|s| s.is_empty() || s.len() > 32)
        {
            return Err(ProcessError::InvalidArgument(
                "protected_suffixes: at most 64 suffixes of 1 to 32 characters".into(),
            ));
        }
        Ok(())
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn secs_time(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

/// Loads the bucket's image settings (defaults when none are stored).
pub async fn image_config(store: &dyn Store, bucket: &str) -> Result<ImageConfig, ProcessError> {
    match store.bucket_setting(bucket, IMAGE_CONFIG).await? {
        None => Ok(ImageConfig::default()),
        Some(raw) => serde_json::from_slice(&raw)
            .map_err(|e| ProcessError::Internal(format!("stored image config: {e}"))),
    }
}

/// Loads a style; `None` when absent.
pub async fn load_style(
    store: &dyn Store,
    bucket: &str,
    name: &str,
) -> Result<Option<StyleRecord>, ProcessError> {
    if dialects::oss::validate_style_name(name).is_err() {
        return Ok(None);
    }
    match store
        .bucket_setting(bucket, &format!("{STYLE_PREFIX}{name}"))
        .await?
    {
        None => Ok(None),
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|e| ProcessError::Internal(format!("stored style {name}: {e}"))),
    }
}

/// Every style of the bucket, by name.
pub async fn list_styles(
    store: &dyn Store,
    bucket: &str,
) -> Result<Vec<(String, StyleRecord)>, ProcessError> {
    let mut out = Vec::new();
    for (name, raw) in store.list_bucket_settings(bucket, STYLE_PREFIX).await? {
        let name = name.strip_prefix(STYLE_PREFIX).unwrap_or(&name).to_string();
        match serde_json::from_slice(&raw) {
            Ok(r) => out.push((name, r)),
            Err(e) => tracing::warn!(bucket, name, error = %e, "unreadable style record"),
        }
    }
    Ok(out)
}

/// Validates and stores a style (create or replace).
pub async fn save_style(
    store: &dyn Store,
    bucket: &str,
    name: &str,
    dialect: Dialect,
    content: &str,
) -> Result<(), ProcessError> {
    dialects::oss::validate_style_name(name)?;
    let content = content.trim();
    if content.is_empty() {
        return Err(ProcessError::InvalidArgument(
            "the style content is empty".into(),
        ));
    }
    // Refuse what would fail at every use.
    dialects::parse_style(dialect, content)?;
    store.bucket(bucket).await?;
    let existing = load_style(store, bucket, name).await?;
    if existing.is_none() {
        let count = store
            .list_bucket_settings(bucket, STYLE_PREFIX)
            .await?
            .len();
        if count >= max_styles(dialect) {
            return Err(ProcessError::TooManyStyles(max_styles(dialect)));
        }
    }
    let now = now_secs();
    let record = StyleRecord {
        dialect: dialect_name(dialect).into(),
        content: content.to_string(),
        created: existing.map_or(now, |e| e.created),
        modified: now,
    };
    let raw = serde_json::to_vec(&record).map_err(|e| ProcessError::Internal(e.to_string()))?;
    store
        .put_bucket_setting(bucket, &format!("{STYLE_PREFIX}{name}"), Some(raw))
        .await?;
    Ok(())
}

async fn delete_style(store: &dyn Store, bucket: &str, name: &str) -> Result<(), ProcessError> {
    dialects::oss::validate_style_name(name)?;
    store
        .put_bucket_setting(bucket, &format!("{STYLE_PREFIX}{name}"), None)
        .await?;
    Ok(())
}

fn xml_ok(status: StatusCode, doc: bytes::Bytes) -> Response<Body> {
    crate::http::xml_response(status, doc)
}

fn json_ok(v: &serde_json::Value) -> Response<Body> {
    crate::http::json_response(StatusCode::OK, v.to_string())
}

fn no_content() -> Response<Body> {
    crate::http::empty_response(StatusCode::NO_CONTENT)
}

fn parse_xml(body: &[u8]) -> Result<xml::Element, ProcessError> {
    Ok(xml::parse(body)?)
}

/// Which style API a `?style` request speaks.
pub fn style_api_dialect(
    method: &Method,
    style_name: Option<&str>,
    body: &[u8],
    cos_signed: bool,
) -> Dialect {
    if style_name.is_some() {
        return Dialect::Oss;
    }
    let text = String::from_utf8_lossy(body);
    if ["<AddStyle", "<DeleteStyle", "<GetStyle"]
        .iter()
        .any(|root| text.contains(root))
    {
        return Dialect::Cos;
    }
    if *method == Method::GET && cos_signed {
        return Dialect::Cos;
    }
    Dialect::Oss
}

/// The Alibaba and Tencent `?style` API.
pub async fn style_api(
    store: &dyn Store,
    bucket: &str,
    method: &Method,
    style_name: Option<&str>,
    body: &[u8],
    api: Dialect,
) -> Result<Response<Body>, ProcessError> {
    match (api, method.clone()) {
        (Dialect::Oss, Method::PUT) => {
            let name = style_name.ok_or_else(|| {
                ProcessError::InvalidArgument("PUT ?style needs a styleName parameter".into())
            })?;
            let content = oss_style_content(body)?;
            let dialect = detect_content_dialect(&content);
            save_style(store, bucket, name, dialect, &content).await?;
            Ok(crate::http::empty_response(StatusCode::OK))
        }
        (Dialect::Oss, Method::GET) => match style_name {
            Some(name) => {
                dialects::oss::validate_style_name(name)?;
                let rec = load_style(store, bucket, name)
                    .await?
                    .ok_or_else(|| ProcessError::NoSuchStyle(name.to_string()))?;
                let mut x = XmlWriter::new();
                x.open_plain("Style");
                oss_style_fields(&mut x, name, &rec);
                x.close("Style");
                Ok(xml_ok(StatusCode::OK, x.finish()))
            }
            None => {
                let styles = list_styles(store, bucket).await?;
                let mut x = XmlWriter::new();
                x.open_plain("StyleList");
                for (name, rec) in &styles {
                    x.open_plain("Style");
                    oss_style_fields(&mut x, name, rec);
                    x.close("Style");
                }
                x.close("StyleList");
                Ok(xml_ok(StatusCode::OK, x.finish()))
            }
        },
        (Dialect::Oss, Method::DELETE) => {
            let name = style_name.ok_or_else(|| {
                ProcessError::InvalidArgument("DELETE ?style needs a styleName parameter".into())
            })?;
            delete_style(store, bucket, name).await?;
            Ok(no_content())
        }
        (Dialect::Cos, Method::PUT) => {
            let root = parse_xml(body)?;
            if root.name != "AddStyle" {
                return Err(ProcessError::MalformedBody("expected <AddStyle>".into()));
            }
            let name = root.child_text("StyleName").unwrap_or_default();
            let content = root.child_text("StyleBody").unwrap_or_default();
            let dialect = detect_content_dialect(content);
            save_style(store, bucket, name, dialect, content).await?;
            Ok(crate::http::empty_response(StatusCode::OK))
        }
        (Dialect::Cos, Method::GET) => {
            let wanted = if body.is_empty() {
                None
            } else {
                parse_xml(body)?.child_text("StyleName").map(str::to_string)
            };
            let mut x = XmlWriter::new();
            x.open_plain("StyleList");
            for (name, rec) in list_styles(store, bucket).await? {
                if wanted.as_deref().is_some_and(|w| w != name) {
                    continue;
                }
                x.open_plain("StyleRule");
                x.elem("StyleName", &name);
                x.elem("StyleBody", &rec.content);
                x.close("StyleRule");
            }
            x.close("StyleList");
            Ok(xml_ok(StatusCode::OK, x.finish()))
        }
        (Dialect::Cos, Method::DELETE) => {
            let root = parse_xml(body)?;
            if root.name != "DeleteStyle" {
                return Err(ProcessError::MalformedBody("expected <DeleteStyle>".into()));
            }
            let name = root.child_text("StyleName").unwrap_or_default();
            delete_style(store, bucket, name).await?;
            Ok(no_content())
        }
        _ => Err(ProcessError::BadRequest(format!(
            "{method} is not supported on ?style"
        ))),
    }
}

fn oss_style_fields(x: &mut XmlWriter, name: &str, rec: &StyleRecord) {
    x.elem("Name", name);
    x.elem("Content", &rec.content);
    x.elem("CreateTime", &http_date(secs_time(rec.created)));
    x.elem("LastModifyTime", &http_date(secs_time(rec.modified)));
}

/// The content of an Alibaba PutStyle body: `<Style><Content/></Style>`
/// (or the JSON form ossutil accepts, `{"Content": "..."}`).
fn oss_style_content(body: &[u8]) -> Result<String, ProcessError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ProcessError::MalformedBody("body is not UTF-8".into()))?
        .trim();
    if text.starts_with('{') {
        #[derive(Deserialize)]
        struct J {
            #[serde(rename = "Content")]
            content: String,
        }
        let j: J = serde_json::from_str(text)
            .map_err(|e| ProcessError::MalformedBody(format!("style JSON: {e}")))?;
        return Ok(j.content);
    }
    let root = parse_xml(text.as_bytes())?;
    if root.name != "Style" {
        return Err(ProcessError::MalformedBody(format!(
            "expected <Style>, found <{}>",
            root.name
        )));
    }
    root.child_text("Content")
        .map(str::to_string)
        .ok_or_else(|| ProcessError::MalformedBody("<Style> without <Content>".into()))
}

/// The UCloud-style `?iopstyle` API (our design; the vendor publishes none).
pub async fn iopstyle_api(
    store: &dyn Store,
    bucket: &str,
    method: &Method,
    style_name: Option<&str>,
    body: &[u8],
) -> Result<Response<Body>, ProcessError> {
    let need_name = || {
        style_name.ok_or_else(|| {
            ProcessError::InvalidArgument("?iopstyle needs a styleName parameter".into())
        })
    };
    match *method {
        Method::PUT => {
            let name = need_name()?;
            let content = std::str::from_utf8(body)
                .map_err(|_| ProcessError::InvalidArgument("the style is not UTF-8".into()))?;
            save_style(store, bucket, name, Dialect::Us3, content).await?;
            Ok(json_ok(&serde_json::json!({ "RetCode": 0 })))
        }
        Method::GET => {
            let mut styles = Vec::new();
            for (name, rec) in list_styles(store, bucket).await? {
                if style_name.is_some_and(|w| w != name) {
                    continue;
                }
                styles.push(serde_json::json!({ "StyleName": name, "StyleBody": rec.content }));
            }
            if let (Some(name), true) = (style_name, styles.is_empty()) {
                return Err(ProcessError::NoSuchStyle(name.to_string()));
            }
            Ok(json_ok(
                &serde_json::json!({ "RetCode": 0, "Styles": styles }),
            ))
        }
        Method::DELETE => {
            delete_style(store, bucket, need_name()?).await?;
            Ok(no_content())
        }
        _ => Err(ProcessError::BadRequest(format!(
            "{method} is not supported on ?iopstyle"
        ))),
    }
}

/// `?x-imgbucket-image-config`: GET / PUT (JSON body) / DELETE.
pub async fn image_config_api(
    store: &dyn Store,
    bucket: &str,
    method: &Method,
    body: &[u8],
) -> Result<Response<Body>, ProcessError> {
    match *method {
        Method::GET => {
            let cfg = image_config(store, bucket).await?;
            store.bucket(bucket).await?;
            let v =
                serde_json::to_value(&cfg).map_err(|e| ProcessError::Internal(e.to_string()))?;
            Ok(json_ok(&v))
        }
        Method::PUT => {
            let cfg: ImageConfig = serde_json::from_slice(body)
                .map_err(|e| ProcessError::MalformedBody(format!("image config JSON: {e}")))?;
            cfg.validate()?;
            let raw =
                serde_json::to_vec(&cfg).map_err(|e| ProcessError::Internal(e.to_string()))?;
            store
                .put_bucket_setting(bucket, IMAGE_CONFIG, Some(raw))
                .await?;
            Ok(crate::http::empty_response(StatusCode::OK))
        }
        Method::DELETE => {
            store.put_bucket_setting(bucket, IMAGE_CONFIG, None).await?;
            Ok(no_content())
        }
        _ => Err(ProcessError::BadRequest(format!(
            "{method} is not supported on ?x-imgbucket-image-config"
        ))),
    }
}

/// Splits `key` at a configured separator whose right side names an
/// existing style: `Some((source key, style name, record))`.
pub async fn match_separator(
    store: &dyn Store,
    bucket: &str,
    key: &str,
    cfg: &ImageConfig,
) -> Result<Option<(String, String, StyleRecord)>, ProcessError> {
    // Longer separators first, so `@!` wins over `!`.
    let mut seps: Vec<&str> = cfg.separators.iter().map(String::as_str).collect();
    seps.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for sep in seps {
        let Some(i) = key.rfind(sep) else { continue };
        let (source, name) = (&key[..i], &key[i + sep.len()..]);
        if source.is_empty() || name.is_empty() {
            continue;
        }
        if let Some(rec) = load_style(store, bucket, name).await? {
            return Ok(Some((source.to_string(), name.to_string(), rec)));
        }
    }
    Ok(None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn content_dialects_and_protection() {
        assert_eq!(detect_content_dialect("image/resize,w_100"), Dialect::Oss);
        assert_eq!(
            detect_content_dialect("iopcmd=thumbnail&type=4&width=100"),
            Dialect::Us3
        );
        assert_eq!(
            detect_content_dialect("imageMogr2/thumbnail/!50p"),
            Dialect::Cos
        );
        let cfg = ImageConfig {
            separators: vec!["!".into()],
            protect_source: true,
            protected_suffixes: vec![".JPG".into()],
            ..ImageConfig::default()
        };
        assert!(cfg.protects("a/b.jpg"));
        assert!(!cfg.protects("a/b.png"));
        assert!(cfg.validate().is_ok());
        let bad = ImageConfig {
            separators: vec!["#".into()],
            ..ImageConfig::default()
        };
        assert!(bad.validate().is_err());
        assert_eq!(
            oss_style_content(b"<Style><Content>image/resize,w_1</Content></Style>").unwrap(),
            "image/resize,w_1"
        );
        assert_eq!(
            oss_style_content(br#"{"Content": "image/info"}"#).unwrap(),
            "image/info"
        );
        assert!(oss_style_content(b"<Other/>").is_err());
    }

    #[test]
    fn style_api_is_told_apart() {
        let put = Method::PUT;
        let get = Method::GET;
        assert_eq!(
            style_api_dialect(&put, Some("n"), b"<Style/>", false),
            Dialect::Oss
        );
        assert_eq!(
            style_api_dialect(&put, None, b"<AddStyle/>", false),
            Dialect::Cos
        );
        assert_eq!(
            style_api_dialect(&Method::DELETE, None, b"<DeleteStyle/>", false),
            Dialect::Cos
        );
        assert_eq!(style_api_dialect(&get, None, b"", false), Dialect::Oss);
        assert_eq!(style_api_dialect(&get, None, b"", true), Dialect::Cos);
        assert_eq!(
            style_api_dialect(&get, None, b"<GetStyle/>", false),
            Dialect::Cos
        );
    }

    #[test]
    fn auto_format_follows_explicit_accept_types() {
        let chrome = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
        let safari_old = "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5";
        let wildcard = "image/*,*/*;q=0.8";
        let n = |f: AutoFormat, a: &str| negotiate(f, a).map(|n| (n.still, n.animated));
        use imaging::Format::{Avif, Webp};
        assert_eq!(n(AutoFormat::AvifWebp, chrome), Some((Avif, Some(Webp))));
        assert_eq!(n(AutoFormat::Webp, chrome), Some((Webp, Some(Webp))));
        assert_eq!(
            n(AutoFormat::AvifWebp, safari_old),
            Some((Webp, Some(Webp)))
        );
        assert_eq!(n(AutoFormat::AvifWebp, wildcard), None);
        assert_eq!(n(AutoFormat::Off, chrome), None);
        // Refused with q=0, spaces and case tolerated.
        assert_eq!(n(AutoFormat::Webp, "image/webp;q=0, image/png"), None);
        assert_eq!(
            n(AutoFormat::Webp, " Image/WebP ; q=0.5"),
            Some((Webp, Some(Webp)))
        );
        // AVIF only: still images AVIF, animations keep their format.
        assert_eq!(n(AutoFormat::AvifWebp, "image/avif"), Some((Avif, None)));
    }
}
