//! ETS model forms (error, trend, season) and their smoothing parameters.

use std::fmt;

/// Error term of an ETS model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    Additive,
    Multiplicative,
}

/// Trend component of an ETS model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendType {
    None,
    Additive,
    Damped,
}

/// Seasonal component of an ETS model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeasonType {
    None,
    Additive,
    Multiplicative,
}

/// One ETS form, with its seasonal period when seasonal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EtsSpec {
    pub error: ErrorType,
    pub trend: TrendType,
    pub season: SeasonType,
    /// Seasonal period (ignored when `season` is `None`).
    pub period: usize,
}

impl EtsSpec {
    /// A non-seasonal form.
    pub fn non_seasonal(error: ErrorType, trend: TrendType) -> Self {
        EtsSpec {
            error,
            trend,
            season: SeasonType::None,
            period: 1,
        }
    }

    /// The seasonal period in effect (1 when non-seasonal).
    pub fn m(&self) -> usize {
        if self.season == SeasonType::None {
            1
        } else {
            self.period.max(1)
        }
    }

    /// Number of free smoothing parameters (alpha, beta, gamma, phi as applicable).
    pub fn n_smoothing(&self) -> usize {
        1 + usize::from(self.trend != TrendType::None)
            + usize::from(self.trend == TrendType::Damped)
            + usize::from(self.season != SeasonType::None)
    }

    /// Number of initial states (level, trend, seasonal indices).
    pub fn n_states(&self) -> usize {
        1 + usize::from(self.trend != TrendType::None)
            + if self.season == SeasonType::None {
                0
            } else {
                self.m()
            }
    }
}

impl fmt::Display for EtsSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = match self.error {
            ErrorType::Additive => "A",
            ErrorType::Multiplicative => "M",
        };
        let t = match self.trend {
            TrendType::None => "N",
            TrendType::Additive => "A",
            TrendType::Damped => "Ad",
        };
        let s = match self.season {
            SeasonType::None => "N",
            SeasonType::Additive => "A",
            SeasonType::Multiplicative => "M",
        };
        write!(f, "ETS({e},{t},{s})")?;
        if self.season != SeasonType::None {
            write!(f, "[{}]", self.period)?;
        }
        Ok(())
    }
}

/// Smoothing parameters (unused ones are ignored by the recursion).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EtsParams {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub phi: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_counts() {
        let s = EtsSpec {
            error: ErrorType::Additive,
            trend: TrendType::Damped,
            season: SeasonType::Additive,
            period: 12,
        };
        assert_eq!(s.to_string(), "ETS(A,Ad,A)[12]");
        assert_eq!(s.n_smoothing(), 4);
        assert_eq!(s.n_states(), 14);
        let n = EtsSpec::non_seasonal(ErrorType::Multiplicative, TrendType::None);
        assert_eq!(n.to_string(), "ETS(M,N,N)");
        assert_eq!((n.n_smoothing(), n.n_states(), n.m()), (1, 1, 1));
    }
}
