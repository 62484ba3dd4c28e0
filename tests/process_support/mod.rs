//! Shared harness of the `process_*` integration tests: an in-process
//! server on port 0 (with a processed-variant cache in its data dir), a
//! SigV4-signing client, and the spec's fixtures (dialects.md Appendix A)
//! generated with the `image` crate.
#![allow(dead_code, clippy::unwrap_used)]

pub mod measure;

use bytes::Bytes;
use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};
use imgbucket::auth::sign::Credentials;
use imgbucket::config::{Limits, ProcessingConfig};
use imgbucket::front::{AppState, S3Config};
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::oneshot;

#[path = "../common/harness.rs"]
mod harness;
pub use harness::Resp;

pub const ACCESS_KEY: &str = "AKIDPROCESSTEST";
pub const SECRET_KEY: &str = "process/secret/key";
pub const REGION: &str = "us-east-1";

/// A running server plus a client for it.
pub struct Server {
    pub addr: SocketAddr,
    pub creds: Credentials,
    pub dir: tempfile::TempDir,
    client: harness::HttpClient,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Resp {
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body[..self.body.len().min(600)])
        );
        self
    }

    /// The text of the first `<tag>` element.
    pub fn xml(&self, tag: &str) -> Option<String> {
        xml_text(&self.text(), tag)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }

    /// The decoded image of the body.
    pub fn image(&self) -> RgbaImage {
        image::load_from_memory(&self.body)
            .unwrap_or_else(|e| panic!("not an image ({e}): {:?}", self.header("content-type")))
            .to_rgba8()
    }

    pub fn dims(&self) -> (u32, u32) {
        self.image().dimensions()
    }

    /// Asserts an OSS XML error with this status and code.
    #[track_caller]
    pub fn oss_error(&self, status: u16, code: &str) {
        self.expect(status);
        assert_eq!(self.header("content-type"), Some("application/xml"));
        assert_eq!(self.xml("Code").as_deref(), Some(code), "{}", self.text());
        assert!(self.xml("Message").is_some_and(|m| !m.is_empty()));
        assert_eq!(
            self.xml("RequestId").as_deref(),
            self.header("x-amz-request-id")
        );
        assert!(self.text().contains("<HostId>"), "{}", self.text());
    }
}

pub fn xml_text(doc: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = doc.find(&open)? + open.len();
    let end = doc[start..].find(&format!("</{tag}>"))? + start;
    Some(
        doc[start..end]
            .replace("&apos;", "'")
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

impl Server {
    pub async fn start() -> Server {
        Self::start_with(ProcessingConfig::default()).await
    }

    pub async fn start_with(processing: ProcessingConfig) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = storage::embedded::EmbeddedStore::open(dir.path()).unwrap();
        let config = S3Config {
            region: REGION.into(),
            domain: None,
            limits: Limits::default(),
        };
        let state = Arc::new(
            AppState::new(
                Arc::new(store),
                config,
                &[(ACCESS_KEY.to_string(), SECRET_KEY.to_string())],
            )
            .with_processing(processing, Some(dir.path().join("cache"))),
        );
        let spawned = harness::spawn(state).await;
        Server {
            addr: spawned.addr,
            creds: Credentials::new(ACCESS_KEY, SECRET_KEY, REGION),
            dir,
            client: spawned.client,
            shutdown: Some(spawned.shutdown),
        }
    }

    pub fn uri(&self, path_and_query: &str) -> http::Uri {
        harness::uri(self.addr, path_and_query)
    }

    /// A SigV4-signed request.
    pub async fn req(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Resp {
        harness::send_v4(
            &self.client,
            self.addr,
            &self.creds,
            SystemTime::now(),
            method,
            path,
            headers,
            body.into(),
        )
        .await
    }

    /// An unsigned request.
    pub async fn anon(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        harness::send_anon(&self.client, self.addr, method, path, headers, Bytes::new()).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req("GET", path, &[], Bytes::new()).await
    }

    pub async fn get_h(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.req("GET", path, headers, Bytes::new()).await
    }

    pub async fn put(&self, path: &str, body: impl Into<Bytes>) -> Resp {
        self.req("PUT", path, &[], body).await
    }

    pub async fn mb(&self, bucket: &str) {
        self.put(&format!("/{bucket}"), Bytes::new())
            .await
            .expect(200);
    }

    /// Creates a public-read bucket.
    pub async fn mb_public(&self, bucket: &str) {
        self.req(
            "PUT",
            &format!("/{bucket}"),
            &[("x-amz-acl", "public-read")],
            Bytes::new(),
        )
        .await
        .expect(200);
    }

    pub async fn upload(&self, bucket: &str, key: &str, data: &[u8], content_type: &str) {
        self.req(
            "PUT",
            &format!("/{bucket}/{key}"),
            &[("content-type", content_type)],
            Bytes::copy_from_slice(data),
        )
        .await
        .expect(200);
    }

    /// Uploads the spec's fixtures F1, F2, F3, F4, F5, F6, F9, F11, F13, F14.
    pub async fn fixtures(&self, bucket: &str) {
        self.upload(bucket, "f1.jpg", &f1(), "image/jpeg").await;
        self.upload(bucket, "f2.png", &f2(), "image/png").await;
        self.upload(bucket, "f3.jpg", &f3(), "image/jpeg").await;
        self.upload(bucket, "f4.jpg", &f4(), "image/jpeg").await;
        self.upload(bucket, "f5.gif", &f5(), "image/gif").await;
        self.upload(bucket, "f6.png", &f6(), "image/png").await;
        self.upload(bucket, "f9.jpg", &f9(), "image/jpeg").await;
        self.upload(bucket, "f11.png", &f11(), "image/png").await;
        self.upload(
            bucket,
            "wm/logo.png",
            &solid_png(50, 50, [0, 0, 0, 255]),
            "image/png",
        )
        .await;
        self.upload(
            bucket,
            "wm/big.png",
            &solid_png(800, 800, [0, 0, 0, 255]),
            "image/png",
        )
        .await;
    }

    /// The cache directory's total size of entry files.
    pub fn cache_files(&self) -> usize {
        let mut n = 0;
        let root = self.dir.path().join("cache");
        for shard in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            if shard.file_name().len() == 2 {
                n += std::fs::read_dir(shard.path()).unwrap().count();
            }
        }
        n
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

// ----- fixtures (dialects.md Appendix A) ---------------------------------

pub fn encode(img: &DynamicImage, f: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, f).unwrap();
    out.into_inner()
}

pub fn jpeg(img: &RgbaImage, quality: u8) -> Vec<u8> {
    let rgb = DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&rgb)
        .unwrap();
    out
}

pub fn png(img: &RgbaImage) -> Vec<u8> {
    encode(&DynamicImage::ImageRgba8(img.clone()), ImageFormat::Png)
}

/// Left half red, right half blue.
pub fn halves(w: u32, h: u32) -> RgbaImage {
    RgbaImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            Rgba([255, 0, 0, 255])
        } else {
            Rgba([0, 0, 255, 255])
        }
    })
}

