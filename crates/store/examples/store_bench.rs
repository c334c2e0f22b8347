//! Rough store timings: upsert, replace, load and list a 100k-sample series in a temporary file.

use prescale_core::{Labels, MetricName, Sample, Series, SeriesKey, Timestamp, WorkloadId};
use prescale_store::Store;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("prescale-store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("bench.db");
    let mut store = Store::open(&path)?;
    let n: i64 = 100_000;
    let make = |w: &str, offset: i64| -> Result<Series, Box<dyn std::error::Error>> {
        let key = SeriesKey::new(WorkloadId::new(w)?, MetricName::new("cpu")?);
        let samples = (0..n)
            .map(|i| Sample {
                ts: Timestamp((i + offset) * 60_000),
                value: (i as f64 * 0.01).sin(),
            })
            .collect();
        Ok(Series::new(key, Labels::new(), samples)?)
    };
    let a = make("bench-a", 0)?;
    let t = Instant::now();
    let s = store.upsert_series(&a)?;
    println!(
        "insert {n} samples: {:.1} ms ({s:?})",
        t.elapsed().as_secs_f64() * 1e3
    );
    let half = make("bench-a", n / 2)?;
    let t = Instant::now();
    let s = store.upsert_series(&half)?;
    println!(
        "upsert {n} samples, half overlapping: {:.1} ms ({s:?})",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let loaded = store.load_series(&a.key)?.map_or(0, |s| s.len());
    println!(
        "load {loaded} samples: {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let until = store
        .load_series_until(&a.key, Timestamp(n / 4 * 60_000))?
        .map_or(0, |s| s.len());
    println!(
        "load_until ({until} samples): {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    for i in 0..50 {
        let mut s = make(&format!("w{i}"), 0)?;
        s = Series::new(s.key.clone(), Labels::new(), s.samples()[..2000].to_vec())?;
        store.upsert_series(&s)?;
    }
    let t = Instant::now();
    let listed = store.list_series()?.len();
    println!(
        "list {listed} series: {:.1} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    drop(store);
    println!(
        "file size: {:.1} MB",
        std::fs::metadata(&path)?.len() as f64 / 1e6
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
