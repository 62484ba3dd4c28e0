//! The EXIF a processed JPEG carries, by [`MetadataPolicy`].
//!
//! A camera's EXIF block is written for the full-size original. Copied
//! unchanged into a thumbnail it is wrong in three ways, and often larger
//! than the thumbnail itself:
//! * IFD1 holds an embedded preview of the *original* (7–26 KB in the
//!   corpus) that no longer matches the picture;
//! * `PixelXDimension`/`PixelYDimension` give the original's size;
//! * GPS position, maker notes (33 KB on one corpus photo) and serial
//!   numbers get published with every thumbnail.
//!
//! [`MetadataPolicy::Keep`] edits the block in place: IFD1 is unlinked and,
//! when it and its preview lie after everything still referenced (as
//! cameras write them), cut off. Maker notes hold offsets into the block
//! that a relocation would break, which is why this policy never moves a
//! byte. [`MetadataPolicy::Safe`] rebuilds the block from a list of tags
//! ([`safe_tag`]), so nothing else can slip through. Both set the
//! dimension tags to the output's size and, when the pixels were
//! auto-oriented, Orientation to 1.

use crate::pipeline::MetadataPolicy;
use crate::tiff::{write_inline, Entry, TiffReader};
use exif::{Context, Field, In, Tag, Value};

/// The EXIF (TIFF body) to write into the output, or `None` for none.
/// `oriented`: the pipeline applied the source's Orientation to the pixels.
pub(crate) fn for_output(
    tiff: &[u8],
    policy: MetadataPolicy,
    width: u32,
    height: u32,
    oriented: bool,
) -> Option<Vec<u8>> {
    match policy {
        MetadataPolicy::Strip => None,
        MetadataPolicy::Keep => Some(keep(tiff, width, height, oriented)),
        MetadataPolicy::Safe => safe(tiff, width, height, oriented),
    }
}

/// IFD0 tags that point to other IFDs.
const EXIF_IFD: u16 = 0x8769;
const GPS_IFD: u16 = 0x8825;
/// The Exif IFD's pointer to the interoperability IFD.
const INTEROP_IFD: u16 = 0xA005;
/// IFD0's pointer to sub-images (DNG-style): data this walk does not
/// follow, so the block is not cut when it is present.
const SUB_IFDS: u16 = 0x014A;
/// IFD1's preview: the offset of its JPEG stream (and, in tests, its
/// length).
const PREVIEW_OFFSET: u16 = 0x0201;
#[cfg(test)]
const PREVIEW_LENGTH: u16 = 0x0202;
/// Size tags: IFD0's (rare in JPEG EXIF) and the Exif IFD's.
const IMAGE_WIDTH: u16 = 0x0100;
const IMAGE_LENGTH: u16 = 0x0101;
const PIXEL_X: u16 = 0xA002;
const PIXEL_Y: u16 = 0xA003;
const ORIENTATION: u16 = 0x0112;

/// Whether [`MetadataPolicy::Safe`] keeps a tag: what describes the
/// picture (colour, resolution, exposure, lens model, dates) and its
/// author (artist, copyright). Left out: GPS, maker notes, user comments,
/// owner name, serial numbers, unique ids, subject location, and every
/// tag not named here.
fn safe_tag(tag: Tag) -> bool {
    let Tag(context, number) = tag;
    match context {
        Context::Tiff => matches!(
            number,
            0x010F // Make
                | 0x0110 // Model
                | 0x0112 // Orientation
                | 0x011A // XResolution
                | 0x011B // YResolution
                | 0x0128 // ResolutionUnit
                | 0x0131 // Software
                | 0x0132 // DateTime
                | 0x013B // Artist
                | 0x013E // WhitePoint
                | 0x013F // PrimaryChromaticities
                | 0x0211 // YCbCrCoefficients
                | 0x0213 // YCbCrPositioning
                | 0x8298 // Copyright
        ),
        Context::Exif => matches!(
            number,
            0x829A // ExposureTime
                | 0x829D // FNumber
                | 0x8822 // ExposureProgram
                | 0x8827 // PhotographicSensitivity (ISO)
                | 0x8830 // SensitivityType
                | 0x9000 // ExifVersion
                | 0x9003 // DateTimeOriginal
                | 0x9004 // DateTimeDigitized
                | 0x9010..=0x9012 // OffsetTime, -Original, -Digitized
                | 0x9101 // ComponentsConfiguration
                | 0x9201..=0x920A // Shutter, aperture, brightness, bias, max aperture,
                // subject distance, metering, light source, flash, focal length
                | 0x9290..=0x9292 // SubSecTime*
                | 0xA000 // FlashpixVersion
                | 0xA001 // ColorSpace
                | PIXEL_X
                | PIXEL_Y
                | 0xA215 // ExposureIndex
                | 0xA217 // SensingMethod
                | 0xA300 // FileSource
                | 0xA301 // SceneType
                | 0xA401..=0xA40A // CustomRendered .. Sharpness
                | 0xA40C // SubjectDistanceRange
                | 0xA432..=0xA434 // LensSpecification, LensMake, LensModel
                | 0xA500 // Gamma
        ),
        // GPS, interoperability, and any context a later version adds.
        _ => false,
    }
}

