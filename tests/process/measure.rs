//! Measurements of the conformance fixtures' outputs for the suites,
//! written independently of the engine: BT.601 mean luma, IJG quality
//! estimated from a JPEG's luminance table, EXIF/ICC presence, dark pixel
//! counts, and the size in an AVIF container.

use image::{Rgba, RgbaImage};

/// BT.601 mean luma over all pixels.
pub fn mean_luma(img: &RgbaImage) -> f64 {
    let n = (img.width() * img.height()) as f64;
    img.pixels().map(luma).sum::<f64>() / n
}

/// BT.601 luma of one pixel.
pub fn luma(p: &Rgba<u8>) -> f64 {
    0.299 * p.0[0] as f64 + 0.587 * p.0[1] as f64 + 0.114 * p.0[2] as f64
}

/// BT.601 luma standard deviation.
pub fn luma_std(img: &RgbaImage) -> f64 {
    let m = mean_luma(img);
    let n = (img.width() * img.height()) as f64;
    (img.pixels().map(|p| (luma(p) - m).powi(2)).sum::<f64>() / n).sqrt()
}

/// The IJG base luminance table (ITU T.81 Annex K), natural order.
const BASE_LUMA: [u32; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/// The zig-zag position → natural (row-major) index.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The luminance (table 0) quantisation table of a JPEG, natural order.
pub fn luma_qtable(jpeg: &[u8]) -> Option<[u32; 64]> {
    qtable(jpeg, 0)
}

/// Quantisation table `id` of a JPEG, natural order.
pub fn qtable(jpeg: &[u8], id: u8) -> Option<[u32; 64]> {
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        if jpeg[i] != 0xFF {
            return None;
        }
        let marker = jpeg[i + 1];
        if marker == 0xD8 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            i += 2;
            continue;
        }
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        if marker == 0xDB {
            let mut j = i + 4;
            let end = i + 2 + len;
            while j < end {
                let pq = jpeg[j] >> 4;
                let tq = jpeg[j] & 15;
                j += 1;
                let mut t = [0u32; 64];
                for (k, zz) in ZIGZAG.iter().enumerate() {
                    t[*zz] = if pq == 0 {
                        jpeg[j + k] as u32
                    } else {
                        u16::from_be_bytes([jpeg[j + 2 * k], jpeg[j + 2 * k + 1]]) as u32
                    };
                }
                j += if pq == 0 { 64 } else { 128 };
                if tq == id {
                    return Some(t);
                }
            }
        }
        if marker == 0xDA {
            return None;
        }
        i += 2 + len;
    }
    None
}

/// The IJG table for quality `q` (libjpeg's `jpeg_quality_scaling`, baseline).
fn ijg_table(q: u32) -> [u32; 64] {
    let scale = if q < 50 { 5000 / q } else { 200 - 2 * q };
    let mut t = [0u32; 64];
    for (i, b) in BASE_LUMA.iter().enumerate() {
        t[i] = ((b * scale + 50) / 100).clamp(1, 255);
    }
    t
}

/// IJG quality (1–100) whose luminance table is closest to the JPEG's.
pub fn jpeg_quality(jpeg: &[u8]) -> u32 {
    let t = luma_qtable(jpeg).expect("no luminance DQT");
    (1..=100u32)
        .min_by_key(|q| {
            ijg_table(*q)
                .iter()
                .zip(t.iter())
                .map(|(a, b)| (*a as i64 - *b as i64).unsigned_abs())
                .sum::<u64>()
        })
        .unwrap()
}

/// Whether a JPEG carries an APP1 `Exif` segment.
pub fn jpeg_has_exif(jpeg: &[u8]) -> bool {
    jpeg_segments(jpeg)
        .iter()
        .any(|(m, d)| *m == 0xE1 && d.starts_with(b"Exif\0"))
}

/// Whether a JPEG carries an APP2 `ICC_PROFILE` segment.
pub fn jpeg_has_icc(jpeg: &[u8]) -> bool {
    jpeg_segments(jpeg)
        .iter()
        .any(|(m, d)| *m == 0xE2 && d.starts_with(b"ICC_PROFILE\0"))
}

/// The marker segments before the first scan: (marker, payload).
pub fn jpeg_segments(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        out.push((marker, jpeg[i + 4..(i + 2 + len).min(jpeg.len())].to_vec()));
        if marker == 0xDA {
            break;
        }
        i += 2 + len;
    }
    out
}

/// Number of pixels in `img` with luma below `t` inside the rectangle.
pub fn dark_in(img: &RgbaImage, x0: u32, y0: u32, x1: u32, y1: u32, t: f64) -> usize {
    let mut n = 0;
    for y in y0..y1.min(img.height()) {
        for x in x0..x1.min(img.width()) {
            if luma(img.get_pixel(x, y)) < t {
                n += 1;
            }
        }
    }
    n
}

/// Width and height from an AVIF's `ispe` box (there is no AVIF decoder in
/// the tests: the container is what can be checked).
pub fn avif_size(avif: &[u8]) -> (u32, u32) {
    assert_eq!(avif.get(4..12), Some(&b"ftypavif"[..]), "not an AVIF");
    let at = avif
        .windows(4)
        .position(|w| w == b"ispe")
        .expect("AVIF without ispe");
    let be = |i: usize| u32::from_be_bytes([avif[i], avif[i + 1], avif[i + 2], avif[i + 3]]);
    (be(at + 8), be(at + 12))
}
