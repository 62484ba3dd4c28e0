//! Synthetic images for the tests, made with the `image` crate (never with
//! the engine under test), hand-made JPEG segments and PNG headers, and
//! the checks that read outputs back: colour distance, frame counts,
//! progressive JPEG.

use image::{DynamicImage, ImageFormat, Rgba, RgbaImage};
use std::io::Cursor;

/// `img` encoded as `format` by the `image` crate.
pub fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A baseline JPEG of `img` (alpha dropped) at the IJG `quality`.
pub fn jpeg(img: &RgbaImage, quality: u8) -> Vec<u8> {
    let rgb = DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(&rgb)
        .unwrap();
    out
}

/// A PNG of `img` (RGBA).
pub fn png(img: &RgbaImage) -> Vec<u8> {
    encode(&DynamicImage::ImageRgba8(img.clone()), ImageFormat::Png)
}

/// An animated GIF of `frames`, each shown `delay_ms`, looping forever.
pub fn gif(frames: impl IntoIterator<Item = RgbaImage>, delay_ms: u32) -> Vec<u8> {
    use image::codecs::gif::{GifEncoder, Repeat};
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        enc.set_repeat(Repeat::Infinite).unwrap();
        for img in frames {
            let delay = image::Delay::from_numer_denom_ms(delay_ms, 1);
            enc.encode_frame(image::Frame::from_parts(img, 0, 0, delay))
                .unwrap();
        }
    }
    out
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

/// One colour all over.
pub fn solid(w: u32, h: u32, c: [u8; 4]) -> RgbaImage {
    RgbaImage::from_pixel(w, h, Rgba(c))
}

/// A PNG of one colour.
pub fn solid_png(w: u32, h: u32, c: [u8; 4]) -> Vec<u8> {
    png(&solid(w, h, c))
}

/// An EXIF APP1 payload (`Exif\0\0` + big-endian TIFF) with only an
/// Orientation tag.
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

/// Inserts an APPn segment (`marker` 0xE0..=0xEF) right after SOI.
pub fn with_app(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Inserts an APP1 (EXIF) segment right after SOI.
pub fn with_app1(jpeg: &[u8], payload: &[u8]) -> Vec<u8> {
    with_app(jpeg, 0xE1, payload)
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

/// CRC-32 (IEEE), for hand-made PNG chunks.
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

/// Whether a JPEG is progressive: SOF2 present, SOF0 absent.
pub fn is_progressive(jpeg: &[u8]) -> bool {
    let has = |m: u8| jpeg.windows(2).any(|w| w == [0xFF, m]);
    has(0xC2) && !has(0xC0)
}

/// The decoded frames of a GIF.
pub fn gif_decode(data: &[u8]) -> Vec<RgbaImage> {
    use image::AnimationDecoder;
    image::codecs::gif::GifDecoder::new(Cursor::new(data))
        .unwrap()
        .into_frames()
        .map(|f| f.unwrap().into_buffer())
        .collect()
}

/// Number of frames of a GIF (every one decoded).
pub fn gif_frames(data: &[u8]) -> usize {
    gif_decode(data).len()
}
