//! CORS over real HTTP: Put/Get/DeleteBucketCors, preflights (`OPTIONS`,
//! unsigned, path and virtual-host style) with S3's answers when they are
//! refused, the `Access-Control-*` headers on actual responses (objects,
//! errors, processed images), the server-wide default rule, and a second
//! gateway node seeing a change within the settings' bound.

use crate::common::{png, solid, Options, Server};
use imgbucket::config::CorsDefault;
use std::time::{Duration, Instant};

const RULES: &str = r#"<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <CORSRule>
    <ID>uploads</ID>
    <AllowedOrigin>http://*.example.com</AllowedOrigin>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedHeader>content-type</AllowedHeader>
    <AllowedHeader>x-amz-*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>600</MaxAgeSeconds>
  </CORSRule>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
  </CORSRule>
</CORSConfiguration>"#;

const WEB: &str = "http://app.example.com";

/// A preflight as a browser sends it: no credentials.
async fn preflight(s: &Server, path: &str, asks: &[(&str, &str)]) -> crate::common::Resp {
    s.anon("OPTIONS", path, asks, "").await
}

#[tokio::test]
async fn put_get_delete_bucket_cors() {
    let s = Server::start().await;
    s.mb("bkt").await;
    s.get("/bkt?cors")
        .await
        .expect_error(404, "NoSuchCORSConfiguration");
    s.put("/bkt?cors", RULES).await.expect(200);
    let got = s.get("/bkt?cors").await;
    got.expect(200);
    let doc = got.text();
    for part in [
        "<ID>uploads</ID>",
        "<AllowedOrigin>http://*.example.com</AllowedOrigin>",
        "<AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>",
        "<AllowedHeader>x-amz-*</AllowedHeader>",
        "<ExposeHeader>ETag</ExposeHeader>",
        "<MaxAgeSeconds>600</MaxAgeSeconds>",
        "<AllowedOrigin>*</AllowedOrigin>",
    ] {
        assert!(doc.contains(part), "{part} missing from {doc}");
    }
    // The document a GET answers is one a PUT accepts, unchanged.
    s.put("/bkt?cors", got.body.clone()).await.expect(200);
    assert_eq!(s.get("/bkt?cors").await.text(), doc);
    // Content-MD5, when sent, is checked as for every body.
    s.req(
        "PUT",
        "/bkt?cors",
        &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")],
        RULES,
    )
    .await
    .expect_error(400, "BadDigest");
    let md5 = crate::common::b64_std(&md5_of(RULES.as_bytes()));
    s.req("PUT", "/bkt?cors", &[("content-md5", &md5)], RULES)
        .await
        .expect(200);
    s.delete("/bkt?cors").await.expect(204);
    s.get("/bkt?cors")
        .await
        .expect_error(404, "NoSuchCORSConfiguration");
    // Owner-only, and only on an existing bucket.
    assert_eq!(s.anon_get("/bkt?cors").await.code(), "AccessDenied");
    assert_eq!(
        s.anon("PUT", "/bkt?cors", &[], RULES).await.code(),
        "AccessDenied"
    );
    s.put("/nobkt?cors", RULES)
        .await
        .expect_error(404, "NoSuchBucket");
    s.get("/nobkt?cors").await.expect_error(404, "NoSuchBucket");
}

fn md5_of(data: &[u8]) -> Vec<u8> {
    use md5::Digest;
    md5::Md5::digest(data).to_vec()
}

#[tokio::test]
async fn bad_configurations_are_refused_as_s3_does() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let rule = |inner: &str| {
        format!("<CORSConfiguration><CORSRule>{inner}</CORSRule></CORSConfiguration>")
    };
    s.put(
        "/bkt?cors",
        rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"),
    )
    .await
    .expect_error(400, "InvalidRequest");
    s.put(
        "/bkt?cors",
        rule("<AllowedOrigin>http://*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"),
    )
    .await
    .expect_error(400, "InvalidRequest");
    s.put("/bkt?cors", "<CORSConfiguration><CORSRule>")
        .await
        .expect_error(400, "MalformedXML");
    s.put("/bkt?cors", "<CORSConfiguration/>")
        .await
        .expect_error(400, "MalformedXML");
    let one =
        "<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>";
    s.put(
        "/bkt?cors",
        format!("<CORSConfiguration>{}</CORSConfiguration>", one.repeat(101)),
    )
    .await
    .expect_error(400, "MalformedXML");
    // Nothing refused was stored.
    s.get("/bkt?cors")
        .await
        .expect_error(404, "NoSuchCORSConfiguration");
}

