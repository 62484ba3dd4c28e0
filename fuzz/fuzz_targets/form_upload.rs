//! The `multipart/form-data` reader of browser form uploads (POST Object),
//! with the field budget small enough to be reached, and the body cut in
//! pieces whose size the first byte picks.
//!
//! Properties: no panic, no hang; the outcome does not depend on where
//! the transport cuts the body.
#![no_main]

use imgbucket::fuzzing::form_upload;
use libfuzzer_sys::fuzz_target;

const BOUNDARY: &str = "----fuzzboundary";

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let split = usize::from(flags) + 1;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let whole = runtime.block_on(form_upload(body, BOUNDARY, body.len().max(1), 1024));
    let pieces = runtime.block_on(form_upload(body, BOUNDARY, split, 1024));
    assert_eq!(
        whole, pieces,
        "the split at {split} bytes changed the outcome"
    );
});
