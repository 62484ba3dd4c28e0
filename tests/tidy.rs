//! House rules checked on the source tree itself (rust-analyzer's `tidy`
//! idea): every Rust module opens with a `//!` doc comment saying what it is
//! for, and `docs/ARCHITECTURE.md` stays short enough to be read.

use std::fs;
use std::path::{Path, PathBuf};

/// The workspace root (this test belongs to the root package).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name == "target" || name.starts_with('.') {
                continue;
            }
            rust_files(&path, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_opens_with_a_doc_comment() {
    let mut files = Vec::new();
    for dir in [
        "src", "tests", "storage", "imaging", "dialects", "benches", "bench",
    ] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(
        files.len() > 50,
        "expected the whole workspace, found {} files",
        files.len()
    );
    let missing: Vec<String> = files
        .iter()
        .filter(|f| {
            let text = fs::read_to_string(f).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.strip_prefix(root()).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a `//!` doc comment at the top: {missing:?}"
    );
}

#[test]
fn architecture_doc_stays_short() {
    let text = fs::read_to_string(root().join("docs/ARCHITECTURE.md"))
        .expect("docs/ARCHITECTURE.md exists");
    let words = text.split_whitespace().count();
    assert!(
        (300..=1400).contains(&words),
        "docs/ARCHITECTURE.md has {words} words; keep it a readable overview"
    );
    for invariant in [
        "`storage` depends on neither hyper nor `imaging`",
        "the executor never sees dialect syntax",
    ] {
        assert!(
            text.contains(invariant),
            "ARCHITECTURE.md lost the invariant {invariant:?}"
        );
    }
}

/// The invariants above are claims about dependencies: check them against
/// the manifests, so the document cannot drift from the build.
#[test]
fn crate_boundaries_hold() {
    // The dependency lines of a manifest: its own name and description are
    // not dependencies.
    let manifest = |p: &str| {
        fs::read_to_string(root().join(p))
            .expect("manifest exists")
            .lines()
            .filter(|l| !l.starts_with("name =") && !l.starts_with("description ="))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let storage = manifest("storage/Cargo.toml");
    for forbidden in ["hyper", "imgbucket-imaging", "image ", "http "] {
        assert!(
            !storage.contains(forbidden),
            "storage must not depend on {forbidden}"
        );
    }
    let imaging = manifest("imaging/Cargo.toml");
    for forbidden in ["imgbucket-", "hyper", "sled"] {
        assert!(
            !imaging.contains(forbidden),
            "imaging must not depend on {forbidden}"
        );
    }
    // Only the metadata module of storage may name sled.
    let mut files = Vec::new();
    for dir in ["src", "storage/src", "imaging/src", "dialects/src"] {
        rust_files(&root().join(dir), &mut files);
    }
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("storage/src/meta.rs"))
        .filter(|f| {
            fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .any(|l| l.contains("sled::") && !l.trim_start().starts_with("//"))
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "sled used outside storage/src/meta.rs: {offenders:?}"
    );
}
