//! The 1/8-scale JPEG decoder of `imaging/src/eighth.rs` against
//! libjpeg-turbo's own 1/8 decode, on any input.
//!
//! That decoder reads only what a 1/8-scale image needs (a baseline file's
//! unneeded AC coefficients are stepped over, a progressive file's unneeded
//! scans are not read at all) and promises libjpeg-turbo's pixels whenever
//! it returns any; on anything it does not reproduce exactly, corrupt data
//! included, it must step aside. Properties: no panic; when it returns
//! pixels, libjpeg-turbo decodes the file too, without a fatal error and
//! without running out of data, and gives exactly those pixels.
#![no_main]

use libfuzzer_sys::fuzz_target;
use turbojpeg::raw;

/// The beginnings of libjpeg's warning messages (`JWRN_*` in `jerror.h`);
/// every other message is a fatal error.
const WARNINGS: [&str; 7] = [
    "Corrupt JPEG data",
    "Unknown Adobe color transform code",
    "Inconsistent progression sequence",
    "Warning: unknown JFIF revision number",
    "Premature end of JPEG file",
    "Invalid SOS parameters for sequential JPEG",
    "Application transferred too many scanlines",
];

/// libjpeg-turbo's 1/8-scale RGBA decode, as (width, height, pixels) and
/// the warning it gave, if any; `Err` with its message on a fatal error.
///
/// Through TurboJPEG's C API rather than the `turbojpeg` crate's wrapper,
/// whose header read stops at a warning ("extraneous bytes before
/// marker", "unknown JFIF revision") where libjpeg goes on decoding: those
/// files have reference pixels too.
fn turbo_eighth(data: &[u8]) -> Result<(u32, u32, Vec<u8>, Option<String>), String> {
    struct Handle(raw::tjhandle);
    impl Drop for Handle {
        fn drop(&mut self) {
            // SAFETY: a handle from tj3Init, destroyed once.
            unsafe { raw::tj3Destroy(self.0) }
        }
    }
    // SAFETY: plain calls into TurboJPEG with a live handle, `data` for
    // its length, and an output buffer with its pitch, sized for 1/8 of
    // the dimensions TurboJPEG read from the header, rounded up as its
    // TJSCALED does.
    unsafe {
        let h = raw::tj3Init(raw::TJINIT_TJINIT_DECOMPRESS as i32);
        if h.is_null() {
            return Err("tj3Init failed".into());
        }
        let handle = Handle(h);
        let message = |h: raw::tjhandle| {
            std::ffi::CStr::from_ptr(raw::tj3GetErrorStr(h))
                .to_string_lossy()
                .into_owned()
        };
        let mut warning = None;
        let mut check = |rc: i32| -> Result<(), String> {
            if rc != 0 {
                // tj3GetErrorCode says "warning" for a fatal error that
                // follows a warning, so the message decides: libjpeg
                // formats only the first warning and then the fatal error.
                let msg = message(handle.0);
                if !WARNINGS.iter().any(|w| msg.starts_with(w)) {
                    return Err(msg);
                }
                warning.get_or_insert(msg);
            }
            Ok(())
        };
        check(raw::tj3DecompressHeader(
            handle.0,
            data.as_ptr(),
            data.len() as raw::size_t,
        ))?;
        let eighth = raw::tjscalingfactor { num: 1, denom: 8 };
        check(raw::tj3SetScalingFactor(handle.0, eighth))?;
        let w = raw::tj3Get(handle.0, raw::TJPARAM_TJPARAM_JPEGWIDTH as i32);
        let h = raw::tj3Get(handle.0, raw::TJPARAM_TJPARAM_JPEGHEIGHT as i32);
        let (w, h) = ((w + 7) / 8, (h + 7) / 8);
        let mut pixels = vec![0u8; w as usize * h as usize * 4];
        check(raw::tj3Decompress8(
            handle.0,
            data.as_ptr(),
            data.len() as raw::size_t,
            pixels.as_mut_ptr(),
            w * 4,
            raw::TJPF_TJPF_RGBA as i32,
        ))?;
        Ok((w as u32, h as u32, pixels, warning))
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(ours) = imaging::fuzzing::eighth(data) else {
        return;
    };
    let (w, h, theirs, warning) = match turbo_eighth(data) {
        Ok(decoded) => decoded,
        Err(msg) => panic!("the 1/8 decoder took a file libjpeg-turbo refuses: {msg}"),
    };
    if let Some(msg) = warning.filter(|m| m.contains("Premature end")) {
        // The engine reports a truncated file; this decoder must not
        // return the part it read.
        panic!("the 1/8 decoder took a truncated file: {msg}");
    }
    assert_eq!(ours.dimensions(), (w, h), "1/8 sizes differ");
    let differing = ours
        .as_raw()
        .chunks_exact(4)
        .zip(theirs.chunks_exact(4))
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        differing, 0,
        "{differing} pixels differ from libjpeg-turbo's"
    );
});
