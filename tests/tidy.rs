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

/// The top-level modules of `src/` and the files that make up each.
fn src_modules() -> Vec<(String, Vec<PathBuf>)> {
    let src = root().join("src");
    let mut modules = Vec::new();
    let Ok(entries) = fs::read_dir(&src) else {
        return modules;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
            modules.push((name, files));
        } else if let Some(stem) = name.strip_suffix(".rs") {
            if stem != "lib" && stem != "main" {
                modules.push((stem.to_string(), vec![path]));
            }
        }
    }
    modules.sort();
    modules
}

/// The top-level modules a file names as `crate::<module>` in its code
/// (comment lines are not imports).
fn crate_references(file: &Path, modules: &[String]) -> Vec<String> {
    let text = fs::read_to_string(file).unwrap_or_default();
    let code: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    let code = code.join("\n");
    modules
        .iter()
        .filter(|m| {
            let path = format!("crate::{m}");
            code.match_indices(&path).any(|(i, _)| {
                // `crate::http` is not `crate::https`.
                let next = code[i + path.len()..].chars().next();
                !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
        .cloned()
        .collect()
}

/// module → the other top-level modules it imports.
fn module_imports() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let modules = src_modules();
    let names: Vec<String> = modules.iter().map(|(n, _)| n.clone()).collect();
    let mut graph = std::collections::BTreeMap::new();
    for (name, files) in &modules {
        let deps: std::collections::BTreeSet<String> = files
            .iter()
            .flat_map(|f| crate_references(f, &names))
            .filter(|d| d != name)
            .collect();
        graph.insert(name.clone(), deps);
    }
    graph
}

/// No two top-level modules of `src/` import each other, directly or
/// through others: the request line runs one way (server → front → s3 |
/// images → http → auth, config).
#[test]
fn src_modules_form_no_import_cycle() {
    let graph = module_imports();
    assert!(
        ["front", "http", "s3", "images", "auth"]
            .iter()
            .all(|m| graph.contains_key(*m)),
        "the top-level modules moved: {:?}",
        graph.keys().collect::<Vec<_>>()
    );
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!(
                "import cycle between top-level modules: {}",
                cycle.join(" → ")
            );
        }
    }
}

/// The two handler families are siblings: the S3 handlers never import the
/// image handlers, nor the other way round, nor either the front door; the
/// HTTP layer and auth know none of them.
#[test]
fn handler_families_are_siblings() {
    let graph = module_imports();
    let forbidden: &[(&str, &[&str])] = &[
        ("s3", &["images", "front", "server"]),
        ("images", &["s3", "front", "server"]),
        ("http", &["s3", "images", "front", "server"]),
        ("auth", &["http", "s3", "images", "front", "server"]),
        // The sweeper works over the store alone, beside the handlers.
        ("lifecycle", &["s3", "images", "front", "server", "gateway"]),
    ];
    for (module, never) in forbidden {
        let deps = graph.get(*module).cloned().unwrap_or_default();
        for n in *never {
            assert!(
                !deps.contains(*n),
                "src/{module} imports crate::{n}; it must not (see docs/ARCHITECTURE.md)"
            );
        }
    }
}

/// `dialects` turns vendor syntax into pipelines and nothing else: it
/// depends on neither the HTTP layer nor storage.
#[test]
fn dialects_depend_on_neither_http_nor_storage() {
    let manifest = fs::read_to_string(root().join("dialects/Cargo.toml")).expect("manifest");
    let deps: Vec<&str> = manifest
        .lines()
        .filter(|l| !l.starts_with("name =") && !l.starts_with("description ="))
        .collect();
    for forbidden in [
        "hyper",
        "http",
        "imgbucket-storage",
        "sled",
        "path = \"..\"",
    ] {
        assert!(
            !deps.iter().any(|l| l.contains(forbidden)),
            "dialects must not depend on {forbidden}"
        );
    }
}
