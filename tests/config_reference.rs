//! The configuration reference in `docs/operations.md` cannot drift from
//! the config structs: every key `FileConfig` accepts (found by tracing its
//! `Deserialize` implementation, not by reading the source) is in the
//! reference table, and every key in the table is one the server accepts.

use imgbucket::config::FileConfig;
use serde_reflection::{ContainerFormat, Format, Named, Registry, Tracer, TracerConfig};
use std::collections::BTreeSet;

/// Key paths of the struct `name` under `prefix` (`processing.oss.max_side`;
/// an array of tables as `users[].name`).
fn keys_of(registry: &Registry, name: &str, prefix: &str, out: &mut BTreeSet<String>) {
    let Some(ContainerFormat::Struct(fields)) = registry.get(name) else {
        return;
    };
    for Named { name, value } in fields {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match nested(value) {
            Some((inner, true)) => keys_of(registry, inner, &format!("{path}[]"), out),
            Some((inner, false))
                if matches!(registry.get(inner), Some(ContainerFormat::Struct(_))) =>
            {
                keys_of(registry, inner, &path, out)
            }
            _ => {
                out.insert(path);
            }
        }
    }
}

/// The struct a field holds (through `Option`), and whether it is a list.
fn nested(format: &Format) -> Option<(&str, bool)> {
    match format {
        Format::TypeName(n) => Some((n, false)),
        Format::Option(inner) => nested(inner),
        Format::Seq(inner) => nested(inner).map(|(n, _)| (n, true)),
        _ => None,
    }
}

fn accepted_keys() -> BTreeSet<String> {
    let mut tracer = Tracer::new(TracerConfig::default());
    let samples = serde_reflection::Samples::new();
    let (format, _) = tracer
        .trace_type::<FileConfig>(&samples)
        .expect("FileConfig traces");
    // Enums (`LogFormat`) and types read from strings (`SocketAddr`) are
    // leaves here: only struct fields are keys.
    let registry = tracer.registry_unchecked();
    let Format::TypeName(root) = format else {
        panic!("FileConfig is a struct")
    };
    let mut keys = BTreeSet::new();
    keys_of(&registry, &root, "", &mut keys);
    keys
}

/// The first column of the reference table: `` | `key` | ``.
fn documented_keys() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md"))
        .expect("docs/operations.md");
    let section = doc
        .split("\n## Configuration reference")
        .nth(1)
        .expect("docs/operations.md has a `## Configuration reference` section");
    let section = section.split("\n## ").next().unwrap_or(section);
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(k, _)| k.to_string()))
        .collect()
}

#[test]
fn every_config_key_is_documented_and_every_documented_key_exists() {
    let accepted = accepted_keys();
    assert!(accepted.contains("processing.oss.max_side"), "{accepted:?}");
    let documented = documented_keys();
    let missing: Vec<_> = accepted.difference(&documented).collect();
    let unknown: Vec<_> = documented.difference(&accepted).collect();
    assert!(
        missing.is_empty(),
        "config keys missing from the reference in docs/operations.md: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "docs/operations.md documents keys the server does not accept: {unknown:?}"
    );
}
