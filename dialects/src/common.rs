//! Helpers shared by the three dialect parsers: URL-safe base64, hex
//! colours, 3×3 gravity names, bounded integers and decimals, percent-decoding,
//! raw query splitting, URL paths and the average-colour JSON body.
//!
//! Every helper returns a [`DialectError`] without vendor code; the dialect
//! attaches its own (`.or_code(..)`) and, where it knows more, a better
//! fragment (`.with_fragment(..)`).

use crate::error::{DialectError, ErrorKind, Result};
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use imaging::{
    Enlarge, Format, FormatRequest, Geometry, Gravity, Op, OutputOptions, Pipeline, Resize, Rgb,
    Rounding, VideoFrame,
};

/// The message OSS documents for an undecodable base64 value; used by every
/// dialect since it names the fault well.
pub const BASE64_MESSAGE: &str = "Input is not base64 decoding.";

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// Largest width or height a snapshot request may ask for (the output
/// side limit of every dialect).
pub const SNAPSHOT_MAX_SIDE: u32 = 16_384;

/// `value` of the parameter `name` looked up in `choices`; any other value
/// is an `InvalidArgument` that lists them, pointing at `fragment`.
pub fn choice<T: Copy>(
    name: &str,
    value: &str,
    fragment: &str,
    choices: &[(&str, T)],
) -> Result<T> {
    choices
        .iter()
        .find(|(text, _)| *text == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(text, _)| *text).collect();
            DialectError::invalid(
                format!(
                    "`{name}` must be one of {}, not `{value}`",
                    names.join(", ")
                ),
                fragment,
            )
        })
}

/// A format's name in the processing strings of all three dialects
/// (`format,jpg`, `/format/jpg`, `dst=jpg`) and in OSS's `info`.
pub fn format_ext(f: Format) -> &'static str {
    match f {
        Format::Jpeg => "jpg",
        Format::Png => "png",
        Format::Webp => "webp",
        Format::Bmp => "bmp",
        Format::Gif => "gif",
        Format::Tiff => "tiff",
        Format::Avif => "avif",
        Format::Heic => "heic",
    }
}

/// The snapshot output formats of every dialect.
pub const SNAPSHOT_FORMATS: [(&str, Format); 3] = [
    ("jpg", Format::Jpeg),
    ("jpeg", Format::Jpeg),
    ("png", Format::Png),
];

/// The pipeline of a video snapshot, in any dialect: the frame, scaled to
/// `width`×`height` (0: from the other side and the aspect ratio; both 0:
/// the frame as decoded), never enlarged, encoded as `format`.
pub fn snapshot_pipeline(frame: VideoFrame, width: u32, height: u32, format: Format) -> Pipeline {
    let geometry = match (width, height) {
        (0, 0) => None,
        (w, 0) => Some(Geometry::Fit {
            width: Some(w),
            height: None,
        }),
        (0, h) => Some(Geometry::Fit {
            width: None,
            height: Some(h),
        }),
        (w, h) => Some(Geometry::Stretch {
            width: w,
            height: h,
        }),
    };
    Pipeline {
        ops: geometry
            .map(|geometry| {
                Op::Resize(Resize {
                    geometry,
                    enlarge: Enlarge::Never,
                })
            })
            .into_iter()
            .collect(),
        rounding: Rounding::Nearest,
        output: OutputOptions {
            format: Some(FormatRequest {
                format,
                only_if_source_animated: false,
            }),
            ..OutputOptions::default()
        },
        video: Some(frame),
        ..Pipeline::default()
    }
}

/// Decodes URL-safe base64 (RFC 4648 §5), padded or not; the standard
/// alphabet (`+`, `/`) is tolerated too (design; `docs/oss-dialect.md`,
/// "Syntax decisions").
///
/// Mixing is accepted as well (`-` and `/` in one value): both alphabets
/// agree on every other symbol, so mapping `+`→`-` and `/`→`_` first is
/// unambiguous.
pub fn b64url_decode(value: &str) -> Result<Vec<u8>> {
    let normalised: String = value
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    // Padding is only legal at the end; "Indifferent" accepts it or its absence.
    URL_SAFE_LENIENT
        .decode(normalised.as_bytes())
        .map_err(|_| DialectError::bad_request(BASE64_MESSAGE, value))
}

/// [`b64url_decode`] followed by a UTF-8 check (texts, keys, font names).
pub fn b64url_decode_str(value: &str) -> Result<String> {
    let bytes = b64url_decode(value)?;
    String::from_utf8(bytes)
        .map_err(|_| DialectError::bad_request("base64 value does not decode to UTF-8 text", value))
}

