//! When forecast error calls for a re-clustering: a pure rule over each workload's forecast
//! health, so the daemon only gathers the health and acts on the answer.

use std::time::Duration;

/// One workload's forecast health, as the feedback stage measures it.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastHealth {
    pub workload: String,
    /// Why drift was declared, when it was.
    pub drift: Option<String>,
    /// Outcomes in the recent window.
    pub recent_count: u64,
    /// Share of recent actuals inside the band, when any were scored.
    pub recent_coverage: Option<f64>,
    /// The band's nominal level in percent (e.g. 90).
    pub level_percent: Option<f64>,
}

/// The re-clustering trigger: drift declared, or recent coverage `coverage_shortfall` or more under
/// nominal over at least `min_outcomes` outcomes, for some workload; never sooner than `at_most`
/// after the last clustering.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReclusterRule {
    pub at_most: Duration,
    pub min_outcomes: u64,
    /// In share units: 0.2 means 20 points under nominal.
    pub coverage_shortfall: f64,
}

impl Default for ReclusterRule {
    fn default() -> Self {
        ReclusterRule::DEFAULT
    }
}

impl ReclusterRule {
    /// At most every 10 minutes; drift, or coverage 20 points under nominal over 50 outcomes.
    pub const DEFAULT: ReclusterRule = ReclusterRule {
        at_most: Duration::from_secs(600),
        min_outcomes: 50,
        coverage_shortfall: 0.2,
    };

    /// Why to re-cluster now, if so. `since_last` is the time since the last clustering (`None`:
    /// never clustered, which the regular schedule handles, so no trigger).
    pub fn reason<'a>(
        &self,
        since_last: Option<Duration>,
        health: impl IntoIterator<Item = &'a ForecastHealth>,
    ) -> Option<String> {
        if since_last.is_none_or(|d| d < self.at_most) {
            return None;
        }
        health.into_iter().find_map(|h| self.off(h))
    }

    /// Why one workload's forecasts are off, if they are.
    pub fn off(&self, h: &ForecastHealth) -> Option<String> {
        if let Some(d) = &h.drift {
            return Some(format!("{}: drift {d}", h.workload));
        }
        let (coverage, level) = (h.recent_coverage?, h.level_percent?);
        (h.recent_count >= self.min_outcomes && coverage < level / 100.0 - self.coverage_shortfall)
            .then(|| {
                format!(
                    "{}: {:.0}% of recent actuals inside the {level:.0}% band",
                    h.workload,
                    coverage * 100.0
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(count: u64, coverage: f64) -> ForecastHealth {
        ForecastHealth {
            workload: "api".into(),
            drift: None,
            recent_count: count,
            recent_coverage: Some(coverage),
            level_percent: Some(90.0),
        }
    }

    #[test]
    fn coverage_far_under_nominal_over_enough_outcomes_triggers() {
        let rule = ReclusterRule::default();
        let late = Some(Duration::from_secs(601));
        assert_eq!(
            rule.reason(late, &[health(100, 0.88)]),
            None,
            "near nominal"
        );
        assert_eq!(
            rule.reason(late, &[health(20, 0.1)]),
            None,
            "too few outcomes"
        );
        let why = rule.reason(late, &[health(100, 0.88), health(100, 0.5)]);
        assert_eq!(
            why.as_deref(),
            Some("api: 50% of recent actuals inside the 90% band")
        );
    }

    #[test]
    fn drift_triggers_but_never_sooner_than_the_floor_or_before_a_first_clustering() {
        let rule = ReclusterRule::default();
        let drifted = ForecastHealth {
            drift: Some("level shift".into()),
            ..health(0, 0.9)
        };
        assert_eq!(rule.reason(None, [&drifted]), None);
        assert_eq!(
            rule.reason(Some(Duration::from_secs(599)), [&drifted]),
            None
        );
        assert_eq!(
            rule.reason(Some(Duration::from_secs(600)), [&drifted])
                .as_deref(),
            Some("api: drift level shift")
        );
    }
}
