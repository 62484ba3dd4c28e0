//! Per-pixel effects: brightness, contrast, sharpen, blur, grayscale and
//! flood fill, all on the pipeline's working format (8-bit straight RGBA).
//!
//! The mappings, chosen to be linear where the vendors only promise "0 =
//! unchanged, the sign gives the direction", are:
//!
//! * **bright v** (−100…100): every colour channel gets `round(v × 255 / 100)`
//!   added, clamped to 0…255. v = 100 turns everything white, −100 black
//!   (UCloud documents exactly that; its parser emits [`flood`] for ±100 anyway).
//! * **contrast v** (−100…100): each channel is stretched around the mid
//!   grey 127.5 by the factor `f = 100 / (100 − v)` for v ≥ 0 and
//!   `f = (100 + v) / 100` for v < 0, so ±v are inverse factors (symmetric in
//!   log scale): +50 doubles the distance to grey, −50 halves it; −100 gives
//!   flat grey, +100 a hard threshold at 128.
//! * **sharpen**: unsharp mask `out = src + amount × (src − gaussian(src, σ))`
//!   on the colour channels; alpha is kept.
//! * **blur**: separable Gaussian or box (mean) filter, optionally limited to
//!   a rectangle. Pixels outside the region still feed the kernel, so the
//!   region's edge shows no seam, but only the region's pixels change.
//! * **grayscale**: Rec. 601 luma `0.299 R + 0.587 G + 0.114 B` (what
//!   ImageMagick and libjpeg use), alpha kept.
//!
//! Filters run on premultiplied alpha so that the colour of fully
//! transparent pixels (often black) never bleeds into visible ones.

use image::RgbaImage;

use crate::error::Result;
use crate::pipeline::{BlurKind, Rgb};
use crate::Cancel;

pub use crate::geometry::Rect;

/// Largest kernel radius used by [`blur`] and [`sharpen`]: past 3σ the
/// Gaussian weights are negligible, and the vendors cap σ at 50 (σ 300 for
/// UCloud sharpen), so this only guards against pathological direct calls.
const MAX_KERNEL_RADIUS: u32 = 1000;

/// Adds `value × 255 / 100` to every colour channel (−100…100; 0 = unchanged).
pub fn bright(img: &mut RgbaImage, value: i32) {
    let value = value.clamp(-100, 100);
    if value == 0 {
        return;
    }
    let delta = (f64::from(value) * 255.0 / 100.0).round() as i32;
    let mut lut = [0u8; 256];
    for (i, slot) in lut.iter_mut().enumerate() {
        *slot = (i as i32 + delta).clamp(0, 255) as u8;
    }
    apply_lut(img, &lut);
}

/// Stretches (v > 0) or flattens (v < 0) every colour channel around mid
/// grey; −100…100, 0 = unchanged. See the module doc for the factor.
pub fn contrast(img: &mut RgbaImage, value: i32) {
    let value = value.clamp(-100, 100);
    if value == 0 {
        return;
    }
    let mut lut = [0u8; 256];
    if value == 100 {
        // The factor is infinite: a threshold at mid grey.
        for (i, slot) in lut.iter_mut().enumerate() {
            *slot = if i >= 128 { 255 } else { 0 };
        }
    } else {
        let v = f64::from(value);
        let factor = if v >= 0.0 {
            100.0 / (100.0 - v)
        } else {
            (100.0 + v) / 100.0
        };
        for (i, slot) in lut.iter_mut().enumerate() {
            let out = (i as f64 - 127.5) * factor + 127.5;
            *slot = out.round().clamp(0.0, 255.0) as u8;
        }
    }
    apply_lut(img, &lut);
}

/// Converts to grey with Rec. 601 luma, keeping alpha.
pub fn grayscale(img: &mut RgbaImage) {
    for p in img.pixels_mut() {
        let [r, g, b, _] = p.0;
        let y = (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b) + 500) / 1000;
        let y = y.min(255) as u8;
        p.0[0] = y;
        p.0[1] = y;
        p.0[2] = y;
    }
}

/// Replaces every pixel's colour with `color`, keeping its alpha.
pub fn flood(img: &mut RgbaImage, color: Rgb) {
    for p in img.pixels_mut() {
        p.0[0] = color.0;
        p.0[1] = color.1;
        p.0[2] = color.2;
    }
}

/// Unsharp mask: `out = src + amount × (src − gaussian(src, sigma))` on the
/// colour channels, alpha kept. `amount_percent` 100 adds the detail once.
/// A non-positive sigma or a zero amount returns the image unchanged.
pub fn sharpen(img: &RgbaImage, sigma: f32, amount_percent: u32) -> RgbaImage {
    match sharpen_cancellable(img, sigma, amount_percent, &Cancel::never()) {
        Ok(out) => out,
        // A token that is never cancelled has no deadline either.
        Err(_) => img.clone(),
    }
}