/// Encodes bytes as unpadded URL-safe base64 (tests and docs use it; the
/// HTTP layer uses it to build example URLs).
pub fn b64url_encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Parses exactly six hex digits `RRGGBB` (either case), no `#`.
pub fn parse_rrggbb(value: &str) -> Result<Rgb> {
    let bad = || {
        DialectError::invalid(
            format!("colour must be 6 hex digits RRGGBB, got `{value}`"),
            value,
        )
    };
    if value.len() != 6 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let channel = |i: usize| u8::from_str_radix(&value[i..i + 2], 16).map_err(|_| bad());
    Ok(Rgb(channel(0)?, channel(2)?, channel(4)?))
}

/// Parses `#RRGGBB` (the `#` required), the form vendors put inside base64.
pub fn parse_hash_rrggbb(value: &str) -> Result<Rgb> {
    match value.strip_prefix('#') {
        Some(hex) => parse_rrggbb(hex).map_err(|e| e.with_fragment(value)),
        None => Err(DialectError::invalid(
            format!("colour must be #RRGGBB, got `{value}`"),
            value,
        )),
    }
}

/// Parses the base64url of `#RRGGBB`, the colour form Tencent uses
/// everywhere and Alibaba's 2019 manual for watermark text.
pub fn parse_b64_hash_rrggbb(value: &str) -> Result<Rgb> {
    let text = b64url_decode_str(value)?;
    parse_hash_rrggbb(&text)
}

/// Alibaba's gravity names (`nw north ne west center east sw south se`),
/// lower case only: anything else is refused (OSS EC 0040-00000209).
pub fn gravity_alibaba(value: &str) -> Option<Gravity> {
    Some(match value {
        "nw" => Gravity::NorthWest,
        "north" => Gravity::North,
        "ne" => Gravity::NorthEast,
        "west" => Gravity::West,
        "center" => Gravity::Center,
        "east" => Gravity::East,
        "sw" => Gravity::SouthWest,
        "south" => Gravity::South,
        "se" => Gravity::SouthEast,
        _ => return None,
    })
}

/// Tencent's and UCloud's gravity names (`northwest` ... `southeast`,
/// `center`), matched case-insensitively (design).
pub fn gravity_long_name(value: &str) -> Option<Gravity> {
    Some(match value.to_ascii_lowercase().as_str() {
        "northwest" => Gravity::NorthWest,
        "north" => Gravity::North,
        "northeast" => Gravity::NorthEast,
        "west" => Gravity::West,
        "center" => Gravity::Center,
        "east" => Gravity::East,
        "southwest" => Gravity::SouthWest,
        "south" => Gravity::South,
        "southeast" => Gravity::SouthEast,
        _ => return None,
    })
}

/// Why a number was refused, so a dialect can pick different vendor codes
/// for "not a number" and "out of range".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberFault {
    /// Not an optionally signed run of ASCII digits.
    NotANumber,
    /// A number outside the allowed range.
    OutOfRange,
}

/// Parses a decimal integer in `[min, max]`. `name` is the parameter's name
/// as the user wrote it, used in the message.
///
/// Only ASCII digits with an optional leading `-` are accepted (no `+`,
/// spaces, or fractions): vendors document integers. A number too large for
/// `i64` is "out of range", not "not a number".
pub fn parse_int_in(name: &str, value: &str, min: i64, max: i64) -> Result<i64> {
    parse_int_detail(name, value, min, max).map_err(|(e, _)| e)
}

/// [`parse_int_in`] that also reports which fault it was.
pub fn parse_int_detail(
    name: &str,
    value: &str,
    min: i64,
    max: i64,
) -> std::result::Result<i64, (DialectError, NumberFault)> {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err((
            DialectError::invalid(
                format!("`{name}` must be an integer in [{min}, {max}], got `{value}`"),
                value,
            ),
            NumberFault::NotANumber,
        ));
    }
    let out_of_range = || {
        (
            DialectError::invalid(
                format!("`{name}` must be in [{min}, {max}], got `{value}`"),
                value,
            ),
            NumberFault::OutOfRange,
        )
    };
    let n: i64 = value.parse().map_err(|_| out_of_range())?;
    if n < min || n > max {
        return Err(out_of_range());
    }
    Ok(n)
}

/// [`parse_int_in`] for non-negative bounds, as `u32`.
pub fn parse_u32_in(name: &str, value: &str, min: u32, max: u32) -> Result<u32> {
    let n = parse_int_in(name, value, i64::from(min), i64::from(max))?;
    u32::try_from(n).map_err(|_| DialectError::invalid(format!("`{name}` is out of range"), value))
}

