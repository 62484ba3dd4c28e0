//! Thumbnail benchmark: imgbucket's engine against libvips, same files, same
//! job, same run (docs/image-benchmark.md).
//!
//! The job: each large JPEG of the corpus → 300 px wide (aspect kept),
//! auto-oriented, JPEG quality 80, memory to memory. imgbucket runs
//! in-process; libvips runs through `bench/vips_thumb.py` (pyvips), started
//! by this program so both share the CPU pinning of the caller (`taskset`).
//!
//! Usage:
//!   cargo run --release -p imgbucket-imaging --example thumbbench -- \
//!       [--corpus DIR] [--runs N] [--python PATH] [--script PATH]
//! Without `--python`, only imgbucket is measured.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use imaging::{
    Assets, Engine, Enlarge, Geometry, Limits, Op, Output, OutputOptions, Pipeline, Quality, Resize,
};

const WIDTH: u32 = 300;
const QUALITY: u8 = 80;

struct Args {
    corpus: PathBuf,
    runs: usize,
    python: Option<PathBuf>,
    script: PathBuf,
}

fn parse_args() -> Args {
    let mut a = Args {
        corpus: [
            "../shared/corpus/jpeg",
            "../../shared/corpus/jpeg",
            "/work/shared/corpus/jpeg",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_dir())
        .unwrap_or_else(|| PathBuf::from("../shared/corpus/jpeg")),
        runs: 7,
        python: None,
        script: PathBuf::from("bench/vips_thumb.py"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--corpus" => a.corpus = PathBuf::from(v),
            "--runs" => a.runs = v.parse().unwrap_or(7).max(1),
            "--python" => a.python = Some(PathBuf::from(v)),
            "--script" => a.script = PathBuf::from(v),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

struct Row {
    name: String,
    mpx: f64,
    ours_ms: f64,
    ours_min: f64,
    ours_size: (u32, u32, usize),
    vips: Option<(f64, f64, (u32, u32, usize))>,
}

fn main() {
    let args = parse_args();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&args.corpus) {
        Ok(d) => d
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| {
                    x.eq_ignore_ascii_case("jpg") || x.eq_ignore_ascii_case("jpeg")
                })
            })
            .collect(),
        Err(e) => {
            eprintln!("cannot read corpus {}: {e}", args.corpus.display());
            std::process::exit(1);
        }
    };
    files.sort();

    let engine = Engine::new();
    let limits = Limits::default();
    let pipeline = Pipeline {
        ops: vec![
            Op::AutoOrient,
            Op::Resize(Resize {
                geometry: Geometry::Fit {
                    width: Some(WIDTH),
                    height: None,
                },
                enlarge: Enlarge::Allow,
            }),
        ],
        output: OutputOptions {
            quality: Some(Quality::Forced(QUALITY)),
            ..Default::default()
        },
        ..Default::default()
    };

    let mut rows = Vec::new();
    for f in &files {
        let data = std::fs::read(f).expect("read corpus file");
        let info = imaging::probe(&data, &limits).expect("probe");
        let job = || match imaging::execute(&data, &pipeline, &Assets::default(), &limits, &engine)
        {
            Ok(Output::Image {
                width,
                height,
                bytes,
                ..
            }) => (width, height, bytes.len()),
            other => panic!("{}: {other:?}", f.display()),
        };
        job(); // warm-up
        let mut times = Vec::new();
        let mut size = (0, 0, 0);
        for _ in 0..args.runs {
            let t = Instant::now();
            size = job();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        rows.push(Row {
            name: f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            mpx: info.width as f64 * info.height as f64 / 1e6,
            ours_ms: median(times),
            ours_min: min,
            ours_size: size,
            vips: None,
        });
    }

    if let Some(py) = &args.python {
        let out = Command::new(py)
            .arg(&args.script)
            .arg(WIDTH.to_string())
            .arg(QUALITY.to_string())
            .arg(args.runs.to_string())
            .args(&files)
            .output()
            .expect("run the libvips script");
        if !out.status.success() {
            eprintln!(
                "libvips script failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::process::exit(1);
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let c: Vec<&str> = line.split('\t').collect();
            if c.len() < 6 {
                continue;
            }
            let name = Path::new(c[0])
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(r) = rows.iter_mut().find(|r| r.name == name) {
                let p = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
                let u = |s: &str| s.parse::<u32>().unwrap_or(0);
                r.vips = Some((
                    p(c[1]),
                    p(c[2]),
                    (u(c[3]), u(c[4]), c[5].parse().unwrap_or(0)),
                ));
            }
        }
    }

    println!("thumbnail job: JPEG → {WIDTH} px wide, JPEG q{QUALITY}; median of {} runs (min in brackets), ms", args.runs);
    println!(
        "{:<38} {:>6} {:>16} {:>16} {:>7}  {:>10} {:>10}",
        "file", "Mpx", "imgbucket", "libvips", "ratio", "ours WxH", "vips WxH"
    );
    let (mut sum_o, mut sum_v, mut log_ratio, mut n) = (0.0, 0.0, 0.0, 0);
    for r in &rows {
        let ours = format!("{:.1} ({:.1})", r.ours_ms, r.ours_min);
        let (vips, ratio, vsize) = match r.vips {
            Some((m, mn, s)) => {
                sum_o += r.ours_ms;
                sum_v += m;
                log_ratio += (r.ours_ms / m).ln();
                n += 1;
                (
                    format!("{m:.1} ({mn:.1})"),
                    format!("{:.2}", r.ours_ms / m),
                    format!("{}x{}", s.0, s.1),
                )
            }
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<38} {:>6.1} {:>16} {:>16} {:>7}  {:>10} {:>10}",
            r.name,
            r.mpx,
            ours,
            vips,
            ratio,
            format!("{}x{}", r.ours_size.0, r.ours_size.1),
            vsize
        );
    }
    let total_o: f64 = rows.iter().map(|r| r.ours_ms).sum();
    if n > 0 {
        println!(
            "total: imgbucket {:.1} ms, libvips {:.1} ms; mean per file {:.1} vs {:.1} ms; ratio (imgbucket/libvips) total {:.2}, geometric mean {:.2}",
            sum_o,
            sum_v,
            sum_o / n as f64,
            sum_v / n as f64,
            sum_o / sum_v,
            (log_ratio / n as f64).exp()
        );
    } else {
        println!(
            "total: imgbucket {total_o:.1} ms over {} files (libvips not run)",
            rows.len()
        );
    }
}
