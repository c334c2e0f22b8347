//! `docs/architecture.md` states the workspace's real dependency graph: its table lists, for every
//! crate under `crates/`, exactly the workspace crates its `Cargo.toml` `[dependencies]` name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every crate's workspace dependencies (`prescale-X` keys of its `[dependencies]` table).
fn from_manifests(crates: &Path) -> Graph {
    let mut graph = Graph::new();
    let dirs = std::fs::read_dir(crates).unwrap_or_else(|e| panic!("reading {crates:?}: {e}"));
    for dir in dirs.flatten() {
        let manifest = dir.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let name = dir.file_name().to_string_lossy().into_owned();
        let mut deps = BTreeSet::new();
        let mut in_deps = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_deps = line == "[dependencies]";
            } else if in_deps {
                let key = line.split(['=', '.', ' ']).next().unwrap_or("");
                if let Some(dep) = key.strip_prefix("prescale-") {
                    deps.insert(dep.to_string());
                }
            }
        }
        graph.insert(name, deps);
    }
    graph
}

/// The table's rows: `| crate | a, b |`.
fn from_doc(doc: &str) -> Graph {
    let mut graph = Graph::new();
    let mut in_table = false;
    for line in doc.lines() {
        if line.starts_with("| crate | depends on |") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("|---") {
            continue;
        }
        let Some(row) = line.strip_prefix('|') else {
            break;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let deps = cells
            .get(1)
            .map(|d| {
                d.split(',')
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        graph.insert(cells[0].to_string(), deps);
    }
    graph
}

#[test]
fn the_documented_dependency_graph_is_the_real_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let doc = std::fs::read_to_string(root.join("docs/architecture.md"))
        .unwrap_or_else(|e| panic!("reading docs/architecture.md: {e}"));
    let real = from_manifests(&root.join("crates"));
    assert!(real.len() >= 20, "found the workspace's crates: {real:?}");
    let documented = from_doc(&doc);
    for (name, deps) in &real {
        assert_eq!(
            documented.get(name),
            Some(deps),
            "docs/architecture.md: the row of `{name}` must list {deps:?}"
        );
    }
    let extra: Vec<&String> = documented
        .keys()
        .filter(|k| !real.contains_key(*k))
        .collect();
    assert!(
        extra.is_empty(),
        "rows for crates that do not exist: {extra:?}"
    );
}
