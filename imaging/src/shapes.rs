//! Shape operations: circle crop, rounded corners and rotation.
//!
//! "Outside" pixels (beyond the disc, the rounded corners, or the rotated
//! rectangle) are made fully transparent; the encoder flattens them onto
//! white when the output has no alpha (`docs/us3.md`, "Commands"). Shape
//! edges are antialiased over one pixel: a pixel's alpha is multiplied by
//! the fraction of it that lies inside the shape, estimated from the
//! distance between its centre and the edge.

use image::RgbaImage;

use crate::effects::{floor_i64, premultiply, to_u8, unpremultiply};
use crate::pipeline::CircleBox;

/// Keeps the disc of `radius` centred on the image; the output is the
/// square bounding it.
///
/// * `TwoRPlusOne` (Alibaba): r is clamped to `(short − 1) / 2`, the output
///   is `(2r + 1)²`, centred on the middle pixel.
/// * `TwoR` (Tencent, UCloud): r is clamped to `short / 2` (at least 1), the
///   output is `(2r)²`, centred on the image's geometric centre.
pub fn circle(img: &RgbaImage, radius: u32, bbox: CircleBox) -> RgbaImage {
    let (w, h) = img.dimensions();
    let short = w.min(h);
    if short == 0 {
        return img.clone();
    }
    let side = match bbox {
        CircleBox::TwoRPlusOne => 2 * radius.min((short - 1) / 2) + 1,
        CircleBox::TwoR => (2 * radius.clamp(1, (short / 2).max(1))).min(short),
    };
    let x0 = (w - side) / 2;
    let y0 = (h - side) / 2;
    let mut out = image::imageops::crop_imm(img, x0, y0, side, side).to_image();
    // The disc touches the four sides of the square.
    let r = side as f32 / 2.0;
    for (x, y, p) in out.enumerate_pixels_mut() {
        let dx = x as f32 + 0.5 - r;
        let dy = y as f32 + 0.5 - r;
        let cover = coverage(r - (dx * dx + dy * dy).sqrt());
        scale_alpha(&mut p.0[3], cover);
    }
    out
}

/// Rounds the four corners with `radius`, clamped to half the short side;
/// the size is unchanged.
pub fn rounded_corners(img: &mut RgbaImage, radius: u32) {
    let (w, h) = img.dimensions();
    let r = radius.min(w.min(h) / 2);
    if r == 0 {
        return;
    }
    let rf = r as f32;
    for y in 0..h {
        // Distance into the corner square, measured from the arc's centre
        // line; rows outside the top/bottom r pixels are untouched.
        let dy = if y < r {
            rf - (y as f32 + 0.5)
        } else if y >= h - r {
            (y as f32 + 0.5) - (h - r) as f32
        } else {
            continue;
        };
        for x in (0..r).chain(w - r..w) {
            let dx = if x < r {
                rf - (x as f32 + 0.5)
            } else {
                (x as f32 + 0.5) - (w - r) as f32
            };
            if dx <= 0.0 || dy <= 0.0 {
                continue;
            }
            let cover = coverage(rf - (dx * dx + dy * dy).sqrt());
            scale_alpha(&mut img.get_pixel_mut(x, y).0[3], cover);
        }
    }
}

/// Rotates clockwise by `degrees` (taken modulo 360).
///
/// Multiples of 90 are exact pixel permutations. Other angles give the
/// bounding box of the rotated rectangle (`ceil(w·|cos| + h·|sin|)` by
/// `ceil(w·|sin| + h·|cos|)`), sampled bilinearly on premultiplied alpha with
/// transparent pixels outside the source, which also antialiases the edges.
pub fn rotate(img: &RgbaImage, degrees: u32) -> RgbaImage {
    match degrees % 360 {
        0 => img.clone(),
        90 => image::imageops::rotate90(img),
        180 => image::imageops::rotate180(img),
        270 => image::imageops::rotate270(img),
        d => rotate_any(img, f64::from(d)),
    }
}

/// Output size of a rotation by `degrees` clockwise (exact for multiples of
/// 90), for callers that check limits before rotating.
pub fn rotated_size(width: u32, height: u32, degrees: u32) -> (u32, u32) {
    match degrees % 360 {
        0 | 180 => (width, height),
        90 | 270 => (height, width),
        d => {
            let (s, c) = f64::from(d).to_radians().sin_cos();
            let (w, h) = (f64::from(width), f64::from(height));
            // The epsilon keeps 100.0000001 from becoming 101.
            let nw = (w * c.abs() + h * s.abs() - 1e-6).ceil().max(1.0);
            let nh = (w * s.abs() + h * c.abs() - 1e-6).ceil().max(1.0);
            (nw as u32, nh as u32)
        }
    }
}

