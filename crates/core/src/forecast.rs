//! A forecast: a point path plus a prediction band at a stated level.

use crate::CoreError;
use serde::{Deserialize, Serialize};

/// A prediction level in percent, strictly between 0 and 100 (e.g. 90).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
pub struct Level(f64);

impl Level {
    pub fn new(percent: f64) -> Result<Self, CoreError> {
        if percent.is_finite() && percent > 0.0 && percent < 100.0 {
            Ok(Level(percent))
        } else {
            Err(CoreError::Level(percent))
        }
    }
    pub fn percent(self) -> f64 {
        self.0
    }
    /// Miscoverage alpha, e.g. 0.1 for a 90% level.
    pub fn alpha(self) -> f64 {
        1.0 - self.0 / 100.0
    }
}

/// Point forecast for `point.len()` steps ahead with a band at `level`; policies act on `upper`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub point: Vec<f64>,
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub level: Level,
}

impl Forecast {
    pub fn new(
        point: Vec<f64>,
        lower: Vec<f64>,
        upper: Vec<f64>,
        level: Level,
    ) -> Result<Self, CoreError> {
        if point.len() != lower.len() || point.len() != upper.len() {
            return Err(CoreError::ForecastShape {
                point: point.len(),
                lower: lower.len(),
                upper: upper.len(),
            });
        }
        Ok(Forecast {
            point,
            lower,
            upper,
            level,
        })
    }
    pub fn horizon(&self) -> usize {
        self.point.len()
    }
}
