//! Image and text watermarks: scaling the mark, rendering text, combining
//! image and text, placing the result in a 3×3 cell or tiling it, and
//! blending it with the requested opacity.
//!
//! Placement (Alibaba's rules, which the other dialects' parsers map onto):
//!
//! | column | x of the mark's left edge | row | y of its top edge |
//! |---|---|---|---|
//! | west | `dx` | north | `dy` |
//! | centre | `(W − w) / 2` (dx ignored) | middle | `(H − h) / 2 + voffset` (dy ignored) |
//! | east | `W − w − dx` | south | `H − h − dy` |
//!
//! W×H is the image, w×h the mark; a positive `voffset` moves the mark down
//! (image coordinates). A mark partly outside the image is clipped.
//!
//! Tiling repeats the mark every `w + padx` by `h + pady` pixels, on a grid
//! through the placed mark so that it stays where it would be untiled. With
//! `degrees` ≠ 0 (Tencent batch) the whole pattern is rotated clockwise
//! about the image centre, with one tile centred there.
//!
//! A text mark is rasterised with [`crate::fonts`] in its colour; `shadow`
//! adds a black copy, offset `max(1, size / 20)` px right and down, at that
//! opacity; `rotate` turns the text block clockwise. An image and a text are
//! laid side by side (`order`), aligned on their top, centre or bottom, with
//! `interval` pixels between them, and placed as one block.

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{Rgba, RgbaImage};

use crate::effects::{premultiply, to_u8};
use crate::error::{Error, Result};
use crate::fonts::FontBook;
use crate::pipeline::{
    Align, Combine, Gravity, Oversize, Placement, Tile, Watermark, WatermarkImage, WatermarkScale,
    WatermarkText,
};
use crate::shapes::{self, bilinear};

/// Draws `wm` onto `base`. `mark` is the watermark image, already decoded
/// and preprocessed by the executor; it is required when `wm.image` is set.
pub fn draw(
    base: &mut RgbaImage,
    wm: &Watermark,
    mark: Option<RgbaImage>,
    fonts: &FontBook,
) -> Result<()> {
    let (bw, bh) = base.dimensions();
    let image_part = match (&wm.image, mark) {
        (Some(spec), Some(img)) => Some(prepare_image(&img, spec, bw, bh)?),
        (Some(spec), None) => {
            return Err(Error::Watermark(format!(
                "the watermark image {:?} is missing",
                spec.key
            )));
        }
        // Nothing asked for an image: an image passed anyway is ignored.
        (None, _) => None,
    };
    let text_part = wm
        .text
        .as_ref()
        .map(|t| render_text(t, fonts))
        .transpose()?;
    let block = match (image_part, text_part) {
        (Some(i), Some(t)) => combine(&i, &t, &wm.combine),
        (Some(i), None) => i,
        (None, Some(t)) => t,
        (None, None) => {
            return Err(Error::Watermark(
                "a watermark needs an image or a text".into(),
            ))
        }
    };
    if wm.opacity == 0 || bw == 0 || bh == 0 || block.width() == 0 || block.height() == 0 {
        return Ok(());
    }
    let opacity = f32::from(wm.opacity.min(100)) / 100.0;
    let (x, y) = origin((bw, bh), block.dimensions(), &wm.placement);
    match &wm.tile {
        None => composite(base, &block, x, y, opacity),
        Some(tile) if tile.degrees % 360 == 0 => tile_straight(base, &block, (x, y), tile, opacity),
        Some(tile) => tile_rotated(base, &block, tile, opacity),
    }
    Ok(())
}

/// Top-left corner of a `mark`-sized block placed on a `base`-sized image
/// (see the module doc for the rules).
pub fn origin(base: (u32, u32), mark: (u32, u32), p: &Placement) -> (i64, i64) {
    let (bw, bh) = (i64::from(base.0), i64::from(base.1));
    let (w, h) = (i64::from(mark.0), i64::from(mark.1));
    let (dx, dy, voffset) = (i64::from(p.dx), i64::from(p.dy), i64::from(p.voffset));
    use Gravity::*;
    let x = match p.gravity {
        NorthWest | West | SouthWest => dx,
        North | Center | South => (bw - w).div_euclid(2),
        NorthEast | East | SouthEast => bw - w - dx,
    };
    let y = match p.gravity {
        NorthWest | North | NorthEast => dy,
        West | Center | East => (bh - h).div_euclid(2) + voffset,
        SouthWest | South | SouthEast => bh - h - dy,
    };
    (x, y)
}

