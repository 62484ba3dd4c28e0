//! Bytes and quality benchmark: imgbucket's encoders against libvips, same
//! files, same sizes, same run (docs/image-benchmark.md, "Bytes per image").
//!
//! For each JPEG of the corpus, each width (300 and 1200 px) and each output
//! (JPEG q80 and q90, WebP q80, AVIF at each side's default quality), both
//! engines make the thumbnail with metadata stripped. Each output is decoded
//! again and compared with a reference: the full-size decode of the source,
//! auto-oriented, resized with Lanczos3 to the output's size. The score is
//! SSIM on luma (BT.601), Gaussian window 11, sigma 1.5 (Wang et al. 2004).
//! The same SSIM on the two chroma planes (Cb, Cr) is printed beside it, as
//! a guard: luma SSIM cannot see chroma, so an encoder could buy luma bytes
//! with colour and still score "equal".
//!
//! libvips runs through `bench/vips_bytes.py` (pyvips), which writes each
//! output to a file this program reads back.
//!
//! Usage:
//!   cargo run --release -p imgbucket-imaging --example bytesbench -- \
//!       [--corpus DIR] [--python PATH] [--script PATH] [--widths 300,1200] \
//!       [--outputs jpeg80,jpeg90,webp80,avif,jpeg80p,jpeg80a,jpeg80t,jpeg80at] [--files N]
//! Without `--python`, only imgbucket is measured. `jpeg80p` is a
//! progressive JPEG at q80, `jpeg80a` the smaller of baseline and
//! progressive (`jpeg_progressive: auto`), `jpeg80t` and `jpeg80at` the
//! same two with trellis quantisation (`jpeg_trellis`); libvips' rows for
//! all of them are its baseline q80.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use fast_image_resize as fr;
use image::{DynamicImage, ImageDecoder, ImageReader};
use imaging::{
    Assets, Engine, Enlarge, Format, FormatRequest, Geometry, Limits, MetadataPolicy, Op, Output,
    OutputOptions, Pipeline, Quality, Resize,
};

/// One output kind of the benchmark.
#[derive(Clone, Copy)]
struct Kind {
    name: &'static str,
    format: Format,
    /// `None`: the encoder's default (AVIF).
    quality: Option<u8>,
    progressive: bool,
    /// Baseline or progressive, whichever is smaller (`jpeg_progressive: auto`).
    auto: bool,
    /// Trellis quantisation (`jpeg_trellis`).
    trellis: bool,
}

const KINDS: &[Kind] = &[
    Kind {
        name: "jpeg80",
        format: Format::Jpeg,
        quality: Some(80),
        progressive: false,
        auto: false,
        trellis: false,
    },
    Kind {
        name: "jpeg90",
        format: Format::Jpeg,
        quality: Some(90),
        progressive: false,
        auto: false,
        trellis: false,
    },
    Kind {
        name: "jpeg80p",
        format: Format::Jpeg,
        quality: Some(80),
        progressive: true,
        auto: false,
        trellis: false,
    },
    Kind {
        name: "jpeg80a",
        format: Format::Jpeg,
        quality: Some(80),
        progressive: false,
        auto: true,
        trellis: false,
    },
    Kind {
        name: "jpeg80t",
        format: Format::Jpeg,
        quality: Some(80),
        progressive: false,
        auto: false,
        trellis: true,
    },
    Kind {
        name: "jpeg80at",
        format: Format::Jpeg,
        quality: Some(80),
        progressive: false,
        auto: true,
        trellis: true,
    },
    Kind {
        name: "webp80",
        format: Format::Webp,
        quality: Some(80),
        progressive: false,
        auto: false,
        trellis: false,
    },
    Kind {
        name: "avif",
        format: Format::Avif,
        quality: None,
        progressive: false,
        auto: false,
        trellis: false,
    },
];

