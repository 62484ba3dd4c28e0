//! Service and bucket operations.

use crate::common::{xml_all, xml_text, Server};
use bytes::Bytes;

#[tokio::test]
async fn bucket_lifecycle() {
    let s = Server::start().await;
    let r = s.put("/photos", Bytes::new()).await;
    r.expect(200);
    assert_eq!(r.header("location"), Some("/photos"));
    s.mb("docs").await;

    let list = s.get("/").await;
    list.expect(200);
    assert_eq!(xml_all(&list.text(), "Name"), vec!["docs", "photos"]);
    let created = xml_text(&list.text(), "CreationDate").unwrap();
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");
    assert!(list
        .text()
        .contains("xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""));

    s.head("/photos").await.expect(200);
    // Re-creating one's own bucket: us-east-1 keeps AWS's legacy 200 and
    // changes nothing (other regions: 409, s3-compat-tests/test_buckets.py).
    s.put("/photos", Bytes::new()).await.expect(200);

    s.put("/photos/k", "x").await.expect(200);
    s.delete("/photos")
        .await
        .expect_error(409, "BucketNotEmpty");
    s.delete("/photos/k").await.expect(204);
    s.delete("/photos").await.expect(204);
    s.delete("/photos").await.expect_error(404, "NoSuchBucket");
    let head = s.head("/photos").await;
    head.expect(404);
    assert!(head.body.is_empty(), "HEAD errors have no body");
    assert!(head.header("x-amz-request-id").is_some());
}

#[tokio::test]
async fn bucket_names_are_validated() {
    let s = Server::start().await;
    for bad in [
        "ab",
        "Upper",
        "under_score",
        "-dash",
        "192.168.0.1",
        "a..b",
        &"x".repeat(64),
    ] {
        s.put(&format!("/{bad}"), Bytes::new())
            .await
            .expect_error(400, "InvalidBucketName");
    }
    s.mb("a-b.c-1").await;
}

#[tokio::test]
async fn location_constraint() {
    let s = Server::start().await;
    let body = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>";
    s.put("/eu-bkt", body)
        .await
        .expect_error(400, "IllegalLocationConstraintException");
    let body = "<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>";
    s.put("/us-bkt", body).await.expect(200);
    s.put("/broken", "<CreateBucketConfiguration>")
        .await
        .expect_error(400, "MalformedXML");
    s.put("/wrongroot", "<Nope/>")
        .await
        .expect_error(400, "MalformedXML");
    let loc = s.get("/us-bkt?location").await;
    loc.expect(200);
    assert!(
        loc.text()
            .contains("<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"),
        "{}",
        loc.text()
    );
    s.get("/nope?location")
        .await
        .expect_error(404, "NoSuchBucket");
}

#[tokio::test]
async fn oversized_xml_body_is_refused() {
    let s = Server::start().await;
    let huge = format!(
        "<CreateBucketConfiguration>{}</CreateBucketConfiguration>",
        " ".repeat(2 << 20)
    );
    s.put("/big", huge)
        .await
        .expect_error(400, "MaxMessageLengthExceeded");
    s.head("/big").await.expect(404);
}

#[tokio::test]
async fn canned_acls() {
    let s = Server::start().await;
    s.req("PUT", "/pub", &[("x-amz-acl", "public-read")], Bytes::new())
        .await
        .expect(200);
    let acl = s.get("/pub?acl").await;
    acl.expect(200);
    assert!(acl
        .text()
        .contains("http://acs.amazonaws.com/groups/global/AllUsers"));
    assert!(acl.text().contains("<Permission>READ</Permission>"));

    s.req("PUT", "/pub?acl", &[("x-amz-acl", "private")], Bytes::new())
        .await
        .expect(200);
    assert!(!s.get("/pub?acl").await.text().contains("AllUsers"));

    // An AccessControlPolicy that amounts to public-read is accepted...
    let admin = imgbucket::users::canonical_id("admin");
    let policy = format!(
        "<AccessControlPolicy><Owner><ID>{admin}</ID></Owner><AccessControlList>\
        <Grant><Grantee><ID>{admin}</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>\
        <Grant><Grantee><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>\
        </AccessControlList></AccessControlPolicy>"
    );
    s.req("PUT", "/pub?acl", &[], policy.clone())
        .await
        .expect(200);
    assert!(s.get("/pub?acl").await.text().contains("AllUsers"));
    // ...and so is any other list of grants.
    let write = policy.replace(
        "<Permission>READ</Permission>",
        "<Permission>WRITE</Permission>",
    );
    s.req("PUT", "/pub?acl", &[], write).await.expect(200);
    let acl = s.get("/pub?acl").await.text();
    assert!(acl.contains("<Permission>WRITE</Permission>"), "{acl}");
    // A grant to nobody is refused.
    let stranger = policy.replace(&format!("<Grantee><ID>{admin}"), "<Grantee><ID>nobody");
    s.req("PUT", "/pub?acl", &[], stranger)
        .await
        .expect_error(400, "InvalidArgument");
    s.req(
        "PUT",
        "/pub?acl",
        &[("x-amz-acl", "aws-exec-read")],
        Bytes::new(),
    )
    .await
    .expect_error(501, "NotImplemented");
    s.req("PUT", "/pub?acl", &[("x-amz-acl", "bogus")], Bytes::new())
        .await
        .expect_error(400, "InvalidArgument");
    s.req("PUT", "/pub?acl", &[], "<AccessControlPolicy>")
        .await
        .expect_error(400, "MalformedACLError");
}

#[tokio::test]
async fn versioning_and_unsupported_subresources() {
    let s = Server::start().await;
    s.mb("bkt1").await;
    let v = s.get("/bkt1?versioning").await;
    v.expect(200);
    assert!(v
        .text()
        .contains("<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"));
    let body = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    s.req("PUT", "/bkt1?versioning", &[], body)
        .await
        .expect_error(501, "NotImplemented");
    s.get("/bkt1?website")
        .await
        .expect_error(501, "NotImplemented");
    s.get("/bkt1/k?retention")
        .await
        .expect_error(501, "NotImplemented");
    s.req("PUT", "/", &[], Bytes::new())
        .await
        .expect_error(405, "MethodNotAllowed");
}
