//! Size arithmetic and exact pixel moves: the target size of every
//! [`Geometry`], crop origins from a [`Gravity`] cell, index crops, and the
//! lossless transforms (flip, quarter turns, EXIF orientations).
//!
//! Everything that decides a *size* lives here as plain functions on
//! integers, so the worked examples of the vendor documentation can be
//! tested without touching pixels, and the executor can check
//! `max_output_side` before it allocates anything.

use image::RgbaImage;

use crate::error::{Error, Result};
use crate::pipeline::{Crop, Enlarge, Geometry, Gravity, Resize, Rgba, Rounding, SideChoice};

/// A pixel rectangle inside an image (top-left corner plus size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Where the resized image goes on a canvas of another size (Pad, Canvas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub width: u32,
    pub height: u32,
    /// Offset of the image on the canvas (may be negative when the image is
    /// larger than the canvas, which then crops it).
    pub x: i64,
    pub y: i64,
    pub color: Rgba,
}

/// The outcome of a resize, as sizes only: resample to `scaled`, then either
/// place on a canvas or crop a window. At most one of the two is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizePlan {
    /// Size the pixels are resampled to (equal to the input = no resampling).
    pub scaled: (u32, u32),
    /// Put the scaled image on a canvas (Pad, Canvas).
    pub canvas: Option<Placement>,
    /// Cut this window out of the scaled image (Fill).
    pub crop: Option<Rect>,
}

impl ResizePlan {
    /// The size of the image after the whole resize.
    pub fn output_size(&self) -> (u32, u32) {
        if let Some(c) = &self.canvas {
            (c.width, c.height)
        } else if let Some(r) = &self.crop {
            (r.width, r.height)
        } else {
            self.scaled
        }
    }
}

/// Rounds a fractional side by the dialect's policy; never below 1 (a
/// resize never yields an empty image) nor above `u32::MAX`.
pub fn round_side(v: f64, rounding: Rounding) -> u32 {
    let r = match rounding {
        // A tiny epsilon keeps exact products such as 0.3 × 1000 from
        // landing on 299.99999 and then truncating to 299.
        Rounding::Truncate => (v + 1e-9).floor(),
        Rounding::Nearest => v.round(),
    };
    if r.is_nan() || r < 1.0 {
        1
    } else if r >= u32::MAX as f64 {
        u32::MAX
    } else {
        r as u32
    }
}

fn scale_both(w0: u32, h0: u32, f: f64, rounding: Rounding) -> (u32, u32) {
    (
        round_side(w0 as f64 * f, rounding),
        round_side(h0 as f64 * f, rounding),
    )
}

/// Proportional size with the width set to `w` (height follows).
fn by_width(w0: u32, h0: u32, w: u32, rounding: Rounding) -> (u32, u32) {
    (
        w.max(1),
        round_side(h0 as f64 * w as f64 / w0 as f64, rounding),
    )
}

/// Proportional size with the height set to `h` (width follows).
fn by_height(w0: u32, h0: u32, h: u32, rounding: Rounding) -> (u32, u32) {
    (
        round_side(w0 as f64 * h as f64 / h0 as f64, rounding),
        h.max(1),
    )
}

/// Largest proportional size inside w×h. The side that limits keeps its
/// exact requested value; only the other one is rounded.
fn fit(w0: u32, h0: u32, w: u32, h: u32, rounding: Rounding) -> (u32, u32) {
    // Compare w/w0 with h/h0 exactly in integers.
    if (w as u64) * (h0 as u64) <= (h as u64) * (w0 as u64) {
        by_width(w0, h0, w, rounding)
    } else {
        by_height(w0, h0, h, rounding)
    }
}

/// Smallest proportional size covering w×h.
fn cover(w0: u32, h0: u32, w: u32, h: u32, rounding: Rounding) -> (u32, u32) {
    if (w as u64) * (h0 as u64) >= (h as u64) * (w0 as u64) {
        by_width(w0, h0, w, rounding)
    } else {
        by_height(w0, h0, h, rounding)
    }
}

