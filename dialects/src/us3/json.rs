//! JSON bodies of the US3 information commands (`docs/us3-dialect.md`,
//! "JSON answers"): `imageinfo`, `exif` and `averagehue`.

use crate::common::rgb_json;
use imaging::{ExifField, Format, ImageInfo, Rgb};
use serde_json::Value;

/// UCloud's upper-case format names (`JPEG`), as `imageinfo` writes them.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Jpeg => "JPEG",
        Format::Png => "PNG",
        Format::Webp => "WEBP",
        Format::Bmp => "BMP",
        Format::Gif => "GIF",
        Format::Tiff => "TIFF",
        Format::Avif => "AVIF",
        Format::Heic => "HEIC",
    }
}

/// The body of `iopcmd=imageinfo`: numeric sizes and the upper-case format
/// name, `{"width": 640, "height": 480, "format": "JPEG"}`.
pub fn info_json(info: &ImageInfo) -> Value {
    serde_json::json!({
        "width": info.width,
        "height": info.height,
        "format": format_name(info.format),
    })
}

/// The body of `iopcmd=exif`: every tag as a string, thumbnail tags
/// prefixed `thumbnail:`; an image without EXIF gives `{}`.
pub fn exif_json(fields: &[ExifField]) -> Value {
    let mut map = serde_json::Map::new();
    for f in fields {
        // The first occurrence wins (the primary image's, listed first).
        map.entry(f.tag.clone())
            .or_insert_with(|| Value::String(f.value.clone()));
    }
    Value::Object(map)
}

/// The body of `iopcmd=averagehue`: `{"RGB": "0xRRGGBB"}` (the vendor does
/// not document one; this is the other vendors' shape).
pub fn average_hue_json(color: Rgb) -> Value {
    rgb_json(color)
}
