//! JSON bodies of the COS information processors (`docs/cos-dialect.md`,
//! "JSON answers"): `imageInfo`, `exif` and `imageAve`; and Tencent's
//! format names, which `Pic-Operations` answers use too.

use crate::common::rgb_json;
use imaging::{ExifField, Format, ImageInfo, Rgb};
use serde_json::Value;

/// Tencent's format names: lower case in `imageInfo` and in the
/// `ProcessResults` of a `Pic-Operations` answer (`png`, `jpeg`, `heif`),
/// upper case in its `ImageInfo` (`JPEG`), as in the documented samples.
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Jpeg => "jpeg",
        Format::Png => "png",
        Format::Webp => "webp",
        Format::Bmp => "bmp",
        Format::Gif => "gif",
        Format::Tiff => "tiff",
        Format::Avif => "avif",
        Format::Heic => "heif",
    }
}

/// The body of `imageInfo`: every value a string.
/// `md5` is the hex MD5 of the described bytes, which the engine does not
/// compute (for a stored, unprocessed object it is its ETag's MD5).
pub fn info_json(info: &ImageInfo, md5: &str) -> Value {
    serde_json::json!({
        "format": format_name(info.format),
        "width": info.width.to_string(),
        "height": info.height.to_string(),
        "size": info.file_size.to_string(),
        "md5": md5,
        "frame_count": info.frame_count.to_string(),
    })
}

/// The body of `exif`: `{"<Tag>": {"val": "<string>", "type": <TIFF type>}}`
/// (an inferred shape); no EXIF gives `{"error": "no exif data"}` as
/// Tencent documents.
pub fn exif_json(fields: &[ExifField]) -> Value {
    if fields.is_empty() {
        return serde_json::json!({ "error": "no exif data" });
    }
    let mut map = serde_json::Map::new();
    for f in fields {
        map.entry(f.tag.clone())
            .or_insert_with(|| serde_json::json!({ "val": f.value, "type": f.type_code }));
    }
    Value::Object(map)
}

/// The body of `imageAve`: `{"RGB": "0xRRGGBB"}`.
pub fn average_hue_json(color: Rgb) -> Value {
    rgb_json(color)
}
