//! The aws-chunked body decoder, unsigned and signed, with and without
//! trailers, fed in pieces whose size the first byte picks.
//!
//! Properties: no panic; the decoded length never exceeds the input's;
//! where the transport cuts the body changes nothing.
#![no_main]

use imgbucket::fuzzing::aws_chunked;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let signed = flags & 1 != 0;
    let trailers = flags & 2 != 0;
    let split = usize::from(flags >> 2) + 1;
    let whole = aws_chunked(body, body.len().max(1), signed, trailers);
    let pieces = aws_chunked(body, split, signed, trailers);
    if let Some(decoded) = &whole {
        assert!(decoded.len() <= body.len());
    }
    assert_eq!(
        whole, pieces,
        "the split at {split} bytes changed the outcome"
    );
});
