//! The pixel effects, shapes and watermarks through the crate's public
//! interface (the one the executor calls), with properties that hold for
//! any image rather than hand-picked pixels.

use image::{Rgba, RgbaImage};
use imaging::effects::{self, Rect};
use imaging::fonts::FontBook;
use imaging::pipeline::*;
use imaging::{shapes, watermark};

/// A photo-like test image: smooth gradients plus deterministic noise.
fn photo(w: u32, h: u32) -> RgbaImage {
    let mut state = 0x2545_f491_u32;
    RgbaImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state % 41) as i32 - 20;
        let r = (x * 255 / w.max(1)) as i32 + n;
        let g = (y * 255 / h.max(1)) as i32 - n;
        let b = ((x + y) * 127 / (w + h).max(1)) as i32 + 64;
        Rgba([
            r.clamp(0, 255) as u8,
            g.clamp(0, 255) as u8,
            b.clamp(0, 255) as u8,
            255,
        ])
    })
}

/// Sum of squared differences between horizontal neighbours: high for
/// sharp images, low for blurred ones.
fn edge_energy(img: &RgbaImage) -> f64 {
    let mut e = 0.0;
    for y in 0..img.height() {
        for x in 1..img.width() {
            let a = f64::from(img.get_pixel(x, y).0[0]);
            let b = f64::from(img.get_pixel(x - 1, y).0[0]);
            e += (a - b) * (a - b);
        }
    }
    e
}

#[test]
fn quarter_turns_compose() {
    let img = photo(37, 23);
    let r90 = shapes::rotate(&img, 90);
    assert_eq!(shapes::rotate(&r90, 90), shapes::rotate(&img, 180));
    assert_eq!(
        shapes::rotate(&shapes::rotate(&r90, 90), 90),
        shapes::rotate(&img, 270)
    );
    assert_eq!(shapes::rotate(&shapes::rotate(&img, 270), 90), img);
    assert_eq!(shapes::rotated_size(37, 23, 90), (23, 37));
}

#[test]
fn rotating_back_restores_the_centre() {
    let img = photo(120, 80);
    let there = shapes::rotate(&img, 30);
    let back = shapes::rotate(&there, 330);
    // Back in a larger canvas: compare the source with the middle of it.
    let (ox, oy) = ((back.width() - 120) / 2, (back.height() - 80) / 2);
    let mut diff = 0u64;
    let mut n = 0u64;
    for y in 20..60 {
        for x in 30..90 {
            let a = img.get_pixel(x, y).0;
            let b = back.get_pixel(x + ox, y + oy).0;
            diff += u64::from(a[0].abs_diff(b[0])) + u64::from(a[1].abs_diff(b[1]));
            n += 2;
        }
    }
    // Two bilinear resamplings soften the noise but keep the picture.
    assert!(diff / n < 12, "mean difference {}", diff / n);
}

#[test]
fn bright_round_trip_and_contrast_keeps_order() {
    let img = RgbaImage::from_fn(64, 4, |x, _| Rgba([60 + x as u8, 100, 140, 200]));
    let mut out = img.clone();
    effects::bright(&mut out, 25);
    assert!(out
        .pixels()
        .zip(img.pixels())
        .all(|(a, b)| a.0[0] > b.0[0] && a.0[3] == b.0[3]));
    effects::bright(&mut out, -25);
    assert_eq!(out, img);

    let img = photo(50, 50);
    for v in [-70, -20, 20, 70] {
        let mut out = img.clone();
        effects::contrast(&mut out, v);
        // Monotonic: the order of values is kept.
        for c in 0..255u8 {
            assert!(contrast_of(v, c) <= contrast_of(v, c + 1), "v {v} at {c}");
        }
        // Spread around mid grey grows with v > 0 and shrinks with v < 0.
        let spread = |i: &RgbaImage| {
            i.pixels()
                .map(|p| (f64::from(p.0[0]) - 127.5).abs())
                .sum::<f64>()
        };
        if v > 0 {
            assert!(spread(&out) > spread(&img));
        } else {
            assert!(spread(&out) < spread(&img));
        }
    }
}

fn contrast_of(v: i32, c: u8) -> u8 {
    let mut one = RgbaImage::from_pixel(1, 1, Rgba([c, c, c, 255]));
    effects::contrast(&mut one, v);
    one.get_pixel(0, 0).0[0]
}

