//! Header-only inspection: the format from magic bytes, the size and frame
//! count from the headers (GIF frames are counted by walking the block
//! structure, WebP frames by walking RIFF chunks), the JPEG metadata, and
//! the limit checks that must pass before any pixel buffer is allocated.

use std::io::Cursor;

use crate::error::{Error, Result};
use crate::jpeg::{self, JpegHeader};
use crate::pipeline::Format;
use crate::Limits;

/// Information about an image, enough for every vendor's info JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// Size of the encoded image in bytes.
    pub file_size: u64,
    /// 1 for a still image.
    pub frame_count: u32,
    /// IJG quality estimated from the luminance quantisation table (JPEG).
    pub quality: Option<u8>,
    /// EXIF Orientation (1–8) when the image has one.
    pub orientation: Option<u16>,
    /// Every EXIF field, primary image first, then the thumbnail's fields
    /// (named `thumbnail:<Tag>`).
    pub exif: Vec<ExifField>,
}

/// One EXIF field, rendered as text so that the dialects can build their
/// JSON without depending on an EXIF crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExifField {
    /// Tag name as in the EXIF standard (`Orientation`, `DateTime`,
    /// `GPSLatitude`...), or `Tag(<ifd>, <number>)` for unknown tags;
    /// prefixed `thumbnail:` for the thumbnail IFD.
    pub tag: String,
    /// The value: ASCII as is, integers as decimals joined by `,`,
    /// rationals as `n/d`.
    pub value: String,
    /// The TIFF type code (1 BYTE, 2 ASCII, 3 SHORT, 4 LONG, 5 RATIONAL,
    /// 7 UNDEFINED, 9 SLONG, 10 SRATIONAL...).
    pub type_code: u16,
}

/// Recognises the format from the first bytes.
pub fn sniff(b: &[u8]) -> Option<Format> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else if b.len() >= 12 && &b[0..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some(Format::Webp)
    } else if b.starts_with(b"BM") {
        Some(Format::Bmp)
    } else if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        Some(Format::Tiff)
    } else if b.len() >= 12 && &b[4..8] == b"ftyp" {
        let brand = &b[8..12];
        if brand == b"avif" || brand == b"avis" {
            Some(Format::Avif)
        } else if matches!(
            brand,
            b"heic" | b"heix" | b"mif1" | b"msf1" | b"hevc" | b"heim" | b"heis"
        ) {
            Some(Format::Heic)
        } else {
            None
        }
    } else {
        None
    }
}

/// The header facts of a source.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    pub jpeg: Option<JpegHeader>,
    pub heif: Option<crate::heif::HeifHeader>,
}

impl Header {
    /// The source's EXIF (a TIFF body), from a JPEG's APP1 or a HEIF's
    /// metadata item.
    pub fn exif(&self) -> Option<&[u8]> {
        match (&self.jpeg, &self.heif) {
            (Some(j), _) => j.exif.as_deref(),
            (_, Some(h)) => h.exif.as_deref(),
            _ => None,
        }
    }

    /// [`may_have_alpha`], answered from the HEIF header already read.
    pub fn may_have_alpha(&self, data: &[u8]) -> bool {
        match &self.heif {
            Some(h) => h.alpha,
            None => may_have_alpha(data, self.format),
        }
    }
}

