//! Samples and series: time-ordered, finite, one value per timestamp.

use crate::{CoreError, Interval, Labels, SeriesKey, Timestamp};
use serde::{Deserialize, Serialize};

/// One observation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub ts: Timestamp,
    pub value: f64,
}

/// A series whose samples are strictly increasing in time and finite (checked on construction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub key: SeriesKey,
    pub labels: Labels,
    samples: Vec<Sample>,
}

impl Series {
    /// Validates order and finiteness; sorting and merging belong to the importer, which reports them.
    pub fn new(key: SeriesKey, labels: Labels, samples: Vec<Sample>) -> Result<Self, CoreError> {
        for (i, s) in samples.iter().enumerate() {
            if !s.value.is_finite() {
                return Err(CoreError::NonFinite {
                    ts: s.ts.0,
                    value: s.value,
                });
            }
            if i > 0 && samples[i - 1].ts >= s.ts {
                return Err(CoreError::Unordered {
                    index: i,
                    prev: samples[i - 1].ts.0,
                    next: s.ts.0,
                });
            }
        }
        Ok(Series {
            key,
            labels,
            samples,
        })
    }
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }
    pub fn values(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.value).collect()
    }
    pub fn len(&self) -> usize {
        self.samples.len()
    }
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
    pub fn first_ts(&self) -> Option<Timestamp> {
        self.samples.first().map(|s| s.ts)
    }
    pub fn last_ts(&self) -> Option<Timestamp> {
        self.samples.last().map(|s| s.ts)
    }
    /// Samples with `ts <= at`.
    pub fn until(&self, at: Timestamp) -> &[Sample] {
        let end = self.samples.partition_point(|s| s.ts <= at);
        &self.samples[..end]
    }
    /// Median spacing between consecutive samples; `None` with fewer than two samples.
    pub fn median_interval(&self) -> Option<Interval> {
        if self.samples.len() < 2 {
            return None;
        }
        let mut d: Vec<i64> = self
            .samples
            .windows(2)
            .map(|w| w[1].ts.0 - w[0].ts.0)
            .collect();
        let mid = d.len() / 2;
        let (_, m, _) = d.select_nth_unstable(mid);
        Interval::from_millis(*m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MetricName, WorkloadId};

    fn key() -> SeriesKey {
        SeriesKey::new(
            WorkloadId::new("w").unwrap(),
            MetricName::new("cpu").unwrap(),
        )
    }

    #[test]
    fn rejects_nan_and_disorder() {
        let s = |t, v| Sample {
            ts: Timestamp(t),
            value: v,
        };
        assert!(Series::new(key(), Labels::new(), vec![s(1, f64::NAN)]).is_err());
        assert!(Series::new(key(), Labels::new(), vec![s(2, 1.0), s(1, 1.0)]).is_err());
        assert!(Series::new(key(), Labels::new(), vec![s(1, 1.0), s(1, 1.0)]).is_err());
        let ok = Series::new(
            key(),
            Labels::new(),
            vec![s(0, 1.0), s(300, 2.0), s(600, 3.0)],
        )
        .unwrap();
        assert_eq!(ok.median_interval(), Interval::from_millis(300));
        assert_eq!(ok.until(Timestamp(300)).len(), 2);
    }
}
