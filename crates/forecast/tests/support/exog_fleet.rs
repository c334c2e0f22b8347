//! Synthetic fleets with known exogenous effects, shared by the known-answer tests and the
//! `exog_known_answers` example: downstream demand that is its upstream's demand two steps later,
//! and demand multiplied during annotated campaigns.

use prescale_forecast::fleet::{
    Event, EventKind, Exog, FleetConfig, FleetSeries, GbmFleet, Predictor, SeriesInfo,
};
use prescale_forecast::gbm::BoostParams;
use prescale_forecast::mase;

/// Steps of the daily season.
pub const SEASON: usize = 48;
/// Steps by which an upstream series leads its downstream one.
pub const LEAD: usize = 2;
/// Demand during a campaign, relative to the demand without.
pub const CAMPAIGN_LIFT: f64 = 1.8;

/// Uniform noise in [-0.5, 0.5) from a 64-bit LCG; `normal` approximates a standard normal.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.next()).sum()
    }
}

/// Daily-shaped demand at level `level` with persistent AR(1) noise: hard to forecast from its own
/// past beyond the season.
fn demand(n: usize, level: f64, seed: u64) -> Vec<f64> {
    let mut rng = Lcg(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut ar = 0.0;
    (0..n)
        .map(|t| {
            ar = 0.95 * ar + 0.06 * level * rng.normal();
            let day = (t % SEASON) as f64 / SEASON as f64 * std::f64::consts::TAU;
            (level * (1.0 + 0.3 * day.sin()) + ar).max(0.0)
        })
        .collect()
}

/// One upstream/downstream pair: the downstream is `ratio` times the upstream `LEAD` steps earlier,
/// plus a little noise of its own.
pub struct Pair {
    pub upstream: Vec<f64>,
    pub downstream: Vec<f64>,
}

/// `count` pairs of `n` steps at different levels and ratios.
pub fn pairs(count: usize, n: usize) -> Vec<Pair> {
    (0..count)
        .map(|k| {
            let level = 20.0 + 15.0 * k as f64;
            let upstream = demand(n + LEAD, level, 11 + k as u64);
            let ratio = 0.5 + 0.25 * (k % 4) as f64;
            let mut rng = Lcg(977 + k as u64);
            let downstream = (0..n)
                .map(|t| (ratio * upstream[t] + 0.01 * ratio * level * rng.normal()).max(0.0))
                .collect();
            Pair {
                upstream: upstream[LEAD..].to_vec(),
                downstream,
            }
        })
        .collect()
}

/// The upstream as the predictor of a downstream series of the same length (same last step).
pub fn predictor_input(upstream: &[f64]) -> Exog {
    Exog {
        predictors: vec![Predictor {
            values: upstream.to_vec(),
            end: 0,
            ahead: Vec::new(),
            season: Some(SEASON),
        }],
        ..Exog::default()
    }
}

/// One series with campaigns: its demand (lifted during them) and its campaign steps.
pub struct Campaigned {
    pub values: Vec<f64>,
    /// `(start, end)` series indices, inclusive.
    pub campaigns: Vec<(usize, usize)>,
}

/// `count` series of `n` steps, each with a campaign of 12 to 30 steps every 100 to 250 steps.
pub fn campaigned(count: usize, n: usize) -> Vec<Campaigned> {
    (0..count)
        .map(|k| {
            let level = 30.0 + 10.0 * k as f64;
            let mut values = demand(n, level, 101 + k as u64);
            let mut rng = Lcg(7_919 + k as u64);
            let mut campaigns = Vec::new();
            let mut at = 60 + ((rng.next() + 0.5) * 100.0) as usize;
            while at + 30 < n {
                let len = 12 + ((rng.next() + 0.5) * 18.0) as usize;
                campaigns.push((at, at + len - 1));
                for v in &mut values[at..at + len] {
                    *v *= CAMPAIGN_LIFT;
                }
                at += len + 100 + ((rng.next() + 0.5) * 150.0) as usize;
            }
            Campaigned { values, campaigns }
        })
        .collect()
}

/// The campaigns of a series of `n` values as its event calendar (offsets from its last value).
pub fn campaign_input(campaigns: &[(usize, usize)], n: usize) -> Exog {
    let last = n as i64 - 1;
    Exog {
        events: campaigns
            .iter()
            .map(|&(s, e)| Event {
                kind: EventKind::Campaign,
                start: s as i64 - last,
                end: e as i64 - last,
            })
            .collect(),
        ..Exog::default()
    }
}

/// The training settings of the known answers (small enough for a debug test).
pub fn config(horizon: usize) -> FleetConfig {
    FleetConfig {
        horizon,
        max_rows: 40_000,
        young_every: None,
        params: BoostParams {
            rounds: 60,
            min_leaf: 50,
            learning_rate: 0.25,
            ..BoostParams::default()
        },
    }
}

/// Trains on every series' first `cut` values, with their inputs cut to that end when `exog` is
/// given.
pub fn train(
    series: &[&[f64]],
    exog: Option<&dyn Fn(usize, usize) -> Exog>,
    cut: usize,
    cfg: &FleetConfig,
) -> GbmFleet {
    let names: Vec<String> = (0..series.len()).map(|i| format!("s{i}")).collect();
    let input: Vec<FleetSeries<'_>> = series
        .iter()
        .zip(&names)
        .map(|(v, name)| FleetSeries {
            name,
            values: &v[..cut],
            season: Some(SEASON),
            timing: None,
            context: &[],
        })
        .collect();
    let inputs: Vec<Exog> = match exog {
        Some(f) => (0..series.len()).map(|i| f(i, cut)).collect(),
        None => Vec::new(),
    };
    GbmFleet::train_with(&input, &inputs, cfg).expect("training the known-answer fleet")
}

/// Mean absolute error scaled by the mean absolute step before `from` (MASE) of `model`'s paths
/// from every origin in `from..` (`every` apart) over `y`, counting only the steps `score` keeps.
pub fn scaled_error(
    model: &GbmFleet,
    y: &[f64],
    exog: Option<&Exog>,
    from: usize,
    every: usize,
    score: &dyn Fn(usize) -> bool,
) -> f64 {
    let h = model.horizon;
    let origins: Vec<usize> = (from..=y.len() - h).step_by(every).collect();
    let info = SeriesInfo {
        season: Some(SEASON),
        exog,
        ..SeriesInfo::default()
    };
    let paths = model.predict_paths(y, &origins, h, info).unwrap();
    let (mut actual, mut point) = (Vec::new(), Vec::new());
    for (o, p) in origins.iter().zip(paths) {
        let p = p.expect("a feature row at every origin");
        for (j, v) in p.into_iter().enumerate() {
            if score(o + j) {
                actual.push(y[o + j]);
                point.push(v);
            }
        }
    }
    let scale = prescale_math::mean_abs_diff(&y[..from]).expect("a scale");
    mase(&actual, &point, scale).expect("scored steps")
}
