//! Rolling forecasts, the live controller's and the replay's: refit `auto` at most every `refit_every` steps on the recent
//! history and, in between, shift the last fit's longer forecast path by the steps elapsed (keeping
//! the band widths calibrated for the horizons asked) and correct it by the part of the latest
//! residual that persists. Before a seasonal model can be fitted, a non-seasonal `auto` forecasts
//! from `short_history` points on.
//!
//! Feedback hooks: [`RollingForecaster::refit_now`] forces the next call to refit (on drift), and
//! [`RollingForecaster::model_label`] names the fitted model in use. With `guard_refits` on, a
//! scheduled refit is put on probation: the fit horizon is one refit period longer, so the
//! previous path can still serve until the next scheduled refit; over the first
//! `⌈refit_every / 2⌉` steps observed after the refit, the new path's and the previous path's
//! point forecasts are both scored against the actuals (mean absolute error, raw paths without
//! residual correction). If the new path's error exceeds the previous one's by more than
//! `guard_tolerance` (relative), the previous path is put back for the rest of the period and
//! the refit counts as rejected. The previous path forecasts those steps from an older origin
//! (longer horizons), so the comparison favours the new fit: the guard only falls back when a
//! refit is clearly worse (a fit spoiled by an outlier, a bad model switch). Forced refits and
//! the switch to the seasonal model are never put on probation. Holdouts carved out of the
//! history before the refit do not work here: with one deterministic `auto` configuration, a
//! candidate fitted on the history minus the steps since the last refit is the last fit itself.

use crate::fleet::{FleetInput, MIN_ORIGIN};
use crate::{fleet_forecaster, forecaster, FitMemory, Forecaster, ModelConfig, ModelKind};
use prescale_core::{Forecast, Level};
use std::collections::VecDeque;

/// Residual pairs the persistence coefficient is estimated over.
const PERSISTENCE_WINDOW: usize = 288;

/// How a [`RollingForecaster`] fits and refits, validated once by its owner (the live controller
/// or the replay). `Default` = lead 1, a daily season of 288 steps, refits every 12 steps on at most
/// 4032 points, a 90% band.
#[derive(Debug, Clone, PartialEq)]
pub struct RollingConfig {
    /// The decision lead in steps: the forecast step a decision plans for (at least 1).
    pub lead: usize,
    /// The model fitted at every refit (default `auto`: chosen by cross-validation).
    pub kind: ModelKind,
    /// Seasonal period in steps (`None`: no season).
    pub season: Option<usize>,
    /// Level of the forecast interval.
    pub level: Level,
    /// Refit at most every this many steps; in between the last forecast path is shifted by the
    /// steps elapsed.
    pub refit_every: usize,
    /// Fit on at most this many most recent points.
    pub history_window: usize,
    /// No seasonal forecast before this many observed points.
    pub min_history: usize,
    /// With a season, a non-seasonal model forecasts from this many points until `min_history`
    /// is reached (`None`: no forecast until then).
    pub short_history: Option<usize>,
    /// Correct a forecast path between refits by the persisting part of its latest residual.
    pub residual_correction: bool,
    /// Guard scheduled refits: keep the previous forecast path when the new one does worse on
    /// the steps after the refit.
    pub guard_refits: bool,
    /// How much worse (relative mean absolute error) a new path may do before the guard falls
    /// back to the previous one.
    pub guard_tolerance: f64,
    /// The fleet's gbm, a candidate of `auto` when it was trained for at least the forecaster's
    /// horizon; its calendar is not used (history windows slide).
    pub fleet: Option<FleetInput>,
}

impl Default for RollingConfig {
    fn default() -> Self {
        RollingConfig {
            lead: 1,
            kind: ModelKind::Auto,
            season: Some(288),
            level: Level::new(90.0).unwrap_or_else(|_| unreachable!()),
            refit_every: 12,
            history_window: 4032,
            min_history: 288,
            short_history: Some(36),
            residual_correction: true,
            guard_refits: false,
            guard_tolerance: 0.1,
            fleet: None,
        }
    }
}

/// A forecast path from one fit: `path.point[i]` is the demand at `origin + 1 + i`.
struct Path {
    origin: usize,
    forecast: Forecast,
    seasonal: bool,
    label: String,
}

impl Path {
    /// The path's point forecast for step `t` (after its origin).
    fn point_at(&self, t: usize) -> Option<f64> {
        let i = t.checked_sub(self.origin + 1)?;
        self.forecast.point.get(i).copied()
    }
}

