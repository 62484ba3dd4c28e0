//! The conformance fixtures, generated with the `image`
//! crate, the extra sources the conformance suites share, and the upload
//! of the standard set.

use crate::common::*;
use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};

pub const RED: [u8; 4] = [255, 0, 0, 255];
pub const BLUE: [u8; 4] = [0, 0, 255, 255];
pub const GREEN: [u8; 4] = [0, 255, 0, 255];
pub const WHITE: [u8; 4] = [255, 255, 255, 255];
pub const BLACK: [u8; 4] = [0, 0, 0, 255];

impl Server {
    /// Uploads the spec's fixtures F1, F2, F3, F4, F5, F6, F9, F11 and the
    /// watermark marks `wm/logo.png` (50×50) and `wm/big.png` (800×800).
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
            &solid_png(50, 50, BLACK),
            "image/png",
        )
        .await;
        self.upload(
            bucket,
            "wm/big.png",
            &solid_png(800, 800, BLACK),
            "image/png",
        )
        .await;
    }

    /// A server with `bucket` holding the fixtures.
    pub async fn with_fixtures(bucket: &str) -> Server {
        let s = Server::start().await;
        s.mb(bucket).await;
        s.fixtures(bucket).await;
        s
    }
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
            Rgba(GREEN)
        }
    }))
}

/// F3: JPEG stored 1000×600 with EXIF Orientation 6; top half red,
/// bottom half blue.
pub fn f3() -> Vec<u8> {
    let img = RgbaImage::from_fn(1000, 600, |_, y| Rgba(if y < 300 { RED } else { BLUE }));
    with_app1(&jpeg(&img, 90), &exif_orientation(6))
}

/// F4: JPEG 200×100 solid blue.
pub fn f4() -> Vec<u8> {
    jpeg(&solid(200, 100, BLUE), 90)
}

/// F5: animated GIF 200×100, 10 frames of distinct solid colours, 10 cs.
pub fn f5() -> Vec<u8> {
    gif(
        (0..10u8).map(|k| solid(200, 100, [k * 25, 255 - k * 25, 0, 255])),
        100,
    )
}

/// F6: PNG RGB 400×300, left red, right blue.
pub fn f6() -> Vec<u8> {
    let rgb = DynamicImage::ImageRgba8(halves(400, 300)).to_rgb8();
    encode(&DynamicImage::ImageRgb8(rgb), ImageFormat::Png)
}

/// F7: JPEG 1000×500 q85, left red, right blue.
pub fn f7() -> Vec<u8> {
    jpeg(&halves(1000, 500), 85)
}

/// F9: JPEG 400×300, left red, right blue.
pub fn f9() -> Vec<u8> {
    jpeg(&halves(400, 300), 90)
}

/// F11: PNG 100×100 solid rgb(0,128,255).
pub fn f11() -> Vec<u8> {
    solid_png(100, 100, [0, 128, 255, 255])
}

/// F10: JPEG 640×427 with EXIF Make, Model, DateTime, Orientation 1.
pub fn f10() -> Vec<u8> {
    let exif = exif_payload(
        &[
            (0x010F, "TestCam"),
            (0x0110, "T1"),
            (0x0132, "2020:01:02 03:04:05"),
        ],
        &[(0x0112, 1)],
    );
    with_app1(&jpeg(&halves(640, 427), 90), &exif)
}

/// A camera's JPEG, 1200×800: EXIF as cameras write it (little-endian):
/// IFD0 {Make "Cam", Orientation 1, Exif and GPS pointers}, the Exif IFD
/// {PixelX/YDimension 1200×800, a 4000-byte MakerNote},
/// the GPS IFD {GPSLatitudeRef "N"}, then IFD1 and its preview (a real
/// 160×107 JPEG) at the end.
pub fn camera_jpeg() -> Vec<u8> {
    let preview = jpeg(&halves(160, 107), 90);
    let mut t: Vec<u8> = b"II*\0\x08\0\0\0".to_vec();
    let entry = |t: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        for b in [
            &tag.to_le_bytes()[..],
            &kind.to_le_bytes(),
            &count.to_le_bytes(),
        ] {
            t.extend_from_slice(b);
        }
        t.extend_from_slice(&value.to_le_bytes());
    };
    // IFD0 at 8, 4 entries: ends at 62.
    t.extend_from_slice(&4u16.to_le_bytes());
    entry(&mut t, 0x010F, 2, 4, u32::from_le_bytes(*b"Cam\0"));
    entry(&mut t, 0x0112, 3, 1, 1);
    entry(&mut t, 0x8769, 4, 1, 62);
    let gps_at = 62 + 2 + 3 * 12 + 4 + 4000;
    entry(&mut t, 0x8825, 4, 1, gps_at);
    let ifd1_at = gps_at + 2 + 12 + 4;
    t.extend_from_slice(&ifd1_at.to_le_bytes());
    // Exif IFD at 62, 3 entries: ends at 104, then the note.
    t.extend_from_slice(&3u16.to_le_bytes());
    entry(&mut t, 0x927C, 7, 4000, 104);
    entry(&mut t, 0xA002, 4, 1, 1200);
    entry(&mut t, 0xA003, 3, 1, 800);
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend((0..4000u32).map(|k| (k % 251) as u8));
    assert_eq!(t.len() as u32, gps_at);
    t.extend_from_slice(&1u16.to_le_bytes());
    entry(&mut t, 0x0001, 2, 2, u32::from_le_bytes(*b"N\0\0\0"));
    t.extend_from_slice(&0u32.to_le_bytes());
    // IFD1: the preview's offset and length, then the preview.
    t.extend_from_slice(&2u16.to_le_bytes());
    entry(&mut t, 0x0201, 4, 1, ifd1_at + 2 + 24 + 4);
    entry(&mut t, 0x0202, 4, 1, preview.len() as u32);
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&preview);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&t);
    with_app1(&jpeg(&halves(1200, 800), 90), &payload)
}

