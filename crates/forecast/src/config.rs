//! Model configuration, validated once before any fitting.

use crate::ForecastError;

/// Fewest calibration origins a fit accepts when a short series forces fewer than configured.
pub const MIN_CALIBRATION_WINDOWS: usize = 5;
/// Fewest points a model is fitted on before the calibration tail starts.
pub const MIN_FIT_POINTS: usize = 8;

/// Settings shared by every forecaster.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Main seasonal period in samples (e.g. 288 = one day of 5-minute data); `None` = no seasonality.
    pub season: Option<usize>,
    /// Further MSTL periods (e.g. weekly). Empty: MSTL uses `season` plus `7 * season` when two weekly
    /// cycles fit in the fitting window.
    pub extra_periods: Vec<usize>,
    /// Steps the conformal calibration covers; `predict(h)` with `h > max_horizon` is an error.
    pub max_horizon: usize,
    /// In-sample rolling origins (one step apart, at the end of the training data) whose h-step errors
    /// calibrate the prediction intervals. Default 144 (half a day of 5-minute data): on the shared
    /// real series 144 gave lower MSIS than 48 or 96 at the same coverage.
    pub calibration_windows: usize,
    /// Rolling origins (one step apart) over which `auto` compares its candidates. At least
    /// `calibration_windows` are used. Default 144 (288 selected worse on the shared real series).
    pub selection_windows: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            season: None,
            extra_periods: Vec::new(),
            max_horizon: 12,
            calibration_windows: 144,
            selection_windows: 144,
        }
    }
}

impl ModelConfig {
    /// A validated configuration with the given season and horizon and default calibration.
    pub fn new(season: Option<usize>, max_horizon: usize) -> Result<Self, ForecastError> {
        let cfg = ModelConfig {
            season,
            max_horizon,
            ..ModelConfig::default()
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Sets further MSTL periods and validates again.
    pub fn with_extra_periods(mut self, periods: Vec<usize>) -> Result<Self, ForecastError> {
        self.extra_periods = periods;
        self.validate()?;
        Ok(self)
    }

    /// Sets the number of calibration origins and validates again.
    pub fn with_calibration_windows(mut self, windows: usize) -> Result<Self, ForecastError> {
        self.calibration_windows = windows;
        self.validate()?;
        Ok(self)
    }

    /// Sets the number of model-selection origins used by `auto` and validates again.
    pub fn with_selection_windows(mut self, windows: usize) -> Result<Self, ForecastError> {
        self.selection_windows = windows;
        self.validate()?;
        Ok(self)
    }

    /// Checks every field; `fit` calls this too, since the fields are public.
    pub fn validate(&self) -> Result<(), ForecastError> {
        if self.max_horizon == 0 {
            return Err(invalid("max_horizon", 0, "must be at least 1"));
        }
        if let Some(s) = self.season {
            if s < 2 {
                return Err(invalid("season", s, "a seasonal period must be at least 2"));
            }
        }
        if let Some(&p) = self.extra_periods.iter().find(|&&p| p < 2) {
            return Err(invalid("extra_periods", p, "periods must be at least 2"));
        }
        if self.calibration_windows < MIN_CALIBRATION_WINDOWS {
            return Err(invalid(
                "calibration_windows",
                self.calibration_windows,
                "at least 5 calibration origins are needed",
            ));
        }
        Ok(())
    }

    /// Fewest points any model accepts with this configuration.
    pub fn min_len(&self) -> usize {
        MIN_FIT_POINTS + self.max_horizon + MIN_CALIBRATION_WINDOWS - 1
    }
}

fn invalid(field: &'static str, value: usize, reason: &'static str) -> ForecastError {
    ForecastError::InvalidConfig {
        field,
        value: value.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_fields() {
        assert!(ModelConfig::new(Some(288), 12).is_ok());
        assert!(ModelConfig::new(Some(1), 12).is_err());
        assert!(ModelConfig::new(None, 0).is_err());
        assert!(ModelConfig::default().with_calibration_windows(2).is_err());
        assert!(ModelConfig::default().with_extra_periods(vec![0]).is_err());
        assert_eq!(ModelConfig::default().min_len(), 8 + 12 + 4);
    }
}
