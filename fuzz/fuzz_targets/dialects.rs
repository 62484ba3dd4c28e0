//! Every dialect's parser, from the raw query (or a stored style) down to
//! `Pipeline`, then the work budget of what it parsed.
//!
//! Properties: no panic; a parsed pipeline's canonical text and budget
//! estimate are computed without overflow panics; detection never claims
//! a dialect whose parser then panics.
#![no_main]

use dialects::{Dialect, Directive};
use imaging::budget::{estimate, Source};
use libfuzzer_sys::fuzz_target;

fn exercise(pipeline: &imaging::Pipeline, limits: &imaging::Limits) {
    let _ = pipeline.canonical();
    let _ = pipeline.asset_keys();
    for (w, h, frames) in [(1, 1, 1), (4000, 3000, 1), (30_000, 30_000, 1000)] {
        let src = Source {
            // The dearest decoder: the weights must not overflow either.
            format: imaging::Format::Heic,
            width: w,
            height: h,
            frames,
            orientation: Some(6),
            alpha: true,
        };
        let _ = estimate(pipeline, src, Some(imaging::Format::Jpeg), limits);
        let _ = estimate(pipeline, src, None, limits);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let (dialect, limits) = match selector % 3 {
        0 => (Dialect::Oss, dialects::oss::limits()),
        1 => (Dialect::Cos, dialects::cos::limits()),
        _ => (Dialect::Us3, dialects::us3::limits()),
    };
    // Detection runs on every GET's query, whatever it holds.
    let _ = dialects::detect(text);
    let parsed = if selector & 0x80 == 0 {
        dialects::parse_query(dialect, text)
            .ok()
            .and_then(|d| match d {
                Directive::Pipeline(p) => Some(p),
                Directive::Style(_) => None,
            })
    } else {
        dialects::parse_style(dialect, text).ok()
    };
    if let Some(p) = parsed {
        exercise(&p, &limits);
    }
    if dialect == Dialect::Cos {
        if let Ok(Directive::Pipeline(p)) = dialects::cos::parse_rule(text) {
            exercise(&p, &limits);
        }
    }
});