struct Args {
    corpus: PathBuf,
    python: Option<PathBuf>,
    script: PathBuf,
    widths: Vec<u32>,
    kinds: Vec<Kind>,
    files: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        corpus: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/jpeg"),
        python: None,
        script: PathBuf::from("bench/vips_bytes.py"),
        widths: vec![300, 1200],
        kinds: KINDS
            .iter()
            .copied()
            .filter(|k| !matches!(k.name, "jpeg80p" | "jpeg80a" | "jpeg80t" | "jpeg80at"))
            .collect(),
        files: usize::MAX,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--corpus" => a.corpus = PathBuf::from(v),
            "--python" => a.python = Some(PathBuf::from(v)),
            "--script" => a.script = PathBuf::from(v),
            "--files" => a.files = v.parse().unwrap_or(usize::MAX),
            "--widths" => a.widths = v.split(',').filter_map(|w| w.parse().ok()).collect(),
            "--outputs" => {
                a.kinds = v
                    .split(',')
                    .filter_map(|n| KINDS.iter().find(|k| k.name == n).copied())
                    .collect()
            }
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

/// The Y, Cb and Cr planes (BT.601, full range, as JPEG's) of an RGB
/// image, as f32.
fn planes(img: &image::RgbImage) -> [Vec<f32>; 3] {
    let n = img.pixels().len();
    let mut out = [
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    ];
    for p in img.pixels() {
        let (r, g, b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
        out[0].push(0.299 * r + 0.587 * g + 0.114 * b);
        out[1].push(128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b);
        out[2].push(128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b);
    }
    out
}

/// Separable Gaussian blur (11 taps, sigma 1.5), keeping only the positions
/// where the whole window fits ("valid"), as the reference SSIM does.
fn blur_valid(src: &[f32], w: usize, h: usize) -> (Vec<f32>, usize, usize) {
    const R: usize = 5;
    let k: Vec<f32> = (0..=2 * R)
        .map(|i| {
            let x = i as f32 - R as f32;
            (-(x * x) / (2.0 * 1.5 * 1.5)).exp()
        })
        .collect();
    let sum: f32 = k.iter().sum();
    let k: Vec<f32> = k.iter().map(|v| v / sum).collect();
    let (ow, oh) = (w - 2 * R, h - 2 * R);
    let mut tmp = vec![0f32; ow * h];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        for x in 0..ow {
            tmp[y * ow + x] = k
                .iter()
                .zip(&row[x..x + 2 * R + 1])
                .map(|(a, b)| a * b)
                .sum();
        }
    }
    let mut out = vec![0f32; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = (0..=2 * R).map(|i| k[i] * tmp[(y + i) * ow + x]).sum();
        }
    }
    (out, ow, oh)
}

/// Mean SSIM of two luma planes of the same size.
fn ssim(a: &[f32], b: &[f32], w: usize, h: usize) -> f64 {
    let c1 = (0.01f32 * 255.0).powi(2);
    let c2 = (0.03f32 * 255.0).powi(2);
    let prod = |f: &dyn Fn(f32, f32) -> f32| -> Vec<f32> {
        a.iter().zip(b).map(|(x, y)| f(*x, *y)).collect()
    };
    let (ma, _, _) = blur_valid(a, w, h);
    let (mb, _, _) = blur_valid(b, w, h);
    let (aa, _, _) = blur_valid(&prod(&|x, _| x * x), w, h);
    let (bb, _, _) = blur_valid(&prod(&|_, y| y * y), w, h);
    let (ab, ow, oh) = blur_valid(&prod(&|x, y| x * y), w, h);
    let mut total = 0f64;
    for i in 0..ow * oh {
        let (mx, my) = (ma[i], mb[i]);
        let vx = aa[i] - mx * mx;
        let vy = bb[i] - my * my;
        let cov = ab[i] - mx * my;
        let s =
            ((2.0 * mx * my + c1) * (2.0 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
        total += f64::from(s);
    }
    total / (ow * oh) as f64
}

/// The full-size decode of a source, auto-oriented, as RGB.
fn decode_reference(data: &[u8]) -> image::RgbImage {
    let reader = ImageReader::new(Cursor::new(data))
        .with_guessed_format()
        .expect("guess format");
    let mut decoder = reader.into_decoder().expect("decoder");
    let orientation = decoder.orientation().expect("orientation");
    let mut img = DynamicImage::from_decoder(decoder).expect("decode");
    img.apply_orientation(orientation);
    img.to_rgb8()
}

/// The reference resized to `w`×`h` with Lanczos3.
fn resize_reference(full: &image::RgbImage, w: u32, h: u32) -> image::RgbImage {
    let src = fr::images::Image::from_vec_u8(
        full.width(),
        full.height(),
        full.as_raw().clone(),
        fr::PixelType::U8x3,
    )
    .expect("source image");
    let mut dst = fr::images::Image::new(w, h, fr::PixelType::U8x3);
    let options =
        fr::ResizeOptions::new().resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3));
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("resize");
    image::RgbImage::from_raw(w, h, dst.into_vec()).expect("resized image")
}

