//! UCloud US3 `iopcmd` over HTTP: the thumbnail type table of
//! docs/us3-dialect.md on a 400×300 source (exact sizes), info JSON, styles, and the JSON
//! error envelope.

use crate::common::*;
use crate::fixtures::*;

const B: &str = "examplebucket";

/// The thumbnail types of docs/us3-dialect.md on a 400×300 source: query and
/// exact output size (sizes truncated).
pub const THUMBNAIL_TABLE: &[(&str, (u32, u32))] = &[
    ("type=1&scale=10", (40, 30)),
    ("type=2&scale=10", (400, 30)),
    ("type=3&scale=10", (40, 300)),
    ("type=4&width=50", (50, 37)),
    ("type=5&height=50", (66, 50)),
    ("type=6&width=50&height=10", (50, 37)),
    ("type=7&width=50&height=10", (13, 10)),
    ("type=8&width=50", (50, 50)),
    ("type=9&width=50&height=50", (50, 37)),
    ("type=10&width=50&height=50", (66, 50)),
    ("type=11&width=50&height=50", (50, 50)),
    ("type=12&width=600&height=600&color=red", (600, 600)),
    ("type=13&width=50&height=100", (50, 100)),
    ("type=14&width=50&height=50", (50, 37)),
    ("type=15&width=50&height=50&color=red", (50, 50)),
];

#[tokio::test]
async fn thumbnail_type_table_on_400x300() {
    let s = Server::with_fixtures(B).await;
    let table = THUMBNAIL_TABLE;
    for (q, want) in table {
        let r = s.get(&format!("/{B}/f9.jpg?iopcmd=thumbnail&{q}")).await;
        r.expect(200);
        assert_eq!(r.header("content-type"), Some("image/jpeg"), "{q}");
        assert_eq!(r.dims(), *want, "{q}");
    }
    // Type 12: the border is the colour.
    let img = s
        .get(&format!(
            "/{B}/f9.jpg?iopcmd=thumbnail&type=12&width=600&height=600&color=red"
        ))
        .await
        .image();
    assert!(near(*img.get_pixel(5, 5), RED, 24));
}

#[tokio::test]
async fn pipeline_info_and_averagehue() {
    let s = Server::with_fixtures(B).await;
    // rotate then scale to 40 %.
    let r = s
        .get(&format!(
            "/{B}/f9.jpg?iopcmd=rotate&degree=90|iopcmd=thumbnail&type=1&scale=40"
        ))
        .await;
    assert_eq!(r.dims(), (120, 160));
    let r = s.get(&format!("/{B}/f9.jpg?iopcmd=imageinfo")).await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    let j = r.json();
    assert_eq!(j["width"], 400);
    assert_eq!(j["height"], 300);
    assert_eq!(j["format"], "JPEG");
    let j = s
        .get(&format!("/{B}/f4.jpg?iopcmd=averagehue"))
        .await
        .json();
    assert!(j["RGB"].as_str().unwrap().starts_with("0x"));
    let j = s.get(&format!("/{B}/f3.jpg?iopcmd=exif")).await.json();
    assert_eq!(j["Orientation"], "6");
}

#[tokio::test]
async fn errors_are_json_with_session_id() {
    let s = Server::with_fixtures(B).await;
    // An unknown command name reads as the beta style form
    // (`iopcmd=<style>`): a 4xx either way, never the original.
    let r = s.get(&format!("/{B}/f9.jpg?iopcmd=nosuchcmd")).await;
    assert!(r.status.is_client_error());
    assert_eq!(r.json()["RetCode"], -1);
    let r = s
        .get(&format!("/{B}/f9.jpg?iopcmd=thumbnail&type=99"))
        .await;
    r.expect(400);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json()["RetCode"], -1);
    assert!(!r.json()["ErrMsg"].as_str().unwrap().is_empty());
    assert_eq!(r.header("x-sessionid"), r.header("x-amz-request-id"));
    let r = s.get(&format!("/{B}/none.jpg?iopcmd=imageinfo")).await;
    r.expect(404);
    assert_eq!(r.json()["RetCode"], -1);
    let r = s.get(&format!("/{B}/f9.jpg?iopstyle=missing")).await;
    r.expect(404);
    assert!(r.json()["ErrMsg"].as_str().unwrap().contains("missing"));
}

#[tokio::test]
async fn source_side_limit_is_10000() {
    let s = Server::with_fixtures(B).await;
    s.upload(B, "tall.png", &png_bomb(100, 12_000), "image/png")
        .await;
    let r = s
        .get(&format!("/{B}/tall.png?iopcmd=thumbnail&type=1&scale=10"))
        .await;
    r.expect(400);
    assert_eq!(r.json()["RetCode"], -1);
}

#[tokio::test]
async fn iopstyle_api_and_access() {
    let s = Server::with_fixtures(B).await;
    s.req(
        "PUT",
        &format!("/{B}?iopstyle&styleName=style1"),
        &[],
        "iopcmd=thumbnail&type=4&width=100",
    )
    .await
    .expect(200);
    let r = s.get(&format!("/{B}?iopstyle&styleName=style1")).await;
    r.expect(200);
    assert_eq!(
        r.json()["Styles"][0]["StyleBody"],
        "iopcmd=thumbnail&type=4&width=100"
    );
    let r = s.get(&format!("/{B}/f9.jpg?iopstyle=style1")).await;
    assert_eq!(r.dims(), (100, 75));
    // A bad style body is refused when stored.
    let r = s
        .req(
            "PUT",
            &format!("/{B}?iopstyle&styleName=bad"),
            &[],
            "iopcmd=nosuch",
        )
        .await;
    r.expect(400);
    assert_eq!(r.json()["RetCode"], -1);
    s.delete(&format!("/{B}?iopstyle&styleName=style1"))
        .await
        .expect(204);
    s.get(&format!("/{B}/f9.jpg?iopstyle=style1"))
        .await
        .expect(404);
}
