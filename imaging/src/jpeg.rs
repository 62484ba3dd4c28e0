//! JPEG marker-level work that needs no pixel decoding: the header walk
//! (size, SOF type, quantisation tables, ICC profile, EXIF), the IJG
//! quality estimate, and the marker edits made on encoded output (ICC and
//! EXIF segments, EXIF orientation reset).

use crate::error::{Error, Result};

/// What the header of a JPEG says, read without decoding any scan.
#[derive(Debug, Clone, Default)]
pub(crate) struct JpegHeader {
    pub width: u32,
    pub height: u32,
    /// Number of colour components (1 grey, 3 YCbCr, 4 CMYK/YCCK).
    pub components: u8,
    /// The SOF marker byte (0xC0 baseline, 0xC2 progressive...).
    pub sof: u8,
    /// IJG quality estimated from the luminance table.
    pub quality: Option<u8>,
    /// The ICC profile reassembled from APP2 chunks.
    pub icc: Option<Vec<u8>>,
    /// The TIFF body of the `Exif\0\0` APP1 segment.
    pub exif: Option<Vec<u8>>,
}

/// The IJG (libjpeg `jcparam.c`) standard luminance table, natural order.
const STD_LUMA: [u16; 64] = [
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113,
    92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

const ICC_SIG: &[u8] = b"ICC_PROFILE\0";
const EXIF_SIG: &[u8] = b"Exif\0\0";

/// True for the SOFn markers that carry the frame size.
pub(crate) fn is_sof(m: u8) -> bool {
    matches!(m, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF)
}

/// Estimates the IJG quality a table was made with: the table is the
/// standard one scaled by `S` percent, with `S = 5000/Q` for Q < 50 and
/// `S = 200 − 2Q` above, clamped to 1…255. `S` is recovered from the sums
/// over the entries that were not clamped (summing averages out the
/// rounding, and the order does not matter, so zig-zag storage needs no
/// reordering).
pub(crate) fn estimate_quality(table: &[u16; 64]) -> u8 {
    let (mut sum, mut std) = (0u32, 0u32);
    for (&v, &s) in table.iter().zip(STD_LUMA.iter()) {
        if v > 1 && v < 255 {
            sum += v as u32;
            std += s as u32;
        }
    }
    if std == 0 {
        // Every entry clamped: all 1 is quality 100, all 255 is the bottom.
        return if table.iter().all(|&v| v <= 1) {
            100
        } else {
            1
        };
    }
    let s = sum as f64 * 100.0 / std as f64;
    let q = if s <= 100.0 {
        (200.0 - s) / 2.0
    } else {
        5000.0 / s
    };
    q.round().clamp(1.0, 100.0) as u8
}

/// Walks the markers up to the first scan. Errors only when no frame
/// header can be found (truncated or not a JPEG).
pub(crate) fn read_header(data: &[u8]) -> Result<JpegHeader> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return Err(Error::Decode("not a JPEG (no SOI marker)".into()));
    }
    let mut h = JpegHeader::default();
    let mut icc_chunks: Vec<(u8, &[u8])> = Vec::new();
    let mut have_sof = false;
    let mut i = 2;
    while i + 1 < data.len() {
        if data[i] != 0xFF {
            // Garbage between segments: resynchronise on the next 0xFF.
            i += 1;
            continue;
        }
        let m = data[i + 1];
        if m == 0xFF {
            i += 1; // fill byte
            continue;
        }
        i += 2;
        if m == 0xD8 || m == 0x01 || (0xD0..=0xD7).contains(&m) {
            continue;
        }
        if m == 0xDA || m == 0xD9 {
            break; // start of scan / end of image: the header is over
        }
        if i + 2 > data.len() {
            break;
        }
        let len = u16::from_be_bytes([data[i], data[i + 1]]) as usize;
        if len < 2 || i + len > data.len() {
            break;
        }
        let seg = &data[i + 2..i + len];
        i += len;
        match m {
            _ if is_sof(m) && seg.len() >= 6 => {
                h.sof = m;
                h.height = u16::from_be_bytes([seg[1], seg[2]]) as u32;
                h.width = u16::from_be_bytes([seg[3], seg[4]]) as u32;
                h.components = seg[5];
                have_sof = true;
            }
            0xDB => parse_dqt(seg, &mut h),
            0xE2 if seg.len() > 14 && seg.starts_with(ICC_SIG) => {
                icc_chunks.push((seg[12], &seg[14..]))
            }
            0xE1 if h.exif.is_none() && seg.starts_with(EXIF_SIG) => {
                h.exif = Some(seg[6..].to_vec())
            }
            _ => {}
        }
    }
    if !have_sof {
        return Err(Error::Decode("JPEG without a frame header".into()));
    }
    if h.width == 0 || h.height == 0 {
        return Err(Error::Decode("JPEG with a zero dimension".into()));
    }
    if !icc_chunks.is_empty() {
        icc_chunks.sort_by_key(|c| c.0);
        h.icc = Some(
            icc_chunks
                .iter()
                .flat_map(|c| c.1.iter().copied())
                .collect(),
        );
    }
    Ok(h)
}

