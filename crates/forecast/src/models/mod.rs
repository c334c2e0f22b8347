//! The forecasting models and the one `Forecaster` that dispatches to them.

pub(crate) mod analog;
pub mod arima;
pub mod auto;
pub(crate) mod combine;
pub mod ets;
pub(crate) mod gbm;
pub mod mstl;
pub mod naive;
pub(crate) mod rnn;
pub mod robust;
pub mod theta;
pub(crate) mod young;

use crate::calibrated::{check_finite, Calibrated, Plan};
use crate::fleet::{FleetError, FleetInput};
use crate::path::PathModel;
use crate::{FitMemory, Fitted, ForecastError, Forecaster, ModelConfig, ModelKind};
use ets::{EtsModel, EtsSearch};
use mstl::{mstl_periods, MstlModel};
use naive::{NaiveModel, SeasonalNaiveModel};
use theta::ThetaModel;

/// A forecaster of one kind with its configuration and, for fleet models, the fleet's.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelForecaster {
    kind: ModelKind,
    cfg: ModelConfig,
    fleet: Option<FleetInput>,
}

impl ModelForecaster {
    /// A forecaster for `kind`.
    pub fn new(kind: ModelKind, cfg: ModelConfig) -> Self {
        ModelForecaster {
            kind,
            cfg,
            fleet: None,
        }
    }

    /// The same forecaster with the fleet's models available (`gbm`; `auto` adds them as candidates).
    pub fn with_fleet(mut self, fleet: FleetInput) -> Self {
        self.fleet = Some(fleet);
        self
    }
}

impl Forecaster for ModelForecaster {
    fn kind(&self) -> ModelKind {
        self.kind
    }

    fn fit(&self, y: &[f64]) -> Result<Box<dyn Fitted>, ForecastError> {
        self.fit_remembering(y, None)
    }

    fn fit_continuing(
        &self,
        y: &[f64],
        offset: usize,
        memory: &mut FitMemory,
    ) -> Result<Box<dyn Fitted>, ForecastError> {
        self.fit_remembering(y, Some((offset, &mut memory.analog)))
    }
}

impl ModelForecaster {
    /// [`Forecaster::fit`], with `auto`'s analog reusing what the last fit found when `memory`.
    fn fit_remembering(
        &self,
        y: &[f64],
        memory: Option<(usize, &mut analog::Neighbours)>,
    ) -> Result<Box<dyn Fitted>, ForecastError> {
        self.cfg.validate()?;
        check_finite(y)?;
        if let Some(f) = &self.fleet {
            if f.context.len() != f.gbm.context_len {
                return Err(FleetError::ContextLength {
                    series: "(this series)".into(),
                    expected: f.gbm.context_len,
                    got: f.context.len(),
                }
                .into());
            }
        }
        let fleet = self.fleet.as_ref();
        if let Some(f) = fleet.filter(|_| y.len() < self.cfg.min_len()) {
            // too young to calibrate: the fleet model alone, when this kind may use it
            if matches!(self.kind, ModelKind::Gbm | ModelKind::Auto) {
                return Ok(Box::new(young::YoungFleetFit::fit(
                    self.kind, y, f, &self.cfg,
                )?));
            }
        }
        let plan = Plan::new(y.len(), &self.cfg, self.kind == ModelKind::Auto)?;
        let fitted = if self.kind == ModelKind::Auto {
            auto::fit_auto(y, &plan, &self.cfg, fleet, memory)?
        } else {
            let model = build(self.kind, y, plan.fit_end, &self.cfg, fleet)?;
            let spec = model.spec();
            Calibrated::build(self.kind, spec, model.as_ref(), y, &plan, &self.cfg)?
        };
        Ok(Box::new(fitted))
    }
}

/// Builds the path model of a single (non-auto) kind fitted on `y[..fit_end]`.
pub(crate) fn build(
    kind: ModelKind,
    y: &[f64],
    fit_end: usize,
    cfg: &ModelConfig,
    fleet: Option<&FleetInput>,
) -> Result<Box<dyn PathModel>, ForecastError> {
    let failed = |reason| ForecastError::FitFailed {
        model: kind,
        reason,
    };
    Ok(match kind {
        ModelKind::Naive => Box::new(NaiveModel),
        ModelKind::SeasonalNaive => match cfg.season.filter(|&m| fit_end >= m) {
            Some(period) => Box::new(SeasonalNaiveModel { period }),
            None => Box::new(NaiveModel),
        },
        ModelKind::Ets => Box::new(
            EtsModel::auto(y, fit_end, &EtsSearch::full(cfg.season))
                .ok_or_else(|| failed("no ETS form could be estimated"))?,
        ),
        ModelKind::Theta => Box::new(
            ThetaModel::fit(y, fit_end, cfg.season)
                .ok_or_else(|| failed("too few points for Theta"))?,
        ),
        ModelKind::Mstl => {
            let periods = mstl_periods(cfg.season, &cfg.extra_periods, fit_end);
            Box::new(
                MstlModel::fit(y, fit_end, &periods)
                    .ok_or_else(|| failed("no trend model could be estimated"))?,
            )
        }
        ModelKind::Arima => Box::new(
            arima::ArimaModel::auto(y, fit_end, cfg.season)
                .ok_or_else(|| failed("too few points for ARIMA"))?,
        ),
        ModelKind::Gru | ModelKind::Lstm => {
            let cell = if kind == ModelKind::Gru {
                crate::neural::CellKind::Gru
            } else {
                crate::neural::CellKind::Lstm
            };
            let model = fleet
                .and_then(|f| f.rnn_of(cell))
                .ok_or_else(|| failed("needs a recurrent fleet model trained across series"))?;
            Box::new(rnn::RnnPath {
                model: model.clone(),
                season: cfg.season,
            })
        }
        ModelKind::Gbm => Box::new(gbm::GbmPath {
            fleet: fleet
                .cloned()
                .ok_or_else(|| failed("gbm needs a fleet model trained across series"))?,
            season: cfg.season,
        }),
        ModelKind::Auto => return Err(failed("auto is assembled from the other models")),
    })
}