/// [`MetadataPolicy::Safe`]: the listed tags of IFD0 and the Exif IFD,
/// written into a new block. `None` when the source's cannot be read or
/// nothing is left.
fn safe(tiff: &[u8], width: u32, height: u32, oriented: bool) -> Option<Vec<u8>> {
    let mut reader = exif::Reader::new();
    reader.continue_on_error(true);
    let parsed = match reader.read_raw(tiff.to_vec()) {
        Ok(e) => e,
        Err(exif::Error::PartialResult(p)) => p.into_inner().0,
        Err(_) => return None,
    };
    let fields: Vec<Field> = parsed
        .fields()
        .filter(|f| f.ifd_num == In::PRIMARY && safe_tag(f.tag))
        .map(|f| {
            let value = match f.tag {
                Tag(Context::Exif, PIXEL_X) => Value::Long(vec![width]),
                Tag(Context::Exif, PIXEL_Y) => Value::Long(vec![height]),
                Tag(Context::Tiff, ORIENTATION) if oriented => Value::Short(vec![1]),
                _ => f.value.clone(),
            };
            Field {
                tag: f.tag,
                ifd_num: In::PRIMARY,
                value,
            }
        })
        .collect();
    if fields.is_empty() {
        return None;
    }
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    writer.write(&mut out, parsed.little_endian()).ok()?;
    Some(out.into_inner())
}

