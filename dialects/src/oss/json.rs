//! JSON bodies of OSS information requests (`docs/oss.md`, "What you can
//! ask for": `info`, `average-hue`): every value of `image/info` is an
//! object `{"value": "<string>"}`, keys sorted as in the vendor's examples.

use imaging::{Format, ImageInfo, Rgb};
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// Longest `UNDEFINED`-typed EXIF value rendered: such fields are binary
/// blobs (maker notes, print-image matching) that Alibaba does not show.
const MAX_UNDEFINED_LEN: usize = 64;
const TIFF_UNDEFINED: u16 = 7;

/// The format name OSS uses in `Format` (`jpg`, not `jpeg`).
pub fn format_name(format: Format) -> &'static str {
    crate::common::format_ext(format)
}

/// The body of `image/info`:
/// `{"FileSize":{"value":"21839"},"Format":{"value":"jpg"},"FrameCount":{"value":"1"},
/// "ImageHeight":{"value":"267"},"ImageWidth":{"value":"400"}, ...EXIF}`.
///
/// EXIF fields of the primary image are merged in under their tag names
/// (`Orientation`, `DateTime`, `Make`...); thumbnail-IFD fields, unnamed
/// tags (`Tag(..)`), maker notes and long binary fields are left out, and
/// no EXIF field may replace one of the base keys. `FrameCount` is the
/// newer responses' optional key (`docs/oss-dialect.md`, "Actions": `info`).
pub fn info_json(info: &ImageInfo) -> Value {
    // Sorted by key whatever serde_json's map type (the `preserve_order`
    // feature may be on elsewhere in the build), as in the vendor's examples.
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let base = [
        ("FileSize", info.file_size.to_string()),
        ("Format", format_name(info.format).to_string()),
        ("FrameCount", info.frame_count.to_string()),
        ("ImageHeight", info.height.to_string()),
        ("ImageWidth", info.width.to_string()),
    ];
    for (key, value) in base {
        fields.insert(key.to_string(), value);
    }
    for field in &info.exif {
        let skip = field.tag.starts_with("thumbnail:")
            || field.tag.starts_with("Tag(")
            || field.tag == "MakerNote"
            || (field.type_code == TIFF_UNDEFINED && field.value.len() > MAX_UNDEFINED_LEN);
        if !skip {
            // The base keys are never replaced by an EXIF field.
            fields
                .entry(field.tag.clone())
                .or_insert_with(|| field.value.clone());
        }
    }
    let map: Map<String, Value> = fields
        .into_iter()
        .map(|(k, v)| (k, json!({ "value": v })))
        .collect();
    Value::Object(map)
}

/// The body of `image/average-hue`: `{"RGB":"0xRRGGBB"}` (upper-case hex).
pub fn average_hue_json(rgb: Rgb) -> Value {
    crate::common::rgb_json(rgb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use imaging::ExifField;

    fn field(tag: &str, value: &str, type_code: u16) -> ExifField {
        ExifField {
            tag: tag.into(),
            value: value.into(),
            type_code,
        }
    }

    fn base(format: Format) -> ImageInfo {
        ImageInfo {
            format,
            width: 400,
            height: 267,
            file_size: 21839,
            frame_count: 1,
            quality: Some(90),
            orientation: None,
            exif: vec![],
        }
    }

    #[test]
    fn documented_info_shape() {
        let v = info_json(&base(Format::Jpeg));
        assert_eq!(
            v.to_string(),
            r#"{"FileSize":{"value":"21839"},"Format":{"value":"jpg"},"FrameCount":{"value":"1"},"ImageHeight":{"value":"267"},"ImageWidth":{"value":"400"}}"#
        );
    }

    #[test]
    fn exif_is_merged_and_filtered() {
        let mut info = base(Format::Jpeg);
        info.orientation = Some(7);
        info.exif = vec![
            field("Make", "TestCam", 2),
            field("Model", "T1", 2),
            field("DateTime", "2020:01:02 03:04:05", 2),
            field("Orientation", "7", 3),
            field("XResolution", "72/1", 5),
            field("ImageWidth", "9999", 4), // must not replace the real width
            field("thumbnail:Compression", "6", 3),
            field("Tag(Primary, 50000)", "1", 3),
            field("MakerNote", "0x00", 7),
            field("ComponentsConfiguration", &"1,".repeat(40), 7),
            field("ExifVersion", "0230", 7),
        ];
        let v = info_json(&info);
        let obj = v.as_object().unwrap();
        let value = |k: &str| obj.get(k).map(|o| o["value"].as_str().unwrap().to_string());
        assert_eq!(value("Orientation").as_deref(), Some("7"));
        assert_eq!(value("Make").as_deref(), Some("TestCam"));
        assert_eq!(value("Model").as_deref(), Some("T1"));
        assert_eq!(value("DateTime").as_deref(), Some("2020:01:02 03:04:05"));
        assert_eq!(value("XResolution").as_deref(), Some("72/1"));
        assert_eq!(value("ExifVersion").as_deref(), Some("0230"));
        assert_eq!(value("ImageWidth").as_deref(), Some("400"));
        for absent in [
            "thumbnail:Compression",
            "Tag(Primary, 50000)",
            "MakerNote",
            "ComponentsConfiguration",
        ] {
            assert!(!obj.contains_key(absent), "{absent}");
        }
        // Keys sorted, whatever the map type.
        let keys: Vec<&String> = obj.keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(v
            .to_string()
            .starts_with(r#"{"DateTime":{"value":"2020:01:02 03:04:05"},"ExifVersion""#));
        // Every value is {"value": "<string>"}.
        assert!(obj
            .values()
            .all(|o| o.as_object().unwrap().len() == 1 && o["value"].is_string()));
    }

    #[test]
    fn format_names_and_animation() {
        let mut info = base(Format::Gif);
        info.frame_count = 10;
        let v = info_json(&info);
        assert_eq!(v["Format"]["value"], "gif");
        assert_eq!(v["FrameCount"]["value"], "10");
        for (f, n) in [
            (Format::Jpeg, "jpg"),
            (Format::Png, "png"),
            (Format::Webp, "webp"),
            (Format::Bmp, "bmp"),
            (Format::Tiff, "tiff"),
            (Format::Heic, "heic"),
            (Format::Avif, "avif"),
        ] {
            assert_eq!(format_name(f), n);
        }
    }

    #[test]
    fn average_hue_shape() {
        assert_eq!(
            average_hue_json(Rgb(0, 128, 255)).to_string(),
            r#"{"RGB":"0x0080FF"}"#
        );
        assert_eq!(average_hue_json(Rgb(255, 0, 10))["RGB"], "0xFF000A");
    }
}
