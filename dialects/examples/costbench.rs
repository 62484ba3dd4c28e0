//! The work budget's cost model against the clock. For each request of a
//! fixed list (OSS syntax, parsed by the real parser), it prints the
//! engine's wall time, the estimate in work units that the
//! engine checks before decoding (`imaging::budget`), and their ratio. The
//! model's unit is about 1.5 ns; a row far above the others is a weight
//! that under-prices its operation (a request could buy more CPU than its
//! budget says), a row far below one that over-prices it.
//!
//! ```text
//! cargo run --release -p imgbucket-dialects --example costbench -- photo.jpg [runs] [request...]
//! ```
//!
//! The photo should be a large JPEG (the corpus' 12–20 MP photos), or one
//! made from them in another format; each request runs `runs` times
//! (default 3) and the fastest run is kept. Requests given after `runs`
//! replace the built-in list (a HEIC source needs
//! `--features imaging/heic-encode` for its default output).

use std::time::{Duration, Instant};

use dialects::{Dialect, Directive};
use imaging::budget::{estimate, Source};
use imaging::{Assets, Engine, Output, Pipeline};

/// The requests measured: a thumbnail, each weighted step alone (on a
/// 3000 px copy where the full photo would exceed a vendor limit), and
/// each encoder at full size or at 1200 px.
const REQUESTS: &[&str] = &[
    "image/resize,w_300",
    "image/resize,w_2000",
    "image/quality,q_80",
    "image/format,png",
    "image/resize,w_1200/format,png",
    "image/format,webp",
    "image/resize,w_1200/format,webp",
    "image/resize,w_1200/format,avif",
    "image/blur,r_3,s_2",
    "image/blur,r_50,s_50",
    "image/sharpen,100",
    "image/resize,w_3000/rotate,33",
    "image/rotate,90",
    "image/bright,50/contrast,50",
    "image/crop,w_1000,h_1000,g_center",
    "image/watermark,text_SGVsbG8gd29ybGQ,size_200,g_center",
];

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: costbench <photo.jpg> [runs]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let given: Vec<String> = args.collect();
    let requests: Vec<&str> = if given.is_empty() {
        REQUESTS.to_vec()
    } else {
        given.iter().map(String::as_str).collect()
    };
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("costbench: {path}: {e}");
            std::process::exit(2);
        }
    };
    let limits = dialects::oss::limits();
    let info = match imaging::probe(&data, &limits) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("costbench: {path}: {e}");
            std::process::exit(2);
        }
    };
    let source = Source {
        width: info.width,
        height: info.height,
        frames: 1,
        format: info.format,
        orientation: info.orientation,
        // As the engine assumes for a format that can carry alpha (its
        // header check is crate-private; the photos here are JPEGs).
        alpha: info.format != imaging::Format::Jpeg,
    };
    let engine = Engine::new();
    println!(
        "{path}: {}x{} {:?}, {} runs each, fastest kept\n",
        info.width, info.height, info.format, runs
    );
    println!("| request | time (ms) | estimate (Munits) | ns per unit |\n|---|---:|---:|---:|");
    for request in requests {
        let pipeline =
            match dialects::parse_query(Dialect::Oss, &format!("x-oss-process={request}")) {
                Ok(Directive::Pipeline(p)) => p,
                other => {
                    eprintln!("costbench: {request} does not parse to a pipeline: {other:?}");
                    std::process::exit(1);
                }
            };
        let units = match estimate(
            &pipeline,
            source,
            Some(out_format(&pipeline, &info)),
            &limits,
        ) {
            Ok(u) => u,
            Err(e) => {
                println!("| `{request}` | refused: {e} | | |");
                continue;
            }
        };
        let best = (0..runs.max(1))
            .map(|_| time_one(&engine, &data, &pipeline, &limits))
            .min()
            .unwrap_or_default();
        let ns = best.as_nanos() as f64;
        println!(
            "| `{request}` | {:.1} | {:.0} | {:.2} |",
            ns / 1e6,
            units as f64 / 1e6,
            ns / units as f64
        );
    }
}

/// The format the engine will encode: the requested one, else the
/// source's.
fn out_format(pipeline: &Pipeline, info: &imaging::ImageInfo) -> imaging::Format {
    pipeline
        .output
        .format
        .map_or(info.format, |request| request.format)
}

/// One run's wall time; a failed run ends the benchmark (every request of
/// the list is valid on a large JPEG).
fn time_one(
    engine: &Engine,
    data: &[u8],
    pipeline: &Pipeline,
    limits: &imaging::Limits,
) -> Duration {
    let started = Instant::now();
    match engine.execute(data, pipeline, &Assets::default(), limits) {
        Ok(Output::Image { .. }) => started.elapsed(),
        Ok(other) => {
            eprintln!("costbench: expected an image, got {other:?}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("costbench: the engine failed: {e}");
            std::process::exit(1);
        }
    }
}