/// [`MetadataPolicy::Keep`]: the source's block with IFD1 unlinked (and
/// cut off when nothing kept lies after it), the size tags set to the
/// output's, and Orientation reset when applied.
fn keep(tiff: &[u8], width: u32, height: u32, oriented: bool) -> Vec<u8> {
    let mut out = tiff.to_vec();
    if oriented {
        crate::jpeg::reset_orientation(&mut out);
    }
    let Some(reader) = TiffReader::new(tiff) else {
        return out;
    };
    let Some(ifd0_at) = reader.first_ifd() else {
        return out;
    };
    let Some((ifd0, ifd0_end)) = reader.ifd(ifd0_at) else {
        return out;
    };
    // Every byte range still referenced once IFD1 is gone: the IFDs kept
    // and the values they point to.
    let mut used_end = ifd0_end.max(8);
    let mut can_cut = true;
    let mut edits: Vec<(usize, u16, u32)> = Vec::new();
    let mut walk = |entries: &[Entry], used_end: &mut usize| {
        for e in entries {
            if let Some((_, end)) = e.value {
                *used_end = (*used_end).max(end);
            }
            if matches!(e.tag, IMAGE_WIDTH | PIXEL_X) && e.count == 1 {
                edits.push((e.at, e.kind, width));
            }
            if matches!(e.tag, IMAGE_LENGTH | PIXEL_Y) && e.count == 1 {
                edits.push((e.at, e.kind, height));
            }
        }
    };
    walk(&ifd0, &mut used_end);
    for e in &ifd0 {
        match e.tag {
            EXIF_IFD | GPS_IFD => {
                let Some((sub, sub_end)) = reader.pointer(e).and_then(|at| reader.ifd(at)) else {
                    can_cut = false;
                    continue;
                };
                used_end = used_end.max(sub_end);
                walk(&sub, &mut used_end);
                for interop in sub
                    .iter()
                    .filter(|s| e.tag == EXIF_IFD && s.tag == INTEROP_IFD)
                {
                    match reader.pointer(interop).and_then(|at| reader.ifd(at)) {
                        Some((entries, end)) => {
                            used_end = used_end.max(end);
                            walk(&entries, &mut used_end);
                        }
                        None => can_cut = false,
                    }
                }
            }
            SUB_IFDS => can_cut = false,
            _ => {}
        }
    }
    // One-value SHORT or LONG size tags only (a SHORT that cannot hold
    // the size keeps its value: it would only be wrong another way).
    for (at, kind, value) in edits {
        if matches!(kind, 3 | 4) {
            write_inline(&mut out, reader.little_endian, at, kind, value);
        }
    }
    let link_at = ifd0_end - 4;
    let ifd1_at = reader.u32_at(link_at).map_or(0, |v| v as usize);
    if ifd1_at == 0 {
        return out;
    }
    if let Some(link) = out.get_mut(link_at..ifd0_end) {
        link.fill(0);
    }
    // IFD1 and its preview are cut off only when they lie wholly after
    // the rest (as cameras write them): anything else would leave a kept
    // offset pointing past the end.
    let preview_at = reader.ifd(ifd1_at).and_then(|(entries, _)| {
        let offset = entries.iter().find(|e| e.tag == PREVIEW_OFFSET)?;
        reader.u32_at(offset.at + 8).map(|v| v as usize)
    });
    let cut = used_end.next_multiple_of(2);
    if can_cut && ifd1_at >= cut && preview_at.is_none_or(|p| p >= cut) {
        out.truncate(cut);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian block: IFD0 {Make, Orientation 6, ExifIFD, GPS},
    /// Exif IFD {PixelX, PixelY, MakerNote (16 bytes)}, GPS IFD
    /// {GPSLatitudeRef}, then IFD1 {offset, length} and a 6-byte "preview".
    fn camera_block() -> Vec<u8> {
        let mut b = Vec::new();
        let w16 = |b: &mut Vec<u8>, v: u16| b.extend_from_slice(&v.to_le_bytes());
        let w32 = |b: &mut Vec<u8>, v: u32| b.extend_from_slice(&v.to_le_bytes());
        let entry = |b: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
            w16(b, tag);
            w16(b, kind);
            w32(b, count);
            w32(b, value);
        };
        b.extend_from_slice(b"II*\0");
        w32(&mut b, 8);
        // IFD0 at 8: 4 entries → ends at 8 + 2 + 48 + 4 = 62.
        w16(&mut b, 4);
        entry(&mut b, 0x010F, 2, 4, u32::from_le_bytes(*b"Cam\0"));
        entry(&mut b, ORIENTATION, 3, 1, 6);
        entry(&mut b, EXIF_IFD, 4, 1, 62);
        entry(&mut b, GPS_IFD, 4, 1, 120);
        w32(&mut b, 138); // IFD1
                          // Exif IFD at 62: 3 entries → ends at 104; the note at 104..120.
        w16(&mut b, 3);
        entry(&mut b, PIXEL_X, 4, 1, 4000);
        entry(&mut b, PIXEL_Y, 3, 1, 3000);
        entry(&mut b, 0x927C, 7, 16, 104);
        w32(&mut b, 0);
        assert_eq!(b.len(), 104);
        b.extend_from_slice(b"makernote-bytes!");
        // GPS IFD at 120: 1 entry → ends at 138.
        w16(&mut b, 1);
        entry(&mut b, 0x0001, 2, 2, u32::from_le_bytes(*b"N\0\0\0"));
        w32(&mut b, 0);
        assert_eq!(b.len(), 138);
        // IFD1 at 138: 2 entries → ends at 168; the preview at 168.
        w16(&mut b, 2);
        entry(&mut b, PREVIEW_OFFSET, 4, 1, 168);
        entry(&mut b, PREVIEW_LENGTH, 4, 1, 6);
        w32(&mut b, 0);
        b.extend_from_slice(b"\xFF\xD8prev");
        b
    }

    fn tags(block: &[u8]) -> Vec<(Tag, In, String)> {
        let e = exif::Reader::new()
            .read_raw(block.to_vec())
            .expect("a readable block");
        e.fields()
            .map(|f| (f.tag, f.ifd_num, f.display_value().to_string()))
            .collect()
    }

    fn has(list: &[(Tag, In, String)], tag: Tag, ifd: In) -> Option<String> {
        list.iter()
            .find(|(t, i, _)| *t == tag && *i == ifd)
            .map(|(_, _, v)| v.clone())
    }

    #[test]
    fn keep_cuts_the_preview_and_sets_the_size() {
        let src = camera_block();
        let out = for_output(&src, MetadataPolicy::Keep, 300, 225, true).expect("kept");
        assert_eq!(out.len(), 138, "cut where IFD1 began");
        let t = tags(&out);
        assert!(t.iter().all(|(_, i, _)| *i == In::PRIMARY), "no IFD1 left");
        assert_eq!(
            has(&t, Tag::PixelXDimension, In::PRIMARY).as_deref(),
            Some("300")
        );
        assert_eq!(
            has(&t, Tag::PixelYDimension, In::PRIMARY).as_deref(),
            Some("225")
        );
        assert_eq!(
            has(&t, Tag::Orientation, In::PRIMARY).as_deref(),
            Some("row 0 at top and column 0 at left")
        );
        assert!(has(&t, Tag::MakerNote, In::PRIMARY).is_some());
        assert!(has(&t, Tag::GPSLatitudeRef, In::PRIMARY).is_some());
        // The maker note did not move: its bytes are where they were.
        assert_eq!(&out[104..120], b"makernote-bytes!");
    }

    #[test]
    fn keep_does_not_cut_a_preview_written_before_kept_data() {
        // Point IFD1 at the maker note's neighbourhood: kept data follows.
        let mut src = camera_block();
        src[58..62].copy_from_slice(&104u32.to_le_bytes());
        let out = for_output(&src, MetadataPolicy::Keep, 300, 225, false).expect("kept");
        assert_eq!(out.len(), src.len(), "nothing cut");
        assert_eq!(&out[58..62], &[0, 0, 0, 0], "IFD1 unlinked all the same");
        assert!(has(&tags(&out), Tag::MakerNote, In::PRIMARY).is_some());
    }

    #[test]
    fn safe_keeps_only_the_listed_tags() {
        let out = for_output(&camera_block(), MetadataPolicy::Safe, 300, 225, false).expect("some");
        let t = tags(&out);
        assert!(has(&t, Tag::Make, In::PRIMARY).is_some());
        assert_eq!(
            has(&t, Tag::PixelXDimension, In::PRIMARY).as_deref(),
            Some("300")
        );
        assert_eq!(
            has(&t, Tag::Orientation, In::PRIMARY).as_deref(),
            Some("row 0 at right and column 0 at top")
        );
        for gone in [Tag::MakerNote, Tag::GPSLatitudeRef] {
            assert!(has(&t, gone, In::PRIMARY).is_none(), "{gone} kept");
        }
        assert!(t.iter().all(|(_, i, _)| *i == In::PRIMARY));
    }

    #[test]
    fn strip_and_garbage() {
        assert!(for_output(&camera_block(), MetadataPolicy::Strip, 1, 1, false).is_none());
        for junk in [
            &b""[..],
            b"II*\0",
            b"MM\0*\xFF\xFF\xFF\xFF",
            b"XX*\0\x08\0\0\0\0\0",
        ] {
            assert!(for_output(junk, MetadataPolicy::Safe, 1, 1, false).is_none());
            assert_eq!(
                for_output(junk, MetadataPolicy::Keep, 1, 1, true).as_deref(),
                Some(junk)
            );
        }
    }
}
