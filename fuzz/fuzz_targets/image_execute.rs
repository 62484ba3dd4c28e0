//! Image decoding and processing through `imaging::execute`, every format
//! the engine reads, under the engine's default limits with the pixel
//! limits scaled down (see `limits`), while a counting allocator checks
//! that memory stays within what those limits allow.
//!
//! The first input byte picks a pipeline (thumbnail, info, rotate, crop,
//! format change, blur...), a metadata policy and the JPEG encoder
//! settings; the rest is the source
//! image. Properties: no
//! panic; no single allocation and no peak of live heap over `CAP`, a
//! bound derived from the limits. An over-cap allocation is refused by the
//! allocator, which makes the process abort: libFuzzer reports it as a
//! crash with the input that caused it.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// Pixels the fuzzed limits allow, in the source and in any grown image.
/// The defaults (250 Mpx, 100 Mpx grown) are sound but make each run of a
/// large-header input take seconds; the checks are the same code.
const MAX_PIXELS: u64 = 4_000_000;

/// The heap the limits allow: 16 bytes per allowed pixel (an RGBA8 frame,
/// a converted copy and the output buffer of a resample, with room for
/// the encoder) plus 64 MiB for everything that does not scale with the
/// image (fonts, tables, the input).
const CAP: usize = 16 * MAX_PIXELS as usize + (64 << 20);

/// Counts live heap bytes, and refuses any allocation that would take them
/// over [`CAP`].
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to the system allocator with the same
// layout; the counter is bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let size = layout.size();
        if LIVE.fetch_add(size, Ordering::Relaxed) + size > CAP {
            LIVE.fetch_sub(size, Ordering::Relaxed);
            // A null return makes Rust's allocation-failure handler abort
            // ("memory allocation of N bytes failed"), which libFuzzer
            // reports as a crash: the limits let through an allocation
            // they should have prevented.
            return std::ptr::null_mut();
        }
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = layout.size();
        if new_size > old {
            let grow = new_size - old;
            if LIVE.fetch_add(grow, Ordering::Relaxed) + grow > CAP {
                LIVE.fetch_sub(grow, Ordering::Relaxed);
                return std::ptr::null_mut();
            }
        } else {
            LIVE.fetch_sub(old - new_size, Ordering::Relaxed);
        }
        let p = System.realloc(ptr, layout, new_size);
        if p.is_null() && new_size > old {
            LIVE.fetch_sub(new_size - old, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The engine's default limits, with the pixel limits scaled to
/// [`MAX_PIXELS`].
fn limits() -> imaging::Limits {
    imaging::Limits {
        max_pixels: MAX_PIXELS,
        max_output_pixels: MAX_PIXELS,
        max_side: 8192,
        max_output_side: 8192,
        ..imaging::Limits::default()
    }
}

/// The pipelines the first byte picks from, written in the dialects so
/// the fuzz target runs what requests run.
fn pipelines() -> &'static [imaging::Pipeline] {
    static P: OnceLock<Vec<imaging::Pipeline>> = OnceLock::new();
    P.get_or_init(|| {
        let oss = [
            "image/resize,w_32",
            "image/info",
            "image/resize,m_pad,w_64,h_64,color_FF0000",
            "image/rotate,33",
            "image/crop,x_1,y_1,w_8,h_8/format,png",
            "image/auto-orient,1/format,webp",
            "image/blur,r_3,s_2/format,gif",
            "image/average-hue",
            "image/resize,p_200/quality,q_50/format,jpg",
            "image/format,bmp",
        ];
        let cos = [
            "imageMogr2/thumbnail/16x16!/format/png",
            "imageMogr2/gravity/center/crop/8x8/sharpen/70",
            "imageMogr2/cut/5x5x1x1/format/tiff",
        ];
        let mut out = Vec::new();
        for q in oss {
            let q = format!("x-oss-process={q}");
            if let Ok(dialects::Directive::Pipeline(p)) = dialects::oss::parse_query(&q) {
                out.push(p);
            }
        }
        for q in cos {
            if let Ok(dialects::Directive::Pipeline(p)) = dialects::cos::parse_query(q) {
                out.push(p);
            }
        }
        assert!(out.len() >= 10, "the fuzz pipelines no longer parse");
        out
    })
}

fn engine() -> &'static imaging::Engine {
    static E: OnceLock<imaging::Engine> = OnceLock::new();
    // No fonts: text watermarks are not what this target is about, and
    // scanning the system font directories per process is slow.
    E.get_or_init(|| imaging::Engine::with_fonts(imaging::fonts::FontBook::new(&[])))
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, source)) = data.split_first() else {
        return;
    };
    let pipelines = pipelines();
    let mut pipeline = pipelines[usize::from(which) % pipelines.len()].clone();
    // The byte's top bits pick the bucket's metadata policy: `keep` and
    // `safe` each rewrite the source's EXIF their own way.
    pipeline.output.metadata = [
        imaging::MetadataPolicy::Keep,
        imaging::MetadataPolicy::Safe,
        imaging::MetadataPolicy::Strip,
    ][usize::from(which >> 6) % 3];
    // Two more bits pick the bucket's JPEG encoding settings: trellis
    // quantisation (mozjpeg-rs instead of libjpeg-turbo) and
    // `jpeg_progressive: auto` (both scans written).
    pipeline.output.trellis = which & 0x20 != 0;
    pipeline.output.progressive_auto = which & 0x10 != 0;
    let _ = imaging::probe(source, &limits());
    let _ = engine().execute(source, &pipeline, &imaging::Assets::default(), &limits());
});