/// [`sharpen`] that stops between bands of rows once `cancel` fires.
pub fn sharpen_cancellable(
    img: &RgbaImage,
    sigma: f32,
    amount_percent: u32,
    cancel: &Cancel,
) -> Result<RgbaImage> {
    let mut out = img.clone();
    if sigma.is_nan()
        || sigma <= 0.0
        || amount_percent == 0
        || img.width() == 0
        || img.height() == 0
    {
        return Ok(out);
    }
    let filter = gaussian_filter(sigma, kernel_radius_for_sigma(sigma));
    let amount = amount_percent as f32 / 100.0;
    let whole = (0, 0, img.width(), img.height());
    filter_region(
        &mut out,
        whole,
        &filter,
        |mut p, b| {
            let a = b[3];
            if a <= 0.0 {
                // Nothing visible around: no detail to add.
                return p;
            }
            for (dst, &bp) in p[..3].iter_mut().zip(&b[..3]) {
                // Un-premultiply the blurred value so that transparent
                // neighbours only count by their (zero) weight.
                let blurred = bp * 255.0 / a;
                let src = f32::from(*dst);
                *dst = to_u8(src + amount * (src - blurred));
            }
            p
        },
        cancel,
    )?;
    Ok(out)
}

/// Blurs the image, or only `region` of it (clipped to the image).
///
/// `Gaussian`: standard deviation `sigma`, kernel radius `radius` (0 = 3σ;
/// a radius larger than 3σ is reduced to 3σ since the weights there are
/// negligible); `sigma` ≤ 0 with a radius uses σ = radius / 2.
/// `Box`: a mean over a (2·radius+1)² window; radius 0 = `round(√3·σ)`,
/// the box with the same standard deviation.
/// Nothing happens when both are zero.
pub fn blur(img: &mut RgbaImage, radius: u32, sigma: f32, kind: BlurKind, region: Option<Rect>) {
    // A token that is never cancelled cannot fail.
    let _ = blur_cancellable(img, (radius, sigma, kind), region, &Cancel::never());
}

/// [`blur`] that stops between bands of rows once `cancel` fires (the
/// image is then partly blurred and must be dropped).
pub fn blur_cancellable(
    img: &mut RgbaImage,
    (radius, sigma, kind): (u32, f32, BlurKind),
    region: Option<Rect>,
    cancel: &Cancel,
) -> Result<()> {
    let sigma = if sigma.is_finite() {
        sigma.max(0.0)
    } else {
        0.0
    };
    let filter = match kind {
        BlurKind::Gaussian => {
            let (sigma, r) = match (radius, sigma > 0.0) {
                (0, false) => return Ok(()),
                (0, true) => (sigma, kernel_radius_for_sigma(sigma)),
                (r, false) => (r as f32 / 2.0, r),
                (r, true) => (sigma, r.min(kernel_radius_for_sigma(sigma))),
            };
            gaussian_filter(sigma, r.min(MAX_KERNEL_RADIUS))
        }
        BlurKind::Box => {
            let r = if radius > 0 {
                radius
            } else {
                (sigma * 3f32.sqrt()).round() as u32
            };
            if r == 0 {
                return Ok(());
            }
            Filter::Boxes(vec![r.min(MAX_KERNEL_RADIUS)])
        }
    };
    let (w, h) = img.dimensions();
    let region = region.unwrap_or(Rect {
        x: 0,
        y: 0,
        width: w,
        height: h,
    });
    // Clip the region to the image.
    let x0 = region.x.min(w);
    let y0 = region.y.min(h);
    let x1 = region.x.saturating_add(region.width).min(w);
    let y1 = region.y.saturating_add(region.height).min(h);
    if x1 <= x0 || y1 <= y0 {
        return Ok(());
    }
    filter_region(
        img,
        (x0, y0, x1, y1),
        &filter,
        |_, b| unpremultiply(b),
        cancel,
    )
}

/// Rows per band of [`filter_region`] (at least; 4 × the filter's reach
/// when that is more, to keep the recomputed overlap under 50 %).
const BAND_MIN_ROWS: u32 = 256;

