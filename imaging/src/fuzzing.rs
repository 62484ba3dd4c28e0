//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, which
//! only that crate turns on): crate-private decoders whose promises a
//! target checks, reached without widening the public API.

use image::RgbaImage;

/// Largest frame, in source pixels, that [`eighth`] decodes: 64 Mpx (1 Mpx
/// at 1/8, 4 MiB of RGBA). A header may claim 65535² in a few bytes; the
/// engine's limits refuse those before decoding, and the fuzzer's time is
/// better spent on files it can finish.
const MAX_SOURCE_PIXELS: u64 = 64 << 20;

/// The 1/8-scale decode of `crate::eighth`, which promises libjpeg-turbo's
/// own pixels whenever it returns any, for a Huffman-coded JPEG (baseline,
/// extended or progressive) as the engine calls it: with the size from the
/// engine's header walk. `None` when the header is unreadable, of another
/// kind, larger than [`MAX_SOURCE_PIXELS`], or when the decoder steps
/// aside (the engine then runs libjpeg-turbo).
pub fn eighth(data: &[u8]) -> Option<RgbaImage> {
    let header = crate::jpeg::read_header(data).ok()?;
    let pixels = u64::from(header.width) * u64::from(header.height);
    if !matches!(header.sof, 0xC0..=0xC2) || pixels > MAX_SOURCE_PIXELS {
        return None;
    }
    crate::eighth::decode(data, (header.width, header.height))
}
