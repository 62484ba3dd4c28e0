//! US3 colour values: CSS-like names, `rgb()`/`rgba()` and hex with or
//! without `#` (`docs/us3-dialect.md`, "Commands": `color`).

use crate::common::parse_milli;
use crate::error::{DialectError, Result};
use imaging::Rgba;

/// A US3 colour: a name (`red`), `rgb(r,g,b)`, `rgba(r,g,b,a)` with alpha in
/// [0, 1], `#RGB`, `#RRGGBB`, `#RRGGBBAA` (`%23` already decoded), or the
/// same hex digits without `#`.
pub(super) fn parse_color(value: &str) -> Result<Rgba> {
    let bad = || {
        DialectError::invalid(
            format!(
                "colour must be a name, rgb(r,g,b), rgba(r,g,b,a), #RRGGBB or #RRGGBBAA; \
                 got `{value}`"
            ),
            value,
        )
    };
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    if let Some(inner) = lower
        .strip_prefix("rgba(")
        .or_else(|| lower.strip_prefix("rgb("))
        .and_then(|s| s.strip_suffix(')'))
    {
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        let with_alpha = lower.starts_with("rgba(");
        if parts.len() != if with_alpha { 4 } else { 3 } {
            return Err(bad());
        }
        let channel = |s: &str| s.parse::<u8>().map_err(|_| bad());
        let alpha = if with_alpha {
            let a = parse_milli("alpha", parts[3], 0, 1000).map_err(|_| bad())?;
            // 0..=1000 → 0..=255, rounded.
            ((a * 255 + 500) / 1000) as u8
        } else {
            255
        };
        return Ok(Rgba(
            channel(parts[0])?,
            channel(parts[1])?,
            channel(parts[2])?,
            alpha,
        ));
    }
    let hex = lower.strip_prefix('#').unwrap_or(&lower);
    if hex.bytes().all(|c| c.is_ascii_hexdigit()) && matches!(hex.len(), 3 | 6 | 8) {
        let digits: Vec<u8> = hex
            .bytes()
            .map(|c| match c {
                b'0'..=b'9' => c - b'0',
                _ => c - b'a' + 10,
            })
            .collect();
        return Ok(match digits.len() {
            3 => Rgba(digits[0] * 17, digits[1] * 17, digits[2] * 17, 255),
            6 => Rgba(
                digits[0] * 16 + digits[1],
                digits[2] * 16 + digits[3],
                digits[4] * 16 + digits[5],
                255,
            ),
            _ => Rgba(
                digits[0] * 16 + digits[1],
                digits[2] * 16 + digits[3],
                digits[4] * 16 + digits[5],
                digits[6] * 16 + digits[7],
            ),
        });
    }
    if lower.starts_with('#') {
        return Err(bad());
    }
    named_color(&lower).ok_or_else(bad)
}

/// The CSS/X11 colour names most used in URLs (lower case).
fn named_color(name: &str) -> Option<Rgba> {
    let rgb = |r, g, b| Some(Rgba(r, g, b, 255));
    match name {
        "transparent" => Some(Rgba(0, 0, 0, 0)),
        "black" => rgb(0, 0, 0),
        "white" => rgb(255, 255, 255),
        "red" => rgb(255, 0, 0),
        "lime" => rgb(0, 255, 0),
        "green" => rgb(0, 128, 0),
        "blue" => rgb(0, 0, 255),
        "yellow" => rgb(255, 255, 0),
        "cyan" | "aqua" => rgb(0, 255, 255),
        "magenta" | "fuchsia" => rgb(255, 0, 255),
        "silver" => rgb(192, 192, 192),
        "gray" | "grey" => rgb(128, 128, 128),
        "darkgray" | "darkgrey" => rgb(169, 169, 169),
        "lightgray" | "lightgrey" => rgb(211, 211, 211),
        "maroon" => rgb(128, 0, 0),
        "olive" => rgb(128, 128, 0),
        "purple" => rgb(128, 0, 128),
        "teal" => rgb(0, 128, 128),
        "navy" => rgb(0, 0, 128),
        "orange" => rgb(255, 165, 0),
        "pink" => rgb(255, 192, 203),
        "brown" => rgb(165, 42, 42),
        "gold" => rgb(255, 215, 0),
        "violet" => rgb(238, 130, 238),
        "indigo" => rgb(75, 0, 130),
        "beige" => rgb(245, 245, 220),
        "ivory" => rgb(255, 255, 240),
        "khaki" => rgb(240, 230, 140),
        "coral" => rgb(255, 127, 80),
        "salmon" => rgb(250, 128, 114),
        "tomato" => rgb(255, 99, 71),
        "crimson" => rgb(220, 20, 60),
        "orchid" => rgb(218, 112, 214),
        "plum" => rgb(221, 160, 221),
        "tan" => rgb(210, 180, 140),
        "chocolate" => rgb(210, 105, 30),
        "skyblue" => rgb(135, 206, 235),
        "darkblue" => rgb(0, 0, 139),
        "darkred" => rgb(139, 0, 0),
        "darkgreen" => rgb(0, 100, 0),
        "lightblue" => rgb(173, 216, 230),
        "lightgreen" => rgb(144, 238, 144),
        "whitesmoke" => rgb(245, 245, 245),
        "snow" => rgb(255, 250, 250),
        _ => None,
    }
}
