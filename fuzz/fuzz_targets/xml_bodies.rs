//! Every XML request body (and the bucket policy's JSON), through the
//! parser of the operation that reads it: the generic reader, CORS, ACL,
//! DeleteObjects, CompleteMultipartUpload, lifecycle, policy.
#![no_main]

use imgbucket::fuzzing::{request_document, RequestDocument};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, doc)) = data.split_first() else {
        return;
    };
    let kinds = RequestDocument::ALL;
    let kind = kinds[usize::from(which) % kinds.len()];
    // A typed parser accepts only what the generic reader accepts.
    if request_document(kind, doc) && !matches!(kind, RequestDocument::Policy) {
        assert!(request_document(RequestDocument::Any, doc));
    }
});