/// Size of the mark after its scale rule, before the oversize rule.
pub fn scaled_size(
    mark: (u32, u32),
    base: (u32, u32),
    scale: Option<WatermarkScale>,
) -> (u32, u32) {
    let (w, h) = (f64::from(mark.0.max(1)), f64::from(mark.1.max(1)));
    let (bw, bh) = (f64::from(base.0), f64::from(base.1));
    let factor = match scale {
        None => return mark,
        Some(WatermarkScale::PercentOfWidth(p)) => bw * f64::from(p) / 100.0 / w,
        Some(WatermarkScale::PermilleOfWidth(p)) => bw * f64::from(p) / 1000.0 / w,
        Some(WatermarkScale::PermilleOfHeight(p)) => bh * f64::from(p) / 1000.0 / h,
        Some(WatermarkScale::PermilleOfArea(p)) => {
            (bw * bh * f64::from(p) / 1000.0 / (w * h)).sqrt()
        }
    };
    scale_dims(mark, factor)
}

fn scale_dims(size: (u32, u32), factor: f64) -> (u32, u32) {
    let s = |v: u32| {
        (f64::from(v) * factor)
            .round()
            .clamp(1.0, f64::from(u32::MAX)) as u32
    };
    (s(size.0), s(size.1))
}

/// Applies the scale and oversize rules to the decoded watermark image.
fn prepare_image(img: &RgbaImage, spec: &WatermarkImage, bw: u32, bh: u32) -> Result<RgbaImage> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return Err(Error::Watermark(format!(
            "the watermark image {:?} is empty",
            spec.key
        )));
    }
    let (mut tw, mut th) = scaled_size((w, h), (bw, bh), spec.scale);
    if tw <= bw && th <= bh {
        return resize(img, tw, th, (0.0, 0.0, f64::from(w), f64::from(h)));
    }
    match spec.oversize {
        Oversize::Shrink => {
            let f = (f64::from(bw) / f64::from(tw)).min(f64::from(bh) / f64::from(th));
            (tw, th) = scale_dims((tw, th), f);
            resize(
                img,
                tw.min(bw),
                th.min(bh),
                (0.0, 0.0, f64::from(w), f64::from(h)),
            )
        }
        Oversize::Crop => {
            // Keep the top-left part that fits; scale only that part of
            // the source so a huge scale factor never allocates a huge image.
            let (cw, ch) = (tw.min(bw), th.min(bh));
            let src_w = f64::from(w) * f64::from(cw) / f64::from(tw);
            let src_h = f64::from(h) * f64::from(ch) / f64::from(th);
            resize(img, cw, ch, (0.0, 0.0, src_w, src_h))
        }
    }
}

/// Resizes the `crop` (left, top, width, height) of `img` to `w`×`h`
/// (alpha-aware Lanczos3); no-op copy when nothing changes.
fn resize(img: &RgbaImage, w: u32, h: u32, crop: (f64, f64, f64, f64)) -> Result<RgbaImage> {
    let (w, h) = (w.max(1), h.max(1));
    let full = crop == (0.0, 0.0, f64::from(img.width()), f64::from(img.height()));
    if full && (w, h) == img.dimensions() {
        return Ok(img.clone());
    }
    let mut dst = RgbaImage::new(w, h);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(crop.0, crop.1, crop.2, crop.3);
    Resizer::new()
        .resize(img, &mut dst, &options)
        .map_err(|e| Error::Watermark(format!("cannot scale the watermark image: {e}")))?;
    Ok(dst)
}

/// Renders a text mark: colour, shadow and rotation applied.
pub fn render_text(t: &WatermarkText, fonts: &FontBook) -> Result<RgbaImage> {
    let chain = fonts.resolve(t.font)?;
    let cov = chain.render(&t.text, t.size)?;
    let off = if t.shadow > 0 {
        (t.size / 20).max(1)
    } else {
        0
    };
    let mut img = RgbaImage::new(cov.width + off, cov.height + off);
    if off > 0 {
        let k = f32::from(t.shadow.min(100)) / 100.0;
        for y in 0..cov.height {
            for x in 0..cov.width {
                let a = (f32::from(cov.get(x, y)) * k).round() as u8;
                if a > 0 {
                    img.put_pixel(x + off, y + off, Rgba([0, 0, 0, a]));
                }
            }
        }
    }
    let color = t.color;
    for y in 0..cov.height {
        for x in 0..cov.width {
            let a = cov.get(x, y);
            if a > 0 {
                let premul = premultiply([color.0, color.1, color.2, a]);
                blend(img.get_pixel_mut(x, y), premul, 1.0);
            }
        }
    }
    if t.rotate % 360 != 0 {
        img = shapes::rotate(&img, t.rotate);
    }
    Ok(img)
}