#[test]
fn blur_and_sharpen_move_edge_energy_opposite_ways() {
    let img = photo(80, 60);
    let e0 = edge_energy(&img);
    let mut blurred = img.clone();
    effects::blur(&mut blurred, 3, 1.5, BlurKind::Gaussian, None);
    assert!(edge_energy(&blurred) < e0 * 0.5);
    let sharp = effects::sharpen(&img, 1.0, 100);
    assert!(edge_energy(&sharp) > e0 * 1.5);
    // A region covering the whole image is the same as no region.
    let mut whole = img.clone();
    let all = Rect {
        x: 0,
        y: 0,
        width: 80,
        height: 60,
    };
    effects::blur(&mut whole, 3, 1.5, BlurKind::Gaussian, Some(all));
    assert_eq!(whole, blurred);
    // Wide Gaussian (box approximation) and box kinds also smooth.
    for (r, s, kind) in [
        (50, 40.0, BlurKind::Gaussian),
        (0, 30.0, BlurKind::Gaussian),
        (6, 0.0, BlurKind::Box),
    ] {
        let mut out = img.clone();
        effects::blur(&mut out, r, s, kind, None);
        assert!(edge_energy(&out) < e0 * 0.2, "{kind:?} r {r} s {s}");
    }
}

#[test]
fn grayscale_and_flood_through_public_api() {
    let mut img = photo(10, 10);
    effects::grayscale(&mut img);
    assert!(img.pixels().all(|p| p.0[0] == p.0[1] && p.0[1] == p.0[2]));
    effects::flood(&mut img, Rgb(255, 255, 255));
    assert!(img.pixels().all(|p| p.0 == [255, 255, 255, 255]));
}

#[test]
fn shapes_multiply_existing_alpha() {
    // A half-transparent image stays half-transparent inside the shapes.
    let img = RgbaImage::from_pixel(60, 40, Rgba([9, 8, 7, 128]));
    let disc = shapes::circle(&img, 15, CircleBox::TwoR);
    assert_eq!(disc.dimensions(), (30, 30));
    assert_eq!(disc.get_pixel(15, 15).0, [9, 8, 7, 128]);
    assert_eq!(disc.get_pixel(0, 0).0[3], 0);
    let mut rounded = img.clone();
    shapes::rounded_corners(&mut rounded, 10);
    assert_eq!(rounded.get_pixel(30, 20).0, [9, 8, 7, 128]);
    assert_eq!(rounded.get_pixel(0, 0).0[3], 0);
}

#[test]
fn text_mark_lands_in_every_cell() {
    let fonts = FontBook::system();
    let (w, h) = (600u32, 450u32);
    let base = RgbaImage::from_pixel(w, h, Rgba([255, 255, 255, 255]));
    let cells = [
        (Gravity::NorthWest, 0, 0),
        (Gravity::North, 1, 0),
        (Gravity::NorthEast, 2, 0),
        (Gravity::West, 0, 1),
        (Gravity::Center, 1, 1),
        (Gravity::East, 2, 1),
        (Gravity::SouthWest, 0, 2),
        (Gravity::South, 1, 2),
        (Gravity::SouthEast, 2, 2),
    ];
    for (gravity, col, row) in cells {
        let wm = Watermark {
            image: None,
            text: Some(WatermarkText {
                text: "水印 mark".into(),
                font: Font::WqyZenHei,
                size: 28,
                color: Rgb(200, 0, 0),
                shadow: 0,
                rotate: 0,
            }),
            combine: Combine::default(),
            placement: Placement {
                gravity,
                dx: 10,
                dy: 10,
                voffset: 0,
            },
            opacity: 100,
            tile: None,
        };
        let mut out = base.clone();
        watermark::draw(&mut out, &wm, None, &fonts).unwrap_or_else(|e| panic!("{e}"));
        let inked: Vec<(u32, u32)> = out
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0[1] < 200)
            .map(|(x, y, _)| (x, y))
            .collect();
        assert!(inked.len() > 100, "{gravity:?}: {} pixels", inked.len());
        for (x, y) in inked {
            assert_eq!(
                (x * 3 / w, y * 3 / h),
                (col, row),
                "{gravity:?}: ink at ({x},{y})"
            );
        }
    }
}
