//! Counter → per-second rate, with counter-reset handling.

/// The last admitted sample of a counter series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CounterState {
    pub ts_ms: i64,
    pub value: f64,
}

/// What one more counter sample yields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum RateStep {
    /// A rate in units per second; `reset` when the counter went down (restarted from zero).
    Rate { per_sec: f64, reset: bool },
    /// Not after the previous sample: no rate can be formed.
    OutOfOrder,
}

/// The rate between `prev` and `(ts_ms, value)`. After a reset the counter is taken to have restarted
/// at zero, so the increase is the new value itself (as Prometheus' `rate()` does).
pub(crate) fn step(prev: CounterState, ts_ms: i64, value: f64) -> RateStep {
    if ts_ms <= prev.ts_ms {
        return RateStep::OutOfOrder;
    }
    let dt_s = (ts_ms - prev.ts_ms) as f64 / 1000.0;
    let reset = value < prev.value;
    let increase = if reset { value } else { value - prev.value };
    RateStep::Rate {
        per_sec: increase / dt_s,
        reset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: CounterState = CounterState {
        ts_ms: 10_000,
        value: 100.0,
    };

    #[test]
    fn rates() {
        assert_eq!(
            step(P, 20_000, 150.0),
            RateStep::Rate {
                per_sec: 5.0,
                reset: false
            }
        );
        assert_eq!(
            step(P, 10_500, 100.0),
            RateStep::Rate {
                per_sec: 0.0,
                reset: false
            }
        );
        assert_eq!(
            step(P, 12_000, 8.0),
            RateStep::Rate {
                per_sec: 4.0,
                reset: true
            }
        );
        assert_eq!(step(P, 10_000, 200.0), RateStep::OutOfOrder);
        assert_eq!(step(P, 9_000, 200.0), RateStep::OutOfOrder);
    }
}