/// Applies the enlargement rule to a proportional target: `Never` keeps the
/// source size when the target is larger (in either side), `Only` keeps it
/// when the target is smaller.
fn enlarge_rule(w0: u32, h0: u32, target: (u32, u32), enlarge: Enlarge) -> (u32, u32) {
    match enlarge {
        Enlarge::Allow => target,
        Enlarge::Never if target.0 > w0 || target.1 > h0 => (w0, h0),
        Enlarge::Only if target.0 < w0 || target.1 < h0 => (w0, h0),
        _ => target,
    }
}

fn centre_offset(outer: u32, inner: u32) -> i64 {
    (outer as i64 - inner as i64) / 2
}

/// Covers w×h proportionally, then cuts the centred w×h window (Fill, and
/// the cropping `OrientedBox`). When the enlargement rule kept the source,
/// the window is clipped to it: the result has the requested size only when
/// the source is big enough.
fn cover_then_centre_crop(
    w0: u32,
    h0: u32,
    w: u32,
    h: u32,
    rounding: Rounding,
    enlarge: Enlarge,
) -> ResizePlan {
    let scaled = enlarge_rule(w0, h0, cover(w0, h0, w, h, rounding), enlarge);
    let (cw, ch) = (w.min(scaled.0), h.min(scaled.1));
    ResizePlan {
        scaled,
        canvas: None,
        crop: Some(Rect {
            x: (scaled.0 - cw) / 2,
            y: (scaled.1 - ch) / 2,
            width: cw,
            height: ch,
        }),
    }
}

/// Computes the sizes of a resize of a w0×h0 image. Pure arithmetic: no
/// limit is checked here (the caller checks every returned size).
pub fn plan_resize(w0: u32, h0: u32, resize: &Resize, rounding: Rounding) -> ResizePlan {
    let (w0, h0) = (w0.max(1), h0.max(1));
    let en = resize.enlarge;
    let plain = |scaled: (u32, u32)| ResizePlan {
        scaled,
        canvas: None,
        crop: None,
    };
    match &resize.geometry {
        Geometry::Fit { width, height } => {
            let t = match (width, height) {
                (Some(w), Some(h)) => fit(w0, h0, (*w).max(1), (*h).max(1), rounding),
                (Some(w), None) => by_width(w0, h0, *w, rounding),
                (None, Some(h)) => by_height(w0, h0, *h, rounding),
                (None, None) => (w0, h0),
            };
            plain(enlarge_rule(w0, h0, t, en))
        }
        Geometry::Cover { width, height } => plain(enlarge_rule(
            w0,
            h0,
            cover(w0, h0, (*width).max(1), (*height).max(1), rounding),
            en,
        )),
        Geometry::Fill { width, height } => {
            let (w, h) = ((*width).max(1), (*height).max(1));
            cover_then_centre_crop(w0, h0, w, h, rounding, en)
        }
        Geometry::Pad {
            width,
            height,
            color,
        } => {
            let (w, h) = ((*width).max(1), (*height).max(1));
            let t = fit(w0, h0, w, h, rounding);
            let scaled = enlarge_rule(w0, h0, t, en);
            if scaled != t && en == Enlarge::Never {
                // Source smaller than the box and enlargement refused: the
                // canvas shrinks to the source too (Alibaba limit_1).
                return plain(scaled);
            }
            let canvas = Placement {
                width: w,
                height: h,
                x: centre_offset(w, scaled.0),
                y: centre_offset(h, scaled.1),
                color: *color,
            };
            ResizePlan {
                scaled,
                canvas: Some(canvas),
                crop: None,
            }
        }
        Geometry::Stretch { width, height } => {
            let t = ((*width).max(1), (*height).max(1));
            plain(enlarge_rule(w0, h0, t, en))
        }
        Geometry::Scale {
            x_permille,
            y_permille,
        } => {
            let w = x_permille.map_or(w0, |p| round_side(w0 as f64 * p as f64 / 1000.0, rounding));
            let h = y_permille.map_or(h0, |p| round_side(h0 as f64 * p as f64 / 1000.0, rounding));
            plain(enlarge_rule(w0, h0, (w, h), en))
        }
        Geometry::LongShort { long, short } => plain(enlarge_rule(
            w0,
            h0,
            long_short(w0, h0, *long, *short, rounding),
            en,
        )),
        Geometry::OrientedBox { long, short, crop } => {
            let (long, short) = ((*long).max(1), (*short).max(1));
            // A square source takes the landscape box, as the vendor's
            // "long edge" is the width when the sides are equal.
            let (w, h) = if w0 >= h0 {
                (long, short)
            } else {
                (short, long)
            };
            if *crop {
                cover_then_centre_crop(w0, h0, w, h, rounding, en)
            } else {
                plain(enlarge_rule(w0, h0, cover(w0, h0, w, h, rounding), en))
            }
        }
        Geometry::SourceSide {
            which,
            width,
            height,
        } => {
            let width_is_longer = w0 >= h0;
            let use_width = match which {
                SideChoice::Longer => width_is_longer,
                SideChoice::Shorter => !width_is_longer,
            };
            let t = if use_width {
                by_width(w0, h0, *width, rounding)
            } else {
                by_height(w0, h0, *height, rounding)
            };
            plain(enlarge_rule(w0, h0, t, en))
        }
        Geometry::Area { max_pixels } => {
            let area = w0 as f64 * h0 as f64;
            let f = (*max_pixels as f64 / area).sqrt();
            // Truncate so the product never exceeds the budget.
            let t = scale_both(w0, h0, f, Rounding::Truncate);
            plain(enlarge_rule(w0, h0, t, en))
        }
        Geometry::Canvas {
            width,
            height,
            color,
        } => {
            let (w, h) = ((*width).max(1), (*height).max(1));
            let canvas = Placement {
                width: w,
                height: h,
                x: centre_offset(w, w0),
                y: centre_offset(h, h0),
                color: *color,
            };
            ResizePlan {
                scaled: (w0, h0),
                canvas: Some(canvas),
                crop: None,
            }
        }
    }
}