#[tokio::test]
async fn preflights_are_answered_from_the_rules() {
    let s = Server::start().await;
    s.mb("bkt").await;
    let asks = [
        ("origin", WEB),
        ("access-control-request-method", "PUT"),
        ("access-control-request-headers", "Content-Type, X-Amz-Date"),
    ];
    // No rules yet: 403, before any of them is consulted.
    let r = preflight(&s, "/bkt/k.jpg", &asks).await;
    r.expect_error(403, "AccessForbidden");
    assert!(r.xml("Message").unwrap().contains("CORS is not enabled"));
    s.put("/bkt?cors", RULES).await.expect(200);
    for path in [
        "/bkt/k.jpg",
        "/bkt",
        "/bkt/missing/key?x-oss-process=image/resize,w_10",
    ] {
        let r = preflight(&s, path, &asks).await;
        r.expect(200);
        assert_eq!(r.header("access-control-allow-origin"), Some(WEB));
        assert_eq!(r.header("access-control-allow-methods"), Some("PUT, GET"));
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("content-type, x-amz-date")
        );
        assert_eq!(r.header("access-control-expose-headers"), Some("ETag"));
        assert_eq!(r.header("access-control-max-age"), Some("600"));
        assert_eq!(
            r.header("vary"),
            Some("Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
        );
        assert!(r.body.is_empty());
    }
    // The first rule does not allow `authorization`, and the second not PUT.
    let r = preflight(
        &s,
        "/bkt/k",
        &[
            ("origin", WEB),
            ("access-control-request-method", "PUT"),
            ("access-control-request-headers", "authorization"),
        ],
    )
    .await;
    r.expect_error(403, "AccessForbidden");
    assert!(r
        .xml("Message")
        .unwrap()
        .starts_with("CORSResponse: This CORS request is not allowed."));
    assert!(r.header("access-control-allow-origin").is_none());
    // Any origin may GET: answered `*` by the second rule.
    let r = preflight(
        &s,
        "/bkt/k",
        &[
            ("origin", "https://else.org"),
            ("access-control-request-method", "GET"),
        ],
    )
    .await;
    r.expect(200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-methods"), Some("GET, HEAD"));
    preflight(
        &s,
        "/bkt/k",
        &[
            ("origin", "https://else.org"),
            ("access-control-request-method", "DELETE"),
        ],
    )
    .await
    .expect_error(403, "AccessForbidden");
    // Questions missing: 400 BadRequest, S3's messages.
    let r = preflight(&s, "/bkt/k", &[("access-control-request-method", "GET")]).await;
    r.expect_error(400, "BadRequest");
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("Insufficient information. Origin request header needed.")
    );
    let r = preflight(&s, "/bkt/k", &[("origin", WEB)]).await;
    r.expect_error(400, "BadRequest");
    assert_eq!(
        r.xml("Message").as_deref(),
        Some("Invalid Access-Control-Request-Method: null")
    );
    // A missing bucket: 404.
    preflight(&s, "/nobkt/k", &asks)
        .await
        .expect_error(404, "NoSuchBucket");
    // Not a bucket at all (`/-/...`, the server's own pages): untouched.
    let r = preflight(&s, "/-/x", &asks).await;
    r.expect_error(404, "NoSuchResource");
    assert!(r.header("access-control-allow-origin").is_none());
    let r = preflight(&s, "/-/admin/users", &asks).await;
    assert!(r.header("access-control-allow-origin").is_none());
    assert!(r.header("vary").is_none());
}