/// Runs `filter` over the pixels of `rect` = (x0, y0, x1, y1) (clipped,
/// non-empty) and replaces each with `combine(original, filtered)`, the
/// filtered value being premultiplied floats.
///
/// Pixels outside `rect` still feed the filter (up to its reach), so the
/// rectangle's edge shows no seam, but only its pixels change. The work is
/// done in bands of rows, each with `reach` rows of context above and
/// below, so the float working copy is a band (16 bytes per pixel of it),
/// never the whole image. Rows of the previous band that the next one reads
/// as context are saved before being overwritten.
fn filter_region(
    img: &mut RgbaImage,
    (x0, y0, x1, y1): (u32, u32, u32, u32),
    filter: &Filter,
    mut combine: impl FnMut([u8; 4], [f32; 4]) -> [u8; 4],
    cancel: &Cancel,
) -> Result<()> {
    let (w, h) = img.dimensions();
    let r = filter.reach();
    let wx0 = x0.saturating_sub(r);
    let wx1 = x1.saturating_add(r).min(w);
    let ww = (wx1 - wx0) as usize;
    let band = BAND_MIN_ROWS.max(r.saturating_mul(4));
    let px = |x: u32, y: u32| (y as usize * w as usize + x as usize) * 4;
    // Original pixels of rows [saved_y0, y) over columns [wx0, wx1).
    let mut saved: Vec<u8> = Vec::new();
    let mut saved_y0 = y0;
    let mut y = y0;
    while y < y1 {
        // The checkpoint between bands: a band of a huge image is the
        // longest stretch of work without one.
        cancel.check()?;
        let yb1 = y.saturating_add(band).min(y1);
        let wy0 = y.saturating_sub(r);
        let wy1 = yb1.saturating_add(r).min(h);
        let mut data = Vec::with_capacity(ww * (wy1 - wy0) as usize);
        for yy in wy0..wy1 {
            let row: &[u8] = if yy >= y0 && yy < y {
                let start = (yy - saved_y0) as usize * ww * 4;
                &saved[start..start + ww * 4]
            } else {
                &img.as_raw()[px(wx0, yy)..px(wx1, yy)]
            };
            data.extend(
                row.chunks_exact(4)
                    .map(|p| premultiply([p[0], p[1], p[2], p[3]])),
            );
        }
        let mut planes = Planes {
            width: ww,
            height: (wy1 - wy0) as usize,
            data,
        };
        filter.apply(&mut planes);
        // The next band reads up to r rows above its start as context.
        saved_y0 = yb1.saturating_sub(r).max(y);
        saved.clear();
        for yy in saved_y0..yb1 {
            saved.extend_from_slice(&img.as_raw()[px(wx0, yy)..px(wx0, yy) + ww * 4]);
        }
        let buf: &mut [u8] = img;
        for yy in y..yb1 {
            let prow = (yy - wy0) as usize * ww;
            for x in x0..x1 {
                let i = px(x, yy);
                let orig = [buf[i], buf[i + 1], buf[i + 2], buf[i + 3]];
                let out = combine(orig, planes.data[prow + (x - wx0) as usize]);
                buf[i..i + 4].copy_from_slice(&out);
            }
        }
        y = yb1;
    }
    Ok(())
}

/// Kernels up to this radius are applied exactly; wider Gaussians use three
/// box passes (O(1) per pixel whatever the radius), which match the
/// Gaussian's variance and differ from it by a few percent at most.
const EXACT_GAUSSIAN_MAX_RADIUS: u32 = 12;

/// A separable blur, ready to run.
enum Filter {
    /// One exact convolution kernel (odd length, normalised).
    Kernel(Vec<f32>),
    /// Successive box (mean) passes of these radii.
    Boxes(Vec<u32>),
}

impl Filter {
    /// How far (in pixels) a pixel's value can travel.
    fn reach(&self) -> u32 {
        match self {
            Filter::Kernel(k) => (k.len() / 2) as u32,
            Filter::Boxes(radii) => radii.iter().sum(),
        }
    }

    fn apply(&self, planes: &mut Planes) {
        match self {
            Filter::Kernel(k) => planes.convolve(k),
            Filter::Boxes(radii) => {
                for &r in radii {
                    planes.box_blur(r);
                }
            }
        }
    }
}

/// A Gaussian of `sigma` truncated at `radius`: exact when small, else
/// three boxes matching the truncated kernel's variance ("boxes for Gauss",
/// W. Jarosz / P. Kovesi).
fn gaussian_filter(sigma: f32, radius: u32) -> Filter {
    let kernel = gaussian_kernel(sigma, radius);
    if radius <= EXACT_GAUSSIAN_MAX_RADIUS {
        return Filter::Kernel(kernel);
    }
    let r = radius as f64;
    let variance: f64 = kernel
        .iter()
        .enumerate()
        .map(|(i, &k)| f64::from(k) * (i as f64 - r).powi(2))
        .sum();
    Filter::Boxes(box_radii_for_variance(variance, 3))
}

