//! The parameters of one `iopcmd=` stage: each must be consumed exactly
//! once by its command, so a typo or a repeated key is an error rather
//! than silently ignored.

use crate::common::{gravity_long_name, parse_int_in};
use crate::error::{DialectError, Result};
use imaging::Gravity;

/// A decoded `k=v` pair and how it was written.
#[derive(Debug, Clone)]
pub(super) struct Param {
    pub(super) key: String,
    pub(super) value: String,
    pub(super) raw: String,
}

/// The parameters of one stage, each to be consumed exactly once.
#[derive(Debug, Default)]
pub(super) struct Params {
    items: Vec<Param>,
    used: Vec<bool>,
}

impl Params {
    pub(super) fn new() -> Self {
        Params::default()
    }

    pub(super) fn push(&mut self, p: Param) -> Result<()> {
        if self.items.iter().any(|q| q.key == p.key) {
            return Err(DialectError::invalid(
                format!("parameter `{}` is given twice", p.key),
                p.raw,
            ));
        }
        self.items.push(p);
        self.used.push(false);
        Ok(())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The value of `name`, marking it consumed.
    pub(super) fn get(&mut self, name: &str) -> Option<Param> {
        let i = self.items.iter().position(|p| p.key == name)?;
        self.used[i] = true;
        Some(self.items[i].clone())
    }

    /// Marks `name` as known but deliberately ignored.
    pub(super) fn ignore(&mut self, name: &str) {
        let _ = self.get(name);
    }

    pub(super) fn int(&mut self, name: &str, min: i64, max: i64) -> Result<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(p) => parse_int_in(name, &p.value, min, max)
                .map(Some)
                .map_err(|e| e.with_fragment(p.raw)),
        }
    }

    pub(super) fn u32(&mut self, name: &str, min: u32, max: u32) -> Result<Option<u32>> {
        Ok(self
            .int(name, i64::from(min), i64::from(max))?
            .and_then(|n| u32::try_from(n).ok()))
    }

    pub(super) fn i32(&mut self, name: &str, min: i32, max: i32) -> Result<Option<i32>> {
        Ok(self
            .int(name, i64::from(min), i64::from(max))?
            .and_then(|n| i32::try_from(n).ok()))
    }

    pub(super) fn req_u32(&mut self, cmd: &str, name: &str, min: u32, max: u32) -> Result<u32> {
        self.u32(name, min, max)?
            .ok_or_else(|| missing_param(cmd, name))
    }

    pub(super) fn gravity(&mut self) -> Result<Option<Gravity>> {
        match self.get("gravity") {
            None => Ok(None),
            Some(p) => gravity_long_name(&p.value).map(Some).ok_or_else(|| {
                DialectError::invalid(
                    format!(
                        "`gravity` must be one of NorthWest, North, NorthEast, West, Center, \
                         East, SouthWest, South, SouthEast; got `{}`",
                        p.value
                    ),
                    p.raw,
                )
            }),
        }
    }

    /// Fails on the first parameter nobody consumed.
    pub(super) fn finish(&self, cmd: &str) -> Result<()> {
        match self.items.iter().zip(&self.used).find(|(_, used)| !**used) {
            None => Ok(()),
            Some((p, _)) => Err(DialectError::invalid(
                format!("unknown parameter `{}` for `iopcmd={cmd}`", p.key),
                p.raw.clone(),
            )),
        }
    }
}

pub(super) fn missing_param(cmd: &str, name: &str) -> DialectError {
    DialectError::missing(
        format!("`iopcmd={cmd}` requires `{name}`"),
        format!("iopcmd={cmd}"),
    )
}
