//! Alibaba Cloud OSS IMG (`x-oss-process`) parser (dialects.md §1).

use crate::error::{DialectError, Result};
use crate::Directive;

/// Parses the `x-oss-process` parameter of a GET's raw query.
pub fn parse_query(raw_query: &str) -> Result<Directive> {
    Err(DialectError::not_implemented(
        "OSS parser in progress",
        raw_query,
    ))
}

/// Parses an OSS style's content (`image/...`).
pub fn parse_style(content: &str) -> Result<imaging::Pipeline> {
    Err(DialectError::not_implemented(
        "OSS parser in progress",
        content,
    ))
}
