//! The names of the available forecasting models.

use crate::ForecastError;
use std::fmt;
use std::str::FromStr;

/// Which forecasting model to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelKind {
    /// Last value repeated.
    Naive,
    /// Value one season ago repeated (naive without a season or with less than one cycle of data).
    SeasonalNaive,
    /// AutoETS: exponential smoothing state-space models chosen by AICc.
    Ets,
    /// MSTL-style seasonal decomposition plus non-seasonal ETS on the adjusted series.
    Mstl,
    /// The standard Theta method (SES with half the regression drift), seasonally adjusted.
    Theta,
    /// Per-series choice (or combination) by rolling-origin cross-validation.
    Auto,
    /// The fleet's gradient-boosted model (needs a trained fleet model).
    Gbm,
    /// ARIMA with the order chosen by AICc (a seasonal AR term for short seasons).
    Arima,
    /// The fleet's GRU network (needs a trained recurrent fleet model).
    Gru,
    /// The fleet's LSTM network (needs a trained recurrent fleet model).
    Lstm,
}

impl ModelKind {
    /// Every model kind, in a fixed order.
    pub const ALL: [ModelKind; 10] = [
        ModelKind::Naive,
        ModelKind::SeasonalNaive,
        ModelKind::Ets,
        ModelKind::Mstl,
        ModelKind::Theta,
        ModelKind::Auto,
        ModelKind::Gbm,
        ModelKind::Arima,
        ModelKind::Gru,
        ModelKind::Lstm,
    ];

    /// The lowercase name used in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Naive => "naive",
            ModelKind::SeasonalNaive => "seasonal_naive",
            ModelKind::Ets => "ets",
            ModelKind::Mstl => "mstl",
            ModelKind::Theta => "theta",
            ModelKind::Auto => "auto",
            ModelKind::Gbm => "gbm",
            ModelKind::Arima => "arima",
            ModelKind::Gru => "gru",
            ModelKind::Lstm => "lstm",
        }
    }

    /// Whether the model is trained across the fleet rather than on one series.
    pub fn is_fleet(self) -> bool {
        matches!(self, ModelKind::Gbm | ModelKind::Gru | ModelKind::Lstm)
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = ForecastError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase().replace('-', "_");
        ModelKind::ALL
            .into_iter()
            .find(|k| k.name() == t)
            .ok_or_else(|| ForecastError::UnknownModel(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_names() {
        for k in ModelKind::ALL {
            assert_eq!(k.to_string().parse::<ModelKind>(), Ok(k));
        }
        assert_eq!("Seasonal-Naive".parse(), Ok(ModelKind::SeasonalNaive));
        assert!(matches!(
            "prophet".parse::<ModelKind>(),
            Err(ForecastError::UnknownModel(_))
        ));
    }
}
