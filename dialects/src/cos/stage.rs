//! The items of a COS stage (`name/value/name/value...`), the companions
//! an operation takes from its stage (`gravity`, `pad`...), and the values
//! `imageMogr2` and `imageView2` share: formats and absolute qualities.

use crate::common::{gravity_long_name, parse_int_in};
use crate::error::{DialectError, Result};
use imaging::{Format, Gravity, Quality};

/// One `name/value` item of a stage.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) name: String,
    pub(super) value: Option<String>,
}

impl Item {
    pub(super) fn fragment(&self) -> String {
        match &self.value {
            Some(v) => format!("{}/{v}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Splits `a/1/b/2` into items; `flags` take no value (an explicit `0`/`1`
/// after one is accepted too: it cannot be misread as an operation).
pub(super) fn items(rest: &str, stage: &str, flags: &[&str]) -> Result<Vec<Item>> {
    let tokens: Vec<&str> = rest.split('/').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let name = tokens[i];
        if name.is_empty() {
            // A trailing `/` is harmless; an empty name elsewhere is not.
            if i + 1 == tokens.len() && i > 0 {
                break;
            }
            return Err(DialectError::bad_request(
                "empty operation name (`//`)",
                stage,
            ));
        }
        if flags.contains(&name) {
            let value = match tokens.get(i + 1) {
                Some(&v) if v == "0" || v == "1" => {
                    i += 1;
                    Some(v.to_string())
                }
                _ => None,
            };
            out.push(Item {
                name: name.to_string(),
                value,
            });
            i += 1;
            continue;
        }
        match tokens.get(i + 1) {
            Some(v) if !v.is_empty() => out.push(Item {
                name: name.to_string(),
                value: Some((*v).to_string()),
            }),
            _ => {
                return Err(DialectError::missing(
                    format!("`{name}` needs a value"),
                    name,
                ))
            }
        }
        i += 2;
    }
    Ok(out)
}

/// Looks up single-use companion parameters of a stage.
pub(super) struct Companions {
    items: Vec<Item>,
}

impl Companions {
    pub(super) fn take(items: &mut Vec<Item>, names: &[&str]) -> Result<Companions> {
        let mut found: Vec<Item> = Vec::new();
        let mut rest = Vec::new();
        for it in items.drain(..) {
            if names.contains(&it.name.as_str()) {
                if found.iter().any(|f| f.name == it.name) {
                    return Err(DialectError::invalid(
                        format!("`{}` is given twice", it.name),
                        it.fragment(),
                    ));
                }
                found.push(it);
            } else {
                rest.push(it);
            }
        }
        *items = rest;
        Ok(Companions { items: found })
    }

    pub(super) fn get(&self, name: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.name == name)
    }

    pub(super) fn value(&self, name: &str) -> Option<(&str, String)> {
        self.get(name)
            .and_then(|i| i.value.as_deref().map(|v| (v, i.fragment())))
    }

    pub(super) fn int(&self, name: &str, min: i64, max: i64) -> Result<Option<i64>> {
        match self.value(name) {
            None => Ok(None),
            Some((v, frag)) => parse_int_in(name, v, min, max)
                .map(Some)
                .map_err(|e| e.with_fragment(frag)),
        }
    }

    pub(super) fn gravity(&self) -> Result<Option<Gravity>> {
        match self.value("gravity") {
            None => Ok(None),
            Some((v, frag)) => gravity(v, &frag).map(Some),
        }
    }
}

fn gravity(value: &str, fragment: &str) -> Result<Gravity> {
    gravity_long_name(value).ok_or_else(|| {
        DialectError::invalid(
            format!(
                "gravity must be one of northwest, north, northeast, west, center, east, \
                 southwest, south, southeast; got `{value}`"
            ),
            fragment,
        )
    })
}

pub(super) fn int_of(item: &Item, min: i64, max: i64) -> Result<i64> {
    let v = item.value.as_deref().unwrap_or("");
    parse_int_in(&item.name, v, min, max).map_err(|e| e.with_fragment(item.fragment()))
}

pub(super) fn u32_of(item: &Item, min: u32, max: u32) -> Result<u32> {
    int_of(item, i64::from(min), i64::from(max)).map(|n| n as u32)
}

/// A Tencent output format name (`format/<name>`).
pub(super) fn format(value: &str, fragment: &str) -> Result<Format> {
    Ok(match value {
        "jpg" | "yjpeg" => Format::Jpeg,
        "png" => Format::Png,
        "webp" => Format::Webp,
        "bmp" => Format::Bmp,
        "gif" => Format::Gif,
        "avif" => Format::Avif,
        "heif" => Format::Heic,
        "tpg" => {
            return Err(DialectError::not_implemented(
                "the TPG format is not implemented",
                fragment,
            ))
        }
        _ => {
            return Err(DialectError::invalid(
                format!(
                    "format must be jpg, png, webp, bmp, gif, yjpeg, avif or heif; got `{value}`"
                ),
                fragment,
            ))
        }
    })
}

/// `<n>` (absolute) or `<n>!` (forced, even above the source's quality),
/// 0–100: `imageMogr2/quality` and `imageView2/q`.
pub(super) fn absolute_quality(name: &str, value: &str) -> Result<Quality> {
    let (digits, forced) = match value.strip_suffix('!') {
        Some(d) => (d, true),
        None => (value, false),
    };
    let q = parse_int_in(name, digits, 0, 100)? as u8;
    Ok(if forced {
        Quality::Forced(q)
    } else {
        Quality::Absolute(q)
    })
}