/// [`parse_int_in`] as `i32`.
pub fn parse_i32_in(name: &str, value: &str, min: i32, max: i32) -> Result<i32> {
    let n = parse_int_in(name, value, i64::from(min), i64::from(max))?;
    i32::try_from(n).map_err(|_| DialectError::invalid(format!("`{name}` is out of range"), value))
}

/// Parses a non-negative decimal (`12`, `0.25`, `.5`, `37.5`) into
/// thousandths, truncating digits past the third decimal, and checks it
/// against `[min_milli, max_milli]` (fractions: US3 `fr` and alpha, COS
/// percentages and blur sigma).
pub fn parse_milli(name: &str, value: &str, min_milli: u64, max_milli: u64) -> Result<u32> {
    let bad = || {
        DialectError::invalid(
            format!(
                "`{name}` must be a decimal number in [{}, {}], got `{value}`",
                milli_text(min_milli),
                milli_text(max_milli)
            ),
            value,
        )
    };
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
        || (value.contains('.') && frac.is_empty())
        || int.len() > 12
    {
        return Err(bad());
    }
    let whole: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| bad())?
    };
    let mut milli = whole * 1000;
    for (i, d) in frac.bytes().take(3).enumerate() {
        milli += u64::from(d - b'0') * [100, 10, 1][i];
    }
    if milli < min_milli || milli > max_milli {
        return Err(bad());
    }
    u32::try_from(milli).map_err(|_| bad())
}

/// Thousandths as the shortest decimal (`1500` → `1.5`, `333` →
/// `0.333`): in messages, and in spelled processing strings.
pub fn milli_text(m: u64) -> String {
    if m % 1000 == 0 {
        (m / 1000).to_string()
    } else {
        format!("{}.{:03}", m / 1000, m % 1000)
            .trim_end_matches('0')
            .to_string()
    }
}

/// Percent-decodes `value` to UTF-8. `+` is kept as `+` (not a space): the
/// vendors' values are not form-encoded and `+` may be a standard-alphabet
/// base64 digit.
pub fn percent_decode(value: &str) -> Result<String> {
    percent_encoding::percent_decode_str(value)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| {
            DialectError::new(
                ErrorKind::BadRequest,
                "percent-decoded query is not UTF-8",
                value,
            )
        })
}

/// The object key a watermark URL names: the percent-decoded path of
/// `host_and_path` (what follows `scheme://`, query and fragment already
/// cut off) without its leading `/`; empty when the URL has no path.
pub fn url_path_key(host_and_path: &str) -> Result<String> {
    let path = host_and_path
        .find('/')
        .map_or("", |i| &host_and_path[i + 1..]);
    percent_decode(path)
}

/// The body every vendor gives for the average colour of an image:
/// `{"RGB": "0xRRGGBB"}`, upper-case hex.
pub fn rgb_json(color: Rgb) -> serde_json::Value {
    let Rgb(r, g, b) = color;
    serde_json::json!({ "RGB": format!("0x{r:02X}{g:02X}{b:02X}") })
}

/// One `&`-separated component of a raw query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawParam<'a> {
    /// The whole component, undecoded.
    pub raw: &'a str,
    /// Text before the first `=`, undecoded.
    pub key: &'a str,
    /// Text after the first `=`, undecoded; `None` when there is no `=`.
    pub value: Option<&'a str>,
}

/// Splits a raw query (without the leading `?`) into its components, in
/// order, skipping empty ones (`a=1&&b`).
pub fn raw_params(raw_query: &str) -> Vec<RawParam<'_>> {
    let query = raw_query.strip_prefix('?').unwrap_or(raw_query);
    query
        .split('&')
        .filter(|c| !c.is_empty())
        .map(|raw| match raw.split_once('=') {
            Some((key, value)) => RawParam {
                raw,
                key,
                value: Some(value),
            },
            None => RawParam {
                raw,
                key: raw,
                value: None,
            },
        })
        .collect()
}

