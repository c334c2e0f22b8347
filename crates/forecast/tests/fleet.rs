//! The fleet gbm: no leakage from scored windows, save/load, bad input, and the cold-start path.

use prescale_core::Level;
use prescale_forecast::fleet::{
    FleetConfig, FleetError, FleetInput, FleetSeries, GbmFleet, SeriesInfo, Timing, FORMAT_VERSION,
};
use prescale_forecast::gbm::BoostParams;
use prescale_forecast::{
    backtest_series_with_fleet, cold_start_series, fleet_forecaster, fleet_training_len,
    BacktestConfig, ModelConfig, ModelKind,
};
use std::sync::Arc;

/// Daily-shaped series of different levels with a little deterministic noise.
fn fleet_series(n: usize) -> Vec<(String, Vec<f64>)> {
    (0..5)
        .map(|k| {
            let v = (0..n)
                .map(|t| {
                    let day = (t % 288) as f64 / 288.0 * std::f64::consts::TAU;
                    let noise = ((t * 7919 + k * 104_729) % 101) as f64 / 101.0 - 0.5;
                    (k + 1) as f64 * (20.0 + 8.0 * day.sin()) + noise
                })
                .collect();
            (format!("w{k}"), v)
        })
        .collect()
}

fn small_cfg() -> FleetConfig {
    FleetConfig {
        horizon: 12,
        max_rows: 30_000,
        young_every: Some(4),
        params: BoostParams {
            rounds: 30,
            ..BoostParams::default()
        },
    }
}

fn prefixes<'a>(series: &'a [(String, Vec<f64>)], cfg: &BacktestConfig) -> Vec<FleetSeries<'a>> {
    series
        .iter()
        .map(|(name, v)| FleetSeries {
            name,
            values: &v[..fleet_training_len(v.len(), cfg)],
            season: Some(288),
            timing: Some(Timing {
                first: 1_700_000_000,
                step: 300,
            }),
            context: &[],
        })
        .collect()
}

#[test]
fn noise_in_scored_windows_leaves_the_fleet_model_unchanged() {
    let cfg = BacktestConfig {
        season: Some(288),
        ..BacktestConfig::default()
    };
    let clean = fleet_series(2000);
    let mut noisy = clean.clone();
    // everything from the first calibration origin of the backtest on becomes noise
    let cut = 2000 - (cfg.windows * cfg.horizon + ModelConfig::default().selection_windows + 12);
    for (k, (_, v)) in noisy.iter_mut().enumerate() {
        for (t, x) in v.iter_mut().enumerate().skip(cut) {
            *x = ((t * 31 + k * 17) % 97) as f64 * 1e3;
        }
    }
    let a = GbmFleet::train(&prefixes(&clean, &cfg), &small_cfg()).unwrap();
    let b = GbmFleet::train(&prefixes(&noisy, &cfg), &small_cfg()).unwrap();
    assert_eq!(a.to_json(), b.to_json());
    // and the noise does reach the scores, so the test windows were really replaced
    let input = FleetInput {
        gbm: Arc::new(a),
        timing: None,
        context: Vec::new(),
        rnn: Vec::new(),
        exog: None,
    };
    let s_clean =
        backtest_series_with_fleet(&clean[0].1, &cfg, &[ModelKind::Gbm], Some(&input)).unwrap();
    let s_noisy =
        backtest_series_with_fleet(&noisy[0].1, &cfg, &[ModelKind::Gbm], Some(&input)).unwrap();
    assert_ne!(s_clean.scores[0].mase, s_noisy.scores[0].mase);
}