/// A guarded refit under probation: both paths' errors on the steps after the refit.
struct Probation {
    /// The refit step.
    start: usize,
    /// Last step scored.
    scored_to: usize,
    /// Steps to score before deciding.
    steps: usize,
    scored: usize,
    new_abs: f64,
    old_abs: f64,
}

/// The fleet input for a forecaster of `horizon` steps: without its calendar (its exogenous inputs,
/// aligned to the history's end, are kept), and only when the model was trained that far ahead.
fn usable_fleet(fleet: Option<&FleetInput>, horizon: usize) -> Option<FleetInput> {
    fleet
        .filter(|f| f.gbm.horizon >= horizon)
        .map(|f| FleetInput {
            timing: None,
            rnn: f
                .rnn
                .iter()
                .filter(|r| r.horizon() >= horizon)
                .cloned()
                .collect(),
            ..f.clone()
        })
}

/// The `kind` forecaster for a valid `cfg`: `auto` with the fleet's models among its candidates
/// when there are some; a fleet kind only with the fleet's models.
fn auto_forecaster(
    cfg: &ModelConfig,
    kind: ModelKind,
    fleet: Option<FleetInput>,
) -> Option<Box<dyn Forecaster>> {
    cfg.validate().ok()?;
    match fleet {
        Some(f) if kind == ModelKind::Auto || kind.is_fleet() => {
            Some(fleet_forecaster(kind, cfg, f))
        }
        None if kind.is_fleet() => None,
        _ => Some(forecaster(kind, cfg)),
    }
}

/// A short name of a fitted model from its spec: `auto→mstl:MSTL[288]+ETS(A,N,N)` → `mstl`,
/// `auto→mean(ets,theta)` → `mean(ets,theta)`, `ETS(A,Ad,N)` → `ETS(A,Ad,N)`.
pub fn short_label(spec: &str) -> String {
    let s = spec.strip_prefix("auto→").unwrap_or(spec);
    match s.split_once(':') {
        Some((name, _)) => name.to_string(),
        None => s.to_string(),
    }
}

/// Online estimate of how much of a path's residual carries over to the next step:
/// `β = Σ eₜ eₜ₊₁ / Σ eₜ²` over recent consecutive residuals, clamped to `[0, 1]`.
#[derive(Default)]
struct Persistence {
    last: Option<f64>,
    pairs: VecDeque<(f64, f64)>,
    sxy: f64,
    sxx: f64,
}

impl Persistence {
    /// Records the residual of the step just observed (`None` right after a refit, where the
    /// model has seen the step).
    fn observe(&mut self, residual: Option<f64>) {
        if let (Some(prev), Some(e)) = (self.last, residual) {
            self.pairs.push_back((prev, e));
            self.sxy += prev * e;
            self.sxx += prev * prev;
            if self.pairs.len() > PERSISTENCE_WINDOW {
                if let Some((x, y)) = self.pairs.pop_front() {
                    self.sxy -= x * y;
                    self.sxx -= x * x;
                }
            }
        }
        self.last = residual;
    }

    fn beta(&self) -> f64 {
        if self.pairs.len() < 12 || self.sxx <= f64::EPSILON {
            0.0
        } else {
            (self.sxy / self.sxx).clamp(0.0, 1.0)
        }
    }
}

/// Produces the forecast of demand after each step, refitting sparingly.
pub struct RollingForecaster {
    kind: ModelKind,
    model_cfg: ModelConfig,
    short_cfg: Option<ModelConfig>,
    model: Option<Box<dyn Forecaster>>,
    short_model: Option<Box<dyn Forecaster>>,
    level: Level,
    lead: usize,
    refit_every: usize,
    window: usize,
    min_history: usize,
    short_history: Option<usize>,
    /// The model kind that wins most often in the workload's cluster, fitted alone (no
    /// cross-validation) while the history is too short for the seasonal `auto`.
    preferred: Option<(ModelKind, Box<dyn Forecaster>)>,
    /// The fleet models offered, for a preferred fleet kind.
    fleet: Option<FleetInput>,
    /// A fleet model is offered: it forecasts a series too young for its own models from
    /// [`MIN_ORIGIN`] points (cold start by the fleet rather than by a borrowed profile).
    young: bool,
    correct: bool,
    path: Option<Path>,
    persistence: Persistence,
    fits: usize,
    failures: usize,
    horizon: usize,
    /// The step at which the next scheduled refit is due.
    next_refit: usize,
    /// Refit at the next call whatever the schedule.
    force: bool,
    guard: bool,
    tolerance: f64,
    fallback: Option<Path>,
    probation: Option<Probation>,
    rejected: usize,
    /// What the last fit left for the next (the analog's neighbours): refits every few steps
    /// reuse most of it.
    memory: FitMemory,
}

