//! `prescale demo-data` and `prescale demo`: the synthetic fleet and the whole pipeline run on it.

use crate::args::{
    AggArg, AlgorithmArg, BacktestArgs, ClusterArgs, DemoArgs, DemoDataArgs, FingerprintArgs,
    FleetMode, ForecastArgs, ImportArgs, InputArgs, ReadArgs,
};
use crate::timearg;
use anyhow::{Context, Result};
use prescale_core::{Labels, Series, SeriesKey, WorkloadId};
use prescale_telemetry::synthetic::{demo_fleet, write_long_csv, DemoConfig};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

fn write_fleet(path: &Path, series: &[Series]) -> Result<()> {
    let f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    write_long_csv(series, BufWriter::new(f)).with_context(|| format!("writing {}", path.display()))
}

pub fn data(args: &DemoDataArgs) -> Result<()> {
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
    Ok(())
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
    println!("== 1. demo-data (synthetic, labelled synthetic=true)");
    data(&DemoDataArgs {
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
    println!("\n== 2. import into {}", db.display());
    super::import::run(
        &mut store,
        &ImportArgs {
            paths: vec![fleet_csv.clone()],
            read: read(true),
            json: false,
        },
    )?;

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
    super::import::run(
        &mut store,
        &ImportArgs {
            paths: vec![newcomer_csv],
            read: read(true),
            json: false,
        },
    )?;
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
        "\nfiles: {} (map.svg, map.json, backtest.json); store: {}",
        args.out.display(),
        db.display()
    );
    Ok(())
}
