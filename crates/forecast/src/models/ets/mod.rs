//! AutoETS: exponential smoothing state-space models (Hyndman et al. 2008) chosen by AICc.
//!
//! Own implementation rather than `augurs-ets`: augurs' AutoETS has no seasonal models and cannot
//! produce multi-step forecasts from intermediate states, which conformal calibration by horizon step
//! needs without refitting. Parameters are estimated on the last `FIT_WINDOW` points before the
//! calibration tail with heuristic initial states (not optimized, which keeps a fit to a few ms).

pub mod fit;
pub mod recursion;
pub mod spec;

use crate::path::PathModel;
use fit::{fit_specs, EtsFit};
use spec::{ErrorType, EtsSpec, SeasonType, TrendType};

/// Points before the calibration tail used to estimate parameters.
pub const FIT_WINDOW: usize = 1024;
/// Longest season modelled inside ETS; longer seasons go through MSTL.
pub const MAX_ETS_SEASON: usize = 24;
/// Objective evaluations per form.
const MAX_EVALS: usize = 120;

/// Which ETS forms an automatic search considers.
#[derive(Debug, Clone, PartialEq)]
pub struct EtsSearch {
    pub season: Option<usize>,
    pub trends: Vec<TrendType>,
    pub multiplicative: bool,
}

impl EtsSearch {
    /// All trends, seasonal forms when `season` is short enough, multiplicative forms when allowed.
    pub fn full(season: Option<usize>) -> Self {
        EtsSearch {
            season: season.filter(|&m| (2..=MAX_ETS_SEASON).contains(&m)),
            trends: vec![TrendType::None, TrendType::Additive, TrendType::Damped],
            multiplicative: true,
        }
    }

    /// The candidate forms for the data window `y`.
    pub fn candidates(&self, y: &[f64]) -> Vec<EtsSpec> {
        let positive = self.multiplicative && y.iter().all(|&v| v > 0.0);
        let mut errors = vec![ErrorType::Additive];
        if positive {
            errors.push(ErrorType::Multiplicative);
        }
        let mut seasons = vec![(SeasonType::None, 1)];
        if let Some(m) = self.season.filter(|&m| y.len() >= 3 * m) {
            seasons.push((SeasonType::Additive, m));
            if positive {
                seasons.push((SeasonType::Multiplicative, m));
            }
        }
        let mut out = Vec::new();
        for &error in &errors {
            for &trend in &self.trends {
                for &(season, period) in &seasons {
                    // restricted set: no additive error with multiplicative season
                    if error == ErrorType::Additive && season == SeasonType::Multiplicative {
                        continue;
                    }
                    out.push(EtsSpec {
                        error,
                        trend,
                        season,
                        period,
                    });
                }
            }
        }
        out
    }
}

/// A fitted ETS model whose recursion starts at `start` of the full series.
#[derive(Debug, Clone, PartialEq)]
pub struct EtsModel {
    pub fit: EtsFit,
    pub start: usize,
}

impl EtsModel {
    /// Fits every candidate form on `y[fit_end − FIT_WINDOW .. fit_end]` and keeps the lowest AICc.
    pub fn auto(y: &[f64], fit_end: usize, search: &EtsSearch) -> Option<EtsModel> {
        let start = fit_end.saturating_sub(FIT_WINDOW);
        let window = y.get(start..fit_end)?;
        fit_specs(&search.candidates(window), window, MAX_EVALS)
            .into_iter()
            .min_by(|a, b| a.aicc.total_cmp(&b.aicc))
            .map(|fit| EtsModel { fit, start })
    }
}

impl PathModel for EtsModel {
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let (spec, p) = (&self.fit.spec, &self.fit.params);
        let mut state = self.fit.init.clone();
        let mut out = Vec::with_capacity(origins.len());
        let mut next = origins.iter().peekable();
        while next.peek().is_some_and(|&&o| o <= self.start) {
            next.next();
            out.push(state.forecast(spec, p, h));
        }
        for (t, &v) in y.iter().enumerate().skip(self.start) {
            while next.peek().is_some_and(|&&o| o == t) {
                next.next();
                out.push(state.forecast(spec, p, h));
            }
            if next.peek().is_none() {
                break;
            }
            state.update(spec, p, v);
        }
        for _ in next {
            out.push(state.forecast(spec, p, h));
        }
        out
    }

    fn spec(&self) -> String {
        self.fit.spec.to_string()
    }

    fn params(&self) -> Vec<(String, f64)> {
        let (s, p) = (&self.fit.spec, &self.fit.params);
        let mut out = vec![("alpha".to_string(), p.alpha)];
        if s.trend != TrendType::None {
            out.push(("beta".to_string(), p.beta));
        }
        if s.season != SeasonType::None {
            out.push(("gamma".to_string(), p.gamma));
        }
        if s.trend == TrendType::Damped {
            out.push(("phi".to_string(), p.phi));
        }
        out.push(("aicc".to_string(), self.fit.aicc));
        out
    }

    fn in_sample_mae(&self) -> Option<f64> {
        Some(self.fit.mae)
    }
}
