//! COS `Pic-Operations` upload header: its JSON, each rule (parsed as a
//! COS processing rule down to `Pipeline`) and each `fileid`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(ops) = dialects::cos::parse_pic_operations(text) else {
        return;
    };
    assert!(ops.rules.len() <= dialects::cos::MAX_RULES);
    for rule in &ops.rules {
        let _ = dialects::cos::resolve_fileid("dir/source.jpg", &rule.fileid);
        if let dialects::Directive::Pipeline(p) = &rule.directive {
            let _ = p.canonical();
        }
    }
});