/// Radii of `n` boxes whose successive application has (about) the given
/// variance: widths w_l (odd) and w_l + 2, m of the former.
fn box_radii_for_variance(variance: f64, n: u32) -> Vec<u32> {
    let nf = f64::from(n);
    let ideal = (12.0 * variance / nf + 1.0).sqrt();
    let mut wl = ideal.floor().max(1.0) as i64;
    if wl % 2 == 0 {
        wl -= 1;
    }
    let wlf = wl as f64;
    let m = ((12.0 * variance - nf * wlf * wlf - 4.0 * nf * wlf - 3.0 * nf) / (-4.0 * wlf - 4.0))
        .round()
        .clamp(0.0, nf) as u32;
    (0..n)
        .map(|i| {
            let w = if i < m { wl } else { wl + 2 };
            ((w - 1) / 2) as u32
        })
        .collect()
}

/// Kernel radius covering ±3σ (at least 1).
fn kernel_radius_for_sigma(sigma: f32) -> u32 {
    ((3.0 * sigma).ceil() as u32).clamp(1, MAX_KERNEL_RADIUS)
}

/// Normalised 1-D Gaussian weights for offsets −radius…radius.
fn gaussian_kernel(sigma: f32, radius: u32) -> Vec<f32> {
    let r = radius as i64;
    let two_s2 = 2.0 * f64::from(sigma) * f64::from(sigma);
    let weights: Vec<f64> = (-r..=r)
        .map(|i| (-((i * i) as f64) / two_s2).exp())
        .collect();
    let sum: f64 = weights.iter().sum();
    weights.into_iter().map(|v| (v / sum) as f32).collect()
}

fn apply_lut(img: &mut RgbaImage, lut: &[u8; 256]) {
    for p in img.pixels_mut() {
        for c in 0..3 {
            p.0[c] = lut[usize::from(p.0[c])];
        }
    }
}

/// An image as premultiplied-alpha floats (0…255 scale), the form every
/// filter of this crate works on.
pub(crate) struct Planes {
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) data: Vec<[f32; 4]>,
}

impl Planes {
    /// The whole image at once (tests compare the banded filters with it).
    #[cfg(test)]
    fn from_image(img: &RgbaImage) -> Planes {
        let data = img.pixels().map(|p| premultiply(p.0)).collect();
        Planes {
            width: img.width() as usize,
            height: img.height() as usize,
            data,
        }
    }

    /// Separable convolution with `kernel` (odd length) horizontally then
    /// vertically; edges are extended (clamped), which keeps flat images flat.
    pub(crate) fn convolve(&mut self, kernel: &[f32]) {
        if self.width == 0 || self.height == 0 || kernel.len() <= 1 {
            return;
        }
        self.convolve_rows(kernel);
        self.convolve_columns(kernel);
    }

    /// Mean over a (2r+1)-wide window horizontally then vertically, with
    /// running sums (cost independent of r); edges extended like
    /// [`Planes::convolve`].
    pub(crate) fn box_blur(&mut self, r: u32) {
        let (w, h) = (self.width, self.height);
        if w == 0 || h == 0 || r == 0 {
            return;
        }
        let r = r as usize;
        let inv_n = 1.0 / (2 * r + 1) as f32;
        // f32 running sums: the drift over a row of thousands of pixels
        // stays far below one 8-bit step (the tests compare with the exact
        // convolution).
        let mut padded = vec![[0f32; 4]; w + 2 * r];
        for row in self.data.chunks_exact_mut(w) {
            for (i, slot) in padded.iter_mut().enumerate() {
                *slot = row[i.saturating_sub(r).min(w - 1)];
            }
            let mut acc = [0f32; 4];
            for p in &padded[..2 * r] {
                add4(&mut acc, p, 1.0);
            }
            for (x, out) in row.iter_mut().enumerate() {
                add4(&mut acc, &padded[x + 2 * r], 1.0);
                *out = [
                    acc[0] * inv_n,
                    acc[1] * inv_n,
                    acc[2] * inv_n,
                    acc[3] * inv_n,
                ];
                add4(&mut acc, &padded[x], -1.0);
            }
        }
        // Columns: a running window sum per column, row by row.
        self.columns_by_strips(|src, dst, sw| {
            let row_at = |y: isize| -> &[f32] {
                let y = y.clamp(0, h as isize - 1) as usize;
                src[y * sw..(y + 1) * sw].as_flattened()
            };
            let mut acc = vec![0f32; 4 * sw];
            for dy in -(r as isize)..=(r as isize) {
                for (a, s) in acc.iter_mut().zip(row_at(dy)) {
                    *a += s;
                }
            }
            for (y, out_row) in dst.chunks_exact_mut(sw).enumerate() {
                for (o, a) in out_row.as_flattened_mut().iter_mut().zip(&acc) {
                    *o = a * inv_n;
                }
                let add = row_at(y as isize + r as isize + 1);
                let sub = row_at(y as isize - r as isize);
                for ((a, p), m) in acc.iter_mut().zip(add).zip(sub) {
                    *a += p - m;
                }
            }
        });
    }