/// Reads the header and checks the source limits: bytes, sides, and
/// W×H×frames. Nothing proportional to the pixel count is allocated.
pub(crate) fn inspect(data: &[u8], limits: &Limits) -> Result<Header> {
    check("source bytes", data.len() as u64, limits.max_source_bytes)?;
    let format =
        sniff(data).ok_or_else(|| Error::Decode("unknown or unsupported image format".into()))?;
    let mut jpeg_header = None;
    let mut heif_header = None;
    let (width, height, frames) = match format {
        Format::Jpeg => {
            let h = jpeg::read_header(data)?;
            let dims = (h.width, h.height, 1);
            jpeg_header = Some(h);
            dims
        }
        Format::Gif => gif_scan(data)?,
        Format::Webp => {
            let (w, h) = image_dims(data, image::ImageFormat::WebP)?;
            (w, h, webp_scan(data, w, h)?.max(1))
        }
        Format::Png => {
            // IHDR is always the first chunk, at a fixed offset.
            if data.len() < 24 || &data[12..16] != b"IHDR" {
                return Err(Error::Decode("PNG without IHDR".into()));
            }
            let w = u32::from_be_bytes([data[16], data[17], data[18], data[19]]);
            let h = u32::from_be_bytes([data[20], data[21], data[22], data[23]]);
            (w, h, 1)
        }
        Format::Bmp => {
            let (w, h) = image_dims(data, image::ImageFormat::Bmp)?;
            (w, h, 1)
        }
        Format::Tiff => {
            tiff_scan(data)?;
            let (w, h) = image_dims(data, image::ImageFormat::Tiff)?;
            (w, h, 1)
        }
        // Only the primary image is decoded (`heif`).
        Format::Avif | Format::Heic => {
            let h = crate::heif::read_header(data, limits)?;
            let dims = (h.width, h.height, 1);
            heif_header = Some(h);
            dims
        }
    };
    if width == 0 || height == 0 {
        return Err(Error::Decode("image with a zero dimension".into()));
    }
    check("source width", width as u64, limits.max_side as u64)?;
    check("source height", height as u64, limits.max_side as u64)?;
    check("source frames", frames as u64, limits.max_frames as u64)?;
    check(
        "source pixels",
        width as u64 * height as u64 * frames as u64,
        limits.max_pixels,
    )?;
    Ok(Header {
        format,
        width,
        height,
        frames,
        jpeg: jpeg_header,
        heif: heif_header,
    })
}

/// `Error::TooLarge` when `value > limit`.
pub(crate) fn check(what: &'static str, value: u64, limit: u64) -> Result<()> {
    if value > limit {
        Err(Error::TooLarge { what, value, limit })
    } else {
        Ok(())
    }
}

fn image_dims(data: &[u8], f: image::ImageFormat) -> Result<(u32, u32)> {
    image::ImageReader::with_format(Cursor::new(data), f)
        .into_dimensions()
        .map_err(|e| Error::Decode(e.to_string()))
}

/// Walks a GIF's blocks without decompressing anything and returns the
/// logical screen size and the number of images. A truncated file counts
/// the frames it has; one without any frame is a decode error.
///
/// Every image descriptor's rectangle must lie inside the logical screen
/// (GIF89a §20: "the image must be contained within the logical screen").
/// Decoders allocate a frame's own rectangle, so a 100×100 screen holding
/// a 16000×15000 frame would pass every limit computed from the screen;
/// such a frame is refused here, from its descriptor, as `TooLarge`. With
/// every frame inside the screen, the screen × frames check of
/// [`inspect`] bounds the sum of the decoded frames too, and `info`'s
/// screen size is the truth.
pub(crate) fn gif_scan(d: &[u8]) -> Result<(u32, u32, u32)> {
    if d.len() < 13 {
        return Err(Error::Decode("truncated GIF header".into()));
    }
    let w = u16::from_le_bytes([d[6], d[7]]) as u32;
    let h = u16::from_le_bytes([d[8], d[9]]) as u32;
    let flags = d[10];
    let mut i = 13;
    if flags & 0x80 != 0 {
        i += 3 * (1usize << ((flags & 7) + 1));
    }
    // Skips a chain of data sub-blocks; returns the index after the terminator.
    let skip_sub_blocks = |mut i: usize| -> Option<usize> {
        loop {
            let n = *d.get(i)? as usize;
            i += 1;
            if n == 0 {
                return Some(i);
            }
            i += n;
        }
    };
    let mut frames = 0u32;
    while let Some(&b) = d.get(i) {
        match b {
            0x21 => match skip_sub_blocks(i + 2) {
                Some(n) => i = n,
                None => break,
            },
            0x2C => {
                let Some(desc) = d.get(i..i + 10) else { break };
                let le = |k: usize| u32::from(u16::from_le_bytes([desc[k], desc[k + 1]]));
                let (left, top, fw, fh) = (le(1), le(3), le(5), le(7));
                check("GIF frame right edge", u64::from(left + fw), u64::from(w))?;
                check("GIF frame bottom edge", u64::from(top + fh), u64::from(h))?;
                let lflags = desc[9];
                i += 10;
                if lflags & 0x80 != 0 {
                    i += 3 * (1usize << ((lflags & 7) + 1));
                }
                i += 1; // LZW minimum code size
                frames += 1;
                match skip_sub_blocks(i) {
                    Some(n) => i = n,
                    None => break,
                }
            }
            _ => break, // 0x3B trailer, or garbage
        }
    }
    if frames == 0 {
        return Err(Error::Decode("GIF without any image".into()));
    }
    Ok((w, h, frames))
}

