//! A series too young for its own calibration, forecast by the fleet model: the median path from
//! its few points and the band from the fleet's held-out errors (cold start that uses the fleet).

use crate::fleet::FleetInput;
use crate::{Fitted, ForecastError, ModelConfig, ModelInfo, ModelKind};
use prescale_core::{Forecast, Level};

/// The fit: the short history itself, applied to the fleet model at predict time.
pub(crate) struct YoungFleetFit {
    y: Vec<f64>,
    fleet: FleetInput,
    season: Option<usize>,
    max_horizon: usize,
    kind: ModelKind,
}

impl YoungFleetFit {
    /// Fits when `y` has at least as many points as a feature row needs.
    pub fn fit(
        kind: ModelKind,
        y: &[f64],
        fleet: &FleetInput,
        cfg: &ModelConfig,
    ) -> Result<YoungFleetFit, ForecastError> {
        let needed = crate::fleet::features::MIN_ORIGIN;
        if y.len() < needed {
            return Err(ForecastError::TooShort {
                needed,
                got: y.len(),
            });
        }
        if cfg.max_horizon > fleet.gbm.horizon {
            return Err(crate::fleet::FleetError::Horizon {
                horizon: cfg.max_horizon,
                max: fleet.gbm.horizon,
            }
            .into());
        }
        Ok(YoungFleetFit {
            y: y.to_vec(),
            fleet: fleet.clone(),
            season: cfg.season,
            max_horizon: cfg.max_horizon,
            kind,
        })
    }
}

impl Fitted for YoungFleetFit {
    fn predict(&self, horizon: usize, level: Level) -> Result<Forecast, ForecastError> {
        if horizon == 0 {
            return Err(ForecastError::ZeroHorizon);
        }
        if horizon > self.max_horizon {
            return Err(ForecastError::HorizonTooLong {
                horizon,
                max: self.max_horizon,
            });
        }
        let f = &self.fleet;
        let (mut point, mut lower, mut upper) = f
            .gbm
            .young_forecast(&self.y, horizon, level.alpha(), f.info(self.season))?
            .ok_or(ForecastError::TooShort {
                needed: crate::fleet::features::MIN_ORIGIN,
                got: self.y.len(),
            })?;
        if point
            .iter()
            .chain(&lower)
            .chain(&upper)
            .any(|v| !v.is_finite())
        {
            return Err(ForecastError::Diverged {
                spec: self.describe().spec,
            });
        }
        if self.y.iter().all(|&v| v >= 0.0) {
            for v in point.iter_mut().chain(&mut lower).chain(&mut upper) {
                *v = v.max(0.0);
            }
        }
        Ok(Forecast::new(point, lower, upper, level)?)
    }

    fn describe(&self) -> ModelInfo {
        ModelInfo {
            kind: self.kind,
            spec: format!(
                "gbm-young:GBM[{} trees, {} series, {} points, fleet band]",
                self.fleet.gbm.trees(),
                self.fleet.gbm.series,
                self.y.len()
            ),
            params: vec![("trees".into(), self.fleet.gbm.trees() as f64)],
            in_sample_mae: None,
            calibration_points: 0,
        }
    }
}
