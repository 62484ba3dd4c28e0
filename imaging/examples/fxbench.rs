//! Timing of the pixel effects, shapes and watermarks on one photo (decoded
//! once, 8-bit RGBA), single-threaded, for the numbers in the engine docs.
//!
//! Usage:
//!   cargo run --release -p imgbucket-imaging --example fxbench -- [JPEG] [--width W]
//! `--width` first shrinks the photo to W px wide (a typical request
//! resizes before applying effects). Default: the corpus bridge photo.

use std::time::Instant;

use image::RgbaImage;
use imaging::fonts::FontBook;
use imaging::pipeline::*;
use imaging::{effects, shapes, watermark};

fn time<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    println!(
        "{label:<40} {:>8.1} ms",
        start.elapsed().as_secs_f64() * 1000.0
    );
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    // The corpus bridge photo, `shared/corpus` beside the repository.
    let mut path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/corpus/jpeg/bridge-4352x2448.jpg"
    )
    .to_string();
    let mut width: Option<u32> = None;
    while let Some(a) = args.next() {
        if a == "--width" {
            width = args.next().and_then(|v| v.parse().ok());
        } else {
            path = a;
        }
    }
    let mut img: RgbaImage = image::open(&path)?.to_rgba8();
    if let Some(w) = width {
        let h = (u64::from(img.height()) * u64::from(w) / u64::from(img.width())) as u32;
        img = image::imageops::thumbnail(&img, w, h.max(1));
    }
    println!("{path}: {}x{}", img.width(), img.height());

    time("bright 30", || effects::bright(&mut img.clone(), 30));
    time("contrast -40", || effects::contrast(&mut img.clone(), -40));
    time("grayscale", || effects::grayscale(&mut img.clone()));
    time("sharpen sigma 1.0, 100 %", || {
        effects::sharpen(&img, 1.0, 100)
    });
    time("blur gaussian r 5 s 2 (exact)", || {
        effects::blur(&mut img.clone(), 5, 2.0, BlurKind::Gaussian, None)
    });
    time("blur gaussian r 12 s 4 (exact)", || {
        effects::blur(&mut img.clone(), 12, 4.0, BlurKind::Gaussian, None)
    });
    time("blur gaussian r 50 s 50 (3 boxes)", || {
        effects::blur(&mut img.clone(), 50, 50.0, BlurKind::Gaussian, None)
    });
    time("blur box r 20", || {
        effects::blur(&mut img.clone(), 20, 0.0, BlurKind::Box, None)
    });
    time("circle r 1000", || {
        shapes::circle(&img, 1000, CircleBox::TwoRPlusOne)
    });
    time("rounded corners r 200", || {
        shapes::rounded_corners(&mut img.clone(), 200)
    });
    time("rotate 90", || shapes::rotate(&img, 90));
    time("rotate 45", || shapes::rotate(&img, 45));

    let fonts = time("FontBook::system (scan)", FontBook::system);
    let text = |t: &str, font| WatermarkText {
        text: t.into(),
        font,
        size: 40,
        color: Rgb(255, 255, 255),
        shadow: 50,
        rotate: 0,
    };
    let mut wm = Watermark {
        image: None,
        text: Some(text("imgbucket 图片水印", Font::WqyZenHei)),
        combine: Combine::default(),
        placement: Placement {
            gravity: Gravity::SouthEast,
            dx: 10,
            dy: 10,
            voffset: 0,
        },
        opacity: 80,
        tile: None,
    };
    time("text watermark (first, loads font)", || {
        watermark::draw(&mut img.clone(), &wm, None, &fonts)
    })?;
    time("text watermark (font cached)", || {
        watermark::draw(&mut img.clone(), &wm, None, &fonts)
    })?;
    wm.tile = Some(Tile {
        padx: 40,
        pady: 40,
        degrees: 0,
    });
    time("text watermark tiled", || {
        watermark::draw(&mut img.clone(), &wm, None, &fonts)
    })?;
    wm.tile = Some(Tile {
        padx: 40,
        pady: 40,
        degrees: 30,
    });
    time("text watermark tiled, rotated 30", || {
        watermark::draw(&mut img.clone(), &wm, None, &fonts)
    })?;
    Ok(())
}
