//! imgbucket's image engine: one executor for every dialect.
//!
//! A dialect parser (crate `dialects`) turns a vendor's request into a
//! [`Pipeline`]; [`execute`] decodes the source once (JPEGs scaled in the DCT
//! domain when the pipeline shrinks them enough), runs the operations on
//! every frame kept, and encodes the result, all under explicit [`Limits`]
//! that are checked before any pixel buffer is allocated.
//!
//! Architecture Invariant: this crate never sees vendor syntax, HTTP or
//! storage. Watermark images arrive as bytes in [`Assets`], fetched by the
//! caller from the keys of [`Pipeline::asset_keys`].

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod budget;
mod cancel;
mod decode;
pub mod effects;
mod eighth;
mod encode;
mod engine;
pub mod error;
pub mod fonts;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod geometry;
mod heif;
mod jpeg;
pub mod memory;
mod metadata;
pub mod pipeline;
mod probe;
pub mod shapes;
mod tiff;
mod video;
pub mod watermark;

pub use cancel::{Cancel, CancelOnDrop};
pub use engine::{
    execute, output_format, resolve_quality, Engine, Output, DEFAULT_QUALITY, MAX_DEFAULT_QUALITY,
};
pub use error::{Error, Result};
pub use pipeline::*;
pub use probe::{probe, sniff, ExifField, ImageInfo};

use std::collections::HashMap;

/// Default of [`Limits::max_output_pixels`]: 100 Mpx, a 400 MB RGBA
/// buffer (every vendor's output side limit allows at least 9 999², about
/// this much).
pub const DEFAULT_MAX_OUTPUT_PIXELS: u64 = 100_000_000;

/// Resource limits, checked before allocation. The server hands the engine
/// the limits of the request's dialect (each dialect crate defines its
/// vendor's values), overridden by its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted source, in bytes.
    pub max_source_bytes: u64,
    /// Largest accepted source width or height.
    pub max_side: u32,
    /// Largest accepted width × height × frames of the source.
    pub max_pixels: u64,
    /// Largest width or height of any intermediate or output image.
    pub max_output_side: u32,
    /// Most frames of an animation that are decoded.
    pub max_frames: u32,
    /// Arbitrary-angle rotation is refused on an image whose width or height
    /// exceeds this when it is rotated; `None` = no extra limit.
    pub max_rotate_side: Option<u32>,
    /// Largest width × height an operation may grow the image to (pad,
    /// canvas, enlargement, rotation). An operation whose result is not
    /// larger than its input is never refused by this.
    pub max_output_pixels: u64,
    /// Largest estimated cost of one request, in work units
    /// ([`budget`]); checked from the headers before decoding.
    pub max_work: u64,
}

impl Default for Limits {
    /// The engine's own defaults, for callers that name no limits: 20 MiB
    /// sources, 30 000 px sides, 250 Mpx, 16 384 px output sides, 1 000
    /// frames, arbitrary-angle rotation up to 4 096 px sides, 100 Mpx
    /// grown canvases, a work budget of [`budget::DEFAULT_MAX_WORK`].
    fn default() -> Self {
        Limits {
            max_source_bytes: 20 * 1024 * 1024,
            max_side: 30_000,
            max_pixels: 250_000_000,
            max_output_side: 16_384,
            max_frames: 1000,
            max_rotate_side: Some(4096),
            max_output_pixels: DEFAULT_MAX_OUTPUT_PIXELS,
            max_work: budget::DEFAULT_MAX_WORK,
        }
    }
}

/// Watermark images by object key, as fetched by the caller.
#[derive(Debug, Clone, Default)]
pub struct Assets {
    pub images: HashMap<String, Vec<u8>>,
}
