//! Replays the config parser's fuzz checks over the committed seeds and any crash artifacts (and
//! every prefix of each), so `cargo test` exercises them without cargo-fuzz or nightly.

use prescale_daemon::config::fuzzing;
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

#[test]
fn config_corpus() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut inputs = files(&fuzz.join("corpus/config"));
    let seeds = inputs.len();
    inputs.extend(files(&fuzz.join("artifacts/config")));
    assert!(seeds >= 3, "the committed seeds are missing: {seeds}");
    for path in &inputs {
        let data = std::fs::read(path).unwrap();
        for cut in (0..=data.len())
            .step_by(data.len() / 64 + 1)
            .chain([data.len()])
        {
            if let Err(e) = fuzzing::config(&data[..cut]) {
                panic!("{} cut at {cut}: {e}", path.display());
            }
        }
    }
}