/// The width and height a VP8 (lossy) or VP8L (lossless) bitstream
/// declares, from its first bytes; `None` for another chunk or a header
/// too short to say.
fn webp_bitstream_dims(id: &[u8], data: &[u8]) -> Option<(u32, u32)> {
    match id {
        // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit sides.
        b"VP8 " if data.len() >= 10 && data[3..6] == [0x9d, 0x01, 0x2a] => Some((
            u32::from(u16::from_le_bytes([data[6], data[7]]) & 0x3fff),
            u32::from(u16::from_le_bytes([data[8], data[9]]) & 0x3fff),
        )),
        // Signature 0x2f, then 14 bits of width-1 and 14 of height-1.
        b"VP8L" if data.len() >= 5 && data[0] == 0x2f => {
            let bits = u32::from_le_bytes([data[1], data[2], data[3], data[4]]);
            Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        _ => None,
    }
}

/// Whether a source may have transparent pixels, from its header (the
/// work budget prices WebP's alpha plane by it): never for JPEG; for PNG
/// when its colour type has alpha or a `tRNS` chunk comes before the image
/// data; for WebP when the extended header's alpha flag or the lossless
/// bitstream's says so; for HEIF when the primary image has an alpha
/// channel; always assumed for the other formats.
pub(crate) fn may_have_alpha(data: &[u8], format: Format) -> bool {
    match format {
        Format::Jpeg => false,
        Format::Png => {
            // IHDR's colour type: 4 grey + alpha, 6 RGBA.
            if matches!(data.get(25), Some(4 | 6)) {
                return true;
            }
            let mut at = 8usize;
            while let Some(head) = data.get(at..at.saturating_add(8)) {
                let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
                match &head[4..8] {
                    b"tRNS" => return true,
                    b"IDAT" | b"IEND" => return false,
                    _ => at = at.saturating_add(12).saturating_add(len),
                }
            }
            false
        }
        Format::Webp => riff_chunks(data.get(12..).unwrap_or_default()).any(|(id, d)| match id {
            b"VP8X" => d.first().is_some_and(|flags| flags & 0x10 != 0),
            b"VP8L" if d.len() >= 5 => d[4] & 0x10 != 0,
            b"ALPH" => true,
            _ => false,
        }),
        Format::Avif | Format::Heic => {
            crate::heif::read_header(data, &Limits::unlimited()).map_or(true, |h| h.alpha)
        }
        _ => true,
    }
}

/// The chunks of a RIFF body: `(fourcc, data)`. A chunk longer than what
/// is left yields what is left, and ends the walk: decoders read such a
/// truncated chunk too, so its header must be checked as well.
fn riff_chunks(d: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut i = 0usize;
    std::iter::from_fn(move || {
        let head = d.get(i..i.checked_add(8)?)?;
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let start = i + 8;
        let end = start.saturating_add(len).min(d.len());
        let data = d.get(start..end)?;
        i = start.saturating_add(len).saturating_add(len & 1);
        Some((&head[..4], data))
    })
}

/// Checks every WebP frame against the `w`×`h` canvas before any is
/// decoded, and counts the frames (ANMF chunks; 0 for a still image).
///
/// The decoder sizes its buffers from the bitstream's own header, not the
/// canvas: a tiny canvas over a 9000×16000 VP8 frame would pass a canvas
/// check and allocate 150 MB (found by the `image_execute` fuzz target).
/// So a still image's bitstream must have the canvas's size, and each
/// animation frame's rectangle must lie inside the canvas with a
/// bitstream of the rectangle's size, as the WebP container spec requires.
fn webp_scan(d: &[u8], w: u32, h: u32) -> Result<u32> {
    let bad = |why: String| Err(Error::Decode(format!("WebP: {why}")));
    let mut frames = 0u32;
    for (id, data) in riff_chunks(d.get(12..).unwrap_or_default()) {
        if let Some((bw, bh)) = webp_bitstream_dims(id, data) {
            if (bw, bh) != (w, h) {
                return bad(format!("an image of {bw}x{bh} on a {w}x{h} canvas"));
            }
        }
        if id != b"ANMF" {
            continue;
        }
        frames += 1;
        if data.len() < 16 {
            return bad(format!("frame {frames} has a truncated header"));
        }
        let u24 = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], 0]);
        let (x, y) = (2 * u24(&data[0..3]), 2 * u24(&data[3..6]));
        let (fw, fh) = (u24(&data[6..9]) + 1, u24(&data[9..12]) + 1);
        if u64::from(x) + u64::from(fw) > u64::from(w)
            || u64::from(y) + u64::from(fh) > u64::from(h)
        {
            return bad(format!(
                "frame {frames} ({fw}x{fh} at {x},{y}) is outside the {w}x{h} canvas"
            ));
        }
        for (sub, sub_data) in riff_chunks(&data[16..]) {
            if let Some((bw, bh)) = webp_bitstream_dims(sub, sub_data) {
                if (bw, bh) != (fw, fh) {
                    return bad(format!(
                        "frame {frames} holds {bw}x{bh} in a {fw}x{fh} rectangle"
                    ));
                }
            }
        }
    }
    Ok(frames)
}

