//! Tiny readers for the shared real telemetry (NAB CSV `value` column; Bitbrains `CPU usage [MHZ]`).

use std::path::{Path, PathBuf};

/// `../shared/data` relative to this crate, if present.
pub fn data_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    p.is_dir().then_some(p)
}

/// Data dir or skip (panics under CI=true).
pub fn data_dir_or_skip() -> Option<PathBuf> {
    let dir = data_dir();
    if dir.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("../shared/data not found and CI=true");
        }
        println!("skipping: ../shared/data not found");
    }
    dir
}

/// The `value` column (second) of a NAB CSV.
pub fn read_nab(path: &Path) -> std::io::Result<Vec<f64>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1)?.trim().parse().ok())
        .collect())
}

/// Column 4 (`CPU usage [MHZ]`) of a Bitbrains `;\t`-separated file.
pub fn read_bitbrains_cpu(path: &Path) -> std::io::Result<Vec<f64>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(';').nth(3)?.trim().parse().ok())
        .collect())
}

/// Every NAB realAWSCloudwatch and Bitbrains series as (name, values), sorted by name per folder.
pub fn all_series(dir: &Path) -> std::io::Result<Vec<(String, Vec<f64>)>> {
    let mut out = Vec::new();
    let list = |sub: &str| -> std::io::Result<Vec<PathBuf>> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "csv"))
            .collect();
        v.sort();
        Ok(v)
    };
    for p in list("nab_realAWSCloudwatch")? {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        out.push((name.unwrap_or_default(), read_nab(&p)?));
    }
    for p in list("bitbrains_gwa_t12_rnd/2013-7")? {
        let name = p.file_name().map(|n| format!("bb_{}", n.to_string_lossy()));
        out.push((name.unwrap_or_default(), read_bitbrains_cpu(&p)?));
    }
    Ok(out)
}