/// Lays an image mark and a text mark side by side as one block.
fn combine(image: &RgbaImage, text: &RgbaImage, c: &Combine) -> RgbaImage {
    let (first, second) = if c.text_first {
        (text, image)
    } else {
        (image, text)
    };
    let gap = c.interval;
    let width = first
        .width()
        .saturating_add(gap)
        .saturating_add(second.width());
    let height = first.height().max(second.height());
    let mut out = RgbaImage::new(width, height);
    let top = |h: u32| -> i64 {
        i64::from(match c.align {
            Align::Top => 0,
            Align::Center => (height - h) / 2,
            Align::Bottom => height - h,
        })
    };
    composite(&mut out, first, 0, top(first.height()), 1.0);
    composite(
        &mut out,
        second,
        i64::from(first.width() + gap),
        top(second.height()),
        1.0,
    );
    out
}

/// Blends `mark` over `base` with its top-left corner at (x, y), clipped.
fn composite(base: &mut RgbaImage, mark: &RgbaImage, x: i64, y: i64, opacity: f32) {
    let (bw, bh) = (i64::from(base.width()), i64::from(base.height()));
    let (mw, mh) = (i64::from(mark.width()), i64::from(mark.height()));
    let (x0, y0) = (x.max(0), y.max(0));
    let (x1, y1) = ((x + mw).min(bw), (y + mh).min(bh));
    for by in y0..y1 {
        for bx in x0..x1 {
            let src = mark.get_pixel((bx - x) as u32, (by - y) as u32).0;
            if src[3] > 0 {
                blend(
                    base.get_pixel_mut(bx as u32, by as u32),
                    premultiply(src),
                    opacity,
                );
            }
        }
    }
}

/// Repeats the block on the grid through (x, y).
fn tile_straight(
    base: &mut RgbaImage,
    block: &RgbaImage,
    (x, y): (i64, i64),
    tile: &Tile,
    opacity: f32,
) {
    let step_x = i64::from(block.width()) + i64::from(tile.padx);
    let step_y = i64::from(block.height()) + i64::from(tile.pady);
    let (bw, bh) = (i64::from(base.width()), i64::from(base.height()));
    // First column/row at or left of/above 0 that is on the grid.
    let start_x = x.rem_euclid(step_x) - step_x;
    let start_y = y.rem_euclid(step_y) - step_y;
    let mut ty = start_y;
    while ty < bh {
        let mut tx = start_x;
        while tx < bw {
            composite(base, block, tx, ty, opacity);
            tx += step_x;
        }
        ty += step_y;
    }
}

/// Covers the image with the tiled pattern rotated clockwise by
/// `tile.degrees` about the image centre, sampling the pattern bilinearly
/// (periodically, so tiles that touch show no seam).
fn tile_rotated(base: &mut RgbaImage, block: &RgbaImage, tile: &Tile, opacity: f32) {
    let (w, h) = (i64::from(block.width()), i64::from(block.height()));
    let step_x = w + i64::from(tile.padx);
    let step_y = h + i64::from(tile.pady);
    let (s, c) = f64::from(tile.degrees % 360).to_radians().sin_cos();
    let (s, c) = (s as f32, c as f32);
    let (cx, cy) = (base.width() as f32 / 2.0, base.height() as f32 / 2.0);
    // Pattern pixel (i, j), wrapped onto the tile grid; padding is transparent.
    let at = |i: i64, j: i64| -> [f32; 4] {
        let (ti, tj) = (i.rem_euclid(step_x), j.rem_euclid(step_y));
        if ti < w && tj < h {
            premultiply(block.get_pixel(ti as u32, tj as u32).0)
        } else {
            [0.0; 4]
        }
    };
    for (x, y, px) in base.enumerate_pixels_mut() {
        let dx = x as f32 + 0.5 - cx;
        let dy = y as f32 + 0.5 - cy;
        // Inverse rotation into pattern space, where a tile is centred on
        // the origin; then to pixel-centre coordinates of the pattern.
        let u = dx * c + dy * s + w as f32 / 2.0 - 0.5;
        let v = -dx * s + dy * c + h as f32 / 2.0 - 0.5;
        let sample = bilinear(&at, u, v);
        if sample[3] > 0.0 {
            blend(px, sample, opacity);
        }
    }
}

