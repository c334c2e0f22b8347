//! Chunk codec measurement on the shared real data: bytes per sample with Gorilla XOR values,
//! decimal deltas, decimal deltas of deltas, and the mode the encoder picks per chunk.
//!
//! `cargo run --release -p prescale-store --example codec_compare [-- DATA_DIR [CHUNK]]`
//! (default `../shared/data`, 1024 samples a chunk).

use prescale_core::{Sample, Timestamp};
use prescale_store::chunk_sizes;
use std::path::{Path, PathBuf};

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD HH:MM:SS` as Unix ms.
fn datetime(s: &str) -> Option<i64> {
    let n = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let d = days(n(0, 4)?, n(5, 7)?, n(8, 10)?);
    Some(((d * 24 + n(11, 13)?) * 60 + n(14, 16)?) * 60_000 + n(17, 19)? * 1000)
}

fn sample(ts: i64, value: f64) -> Sample {
    Sample {
        ts: Timestamp(ts),
        value,
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn files(dir: &Path, ext: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    Ok(out)
}

/// (dataset, its series).
/// A named data set: its series.
type Dataset = (&'static str, Vec<Vec<Sample>>);

fn datasets(root: &Path) -> anyhow::Result<Vec<Dataset>> {
    let mut out = Vec::new();
    let mut nab = Vec::new();
    for f in files(&root.join("nab_realAWSCloudwatch"), "csv")? {
        let text = read(&f)?;
        let s: Vec<Sample> = text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let (t, v) = l.split_once(',')?;
                Some(sample(datetime(t)?, v.trim().parse().ok()?))
            })
            .collect();
        nab.push(s);
    }
    out.push(("NAB AWS CloudWatch (5 min)", nab));
    let mut bb = Vec::new();
    for f in files(&root.join("bitbrains_gwa_t12_rnd/2013-7"), "csv")? {
        let text = read(&f)?;
        let mut cols: Vec<Vec<Sample>> = vec![Vec::new(); 10];
        for l in text.lines().skip(1) {
            let fields: Vec<&str> = l.split(';').map(str::trim).collect();
            let Some(ts) = fields.first().and_then(|t| t.parse::<i64>().ok()) else {
                continue;
            };
            for (c, col) in cols.iter_mut().enumerate() {
                if let Some(v) = fields.get(c + 1).and_then(|v| v.parse::<f64>().ok()) {
                    col.push(sample(ts * 1000, v));
                }
            }
        }
        bb.extend(cols);
    }
    out.push(("Bitbrains VMs (5 min, 10 columns)", bb));
    let text = read(&root.join(
        "alibaba2018_machine_usage_aggregated/machine_usage_days_1_to_8_grouped_30_seconds.csv",
    ))?;
    let mut ali: Vec<Vec<Sample>> = vec![Vec::new(); 5];
    for (i, l) in text.lines().skip(1).enumerate() {
        for (c, v) in l.split(',').enumerate().take(5) {
            if let Ok(v) = v.trim().parse::<f64>() {
                ali[c].push(sample(i as i64 * 30_000, v));
            }
        }
    }
    out.push(("Alibaba cluster means (30 s)", ali));
    let text = read(&root.join("nasa_http_1995/workload.csv"))?;
    let nasa: Vec<Sample> = text
        .lines()
        .skip(1)
        .enumerate()
        .filter_map(|(i, l)| Some(sample(i as i64 * 1000, l.trim().parse().ok()?)))
        .collect();
    out.push(("NASA HTTP requests (1 s)", vec![nasa]));
    Ok(out)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = PathBuf::from(args.first().map_or("../shared/data", String::as_str));
    let chunk: usize = args.get(1).map_or(Ok(1024), |c| c.parse())?;
    println!("bytes per sample, chunks of {chunk} samples (raw: 16)");
    println!(
        "{:<36} {:>10} {:>8} {:>10} {:>10} {:>8}",
        "data", "samples", "xor", "dec-delta", "dec-dod", "chosen"
    );
    let mut total = (0usize, [0usize; 4]);
    for (name, series) in datasets(&root)? {
        let (mut n, mut sizes) = (0usize, [0usize; 4]);
        let mut decimal_everywhere = true;
        for s in &series {
            for c in s.chunks(chunk) {
                let (xor, delta, dod, chosen) = chunk_sizes(c);
                n += c.len();
                sizes[0] += xor;
                // A chunk with a non-decimal value has no decimal size: count its XOR size.
                decimal_everywhere &= delta.is_some();
                sizes[1] += delta.unwrap_or(xor);
                sizes[2] += dod.unwrap_or(xor);
                sizes[3] += chosen;
            }
        }
        let per = |b: usize| b as f64 / n.max(1) as f64;
        println!(
            "{:<36} {:>10} {:>8.2} {:>10.2} {:>10.2} {:>8.2}{}",
            name,
            n,
            per(sizes[0]),
            per(sizes[1]),
            per(sizes[2]),
            per(sizes[3]),
            if decimal_everywhere {
                ""
            } else {
                "  (some chunks not decimal: XOR)"
            }
        );
        total.0 += n;
        for (t, s) in total.1.iter_mut().zip(sizes) {
            *t += s;
        }
    }
    let per = |b: usize| b as f64 / total.0.max(1) as f64;
    println!(
        "{:<36} {:>10} {:>8.2} {:>10.2} {:>10.2} {:>8.2}",
        "all",
        total.0,
        per(total.1[0]),
        per(total.1[1]),
        per(total.1[2]),
        per(total.1[3])
    );
    Ok(())
}
