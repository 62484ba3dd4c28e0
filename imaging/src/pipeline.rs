//! The typed, validated processing pipeline: the one language every dialect
//! parser (in the `dialects` crate) translates into, and the only thing the
//! executor reads.
//!
//! Architecture Invariant: nothing here mentions a vendor's syntax. Values
//! are already validated and normalised by the parser (ranges checked,
//! base64 decoded, defaults filled, vendor quirks such as Alibaba's
//! auto-orient hoisting or UCloud's "bright 100 → white" already applied), so
//! the executor only has to check what depends on the image itself (limits,
//! crop origins inside the image...).
//!
//! Two requests that mean the same thing in two dialects must produce equal
//! pipelines (`PartialEq`), up to [`Rounding`]; the cross-dialect tests
//! assert it. A pipeline serialises to canonical JSON ([`Pipeline::canonical`]),
//! which keys the processed-variant cache and the processed ETag.

use serde::{Deserialize, Serialize};

/// A complete processing request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Pipeline {
    /// Pixel operations, applied in order to every frame kept.
    pub ops: Vec<Op>,
    /// How fractional pixel sizes become integers (a dialect rule).
    pub rounding: Rounding,
    /// How the result is encoded.
    pub output: OutputOptions,
    /// When set, the response is information about the image after `ops`
    /// rather than the image itself.
    pub terminal: Option<Terminal>,
    /// What to do when a limit is exceeded while processing.
    pub on_limit_error: OnLimitError,
    /// The source is a video: take this frame of it, then run the rest of
    /// the pipeline on the frame. Absent from the canonical text when
    /// unset, so the cache keys of image pipelines do not change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoFrame>,
    /// What crops and rounded shapes do with values that reach past the
    /// image (a dialect rule). Absent from the canonical text when `Clip`.
    #[serde(default, skip_serializing_if = "Bounds::is_clip")]
    pub bounds: Bounds,
}

/// How crops and rounded shapes treat values past the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Bounds {
    /// Clip a crop to the image and clamp a radius to half the short side
    /// (Alibaba, UCloud).
    #[default]
    Clip,
    /// Refuse instead (Tencent): a crop must lie inside the image
    /// (`Error::CropOutside`), a circle's or rounded corner's radius must be
    /// under half the short side, and neither applies to a GIF
    /// (`Error::Unsupported`).
    Refuse,
}

impl Bounds {
    /// True for the default, [`Bounds::Clip`].
    pub fn is_clip(&self) -> bool {
        *self == Bounds::Clip
    }
}

/// Which frame of a video a snapshot takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct VideoFrame {
    /// The time of the frame, in milliseconds from the start.
    pub at_ms: u64,
    /// Take the last key frame at or before the time instead of the exact
    /// frame (faster: nothing after the key frame is decoded).
    pub keyframe: bool,
    /// Turn the frame as the video's rotation metadata says (phones record
    /// portrait video as rotated landscape).
    pub auto_rotate: bool,
}

impl Pipeline {
    /// Canonical text of the pipeline: equal pipelines give equal text.
    pub fn canonical(&self) -> String {
        // Serialising plain data (no maps with non-string keys, no floats
        // that are NaN) cannot fail; fall back to Debug just in case.
        serde_json::to_string(self).unwrap_or_else(|_| format!("{self:?}"))
    }

    /// Object keys (in the source's bucket) of every image watermark, which
    /// the caller must fetch and pass to the executor as [`crate::Assets`].
    pub fn asset_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        for op in &self.ops {
            if let Op::Watermark(w) = op {
                if let Some(img) = &w.image {
                    keys.push(img.key.clone());
                }
            }
        }
        keys
    }

    /// True when the pipeline does nothing to the pixels nor the encoding
    /// (the executor may then return the source bytes unchanged).
    pub fn is_identity(&self) -> bool {
        // The metadata policy alone changes nothing: an untouched source is
        // answered as stored, metadata and all.
        self.ops.is_empty()
            && self.terminal.is_none()
            && self.video.is_none()
            && OutputOptions {
                metadata: MetadataPolicy::default(),
                ..self.output.clone()
            } == OutputOptions::default()
    }
}

/// Rounding of computed sizes: Alibaba rounds to nearest, UCloud truncates
/// toward zero (37.5 → 37), Tencent rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Rounding {
    #[default]
    Nearest,
    Truncate,
}

/// Tencent's `ignore-error/1`: when processing fails because the image or a
/// value is over a limit, answer with the unprocessed source instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum OnLimitError {
    #[default]
    Fail,
    ReturnSource,
}