/// An EXIF APP1 payload (`Exif\0\0` + big-endian TIFF) with IFD0 entries of
/// ASCII strings and SHORTs.
pub fn exif_payload(ascii: &[(u16, &str)], shorts: &[(u16, u16)]) -> Vec<u8> {
    let mut entries: Vec<(u16, u16, u32, Vec<u8>)> = Vec::new();
    for (tag, s) in ascii {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        entries.push((*tag, 2, v.len() as u32, v));
    }
    for (tag, n) in shorts {
        let mut v = n.to_be_bytes().to_vec();
        v.extend_from_slice(&[0, 0]);
        entries.push((*tag, 3, 1, v));
    }
    entries.sort_by_key(|e| e.0);
    let ifd_len = 2 + 12 * entries.len() + 4;
    let mut data_off = 8 + ifd_len;
    let mut ifd = (entries.len() as u16).to_be_bytes().to_vec();
    let mut data = Vec::new();
    for (tag, ty, count, v) in &entries {
        ifd.extend_from_slice(&tag.to_be_bytes());
        ifd.extend_from_slice(&ty.to_be_bytes());
        ifd.extend_from_slice(&count.to_be_bytes());
        if v.len() <= 4 {
            let mut inline = v.clone();
            inline.resize(4, 0);
            ifd.extend_from_slice(&inline);
        } else {
            ifd.extend_from_slice(&(data_off as u32).to_be_bytes());
            data.extend_from_slice(v);
            data_off += v.len();
        }
    }
    ifd.extend_from_slice(&0u32.to_be_bytes());
    let mut out = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    out.extend_from_slice(&ifd);
    out.extend_from_slice(&data);
    out
}

/// `jpeg` with an ICC APP2 segment (a minimal, syntactically plausible
/// profile header; only its presence is checked).
pub fn with_icc(jpeg: &[u8]) -> Vec<u8> {
    let mut payload = b"ICC_PROFILE\0\x01\x01".to_vec();
    let mut profile = vec![0u8; 128];
    profile[0..4].copy_from_slice(&128u32.to_be_bytes());
    profile[12..16].copy_from_slice(b"mntr");
    profile[16..20].copy_from_slice(b"RGB ");
    profile[20..24].copy_from_slice(b"XYZ ");
    profile[36..40].copy_from_slice(b"acsp");
    payload.extend_from_slice(&profile);
    payload.extend_from_slice(&0u32.to_be_bytes());
    with_app(jpeg, 0xE2, &payload)
}

/// F12: an animated GIF `w`×`h` with `n` frames; frame k has a distinct
/// solid colour (red channel = k × 255 / (n − 1) rounded down), 10 cs.
pub fn gif_anim(w: u32, h: u32, n: u32) -> Vec<u8> {
    let frame = |k: u32| {
        let r = (k * 255 / (n - 1).max(1)) as u8;
        solid(w, h, [r, 0, 255 - r, 255])
    };
    gif((0..n).map(frame), 100)
}

/// White 400×300 JPEG canvas (q95) for watermark tests.
pub fn white_jpg() -> Vec<u8> {
    jpeg(&solid(400, 300, WHITE), 95)
}

/// PNG 200×100: grey 64 on the left, 192 on the right, with a soft 16 px
/// ramp between (for sharpen: an unsharp mask overshoots it).
pub fn soft_edge_png() -> Vec<u8> {
    png(&RgbaImage::from_fn(200, 100, |x, _| {
        let v = if x < 92 {
            64
        } else if x >= 108 {
            192
        } else {
            64 + (x - 92) * 8
        } as u8;
        Rgba([v, v, v, 255])
    }))
}

/// PNG 200×100: a horizontal ramp 40 → 215 in `v`; the pixel at (x, y)
/// is `colour(v, y)` (for bright/contrast).
pub fn ramp_png(colour: impl Fn(u8, u32) -> [u8; 4]) -> Vec<u8> {
    png(&RgbaImage::from_fn(200, 100, |x, y| {
        Rgba(colour((40 + x * 175 / 199) as u8, y))
    }))
}

/// The decoded image of an encoded fixture.
pub fn decode(data: &[u8]) -> RgbaImage {
    image::load_from_memory(data).unwrap().to_rgba8()
}