/// Walks a classic TIFF's chain of IFDs (the first [`TIFF_MAX_IFDS`]) and
/// checks that every entry's values lie inside the file, before the
/// `tiff` crate reads the header.
///
/// That crate reserves a vector for an entry's values from the count the
/// entry declares, up to 256 MiB, before it reads them: a 400-byte file
/// declaring ten million values cost a 242 MB allocation (found by the
/// `image_execute` fuzz target). An entry whose values reach past the end
/// of the file cannot be read anyway, so it is refused here as corrupt,
/// and what the crate may reserve stays proportional to the file's size.
/// Entries of a type this walk does not know are skipped by the crate, so
/// they are skipped here too.
fn tiff_scan(d: &[u8]) -> Result<()> {
    let bad = |why: String| Err(Error::Decode(format!("TIFF: {why}")));
    // `sniff` let only `II*\0` and `MM\0*` through.
    let Some(reader) = crate::tiff::TiffReader::new(d) else {
        return bad("no byte-order mark".into());
    };
    let u16_at = |i: usize| reader.u16_at(i);
    let u32_at = |i: usize| reader.u32_at(i);
    let Some(mut ifd) = u32_at(4) else {
        return bad("truncated header".into());
    };
    for n in 0..TIFF_MAX_IFDS {
        if ifd == 0 {
            return Ok(());
        }
        let at = ifd as usize;
        let Some(entries) = u16_at(at) else {
            return bad(format!("IFD {n} at {at} is outside the file"));
        };
        for e in 0..entries as usize {
            let entry = at + 2 + 12 * e;
            let (Some(type_code), Some(count), Some(offset)) =
                (u16_at(entry + 2), u32_at(entry + 4), u32_at(entry + 8))
            else {
                return bad(format!("IFD {n} is truncated at entry {e}"));
            };
            let Some(size) = crate::tiff::type_size(type_code) else {
                continue;
            };
            let len = u64::from(count) * size;
            if len > 4 && u64::from(offset) + len > d.len() as u64 {
                return bad(format!(
                    "entry {e} of IFD {n} declares {count} values, past the end of the file"
                ));
            }
        }
        match u32_at(at + 2 + 12 * entries as usize) {
            Some(next) => ifd = next,
            // The last IFD's "next" offset may be cut off; decoders stop there.
            None => return Ok(()),
        }
    }
    // A longer chain (a loop, or a long multi-page scan) is left to the
    // decoder: it reads the first IFD only, and detects loops itself.
    Ok(())
}