/// One pixel operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    /// Apply the source's EXIF Orientation (1–8); no tag → no effect. Applied
    /// at most once per pipeline (a second one is a no-op).
    AutoOrient,
    Resize(Resize),
    Crop(Crop),
    /// Cut the image into strips of `length` pixels along `axis` and keep
    /// strip `index`; the last strip may be shorter. `index` past the last
    /// strip → the image is left unchanged (Alibaba and UCloud rule).
    IndexCrop {
        axis: Axis,
        length: u32,
        index: u32,
    },
    /// Keep the disc of `radius` centred on the image; the output is the
    /// square bounding it. A radius over half the short side is clamped
    /// (see [`CircleBox`]). Outside pixels are transparent, or white when
    /// the output format has no alpha (decided at encode time).
    Circle {
        radius: u32,
        bbox: CircleBox,
    },
    /// Round the four corners with `radius` (clamped to half the short
    /// side); size unchanged; outside pixels as for `Circle`.
    RoundedCorners {
        radius: u32,
    },
    /// Clockwise rotation in degrees, 0–359. Multiples of 90 are exact;
    /// other angles enlarge the canvas to the rotated bounding box, filled
    /// like `Circle`'s outside. Makes an animation static.
    Rotate {
        degrees: u32,
    },
    Flip(FlipAxis),
    /// −100…100; 0 = unchanged.
    Bright(i32),
    /// −100…100; 0 = unchanged.
    Contrast(i32),
    /// Replace every pixel's colour (alpha kept). UCloud's bright/contrast
    /// at ±100 become this in the parser.
    Flood(Rgb),
    /// Unsharp mask: `out = src + amount × (src − gaussian(src, sigma))`.
    /// Parsers map their vendor scale onto (sigma, amount in percent).
    Sharpen {
        sigma_milli: u32,
        amount_percent: u32,
    },
    Blur(Blur),
    Grayscale,
    Watermark(Watermark),
    /// Frame selection for animated sources (static sources ignore it).
    Frames(FrameSelect),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Axis {
    X,
    Y,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FlipAxis {
    /// Mirror left ↔ right.
    Horizontal,
    /// Mirror top ↔ bottom.
    Vertical,
}

/// Output side of a circle crop with (clamped) radius r: Alibaba gives a
/// (2r+1)-pixel square, Tencent and UCloud a 2r square.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CircleBox {
    TwoRPlusOne,
    TwoR,
}

/// An opaque colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// A colour with alpha (255 = opaque).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub struct Rgba(pub u8, pub u8, pub u8, pub u8);

impl Rgba {
    pub const WHITE: Rgba = Rgba(255, 255, 255, 255);
}

/// The nine anchor cells shared by all three vendors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Gravity {
    #[default]
    NorthWest,
    North,
    NorthEast,
    West,
    Center,
    East,
    SouthWest,
    South,
    SouthEast,
}

/// A resize: a target geometry plus the enlargement rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resize {
    pub geometry: Geometry,
    pub enlarge: Enlarge,
}

/// Whether a resize may make the image bigger than the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Enlarge {
    /// Scale as asked, up or down.
    Allow,
    /// If the result would be larger than the source, keep the source size
    /// (Alibaba `limit_1`, Tencent `WxH>`). For `Fill`/`Pad` the canvas
    /// still has the requested size only when the source is big enough.
    Never,
    /// Only enlarge: if the result would be smaller, keep the source size
    /// (Tencent `WxH<`).
    Only,
}