/// Finds the next marker at or after `pos`: its code and the position after
/// it. Bytes before it are skipped, as libjpeg's `next_marker` does: any
/// byte but 0xFF, a stuffed 0xFF 0x00, and the fill bytes (repeated 0xFF)
/// before the code.
pub(crate) fn next_marker(data: &[u8], mut pos: usize) -> Option<(u8, usize)> {
    loop {
        let ff = pos + memchr::memchr(0xFF, data.get(pos..)?)?;
        let mut code_at = ff + 1;
        while data.get(code_at) == Some(&0xFF) {
            code_at += 1;
        }
        match *data.get(code_at)? {
            0 => pos = code_at + 1,
            code => return Some((code, code_at + 1)),
        }
    }
}

/// A copy of `data` that libjpeg decodes exactly as it decodes `data`, but
/// without the warnings its header read gives, or `None` when there are
/// none of those to remove. TurboJPEG's header read stops at a warning
/// where libjpeg goes on, and the image crate, the only other decoder,
/// cannot shrink on load: without this, a stray byte between two segments
/// would turn a thumbnail's 1/2-scale decode into a full-size one, past
/// the memory the job was priced at (`memory.rs`).
///
/// Up to the first scan, as libjpeg's `next_marker` and `examine_app0` /
/// `examine_app14` read it:
/// * bytes before a marker, which libjpeg skips ("extraneous bytes before
///   marker"), are left out (fill bytes too, which change nothing);
/// * a JFIF APP0 of another major version than 1 ("unknown JFIF revision
///   number") says version 1; libjpeg reads nothing else from it;
/// * for a three-component frame, an Adobe APP14 transform other than 0
///   (RGB) and 1 (YCbCr) ("Unknown Adobe color transform code") says 1,
///   the YCbCr libjpeg then assumes.
///
/// The scans and what follows them are copied as they are.
pub(crate) fn without_header_warnings(data: &[u8]) -> Option<Vec<u8>> {
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&data[..2]);
    let mut changed = false;
    // Where in `out` an unknown Adobe transform code sits, and the frame's
    // component count: the APP14 may come before or after the SOF.
    let mut adobe_transform_at = None;
    let mut components = 0;
    let mut i = 2;
    loop {
        let (m, after) = next_marker(data, i)?;
        changed |= after != i + 2;
        let marker_at = after - 2;
        // The first scan, or the end: the rest is copied as it is (libjpeg
        // reports anything wrong there itself).
        if m == 0xDA || m == 0xD9 || m == 0xD8 {
            out.extend_from_slice(&data[marker_at..]);
            break;
        }
        i = after;
        if m == 0x01 || (0xD0..=0xD7).contains(&m) {
            out.extend_from_slice(&data[marker_at..i]);
            continue;
        }
        let len = usize::from(u16::from_be_bytes([*data.get(i)?, *data.get(i + 1)?]));
        let segment = data.get(marker_at..i.checked_add(len)?)?;
        let start = out.len();
        out.extend_from_slice(segment);
        // Offsets in `out` of the bytes after the length.
        let body = start + 4;
        match m {
            0xE0 if len >= 16 && segment[4..].starts_with(b"JFIF\0") && segment[9] != 1 => {
                out[body + 5] = 1;
                changed = true;
            }
            0xEE if len >= 14 && segment[4..].starts_with(b"Adobe") && segment[15] > 1 => {
                adobe_transform_at = Some(body + 11);
            }
            _ if is_sof(m) && len >= 8 => components = segment[9],
            _ => {}
        }
        i += len;
    }
    if let (Some(at), 3) = (adobe_transform_at, components) {
        out[at] = 1;
        changed = true;
    }
    changed.then_some(out)
}

