//! Criterion benchmark: each model's `fit` on a 4032-point synthetic seasonal series (season 288),
//! and the fleet gbm's share of a fit: `gbm` and `auto` with the fleet model against `auto` without,
//! in the same run (the ratio is what compares); and inference alone: one 27-step forecast from the
//! end of the series by the trained fleet gbm, GRU and LSTM, against seasonal naive's fit there.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use prescale_forecast::fleet::{FleetConfig, FleetInput, FleetSeries, GbmFleet};
use prescale_forecast::neural::{CellKind, RnnConfig, RnnFleet};
use prescale_forecast::{fleet_forecaster, forecaster, ModelConfig, ModelKind};
use std::sync::Arc;

fn series(n: usize) -> Vec<f64> {
    seeded(n, 42)
}

fn seeded(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|t| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
            let phase = 2.0 * std::f64::consts::PI * (t % 288) as f64 / 288.0;
            50.0 + 0.002 * t as f64 + 10.0 * phase.sin() + 4.0 * noise
        })
        .collect()
}

fn bench_fit(c: &mut Criterion) {
    let y = series(4032);
    let cfg = ModelConfig {
        season: Some(288),
        max_horizon: 12,
        ..ModelConfig::default()
    };
    let mut group = c.benchmark_group("fit_4032");
    group.sample_size(20);
    // local kinds: a fleet kind needs a fleet model (benched below)
    for kind in ModelKind::ALL.into_iter().filter(|k| !k.is_fleet()) {
        let model = forecaster(kind, &cfg);
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                model
                    .fit(black_box(&y))
                    .map(|f| f.describe().calibration_points)
            })
        });
    }
    group.finish();
}

/// The fleet models' training set in both fleet benchmarks: 40 seeded 4032-point series.
fn training_series() -> (Vec<Vec<f64>>, Vec<String>) {
    let train: Vec<Vec<f64>> = (0..40).map(|i| seeded(4032, 100 + i)).collect();
    let names = (0..train.len()).map(|i| format!("s{i}")).collect();
    (train, names)
}

/// `train` as the fleet models read it (season 288, no timing or context).
fn fleet_series<'a>(train: &'a [Vec<f64>], names: &'a [String]) -> Vec<FleetSeries<'a>> {
    train
        .iter()
        .zip(names)
        .map(|(v, name)| FleetSeries {
            name,
            values: v,
            season: Some(288),
            timing: None,
            context: &[],
        })
        .collect()
}

/// The fleet gbm both fleet benchmarks train on `input`, for steps 1..=`horizon`.
fn fleet_gbm(input: &[FleetSeries<'_>], horizon: usize) -> GbmFleet {
    let cfg = FleetConfig {
        horizon,
        ..FleetConfig::default()
    };
    match GbmFleet::train(input, &cfg) {
        Ok(g) => g,
        Err(e) => panic!("training the bench's fleet gbm: {e}"),
    }
}

/// The tick benchmark's shape: horizon 27 (refit every 12 + lead 2, guarded), season 288.
fn bench_fleet(c: &mut Criterion) {
    let horizon = 27;
    let (train, names) = training_series();
    let input = fleet_series(&train, &names);
    let gbm = Arc::new(fleet_gbm(&input, horizon));
    let fleet = FleetInput {
        gbm,
        timing: None,
        context: Vec::new(),
        rnn: Vec::new(),
        exog: None,
    };
    let y = series(4032);
    let model_cfg = ModelConfig {
        season: Some(288),
        max_horizon: horizon,
        ..ModelConfig::default()
    };
    let mut group = c.benchmark_group("fleet_fit_4032_h27");
    group.sample_size(20);
    let plain = forecaster(ModelKind::Auto, &model_cfg);
    let with = fleet_forecaster(ModelKind::Auto, &model_cfg, fleet.clone());
    let gbm = fleet_forecaster(ModelKind::Gbm, &model_cfg, fleet);
    for (name, model) in [("auto", &plain), ("auto+gbm", &with), ("gbm", &gbm)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                model
                    .fit(black_box(&y))
                    .map(|f| f.describe().calibration_points)
            })
        });
    }
    group.finish();
}

/// Inference only: the models are trained once outside the timing, then each iteration makes one
/// forecast (steps 1..=27 from the end of a 4032-point series). The recurrent models train briefly
/// (one epoch over 2 000 windows): a forecast's cost depends on their shape (window 48, hidden 16,
/// the daemon's defaults), not on how well they were trained. Seasonal naive's whole fit on the
/// same series is the baseline measured in the same run.
fn bench_inference(c: &mut Criterion) {
    let horizon = 27;
    let (train, names) = training_series();
    let input = fleet_series(&train, &names);
    let gbm = fleet_gbm(&input, horizon);
    let rnn = |kind| {
        let cfg = RnnConfig {
            epochs: 1,
            max_windows: 2_000,
            ..RnnConfig::new(kind, horizon)
        };
        match RnnFleet::train(&input, &cfg) {
            Ok(m) => m,
            Err(e) => panic!("training the bench's {kind:?}: {e}"),
        }
    };
    let (gru, lstm) = (rnn(CellKind::Gru), rnn(CellKind::Lstm));
    let fleet = FleetInput {
        gbm: Arc::new(gbm.clone()),
        timing: None,
        context: Vec::new(),
        rnn: Vec::new(),
        exog: None,
    };
    let y = series(4032);
    let end = y.len();
    let naive = forecaster(
        ModelKind::SeasonalNaive,
        &ModelConfig {
            season: Some(288),
            max_horizon: horizon,
            ..ModelConfig::default()
        },
    );
    let mut group = c.benchmark_group("inference_4032_h27");
    group.bench_function("seasonal_naive_fit", |b| {
        b.iter(|| {
            naive
                .fit(black_box(&y))
                .map(|f| f.describe().calibration_points)
        })
    });
    group.bench_function("gbm", |b| {
        b.iter(|| gbm.predict_path(black_box(&y), end, horizon, fleet.info(Some(288))))
    });
    group.bench_function("gru", |b| {
        b.iter(|| gru.predict_path(black_box(&y), end, horizon, Some(288)))
    });
    group.bench_function("lstm", |b| {
        b.iter(|| lstm.predict_path(black_box(&y), end, horizon, Some(288)))
    });
    group.finish();
}

criterion_group!(benches, bench_fit, bench_fleet, bench_inference);
criterion_main!(benches);