    /// Runs a vertical pass strip by strip: `pass(src, dst, strip_width)`
    /// gets one strip of columns (all rows, row-major) and fills `dst` with
    /// the result. Keeps the extra memory to two strips instead of a second
    /// full-size buffer, and the data of a strip in cache.
    fn columns_by_strips(&mut self, mut pass: impl FnMut(&[[f32; 4]], &mut [[f32; 4]], usize)) {
        const STRIP: usize = 64;
        let (w, h) = (self.width, self.height);
        let mut src = vec![[0f32; 4]; h * STRIP.min(w)];
        let mut dst = src.clone();
        for x0 in (0..w).step_by(STRIP) {
            let sw = STRIP.min(w - x0);
            let (src, dst) = (&mut src[..h * sw], &mut dst[..h * sw]);
            for (y, strip_row) in src.chunks_exact_mut(sw).enumerate() {
                strip_row.copy_from_slice(&self.data[y * w + x0..y * w + x0 + sw]);
            }
            pass(src, dst, sw);
            for (y, strip_row) in dst.chunks_exact(sw).enumerate() {
                self.data[y * w + x0..y * w + x0 + sw].copy_from_slice(strip_row);
            }
        }
    }

    fn convolve_rows(&mut self, kernel: &[f32]) {
        let r = kernel.len() / 2;
        let w = self.width;
        let mut padded = vec![[0f32; 4]; w + 2 * r];
        for row in self.data.chunks_exact_mut(w) {
            for (i, slot) in padded.iter_mut().enumerate() {
                let x = i.saturating_sub(r).min(w - 1);
                *slot = row[x];
            }
            // Tap by tap over the whole row, on flat f32 slices: a plain
            // multiply-add stream the compiler vectorises well (pixel by
            // pixel, it shuffled lanes instead).
            let out = row.as_flattened_mut();
            out.fill(0.0);
            let flat = padded.as_flattened();
            for (i, k) in kernel.iter().enumerate() {
                for (o, s) in out.iter_mut().zip(&flat[4 * i..4 * (i + w)]) {
                    *o += k * s;
                }
            }
        }
    }

    fn convolve_columns(&mut self, kernel: &[f32]) {
        let r = kernel.len() / 2;
        let h = self.height;
        self.columns_by_strips(|src, dst, sw| {
            for (y, out_row) in dst.chunks_exact_mut(sw).enumerate() {
                let out = out_row.as_flattened_mut();
                out.fill(0.0);
                // Accumulating whole strip rows keeps the access sequential.
                for (i, k) in kernel.iter().enumerate() {
                    let sy = (y + i).saturating_sub(r).min(h - 1);
                    for (o, s) in out
                        .iter_mut()
                        .zip(src[sy * sw..(sy + 1) * sw].as_flattened())
                    {
                        *o += k * s;
                    }
                }
            }
        });
    }
}

#[inline]
fn add4(acc: &mut [f32; 4], v: &[f32; 4], sign: f32) {
    for (a, x) in acc.iter_mut().zip(v) {
        *a += sign * x;
    }
}

/// Rounds a channel value to 8 bits, clamping. (`f32::round` is a libm
/// call on baseline x86-64, measurably slow in per-pixel loops.)
#[inline]
pub(crate) fn to_u8(v: f32) -> u8 {
    // `as` truncates toward zero (and maps NaN to 0): +0.5 rounds half up.
    (v.clamp(0.0, 255.0) + 0.5) as u8
}

/// Largest integer ≤ v, without a libm call (see [`to_u8`]).
#[inline]
pub(crate) fn floor_i64(v: f32) -> i64 {
    let t = v as i64;
    if (t as f32) > v {
        t - 1
    } else {
        t
    }
}

/// Straight 8-bit RGBA → premultiplied floats on the 0…255 scale.
#[inline]
pub(crate) fn premultiply(p: [u8; 4]) -> [f32; 4] {
    let k = f32::from(p[3]) / 255.0;
    [
        f32::from(p[0]) * k,
        f32::from(p[1]) * k,
        f32::from(p[2]) * k,
        f32::from(p[3]),
    ]
}