/// Percent-decoded key of a component; an undecodable key (bad UTF-8) is
/// returned raw, since it cannot match any name the dialects look for.
pub fn decoded_key(param: &RawParam<'_>) -> String {
    percent_decode(param.key).unwrap_or_else(|_| param.key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64_accepts_padded_unpadded_and_standard_alphabet() {
        // "wm/logo.png?x-oss-process=image/resize,P_50" (Alibaba's documented
        // example).
        let key = "wm/logo.png?x-oss-process=image/resize,P_50";
        let unpadded = "d20vbG9nby5wbmc_eC1vc3MtcHJvY2Vzcz1pbWFnZS9yZXNpemUsUF81MA";
        assert_eq!(b64url_decode_str(unpadded).unwrap(), key);
        assert_eq!(b64url_decode_str(&format!("{unpadded}==")).unwrap(), key);
        assert_eq!(b64url_decode_str(&unpadded.replace('_', "/")).unwrap(), key);
        assert_eq!(b64url_encode(key.as_bytes()), unpadded);
        // "ab?" → "YWI_" in the URL-safe alphabet, "YWI/" in the standard one.
        assert_eq!(
            b64url_decode(
                b"YWI/"
                    .iter()
                    .map(|&b| b as char)
                    .collect::<String>()
                    .as_str()
            )
            .unwrap(),
            b"ab?"
        );
        assert_eq!(b64url_decode("YWI_").unwrap(), b"ab?");
    }

    #[test]
    fn b64_rejects_garbage_with_documented_message() {
        for bad in ["a", "Zm9v!", "Zm9v=Zm9v", "%%%%"] {
            let e = b64url_decode(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadRequest, "{bad}");
            assert_eq!(e.message, BASE64_MESSAGE);
            assert_eq!(e.fragment, bad);
        }
        let e = b64url_decode_str("_w").unwrap_err(); // 0xFF: not UTF-8
        assert_eq!(e.kind, ErrorKind::BadRequest);
    }

    #[test]
    fn colours() {
        assert_eq!(parse_rrggbb("FF0000").unwrap(), Rgb(255, 0, 0));
        assert_eq!(parse_rrggbb("00ff7f").unwrap(), Rgb(0, 255, 127));
        assert_eq!(parse_hash_rrggbb("#0000FF").unwrap(), Rgb(0, 0, 255));
        for bad in ["FFF", "GG0000", "#FF0000", "FF00000", "", "+FFFFF"] {
            let e = parse_rrggbb(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidArgument, "{bad}");
            assert!(e.message.contains(bad), "{}", e.message);
        }
        assert!(parse_hash_rrggbb("0000FF").is_err());
    }

    #[test]
    fn gravities() {
        let cells = [
            ("nw", "northwest", Gravity::NorthWest),
            ("north", "north", Gravity::North),
            ("ne", "northeast", Gravity::NorthEast),
            ("west", "west", Gravity::West),
            ("center", "center", Gravity::Center),
            ("east", "east", Gravity::East),
            ("sw", "southwest", Gravity::SouthWest),
            ("south", "south", Gravity::South),
            ("se", "southeast", Gravity::SouthEast),
        ];
        for (ali, long, g) in cells {
            assert_eq!(gravity_alibaba(ali), Some(g));
            assert_eq!(gravity_long_name(long), Some(g));
            assert_eq!(gravity_long_name(&long.to_uppercase()), Some(g));
        }
        assert_eq!(gravity_long_name("SouthEast"), Some(Gravity::SouthEast));
        assert_eq!(gravity_alibaba("NW"), None);
        assert_eq!(gravity_alibaba("northwest"), None);
        assert_eq!(gravity_long_name("nw"), None);
    }

    #[test]
    fn integers() {
        assert_eq!(parse_u32_in("w", "16384", 1, 16384).unwrap(), 16384);
        assert_eq!(parse_i32_in("v", "-100", -100, 100).unwrap(), -100);
        let (e, f) = parse_int_detail("w", "0", 1, 10).unwrap_err();
        assert_eq!(f, NumberFault::OutOfRange);
        assert!(
            e.message.contains("`w`") && e.message.contains("[1, 10]"),
            "{}",
            e.message
        );
        for nan in ["", "-", "1.5", "+1", " 1", "abc", "1e3", "٣"] {
            let (e, f) = parse_int_detail("y", nan, 0, 10).unwrap_err();
            assert_eq!(f, NumberFault::NotANumber, "{nan}");
            assert_eq!(e.kind, ErrorKind::InvalidArgument);
            assert_eq!(e.fragment, nan);
        }
        let (_, f) = parse_int_detail("w", "99999999999999999999999", 1, 10).unwrap_err();
        assert_eq!(f, NumberFault::OutOfRange);
    }

    #[test]
    fn percent_and_params() {
        assert_eq!(
            percent_decode("image%2Fresize%2Cw_1+2").unwrap(),
            "image/resize,w_1+2"
        );
        assert!(percent_decode("%FF").is_err());
        let p = raw_params("?a=1&&b&c=x=y&");
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].key, p[0].value), ("a", Some("1")));
        assert_eq!((p[1].key, p[1].value), ("b", None));
        assert_eq!((p[2].key, p[2].value), ("c", Some("x=y")));
        assert_eq!(
            decoded_key(&RawParam {
                raw: "x%2Dy",
                key: "x%2Dy",
                value: None
            }),
            "x-y"
        );
    }
}
