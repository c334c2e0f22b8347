//! `prescale config check FILE`: the example config passes; a broken one lists every problem with
//! its path, one per line, and exits 1.

mod common;

use std::path::Path;

#[test]
fn the_example_config_checks_ok() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/prescale.example.toml");
    let out = common::ok(
        &dir.path().join("p.db"),
        &["config", "check", example.to_str().unwrap()],
    );
    assert!(out.contains(": ok"), "{out}");
}

#[test]
fn every_problem_is_listed_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        r#"
tick = "0s"
[[scrape]]
name = "api"
url = "ftp://example"
[[workload]]
workload = "api"
metric = "rps"
capacity_per_replica = -1.0
"#,
    )
    .unwrap();
    let out = common::prescale(
        &dir.path().join("p.db"),
        &["config", "check", file.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let problems: Vec<&str> = text.lines().skip(1).collect();
    assert!(problems.len() >= 3, "{text}");
    for want in ["tick", "scrape[0].url", "workload[0]"] {
        assert!(
            problems.iter().any(|l| l.trim_start().starts_with(want)),
            "no problem at {want}: {text}"
        );
    }
    // Unparsable TOML is an error naming the file, not a list.
    std::fs::write(&file, "tick = [").unwrap();
    let err = common::fails(
        &dir.path().join("p.db"),
        &["config", "check", file.to_str().unwrap()],
    );
    assert!(err.contains("bad.toml"), "{err}");
}