/// Premultiplied float pixel (0…255) → straight 8-bit RGBA.
pub(crate) fn unpremultiply(v: [f32; 4]) -> [u8; 4] {
    let a = to_u8(v[3]);
    if a == 0 {
        return [0, 0, 0, 0];
    }
    let k = 255.0 / v[3];
    [to_u8(v[0] * k), to_u8(v[1] * k), to_u8(v[2] * k), a]
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    fn variance(img: &RgbaImage) -> f64 {
        let n = f64::from(img.width() * img.height());
        let mean: f64 = img.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / n;
        img.pixels()
            .map(|p| (f64::from(p.0[0]) - mean).powi(2))
            .sum::<f64>()
            / n
    }

    fn checker(w: u32, h: u32, cell: u32) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| {
            if (x / cell + y / cell) % 2 == 0 {
                Rgba([255, 255, 255, 255])
            } else {
                Rgba([0, 0, 0, 255])
            }
        })
    }

    #[test]
    fn bright_moves_channels_and_keeps_alpha() {
        let mut img = RgbaImage::from_pixel(4, 4, Rgba([100, 150, 200, 77]));
        bright(&mut img, 20);
        assert_eq!(img.get_pixel(1, 1).0, [151, 201, 251, 77]);
        let mut img = RgbaImage::from_pixel(4, 4, Rgba([100, 150, 200, 255]));
        bright(&mut img, -50);
        assert_eq!(img.get_pixel(0, 0).0, [0, 22, 72, 255]);
        let before = RgbaImage::from_pixel(2, 2, Rgba([10, 20, 30, 40]));
        let mut same = before.clone();
        bright(&mut same, 0);
        assert_eq!(same, before);
    }

    #[test]
    fn contrast_is_monotonic_and_symmetric() {
        let ramp = RgbaImage::from_fn(256, 1, |x, _| Rgba([x as u8, x as u8, x as u8, 255]));
        let mut up = ramp.clone();
        contrast(&mut up, 50);
        let mut down = ramp.clone();
        contrast(&mut down, -50);
        // Monotonic, and a wider (narrower) range than the input.
        for x in 1..256 {
            assert!(up.get_pixel(x, 0).0[0] >= up.get_pixel(x - 1, 0).0[0]);
            assert!(down.get_pixel(x, 0).0[0] >= down.get_pixel(x - 1, 0).0[0]);
        }
        assert_eq!(up.get_pixel(63, 0).0[0], 0); // (63 − 127.5)·2 + 127.5 = −1.5
        assert_eq!(up.get_pixel(64, 0).0[0], 1); // 0.5 rounds up
        assert_eq!(up.get_pixel(200, 0).0[0], 255);
        assert_eq!(down.get_pixel(0, 0).0[0], 64); // −127.5/2 + 127.5 = 63.75
        assert_eq!(down.get_pixel(255, 0).0[0], 191);
        // −100 flattens to grey, +100 thresholds.
        let mut flat = ramp.clone();
        contrast(&mut flat, -100);
        assert!(flat.pixels().all(|p| p.0[0] == 128));
        let mut hard = ramp.clone();
        contrast(&mut hard, 100);
        assert_eq!(hard.get_pixel(127, 0).0[0], 0);
        assert_eq!(hard.get_pixel(128, 0).0[0], 255);
    }

    #[test]
    fn grayscale_and_flood_keep_alpha() {
        let mut img = RgbaImage::from_pixel(2, 2, Rgba([255, 0, 0, 90]));
        grayscale(&mut img);
        assert_eq!(img.get_pixel(0, 0).0, [76, 76, 76, 90]);
        flood(&mut img, Rgb(1, 2, 3));
        assert_eq!(img.get_pixel(1, 1).0, [1, 2, 3, 90]);
    }

    #[test]
    fn blur_reduces_variance_both_kinds() {
        let img = checker(64, 64, 4);
        let v0 = variance(&img);
        let mut g = img.clone();
        blur(&mut g, 0, 2.0, BlurKind::Gaussian, None);
        let mut b = img.clone();
        blur(&mut b, 3, 0.0, BlurKind::Box, None);
        assert!(
            variance(&g) < v0 * 0.3,
            "gaussian {} vs {}",
            variance(&g),
            v0
        );
        assert!(variance(&b) < v0 * 0.3, "box {} vs {}", variance(&b), v0);
        // A flat image stays flat (normalised kernel, clamped edges).
        let mut flat = RgbaImage::from_pixel(20, 10, Rgba([37, 99, 201, 255]));
        blur(&mut flat, 5, 3.0, BlurKind::Gaussian, None);
        assert!(flat.pixels().all(|p| p.0 == [37, 99, 201, 255]));
    }

    #[test]
    fn blur_region_only_touches_region() {
        let img = checker(64, 64, 2);
        let mut out = img.clone();
        let region = Rect {
            x: 10,
            y: 20,
            width: 16,
            height: 8,
        };
        blur(&mut out, 4, 2.0, BlurKind::Gaussian, Some(region));
        for (x, y, p) in out.enumerate_pixels() {
            let inside = (10..26).contains(&x) && (20..28).contains(&y);
            if !inside {
                assert_eq!(p, img.get_pixel(x, y), "({x},{y}) changed");
            }
        }
        let changed = out
            .enumerate_pixels()
            .filter(|(x, y, p)| *p != img.get_pixel(*x, *y))
            .count();
        assert!(changed > 100, "only {changed} pixels changed");
        // A region past the edge is clipped, not a panic.
        blur(
            &mut out,
            2,
            1.0,
            BlurKind::Box,
            Some(Rect {
                x: 60,
                y: 60,
                width: 100,
                height: 100,
            }),
        );
        blur(
            &mut out,
            2,
            1.0,
            BlurKind::Box,
            Some(Rect {
                x: 100,
                y: 0,
                width: 5,
                height: 5,
            }),
        );
    }

    #[test]
    fn blur_does_not_bleed_transparent_colour() {
        // Left half opaque red, right half transparent black.
        let mut img = RgbaImage::from_fn(20, 4, |x, _| {
            if x < 10 {
                Rgba([255, 0, 0, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        });
        blur(&mut img, 0, 2.0, BlurKind::Gaussian, None);
        let edge = img.get_pixel(10, 1).0;
        assert!(edge[3] > 0 && edge[3] < 255);
        assert!(edge[0] >= 254, "colour darkened: {edge:?}");
    }

    #[test]
    fn sharpen_increases_edge_contrast() {
        // A soft vertical edge from 80 to 170.
        let img = RgbaImage::from_fn(40, 8, |x, _| {
            let v = if x < 18 {
                80
            } else if x > 21 {
                170
            } else {
                80 + (x - 17) * 18
            } as u8;
            Rgba([v, v, v, 255])
        });
        let out = sharpen(&img, 1.5, 150);
        let dark = out.get_pixel(17, 4).0[0];
        let light = out.get_pixel(22, 4).0[0];
        assert!(dark < 80, "dark side {dark}");
        assert!(light > 170, "light side {light}");
        // Flat areas far from the edge are untouched, alpha kept.
        assert_eq!(out.get_pixel(2, 4).0, [80, 80, 80, 255]);
        assert_eq!(sharpen(&img, 1.0, 0), img);
    }

    fn noise(w: u32, h: u32) -> RgbaImage {
        // A deterministic pseudo-random image (LCG), alpha varying too.
        let mut state = 12345u32;
        RgbaImage::from_fn(w, h, |_, _| {
            let mut next = || {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (state >> 16) as u8
            };
            Rgba([next(), next(), next(), next().max(1)])
        })
    }

    #[test]
    fn running_box_equals_uniform_convolution() {
        // Wider than one 64-column strip of the vertical pass, and a long
        // row for the f32 running sums to drift on.
        for (w, h, r) in [(150, 23, 4usize), (3000, 3, 7)] {
            let img = noise(w, h);
            let mut fast = Planes::from_image(&img);
            fast.box_blur(r as u32);
            let mut slow = Planes::from_image(&img);
            slow.convolve(&vec![1.0 / (2 * r + 1) as f32; 2 * r + 1]);
            for (a, b) in fast.data.iter().zip(&slow.data) {
                for c in 0..4 {
                    assert!((a[c] - b[c]).abs() < 0.02, "{a:?} vs {b:?}");
                }
            }
        }
    }

    #[test]
    fn wide_gaussian_box_approximation_is_close() {
        let variance: f64 = box_radii_for_variance(100.0, 3)
            .iter()
            .map(|&r| {
                let w = f64::from(2 * r + 1);
                (w * w - 1.0) / 12.0
            })
            .sum();
        // Odd widths only: within a few percent (here 19, 19, 21 → 96.7).
        assert!((variance - 100.0).abs() < 4.0, "{variance}");
        let img = checker(96, 96, 5);
        let mut exact = Planes::from_image(&img);
        exact.convolve(&gaussian_kernel(6.0, 18));
        let mut approx = Planes::from_image(&img);
        gaussian_filter(6.0, 18).apply(&mut approx);
        assert!(matches!(gaussian_filter(6.0, 18), Filter::Boxes(_)));
        let n = exact.data.len() as f32;
        let mean_diff: f32 = exact
            .data
            .iter()
            .zip(&approx.data)
            .map(|(a, b)| (a[0] - b[0]).abs())
            .sum::<f32>()
            / n;
        assert!(mean_diff < 2.0, "mean difference {mean_diff}");
    }

    #[test]
    fn rounding_helpers() {
        assert_eq!(to_u8(-3.0), 0);
        assert_eq!(to_u8(127.5), 128);
        assert_eq!(to_u8(127.49), 127);
        assert_eq!(to_u8(254.6), 255);
        assert_eq!(to_u8(1e9), 255);
        assert_eq!(to_u8(f32::NAN), 0);
        assert_eq!(floor_i64(-0.5), -1);
        assert_eq!(floor_i64(-2.0), -2);
        assert_eq!(floor_i64(2.99), 2);
    }

    #[test]
    fn vertical_pass_is_consistent_across_strips() {
        // Rows of one colour each: after any blur all columns must agree.
        let img = RgbaImage::from_fn(200, 40, |_, y| {
            Rgba([(y * 6) as u8, 0, 255 - (y * 6) as u8, 255])
        });
        for (r, sigma, kind) in [
            (4, 2.0, BlurKind::Gaussian),
            (30, 20.0, BlurKind::Gaussian),
            (5, 0.0, BlurKind::Box),
        ] {
            let mut out = img.clone();
            blur(&mut out, r, sigma, kind, None);
            assert_ne!(out, img);
            for (x, y, p) in out.enumerate_pixels() {
                assert_eq!(
                    p,
                    out.get_pixel(0, y),
                    "column {x} differs ({kind:?} r {r})"
                );
            }
        }
    }

    /// The whole image filtered in one piece, for comparison with the banded
    /// implementation.
    fn reference(img: &RgbaImage, filter: &Filter) -> RgbaImage {
        let mut planes = Planes::from_image(img);
        filter.apply(&mut planes);
        let mut out = img.clone();
        for (p, v) in out.pixels_mut().zip(&planes.data) {
            p.0 = unpremultiply(*v);
        }
        out
    }

    fn max_diff(a: &RgbaImage, b: &RgbaImage) -> u8 {
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn bands_match_the_whole_image_filter() {
        // Tall enough for several bands of BAND_MIN_ROWS rows.
        let img = noise(40, 700);
        let mut banded = img.clone();
        blur(&mut banded, 5, 2.0, BlurKind::Gaussian, None);
        assert_eq!(
            max_diff(&banded, &reference(&img, &gaussian_filter(2.0, 5))),
            0
        );
        // Three boxes (reach 3 × r): running sums may round differently.
        let mut banded = img.clone();
        blur(&mut banded, 0, 30.0, BlurKind::Gaussian, None);
        assert!(max_diff(&banded, &reference(&img, &gaussian_filter(30.0, 90))) <= 1);
        // A region spanning bands: inside equals the full blur, outside untouched.
        let region = Rect {
            x: 7,
            y: 100,
            width: 20,
            height: 550,
        };
        let mut part = img.clone();
        blur(&mut part, 5, 2.0, BlurKind::Gaussian, Some(region));
        let full = reference(&img, &gaussian_filter(2.0, 5));
        for (x, y, p) in part.enumerate_pixels() {
            let inside = (7..27).contains(&x) && (100..650).contains(&y);
            let expected = if inside {
                full.get_pixel(x, y)
            } else {
                img.get_pixel(x, y)
            };
            assert_eq!(p, expected, "({x},{y})");
        }
        // Sharpen reads original pixels across band boundaries too.
        let sharp = sharpen(&img, 1.0, 100);
        let blurred = reference(&img, &gaussian_filter(1.0, 3));
        let mut planes = Planes::from_image(&img);
        gaussian_filter(1.0, 3).apply(&mut planes);
        for (i, (p, b)) in img.pixels().zip(&planes.data).enumerate() {
            let (x, y) = (i as u32 % 40, i as u32 / 40);
            let mut expected = p.0;
            if b[3] > 0.0 {
                for c in 0..3 {
                    let src = f32::from(p.0[c]);
                    expected[c] = to_u8(src + (src - b[c] * 255.0 / b[3]));
                }
            }
            assert_eq!(sharp.get_pixel(x, y).0, expected, "({x},{y})");
        }
        assert_ne!(blurred, img);
    }
}