fn rotate_any(img: &RgbaImage, degrees: f64) -> RgbaImage {
    let (w, h) = img.dimensions();
    let (nw, nh) = rotated_size(w, h, degrees as u32);
    let (s, c) = degrees.to_radians().sin_cos();
    let (s, c) = (s as f32, c as f32);
    let (scx, scy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (dcx, dcy) = (nw as f32 / 2.0, nh as f32 / 2.0);
    let (wi, hi) = (i64::from(w), i64::from(h));
    // Source pixels are premultiplied as they are read (no float copy of
    // the whole image); outside the source is transparent.
    let at = |xi: i64, yi: i64| -> [f32; 4] {
        if xi < 0 || yi < 0 || xi >= wi || yi >= hi {
            [0.0; 4]
        } else {
            premultiply(img.get_pixel(xi as u32, yi as u32).0)
        }
    };
    let mut out = RgbaImage::new(nw, nh);
    for (x, y, p) in out.enumerate_pixels_mut() {
        let dx = x as f32 + 0.5 - dcx;
        let dy = y as f32 + 0.5 - dcy;
        // Inverse of the clockwise rotation (y axis points down), to
        // pixel-centre coordinates of the source.
        let sx = dx * c + dy * s + scx - 0.5;
        let sy = -dx * s + dy * c + scy - 0.5;
        let (x0, y0) = (floor_i64(sx), floor_i64(sy));
        if x0 < -1 || y0 < -1 || x0 >= wi || y0 >= hi {
            continue; // already transparent
        }
        p.0 = unpremultiply(bilinear(&at, sx, sy));
    }
    out
}

/// Bilinear interpolation at (x, y) in pixel-centre coordinates (`(0, 0)`
/// is the centre of the top-left pixel) of the premultiplied pixels `at`
/// gives for integer positions.
pub(crate) fn bilinear(at: &impl Fn(i64, i64) -> [f32; 4], x: f32, y: f32) -> [f32; 4] {
    let (x0, y0) = (floor_i64(x), floor_i64(y));
    let fx = x - x0 as f32;
    let fy = y - y0 as f32;
    let (p00, p10, p01, p11) = (
        at(x0, y0),
        at(x0 + 1, y0),
        at(x0, y0 + 1),
        at(x0 + 1, y0 + 1),
    );
    let mut out = [0f32; 4];
    for (c, o) in out.iter_mut().enumerate() {
        let top = p00[c] + (p10[c] - p00[c]) * fx;
        let bottom = p01[c] + (p11[c] - p01[c]) * fx;
        *o = top + (bottom - top) * fy;
    }
    out
}

/// Fraction of a pixel inside a shape whose edge is `inside` pixels away
/// from the pixel's centre (negative = outside): a 1-pixel linear ramp.
fn coverage(inside: f32) -> f32 {
    (inside + 0.5).clamp(0.0, 1.0)
}

fn scale_alpha(alpha: &mut u8, cover: f32) {
    if cover < 1.0 {
        *alpha = to_u8(f32::from(*alpha) * cover);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;

    fn opaque(w: u32, h: u32) -> RgbaImage {
        RgbaImage::from_fn(w, h, |x, y| {
            Rgba([(x % 256) as u8, (y % 256) as u8, 77, 255])
        })
    }

    #[test]
    fn circle_sizes_and_clamping() {
        let img = opaque(400, 200);
        assert_eq!(
            circle(&img, 50, CircleBox::TwoRPlusOne).dimensions(),
            (101, 101)
        );
        assert_eq!(circle(&img, 50, CircleBox::TwoR).dimensions(), (100, 100));
        // Over half the short side: Alibaba r = (200 − 1) / 2 = 99 → 199².
        assert_eq!(
            circle(&img, 100, CircleBox::TwoRPlusOne).dimensions(),
            (199, 199)
        );
        assert_eq!(circle(&img, 4096, CircleBox::TwoR).dimensions(), (200, 200));
        // Odd short side.
        let odd = opaque(31, 45);
        assert_eq!(
            circle(&odd, 100, CircleBox::TwoRPlusOne).dimensions(),
            (31, 31)
        );
        assert_eq!(circle(&odd, 100, CircleBox::TwoR).dimensions(), (30, 30));
        // Degenerate images do not panic.
        assert_eq!(
            circle(&opaque(1, 5), 3, CircleBox::TwoR).dimensions(),
            (1, 1)
        );
        assert_eq!(
            circle(&opaque(1, 5), 3, CircleBox::TwoRPlusOne).dimensions(),
            (1, 1)
        );
    }

    #[test]
    fn circle_outside_transparent_inside_opaque_and_centred() {
        let img = opaque(400, 200);
        let out = circle(&img, 50, CircleBox::TwoRPlusOne);
        assert_eq!(out.get_pixel(0, 0).0[3], 0);
        assert_eq!(out.get_pixel(100, 100).0[3], 0);
        assert_eq!(out.get_pixel(100, 0).0[3], 0);
        assert_eq!(out.get_pixel(50, 50).0[3], 255);
        // The edge midpoints are inside, and some edge pixels are partial.
        assert_eq!(out.get_pixel(0, 50).0[3], 255);
        assert!(out.pixels().any(|p| p.0[3] > 0 && p.0[3] < 255));
        // Centre pixel of the output is the source's middle pixel (199, 99).
        assert_eq!(out.get_pixel(50, 50).0, img.get_pixel(199, 99).0);
        let out = circle(&img, 50, CircleBox::TwoR);
        assert_eq!(out.get_pixel(50, 50).0, img.get_pixel(200, 100).0);
        assert_eq!(out.get_pixel(99, 99).0[3], 0);
    }

    #[test]
    fn rounded_corners_transparent_corner_opaque_centre() {
        let mut img = opaque(120, 80);
        rounded_corners(&mut img, 20);
        assert_eq!(img.dimensions(), (120, 80));
        for (x, y) in [(0, 0), (119, 0), (0, 79), (119, 79), (3, 3)] {
            assert_eq!(img.get_pixel(x, y).0[3], 0, "corner ({x},{y})");
        }
        for (x, y) in [(60, 40), (20, 0), (0, 20), (119, 40), (60, 79), (10, 10)] {
            assert_eq!(img.get_pixel(x, y).0[3], 255, "inside ({x},{y})");
        }
        // Radius clamped to half the short side: the whole short edge is an arc.
        let mut img = opaque(100, 40);
        rounded_corners(&mut img, 500);
        assert_eq!(img.get_pixel(0, 0).0[3], 0);
        // The arc is tangent to the side there: the pixel is almost all inside.
        assert!(img.get_pixel(0, 20).0[3] >= 250);
        assert!(img.get_pixel(0, 19).0[3] >= 250);
        assert_eq!(img.get_pixel(50, 0).0[3], 255);
    }

    #[test]
    fn rotate_multiples_of_90_exact() {
        let img = opaque(30, 20);
        let r90 = rotate(&img, 90);
        assert_eq!(r90.dimensions(), (20, 30));
        // Clockwise: the top-left pixel goes to the top-right corner.
        assert_eq!(r90.get_pixel(19, 0), img.get_pixel(0, 0));
        for (x, y, p) in img.enumerate_pixels() {
            assert_eq!(r90.get_pixel(20 - 1 - y, x), p);
        }
        assert_eq!(rotate(&img, 180).get_pixel(29, 19), img.get_pixel(0, 0));
        assert_eq!(rotate(&img, 270).get_pixel(0, 29), img.get_pixel(0, 0));
        assert_eq!(rotate(&img, 360), img);
        assert_eq!(rotate(&img, 450), r90);
    }

    #[test]
    fn rotate_45_canvas_and_transparent_corners() {
        let img = RgbaImage::from_pixel(100, 100, Rgba([200, 10, 10, 255]));
        let out = rotate(&img, 45);
        let (w, h) = out.dimensions();
        assert!((141..=143).contains(&w) && w == h, "{w}x{h}");
        assert_eq!(rotated_size(100, 100, 45), (w, h));
        for (x, y) in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)] {
            assert_eq!(out.get_pixel(x, y).0[3], 0);
        }
        // The centre and the middle of each side (the rotated corners) are red.
        assert_eq!(out.get_pixel(w / 2, h / 2).0, [200, 10, 10, 255]);
        assert_eq!(out.get_pixel(w / 2, 3).0[0], 200);
        // Premultiplied sampling: partial edge pixels keep the colour.
        assert!(out.pixels().filter(|p| p.0[3] > 0).all(|p| p.0[0] == 200));
    }

    #[test]
    fn rotate_30_direction_is_clockwise() {
        // A wide bar: rotated clockwise by 30°, its right end goes down.
        let img = RgbaImage::from_fn(200, 10, |x, _| {
            if x >= 190 {
                Rgba([0, 0, 255, 255])
            } else {
                Rgba([255, 255, 255, 255])
            }
        });
        let out = rotate(&img, 30);
        let (w, h) = out.dimensions();
        let blue: Vec<(u32, u32)> = out
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0[2] == 255 && p.0[0] < 50 && p.0[3] == 255)
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(!blue.is_empty());
        assert!(
            blue.iter().all(|&(x, y)| x > w / 2 && y > h / 2),
            "{blue:?}"
        );
    }
}
