//! XML in and out: a small writer for S3 response documents and a bounded
//! reader that turns the few request bodies S3 accepts into a tiny element
//! tree, which the typed parsers below consume.
//!
//! Responses are built with quick-xml's escaping; request bodies are parsed
//! with quick-xml's pull reader. Any malformed input becomes
//! [`ApiError::MalformedXml`], never a panic.
//!
//! A writer knows the [`Vendor`] whose SDK will read the document, and
//! spells what every document shares the way that service does: S3's
//! namespace on the root only for AWS clients (OSS and COS send none, and
//! `oss2` looks elements up without one), and OSS timestamps in whole
//! seconds. What differs per document (OSS's extra listing fields, say) is
//! the handler's business, which asks [`XmlWriter::vendor`].

use crate::http::error::ApiError;
use crate::http::vendor::Vendor;
use bytes::Bytes;
use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::fmt::Write as _;
use std::time::SystemTime;

/// The namespace of every S3 response document.
pub const S3_NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// Builds an XML document into a string. Text is always escaped; element
/// names are compile-time constants. The default writer is a bare S3
/// fragment (no declaration).
#[derive(Debug, Default)]
pub struct XmlWriter {
    buf: String,
    vendor: Vendor,
}

impl XmlWriter {
    /// An S3 document with the XML declaration.
    pub fn new() -> Self {
        Self::for_vendor(Vendor::Aws)
    }

    /// A document with the XML declaration, spelled for `vendor`'s SDK.
    pub fn for_vendor(vendor: Vendor) -> Self {
        XmlWriter {
            buf: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            vendor,
        }
    }

    /// The service whose SDK reads this document.
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// Opens the root element, with the S3 namespace for AWS clients.
    pub fn open_root(&mut self, name: &str) {
        match self.vendor {
            Vendor::Aws => {
                let _ = write!(self.buf, "<{name} xmlns=\"{S3_NS}\">");
            }
            Vendor::Oss | Vendor::Cos => self.open_plain(name),
        }
    }

    /// An empty root element (`<VersioningConfiguration/>`), with the S3
    /// namespace for AWS clients.
    pub fn empty_root(&mut self, name: &str) {
        match self.vendor {
            Vendor::Aws => {
                let _ = write!(self.buf, "<{name} xmlns=\"{S3_NS}\"/>");
            }
            Vendor::Oss | Vendor::Cos => {
                let _ = write!(self.buf, "<{name}/>");
            }
        }
    }

    /// Opens an element without attributes.
    pub fn open_plain(&mut self, name: &str) {
        let _ = write!(self.buf, "<{name}>");
    }

    /// Appends raw, already well-formed markup (attributes written by the
    /// caller from constants).
    pub fn raw(&mut self, markup: &str) {
        self.buf.push_str(markup);
    }

    /// Closes an element.
    pub fn close(&mut self, name: &str) {
        let _ = write!(self.buf, "</{name}>");
    }

    /// `<name>text</name>`, escaped. A character XML 1.0 cannot carry
    /// (C0 controls but tab, LF and CR; U+FFFE, U+FFFF) is written as
    /// U+FFFD, so the document stays well-formed whatever the text (an
    /// error message echoing `%00`, say). Keys, which must round-trip, are
    /// never written so: listings refuse them first ([`xml_safe`]).
    pub fn elem(&mut self, name: &str, text: &str) {
        let text = if xml_safe(text) {
            std::borrow::Cow::Borrowed(text)
        } else {
            std::borrow::Cow::Owned(
                text.chars()
                    .map(|c| if xml_char(c) { c } else { '\u{FFFD}' })
                    .collect::<String>(),
            )
        };
        let _ = write!(self.buf, "<{name}>{}</{name}>", escape(text.as_ref()));
    }

    /// `<name>text</name>` when `text` is `Some`.
    pub fn opt_elem(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text {
            self.elem(name, t);
        }
    }

    /// `<name>true|false</name>`.
    pub fn bool_elem(&mut self, name: &str, v: bool) {
        self.elem(name, if v { "true" } else { "false" });
    }

    /// An ISO 8601 timestamp with milliseconds; for OSS, whole seconds
    /// (`.000Z`: OSS never sends others, and `oss2` parses only that form).
    pub fn time_elem(&mut self, name: &str, t: SystemTime) {
        let text = match self.vendor {
            Vendor::Oss => iso8601_seconds(t),
            Vendor::Aws | Vendor::Cos => iso8601(t),
        };
        self.elem(name, &text);
    }

    /// The finished document.
    pub fn finish(self) -> Bytes {
        Bytes::from(self.buf)
    }
}

/// Whether XML 1.0 can carry `c` (its `Char` production; Rust chars are
/// never surrogates).
pub fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Whether every character of `text` can be written in an XML 1.0 document.
pub fn xml_safe(text: &str) -> bool {
    text.chars().all(xml_char)
}

/// `2026-11-21T14:32:00.000Z`, the timestamp format of S3 XML documents.
pub fn iso8601(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `2026-11-21T14:32:00.000Z`: [`iso8601`] with the milliseconds dropped.
fn iso8601_seconds(t: SystemTime) -> String {
    let dt: chrono::DateTime<chrono::Utc> = t.into();
    dt.format("%Y-%m-%dT%H:%M:%S.000Z").to_string()
}

/// An element of a parsed request body: local name (namespace prefix
/// dropped), text content and children.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Element {
    /// Local name.
    pub name: String,
    /// Concatenated text (entities resolved), untrimmed.
    pub text: String,
    /// Child elements in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// The first child with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children with this local name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Trimmed text of the first child with this name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }
}