pub fn solid(w: u32, h: u32, c: [u8; 4]) -> RgbaImage {
    RgbaImage::from_pixel(w, h, Rgba(c))
}

pub fn solid_png(w: u32, h: u32, c: [u8; 4]) -> Vec<u8> {
    png(&solid(w, h, c))
}

/// F1: JPEG 400×200 q90, left red, right blue.
pub fn f1() -> Vec<u8> {
    jpeg(&halves(400, 200), 90)
}

/// F2: PNG RGBA 300×300 green with a transparent 50×50 square at 125,125.
pub fn f2() -> Vec<u8> {
    png(&RgbaImage::from_fn(300, 300, |x, y| {
        if (125..175).contains(&x) && (125..175).contains(&y) {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([0, 255, 0, 255])
        }
    }))
}

/// F3: JPEG stored 1000×600 with EXIF Orientation 6; top half red,
/// bottom half blue.
pub fn f3() -> Vec<u8> {
    let img = RgbaImage::from_fn(1000, 600, |_, y| {
        if y < 300 {
            Rgba([255, 0, 0, 255])
        } else {
            Rgba([0, 0, 255, 255])
        }
    });
    with_app1(&jpeg(&img, 90), &exif_orientation(6))
}

/// F4: JPEG 200×100 solid blue.
pub fn f4() -> Vec<u8> {
    jpeg(&solid(200, 100, [0, 0, 255, 255]), 90)
}

/// F5: animated GIF 200×100, 10 frames of distinct solid colours, 10 cs.
pub fn f5() -> Vec<u8> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        enc.set_repeat(Repeat::Infinite).unwrap();
        for k in 0..10u8 {
            let img = solid(200, 100, [k * 25, 255 - k * 25, 0, 255]);
            let frame =
                image::Frame::from_parts(img, 0, 0, image::Delay::from_numer_denom_ms(100, 1));
            enc.encode_frame(frame).unwrap();
        }
    }
    out
}

/// F6: PNG RGB 400×300, left red, right blue.
pub fn f6() -> Vec<u8> {
    let rgb = DynamicImage::ImageRgba8(halves(400, 300)).to_rgb8();
    encode(&DynamicImage::ImageRgb8(rgb), ImageFormat::Png)
}

/// F9: JPEG 400×300, left red, right blue.
pub fn f9() -> Vec<u8> {
    jpeg(&halves(400, 300), 90)
}

/// F11: PNG 100×100 solid rgb(0,128,255).
pub fn f11() -> Vec<u8> {
    solid_png(100, 100, [0, 128, 255, 255])
}

/// A TIFF body with only an Orientation tag.
pub fn exif_orientation(o: u16) -> Vec<u8> {
    let mut t = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    t.extend_from_slice(&1u16.to_be_bytes());
    t.extend_from_slice(&0x0112u16.to_be_bytes());
    t.extend_from_slice(&3u16.to_be_bytes());
    t.extend_from_slice(&1u32.to_be_bytes());
    t.extend_from_slice(&o.to_be_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(&0u32.to_be_bytes());
    t
}

/// Inserts an APP1 segment right after SOI.
pub fn with_app1(jpeg: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A PNG whose header claims `w`×`h` with almost no data (a decompression
/// bomb's shape: the limits must refuse it before allocating).
pub fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    let iend = b"IEND";
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(iend);
    out.extend_from_slice(&crc32(iend).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Whether two colours are within `tol` per channel.
pub fn near(a: Rgba<u8>, b: [u8; 4], tol: i32) -> bool {
    a.0.iter()
        .zip(b.iter())
        .all(|(x, y)| (*x as i32 - *y as i32).abs() <= tol)
}

/// URL-safe base64 without padding (as Alibaba examples write it).
pub fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.as_bytes())
}

/// Whether a JPEG is progressive: SOF2 present, SOF0 absent.
pub fn is_progressive(jpeg: &[u8]) -> bool {
    let has = |m: u8| jpeg.windows(2).any(|w| w == [0xFF, m]);
    has(0xC2) && !has(0xC0)
}

/// Number of frames of a GIF.
pub fn gif_frames(data: &[u8]) -> usize {
    use image::AnimationDecoder;
    image::codecs::gif::GifDecoder::new(Cursor::new(data))
        .unwrap()
        .into_frames()
        .count()
}
