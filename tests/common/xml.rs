//! Reading and writing the small XML documents of the tests, by string
//! search (no nesting logic): element texts with entities decoded, and the
//! CompleteMultipartUpload body.

/// The text of the first `<tag>` element of `doc`, entities decoded.
pub fn xml_text(doc: &str, tag: &str) -> Option<String> {
    xml_all(doc, tag).into_iter().next()
}

/// The texts of all `<tag>` elements of `doc`, entities decoded.
pub fn xml_all(doc: &str, tag: &str) -> Vec<String> {
    elements(doc, tag).iter().map(|e| unescape(e)).collect()
}

/// The contents of all `<tag>` elements of `doc`, as written (for elements
/// that hold other elements).
pub fn elements(doc: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(after[..j].to_string());
        rest = &after[j + close.len()..];
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&apos;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A CompleteMultipartUpload document naming these `(part number, ETag)`
/// pairs, the ETags written as given.
pub fn complete_multipart_xml(parts: &[(u32, impl AsRef<str>)]) -> String {
    let mut doc = String::from("<CompleteMultipartUpload>");
    for (n, etag) in parts {
        let etag = etag.as_ref();
        doc.push_str(&format!(
            "<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
        ));
    }
    doc + "</CompleteMultipartUpload>"
}
