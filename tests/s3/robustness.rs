//! Bad input of every kind is a clear 4xx (or 501 for a known S3 feature we
//! lack) with an S3 error document, never a 500 or a dropped connection;
//! and the connection stays usable afterwards.

use crate::common::{harness, Server};

/// (method, path, headers, body, expected error code).
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>, &'a str, &'a str);

#[tokio::test]
async fn bad_inputs_are_client_errors() {
    let s = Server::start().await;
    s.mb("bkt").await;
    s.put("/bkt/k", "0123456789").await.expect(200);
    let id = s.create_upload("/bkt/m", &[]).await;
    let long_key = format!("/bkt/{}", "x".repeat(2000));
    let cases: Vec<Case> = vec![
        ("PUT", "/bkt2".into(), vec![], "<CreateBucketConfiguration><", "MalformedXML"),
        ("PUT", "/bkt2".into(), vec![], "\u{0}\u{1}binary", "MalformedXML"),
        ("PUT", "/bkt?acl".into(), vec![], "<AccessControlPolicy><AccessControlList><Grant></Grant></AccessControlList></AccessControlPolicy>", "MalformedACLError"),
        ("POST", "/bkt?delete".into(), vec![], "not xml at all", "MalformedXML"),
        ("POST", "/bkt?delete".into(), vec![], "<Delete><Quiet>yes</Quiet><Object><Key>a</Key></Object></Delete>", "MalformedXML"),
        ("POST", format!("/bkt/m?uploadId={id}"), vec![], "<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>", "MalformedXML"),
        ("PUT", format!("/bkt/m?partNumber=abc&uploadId={id}"), vec![], "x", "InvalidArgument"),
        ("PUT", format!("/bkt/m?partNumber=99999999999&uploadId={id}"), vec![], "x", "InvalidArgument"),
        ("GET", "/bkt?max-keys=1.5".into(), vec![], "", "InvalidArgument"),
        ("GET", "/bkt?list-type=2&max-keys=".into(), vec![], "", "InvalidArgument"),
        ("GET", "/bkt?uploads&max-uploads=x".into(), vec![], "", "InvalidArgument"),
        ("GET", "/bkt?list-type=2&continuation-token=%E2%98%83".into(), vec![], "", "InvalidArgument"),
        ("GET", "/bkt?encoding-type=".into(), vec![], "", "InvalidArgument"),
        ("PUT", "/bkt/c".into(), vec![("x-amz-copy-source", "%")], "", "InvalidArgument"),
        ("PUT", "/bkt/c".into(), vec![("x-amz-copy-source", "/BAD_bucket/k")], "", "InvalidBucketName"),
        ("PUT", "/bkt/c".into(), vec![("x-amz-copy-source", "/bkt/%FF")], "", "InvalidURI"),
        ("PUT", format!("/bkt/m?partNumber=1&uploadId={id}"), vec![("x-amz-copy-source", "/bkt/k"), ("x-amz-copy-source-range", "bytes=x-y")], "", "InvalidArgument"),
        ("PUT", "/bkt/c".into(), vec![("content-md5", "AAAA")], "x", "InvalidDigest"),
        ("PUT", "/bkt/c".into(), vec![("x-amz-acl", "nonsense")], "", "InvalidArgument"),
        ("PUT", "/bkt?acl".into(), vec![("x-amz-acl", "nonsense")], "", "InvalidArgument"),
        ("PUT", long_key.clone(), vec![], "x", "KeyTooLongError"),
        ("GET", "/bkt/%C3%28".into(), vec![], "", "InvalidURI"),
        ("GET", "/bkt?policy".into(), vec![], "", "NoSuchBucketPolicy"),
        ("PUT", "/bkt?policy".into(), vec![], "{", "MalformedPolicy"),
        ("GET", "/bkt?policyStatus".into(), vec![], "", "NotImplemented"),
        ("PATCH", "/bkt/k".into(), vec![], "", "MethodNotAllowed"),
        ("GET", "/bkt/k".into(), vec![("range", "bytes=20-30")], "", "InvalidRange"),
        ("PUT", "/bkt/c".into(), vec![("content-length", "6000000000")], "", "EntityTooLarge"),
    ];
    for (method, path, headers, body, code) in cases {
        if code == "EntityTooLarge" {
            // The announced length alone is refused; no body is sent.
            let r = send_head_only(&s, method, &path, &headers).await;
            assert!(r.starts_with("HTTP/1.1 400"), "{r}");
            assert!(r.contains("<Code>EntityTooLarge</Code>"), "{r}");
            continue;
        }
        let r = s.req(method, &path, &headers, body.to_string()).await;
        let status = r.status.as_u16();
        assert!(
            (400..500).contains(&status) || status == 501,
            "{method} {path}: {status} {}",
            r.text()
        );
        assert_eq!(r.code(), code, "{method} {path}: {}", r.text());
    }
    // Everything still works.
    assert_eq!(s.get("/bkt/k").await.text(), "0123456789");
}

/// Sends only a signed request head with `Content-Length` (no body) and
/// returns the raw response.
async fn send_head_only(s: &Server, method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    use imgbucket::auth::sign;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut h = harness::header_map(headers);
    let m: http::Method = method.parse().unwrap();
    sign::sign_v4_request(
        &m,
        &s.uri(path),
        &mut h,
        sign::UNSIGNED_PAYLOAD,
        &s.creds,
        std::time::SystemTime::now(),
    )
    .unwrap();
    let mut conn = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = harness::raw_head(method, path, &h);
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// `Expect: 100-continue` with no body declared: the answer comes without
/// a `100 Continue` (nothing to continue) and closes the connection, so a
/// client that keeps per-connection state about that exchange (aws-cli's
/// botocore) starts the next request afresh. With a body declared, the
/// server asks for it.
#[tokio::test]
async fn expect_continue_without_a_body_closes_the_connection() {
    let s = Server::start().await;
    s.mb("bkt").await;
    // (key, content-length, expect 100-continue, how the answer starts,
    // whether it closes the connection)
    let cases = [
        ("empty", "0", true, "HTTP/1.1 200 ", true),
        ("full", "10", true, "HTTP/1.1 100 Continue\r\n\r\n", false),
        ("plain", "0", false, "HTTP/1.1 200 ", false),
    ];
    for (key, length, expect, start, closes) in cases {
        let mut headers = vec![("content-length", length)];
        if expect {
            headers.push(("expect", "100-continue"));
        }
        let answer = send_head_only(&s, "PUT", &format!("/bkt/{key}"), &headers).await;
        assert!(answer.starts_with(start), "{key}: {answer}");
        let says_close = answer
            .to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n");
        assert_eq!(says_close, closes, "{key}: {answer}");
    }
}
