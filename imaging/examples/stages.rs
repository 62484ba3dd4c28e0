//! Stage timings of the thumbnail job (decode / resize / encode) with
//! libjpeg-turbo and fast_image_resize directly, to see where the time of
//! `thumbbench` goes. Usage: `stages <file.jpg> [denom]`.

use std::time::Instant;

use fast_image_resize as fir;

fn main() {
    let path = std::env::args().nth(1).expect("file");
    let denom: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let data = std::fs::read(&path).expect("read");
    for (fmt, bpp, pt) in [
        (turbojpeg::PixelFormat::RGBA, 4, fir::PixelType::U8x4),
        (turbojpeg::PixelFormat::RGB, 3, fir::PixelType::U8x3),
    ] {
        for _ in 0..3 {
            let t = Instant::now();
            let mut d = turbojpeg::Decompressor::new().expect("tj");
            let h = d.read_header(&data).expect("hdr");
            let f = turbojpeg::ScalingFactor::new(1, denom);
            d.set_scaling_factor(f).expect("scale");
            let s = h.scaled(f);
            let mut px = vec![0u8; s.width * s.height * bpp];
            let img = turbojpeg::Image {
                pixels: px.as_mut_slice(),
                width: s.width,
                pitch: s.width * bpp,
                height: s.height,
                format: fmt,
            };
            d.decompress(&data, img).expect("decode");
            let t_dec = t.elapsed();
            let src = fir::images::Image::from_vec_u8(s.width as u32, s.height as u32, px, pt)
                .expect("img");
            let dh = (s.height as f64 * 300.0 / s.width as f64).round() as u32;
            let mut times = Vec::new();
            let mut last = None;
            for filt in [
                fir::FilterType::Lanczos3,
                fir::FilterType::CatmullRom,
                fir::FilterType::Bilinear,
            ] {
                let t = Instant::now();
                let mut dst = fir::images::Image::new(300, dh, pt);
                let mut r = fir::Resizer::new();
                let o = fir::ResizeOptions::new()
                    .resize_alg(fir::ResizeAlg::Convolution(filt))
                    .use_alpha(false);
                r.resize(&src, &mut dst, &o).expect("resize");
                times.push(t.elapsed());
                last = Some(dst);
            }
            let dst = last.expect("dst");
            let t = Instant::now();
            let mut c = turbojpeg::Compressor::new().expect("c");
            c.set_quality(80).expect("q");
            c.set_subsamp(turbojpeg::Subsamp::Sub2x2).expect("s");
            let img = turbojpeg::Image {
                pixels: dst.buffer(),
                width: 300,
                pitch: 300 * bpp,
                height: dh as usize,
                format: fmt,
            };
            let out = c.compress_to_vec(img).expect("enc");
            let t_enc = t.elapsed();
            println!(
                "{fmt:?} 1/{denom} {}x{}: decode {:.1} ms, lanczos3 {:.1}, catmullrom {:.1}, bilinear {:.1}, encode {:.1} ms ({} B)",
                s.width, s.height,
                t_dec.as_secs_f64() * 1e3,
                times[0].as_secs_f64() * 1e3,
                times[1].as_secs_f64() * 1e3,
                times[2].as_secs_f64() * 1e3,
                t_enc.as_secs_f64() * 1e3,
                out.len()
            );
        }
    }
}
