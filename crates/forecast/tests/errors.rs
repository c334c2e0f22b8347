//! Error handling: short series, non-finite input, horizons, configs, backtest inputs.

use prescale_core::Level;
use prescale_forecast::{
    backtest_series, forecaster, BacktestConfig, ForecastError, ModelConfig, ModelKind,
};

fn level90() -> Level {
    Level::new(90.0).unwrap()
}

#[test]
fn too_short_series_is_rejected_by_every_model() {
    let cfg = ModelConfig::new(Some(4), 12).unwrap();
    let y = vec![1.0; cfg.min_len() - 1];
    for kind in ModelKind::ALL {
        match forecaster(kind, &cfg).fit(&y) {
            Err(ForecastError::TooShort { needed, got }) => {
                assert_eq!((needed, got), (cfg.min_len(), y.len()))
            }
            other => panic!("{kind}: {:?}", other.map(|f| f.describe())),
        }
    }
}

#[test]
fn minimal_series_fits_every_model() {
    let cfg = ModelConfig::new(Some(4), 12).unwrap();
    let y: Vec<f64> = (0..cfg.min_len()).map(|t| (t % 5) as f64).collect();
    for kind in ModelKind::ALL {
        if kind.is_fleet() {
            match forecaster(kind, &cfg).fit(&y) {
                Err(ForecastError::FitFailed { model, reason }) => {
                    assert_eq!(model, kind);
                    assert!(reason.contains("fleet"), "{reason}");
                }
                other => panic!("{kind} without a fleet: {:?}", other.map(|f| f.describe())),
            }
            continue;
        }
        let f = forecaster(kind, &cfg).fit(&y).unwrap();
        assert_eq!(f.predict(12, level90()).unwrap().horizon(), 12, "{kind}");
    }
}

#[test]
fn non_finite_input_names_the_index() {
    let cfg = ModelConfig::default();
    let mut y = vec![1.0; 100];
    y[37] = f64::NAN;
    for kind in ModelKind::ALL {
        match forecaster(kind, &cfg).fit(&y) {
            Err(ForecastError::NonFinite { index, .. }) => assert_eq!(index, 37),
            other => panic!("{kind}: {:?}", other.map(|f| f.describe())),
        }
    }
    y[37] = f64::INFINITY;
    assert!(matches!(
        forecaster(ModelKind::Naive, &cfg).fit(&y),
        Err(ForecastError::NonFinite { index: 37, .. })
    ));
}

#[test]
fn horizon_beyond_calibration_is_rejected() {
    let cfg = ModelConfig::new(None, 6).unwrap();
    let y: Vec<f64> = (0..200).map(|t| (t % 7) as f64).collect();
    let f = forecaster(ModelKind::Ets, &cfg).fit(&y).unwrap();
    assert_eq!(
        f.predict(7, level90()).unwrap_err(),
        ForecastError::HorizonTooLong { horizon: 7, max: 6 }
    );
    assert_eq!(
        f.predict(0, level90()).unwrap_err(),
        ForecastError::ZeroHorizon
    );
    assert_eq!(f.predict(6, level90()).unwrap().horizon(), 6);
}

#[test]
fn invalid_public_fields_are_caught_on_fit() {
    let cfg = ModelConfig {
        calibration_windows: 1,
        ..ModelConfig::default()
    };
    let y = vec![1.0; 500];
    assert!(matches!(
        forecaster(ModelKind::Naive, &cfg).fit(&y),
        Err(ForecastError::InvalidConfig {
            field: "calibration_windows",
            ..
        })
    ));
}

#[test]
fn backtest_rejects_bad_inputs() {
    let cfg = BacktestConfig::default();
    let y: Vec<f64> = (0..1000).map(|t| (t % 13) as f64).collect();
    assert_eq!(
        backtest_series(&y, &cfg, &[]).unwrap_err(),
        ForecastError::NoModels
    );
    assert!(matches!(
        backtest_series(&y[..150], &cfg, &[ModelKind::Naive]),
        Err(ForecastError::TooShort { .. })
    ));
    assert_eq!(
        backtest_series(&[3.0; 1000], &cfg, &[ModelKind::Naive]).unwrap_err(),
        ForecastError::ZeroScale
    );
    let mut bad = y.clone();
    bad[10] = f64::NAN;
    assert!(matches!(
        backtest_series(&bad, &cfg, &[ModelKind::Naive]),
        Err(ForecastError::NonFinite { index: 10, .. })
    ));
}
