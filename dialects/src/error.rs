//! The one error type of every dialect parser.
//!
//! A [`DialectError`] carries data, not a wire format: the HTTP layer renders
//! it in the vendor's envelope (OSS XML with `<EC>`, COS XML + `X-ErrNo`, US3
//! JSON `RetCode`). The `kind` picks the protocol code and status; the
//! `message` names the bad part of the request (the vendor's documented text
//! where one exists); `fragment` is the offending piece of input, verbatim.

use std::fmt;

/// What went wrong, by the protocol code it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A parameter value is out of range, of the wrong type, or unknown
    /// (OSS `InvalidArgument`, 400).
    InvalidArgument,
    /// A required parameter or value is absent (OSS `MissingArgument`, 400).
    MissingArgument,
    /// The request is malformed as a whole: undecodable base64, broken
    /// grammar, an action in a place it is not allowed (OSS `BadRequest`, 400).
    BadRequest,
    /// The action/operation name is not one of the dialect's. Dialects whose
    /// vendor documents a different code (OSS: `InvalidArgument` with EC
    /// `0040-00000213`) use that kind instead.
    UnknownAction,
    /// Valid syntax for a feature this build does not provide (video
    /// snapshots, blind watermarks...): 501 on the wire.
    NotImplemented,
    /// More stages/pipes than the dialect allows (COS: 10 stages).
    TooManyStages,
}

impl ErrorKind {
    /// The code name, as OSS spells it (`InvalidArgument`, ...). Other
    /// dialects map kinds to their own codes in the HTTP layer.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "InvalidArgument",
            ErrorKind::MissingArgument => "MissingArgument",
            ErrorKind::BadRequest => "BadRequest",
            ErrorKind::UnknownAction => "UnknownAction",
            ErrorKind::NotImplemented => "NotImplemented",
            ErrorKind::TooManyStages => "TooManyStages",
        }
    }

    /// The HTTP status the kind is answered with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::NotImplemented => 501,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request the parser refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialectError {
    /// Decides the protocol code and HTTP status.
    pub kind: ErrorKind,
    /// Human-readable, names the bad part; the vendor's text where documented
    /// (e.g. OSS `Input is not base64 decoding.`).
    pub message: String,
    /// The offending piece of the input, verbatim (an action, a `k_v` pair,
    /// a value); empty when the whole request is at fault.
    pub fragment: String,
    /// The vendor's own code where one is documented: OSS EC
    /// (`0040-00000213`), COS `X-ErrNo` (`-106`), US3 `RetCode`.
    pub vendor_code: Option<String>,
}

impl DialectError {
    /// A new error without vendor code.
    pub fn new(kind: ErrorKind, message: impl Into<String>, fragment: impl Into<String>) -> Self {
        DialectError {
            kind,
            message: message.into(),
            fragment: fragment.into(),
            vendor_code: None,
        }
    }

    /// Shorthand for [`ErrorKind::InvalidArgument`].
    pub fn invalid(message: impl Into<String>, fragment: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message, fragment)
    }

    /// Shorthand for [`ErrorKind::MissingArgument`].
    pub fn missing(message: impl Into<String>, fragment: impl Into<String>) -> Self {
        Self::new(ErrorKind::MissingArgument, message, fragment)
    }

    /// Shorthand for [`ErrorKind::BadRequest`].
    pub fn bad_request(message: impl Into<String>, fragment: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message, fragment)
    }

    /// Shorthand for [`ErrorKind::NotImplemented`].
    pub fn not_implemented(message: impl Into<String>, fragment: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotImplemented, message, fragment)
    }

    /// Attaches the vendor's code (replacing any previous one).
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.vendor_code = Some(code.into());
        self
    }

    /// Attaches the vendor's code unless one is already set (an inner,
    /// more precise code wins over the caller's generic one).
    pub fn or_code(mut self, code: impl Into<String>) -> Self {
        if self.vendor_code.is_none() {
            self.vendor_code = Some(code.into());
        }
        self
    }

    /// Replaces the fragment (used when an inner helper only saw a value and
    /// the caller knows the whole `k_v` pair).
    pub fn with_fragment(mut self, fragment: impl Into<String>) -> Self {
        self.fragment = fragment.into();
        self
    }

    /// Replaces the kind (a dialect documenting another code for the same fault).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// The HTTP status for this error.
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }
}

impl fmt::Display for DialectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if !self.fragment.is_empty() {
            write!(f, " (in `{}`)", self.fragment)?;
        }
        if let Some(code) = &self.vendor_code {
            write!(f, " [{code}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for DialectError {}

/// Result alias of the dialect parsers.
pub type Result<T, E = DialectError> = std::result::Result<T, E>;