/// Nesting deeper than this is refused: no S3 request body needs it, and it
/// bounds the work a hostile body can cause.
const MAX_DEPTH: usize = 16;

/// Parses a request body into its root element. The caller has already
/// bounded the body's size.
pub fn parse(body: &[u8]) -> Result<Element, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::MalformedXml("body is not UTF-8".into()))?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let bad = |m: String| ApiError::MalformedXml(m);
    loop {
        let ev = reader.read_event().map_err(|e| bad(e.to_string()))?;
        match ev {
            Event::Start(s) => {
                if root.is_some() {
                    return Err(bad("content after the root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(bad("nesting too deep".into()));
                }
                let name = String::from_utf8_lossy(s.local_name().as_ref()).into_owned();
                stack.push(Element {
                    name,
                    ..Default::default()
                });
            }
            Event::Empty(s) => {
                let name = String::from_utf8_lossy(s.local_name().as_ref()).into_owned();
                let el = Element {
                    name,
                    ..Default::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err(bad("content after the root element".into())),
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| bad("unbalanced end tag".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.xml_content().map_err(|e| bad(e.to_string()))?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(bad("text outside the root element".into())),
                }
            }
            Event::CData(c) => {
                let s = c.decode().map_err(|e| bad(e.to_string()))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| bad(e.to_string()))? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(|e| bad(e.to_string()))?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| bad(format!("unknown entity &{name};")))?
                            .to_string()
                    }
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => break,
            // Declarations, comments, processing instructions, doctype.
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(bad("unexpected end of document".into()));
    }
    root.ok_or_else(|| bad("empty document".into()))
}

/// Parses and checks the root element's name.
pub fn parse_root(body: &[u8], expected: &str) -> Result<Element, ApiError> {
    let root = parse(body)?;
    if root.name != expected {
        return Err(ApiError::MalformedXml(format!(
            "expected root element <{expected}>, found <{}>",
            root.name
        )));
    }
    Ok(root)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_cannot_carry_never_reach_the_document() {
        let mut x = XmlWriter::new();
        x.elem("Message", "bad \0 and \u{1}, kept: \t é \u{10000} <&>");
        let doc = String::from_utf8(x.finish().to_vec()).unwrap();
        assert!(!doc.contains('\0') && !doc.contains('\u{1}'), "{doc:?}");
        assert!(doc.contains("bad \u{FFFD} and \u{FFFD}, kept: \t é \u{10000} &lt;&amp;&gt;"));
        assert!(xml_safe("a\tb\r\n") && !xml_safe("a\u{FFFE}") && !xml_safe("\u{1F}"));
    }

    #[test]
    fn vendor_spelling() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        let doc = |v: Vendor| {
            let mut w = XmlWriter::for_vendor(v);
            w.open_root("R");
            w.time_elem("T", t);
            w.close("R");
            w.empty_root("E");
            String::from_utf8(w.finish().to_vec()).unwrap()
        };
        let aws = doc(Vendor::Aws);
        assert!(aws.contains(&format!(
            "<R xmlns=\"{S3_NS}\"><T>2023-11-14T22:13:20.123Z</T></R>"
        )));
        assert!(aws.ends_with(&format!("<E xmlns=\"{S3_NS}\"/>")));
        let oss = doc(Vendor::Oss);
        assert!(
            oss.ends_with("<R><T>2023-11-14T22:13:20.000Z</T></R><E/>"),
            "{oss}"
        );
        let cos = doc(Vendor::Cos);
        assert!(
            cos.ends_with("<R><T>2023-11-14T22:13:20.123Z</T></R><E/>"),
            "{cos}"
        );
    }

    #[test]
    fn writer_escapes_text() {
        let mut w = XmlWriter::new();
        w.open_root("R");
        w.elem("Key", "a<b>&\"c'");
        w.close("R");
        let s = String::from_utf8(w.finish().to_vec()).unwrap();
        assert!(s.contains("<Key>a&lt;b&gt;&amp;&quot;c&apos;</Key>"), "{s}");
        assert!(s.contains(S3_NS));
    }

    #[test]
    fn parses_nested_with_entities_and_namespace() {
        let doc = br#"<?xml version="1.0"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
            <Object><Key>a&amp;b&#x41;</Key></Object><Quiet>true</Quiet><Object><Key/></Object></Delete>"#;
        let root = parse_root(doc, "Delete").unwrap();
        let objs: Vec<_> = root.children_named("Object").collect();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0].child_text("Key"), Some("a&bA"));
        assert_eq!(objs[1].child_text("Key"), Some(""));
        assert_eq!(root.child_text("Quiet"), Some("true"));
    }

    #[test]
    fn malformed_inputs_are_errors() {
        for doc in [
            &b""[..],
            b"<a>",
            b"<a></b>",
            b"<a/><b/>",
            b"text",
            b"<a>&bogus;</a>",
            b"\xff\xfe",
        ] {
            assert!(
                matches!(parse(doc), Err(ApiError::MalformedXml(_))),
                "{doc:?}"
            );
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(parse(deep.as_bytes()).is_err());
        assert!(parse_root(b"<x/>", "Delete").is_err());
    }

    #[test]
    fn iso_timestamps_have_millis() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_795_789_920_123);
        assert_eq!(iso8601(t), "2026-11-27T14:32:00.123Z");
    }
}
