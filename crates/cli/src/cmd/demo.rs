//! `prescale demo-data` and `prescale demo-pipeline`: the synthetic fleet and the whole pipeline
//! run on it, in the demo's own store with the fleet's labels kept.

use crate::args::{
    AggArg, AlgorithmArg, BacktestArgs, ClusterArgs, DemoArgs, DemoDataArgs, FingerprintArgs,
    FleetMode, ForecastArgs, InputArgs, ReadArgs,
};
use crate::output::table;
use crate::timearg;
use anyhow::{Context, Result};
use prescale_core::{Labels, Series, SeriesKey, WorkloadId};
use prescale_store::Store;
use prescale_telemetry::synthetic::{demo_fleet, write_long_csv, DemoConfig};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// The pipeline demo's store in its folder, emptied at every start (unless `--db` names another).
pub const STORE: &str = "pipeline.db";

fn write_fleet(path: &Path, series: &[Series]) -> Result<()> {
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    write_long_csv(series, BufWriter::new(f)).with_context(|| format!("writing {}", path.display()))
}

pub fn data(args: &DemoDataArgs) -> Result<()> {
    generate(args).map(|_| ())
}

/// Writes the synthetic fleet as CSV and returns it (with its labels, which the CSV lacks).
fn generate(args: &DemoDataArgs) -> Result<Vec<Series>> {
    let cfg = DemoConfig {
        workloads: args.workloads,
        days: args.days,
        interval: timearg::duration("--interval", &args.interval)?,
        seed: args.seed,
        ..DemoConfig::default()
    };
    if cfg.workloads == 0 || cfg.days == 0 || cfg.days > 3650 || cfg.workloads > 10_000 {
        anyhow::bail!("--workloads must be 1..=10000 and --days 1..=3650");
    }
    let fleet = demo_fleet(&cfg)?;
    write_fleet(&args.out, &fleet)?;
    println!(
        "wrote {} synthetic series ({} workloads × requests/cpu/memory, {} days at {} s) to {}",
        fleet.len(),
        cfg.workloads,
        cfg.days,
        cfg.interval.secs_f64(),
        args.out.display()
    );
    Ok(fleet)
}

/// Stores generated series as they are, labels included (the long CSV written beside them has
/// none: importing it would lose them), and prints what was stored.
fn store_series(store: &mut Store, series: &[Series], csv: &Path) -> Result<()> {
    let (mut inserted, mut replaced, mut samples) = (0, 0, 0);
    let mut labels = BTreeSet::new();
    for s in series {
        let st = store
            .upsert_series(s)
            .with_context(|| format!("storing {}", s.key))?;
        inserted += st.inserted;
        replaced += st.replaced;
        samples += s.len();
        labels.extend(s.labels.keys().cloned());
    }
    let workloads: BTreeSet<&WorkloadId> = series.iter().map(|s| &s.key.workload).collect();
    print!(
        "{}",
        table(
            &[
                "workloads",
                "series",
                "samples",
                "new",
                "replaced",
                "labels"
            ],
            &[vec![
                workloads.len().to_string(),
                series.len().to_string(),
                samples.to_string(),
                inserted.to_string(),
                replaced.to_string(),
                labels.into_iter().collect::<Vec<_>>().join(","),
            ]],
        )
    );
    println!(
        "(the same samples, without labels, are in {}: `prescale import` reads it)",
        csv.display()
    );
    Ok(())
}

/// The store the pipeline demo uses: `--db` when given, else its own in `out`, emptied first.
fn demo_store(db: &Path, out: &Path) -> Result<PathBuf> {
    if db != Path::new("prescale.db") {
        return Ok(db.to_path_buf());
    }
    let entries = std::fs::read_dir(out).with_context(|| format!("listing {}", out.display()))?;
    for e in entries.flatten() {
        let ours = e.file_name().to_string_lossy().starts_with(STORE);
        if ours && e.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(e.path())
                .with_context(|| format!("removing {}", e.path().display()))?;
        }
    }
    Ok(out.join(STORE))
}

fn read(shape_long: bool) -> ReadArgs {
    ReadArgs {
        shape: shape_long.then_some(crate::args::ShapeArg::Long),
        workload: None,
        interval: None,
        columns: Vec::new(),
        skip_bad: false,
        resample: None,
        agg: AggArg::Mean,
    }
}