impl RollingForecaster {
    /// A forecaster for `cfg`: horizon = `refit_every + max(lead, 1)` (+ `refit_every` guarded).
    pub fn new(cfg: &RollingConfig) -> Self {
        let lead = cfg.lead.max(1);
        // Guarded, a path must also cover the period after a refit it survives.
        let horizon = cfg.refit_every + lead + usize::from(cfg.guard_refits) * cfg.refit_every;
        let model_cfg = ModelConfig {
            season: cfg.season,
            max_horizon: horizon,
            ..ModelConfig::default()
        };
        let short_cfg = ModelConfig {
            season: None,
            ..model_cfg.clone()
        };
        let fleet = usable_fleet(cfg.fleet.as_ref(), horizon);
        let build = |c: &ModelConfig| auto_forecaster(c, cfg.kind, fleet.clone());
        let min_history = cfg.min_history.max(model_cfg.min_len());
        let short_history = cfg
            .short_history
            .map(|s| s.max(short_cfg.min_len()))
            .filter(|&s| s < min_history && cfg.season.is_some());
        RollingForecaster {
            kind: cfg.kind,
            model_cfg: model_cfg.clone(),
            short_cfg: short_history.map(|_| short_cfg.clone()),
            model: build(&model_cfg),
            short_model: short_history.and_then(|_| build(&short_cfg)),
            level: cfg.level,
            lead,
            refit_every: cfg.refit_every,
            window: cfg.history_window.max(min_history),
            min_history,
            short_history,
            young: fleet.is_some(),
            preferred: None,
            fleet,
            correct: cfg.residual_correction,
            path: None,
            persistence: Persistence::default(),
            fits: 0,
            failures: 0,
            horizon,
            next_refit: 0,
            force: false,
            guard: cfg.guard_refits,
            tolerance: cfg.guard_tolerance,
            fallback: None,
            probation: None,
            rejected: 0,
            memory: FitMemory::default(),
        }
    }

    /// Steps ahead each fit forecasts (a fleet model must reach this far to be used).
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Offers (or withdraws) the fleet's gbm to `auto` from the next scheduled refit on; a fleet
    /// trained for a shorter horizon than this forecaster's is not used.
    pub fn set_fleet(&mut self, fleet: Option<FleetInput>) {
        let fleet = usable_fleet(fleet.as_ref(), self.horizon);
        self.young = fleet.is_some();
        self.model = auto_forecaster(&self.model_cfg, self.kind, fleet.clone());
        self.short_model = self
            .short_cfg
            .as_ref()
            .and_then(|c| auto_forecaster(c, self.kind, fleet.clone()));
        self.fleet = fleet;
        let kind = self.preferred.as_ref().map(|(k, _)| *k);
        self.set_preferred(kind);
    }

    /// The model a young workload starts with (its cluster's winner), fitted alone while the
    /// history is too short for the seasonal `auto`; when it cannot fit yet, the usual short or
    /// fleet path serves. A fleet kind needs the fleet models (see [`Self::set_fleet`]).
    pub fn set_preferred(&mut self, kind: Option<ModelKind>) {
        self.preferred = kind.filter(|k| *k != ModelKind::Auto).and_then(|k| {
            match (&self.fleet, k.is_fleet()) {
                (Some(f), true) => Some((k, fleet_forecaster(k, &self.model_cfg, f.clone()))),
                (None, true) => None,
                (_, false) => Some((k, forecaster(k, &self.model_cfg))),
            }
        });
    }

    /// The preferred kind in use (see [`Self::set_preferred`]).
    pub fn preferred(&self) -> Option<ModelKind> {
        self.preferred.as_ref().map(|(k, _)| *k)
    }

    /// Makes the next [`at`](Self::at) refit whatever the schedule (e.g. on drift); such a
    /// refit is never put on probation.
    pub fn refit_now(&mut self) {
        self.force = true;
        self.probation = None;
        self.fallback = None;
    }

    /// Whether a forced refit is pending.
    pub fn refit_pending(&self) -> bool {
        self.force
    }

    /// Guarded refits whose new path did worse and was replaced by the previous one.
    pub fn rejected_refits(&self) -> usize {
        self.rejected
    }