/// Target geometry of a resize. W₀×H₀ is the image size before the resize.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Geometry {
    /// Largest proportional size inside w×h. With one side missing, that
    /// side follows the aspect ratio. (Alibaba lfit, Tencent `WxH`,
    /// UCloud types 4, 5, 9, 14.)
    Fit {
        width: Option<u32>,
        height: Option<u32>,
    },
    /// Smallest proportional size covering w×h, no crop. (Alibaba mfit,
    /// Tencent `!WxHr`, UCloud type 10.)
    Cover { width: u32, height: u32 },
    /// Cover w×h, then centre-crop to exactly w×h. (Alibaba fill, UCloud 8/13.)
    Fill { width: u32, height: u32 },
    /// Fit inside w×h, then centre on a w×h canvas of `color`.
    Pad {
        width: u32,
        height: u32,
        color: Rgba,
    },
    /// Exactly w×h, aspect ignored.
    Stretch { width: u32, height: u32 },
    /// Scale each side by a percentage (per mille, to carry UCloud and
    /// Tencent fractions exactly: 50 % = 500). `None` keeps that side.
    Scale {
        x_permille: Option<u32>,
        y_permille: Option<u32>,
    },
    /// Alibaba `l_`/`s_`: targets for the long and/or short side, with
    /// Alibaba's definition of which side is "long" (its `resize` page);
    /// the result is a uniform scale.
    LongShort {
        long: Option<u32>,
        short: Option<u32>,
    },
    /// A `long`×`short` box turned to the source's orientation (long side
    /// horizontal for a landscape or square source, vertical for a portrait
    /// one). The image is scaled proportionally until it covers the box and,
    /// with `crop`, centre-cropped to it. (Tencent `imageView2` mode 4
    /// without the crop, mode 5 with it.)
    OrientedBox { long: u32, short: u32, crop: bool },
    /// UCloud type 6/7: the source's longer (or shorter) side is set to its
    /// requested value, the other follows.
    SourceSide {
        which: SideChoice,
        width: u32,
        height: u32,
    },
    /// Proportional, at most `max_pixels` in total (Tencent `Area@`).
    Area { max_pixels: u64 },
    /// The image unscaled, centred on a larger w×h canvas (UCloud type 12).
    Canvas {
        width: u32,
        height: u32,
        color: Rgba,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SideChoice {
    Longer,
    Shorter,
}

/// A rectangular crop positioned from an anchor cell.
///
/// Origin of the region for each cell (W₀/H₀ image size, w/h region size):
/// NorthWest (0,0), North (W₀/2−w/2, 0), NorthEast (W₀−w, 0), West (0, H₀/2−h/2),
/// Center, East, SouthWest, South, SouthEast likewise; `dx`/`dy` are added to
/// that origin. A start point outside the image is an error
/// (`Error::CropOutside`); a region running past the edge is clipped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Crop {
    /// `None` = to the edge.
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub gravity: Gravity,
    pub dx: i32,
    pub dy: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Blur {
    /// Kernel radius in pixels (0 = derive from sigma).
    pub radius: u32,
    /// Standard deviation in thousandths of a pixel.
    pub sigma_milli: u32,
    pub kind: BlurKind,
    /// Only blur this region (UCloud local blur); `None` = whole image.
    pub region: Option<Crop>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BlurKind {
    Gaussian,
    /// A plain mean (box) filter.
    Box,
}

/// An image and/or text mark drawn onto the image.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Watermark {
    pub image: Option<WatermarkImage>,
    pub text: Option<WatermarkText>,
    /// With both image and text: which comes first, how they align, the gap.
    pub combine: Combine,
    pub placement: Placement,
    /// 0–100, 100 = opaque.
    pub opacity: u8,
    /// Tile the mark over the whole image.
    pub tile: Option<Tile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Placement {
    pub gravity: Gravity,
    /// Horizontal margin from the left/right edge (ignored in the centre column).
    pub dx: i32,
    /// Vertical margin from the top/bottom edge (ignored in the middle row).
    pub dy: i32,
    /// Vertical shift from the middle line (middle row only; Alibaba voffset).
    pub voffset: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tile {
    pub padx: u32,
    pub pady: u32,
    /// Rotation of the tiled pattern, degrees clockwise.
    pub degrees: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct Combine {
    pub text_first: bool,
    pub align: Align,
    pub interval: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Align {
    Top,
    Center,
    #[default]
    Bottom,
}

/// A watermark image: an object of the same bucket, with its own
/// preprocessing and scaling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WatermarkImage {
    /// Object key in the source's bucket; fetched by the caller.
    pub key: String,
    /// Operations applied to the watermark image before it is drawn.
    pub preprocess: Vec<Op>,
    pub scale: Option<WatermarkScale>,
    /// When the mark is larger than the image: shrink it to fit, or crop it.
    pub oversize: Oversize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WatermarkScale {
    /// Mark width (and height, proportionally) = percent of the main image's
    /// width (Alibaba `P_`, 1–100).
    PercentOfWidth(u32),
    /// Tencent scatype 1/2/3 with spcent in per mille: relative to the main
    /// image's width, height, or area.
    PermilleOfWidth(u32),
    PermilleOfHeight(u32),
    PermilleOfArea(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Oversize {
    #[default]
    Shrink,
    Crop,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WatermarkText {
    pub text: String,
    pub font: Font,
    /// Glyph size in pixels.
    pub size: u32,
    pub color: Rgb,
    /// Shadow opacity 0–100 (0 = none).
    pub shadow: u8,
    /// Clockwise rotation of the text, degrees.
    pub rotate: u32,
}

/// The fonts the vendors name; the engine maps each to an installed font
/// file and falls back (documented in docs/) when one is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Font {
    WqyZenHei,
    WqyMicroHei,
    DroidSansFallback,
    FangZhengShuSong,
    FangZhengKaiTi,
    FangZhengHeiTi,
    FangZhengFangSong,
    SimSun,
    LiShu,
    Tahoma,
    Arial,
    TimesNewRoman,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FrameSelect {
    /// Keep only the first frame (the output is static).
    First,
    /// Keep at most n frames, evenly spaced (Tencent cgif).
    AtMost(u32),
    /// Keep the frame at this fraction of the animation, per mille
    /// (UCloud convert `fr`).
    AtPermille(u32),
}

/// Information answers instead of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Terminal {
    /// Size, format, frame count and EXIF tags ([`crate::ImageInfo`]).
    Info,
    /// EXIF tags only.
    Exif,
    /// The average colour ([`crate::Output::AverageColor`]).
    AverageColor,
}

/// Encoding options, applied once at the end whatever their position in
/// the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct OutputOptions {
    pub format: Option<FormatRequest>,
    pub quality: Option<Quality>,
    /// Progressive JPEG (ignored for other outputs unless `format` converts).
    pub progressive: bool,
    /// The request named its interlacing (on or off), so the bucket's
    /// `jpeg_progressive` does not apply. Absent from the canonical text
    /// when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub interlace_named: bool,
    /// Without `progressive`: write a JPEG as baseline or progressive,
    /// whichever is smaller (the bucket's `jpeg_progressive: auto`).
    /// Absent from the canonical text when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub progressive_auto: bool,
    /// Write a JPEG with trellis quantisation (the bucket's
    /// `jpeg_trellis`): fewer bytes at the same quality, for a slower
    /// encode. Absent from the canonical text when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub trellis: bool,
    /// Drop EXIF/ICC/XMP metadata (the vendors' explicit controls, e.g.
    /// Tencent `strip`): wins over `metadata`.
    pub strip_metadata: bool,
    /// What the output keeps of the source's metadata otherwise: the
    /// bucket's setting, not the request's (the dialect parsers leave the
    /// default).
    #[serde(default)]
    pub metadata: MetadataPolicy,
    /// Tencent size-limit: target byte size for JPEG output.
    pub size_limit: Option<SizeLimit>,
    /// The format chosen from the client's `Accept` (the bucket's
    /// `auto_format`) for a request that names none; `format` wins when
    /// set. Absent from the canonical text when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negotiated: Option<Negotiated>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// An output format chosen by content negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Negotiated {
    /// For a still source.
    pub still: Format,
    /// For an animated source: a format that keeps every frame (animated
    /// WebP), or `None` to keep the source's; never a single frame.
    pub animated: Option<Format>,
}

/// How much of the source's metadata a processed image carries
/// (`docs/styles.md`, "Metadata"). ICC profiles are kept by all three:
/// they are needed to show the colours right. EXIF is carried only from a
/// JPEG to a JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetadataPolicy {
    /// Every EXIF tag the source has, as the vendors do, except the
    /// camera's embedded preview (IFD1), which shows the original and not
    /// the output.
    Keep,
    /// EXIF reduced to a list of tags that describe the picture and its
    /// author (camera, exposure, dates, artist, copyright); GPS, maker
    /// notes, serial numbers and the preview are dropped.
    #[default]
    Safe,
    /// No EXIF: only the ICC profile.
    Strip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FormatRequest {
    pub format: Format,
    /// Alibaba `format,gif`: convert only when the source is already this
    /// format's kind (a non-GIF source keeps its format).
    pub only_if_source_animated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Bmp,
    Gif,
    Tiff,
    Avif,
    Heic,
}

impl Format {
    /// The `Content-Type` of an output in this format.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Bmp => "image/bmp",
            Format::Gif => "image/gif",
            Format::Tiff => "image/tiff",
            Format::Avif => "image/avif",
            Format::Heic => "image/heic",
        }
    }

    /// Whether the format can hold an animation (several frames with
    /// delays): what the encoder writes, and what a spelling must keep.
    pub fn can_animate(self) -> bool {
        matches!(self, Format::Gif | Format::Webp)
    }

    /// Whether the format stores an alpha channel (decides the fill of
    /// "outside" pixels and JPEG flattening).
    pub fn has_alpha(self) -> bool {
        !matches!(self, Format::Jpeg)
    }
}

/// JPEG/WebP quality. Only meaningful for lossy outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Quality {
    /// min(source quality, n) (Alibaba `Q_`, Tencent `quality/n`).
    Absolute(u8),
    /// Exactly n, even above the source's (Tencent `quality/n!`).
    Forced(u8),
    /// source quality × n / 100 (Alibaba `q_`, Tencent `rquality`).
    Relative(u8),
    /// max(source quality, n) (Tencent `lquality`).
    Floor(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SizeLimit {
    pub max_bytes: u64,
    /// `!`: return the source if the result is not smaller than it.
    pub source_if_not_smaller: bool,
}
