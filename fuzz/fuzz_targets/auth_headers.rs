//! Signature verification from a request head: SigV4 and SigV2 (header and
//! presigned), OSS V1/V4, COS and UCloud. The input is split into a
//! method, a request target and header lines, so the fuzzer controls the
//! `Authorization` header, the query and every signed header.
//!
//! Property: `auth::verify` answers (accepts or refuses) and never panics,
//! whatever the head holds; the keyring has a real key so parsing goes on
//! past the access-key lookup.
#![no_main]

use std::time::{Duration, SystemTime};

use imgbucket::auth::{verify, Keyring};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let Some(first) = lines.next() else { return };
    let (method, target) = first.split_once(' ').unwrap_or(("GET", first));
    let mut builder = http::Request::builder().method(method).uri(target);
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim_start());
        }
    }
    let Ok(request) = builder.body(()) else {
        return;
    };
    let (parts, ()) = request.into_parts();
    let keyring = Keyring::new(
        [("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")],
        None,
    );
    // A fixed clock near the seeds' dates, so the fuzzer can reach the
    // signature comparison rather than stop at clock skew.
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160);
    for bucket in [None, Some("examplebucket")] {
        let _ = verify(&parts, bucket, &keyring, now);
    }
    let _ = imgbucket::auth::claimed_family(&parts.uri, &parts.headers);
});