/// Alibaba's `l_`/`s_`: `long` is a target for the source's longer side,
/// `short` for its shorter side; the scale is uniform. With both, the
/// result must satisfy both (lfit semantics), so the smaller factor wins —
/// which is Alibaba's "the side with the larger source-to-target ratio is
/// the long side" (its `resize` page).
fn long_short(
    w0: u32,
    h0: u32,
    long: Option<u32>,
    short: Option<u32>,
    rounding: Rounding,
) -> (u32, u32) {
    let width_is_long = w0 >= h0;
    let (long_src, short_src) = if width_is_long { (w0, h0) } else { (h0, w0) };
    // (target, applies to the width?) of the binding constraint.
    let binding = match (long, short) {
        (Some(l), Some(s)) => {
            // l/long_src <= s/short_src, compared exactly.
            if (l as u64) * (short_src as u64) <= (s as u64) * (long_src as u64) {
                (l, width_is_long)
            } else {
                (s, !width_is_long)
            }
        }
        (Some(l), None) => (l, width_is_long),
        (None, Some(s)) => (s, !width_is_long),
        (None, None) => return (w0, h0),
    };
    match binding {
        (t, true) => by_width(w0, h0, t, rounding),
        (t, false) => by_height(w0, h0, t, rounding),
    }
}

/// Origin of a w×h region in a W₀×H₀ image for a gravity cell (before
/// dx/dy): the nine origins of Alibaba's `crop` (`docs/oss.md`, "What you
/// can ask for": 3×3 gravity cells).
pub fn gravity_origin(w0: u32, h0: u32, w: u32, h: u32, g: Gravity) -> (i64, i64) {
    let (w0, h0, w, h) = (w0 as i64, h0 as i64, w as i64, h as i64);
    let cx = w0 / 2 - w / 2;
    let cy = h0 / 2 - h / 2;
    match g {
        Gravity::NorthWest => (0, 0),
        Gravity::North => (cx, 0),
        Gravity::NorthEast => (w0 - w, 0),
        Gravity::West => (0, cy),
        Gravity::Center => (cx, cy),
        Gravity::East => (w0 - w, cy),
        Gravity::SouthWest => (0, h0 - h),
        Gravity::South => (cx, h0 - h),
        Gravity::SouthEast => (w0 - w, h0 - h),
    }
}

