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

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
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
        // `shared/corpus` beside the repository, as CI lays it out.
        corpus: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/jpeg"),
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
    if files.is_empty() {
        eprintln!("no JPEG in the corpus {}", args.corpus.display());
        std::process::exit(1);
    }

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

    // libvips runs in a co-process answering one timed job per request,
    // so that the two engines alternate run by run and share whatever
    // else the machine is doing at that moment.
    let mut vips = args.python.as_ref().map(|py| {
        Command::new(py)
            .arg(&args.script)
            .arg(WIDTH.to_string())
            .arg(QUALITY.to_string())
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
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        let mut size = (0, 0, 0);
        let mut vsize = (0, 0, 0);
        for _ in 0..args.runs {
            let t = Instant::now();
            size = job();
            ours.push(t.elapsed().as_secs_f64() * 1000.0);
            if let Some((stdin, stdout)) = vips_io.as_mut() {
                writeln!(stdin, "{}", f.display()).expect("talk to libvips script");
                stdin.flush().expect("flush");
                let mut line = String::new();
                stdout.read_line(&mut line).expect("libvips answer");
                let c: Vec<&str> = line.trim().split('\t').collect();
                if c.len() < 4 {
                    eprintln!("libvips script failed on {}", f.display());
                    std::process::exit(1);
                }
                theirs.push(c[0].parse::<f64>().unwrap_or(f64::NAN));
                vsize = (
                    c[1].parse().unwrap_or(0),
                    c[2].parse().unwrap_or(0),
                    c[3].parse().unwrap_or(0),
                );
            }
        }
        let min = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        rows.push(Row {
            name: f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            mpx: info.width as f64 * info.height as f64 / 1e6,
            ours_ms: median(ours.clone()),
            ours_min: min(&ours),
            ours_size: size,
            vips: (!theirs.is_empty()).then(|| (median(theirs.clone()), min(&theirs), vsize)),
        });
    }
    drop(vips_io);
    if let Some(mut c) = vips {
        let _ = c.wait();
    }

    println!("thumbnail job: JPEG → {WIDTH} px wide, JPEG q{QUALITY}; median of {} runs (min in brackets), ms", args.runs);
    println!(
        "{:<38} {:>6} {:>16} {:>16} {:>7}  {:>10} {:>10}",
        "file", "Mpx", "imgbucket", "libvips", "ratio", "ours WxH", "vips WxH"
    );
    let (mut sum_o, mut sum_v, mut log_ratio, mut log_min_ratio, mut n) = (0.0, 0.0, 0.0, 0.0, 0);
    for r in &rows {
        let ours = format!("{:.1} ({:.1})", r.ours_ms, r.ours_min);
        let (vips, ratio, vsize) = match r.vips {
            Some((m, mn, s)) => {
                sum_o += r.ours_ms;
                sum_v += m;
                log_ratio += (r.ours_ms / m).ln();
                log_min_ratio += (r.ours_min / mn).ln();
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
            "total of medians: imgbucket {:.1} ms, libvips {:.1} ms (mean per file {:.1} vs {:.1} ms)\n\
             ratio imgbucket/libvips: total {:.2}, geometric mean of medians {:.2}, of minima {:.2}",
            sum_o,
            sum_v,
            sum_o / n as f64,
            sum_v / n as f64,
            sum_o / sum_v,
            (log_ratio / n as f64).exp(),
            (log_min_ratio / n as f64).exp()
        );
    } else {
        println!(
            "total: imgbucket {total_o:.1} ms over {} files (libvips not run)",
            rows.len()
        );
    }
}