fn parse_dqt(mut seg: &[u8], h: &mut JpegHeader) {
    while !seg.is_empty() {
        let pq = seg[0] >> 4;
        let tq = seg[0] & 0x0F;
        let size = if pq == 0 { 64 } else { 128 };
        if seg.len() < 1 + size {
            return;
        }
        let mut table = [0u16; 64];
        for (k, v) in table.iter_mut().enumerate() {
            *v = if pq == 0 {
                seg[1 + k] as u16
            } else {
                u16::from_be_bytes([seg[1 + 2 * k], seg[2 + 2 * k]])
            };
        }
        if tq == 0 && h.quality.is_none() {
            h.quality = Some(estimate_quality(&table));
        }
        seg = &seg[1 + size..];
    }
}

/// Where new APPn segments go: after SOI and a JFIF APP0 if there is one.
fn insertion_point(jpeg: &[u8]) -> usize {
    let mut at = 2;
    if jpeg.len() > 6 && jpeg[2] == 0xFF && jpeg[3] == 0xE0 {
        at = 4 + u16::from_be_bytes([jpeg[4], jpeg[5]]) as usize;
    }
    at.min(jpeg.len())
}

/// Returns `jpeg` with the given EXIF (TIFF body) and ICC profile inserted
/// as APP1 / APP2 segments (the ICC split in 64 KiB chunks).
pub(crate) fn insert_metadata(jpeg: Vec<u8>, exif: Option<&[u8]>, icc: Option<&[u8]>) -> Vec<u8> {
    let mut segs: Vec<u8> = Vec::new();
    if let Some(e) = exif {
        if e.len() + EXIF_SIG.len() + 2 <= 0xFFFF {
            segs.extend_from_slice(&[0xFF, 0xE1]);
            segs.extend_from_slice(&((e.len() + EXIF_SIG.len() + 2) as u16).to_be_bytes());
            segs.extend_from_slice(EXIF_SIG);
            segs.extend_from_slice(e);
        }
    }
    if let Some(p) = icc {
        const MAX: usize = 0xFFFF - 2 - 14;
        let chunks: Vec<&[u8]> = p.chunks(MAX).collect();
        if !chunks.is_empty() && chunks.len() <= 255 {
            let n = chunks.len() as u8;
            for (k, c) in chunks.iter().enumerate() {
                segs.extend_from_slice(&[0xFF, 0xE2]);
                segs.extend_from_slice(&((c.len() + 16) as u16).to_be_bytes());
                segs.extend_from_slice(ICC_SIG);
                segs.push(k as u8 + 1);
                segs.push(n);
                segs.extend_from_slice(c);
            }
        }
    }
    if segs.is_empty() {
        return jpeg;
    }
    let at = insertion_point(&jpeg);
    let mut out = Vec::with_capacity(jpeg.len() + segs.len());
    out.extend_from_slice(&jpeg[..at]);
    out.extend_from_slice(&segs);
    out.extend_from_slice(&jpeg[at..]);
    out
}