#[test]
fn a_saved_model_loads_and_forecasts_the_same() {
    let series = fleet_series(1500);
    let cfg = BacktestConfig::default();
    let model = GbmFleet::train(&prefixes(&series, &cfg), &small_cfg()).unwrap();
    let loaded = GbmFleet::from_json(&model.to_json()).unwrap();
    // the training-time bin of each split is not saved; everything a forecast reads is
    assert_eq!(loaded.to_json(), model.to_json());
    assert_eq!((loaded.trees(), loaded.rows), (model.trees(), model.rows));
    let y = &series[1].1[..1000];
    let timing = Some(Timing {
        first: 1_700_000_000,
        step: 300,
    });
    assert_eq!(
        model
            .predict_path(
                y,
                1000,
                12,
                SeriesInfo {
                    season: Some(288),
                    timing,
                    ..SeriesInfo::default()
                }
            )
            .unwrap(),
        loaded
            .predict_path(
                y,
                1000,
                12,
                SeriesInfo {
                    season: Some(288),
                    timing,
                    ..SeriesInfo::default()
                }
            )
            .unwrap()
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let series = fleet_series(600);
    let cfg = BacktestConfig::default();
    let all = prefixes(&series, &cfg);
    assert_eq!(
        GbmFleet::train(&all[..1], &small_cfg()).unwrap_err(),
        FleetError::TooFewSeries { needed: 2, got: 1 }
    );
    let mut bad = series[2].1.clone();
    bad[17] = f64::NAN;
    let mut with_nan = all.clone();
    with_nan[2].values = &bad;
    match GbmFleet::train(&with_nan, &small_cfg()) {
        Err(FleetError::NonFinite { series, index, .. }) => {
            assert_eq!((series.as_str(), index), ("w2", 17))
        }
        other => panic!("{other:?}"),
    }
    let ctx = [1.0];
    let mut mixed = all.clone();
    mixed[3].context = &ctx;
    assert!(matches!(
        GbmFleet::train(&mixed, &small_cfg()),
        Err(FleetError::ContextLength { .. })
    ));
    let model = GbmFleet::train(&all, &small_cfg()).unwrap();
    let newer = model.to_json().replacen(
        &format!("\"version\":{FORMAT_VERSION}"),
        &format!("\"version\":{}", FORMAT_VERSION + 1),
        1,
    );
    let err = GbmFleet::from_json(&newer).unwrap_err();
    assert_eq!(
        err,
        FleetError::NewerVersion {
            found: FORMAT_VERSION + 1,
            supported: FORMAT_VERSION
        }
    );
    assert!(err.to_string().contains("newer"), "{err}");
    assert!(matches!(
        GbmFleet::from_json("{\"format\":\"other\",\"version\":1}"),
        Err(FleetError::Format(_))
    ));
    assert!(matches!(
        GbmFleet::from_json("not json"),
        Err(FleetError::Format(_))
    ));
}

#[test]
fn a_young_series_is_forecast_by_the_fleet_with_a_band() {
    let series = fleet_series(1500);
    let cfg = BacktestConfig::default();
    let model = Arc::new(GbmFleet::train(&prefixes(&series, &cfg), &small_cfg()).unwrap());
    let input = FleetInput {
        gbm: model,
        timing: None,
        context: Vec::new(),
        rnn: Vec::new(),
        exog: None,
    };
    let mcfg = ModelConfig::new(Some(288), 12).unwrap();
    // 12 points: below every local model's minimum
    let y = &series[4].1[600..612];
    for kind in [ModelKind::Gbm, ModelKind::Auto] {
        let fit = fleet_forecaster(kind, &mcfg, input.clone()).fit(y).unwrap();
        assert!(
            fit.describe().spec.contains("young"),
            "{}",
            fit.describe().spec
        );
        let f = fit.predict(12, Level::new(90.0).unwrap()).unwrap();
        for j in 0..12 {
            assert!(f.lower[j] < f.upper[j], "a band, not a line: {f:?}");
            assert!(f.lower[j] <= f.point[j] && f.point[j] <= f.upper[j]);
        }
    }
    // a local model still refuses, and cold start leaves it out rather than substituting another
    let bt = BacktestConfig {
        season: Some(288),
        ..BacktestConfig::default()
    };
    let r = cold_start_series(
        &series[4].1,
        &bt,
        &[ModelKind::Ets, ModelKind::Gbm],
        Some(&input),
        12,
    )
    .unwrap();
    let kinds: Vec<ModelKind> = r.scores.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, vec![ModelKind::Gbm]);
}
