//! The web console's files (`/-/console/`): served without credentials
//! from the binary, each with its type, the strict Content-Security-Policy
//! and the other security headers, revalidated by ETag; and near misses
//! that are neither console files nor buckets.

use crate::common::server::{Resp, Server};

const CSP_PARTS: &[&str] = &[
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
];

/// The headers every answer under `/-/console` must carry.
fn assert_secure(r: &Resp) {
    let csp = r.header("content-security-policy").expect("a CSP");
    for part in CSP_PARTS {
        assert!(csp.contains(part), "{part} missing from {csp}");
    }
    // No way to run inline or evaluated script.
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn the_console_is_served_with_strict_headers() {
    let s = Server::start().await;
    let index = s.anon_get("/-/console/").await;
    index.expect(200);
    assert_secure(&index);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = index.text();
    assert!(
        html.contains(r#"<script type="module" src="app.js">"#),
        "{html}"
    );
    assert!(html.contains(r#"href="console.css""#), "{html}");

    // Every module the page imports is served as JavaScript, and no file
    // loads anything from another origin.
    for (path, ty) in [
        ("/-/console/app.js", "text/javascript; charset=utf-8"),
        ("/-/console/sigv4.js", "text/javascript; charset=utf-8"),
        ("/-/console/editor.js", "text/javascript; charset=utf-8"),
        ("/-/console/console.css", "text/css; charset=utf-8"),
        ("/-/console/index.html", "text/html; charset=utf-8"),
    ] {
        let r = s.anon_get(path).await;
        r.expect(200);
        assert_secure(&r);
        assert_eq!(r.header("content-type"), Some(ty), "{path}");
        let body = r.text();
        assert!(!body.is_empty(), "{path}");
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} names another origin"
        );
        assert!(!body.contains("eval("), "{path}");
    }
    let app = s.anon_get("/-/console/app.js").await.text();
    for module in app
        .split("from \"./")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
    {
        s.anon_get(&format!("/-/console/{module}"))
            .await
            .expect(200);
    }
}

#[tokio::test]
async fn console_answers_revalidate_redirect_and_refuse() {
    let s = Server::start().await;
    let first = s.anon_get("/-/console/app.js").await;
    let etag = first.header("etag").expect("an ETag").to_string();
    // A browser revalidates (no-cache): the same files answer 304.
    let again = s
        .anon("GET", "/-/console/app.js", &[("if-none-match", &etag)], "")
        .await;
    again.expect(304);
    assert!(again.body.is_empty());
    assert_secure(&again);
    let stale = s
        .anon(
            "GET",
            "/-/console/app.js",
            &[("if-none-match", "\"old\"")],
            "",
        )
        .await;
    stale.expect(200);

    // Relative module URLs need the trailing slash.
    let bare = s.anon_get("/-/console").await;
    bare.expect(301);
    assert_eq!(bare.header("location"), Some("/-/console/"));
    assert_secure(&bare);

    // HEAD: the headers without the body.
    let head = s.anon("HEAD", "/-/console/", &[], "").await;
    head.expect(200);
    assert!(head.body.is_empty());
    assert_secure(&head);

    // Unknown files, other methods: refused, with the same headers.
    let missing = s.anon_get("/-/console/nope.js").await;
    missing.expect_error(404, "NoSuchResource");
    assert_secure(&missing);
    let put = s.anon("PUT", "/-/console/app.js", &[], "x").await;
    put.expect(405);
    assert_secure(&put);
    // Near misses are neither the console nor buckets.
    s.anon_get("/-/consoles").await.expect(404);
    // Other server paths do not get the console's policy.
    let live = s.anon_get("/-/health/live").await;
    assert_eq!(live.header("content-security-policy"), None);
}