    /// A short name of the fitted model whose path is in use (see [`short_label`]), e.g. `mstl`.
    pub fn model_label(&self) -> Option<&str> {
        self.path.as_ref().map(|p| p.label.as_str())
    }

    /// The label of the path in use when it was fitted on a full (seasonal) history, where `auto`
    /// chose among every candidate; `None` while the history is young.
    pub fn mature_model_label(&self) -> Option<&str> {
        self.path
            .as_ref()
            .filter(|p| p.seasonal)
            .map(|p| p.label.as_str())
    }

    /// Scores the probation's paths on the steps observed since the last call and falls back
    /// to the previous path when the new one did worse; true when it fell back.
    fn judge(&mut self, history: &[f64], t: usize) -> bool {
        let (Some(pb), Some(new), Some(old)) = (
            self.probation.as_mut(),
            self.path.as_ref(),
            self.fallback.as_ref(),
        ) else {
            return false;
        };
        let from = pb.scored_to.max(pb.start) + 1;
        for (s, &y) in history.iter().enumerate().take(t + 1).skip(from) {
            if pb.scored >= pb.steps {
                break;
            }
            if let (Some(n), Some(o)) = (new.point_at(s), old.point_at(s)) {
                pb.new_abs += (y - n).abs();
                pb.old_abs += (y - o).abs();
                pb.scored += 1;
            }
            pb.scored_to = s;
        }
        if pb.scored < pb.steps {
            return false;
        }
        let worse = pb.new_abs > pb.old_abs * (1.0 + self.tolerance) + f64::EPSILON;
        self.probation = None;
        let old = self.fallback.take();
        if worse {
            self.path = old;
            self.rejected += 1;
        }
        worse
    }

    /// Fits performed so far.
    pub fn fits(&self) -> usize {
        self.fits
    }

    /// Fits that failed (the previous path was kept while it still reached far enough).
    pub fn failures(&self) -> usize {
        self.failures
    }

    /// The forecast for the steps after the last element of `history` (index 0 = next step), or
    /// `None` while there is too little history.
    pub fn at(&mut self, history: &[f64]) -> Option<Forecast> {
        let t = history.len().checked_sub(1)?;
        let fell_back = self.judge(history, t);
        let seasonal_ready = history.len() >= self.min_history;
        let due = self.force
            || match &self.path {
                Some(p) => t >= self.next_refit || (seasonal_ready && !p.seasonal),
                None => true,
            };
        let short_ready = self.short_history.is_some_and(|s| history.len() >= s);
        let young_ready = self.young && history.len() >= MIN_ORIGIN;
        let refitted =
            (due && (seasonal_ready || short_ready || young_ready) && self.refit(history, t))
                || fell_back;
        let p = self.path.as_ref()?;
        let shift = t.checked_sub(p.origin)?;
        let f = &p.forecast;
        // The residual of the step just observed, against the path's forecast for it.
        let residual = match (refitted, shift.checked_sub(1)) {
            (false, Some(i)) => f.point.get(i).map(|q| history[t] - q),
            _ => None,
        };
        self.persistence.observe(residual);
        if shift + self.lead > f.horizon() {
            return None;
        }
        let beta = if self.correct {
            self.persistence.beta()
        } else {
            0.0
        };
        let carry = residual.unwrap_or(0.0);
        // The path shifts with the steps elapsed; the band keeps the widths calibrated for the
        // horizon now asked (1, 2, …), not those of the longer horizon from the fit origin; the
        // persisting part of the last residual (β^(j+1) e) moves point and band together.
        let corrected: Vec<f64> = f.point[shift..]
            .iter()
            .zip(1..)
            .map(|(p, j)| p + beta.powi(j) * carry)
            .collect();
        let lower = corrected
            .iter()
            .zip(f.lower.iter().zip(&f.point))
            .map(|(p, (l, q))| p - (q - l))
            .collect();
        let upper = corrected
            .iter()
            .zip(f.upper.iter().zip(&f.point))
            .map(|(p, (u, q))| p + (u - q))
            .collect();
        Some(Forecast {
            point: corrected,
            lower,
            upper,
            level: f.level,
        })
    }