/// Sets the Orientation tag of IFD0 in a TIFF/EXIF body to 1 (upright), in
/// place, once the pixels have been rotated. No tag → unchanged.
pub(crate) fn reset_orientation(tiff: &mut [u8]) {
    let Some(reader) = crate::tiff::TiffReader::new(tiff) else {
        return;
    };
    let little_endian = reader.little_endian;
    // Only the entry is read: a block whose later IFDs are cut off still
    // gets its Orientation reset.
    let Some(ifd) = reader.first_ifd() else {
        return;
    };
    let Some(n) = reader.u16_at(ifd) else { return };
    let orientation = (0..usize::from(n))
        .map(|k| ifd + 2 + 12 * k)
        .find(|&e| reader.u16_at(e) == Some(0x0112))
        .and_then(|e| Some((e, reader.u16_at(e + 2)?)));
    // The value sits in the entry itself, left-aligned, in the width of its
    // type (SHORT normally; LONG/SLONG/BYTE seen too).
    if let Some((entry, kind)) = orientation {
        crate::tiff::write_inline(tiff, little_endian, entry, kind, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What libjpeg skips before a marker (other bytes, 0xFF 0x00) is left
    /// out, fill bytes too; the scans are untouched; a file without any of
    /// that is not copied.
    #[test]
    fn header_warnings_are_removed_and_nothing_else() {
        let mut c = turbojpeg::Compressor::new().unwrap();
        c.set_quality(80).unwrap();
        let pixels = vec![128u8; 16 * 16 * 3];
        let image = turbojpeg::Image {
            pixels: pixels.as_slice(),
            width: 16,
            pitch: 48,
            height: 16,
            format: turbojpeg::PixelFormat::RGB,
        };
        let clean = c.compress_to_vec(image).unwrap();
        assert_eq!(without_header_warnings(&clean), None);
        let junk = [&clean[..20], &[7, 0xFF, 0x00, 9, 0xFF, 0xFF], &clean[20..]].concat();
        assert_eq!(without_header_warnings(&junk), Some(clean.clone()));
        let mut jfif2 = clean.clone();
        jfif2[11] = 2;
        assert_eq!(without_header_warnings(&jfif2), Some(clean.clone()));
        assert_eq!(without_header_warnings(&clean[..clean.len() / 2]), None);
    }

    /// Builds the IJG table for quality q (libjpeg `jpeg_quality_scaling`).
    fn ijg_table(q: u32) -> [u16; 64] {
        let s = if q < 50 { 5000 / q } else { 200 - 2 * q };
        let mut t = [0u16; 64];
        for (k, v) in t.iter_mut().enumerate() {
            *v = ((STD_LUMA[k] as u32 * s + 50) / 100).clamp(1, 255) as u16;
        }
        t
    }

    #[test]
    fn quality_estimate_inverts_ijg_scaling() {
        for q in [1, 5, 10, 20, 30, 50, 60, 75, 80, 85, 90, 95, 98, 100] {
            let e = estimate_quality(&ijg_table(q)) as i32;
            assert!((e - q as i32).abs() <= 1, "q={q} estimated {e}");
        }
    }

    #[test]
    fn orientation_reset_in_both_byte_orders() {
        for le in [true, false] {
            let mut t = Vec::new();
            let w16 = |v: u16| if le { v.to_le_bytes() } else { v.to_be_bytes() };
            let w32 = |v: u32| if le { v.to_le_bytes() } else { v.to_be_bytes() };
            t.extend_from_slice(if le { b"II" } else { b"MM" });
            t.extend_from_slice(&w16(42));
            t.extend_from_slice(&w32(8));
            t.extend_from_slice(&w16(1));
            t.extend_from_slice(&w16(0x0112));
            t.extend_from_slice(&w16(3));
            t.extend_from_slice(&w32(1));
            t.extend_from_slice(&w16(6));
            t.extend_from_slice(&[0, 0]);
            t.extend_from_slice(&w32(0));
            reset_orientation(&mut t);
            assert_eq!(&t[18..20], &w16(1));
        }
    }
}
