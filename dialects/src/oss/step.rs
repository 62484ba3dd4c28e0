//! Tokenising one OSS step (`action,k_v,k_v` or `action,value`) and
//! reading its parameters with range checks and error messages that name
//! the action, the key and the bad value.

use crate::common::{parse_int_detail, NumberFault};
use crate::error::{DialectError, Result};

use super::EC_MISSING_VALUE;

/// A `key_value` parameter, split at the FIRST `_` (base64 values contain `_`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Param<'a> {
    pub key: &'a str,
    pub value: &'a str,
    /// The whole `key_value` text, for error fragments.
    pub raw: &'a str,
}

/// One `/`-separated step of an image process string.
#[derive(Debug, Clone)]
pub(super) struct Step<'a> {
    /// The whole step text.
    pub raw: &'a str,
    /// The action name (case-sensitive).
    pub action: &'a str,
    /// Bare values (`rotate,90`).
    pub positional: Vec<&'a str>,
    pub params: Vec<Param<'a>>,
}

impl<'a> Step<'a> {
    /// Splits a step. Empty parameters (`resize,,w_1` or a trailing comma)
    /// are skipped: they carry nothing and are a common artefact of URL
    /// building.
    pub fn parse(raw: &'a str) -> Result<Step<'a>> {
        let mut parts = raw.split(',');
        let action = parts.next().unwrap_or_default();
        let mut positional = Vec::new();
        let mut params = Vec::new();
        for part in parts.filter(|p| !p.is_empty()) {
            match part.split_once('_') {
                Some(("", _)) => {
                    return Err(DialectError::invalid(
                        format!("{action}: parameter `{part}` has no name before `_`"),
                        part,
                    ))
                }
                Some((key, value)) => params.push(Param {
                    key,
                    value,
                    raw: part,
                }),
                None => positional.push(part),
            }
        }
        Ok(Step {
            raw,
            action,
            positional,
            params,
        })
    }

    /// Checks that the step only has `key_value` parameters from `allowed`,
    /// each at most once and with a value; no bare values.
    pub fn expect_keys(&self, allowed: &[&str]) -> Result<()> {
        if let Some(v) = self.positional.first() {
            return Err(DialectError::invalid(
                format!(
                    "{}: unexpected value `{v}`; parameters are written key_value",
                    self.action
                ),
                *v,
            ));
        }
        let unknown: Vec<&Param<'a>> = self
            .params
            .iter()
            .filter(|p| !allowed.contains(&p.key))
            .collect();
        if let Some(first) = unknown.first() {
            let names: Vec<String> = unknown.iter().map(|p| format!("`{}`", p.key)).collect();
            let allowed = if allowed.is_empty() {
                "this action takes no parameters".to_string()
            } else {
                format!("allowed: {}", allowed.join(", "))
            };
            return Err(DialectError::invalid(
                format!(
                    "{}: unknown parameter{} {}; {allowed}",
                    self.action,
                    if names.len() > 1 { "s" } else { "" },
                    names.join(", "),
                ),
                first.raw,
            ));
        }
        for (i, p) in self.params.iter().enumerate() {
            if self.params[..i].iter().any(|q| q.key == p.key) {
                return Err(DialectError::invalid(
                    format!(
                        "{}: parameter `{}` is given more than once",
                        self.action, p.key
                    ),
                    p.raw,
                ));
            }
            if p.value.is_empty() {
                return Err(DialectError::missing(
                    format!("{}: parameter `{}` has no value", self.action, p.key),
                    p.raw,
                )
                .with_code(EC_MISSING_VALUE));
            }
        }
        Ok(())
    }

    /// The single bare value of a positional action (`rotate,90`), or
    /// `None` for a bare action (`auto-orient`).
    pub fn positional_value(&self) -> Result<Option<&'a str>> {
        if let Some(p) = self.params.first() {
            return Err(DialectError::invalid(
                format!(
                    "{}: unknown parameter `{}`; this action takes a single value (`{},<value>`)",
                    self.action, p.key, self.action
                ),
                p.raw,
            ));
        }
        match self.positional.as_slice() {
            [] => Ok(None),
            [v] => Ok(Some(*v)),
            [_, extra, ..] => Err(DialectError::invalid(
                format!("{}: takes one value, got another: `{extra}`", self.action),
                *extra,
            )),
        }
    }

    /// The single bare value, which must be present.
    pub fn required_positional(&self) -> Result<&'a str> {
        self.positional_value()?.ok_or_else(|| {
            DialectError::missing(
                format!(
                    "{}: a value is required (`{},<value>`)",
                    self.action, self.action
                ),
                self.raw,
            )
            .with_code(EC_MISSING_VALUE)
        })
    }

    /// The parameter `key`, if given (after [`Step::expect_keys`]).
    pub fn get(&self, key: &str) -> Option<Param<'a>> {
        self.params.iter().find(|p| p.key == key).copied()
    }

    /// The parameter `key`, which must be present.
    pub fn required(&self, key: &str) -> Result<Param<'a>> {
        self.get(key).ok_or_else(|| {
            DialectError::missing(
                format!("{}: parameter `{key}` is required", self.action),
                self.raw,
            )
            .with_code(EC_MISSING_VALUE)
        })
    }

    /// `p`'s value as an integer in `[min, max]`.
    pub fn int(&self, p: Param<'_>, min: i64, max: i64) -> Result<i64> {
        self.int_detail(p, min, max).map_err(|(e, _)| e)
    }

    /// [`Step::int`] that also says whether the value was not a number or
    /// out of range (indexcrop has a vendor code for each).
    pub fn int_detail(
        &self,
        p: Param<'_>,
        min: i64,
        max: i64,
    ) -> std::result::Result<i64, (DialectError, NumberFault)> {
        parse_int_detail(p.key, p.value, min, max).map_err(|(e, fault)| {
            let message = format!("{}: {}", self.action, e.message);
            (DialectError { message, ..e }.with_fragment(p.raw), fault)
        })
    }

    /// [`Step::int`] as `u32` (bounds are non-negative).
    pub fn uint(&self, p: Param<'_>, min: u32, max: u32) -> Result<u32> {
        let n = self.int(p, i64::from(min), i64::from(max))?;
        // In range by the check above, so the conversion cannot fail.
        u32::try_from(n).map_err(|_| DialectError::invalid("value out of range", p.raw))
    }

    /// An optional `u32` parameter, or `default`.
    pub fn uint_or(&self, key: &str, min: u32, max: u32, default: u32) -> Result<u32> {
        match self.get(key) {
            Some(p) => self.uint(p, min, max),
            None => Ok(default),
        }
    }

    /// An optional parameter as an integer, or `default`.
    pub fn int_or(&self, key: &str, min: i64, max: i64, default: i64) -> Result<i64> {
        match self.get(key) {
            Some(p) => self.int(p, min, max),
            None => Ok(default),
        }
    }

    /// A bare value as an integer in `[min, max]`.
    pub fn positional_int(&self, value: &str, min: i64, max: i64) -> Result<i64> {
        parse_int_detail("value", value, min, max).map_err(|(e, _)| {
            let message = format!("{}: {}", self.action, e.message);
            DialectError { message, ..e }.with_fragment(self.raw)
        })
    }
}