/// An output decoded back to RGB: JPEG and WebP with the `image` crate,
/// AVIF through the engine (libheif) to PNG.
fn decode_output(bytes: &[u8], format: Format, engine: &Engine) -> image::RgbImage {
    if format == Format::Avif {
        let to_png = Pipeline {
            output: OutputOptions {
                format: Some(FormatRequest {
                    format: Format::Png,
                    only_if_source_animated: false,
                }),
                metadata: MetadataPolicy::Strip,
                ..Default::default()
            },
            ..Default::default()
        };
        match imaging::execute(
            bytes,
            &to_png,
            &Assets::default(),
            &Limits::default(),
            engine,
        ) {
            Ok(Output::Image { bytes, .. }) => {
                return image::load_from_memory(&bytes).expect("png").to_rgb8()
            }
            other => panic!("cannot decode an AVIF output: {other:?}"),
        }
    }
    image::load_from_memory(bytes)
        .expect("decode output")
        .to_rgb8()
}

/// A reference image at one size: its Y, Cb and Cr planes, width, height.
type Reference = ([Vec<f32>; 3], usize, usize);

/// One file's outputs: its name, ours, and libvips' when it ran.
type Row = (String, Measure, Option<Measure>);

/// One measured output: bytes, SSIM (Y, Cb, Cr), size, and (ours) the
/// job's time.
#[derive(Clone, Copy, Default)]
struct Measure {
    bytes: usize,
    ssim: [f64; 3],
    width: u32,
    height: u32,
    ms: f64,
}

