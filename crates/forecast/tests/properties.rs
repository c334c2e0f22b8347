//! Property tests: forecast shape, band ordering and finiteness for any finite input.

use prescale_core::Level;
use prescale_forecast::fleet::{FleetConfig, FleetInput, FleetSeries, GbmFleet};
use prescale_forecast::gbm::BoostParams;
use prescale_forecast::neural::{CellKind, RnnConfig, RnnFleet};
use prescale_forecast::{fleet_forecaster, forecaster, Forecaster, ModelConfig, ModelKind};
use proptest::prelude::*;
use std::sync::{Arc, OnceLock};

/// Small fleet models (gbm, gru, lstm) trained once on synthetic daily-ish series, shared by every
/// case.
fn fleet() -> FleetInput {
    static FLEET: OnceLock<FleetInput> = OnceLock::new();
    FLEET
        .get_or_init(|| {
            let series: Vec<(String, Vec<f64>)> = (0..6)
                .map(|k| {
                    let v = (0..400)
                        .map(|t| {
                            let phase = t as f64 * std::f64::consts::TAU / (12.0 + k as f64);
                            10.0 * (k + 1) as f64
                                + 3.0 * phase.sin()
                                + ((t * 7919 + k) % 13) as f64 * 0.1
                        })
                        .collect();
                    (format!("s{k}"), v)
                })
                .collect();
            let input: Vec<FleetSeries<'_>> = series
                .iter()
                .map(|(name, values)| FleetSeries {
                    name,
                    values,
                    season: Some(12),
                    timing: None,
                    context: &[],
                })
                .collect();
            let cfg = FleetConfig {
                horizon: 12,
                max_rows: 20_000,
                young_every: Some(4),
                params: BoostParams {
                    rounds: 20,
                    ..BoostParams::default()
                },
            };
            let rnn = [CellKind::Gru, CellKind::Lstm]
                .into_iter()
                .map(|kind| {
                    let mut c = RnnConfig::new(kind, 12);
                    (c.window, c.hidden, c.max_windows, c.epochs) = (12, 4, 400, 2);
                    Arc::new(RnnFleet::train(&input, &c).unwrap())
                })
                .collect();
            FleetInput {
                gbm: Arc::new(GbmFleet::train(&input, &cfg).unwrap()),
                timing: None,
                context: Vec::new(),
                rnn,
                exog: None,
            }
        })
        .clone()
}

/// Every model kind's forecaster; fleet kinds get the shared synthetic fleet model.
fn any_forecaster(kind: ModelKind, cfg: &ModelConfig) -> Box<dyn Forecaster> {
    if kind.is_fleet() {
        fleet_forecaster(kind, cfg, fleet())
    } else {
        forecaster(kind, cfg)
    }
}

fn series() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        // arbitrary finite values over many magnitudes
        prop::collection::vec(-1e6f64..1e6, 24..160),
        // non-negative with spikes
        prop::collection::vec(prop_oneof![0.0f64..5.0, 1e3f64..1e4], 24..160),
        // constant
        (any::<i16>(), 24usize..160).prop_map(|(v, n)| vec![f64::from(v); n]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn forecasts_are_well_formed(
        y in series(),
        season in prop::option::of(2usize..30),
        h in 1usize..=12,
        level in 50.0f64..99.0,
    ) {
        let cfg = ModelConfig::new(season, 12).unwrap();
        let level = Level::new(level).unwrap();
        let nonneg = y.iter().all(|&v| v >= 0.0);
        for kind in ModelKind::ALL {
            let fitted = any_forecaster(kind, &cfg).fit(&y).unwrap();
            let f = fitted.predict(h, level).unwrap();
            prop_assert_eq!(f.point.len(), h);
            prop_assert_eq!(f.lower.len(), h);
            prop_assert_eq!(f.upper.len(), h);
            for j in 0..h {
                prop_assert!(f.point[j].is_finite() && f.lower[j].is_finite() && f.upper[j].is_finite());
                prop_assert!(f.lower[j] <= f.point[j] && f.point[j] <= f.upper[j],
                    "{}: {} {} {}", kind, f.lower[j], f.point[j], f.upper[j]);
                if nonneg {
                    prop_assert!(f.lower[j] >= 0.0);
                }
            }
        }
    }

    #[test]
    fn constant_series_forecast_the_constant(v in -1e5f64..1e5, n in 24usize..200) {
        let y = vec![v; n];
        let cfg = ModelConfig::new(Some(7), 12).unwrap();
        // gbm is left out on purpose: a flat history is one more input row to the fleet model, which
        // may have learned that flat spells end
        for kind in ModelKind::ALL.into_iter().filter(|k| !k.is_fleet()) {
            let f = forecaster(kind, &cfg).fit(&y).unwrap().predict(12, Level::new(90.0).unwrap()).unwrap();
            for p in &f.point {
                prop_assert!((p - v).abs() <= 1e-6 * v.abs().max(1.0), "{}: {} vs {}", kind, p, v);
            }
        }
    }

    #[test]
    fn wider_level_gives_wider_band(y in prop::collection::vec(0.0f64..100.0, 60..120)) {
        let cfg = ModelConfig::new(None, 6).unwrap();
        let f = forecaster(ModelKind::Ets, &cfg).fit(&y).unwrap();
        let narrow = f.predict(6, Level::new(50.0).unwrap()).unwrap();
        let wide = f.predict(6, Level::new(95.0).unwrap()).unwrap();
        for j in 0..6 {
            prop_assert!(wide.upper[j] >= narrow.upper[j] && wide.lower[j] <= narrow.lower[j]);
        }
    }
}
