//! Replays the fuzz targets' checks over the committed seeds, any crash artifacts, and fixtures,
//! so the fuzz invariants are exercised by a plain `cargo test` without cargo-fuzz or nightly.

use prescale_ingest::fuzzing;
use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn replay(target: &str, check: fn(&[u8]) -> Result<(), String>, extra: &[PathBuf]) -> usize {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut inputs = files(&fuzz.join("corpus").join(target));
    inputs.extend(files(&fuzz.join("artifacts").join(target)));
    inputs.extend_from_slice(extra);
    for path in &inputs {
        let data = std::fs::read(path).unwrap();
        if let Err(e) = check(&data) {
            panic!("{}: {e}", path.display());
        }
        // Every prefix too: truncated bodies are a classic source of decoder bugs.
        for cut in (0..data.len()).step_by(data.len() / 64 + 1) {
            if let Err(e) = check(&data[..cut]) {
                panic!("{} cut at {cut}: {e}", path.display());
            }
        }
    }
    inputs.len()
}

#[test]
fn exposition_corpus() {
    let fixtures = files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data"));
    assert!(replay("exposition", fuzzing::exposition, &fixtures) >= 2);
}

#[test]
fn remote_write_corpus() {
    replay("remote_write", fuzzing::remote_write, &[]);
}