#[tokio::test]
async fn preflight_in_virtual_host_style() {
    let s = Server::start_with(Options {
        domain: Some("s3.local"),
        ..Options::default()
    })
    .await;
    s.mb("vbkt").await;
    s.put("/vbkt?cors", RULES).await.expect(200);
    let host = format!("vbkt.s3.local:{}", s.addr.port());
    let r = preflight(
        &s,
        "/photos/a.jpg",
        &[
            ("host", &host),
            ("origin", WEB),
            ("access-control-request-method", "GET"),
        ],
    )
    .await;
    r.expect(200);
    assert_eq!(r.header("access-control-allow-origin"), Some(WEB));
}

#[tokio::test]
async fn actual_responses_carry_the_headers() {
    let s = Server::start().await;
    s.mb_public("bkt").await;
    s.put("/bkt?cors", RULES).await.expect(200);
    s.upload(
        "bkt",
        "a.png",
        &png(&solid(40, 20, [200, 10, 10, 255])),
        "image/png",
    )
    .await;
    let from_web = [("origin", WEB)];
    // A signed PUT and GET from an allowed origin.
    let put = s.req("PUT", "/bkt/b.txt", &from_web, "hello").await;
    put.expect(200);
    assert_eq!(put.header("access-control-allow-origin"), Some(WEB));
    assert_eq!(put.header("access-control-allow-methods"), Some("PUT, GET"));
    assert_eq!(put.header("access-control-expose-headers"), Some("ETag"));
    assert_eq!(put.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(put.header("vary"), Some("Origin"));
    let get = s.get_h("/bkt/b.txt", &from_web).await;
    get.expect(200);
    assert_eq!(get.header("access-control-allow-origin"), Some(WEB));
    // An anonymous GET of any origin: the `*` rule.
    let anon = s
        .anon("GET", "/bkt/b.txt", &[("origin", "https://else.org")], "")
        .await;
    anon.expect(200);
    assert_eq!(anon.header("access-control-allow-origin"), Some("*"));
    // Errors too, so that the page can read them.
    let missing = s
        .anon("GET", "/bkt/nope", &[("origin", "https://else.org")], "")
        .await;
    missing.expect_error(404, "NoSuchKey");
    assert_eq!(missing.header("access-control-allow-origin"), Some("*"));
    let denied = s.anon("PUT", "/bkt/x", &from_web, "x").await;
    denied.expect_error(403, "AccessDenied");
    assert_eq!(denied.header("access-control-allow-origin"), Some(WEB));
    // A routing error (a processing string that does not parse).
    let bad = s
        .anon(
            "GET",
            "/bkt/a.png?x-oss-process=image/slim,1",
            &from_web,
            "",
        )
        .await;
    assert_eq!(bad.status.as_u16(), 400, "{}", bad.text());
    assert_eq!(bad.header("access-control-allow-origin"), Some(WEB));
    // Processed images, in the three dialects.
    for path in [
        "/bkt/a.png?x-oss-process=image/resize,w_10",
        "/bkt/a.png?imageMogr2/thumbnail/10x",
        "/bkt/a.png?iopcmd=thumbnail&type=4&width=10",
    ] {
        let r = s.anon("GET", path, &from_web, "").await;
        r.expect(200);
        assert_eq!(r.dims().0, 10, "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some(WEB), "{path}");
        assert_eq!(
            r.header("access-control-expose-headers"),
            Some("ETag"),
            "{path}"
        );
    }
    // A method no rule allows for the origin: no CORS headers, still Vary.
    let del = s.req("DELETE", "/bkt/b.txt", &from_web, "").await;
    del.expect(204);
    assert!(del.header("access-control-allow-origin").is_none());
    assert_eq!(del.header("vary"), Some("Origin"));
    // Without Origin, nothing.
    let plain = s.anon_get("/bkt/a.png").await;
    assert!(plain.header("access-control-allow-origin").is_none());
    assert!(plain.header("vary").is_none());
}

fn default_rule() -> CorsDefault {
    CorsDefault {
        allowed_origins: vec!["*".into()],
        allowed_methods: vec!["GET".into(), "HEAD".into()],
        allowed_headers: vec!["*".into()],
        expose_headers: vec!["ETag".into()],
        max_age_secs: Some(3600),
    }
}

#[tokio::test]
async fn the_server_default_applies_until_a_bucket_has_its_own() {
    let s = Server::start_with(Options {
        cors: Some(default_rule()),
        ..Options::default()
    })
    .await;
    s.mb_public("bkt").await;
    s.put("/bkt/k", "v").await.expect(200);
    let asks = [
        ("origin", WEB),
        ("access-control-request-method", "GET"),
        ("access-control-request-headers", "range"),
    ];
    let r = preflight(&s, "/bkt/k", &asks).await;
    r.expect(200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("access-control-allow-methods"), Some("GET, HEAD"));
    assert_eq!(r.header("access-control-allow-headers"), Some("range"));
    assert_eq!(r.header("access-control-max-age"), Some("3600"));
    let get = s.anon("GET", "/bkt/k", &[("origin", WEB)], "").await;
    get.expect(200);
    assert_eq!(get.header("access-control-allow-origin"), Some("*"));
    assert_eq!(get.header("access-control-expose-headers"), Some("ETag"));
    // The default allows no PUT.
    preflight(
        &s,
        "/bkt/k",
        &[("origin", WEB), ("access-control-request-method", "PUT")],
    )
    .await
    .expect_error(403, "AccessForbidden");
    // GetBucketCors answers the bucket's own configuration only.
    s.get("/bkt?cors")
        .await
        .expect_error(404, "NoSuchCORSConfiguration");
    // The bucket's own configuration wins, at once.
    s.put("/bkt?cors", RULES).await.expect(200);
    let r = preflight(
        &s,
        "/bkt/k",
        &[("origin", WEB), ("access-control-request-method", "PUT")],
    )
    .await;
    r.expect(200);
    assert_eq!(r.header("access-control-allow-origin"), Some(WEB));
    // DELETE, allowed by none of the bucket's rules, stays refused.
    preflight(
        &s,
        "/bkt/k",
        &[("origin", WEB), ("access-control-request-method", "DELETE")],
    )
    .await
    .expect_error(403, "AccessForbidden");
    let own = s.anon("GET", "/bkt/k", &[("origin", WEB)], "").await;
    assert_eq!(own.header("access-control-allow-origin"), Some(WEB));
    assert_eq!(own.header("access-control-max-age"), Some("600"));
    // Deleted: the default answers again.
    s.delete("/bkt?cors").await.expect(204);
    let back = s.anon("GET", "/bkt/k", &[("origin", WEB)], "").await;
    assert_eq!(back.header("access-control-allow-origin"), Some("*"));
    // A missing bucket: the preflight is 404, the error of an actual
    // request still readable by the page.
    preflight(&s, "/nobkt/k", &asks)
        .await
        .expect_error(404, "NoSuchBucket");
    let gone = s.anon("GET", "/nobkt/k", &[("origin", WEB)], "").await;
    assert_eq!(gone.status.as_u16(), 403);
    assert_eq!(gone.header("access-control-allow-origin"), Some("*"));
    // The service root and non-bucket paths are not CORS resources.
    let root = s.anon("GET", "/", &[("origin", WEB)], "").await;
    assert!(root.header("access-control-allow-origin").is_none());
    let page = s.anon("GET", "/-/x", &[("origin", WEB)], "").await;
    assert!(page.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_second_gateway_node_sees_a_cors_change_within_the_bound() {
    let backend = Server::start().await;
    let gateway = || {
        Server::start_with(Options {
            gateway_over: Some(backend.addr),
            ..Options::default()
        })
    };
    let a = gateway().await;
    let b = gateway().await;
    a.mb("shared").await;
    let asks = [("origin", WEB), ("access-control-request-method", "PUT")];
    // Node B reads "no rules" (and keeps that in memory).
    preflight(&b, "/shared/k", &asks)
        .await
        .expect_error(403, "AccessForbidden");
    a.put("/shared?cors", RULES).await.expect(200);
    assert_eq!(b.get("/shared?cors").await.status.as_u16(), 200);
    let start = Instant::now();
    loop {
        if preflight(&b, "/shared/k", &asks).await.status.as_u16() == 200 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "node B still refuses after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
