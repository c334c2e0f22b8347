//! Known answers of the fleet gbm's exogenous inputs: a downstream series whose demand is its
//! upstream's two steps later is forecast clearly better with the upstream as its predictor, demand
//! lifted during annotated campaigns is forecast clearly better with the campaigns as events, a
//! predictor's values after an origin are never read from it (only its own forecast, from the end),
//! the inputs reach the gbm through the `Forecaster` API, and a version-1 model still loads.
//! Figures on a larger fleet: `cargo run --release -p prescale-forecast --example exog_known_answers`.

#[path = "support/exog_fleet.rs"]
mod exog_fleet;

use exog_fleet::*;
use prescale_core::Level;
use prescale_forecast::fleet::{Exog, FleetInput, GbmFleet, SeriesInfo};
use prescale_forecast::{fleet_forecaster, ModelConfig, ModelKind};
use std::sync::{Arc, OnceLock};

const HORIZON: usize = 12;
const N: usize = 1200;
/// Series 0..TRAIN train the models; the others are held out.
const TRAIN: usize = 6;
const PAIRS: usize = 9;
/// Held-out origins start here.
const FROM: usize = 800;

fn pair_set() -> &'static Vec<Pair> {
    static P: OnceLock<Vec<Pair>> = OnceLock::new();
    P.get_or_init(|| pairs(PAIRS, N))
}

/// Upstream and downstream series of the training pairs, the downstream with its predictor.
fn pair_models() -> &'static (GbmFleet, GbmFleet) {
    static M: OnceLock<(GbmFleet, GbmFleet)> = OnceLock::new();
    M.get_or_init(|| {
        let p = &pair_set()[..TRAIN];
        let series: Vec<&[f64]> = p
            .iter()
            .flat_map(|x| [x.upstream.as_slice(), x.downstream.as_slice()])
            .collect();
        let exog = |i: usize, cut: usize| match i % 2 {
            1 => predictor_input(&p[i / 2].upstream[..cut]),
            _ => Exog::default(),
        };
        let cfg = config(HORIZON);
        (
            train(&series, Some(&exog), N, &cfg),
            train(&series, None, N, &cfg),
        )
    })
}

#[test]
fn an_upstream_predictor_makes_the_downstream_forecast_clearly_better() {
    let (with, without) = pair_models();
    assert_eq!(with.exog.predictors, 1);
    assert!(with.features.iter().any(|f| f == "exog.0.lead.2"));
    assert!(without.exog.is_empty());
    assert_eq!(without.features.len(), with.features.len() - 8);
    let all = |_: usize| true;
    // origins every HORIZON steps from FROM: the first LEAD steps of each, which the upstream
    // already shows
    let lead = |t: usize| (t - FROM) % HORIZON < LEAD;
    let (mut a, mut b, mut c, mut a_lead, mut b_lead) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let held = &pair_set()[TRAIN..];
    for p in held {
        let ex = predictor_input(&p.upstream);
        a += scaled_error(with, &p.downstream, Some(&ex), FROM, 3, &all);
        b += scaled_error(without, &p.downstream, None, FROM, 3, &all);
        // the model with predictor features, for a series that has none: no worse than far off
        c += scaled_error(with, &p.downstream, None, FROM, 3, &all);
        a_lead += scaled_error(with, &p.downstream, Some(&ex), FROM, HORIZON, &lead);
        b_lead += scaled_error(without, &p.downstream, None, FROM, HORIZON, &lead);
    }
    let k = held.len() as f64;
    let (a, b, c) = (a / k, b / k, c / k);
    let (a_lead, b_lead) = (a_lead / k, b_lead / k);
    println!(
        "held-out downstream MASE: with predictor {a:.3}, without {b:.3}; the first {LEAD} steps \
         {a_lead:.3} vs {b_lead:.3}; the model with predictor features, none given: {c:.3}"
    );
    assert!(a < 0.9 * b, "with {a:.3} vs without {b:.3}");
    assert!(
        a_lead < 0.6 * b_lead,
        "first steps: with {a_lead:.3} vs without {b_lead:.3}"
    );
    assert!(c < 1.1 * b, "missing predictor features {c:.3} vs {b:.3}");
}

fn campaign_models() -> &'static (Vec<Campaigned>, GbmFleet, GbmFleet) {
    static M: OnceLock<(Vec<Campaigned>, GbmFleet, GbmFleet)> = OnceLock::new();
    M.get_or_init(|| {
        let set = campaigned(PAIRS, N);
        let series: Vec<&[f64]> = set[..TRAIN].iter().map(|s| s.values.as_slice()).collect();
        let exog = |i: usize, cut: usize| campaign_input(&set[i].campaigns, cut);
        let cfg = config(HORIZON);
        let with = train(&series, Some(&exog), N, &cfg);
        let without = train(&series, None, N, &cfg);
        (set, with, without)
    })
}