fn main() {
    let args = parse_args();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&args.corpus)
        .unwrap_or_else(|e| panic!("cannot read corpus {}: {e}", args.corpus.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("jpg") || x.eq_ignore_ascii_case("jpeg"))
        })
        .collect();
    files.sort();
    files.truncate(args.files);

    let engine = Engine::new();
    let limits = Limits::default();
    let mut vips = args.python.as_ref().map(|py| {
        Command::new(py)
            .arg(&args.script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the libvips script")
    });
    let mut vips_io = vips.as_mut().map(|c| {
        let stdin = c.stdin.take().expect("stdin");
        let stdout = BufReader::new(c.stdout.take().expect("stdout"));
        (stdin, stdout)
    });

    // (width, kind) → per file (ours, theirs).
    let mut table: HashMap<(u32, &str), Vec<Row>> = HashMap::new();
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        eprintln!("{name}");
        let data = std::fs::read(f).expect("read corpus file");
        let full = decode_reference(&data);
        let mut references: HashMap<(u32, u32), Reference> = HashMap::new();
        // SSIM of Y, Cb and Cr.
        let mut score = |img: &image::RgbImage| -> [f64; 3] {
            let (w, h) = img.dimensions();
            let (r, rw, rh) = references.entry((w, h)).or_insert_with(|| {
                let r = resize_reference(&full, w, h);
                (planes(&r), w as usize, h as usize)
            });
            let ours = planes(img);
            [0, 1, 2].map(|i| ssim(&r[i], &ours[i], *rw, *rh))
        };
        for &width in &args.widths {
            for kind in &args.kinds {
                let pipeline = Pipeline {
                    ops: vec![
                        Op::AutoOrient,
                        Op::Resize(Resize {
                            geometry: Geometry::Fit {
                                width: Some(width),
                                height: None,
                            },
                            enlarge: Enlarge::Allow,
                        }),
                    ],
                    output: OutputOptions {
                        format: Some(FormatRequest {
                            format: kind.format,
                            only_if_source_animated: false,
                        }),
                        quality: kind.quality.map(Quality::Forced),
                        progressive: kind.progressive,
                        progressive_auto: kind.auto,
                        trellis: kind.trellis,
                        metadata: MetadataPolicy::Strip,
                        ..Default::default()
                    },
                    ..Default::default()
                };
                let run = || {
                    let t = Instant::now();
                    match imaging::execute(&data, &pipeline, &Assets::default(), &limits, &engine) {
                        Ok(Output::Image { bytes, .. }) => {
                            (bytes, t.elapsed().as_secs_f64() * 1000.0)
                        }
                        other => panic!("{name}: {other:?}"),
                    }
                };
                let _ = run(); // warm-up
                let mut times = Vec::new();
                let mut bytes = Vec::new();
                for _ in 0..3 {
                    let (b, ms) = run();
                    times.push(ms);
                    bytes = b;
                }
                times.sort_by(|a, b| a.total_cmp(b));
                let img = decode_output(&bytes, kind.format, &engine);
                let ours = Measure {
                    bytes: bytes.len(),
                    ssim: score(&img),
                    width: img.width(),
                    height: img.height(),
                    ms: times[1],
                };
                let theirs = vips_io.as_mut().map(|(stdin, stdout)| {
                    let q = kind
                        .quality
                        .map_or("default".to_string(), |q| q.to_string());
                    let fmt = match kind.format {
                        Format::Jpeg => "jpeg",
                        Format::Webp => "webp",
                        _ => "avif",
                    };
                    writeln!(stdin, "{}\t{width}\t{fmt}\t{q}", f.display())
                        .expect("talk to libvips");
                    stdin.flush().expect("flush");
                    let mut line = String::new();
                    stdout.read_line(&mut line).expect("libvips answer");
                    let path = line.trim();
                    let out = std::fs::read(path)
                        .unwrap_or_else(|e| panic!("libvips output {path:?} for {name}: {e}"));
                    let _ = std::fs::remove_file(path);
                    let img = decode_output(&out, kind.format, &engine);
                    Measure {
                        bytes: out.len(),
                        ssim: score(&img),
                        width: img.width(),
                        height: img.height(),
                        ms: 0.0,
                    }
                });
                table
                    .entry((width, kind.name))
                    .or_default()
                    .push((name.clone(), ours, theirs));
            }
        }
    }
    drop(vips_io);
    if let Some(mut c) = vips {
        let _ = c.wait();
    }

    println!(
        "bytes and SSIM (luma, against a full-size Lanczos3 reference; Cb and Cr: the \
         chroma planes' SSIM difference, a guard); metadata stripped on both sides"
    );
    for &width in &args.widths {
        for kind in &args.kinds {
            let Some(rows) = table.get(&(width, kind.name)) else {
                continue;
            };
            println!("\n{} px, {}", width, kind.name);
            println!(
                "{:<38} {:>9} {:>9} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}",
                "file",
                "ours B",
                "vips B",
                "ratio",
                "ours",
                "vips",
                "diff",
                "Cb diff",
                "Cr diff",
                "ours ms"
            );
            let (mut ob, mut vb, mut ms) = (0usize, 0usize, 0f64);
            let (mut os, mut vs) = ([0f64; 3], [0f64; 3]);
            for (name, o, v) in rows {
                ob += o.bytes;
                ms += o.ms;
                for (sum, s) in os.iter_mut().zip(o.ssim) {
                    *sum += s;
                }
                match v {
                    Some(v) => {
                        vb += v.bytes;
                        for (sum, s) in vs.iter_mut().zip(v.ssim) {
                            *sum += s;
                        }
                        let size_note = if (o.width, o.height) != (v.width, v.height) {
                            format!(
                                "  (sizes {}x{} / {}x{})",
                                o.width, o.height, v.width, v.height
                            )
                        } else {
                            String::new()
                        };
                        println!(
                            "{:<38} {:>9} {:>9} {:>6.3} {:>8.4} {:>8.4} {:>+8.4} {:>+8.4} {:>+8.4} {:>7.1}{size_note}",
                            name,
                            o.bytes,
                            v.bytes,
                            o.bytes as f64 / v.bytes as f64,
                            o.ssim[0],
                            v.ssim[0],
                            o.ssim[0] - v.ssim[0],
                            o.ssim[1] - v.ssim[1],
                            o.ssim[2] - v.ssim[2],
                            o.ms
                        );
                    }
                    None => println!(
                        "{:<38} {:>9} {:>9} {:>6} {:>8.4} {:>8} {:>8} {:>8} {:>8} {:>7.1}",
                        name, o.bytes, "-", "-", o.ssim[0], "-", "-", "-", "-", o.ms
                    ),
                }
            }
            let n = rows.len() as f64;
            if vb > 0 {
                println!(
                    "{:<38} {:>9} {:>9} {:>6.3} {:>8.4} {:>8.4} {:>+8.4} {:>+8.4} {:>+8.4} {:>7.1}",
                    "total / mean",
                    ob,
                    vb,
                    ob as f64 / vb as f64,
                    os[0] / n,
                    vs[0] / n,
                    (os[0] - vs[0]) / n,
                    (os[1] - vs[1]) / n,
                    (os[2] - vs[2]) / n,
                    ms / n
                );
            } else {
                println!(
                    "{:<38} {:>9} {:>9} {:>6} {:>8.4} {:>8} {:>8} {:>8} {:>8} {:>7.1}",
                    "total / mean",
                    ob,
                    "-",
                    "-",
                    os[0] / n,
                    "-",
                    "-",
                    "-",
                    "-",
                    ms / n
                );
            }
        }
    }
}
