//! The engine's one error type, split by who is at fault (like `image`'s
//! `ImageError`) so that each dialect can map it to its own code and status.

/// Everything that can stop a pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The source or an intermediate/output image is over a limit (bytes,
    /// side, pixels, frames). Checked before allocating. Client's fault
    /// (413/400 `ImageTooLarge`); Tencent's `ignore-error` applies.
    #[error("{what} is {value}, over the limit of {limit}")]
    TooLarge {
        what: &'static str,
        value: u64,
        limit: u64,
    },
    /// The source bytes are not a decodable image of a supported format.
    #[error("cannot decode the image: {0}")]
    Decode(String),
    /// The operation does not apply to this image (rounded corners on an
    /// animation, a rotate on a source over the rotate limit...).
    #[error("{0}")]
    Unsupported(String),
    /// A crop whose start point lies outside the image.
    #[error("the crop's start point is outside the image")]
    CropOutside,
    /// A watermark image is missing from the assets or undecodable, or a
    /// text mark cannot be rendered.
    #[error("watermark: {0}")]
    Watermark(String),
    /// A feature this build does not implement (AVIF/HEIC encoding, say):
    /// 501 on the wire.
    #[error("not implemented: {0}")]
    NotImplemented(String),
    /// The encoder failed on a valid image: our fault (500).
    #[error("cannot encode the image: {0}")]
    Encode(String),
    /// A failure of the server itself, not of the image: a temporary file
    /// that cannot be written, a helper program that cannot be started
    /// (500).
    #[error("internal error: {0}")]
    Internal(String),
    /// The caller cancelled the job (its client hung up); nobody reads
    /// the answer.
    #[error("the job was cancelled")]
    Cancelled,
    /// The job ran past its wall-clock deadline (503 on the wire: the
    /// request may succeed when the server is less busy).
    #[error("the job ran past its deadline")]
    DeadlineExceeded,
}

/// The `what` of an [`Error::TooLarge`] for an output (or intermediate)
/// image's width and height over `Limits::max_output_side`: Tencent gives
/// them their own error number.
pub const OUTPUT_WIDTH: &str = "output width";
/// See [`OUTPUT_WIDTH`].
pub const OUTPUT_HEIGHT: &str = "output height";

impl Error {
    /// True for an output side over `Limits::max_output_side`.
    pub fn is_output_side(&self) -> bool {
        matches!(self, Error::TooLarge { what, .. } if *what == OUTPUT_WIDTH || *what == OUTPUT_HEIGHT)
    }

    /// True for the failures Tencent's `ignore-error/1` forgives: the image
    /// or a value is over a limit.
    pub fn is_limit(&self) -> bool {
        matches!(self, Error::TooLarge { .. })
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