pub fn run(db: &Path, args: &DemoArgs) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let fleet_csv = args.out.join("demo-fleet.csv");
    let newcomer_csv = args.out.join("newcomer.csv");
    let db = &demo_store(db, &args.out)?;
    println!("== 1. demo-data (synthetic, labelled synthetic=true and by archetype)");
    let fleet = generate(&DemoDataArgs {
        out: fleet_csv.clone(),
        workloads: args.workloads,
        days: args.days,
        interval: "5m".into(),
        seed: 42,
    })?;
    // A workload with only one day of history, to show nearest-cluster placement.
    let young = demo_fleet(&DemoConfig {
        workloads: 1,
        days: 1,
        seed: 4242,
        ..DemoConfig::default()
    })?;
    let young: Vec<Series> = young
        .into_iter()
        .map(|s| {
            let key = SeriesKey::new(WorkloadId::new("newcomer-web")?, s.key.metric.clone());
            let mut labels: Labels = s.labels.clone();
            labels.insert("note".into(), "one day of history".into());
            Ok(Series::new(key, labels, s.samples().to_vec())?)
        })
        .collect::<Result<_>>()?;
    write_fleet(&newcomer_csv, &young)?;

    let mut store = super::open(db)?;
    println!("\n== 2. store into {}, labels kept", db.display());
    store_series(&mut store, &fleet, &fleet_csv)?;

    println!("\n== 3. fingerprint");
    super::fingerprint::run(
        &mut store,
        &FingerprintArgs {
            at: None,
            windows: vec!["1h".into(), "1d".into(), "1w".into()],
            variance: 0.95,
            components: None,
            reducer: None,
            map_json: Some(args.out.join("map.json")),
            svg: None,
            tsne: false,
            refit: false,
            history: None,
            basis: None,
            json: false,
        },
    )?;

    println!("\n== 4. cluster (the map coloured by k-means cluster goes to map.svg)");
    let cl = |assign: Option<String>, svg: bool| ClusterArgs {
        algorithm: AlgorithmArg::Both,
        k: None,
        eps: None,
        min_points: 2,
        seed: 7,
        assign,
        svg: svg.then(|| args.out.join("map.svg")),
        json: false,
    };
    super::cluster::run(&mut store, &cl(None, true))?;

    println!("\n== 5. a newcomer with one day of history borrows its nearest cluster");
    store_series(&mut store, &young, &newcomer_csv)?;
    super::cluster::run(&mut store, &cl(Some("newcomer-web".into()), false))?;

    println!("\n== 6. forecast the next hour of web-daily-1 requests");
    super::forecast::run(
        &mut store,
        &ForecastArgs {
            workload: "web-daily-1".into(),
            metric: "requests".into(),
            horizon: "1h".into(),
            level: 90.0,
            model: "auto".into(),
            season: None,
            json: false,
        },
    )?;

    println!("\n== 7. backtest every demo series (history 4032, 12 windows × 12 steps, 90% band)");
    let mut r = read(true);
    r.columns = Vec::new();
    super::backtest::run(&BacktestArgs {
        inputs: InputArgs {
            paths: vec![fleet_csv],
            suite: None,
            read: r,
        },
        models: [
            "naive",
            "seasonal_naive",
            "ets",
            "mstl",
            "theta",
            "gbm",
            "auto",
        ]
        .map(String::from)
        .to_vec(),
        horizon: 12,
        windows: 12,
        history: 4032,
        level: 90.0,
        season: None,
        json: Some(args.out.join("backtest.json")),
        threads: None,
        fleet: FleetMode::On,
        cold_start: Vec::new(),
    })?;
    println!(
        "\nfiles: {} (map.svg, map.json, backtest.json); store: {} (labelled: try \
         `prescale --db {} recommend --like-labels archetype=web-daily --capacity-per-replica 50`)",
        args.out.display(),
        db.display(),
        db.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_fleet_is_stored_with_its_labels() {
        let dir = tempfile::tempdir().unwrap();
        let fleet = generate(&DemoDataArgs {
            out: dir.path().join("fleet.csv"),
            workloads: 2,
            days: 1,
            interval: "1h".into(),
            seed: 1,
        })
        .unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        store_series(&mut store, &fleet, &dir.path().join("fleet.csv")).unwrap();
        let listed = store.list_series().unwrap();
        assert_eq!(listed.len(), fleet.len());
        for i in &listed {
            assert_eq!(
                i.labels.get("synthetic").map(String::as_str),
                Some("true"),
                "{i:?}"
            );
            assert!(i.labels.contains_key("archetype"), "{i:?}");
        }
    }

    #[test]
    fn the_default_store_is_the_demos_own_and_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pipeline.db"), b"old").unwrap();
        std::fs::write(dir.path().join("pipeline.db-wal"), b"old").unwrap();
        std::fs::write(dir.path().join("map.svg"), b"kept").unwrap();
        let db = demo_store(Path::new("prescale.db"), dir.path()).unwrap();
        assert_eq!(db, dir.path().join("pipeline.db"));
        assert!(!db.exists() && !dir.path().join("pipeline.db-wal").exists());
        assert!(dir.path().join("map.svg").exists());
        // A store named with --db is used as it is.
        let mine = dir.path().join("mine.db");
        std::fs::write(&mine, b"mine").unwrap();
        assert_eq!(demo_store(&mine, dir.path()).unwrap(), mine);
        assert!(mine.exists());
    }
}
