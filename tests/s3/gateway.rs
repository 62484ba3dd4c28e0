//! Gateway mode in-process: a gateway server whose store is a
//! `GatewayStore` over a second test server (an embedded imgbucket, as
//! the backend S3 store), both on loopback. The Garage cluster runs in
//! `s3-compat-tests/test_gateway.py`; these tests pin down what any S3
//! backend gets: objects relayed byte for byte, the meta bucket hidden,
//! nothing partial on a bad body, 501 for conditional writes, shared
//! state seen by a second node within the bound, and 503 (never a hang)
//! when the backend is down or silent.

use crate::common::{Options, Server, Vendor, GATEWAY_TIMEOUT};
use std::time::{Duration, Instant};

async fn gateway_over(backend: &Server) -> Server {
    Server::start_with(Options {
        gateway_over: Some(backend.addr),
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn objects_are_the_backends_and_the_meta_bucket_is_hidden() {
    let backend = Server::start().await;
    let gw = gateway_over(&backend).await;
    gw.mb("photos").await;
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    gw.req(
        "PUT",
        "/photos/a/b%20c.bin",
        &[("content-type", "x/test"), ("x-amz-meta-colour", "blue")],
        body.clone(),
    )
    .await
    .expect(200);
    // The backend holds the very bytes and attributes.
    let direct = backend.get("/photos/a/b%20c.bin").await;
    direct.expect(200);
    assert_eq!(direct.body.as_ref(), body.as_slice());
    assert_eq!(direct.header("x-amz-meta-colour"), Some("blue"));
    // Read back through the gateway, whole and by range.
    let got = gw.get("/photos/a/b%20c.bin").await;
    assert_eq!(got.body.as_ref(), body.as_slice());
    assert_eq!(got.header("content-type"), Some("x/test"));
    assert_eq!(got.header("etag"), direct.header("etag"));
    let part = gw
        .get_h("/photos/a/b%20c.bin", &[("range", "bytes=10-19")])
        .await;
    part.expect(206);
    assert_eq!(part.body.as_ref(), &body[10..20]);
    assert_eq!(part.header("content-range"), Some("bytes 10-19/300000"));
    // The shared state lives in the meta bucket: the backend lists it,
    // the gateway never does, and refuses to create or read it.
    assert!(backend.get("/").await.text().contains("imgbucket-meta"));
    let listed = gw.get("/").await.text();
    assert!(listed.contains("photos") && !listed.contains("imgbucket-meta"));
    assert_eq!(
        gw.put("/imgbucket-meta", "").await.code(),
        "BucketAlreadyExists"
    );
    assert_eq!(
        gw.get("/imgbucket-meta?list-type=2").await.code(),
        "NoSuchBucket"
    );
    // A missing key of a missing bucket is NoSuchBucket, as S3 says.
    assert_eq!(gw.get("/nope/k").await.code(), "NoSuchBucket");
    assert_eq!(gw.get("/photos/nope").await.code(), "NoSuchKey");
}

#[tokio::test]
async fn a_bad_body_leaves_nothing_and_conditional_writes_are_501() {
    let backend = Server::start().await;
    let gw = gateway_over(&backend).await;
    gw.mb("bkt").await;
    // Content-MD5 of another body: refused before the backend sees it.
    let r = gw
        .req(
            "PUT",
            "/bkt/k",
            &[("content-md5", "1B2M2Y8AsgTpgAmY7PhCfg==")],
            "not empty",
        )
        .await;
    assert_eq!(r.code(), "BadDigest");
    assert_eq!(backend.head("/bkt/k").await.status.as_u16(), 404);
    // A conditional write cannot be made atomic over two requests.
    let r = gw
        .req("PUT", "/bkt/k", &[("if-none-match", "*")], "x")
        .await;
    r.expect(501);
    assert_eq!(r.code(), "NotImplemented");
    assert_eq!(backend.head("/bkt/k").await.status.as_u16(), 404);
    // No spooled body is left behind.
    let spool = std::fs::read_dir(gw.dir.path().join("spool"))
        .unwrap()
        .count();
    assert_eq!(spool, 0);
}

#[tokio::test]
async fn multipart_uploads_are_relayed_with_their_crc64() {
    let backend = Server::start().await;
    let gw = gateway_over(&backend).await;
    gw.mb("mpu").await;
    let upload = gw
        .create_upload("/mpu/big", &[("content-type", "video/x")])
        .await;
    let p1 = vec![7u8; crate::common::MIN_PART as usize];
    let p2 = b"tail".to_vec();
    let e1 = gw.upload_part("/mpu/big", &upload, 1, p1.clone()).await;
    let e2 = gw.upload_part("/mpu/big", &upload, 2, p2.clone()).await;
    let doc = crate::common::complete_multipart_xml(&[(1, &e1), (2, &e2)]);
    let done = gw
        .req("POST", &format!("/mpu/big?uploadId={upload}"), &[], doc)
        .await;
    done.expect(200);
    let whole: Vec<u8> = [p1, p2].concat();
    let got = gw.get("/mpu/big").await;
    assert_eq!(got.body.as_ref(), whole.as_slice());
    assert_eq!(got.header("content-type"), Some("video/x"));
    assert!(got.header("etag").unwrap().ends_with("-2\""));
    // The CRC-64 the OSS and COS SDKs check is the whole object's.
    let crc = imgbucket::auth::crc64_ecma(&whole).to_string();
    let h = gw.vendor_headers(Vendor::OssV1, &gw.creds, "HEAD", None, "/mpu/big", &[]);
    let head = gw.send_headers("HEAD", "/mpu/big", h, "").await;
    head.expect(200);
    assert_eq!(head.header("x-oss-hash-crc64ecma"), Some(crc.as_str()));
}

#[tokio::test]
async fn a_second_node_sees_a_change_within_the_bound() {
    let backend = Server::start().await;
    let a = gateway_over(&backend).await;
    let b = gateway_over(&backend).await;
    a.mb("shared").await;
    a.put("/shared/k", "v").await.expect(200);
    assert_eq!(b.anon_get("/shared/k").await.status.as_u16(), 403);
    a.req("PUT", "/shared?acl", &[("x-amz-acl", "public-read")], "")
        .await
        .expect(200);
    let start = Instant::now();
    loop {
        if b.anon_get("/shared/k").await.status.as_u16() == 200 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "node B still refuses after 2 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_backend_down_or_silent_gets_503_in_time() {
    // Down: the port refuses connections.
    let backend = Server::start().await;
    let gw = gateway_over(&backend).await;
    gw.mb("bkt").await;
    gw.put("/bkt/k", "v").await.expect(200);
    backend.stop().await;
    let t0 = Instant::now();
    let r = gw.get("/bkt/k").await;
    assert_eq!(r.status.as_u16(), 503, "{}", r.text());
    assert_eq!(r.code(), "ServiceUnavailable");
    assert!(t0.elapsed() < GATEWAY_TIMEOUT + Duration::from_secs(1));
    assert_eq!(gw.put("/bkt/k2", "v").await.status.as_u16(), 503);

    // Silent: a listener that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            held.push(sock);
        }
    });
    let gw = Server::start_with(Options {
        gateway_over: Some(addr),
        ..Options::default()
    })
    .await;
    let t0 = Instant::now();
    let r = gw.get("/bkt/k").await;
    assert_eq!(r.status.as_u16(), 503, "{}", r.text());
    let took = t0.elapsed();
    assert!(
        took >= GATEWAY_TIMEOUT,
        "answered before the timeout: {took:?}"
    );
    assert!(
        took < GATEWAY_TIMEOUT * 3,
        "hung past the timeout: {took:?}"
    );
    hold.abort();
}

#[tokio::test]
async fn a_cached_variant_is_revalidated_by_default_and_trusted_when_configured() {
    let png = crate::common::solid_png(64, 48, [200, 30, 30, 255]);
    for (check_secs, served_while_backend_down) in [(0, false), (60, true)] {
        let backend = Server::start().await;
        let gw = Server::start_with(Options {
            gateway_over: Some(backend.addr),
            processing: imgbucket::config::ProcessingConfig {
                source_check_secs: check_secs,
                ..Default::default()
            },
            ..Options::default()
        })
        .await;
        gw.mb("pics").await;
        gw.req(
            "PUT",
            "/pics/p.png",
            &[("content-type", "image/png")],
            png.clone(),
        )
        .await
        .expect(200);
        let url = "/pics/p.png?x-oss-process=image/resize,w_16";
        assert_eq!(gw.get(url).await.header("x-imgbucket-cache"), Some("miss"));
        assert_eq!(gw.get(url).await.header("x-imgbucket-cache"), Some("hit"));
        // With the backend gone, only a node that trusts the source's ETag
        // for a while can still answer from its cache.
        backend.stop().await;
        let r = gw.get(url).await;
        if served_while_backend_down {
            r.expect(200);
            assert_eq!(r.header("x-imgbucket-cache"), Some("hit"));
        } else {
            assert_eq!(r.status.as_u16(), 503, "{}", r.text());
        }
    }
}

#[tokio::test]
async fn listings_after_this_nodes_deletes_are_exact() {
    // The lag itself is Garage's (test_gateway.py meets it); over any
    // backend the filter must only ever hide what is really gone.
    let backend = Server::start().await;
    let gw = gateway_over(&backend).await;
    gw.mb("lst").await;
    for key in ["d/x", "e/y", "k"] {
        gw.put(&format!("/lst/{key}"), "v").await.expect(200);
    }
    gw.req("DELETE", "/lst/d/x", &[], "").await.expect(204);
    gw.req("DELETE", "/lst/k", &[], "").await.expect(204);
    // Written again behind this node's back: a HEAD finds it, so it stays.
    backend.put("/lst/k", "again").await.expect(200);
    let flat = gw.get("/lst?list-type=2").await.text();
    assert!(flat.contains("<Key>k</Key>") && flat.contains("<Key>e/y</Key>"));
    assert!(!flat.contains("d/x"), "{flat}");
    let rolled = gw.get("/lst?list-type=2&delimiter=%2F").await.text();
    assert!(rolled.contains("<Prefix>e/</Prefix>"), "{rolled}");
    assert!(!rolled.contains("<Prefix>d/</Prefix>"), "{rolled}");
    for key in ["e/y", "k"] {
        gw.req("DELETE", &format!("/lst/{key}"), &[], "")
            .await
            .expect(204);
    }
    gw.req("DELETE", "/lst", &[], "").await.expect(204);
}

#[tokio::test]
async fn a_node_makes_new_variants_from_its_copy_of_the_source() {
    let backend = Server::start().await;
    let gw = Server::start_with(Options {
        gateway_over: Some(backend.addr),
        processing: imgbucket::config::ProcessingConfig {
            source_check_secs: 60,
            ..Default::default()
        },
        ..Options::default()
    })
    .await;
    gw.mb("pics").await;
    let png = crate::common::solid_png(64, 48, [200, 30, 30, 255]);
    gw.upload("pics", "p.png", &png, "image/png").await;
    let first = gw.get("/pics/p.png?x-oss-process=image/resize,w_16").await;
    assert_eq!(first.dims(), (16, 12));
    assert!(first
        .header("server-timing")
        .is_some_and(|t| t.starts_with("process;dur=")));
    // The copy is written beside the request; wait for it on disk.
    let copies = gw.dir.path().join("cache/sources");
    let deadline = Instant::now() + Duration::from_secs(5);
    while count_files(&copies) == 0 {
        assert!(Instant::now() < deadline, "no source copy in {copies:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A variant never made before, with the backend gone: only the node's
    // copy of the source (its ETag trusted for 60 s) can answer it.
    backend.stop().await;
    let second = gw.get("/pics/p.png?x-oss-process=image/resize,w_8").await;
    second.expect(200);
    assert_eq!(second.dims(), (8, 6));
    assert_eq!(second.header("x-imgbucket-cache"), Some("miss"));
}

#[tokio::test]
async fn a_source_copy_never_stands_for_another_version() {
    let backend = Server::start().await;
    let gw = gateway_over(&backend).await;
    gw.mb("pics").await;
    let copies = gw.dir.path().join("cache/sources");
    for (version, (w, h)) in [(64u32, 48u32), (30, 20)].into_iter().enumerate() {
        let png = crate::common::solid_png(w, h, [20, 30, 200, 255]);
        gw.upload("pics", "p.png", &png, "image/png").await;
        for width in [16, 8] {
            let url = format!("/pics/p.png?x-oss-process=image/resize,w_{width}");
            let r = gw.get(&url).await;
            let height = (f64::from(width * h) / f64::from(w)).round() as u32;
            assert_eq!(r.dims(), (width, height), "version {version}");
            let deadline = Instant::now() + Duration::from_secs(5);
            while count_files(&copies) <= version {
                assert!(Instant::now() < deadline, "no copy of version {version}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    // Each version was read from the backend once; its second variant
    // came from the copy.
    let metrics = gw.get("/-/metrics").await.text();
    let value = |name: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
    };
    assert_eq!(value("imgbucket_source_cache_misses_total"), Some(2.0));
    assert_eq!(value("imgbucket_source_cache_hits_total"), Some(2.0));
}

fn count_files(dir: &std::path::Path) -> usize {
    let Ok(shards) = std::fs::read_dir(dir) else {
        return 0;
    };
    shards
        .flatten()
        .filter(|s| s.file_name().len() == 2)
        .filter_map(|s| std::fs::read_dir(s.path()).ok())
        .map(|files| files.count())
        .sum()
}