    /// Refits on the recent history (seasonal model once there is enough, else the short one);
    /// true when a new path replaced the old.
    fn refit(&mut self, history: &[f64], t: usize) -> bool {
        let seasonal = history.len() >= self.min_history;
        // Too young for either: the model whose fit hands a short series to the fleet model.
        let model = if seasonal {
            self.model.as_ref()
        } else {
            self.short_model.as_ref().or(self
                .model
                .as_ref()
                .filter(|_| history.len() < self.model_cfg.min_len()))
        };
        let Some(model) = model else {
            return false;
        };
        let start = history.len().saturating_sub(self.window);
        self.fits += 1;
        let (horizon, level) = (self.horizon, self.level);
        // A young workload starts with its cluster's winner when that can already fit.
        let preferred = self
            .preferred
            .as_ref()
            .filter(|_| !seasonal)
            .and_then(|(kind, f)| {
                let fitted = f.fit(&history[start..]).ok()?;
                let forecast = fitted.predict(horizon, level).ok()?;
                Some((forecast, format!("{kind}@cluster")))
            });
        let predicted = match preferred {
            Some(p) => Ok(p),
            None => model
                .fit_continuing(&history[start..], start, &mut self.memory)
                .and_then(|m| {
                    let label = short_label(&m.describe().spec);
                    m.predict(horizon, level).map(|f| (f, label))
                }),
        };
        match predicted {
            Ok((forecast, label)) => {
                let forced = std::mem::take(&mut self.force);
                let new = Path {
                    origin: t,
                    forecast,
                    seasonal,
                    label,
                };
                let old = self.path.replace(new);
                self.next_refit = t + self.refit_every;
                // Probation only for a scheduled refit of the same kind whose previous path
                // still reaches the next scheduled refit.
                self.probation = None;
                self.fallback = old.filter(|o| {
                    self.guard
                        && !forced
                        && o.seasonal == seasonal
                        && o.origin + o.forecast.horizon() >= self.next_refit + self.lead
                });
                if self.fallback.is_some() {
                    self.probation = Some(Probation {
                        start: t,
                        scored_to: t,
                        steps: self.refit_every.div_ceil(2),
                        scored: 0,
                        new_abs: 0.0,
                        old_abs: 0.0,
                    });
                }
                true
            }
            Err(_) => {
                self.failures += 1;
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    #[test]
    fn persistence_recovers_an_ar1_coefficient() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut p = Persistence::default();
        let mut e = 0.0;
        for _ in 0..2000 {
            e = 0.7 * e + rng.gen_range(-1.0..1.0);
            p.observe(Some(e));
        }
        assert!((p.beta() - 0.7).abs() < 0.12, "beta {}", p.beta());
        // A refit step breaks the chain: no pair spans it.
        let before = p.pairs.len();
        p.observe(None);
        p.observe(Some(1.0));
        assert_eq!(p.pairs.len(), before);
    }

    /// A fleet model trained on square waves of several levels, `horizon` steps ahead.
    fn square_fleet(horizon: usize) -> FleetInput {
        use crate::fleet::{FleetConfig, FleetSeries, GbmFleet};
        let series: Vec<(String, Vec<f64>)> = (1..=4)
            .map(|k| {
                let v = (0..1500)
                    .map(|t| f64::from(k) * if (t / 20) % 2 == 0 { 10.0 } else { 30.0 })
                    .collect();
                (format!("sq{k}"), v)
            })
            .collect();
        let input: Vec<FleetSeries<'_>> = series
            .iter()
            .map(|(name, values)| FleetSeries {
                name,
                values,
                season: Some(40),
                timing: None,
                context: &[],
            })
            .collect();
        let mut cfg = FleetConfig {
            horizon,
            max_rows: 20_000,
            ..FleetConfig::default()
        };
        cfg.params.rounds = 40;
        cfg.params.min_leaf = 20;
        FleetInput {
            gbm: std::sync::Arc::new(GbmFleet::train(&input, &cfg).unwrap()),
            timing: None,
            context: Vec::new(),
            rnn: Vec::new(),
            exog: None,
        }
    }

    #[test]
    fn the_fleet_model_is_offered_to_auto_when_it_reaches_far_enough() {
        let cfg = RollingConfig {
            season: Some(40),
            min_history: 40,
            ..RollingConfig::default()
        };
        let demand: Vec<f64> = (0..600)
            .map(|t| 5.0 * if (t / 20) % 2 == 0 { 10.0 } else { 30.0 })
            .collect();
        let run = |f: &mut RollingForecaster| -> Vec<f64> {
            (1..=demand.len())
                .filter_map(|n| f.at(&demand[..n]))
                .flat_map(|fc| fc.point)
                .collect()
        };
        let plain = run(&mut RollingForecaster::new(&cfg));
        // trained for 6 steps: shorter than this forecaster's 13, so not used
        let mut short = RollingForecaster::new(&RollingConfig {
            fleet: Some(square_fleet(6)),
            ..cfg.clone()
        });
        assert_eq!(run(&mut short), plain);
        let mut with = RollingForecaster::new(&cfg);
        with.set_fleet(Some(square_fleet(13)));
        let fleet_run = run(&mut with);
        assert_ne!(fleet_run, plain);
        assert!(fleet_run.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn a_fleet_model_forecasts_a_young_series_from_a_few_points() {
        let cfg = RollingConfig {
            season: Some(40),
            min_history: 40,
            ..RollingConfig::default()
        };
        let demand: Vec<f64> = (0..40)
            .map(|t| 5.0 * if (t / 20) % 2 == 0 { 10.0 } else { 30.0 })
            .collect();
        let first = |f: &mut RollingForecaster| {
            (1..=demand.len()).find_map(|n| f.at(&demand[..n]).map(|fc| (n, fc)))
        };
        // alone, nothing until the short model's 36 points
        let (n, _) = first(&mut RollingForecaster::new(&cfg)).unwrap();
        assert_eq!(n, 36);
        let mut with = RollingForecaster::new(&cfg);
        with.set_fleet(Some(square_fleet(13)));
        let (n, fc) = first(&mut with).unwrap();
        assert_eq!(
            n, MIN_ORIGIN,
            "the fleet model starts at its first feature row"
        );
        assert_eq!(with.model_label(), Some("gbm-young"));
        assert!(fc.point.iter().all(|v| v.is_finite()));
        assert!(fc.lower.iter().zip(&fc.upper).all(|(l, u)| l <= u));
    }

    #[test]
    fn a_young_series_starts_with_its_clusters_winner_until_auto_can_choose() {
        let cfg = RollingConfig {
            season: Some(40),
            min_history: 80,
            ..RollingConfig::default()
        };
        let demand: Vec<f64> = (0..120)
            .map(|t| 50.0 + 20.0 * ((t % 40) as f64 / 40.0 * std::f64::consts::TAU).sin())
            .collect();
        let labels = |f: &mut RollingForecaster| -> Vec<(usize, String)> {
            (1..=demand.len())
                .filter_map(|n| {
                    f.at(&demand[..n])?;
                    Some((n, f.model_label()?.to_string()))
                })
                .collect()
        };
        let mut f = RollingForecaster::new(&cfg);
        f.set_preferred(Some(ModelKind::SeasonalNaive));
        assert_eq!(f.preferred(), Some(ModelKind::SeasonalNaive));
        let got = labels(&mut f);
        let first = &got[0];
        assert_eq!(
            *first,
            (36, "seasonal_naive@cluster".to_string()),
            "{got:?}"
        );
        // from 80 steps on, the seasonal auto chooses by cross-validation
        let late: Vec<_> = got.iter().filter(|(n, _)| *n >= 80).collect();
        assert!(
            !late.is_empty() && late.iter().all(|(_, l)| !l.ends_with("@cluster")),
            "{got:?}"
        );
        // a fleet kind needs the fleet: without it the usual short path serves
        let mut g = RollingForecaster::new(&cfg);
        g.set_preferred(Some(ModelKind::Gbm));
        assert_eq!(g.preferred(), None);
        g.set_fleet(Some(square_fleet(13)));
        g.set_preferred(Some(ModelKind::Gbm));
        assert_eq!(g.preferred(), Some(ModelKind::Gbm));
        assert_eq!(labels(&mut g)[0], (MIN_ORIGIN, "gbm@cluster".to_string()));
    }

    #[test]
    fn short_labels() {
        assert_eq!(short_label("auto→mstl:MSTL[288]+ETS(A,N,N)"), "mstl");
        assert_eq!(short_label("auto→mean(ets,theta)"), "mean(ets,theta)");
        assert_eq!(short_label("ETS(A,Ad,N)"), "ETS(A,Ad,N)");
    }

    #[test]
    fn short_history_forecasts_before_the_seasonal_model_can() {
        let cfg = RollingConfig::default();
        let demand: Vec<f64> = (0..300).map(|t| 10.0 + (t % 7) as f64).collect();
        let mut with_short = RollingForecaster::new(&cfg);
        let mut without = RollingForecaster::new(&RollingConfig {
            short_history: None,
            ..cfg.clone()
        });
        let first =
            |f: &mut RollingForecaster| (1..=demand.len()).find(|&n| f.at(&demand[..n]).is_some());
        assert_eq!(first(&mut with_short), Some(36));
        assert_eq!(first(&mut without), Some(288));
    }
}