/// IFDs [`tiff_scan`] checks: the decoder reads only the first image's,
/// the rest are checked in case it ever reads further.
const TIFF_MAX_IFDS: usize = 64;

/// Reads the EXIF of any container kamadak-exif knows (JPEG, TIFF, PNG
/// eXIf, WebP, HEIF); `None` when there is none or it is unreadable.
pub(crate) fn read_exif(data: &[u8], header: Option<&JpegHeader>) -> Option<exif::Exif> {
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let res = match header.and_then(|h| h.exif.as_ref()) {
        Some(tiff) => reader.read_raw(tiff.clone()),
        None if matches!(sniff(data), Some(Format::Jpeg)) => return None,
        None => reader.read_from_container(&mut Cursor::new(data)),
    };
    match res {
        Ok(e) => Some(e),
        Err(exif::Error::PartialResult(p)) => Some(p.into_inner().0),
        Err(_) => None,
    }
}

/// The EXIF Orientation (1–8) of a source, if any. Never for HEIF: its
/// decoder already applies the container's own orientation (`heif`).
pub(crate) fn orientation(data: &[u8], header: Option<&JpegHeader>) -> Option<u16> {
    if matches!(sniff(data), Some(Format::Heic | Format::Avif)) {
        return None;
    }
    orientation_of(&read_exif(data, header)?)
}

/// The Orientation of parsed EXIF. Any integer type is accepted: some
/// writers store it as LONG or even SLONG instead of SHORT.
fn orientation_of(e: &exif::Exif) -> Option<u16> {
    let f = e.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?;
    let v: i64 = match &f.value {
        exif::Value::SLong(v) => *v.first()? as i64,
        exif::Value::SShort(v) => *v.first()? as i64,
        exif::Value::SByte(v) => *v.first()? as i64,
        other => other.get_uint(0)? as i64,
    };
    (1..=8).contains(&v).then_some(v as u16)
}