/// Porter-Duff "over": the premultiplied `src`, faded by `opacity`, over
/// the straight-alpha `dst`.
fn blend(dst: &mut Rgba<u8>, src: [f32; 4], opacity: f32) {
    let sa = (src[3] / 255.0 * opacity).clamp(0.0, 1.0);
    if sa <= 0.0 {
        return;
    }
    let da = f32::from(dst.0[3]) / 255.0;
    let keep = da * (1.0 - sa);
    let oa = sa + keep;
    for (d, s) in dst.0[..3].iter_mut().zip(&src[..3]) {
        let v = (s * opacity + f32::from(*d) * keep) / oa;
        *d = to_u8(v);
    }
    dst.0[3] = to_u8(oa * 255.0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Font, Rgb};

    const WHITE: Rgba<u8> = Rgba([255, 255, 255, 255]);
    const RED: Rgba<u8> = Rgba([255, 0, 0, 255]);

    fn placement(gravity: Gravity, dx: i32, dy: i32, voffset: i32) -> Placement {
        Placement {
            gravity,
            dx,
            dy,
            voffset,
        }
    }

    fn image_wm(placement: Placement) -> Watermark {
        Watermark {
            image: Some(WatermarkImage {
                key: "mark.png".into(),
                preprocess: Vec::new(),
                scale: None,
                oversize: Oversize::Shrink,
            }),
            text: None,
            combine: Combine::default(),
            placement,
            opacity: 100,
            tile: None,
        }
    }

    fn text_wm(text: &str, font: Font, size: u32) -> Watermark {
        Watermark {
            image: None,
            text: Some(WatermarkText {
                text: text.into(),
                font,
                size,
                color: Rgb(0, 0, 0),
                shadow: 0,
                rotate: 0,
            }),
            combine: Combine::default(),
            placement: placement(Gravity::SouthEast, 10, 10, 0),
            opacity: 100,
            tile: None,
        }
    }

    /// Bounding box (x0, y0, x1, y1), exclusive, of the pixels that differ.
    fn changed_box(before: &RgbaImage, after: &RgbaImage) -> Option<(u32, u32, u32, u32)> {
        let mut bbox: Option<(u32, u32, u32, u32)> = None;
        for (x, y, p) in after.enumerate_pixels() {
            if p != before.get_pixel(x, y) {
                bbox = Some(match bbox {
                    None => (x, y, x + 1, y + 1),
                    Some((a, b, c, d)) => (a.min(x), b.min(y), c.max(x + 1), d.max(y + 1)),
                });
            }
        }
        bbox
    }

    fn ok<T>(r: Result<T>) -> T {
        r.unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn image_mark_lands_in_each_gravity_cell() {
        let base = RgbaImage::from_pixel(300, 200, WHITE);
        let mark = RgbaImage::from_pixel(20, 10, RED);
        let fonts = FontBook::new(&[]);
        let cases = [
            (Gravity::NorthWest, 10, 10),
            (Gravity::North, 140, 10),
            (Gravity::NorthEast, 270, 10),
            (Gravity::West, 10, 95),
            (Gravity::Center, 140, 95),
            (Gravity::East, 270, 95),
            (Gravity::SouthWest, 10, 180),
            (Gravity::South, 140, 180),
            (Gravity::SouthEast, 270, 180),
        ];
        for (g, x, y) in cases {
            let mut out = base.clone();
            ok(draw(
                &mut out,
                &image_wm(placement(g, 10, 10, 0)),
                Some(mark.clone()),
                &fonts,
            ));
            assert_eq!(
                changed_box(&base, &out),
                Some((x, y, x + 20, y + 10)),
                "{g:?}"
            );
            assert_eq!(*out.get_pixel(x, y), RED);
        }
        // voffset shifts the middle row only (positive = down).
        let mut out = base.clone();
        ok(draw(
            &mut out,
            &image_wm(placement(Gravity::West, 10, 10, 20)),
            Some(mark.clone()),
            &fonts,
        ));
        assert_eq!(changed_box(&base, &out), Some((10, 115, 30, 125)));
        let mut out = base.clone();
        ok(draw(
            &mut out,
            &image_wm(placement(Gravity::North, 5, 0, 20)),
            Some(mark.clone()),
            &fonts,
        ));
        assert_eq!(changed_box(&base, &out), Some((140, 0, 160, 10)));
        // Partly outside: clipped, no panic.
        let mut out = base.clone();
        ok(draw(
            &mut out,
            &image_wm(placement(Gravity::NorthWest, -15, -5, 0)),
            Some(mark),
            &fonts,
        ));
        assert_eq!(changed_box(&base, &out), Some((0, 0, 5, 5)));
    }

    #[test]
    fn opacity_blends() {
        let base = RgbaImage::from_pixel(50, 50, WHITE);
        let mark = RgbaImage::from_pixel(10, 10, RED);
        let mut wm = image_wm(placement(Gravity::NorthWest, 0, 0, 0));
        wm.opacity = 50;
        let mut out = base.clone();
        ok(draw(&mut out, &wm, Some(mark.clone()), &FontBook::new(&[])));
        assert_eq!(out.get_pixel(5, 5).0, [255, 128, 128, 255]);
        // On a transparent base the mark keeps its own (faded) alpha.
        let mut clear = RgbaImage::new(50, 50);
        ok(draw(
            &mut clear,
            &wm,
            Some(mark.clone()),
            &FontBook::new(&[]),
        ));
        assert_eq!(clear.get_pixel(5, 5).0, [255, 0, 0, 128]);
        // Opacity 0 draws nothing.
        wm.opacity = 0;
        let mut out = base.clone();
        ok(draw(&mut out, &wm, Some(mark), &FontBook::new(&[])));
        assert_eq!(out, base);
    }

    #[test]
    fn tiling_covers_the_image() {
        let base = RgbaImage::from_pixel(200, 150, WHITE);
        let mark = RgbaImage::from_pixel(10, 10, RED);
        let mut wm = image_wm(placement(Gravity::SouthEast, 10, 10, 0));
        wm.tile = Some(Tile {
            padx: 10,
            pady: 10,
            degrees: 0,
        });
        let mut out = base.clone();
        ok(draw(&mut out, &wm, Some(mark.clone()), &FontBook::new(&[])));
        let red = out.pixels().filter(|p| **p == RED).count();
        // Grid through (180, 130): columns at 0, 20…180, rows at 10, 30…130.
        assert_eq!(red, (10 * 10) * (10 * 7));
        // Every 20×20 cell holds a mark, and the placed one is still there.
        assert_eq!(*out.get_pixel(180, 130), RED);
        assert_eq!(*out.get_pixel(0, 10), RED);
        assert_eq!(*out.get_pixel(10, 10), WHITE);
        // No padding: everything is covered.
        wm.tile = Some(Tile {
            padx: 0,
            pady: 0,
            degrees: 0,
        });
        let mut out = base.clone();
        ok(draw(&mut out, &wm, Some(mark.clone()), &FontBook::new(&[])));
        assert!(out.pixels().all(|p| *p == RED));
        // Rotated pattern: about a quarter of the area, spread everywhere.
        wm.tile = Some(Tile {
            padx: 10,
            pady: 10,
            degrees: 45,
        });
        let mut out = base.clone();
        ok(draw(&mut out, &wm, Some(mark.clone()), &FontBook::new(&[])));
        let inked = out.pixels().filter(|p| p.0[1] < 128).count() as f64 / (200.0 * 150.0);
        assert!((0.2..0.3).contains(&inked), "{inked}");
        for cy in 0..5 {
            for cx in 0..6 {
                let any = (0..30)
                    .any(|y| (0..30).any(|x| out.get_pixel(cx * 30 + x, cy * 30 + y).0[1] < 128));
                assert!(any, "cell {cx},{cy} empty");
            }
        }
        // Rotated without padding: seamless full cover.
        wm.tile = Some(Tile {
            padx: 0,
            pady: 0,
            degrees: 30,
        });
        let mut out = base.clone();
        ok(draw(&mut out, &wm, Some(mark), &FontBook::new(&[])));
        assert!(out.pixels().all(|p| *p == RED));
    }

    #[test]
    fn scale_rules() {
        assert_eq!(
            scaled_size(
                (40, 20),
                (400, 300),
                Some(WatermarkScale::PercentOfWidth(25))
            ),
            (100, 50)
        );
        assert_eq!(
            scaled_size(
                (40, 20),
                (400, 300),
                Some(WatermarkScale::PermilleOfWidth(100))
            ),
            (40, 20)
        );
        assert_eq!(
            scaled_size(
                (40, 20),
                (400, 300),
                Some(WatermarkScale::PermilleOfHeight(500))
            ),
            (300, 150)
        );
        // 25 % of 120 000 px = 30 000 px at 2:1 → 245 × 122.
        assert_eq!(
            scaled_size(
                (40, 20),
                (400, 300),
                Some(WatermarkScale::PermilleOfArea(250))
            ),
            (245, 122)
        );
        assert_eq!(scaled_size((40, 20), (400, 300), None), (40, 20));
        // Alibaba's example: P_10 on 100×100 gives a 10×10 mark.
        assert_eq!(
            scaled_size(
                (64, 64),
                (100, 100),
                Some(WatermarkScale::PercentOfWidth(10))
            ),
            (10, 10)
        );

        let base = RgbaImage::from_pixel(400, 300, WHITE);
        let mark = RgbaImage::from_pixel(40, 20, RED);
        let mut wm = image_wm(placement(Gravity::NorthWest, 0, 0, 0));
        if let Some(img) = wm.image.as_mut() {
            img.scale = Some(WatermarkScale::PercentOfWidth(25));
        }
        let mut out = base.clone();
        ok(draw(&mut out, &wm, Some(mark), &FontBook::new(&[])));
        assert_eq!(changed_box(&base, &out), Some((0, 0, 100, 50)));
        assert_eq!(*out.get_pixel(50, 25), RED);
    }

    #[test]
    fn oversize_shrinks_or_crops() {
        let base = RgbaImage::from_pixel(400, 300, WHITE);
        // Left half red, right half blue.
        let mark = RgbaImage::from_fn(
            800,
            100,
            |x, _| if x < 400 { RED } else { Rgba([0, 0, 255, 255]) },
        );
        let mut wm = image_wm(placement(Gravity::NorthWest, 0, 0, 0));
        let mut out = base.clone();
        ok(draw(&mut out, &wm, Some(mark.clone()), &FontBook::new(&[])));
        assert_eq!(changed_box(&base, &out), Some((0, 0, 400, 50)));
        assert_eq!(out.get_pixel(390, 25).0[2], 255);
        if let Some(img) = wm.image.as_mut() {
            img.oversize = Oversize::Crop;
        }
        let mut out = base.clone();
        ok(draw(&mut out, &wm, Some(mark.clone()), &FontBook::new(&[])));
        assert_eq!(changed_box(&base, &out), Some((0, 0, 400, 100)));
        assert_eq!(*out.get_pixel(390, 50), RED);
        // A huge scale with crop only scales the visible part.
        if let Some(img) = wm.image.as_mut() {
            img.scale = Some(WatermarkScale::PermilleOfHeight(1000));
        }
        let mut out = base.clone();
        ok(draw(&mut out, &wm, Some(mark), &FontBook::new(&[])));
        assert_eq!(changed_box(&base, &out), Some((0, 0, 400, 300)));
        assert_eq!(*out.get_pixel(200, 150), RED);
    }

    #[test]
    fn text_mark_in_south_east_corner_only() {
        let fonts = FontBook::system();
        let base = RgbaImage::from_pixel(400, 300, WHITE);
        let mut out = base.clone();
        ok(draw(
            &mut out,
            &text_wm("imgbucket", Font::Tahoma, 30),
            None,
            &fonts,
        ));
        let (x0, y0, x1, y1) = changed_box(&base, &out).unwrap_or_else(|| panic!("no ink"));
        assert!(x0 >= 200 && y0 >= 240, "{x0},{y0}");
        assert!(x1 <= 390 && y1 <= 290, "{x1},{y1}");
        // The block's box ends at the margin; the ink comes close to it.
        assert!(x1 >= 380 && y1 >= 280, "{x1},{y1}");
        assert!(out.pixels().any(|p| p.0[..3] == [0, 0, 0]));
    }

    #[test]
    fn cjk_text_mark_draws_ink() {
        let fonts = FontBook::system();
        let base = RgbaImage::from_pixel(300, 100, WHITE);
        let mut wm = text_wm("图片水印", Font::WqyZenHei, 40);
        wm.placement = placement(Gravity::Center, 0, 0, 0);
        if let Some(t) = wm.text.as_mut() {
            t.color = Rgb(0, 0, 255);
        }
        let mut out = base.clone();
        ok(draw(&mut out, &wm, None, &fonts));
        let inked = out.pixels().filter(|p| p.0[0] < 128).count();
        assert!(inked > 400, "{inked}");
        let (x0, _, x1, _) = changed_box(&base, &out).unwrap_or_else(|| panic!("no ink"));
        // ~160 px wide block, centred.
        assert!(
            (60..=80).contains(&x0) && (220..=240).contains(&x1),
            "{x0}..{x1}"
        );
    }

    #[test]
    fn shadow_and_rotation_of_text() {
        let fonts = FontBook::system();
        let mut t = WatermarkText {
            text: "Shadow".into(),
            font: Font::Arial,
            size: 40,
            color: Rgb(255, 255, 255),
            shadow: 0,
            rotate: 0,
        };
        let plain = ok(render_text(&t, &fonts));
        t.shadow = 80;
        let shadowed = ok(render_text(&t, &fonts));
        assert_eq!(shadowed.width(), plain.width() + 2);
        let dark = |img: &RgbaImage| img.pixels().filter(|p| p.0[3] > 0 && p.0[0] < 100).count();
        assert_eq!(dark(&plain), 0);
        assert!(dark(&shadowed) > 50);
        t.shadow = 0;
        t.rotate = 90;
        let turned = ok(render_text(&t, &fonts));
        assert_eq!(turned.dimensions(), (plain.height(), plain.width()));
    }

    #[test]
    fn image_and_text_combined() {
        let fonts = FontBook::system();
        let base = RgbaImage::from_pixel(400, 200, WHITE);
        let mark = RgbaImage::from_pixel(30, 60, RED);
        let mut wm = image_wm(placement(Gravity::NorthWest, 0, 0, 0));
        wm.text = text_wm("ABC", Font::Tahoma, 30).text;
        wm.combine = Combine {
            text_first: false,
            align: Align::Bottom,
            interval: 7,
        };
        let mut out = base.clone();
        ok(draw(&mut out, &wm, Some(mark.clone()), &fonts));
        let black_xs: Vec<u32> = out
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [0, 0, 0, 255])
            .map(|(x, _, _)| x)
            .collect();
        assert!(!black_xs.is_empty());
        assert_eq!(*out.get_pixel(0, 0), RED);
        assert!(black_xs.iter().all(|&x| x >= 37), "text overlaps the gap");
        // Bottom alignment: the text's ink is in the lower half of the 60 px block.
        let black_ys: Vec<u32> = out
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [0, 0, 0, 255])
            .map(|(_, y, _)| y)
            .collect();
        assert!(black_ys.iter().all(|y| (20..60).contains(y)));
        // Text first: the image moves right of the text.
        wm.combine.text_first = true;
        let mut out = base.clone();
        ok(draw(&mut out, &wm, Some(mark), &fonts));
        assert_ne!(*out.get_pixel(0, 0), RED);
        let red_x0 = out
            .enumerate_pixels()
            .filter(|(_, _, p)| **p == RED)
            .map(|(x, _, _)| x)
            .min();
        assert!(red_x0.is_some_and(|x| x > 40));
    }

    #[test]
    fn errors_are_watermark_errors() {
        let fonts = FontBook::new(&[]);
        let mut base = RgbaImage::from_pixel(10, 10, WHITE);
        let wm = image_wm(placement(Gravity::Center, 0, 0, 0));
        assert!(matches!(
            draw(&mut base, &wm, None, &fonts),
            Err(Error::Watermark(_))
        ));
        let mut empty = wm.clone();
        empty.image = None;
        assert!(matches!(
            draw(&mut base, &empty, None, &fonts),
            Err(Error::Watermark(_))
        ));
        // A text with no font installed at all.
        let t = text_wm("x", Font::Arial, 10);
        assert!(matches!(
            draw(&mut base, &t, None, &fonts),
            Err(Error::Watermark(_))
        ));
        assert_eq!(base, RgbaImage::from_pixel(10, 10, WHITE));
    }
}
