//! Browser form uploads (POST Object): forms signed as
//! `generate_presigned_post` signs them, posted path style and
//! virtual-host style; the success answers, and each refusal storing
//! nothing.

use crate::common::server::{Options, Server};
use crate::common::Resp;
use base64::Engine;
use bytes::Bytes;
use imgbucket::auth::sign;
use std::time::SystemTime;

const BOUNDARY: &str = "----imgbucketFormBoundary7MA4YWxk";

/// A multipart/form-data body: the fields in order, then the file part
/// (if any), then `after` fields.
fn form_body(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Bytes {
    let mut out = Vec::new();
    for (k, v) in fields {
        out.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((filename, data)) = file {
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    Bytes::from(out)
}

/// The fields of a form signed by the server's key: the policy (with
/// `conditions` plus the credential fields' conditions, expiring in an
/// hour) and the SigV4 fields, then `fields`.
fn signed_fields(s: &Server, conditions: &str, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    signed_at(s, conditions, fields, 3600)
}

fn signed_at(
    s: &Server,
    conditions: &str,
    fields: &[(&str, &str)],
    expires_in: i64,
) -> Vec<(String, String)> {
    let now = SystemTime::now();
    let (credential, date, _) = sign::sign_post_policy_v4("", &s.creds, now);
    let expiration = chrono::Utc::now() + chrono::Duration::seconds(expires_in);
    let policy = format!(
        r#"{{"expiration": "{}", "conditions": [{conditions}, {{"x-amz-algorithm": "AWS4-HMAC-SHA256"}}, {{"x-amz-credential": "{credential}"}}, {{"x-amz-date": "{date}"}}]}}"#,
        expiration.format("%Y-%m-%dT%H:%M:%S%.3fZ")
    );
    let policy = base64::engine::general_purpose::STANDARD.encode(policy);
    let (credential, date, signature) = sign::sign_post_policy_v4(&policy, &s.creds, now);
    let mut out: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    out.extend([
        ("x-amz-algorithm".into(), "AWS4-HMAC-SHA256".into()),
        ("x-amz-credential".into(), credential),
        ("x-amz-date".into(), date),
        ("policy".into(), policy),
        ("x-amz-signature".into(), signature),
    ]);
    out
}

async fn post(
    s: &Server,
    path: &str,
    headers: &[(&str, &str)],
    fields: &[(String, String)],
    file: Option<(&str, &[u8])>,
) -> Resp {
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let mut h = vec![("content-type", ct.as_str())];
    h.extend_from_slice(headers);
    s.anon("POST", path, &h, form_body(&fields, file)).await
}

#[tokio::test]
async fn signed_form_uploads_and_their_answers() {
    let s = Server::start().await;
    s.mb("forms").await;
    let conditions = r#"{"bucket": "forms"}, ["starts-with", "$key", "up/"], ["starts-with", "$Content-Type", "image/"], ["starts-with", "$x-amz-meta-tag", ""], ["starts-with", "$success_action_status", ""]"#;
    // Default answer: 204, with the ETag and Location; metadata kept.
    let fields = signed_fields(
        &s,
        conditions,
        &[
            ("Key", "up/${filename}"),
            ("content-type", "image/png"),
            ("X-Amz-Meta-Tag", "Hello World"),
        ],
    );
    let r = post(&s, "/forms", &[], &fields, Some(("cat.png", b"PNGDATA"))).await;
    r.expect(204);
    assert!(r.header("etag").is_some());
    assert!(r.header("location").unwrap().ends_with("/forms/up/cat.png"));
    let got = s.get("/forms/up/cat.png").await;
    got.expect(200);
    assert_eq!(got.text(), "PNGDATA");
    assert_eq!(got.header("content-type"), Some("image/png"));
    assert_eq!(got.header("x-amz-meta-tag"), Some("Hello World"));
    assert_eq!(got.header("etag"), r.header("etag"));
    // 201: the PostResponse document.
    let fields = signed_fields(
        &s,
        conditions,
        &[
            ("key", "up/two.txt"),
            ("Content-Type", "image/x"),
            ("success_action_status", "201"),
        ],
    );
    let r = post(&s, "/forms", &[], &fields, Some(("x", b"two"))).await;
    r.expect(201);
    assert_eq!(r.xml("Bucket").as_deref(), Some("forms"));
    assert_eq!(r.xml("Key").as_deref(), Some("up/two.txt"));
    assert!(r.xml("Location").unwrap().ends_with("/forms/up/two.txt"));
    assert_eq!(r.xml("ETag").as_deref(), r.header("etag"));
    // A redirect: 303 with the object appended.
    let conditions_r = r#"{"bucket": "forms"}, ["starts-with", "$key", ""], {"success_action_redirect": "http://app.example.com/done"}"#;
    let fields = signed_fields(
        &s,
        conditions_r,
        &[
            ("key", "r.txt"),
            ("success_action_redirect", "http://app.example.com/done"),
        ],
    );
    let r = post(&s, "/forms", &[], &fields, Some(("x", b"r"))).await;
    r.expect(303);
    let to = r.header("location").unwrap();
    assert!(
        to.starts_with("http://app.example.com/done?bucket=forms&key=r.txt&etag=%22"),
        "{to}"
    );
}

#[tokio::test]
async fn virtual_host_style_and_cors() {
    let s = Server::start_with(Options {
        domain: Some("s3.local"),
        ..Options::default()
    })
    .await;
    s.mb("vforms").await;
    let cors = r#"<CORSConfiguration><CORSRule><AllowedOrigin>http://app.example.com</AllowedOrigin><AllowedMethod>POST</AllowedMethod></CORSRule></CORSConfiguration>"#;
    s.put("/vforms?cors", cors).await.expect(200);
    let host = format!("vforms.s3.local:{}", s.addr.port());
    let fields = signed_fields(
        &s,
        r#"{"bucket": "vforms"}, {"key": "v.txt"}"#,
        &[("key", "v.txt")],
    );
    let headers = [
        ("host", host.as_str()),
        ("origin", "http://app.example.com"),
    ];
    let r = post(&s, "/", &headers, &fields, Some(("v", b"vhost"))).await;
    r.expect(204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.example.com")
    );
    assert_eq!(s.get("/vforms/v.txt").await.text(), "vhost");
    // Errors are decorated too, so the page can read them.
    let mut other = fields.clone();
    other[0].1 = "other.txt".into();
    let r = post(&s, "/", &headers, &other, Some(("v", b"x"))).await;
    r.expect_error(403, "AccessDenied");
    assert!(r.header("access-control-allow-origin").is_some());
}

async fn assert_missing(s: &Server) {
    s.get("/forms/k1").await.expect_error(404, "NoSuchKey");
}

#[tokio::test]
async fn refusals_store_nothing() {
    let s = Server::start().await;
    s.mb("forms").await;
    let base = r#"{"bucket": "forms"}, ["starts-with", "$key", "k"]"#;
    let key = [("key", "k1")];

    let message = |r: &Resp| r.xml("Message").unwrap_or_default();

    // A failed condition.
    let fields = signed_fields(
        &s,
        r#"{"bucket": "forms"}, ["starts-with", "$key", "other/"]"#,
        &key,
    );
    let r = post(&s, "/forms", &[], &fields, Some(("f", b"x"))).await;
    r.expect_error(403, "AccessDenied");
    assert_eq!(
        message(&r),
        r#"Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "other/"]"#
    );
    assert_missing(&s).await;
    // A field the policy does not name.
    let fields = signed_fields(
        &s,
        base,
        &[
            ("key", "k1"),
            ("x-amz-meta-extra", "1"),
            ("x-ignore-me", "ok"),
        ],
    );
    let r = post(&s, "/forms", &[], &fields, Some(("f", b"x"))).await;
    r.expect_error(403, "AccessDenied");
    assert_eq!(
        message(&r),
        "Invalid according to Policy: Extra input fields: x-amz-meta-extra"
    );
    assert_missing(&s).await;
    // Expired.
    let fields = signed_at(&s, base, &key, -60);
    let r = post(&s, "/forms", &[], &fields, Some(("f", b"x"))).await;
    r.expect_error(403, "AccessDenied");
    assert_eq!(message(&r), "Invalid according to Policy: Policy expired.");
    // A tampered signature.
    let mut fields = signed_fields(&s, base, &key);
    fields.last_mut().unwrap().1 = "0".repeat(64);
    post(&s, "/forms", &[], &fields, Some(("f", b"x")))
        .await
        .expect_error(403, "SignatureDoesNotMatch");
    // An unknown access key.
    let mut fields = signed_fields(&s, base, &key);
    fields[2].1 = fields[2].1.replace("AKIDTESTIMGBUCKET", "NOSUCHKEY");
    post(&s, "/forms", &[], &fields, Some(("f", b"x")))
        .await
        .expect_error(403, "InvalidAccessKeyId");
    // content-length-range, enforced on the streamed file.
    let ranged = format!(r#"{base}, ["content-length-range", 2, 5]"#);
    let fields = signed_fields(&s, &ranged, &key);
    post(&s, "/forms", &[], &fields, Some(("f", b"too long")))
        .await
        .expect_error(400, "EntityTooLarge");
    post(&s, "/forms", &[], &fields, Some(("f", b"1")))
        .await
        .expect_error(400, "EntityTooSmall");
    assert_missing(&s).await;
    post(&s, "/forms", &[], &fields, Some(("f", b"123")))
        .await
        .expect(204);
    s.delete("/forms/k1").await.expect(204);
    // No file; no key.
    let fields = signed_fields(&s, base, &key);
    let r = post(&s, "/forms", &[], &fields, None).await;
    r.expect_error(400, "InvalidArgument");
    assert_eq!(
        message(&r),
        "POST requires exactly one file upload per request."
    );
    let fields = signed_fields(&s, base, &[]);
    post(&s, "/forms", &[], &fields, Some(("f", b"x")))
        .await
        .expect_error(400, "InvalidArgument");
    // A file truncated mid-stream.
    let fields = signed_fields(&s, base, &key);
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let body = form_body(&pairs, Some(("f", b"0123456789")));
    let cut = body.slice(..body.len() - 30);
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    s.anon("POST", "/forms", &[("content-type", &ct)], cut)
        .await
        .expect_error(400, "MalformedPOSTRequest");
    assert_missing(&s).await;
    // Fields before the file over 20 KiB.
    let big = "v".repeat(21 * 1024);
    let fields = signed_fields(&s, base, &[("key", "k1"), ("x-ignore-pad", &big)]);
    post(&s, "/forms", &[], &fields, Some(("f", b"x")))
        .await
        .expect_error(400, "MaxPostPreDataLengthExceeded");
    // Not a form at all.
    s.anon("POST", "/forms", &[("content-type", "text/plain")], "x")
        .await
        .expect_error(412, "PreconditionFailed");
    // Anonymous (no policy, no signature) on a private bucket.
    let anon = vec![("key".to_string(), "k1".to_string())];
    post(&s, "/forms", &[], &anon, Some(("f", b"x")))
        .await
        .expect_error(403, "AccessDenied");
    assert_missing(&s).await;
}

#[tokio::test]
async fn large_files_stream_through() {
    let s = Server::start().await;
    s.mb("forms").await;
    let data: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let fields = signed_fields(
        &s,
        r#"{"bucket": "forms"}, {"key": "big.bin"}"#,
        &[("key", "big.bin")],
    );
    post(&s, "/forms", &[], &fields, Some(("big.bin", &data)))
        .await
        .expect(204);
    let got = s.get("/forms/big.bin").await;
    got.expect(200);
    assert_eq!(got.body.len(), data.len());
    assert!(got.body == data);
}

#[tokio::test]
async fn a_tagging_field_tags_the_object() {
    let s = Server::start().await;
    s.mb("forms").await;
    let doc =
        "<Tagging><TagSet><Tag><Key>from</Key><Value>form upload</Value></Tag></TagSet></Tagging>";
    let conditions =
        format!(r#"{{"bucket": "forms"}}, ["starts-with", "$key", ""], {{"tagging": "{doc}"}}"#);
    let fields = signed_fields(&s, &conditions, &[("key", "t.txt"), ("tagging", doc)]);
    post(&s, "/forms", &[], &fields, Some(("t.txt", b"x")))
        .await
        .expect(204);
    let tags = s.get("/forms/t.txt?tagging").await;
    tags.expect(200);
    assert!(
        tags.text()
            .contains("<Key>from</Key><Value>form upload</Value>"),
        "{}",
        tags.text()
    );
    // A bad document stores nothing.
    let bad = "<Tagging><TagSet><Tag><Key>aws:x</Key><Value>v</Value></Tag></TagSet></Tagging>";
    let conditions =
        format!(r#"{{"bucket": "forms"}}, ["starts-with", "$key", ""], {{"tagging": "{bad}"}}"#);
    let fields = signed_fields(&s, &conditions, &[("key", "u.txt"), ("tagging", bad)]);
    post(&s, "/forms", &[], &fields, Some(("u.txt", b"x")))
        .await
        .expect_error(400, "InvalidTag");
    s.get("/forms/u.txt").await.expect_error(404, "NoSuchKey");
}