#[test]
fn campaign_events_make_the_forecast_during_campaigns_clearly_better() {
    let (set, with, without) = campaign_models();
    assert!(with.exog.events && with.exog.predictors == 0);
    assert!(with.features.iter().any(|f| f == "event.campaign.active"));
    let (mut a, mut b, mut a_all, mut b_all) = (0.0, 0.0, 0.0, 0.0);
    let held = &set[TRAIN..];
    for s in held {
        let ex = campaign_input(&s.campaigns, s.values.len());
        let during = |t: usize| s.campaigns.iter().any(|&(x, y)| x <= t && t <= y);
        let all = |_: usize| true;
        a += scaled_error(with, &s.values, Some(&ex), FROM, 1, &during);
        b += scaled_error(without, &s.values, None, FROM, 1, &during);
        a_all += scaled_error(with, &s.values, Some(&ex), FROM, 1, &all);
        b_all += scaled_error(without, &s.values, None, FROM, 1, &all);
    }
    let k = held.len() as f64;
    let (a, b, a_all, b_all) = (a / k, b / k, a_all / k, b_all / k);
    println!(
        "held-out MASE during campaigns: with events {a:.3}, without {b:.3}; all steps: {a_all:.3} vs {b_all:.3}"
    );
    assert!(
        a < 0.7 * b,
        "during campaigns: with {a:.3} vs without {b:.3}"
    );
    assert!(
        a_all < b_all,
        "all steps: with {a_all:.3} vs without {b_all:.3}"
    );
}

fn info(ex: &Exog) -> SeriesInfo<'_> {
    SeriesInfo {
        season: Some(SEASON),
        exog: Some(ex),
        ..SeriesInfo::default()
    }
}

#[test]
fn a_predictors_future_is_read_only_from_its_forecast() {
    let (with, _) = pair_models();
    let p = &pair_set()[TRAIN];
    let origins = [900, 950, 1001];
    let clean = predictor_input(&p.upstream);
    let at = |ex: &Exog| {
        with.predict_paths(&p.downstream, &origins, HORIZON, info(ex))
            .unwrap()
    };
    let base = at(&clean);
    for (i, &o) in origins.iter().enumerate() {
        // the predictor's actual values from the origin on replaced by noise: the same forecasts
        let mut noisy = p.upstream.clone();
        for (t, v) in noisy.iter_mut().enumerate().skip(o) {
            *v = ((t * 7919) % 113) as f64 * 40.0;
        }
        assert_eq!(at(&predictor_input(&noisy))[i], base[i], "origin {o}");
        // ...while its last value before the origin does move them
        let mut moved = p.upstream.clone();
        moved[o - 1] *= 3.0;
        assert_ne!(at(&predictor_input(&moved))[i], base[i], "origin {o}");
    }
    // from the end, the predictor's own forecast is read
    let o = 1000;
    let y = &p.downstream[..o];
    let ahead = |v: f64| Exog {
        predictors: vec![prescale_forecast::fleet::Predictor {
            ahead: vec![v; HORIZON],
            ..predictor_input(&p.upstream[..o]).predictors[0].clone()
        }],
        ..Exog::default()
    };
    let (low, high) = (ahead(1.0), ahead(500.0));
    let f = |ex: &Exog| with.predict_path(y, o, HORIZON, info(ex)).unwrap().unwrap();
    assert_ne!(f(&low), f(&high));
    // an interior origin of the same series ignores that forecast
    let g = |ex: &Exog| {
        with.predict_path(y, 990, HORIZON, info(ex))
            .unwrap()
            .unwrap()
    };
    assert_eq!(g(&low), g(&high));
}

#[test]
fn the_forecaster_hands_the_inputs_to_the_gbm_aligned_to_the_end_of_the_series() {
    let (with, _) = pair_models();
    let p = &pair_set()[TRAIN + 1];
    let o = 1000;
    let y = &p.downstream[..o];
    let cfg = ModelConfig {
        season: Some(SEASON),
        max_horizon: HORIZON,
        ..ModelConfig::default()
    };
    let input = |exog: Option<Exog>| FleetInput {
        gbm: Arc::new(with.clone()),
        timing: None,
        context: Vec::new(),
        rnn: Vec::new(),
        exog: exog.map(Arc::new),
    };
    let point = |exog: Option<Exog>| {
        fleet_forecaster(ModelKind::Gbm, &cfg, input(exog))
            .fit(y)
            .unwrap()
            .predict(HORIZON, Level::new(90.0).unwrap())
            .unwrap()
            .point
    };
    let ex = predictor_input(&p.upstream[..o]);
    let direct = with
        .predict_path(y, o, HORIZON, info(&ex))
        .unwrap()
        .unwrap();
    let fitted = point(Some(ex));
    for (a, b) in fitted.iter().zip(&direct) {
        assert!((a - b.max(0.0)).abs() < 1e-9, "{fitted:?} vs {direct:?}");
    }
    assert_ne!(fitted, point(None));
}

#[test]
fn models_of_version_1_load_without_exogenous_features_and_bad_inputs_are_refused() {
    let (_, without) = pair_models();
    let v2 = without.to_json();
    let v1 = v2
        .replace("\"version\":2", "\"version\":1")
        .replace("\"exog\":{\"predictors\":0,\"events\":false},", "");
    assert_ne!(v1, v2);
    let loaded = GbmFleet::from_json(&v1).unwrap();
    assert!(loaded.exog.is_empty());
    assert!(
        loaded.to_json() == v2.replace("\"version\":2", "\"version\":1"),
        "a version-1 model reads as itself"
    );
    let p = &pair_set()[0];
    let s = [prescale_forecast::fleet::FleetSeries {
        name: "a",
        values: &p.downstream,
        season: None,
        timing: None,
        context: &[],
    }; 2];
    let mut bad = predictor_input(&p.upstream);
    bad.predictors[0].values[5] = f64::NAN;
    let err = GbmFleet::train_with(&s, &[Exog::default(), bad], &config(4)).unwrap_err();
    assert!(err.to_string().contains("predictor 0 value 5"), "{err}");
    let err = GbmFleet::train_with(&s, &[Exog::default()], &config(4)).unwrap_err();
    assert!(err.to_string().contains("one per series"), "{err}");
}