/// The region a [`Crop`] keeps in a w0×h0 image: origin from the gravity
/// cell plus dx/dy; a start point outside the image is
/// [`Error::CropOutside`]; a region running past an edge is clipped.
pub fn crop_rect(w0: u32, h0: u32, crop: &Crop) -> Result<Rect> {
    let w = crop.width.unwrap_or(w0).min(w0);
    let h = crop.height.unwrap_or(h0).min(h0);
    let (ox, oy) = gravity_origin(w0, h0, w, h, crop.gravity);
    let x = ox + crop.dx as i64;
    let y = oy + crop.dy as i64;
    if x < 0 || y < 0 || x >= w0 as i64 || y >= h0 as i64 {
        return Err(Error::CropOutside);
    }
    let (x, y) = (x as u32, y as u32);
    // A zero width/height means "to the edge" (UCloud) — treat like None.
    let w = if crop.width == Some(0) { w0 } else { w };
    let h = if crop.height == Some(0) { h0 } else { h };
    Ok(Rect {
        x,
        y,
        width: w.min(w0 - x).max(1),
        height: h.min(h0 - y).max(1),
    })
}

/// Whether the rectangle `crop` asks for lies wholly inside a `w0`×`h0`
/// image, before any clipping (a side of `None` or 0 runs to the edge).
pub fn crop_within(w0: u32, h0: u32, crop: &Crop) -> bool {
    let w = crop.width.filter(|&v| v > 0).unwrap_or(w0);
    let h = crop.height.filter(|&v| v > 0).unwrap_or(h0);
    if w > w0 || h > h0 {
        return false;
    }
    let (ox, oy) = gravity_origin(w0, h0, w, h, crop.gravity);
    let x = ox + i64::from(crop.dx);
    let y = oy + i64::from(crop.dy);
    x >= 0 && y >= 0 && x + i64::from(w) <= i64::from(w0) && y + i64::from(h) <= i64::from(h0)
}

/// The strip an index crop keeps, or `None` when `index` is past the last
/// strip (the image is then left unchanged).
pub fn index_crop_rect(
    w0: u32,
    h0: u32,
    axis: crate::pipeline::Axis,
    length: u32,
    index: u32,
) -> Option<Rect> {
    let length = length.max(1);
    let total = match axis {
        crate::pipeline::Axis::X => w0,
        crate::pipeline::Axis::Y => h0,
    };
    let count = total.div_ceil(length);
    if index >= count {
        return None;
    }
    let start = index * length;
    let len = length.min(total - start);
    Some(match axis {
        crate::pipeline::Axis::X => Rect {
            x: start,
            y: 0,
            width: len,
            height: h0,
        },
        crate::pipeline::Axis::Y => Rect {
            x: 0,
            y: start,
            width: w0,
            height: len,
        },
    })
}

/// Whether an EXIF orientation swaps width and height (5–8).
pub fn orientation_swaps(orientation: u16) -> bool {
    matches!(orientation, 5..=8)
}

/// Applies an EXIF orientation (1–8) so that the result displays upright.
/// Unknown values are left alone.
pub fn apply_orientation(img: RgbaImage, orientation: u16) -> RgbaImage {
    use image::imageops;
    match orientation {
        2 => imageops::flip_horizontal(&img),
        3 => imageops::rotate180(&img),
        4 => imageops::flip_vertical(&img),
        // Transpose: mirror along the top-left/bottom-right diagonal.
        5 => imageops::flip_horizontal(&imageops::rotate90(&img)),
        6 => imageops::rotate90(&img),
        // Transverse: mirror along the other diagonal.
        7 => imageops::flip_horizontal(&imageops::rotate270(&img)),
        8 => imageops::rotate270(&img),
        _ => img,
    }
}