fn value_text(v: &exif::Value) -> (String, u16) {
    use exif::Value as V;
    fn join<T: ToString>(v: &[T]) -> String {
        v.iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
    match v {
        V::Byte(b) => (join(b), 1),
        V::Ascii(a) => {
            let parts: Vec<String> = a
                .iter()
                .map(|s| {
                    String::from_utf8_lossy(s)
                        .trim_end_matches('\0')
                        .to_string()
                })
                .collect();
            (parts.join(","), 2)
        }
        V::Short(s) => (join(s), 3),
        V::Long(l) => (join(l), 4),
        V::Rational(r) => (
            r.iter()
                .map(|x| format!("{}/{}", x.num, x.denom))
                .collect::<Vec<_>>()
                .join(","),
            5,
        ),
        V::SByte(b) => (join(b), 6),
        V::Undefined(u, _) => {
            // Mostly version strings ("0231") or binary blobs: text when
            // printable, else the byte count (maker notes can be huge).
            if u.iter().all(|c| (0x20..0x7F).contains(c)) {
                (String::from_utf8_lossy(u).into_owned(), 7)
            } else {
                (format!("{} bytes", u.len()), 7)
            }
        }
        V::SShort(s) => (join(s), 8),
        V::SLong(l) => (join(l), 9),
        V::SRational(r) => (
            r.iter()
                .map(|x| format!("{}/{}", x.num, x.denom))
                .collect::<Vec<_>>()
                .join(","),
            10,
        ),
        V::Float(f) => (join(f), 11),
        V::Double(d) => (join(d), 12),
        V::Unknown(t, _, _) => (String::new(), *t),
    }
}

/// Every EXIF field as text (see [`ExifField`]).
pub(crate) fn exif_fields(e: &exif::Exif) -> Vec<ExifField> {
    let mut out = Vec::new();
    for f in e.fields() {
        // Skip pointers to sub-IFDs: they are structure, not data.
        if matches!(
            f.tag,
            exif::Tag::ExifIFDPointer | exif::Tag::GPSInfoIFDPointer | exif::Tag::InteropIFDPointer
        ) {
            continue;
        }
        if f.tag == exif::Tag::MakerNote {
            continue;
        }
        let (value, type_code) = value_text(&f.value);
        let name = f.tag.to_string();
        let tag = if f.ifd_num == exif::In::THUMBNAIL {
            format!("thumbnail:{name}")
        } else {
            name
        };
        out.push(ExifField {
            tag,
            value,
            type_code,
        });
    }
    out
}

/// Header-only information about an encoded image (upload-time info, the
/// `Info` terminal without operations). Checks `limits` like a decode
/// would, so a bomb is reported as `TooLarge` here too.
pub fn probe(data: &[u8], limits: &Limits) -> Result<ImageInfo> {
    let h = inspect(data, limits)?;
    let exif = read_exif(data, h.jpeg.as_ref());
    let orientation = exif.as_ref().and_then(orientation_of);
    Ok(ImageInfo {
        format: h.format,
        width: h.width,
        height: h.height,
        file_size: data.len() as u64,
        frame_count: h.frames,
        quality: h.jpeg.as_ref().and_then(|j| j.quality),
        orientation,
        exif: exif.as_ref().map(exif_fields).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ExtendedColorType, ImageEncoder};

    fn png(colour: ExtendedColorType, px: &[u8], trns: bool) -> Vec<u8> {
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(px, 2, 1, colour)
            .expect("a PNG");
        if trns {
            // A tRNS chunk (contents unchecked here) right after IHDR.
            let chunk = [
                0, 0, 0, 6, b't', b'R', b'N', b'S', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ];
            out.splice(33..33, chunk);
        }
        out
    }

    #[test]
    fn alpha_is_read_from_the_header() {
        let rgb = png(ExtendedColorType::Rgb8, &[1, 2, 3, 4, 5, 6], false);
        assert!(!may_have_alpha(&rgb, Format::Png));
        let with_trns = png(ExtendedColorType::Rgb8, &[1, 2, 3, 4, 5, 6], true);
        assert!(may_have_alpha(&with_trns, Format::Png));
        let rgba = png(ExtendedColorType::Rgba8, &[1, 2, 3, 255, 5, 6, 7, 0], false);
        assert!(may_have_alpha(&rgba, Format::Png));
        assert!(!may_have_alpha(b"\xFF\xD8\xFF", Format::Jpeg));
        let opaque = webp::Encoder::from_rgba(&[9, 9, 9, 255, 9, 9, 9, 255], 2, 1)
            .encode_simple(false, 80.0)
            .expect("a WebP");
        assert!(!may_have_alpha(&opaque, Format::Webp));
        let clear = webp::Encoder::from_rgba(&[9, 9, 9, 255, 9, 9, 9, 0], 2, 1)
            .encode_simple(false, 80.0)
            .expect("a WebP");
        assert!(may_have_alpha(&clear, Format::Webp));
        // Formats without a check, and truncated headers, are assumed to.
        assert!(may_have_alpha(b"GIF89a", Format::Gif));
        assert!(!may_have_alpha(&rgb[..20], Format::Png));
    }
}
