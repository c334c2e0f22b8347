//! The fleet side of `prescale backtest`: training the gbm across every input on the points before its
//! scored windows, and the leave-series-out models behind `--cold-start`.

use anyhow::{Context, Result};
use prescale_forecast::fleet::{FleetConfig, FleetInput, FleetSeries, GbmFleet, Timing};
use prescale_forecast::neural::{CellKind, RnnConfig, RnnFleet};
use prescale_forecast::{fleet_training_len, BacktestConfig};
use std::sync::Arc;
use std::time::Instant;

/// Folds of the leave-series-out training behind `--cold-start`: each series is forecast by the
/// model trained without its fold.
pub const COLD_START_FOLDS: usize = 5;

/// What the fleet needs of one input.
pub struct FleetJob<'a> {
    pub name: &'a str,
    pub values: &'a [f64],
    pub season: Option<usize>,
    pub timing: Option<Timing>,
}

/// The trained fleet models and what training them took.
pub struct Trained {
    pub gbm: Arc<GbmFleet>,
    pub seconds: f64,
    /// Recurrent models with their training seconds.
    pub rnn: Vec<(Arc<RnnFleet>, f64)>,
}

impl Trained {
    /// The fleet input for one series (its own calendar, no context vector).
    pub fn input(&self, timing: Option<Timing>) -> FleetInput {
        FleetInput {
            gbm: self.gbm.clone(),
            timing,
            context: Vec::new(),
            rnn: self.rnn.iter().map(|(m, _)| m.clone()).collect(),
            exog: None,
        }
    }
}

/// Trains the gbm (and the recurrent models of `cells`) on the prefix of every job except those for
/// which `leave_out` is true: each prefix ends before that series' first scored window and the
/// calibration tail before it.
pub fn train(
    jobs: &[FleetJob<'_>],
    cfg: &BacktestConfig,
    cells: &[CellKind],
    leave_out: impl Fn(usize) -> bool,
) -> Result<Trained> {
    let fleet_cfg = FleetConfig {
        horizon: cfg.horizon,
        ..FleetConfig::default()
    };
    let prefixes: Vec<FleetSeries<'_>> = jobs
        .iter()
        .enumerate()
        .filter(|(i, _)| !leave_out(*i))
        .map(|(_, j)| FleetSeries {
            name: j.name,
            values: &j.values[..fleet_training_len(j.values.len(), cfg)],
            season: j.season,
            timing: j.timing,
            context: &[],
        })
        .collect();
    let started = Instant::now();
    let gbm = GbmFleet::train(&prefixes, &fleet_cfg).context("training the fleet gbm")?;
    let seconds = started.elapsed().as_secs_f64();
    let rnn = cells
        .iter()
        .map(|&kind| {
            let started = Instant::now();
            let m = RnnFleet::train(&prefixes, &RnnConfig::new(kind, cfg.horizon))
                .with_context(|| format!("training the fleet {}", kind.name()))?;
            Ok((Arc::new(m), started.elapsed().as_secs_f64()))
        })
        .collect::<Result<_>>()?;
    Ok(Trained {
        gbm: Arc::new(gbm),
        seconds,
        rnn,
    })
}

/// The leave-series-out models: fold `k` is trained without the series `i` with `i % folds == k`.
pub fn train_folds(
    jobs: &[FleetJob<'_>],
    cfg: &BacktestConfig,
    cells: &[CellKind],
) -> Result<Vec<Trained>> {
    let folds = COLD_START_FOLDS.min(jobs.len());
    (0..folds)
        .map(|k| train(jobs, cfg, cells, |i| i % folds == k))
        .collect()
}

/// The recurrent cells `models` ask for.
pub fn cells(models: &[prescale_forecast::ModelKind]) -> Vec<CellKind> {
    use prescale_forecast::ModelKind;
    let mut out = Vec::new();
    if models.contains(&ModelKind::Gru) {
        out.push(CellKind::Gru);
    }
    if models.contains(&ModelKind::Lstm) {
        out.push(CellKind::Lstm);
    }
    out
}