/// Clockwise quarter turns, exactly (no resampling).
pub fn rotate_quarter(img: &RgbaImage, degrees: u32) -> Option<RgbaImage> {
    use image::imageops;
    match degrees % 360 {
        0 => Some(img.clone()),
        90 => Some(imageops::rotate90(img)),
        180 => Some(imageops::rotate180(img)),
        270 => Some(imageops::rotate270(img)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Axis;

    fn rz(g: Geometry) -> Resize {
        Resize {
            geometry: g,
            enlarge: Enlarge::Allow,
        }
    }

    fn out(w0: u32, h0: u32, g: Geometry, r: Rounding) -> (u32, u32) {
        plan_resize(w0, h0, &rz(g), r).output_size()
    }

    #[test]
    fn alibaba_worked_example() {
        let n = Rounding::Nearest;
        let (w, h) = (Some(150), Some(80));
        assert_eq!(
            out(
                200,
                100,
                Geometry::Fit {
                    width: w,
                    height: h
                },
                n
            ),
            (150, 75)
        );
        assert_eq!(
            out(
                200,
                100,
                Geometry::Cover {
                    width: 150,
                    height: 80
                },
                n
            ),
            (160, 80)
        );
        let fill = plan_resize(
            200,
            100,
            &rz(Geometry::Fill {
                width: 150,
                height: 80,
            }),
            n,
        );
        assert_eq!(fill.scaled, (160, 80));
        assert_eq!(
            fill.crop,
            Some(Rect {
                x: 5,
                y: 0,
                width: 150,
                height: 80
            })
        );
        let pad = plan_resize(
            200,
            100,
            &rz(Geometry::Pad {
                width: 150,
                height: 80,
                color: Rgba::WHITE,
            }),
            n,
        );
        assert_eq!(pad.scaled, (150, 75));
        assert_eq!(pad.output_size(), (150, 80));
        assert_eq!(pad.canvas.map(|c| (c.x, c.y)), Some((0, 2)));
        assert_eq!(
            out(
                200,
                100,
                Geometry::Stretch {
                    width: 150,
                    height: 80
                },
                n
            ),
            (150, 80)
        );
    }

    #[test]
    fn ucloud_truncation_examples() {
        let t = Rounding::Truncate;
        assert_eq!(
            out(
                400,
                300,
                Geometry::Fit {
                    width: Some(50),
                    height: None
                },
                t
            ),
            (50, 37)
        );
        assert_eq!(
            out(
                400,
                300,
                Geometry::Fit {
                    width: None,
                    height: Some(50)
                },
                t
            ),
            (66, 50)
        );
        assert_eq!(
            out(
                400,
                300,
                Geometry::Fit {
                    width: Some(50),
                    height: Some(50)
                },
                t
            ),
            (50, 37)
        );
        assert_eq!(
            out(
                400,
                300,
                Geometry::Cover {
                    width: 50,
                    height: 50
                },
                t
            ),
            (66, 50)
        );
        assert_eq!(
            out(
                400,
                300,
                Geometry::SourceSide {
                    which: SideChoice::Longer,
                    width: 50,
                    height: 10
                },
                t
            ),
            (50, 37)
        );
        assert_eq!(
            out(
                400,
                300,
                Geometry::SourceSide {
                    which: SideChoice::Shorter,
                    width: 50,
                    height: 10
                },
                t
            ),
            (13, 10)
        );
        let fill = plan_resize(
            400,
            300,
            &rz(Geometry::Fill {
                width: 50,
                height: 100,
            }),
            t,
        );
        assert_eq!(fill.scaled, (133, 100));
        assert_eq!(fill.output_size(), (50, 100));
        let p = |x, y| Geometry::Scale {
            x_permille: x,
            y_permille: y,
        };
        assert_eq!(out(400, 300, p(Some(100), Some(100)), t), (40, 30));
        assert_eq!(out(400, 300, p(None, Some(100)), t), (400, 30));
        assert_eq!(out(400, 300, p(Some(100), None), t), (40, 300));
        // The same requests rounded to nearest differ only where .5 or more.
        let n = Rounding::Nearest;
        assert_eq!(
            out(
                400,
                300,
                Geometry::Fit {
                    width: Some(50),
                    height: None
                },
                n
            ),
            (50, 38)
        );
        assert_eq!(
            out(
                400,
                300,
                Geometry::Fit {
                    width: None,
                    height: Some(50)
                },
                n
            ),
            (67, 50)
        );
    }

    #[test]
    fn never_zero_and_enlarge_rules() {
        let n = Rounding::Nearest;
        assert_eq!(
            out(
                1000,
                1,
                Geometry::Fit {
                    width: Some(10),
                    height: None
                },
                n
            ),
            (10, 1)
        );
        assert_eq!(
            out(
                1,
                1000,
                Geometry::Scale {
                    x_permille: Some(1),
                    y_permille: Some(1)
                },
                Rounding::Truncate
            ),
            (1, 1)
        );
        let never = Resize {
            geometry: Geometry::Fit {
                width: Some(400),
                height: None,
            },
            enlarge: Enlarge::Never,
        };
        assert_eq!(plan_resize(200, 100, &never, n).output_size(), (200, 100));
        let only = Resize {
            geometry: Geometry::Fit {
                width: Some(100),
                height: None,
            },
            enlarge: Enlarge::Only,
        };
        assert_eq!(plan_resize(200, 100, &only, n).output_size(), (200, 100));
        let only_up = Resize {
            geometry: Geometry::Fit {
                width: Some(400),
                height: None,
            },
            enlarge: Enlarge::Only,
        };
        assert_eq!(plan_resize(200, 100, &only_up, n).output_size(), (400, 200));
        let pad_never = Resize {
            geometry: Geometry::Pad {
                width: 400,
                height: 400,
                color: Rgba::WHITE,
            },
            enlarge: Enlarge::Never,
        };
        assert_eq!(
            plan_resize(200, 100, &pad_never, n).output_size(),
            (200, 100)
        );
    }

    #[test]
    fn long_short_uses_ratio_definition() {
        let n = Rounding::Nearest;
        // 400×200 with l_800,s_100: factors 2 (long 400→800) and 0.5
        // (short 200→100); the smaller wins → 200×100.
        assert_eq!(
            out(
                400,
                200,
                Geometry::LongShort {
                    long: Some(800),
                    short: Some(100)
                },
                n
            ),
            (200, 100)
        );
        assert_eq!(
            out(
                400,
                200,
                Geometry::LongShort {
                    long: Some(100),
                    short: None
                },
                n
            ),
            (100, 50)
        );
        assert_eq!(
            out(
                200,
                400,
                Geometry::LongShort {
                    long: Some(100),
                    short: None
                },
                n
            ),
            (50, 100)
        );
        assert_eq!(
            out(
                400,
                200,
                Geometry::LongShort {
                    long: None,
                    short: Some(100)
                },
                n
            ),
            (200, 100)
        );
    }

    #[test]
    fn oriented_box_follows_the_source() {
        let n = Rounding::Nearest;
        let boxed = |long, short, crop| Geometry::OrientedBox { long, short, crop };
        // Mode 4: long edge >= 500 and short edge >= 400 on 1000x500 -> the
        // short edge binds: 800x400. A portrait source turns the box.
        assert_eq!(out(1000, 500, boxed(500, 400, false), n), (800, 400));
        assert_eq!(out(500, 1000, boxed(500, 400, false), n), (400, 800));
        assert_eq!(out(1000, 500, boxed(1200, 100, false), n), (1200, 600));
        // Mode 5: the same cover, then a centre crop to the turned box.
        let land = plan_resize(1000, 500, &rz(boxed(500, 400, true)), n);
        assert_eq!(land.scaled, (800, 400));
        assert_eq!(
            land.crop,
            Some(Rect {
                x: 150,
                y: 0,
                width: 500,
                height: 400
            })
        );
        let port = plan_resize(500, 1000, &rz(boxed(500, 400, true)), n);
        assert_eq!(port.scaled, (400, 800));
        assert_eq!(port.output_size(), (400, 500));
        assert_eq!(port.crop.map(|r| (r.x, r.y)), Some((0, 150)));
        // A square source takes the landscape box.
        assert_eq!(
            plan_resize(600, 600, &rz(boxed(300, 200, true)), n).output_size(),
            (300, 200)
        );
        // Enlargement refused: the window is clipped to the source.
        let kept = plan_resize(
            100,
            50,
            &Resize {
                geometry: boxed(500, 400, true),
                enlarge: Enlarge::Never,
            },
            n,
        );
        assert_eq!(kept.scaled, (100, 50));
        assert_eq!(kept.output_size(), (100, 50));
    }

    #[test]
    fn area_and_canvas() {
        let n = Rounding::Nearest;
        let (w, h) = out(400, 300, Geometry::Area { max_pixels: 30_000 }, n);
        assert!(
            w as u64 * h as u64 <= 30_000 && w >= 199 && h >= 149,
            "{w}x{h}"
        );
        let c = plan_resize(
            400,
            300,
            &rz(Geometry::Canvas {
                width: 600,
                height: 600,
                color: Rgba::WHITE,
            }),
            n,
        );
        assert_eq!(c.output_size(), (600, 600));
        assert_eq!(c.canvas.map(|c| (c.x, c.y)), Some((100, 150)));
    }

    #[test]
    fn crop_gravity_origins() {
        let c = |g, w, h, dx, dy| Crop {
            width: w,
            height: h,
            gravity: g,
            dx,
            dy,
        };
        let r = |x, y, w, h| Rect {
            x,
            y,
            width: w,
            height: h,
        };
        let cases = [
            (Gravity::NorthWest, r(0, 0, 100, 50)),
            (Gravity::North, r(150, 0, 100, 50)),
            (Gravity::NorthEast, r(300, 0, 100, 50)),
            (Gravity::West, r(0, 125, 100, 50)),
            (Gravity::Center, r(150, 125, 100, 50)),
            (Gravity::East, r(300, 125, 100, 50)),
            (Gravity::SouthWest, r(0, 250, 100, 50)),
            (Gravity::South, r(150, 250, 100, 50)),
            (Gravity::SouthEast, r(300, 250, 100, 50)),
        ];
        for (g, want) in cases {
            assert_eq!(
                crop_rect(400, 300, &c(g, Some(100), Some(50), 0, 0)).unwrap(),
                want,
                "{g:?}"
            );
        }
        // dx/dy are added to the origin; the region is clipped at the edge.
        assert_eq!(
            crop_rect(
                400,
                300,
                &c(Gravity::NorthWest, Some(100), Some(100), 350, 250)
            )
            .unwrap(),
            r(350, 250, 50, 50)
        );
        // Missing sides run to the edge.
        assert_eq!(
            crop_rect(400, 300, &c(Gravity::NorthWest, None, None, 10, 20)).unwrap(),
            r(10, 20, 390, 280)
        );
        assert!(matches!(
            crop_rect(400, 300, &c(Gravity::NorthWest, Some(10), Some(10), 400, 0)),
            Err(Error::CropOutside)
        ));
        assert!(matches!(
            crop_rect(400, 300, &c(Gravity::NorthWest, Some(10), Some(10), 0, 300)),
            Err(Error::CropOutside)
        ));
        assert!(matches!(
            crop_rect(400, 300, &c(Gravity::SouthEast, Some(10), Some(10), 10, 0)),
            Err(Error::CropOutside)
        ));
    }

    #[test]
    fn index_crop() {
        assert_eq!(
            index_crop_rect(250, 100, Axis::X, 100, 0),
            Some(Rect {
                x: 0,
                y: 0,
                width: 100,
                height: 100
            })
        );
        // Last strip is narrower (ceil division).
        assert_eq!(
            index_crop_rect(250, 100, Axis::X, 100, 2),
            Some(Rect {
                x: 200,
                y: 0,
                width: 50,
                height: 100
            })
        );
        assert_eq!(index_crop_rect(250, 100, Axis::X, 100, 3), None);
        assert_eq!(
            index_crop_rect(250, 100, Axis::Y, 30, 3),
            Some(Rect {
                x: 0,
                y: 90,
                width: 250,
                height: 10
            })
        );
        assert_eq!(index_crop_rect(250, 100, Axis::Y, 30, 4), None);
    }

    #[test]
    fn all_orientations_put_the_marker_top_left() {
        // A 3×2 image whose *displayed* top-left pixel is red; build the
        // stored image for each orientation by applying the inverse move.
        for o in 1..=8u16 {
            let (sw, sh) = if orientation_swaps(o) { (2, 3) } else { (3, 2) };
            let mut stored = RgbaImage::from_pixel(sw, sh, image::Rgba([0, 0, 0, 255]));
            // Where the displayed (0,0) is stored, per the EXIF definition.
            let (x, y) = match o {
                1 => (0, 0),
                2 => (sw - 1, 0),
                3 => (sw - 1, sh - 1),
                4 => (0, sh - 1),
                5 => (0, 0),
                6 => (0, sh - 1),
                7 => (sw - 1, sh - 1),
                _ => (sw - 1, 0),
            };
            stored.put_pixel(x, y, image::Rgba([255, 0, 0, 255]));
            let shown = apply_orientation(stored, o);
            assert_eq!(shown.dimensions(), (3, 2), "orientation {o}");
            assert_eq!(shown.get_pixel(0, 0).0, [255, 0, 0, 255], "orientation {o}");
        }
    }
}
