//! What the scaler serves: a per-(workload, metric) prediction and where it comes from.

use prescale_core::{SeriesKey, Timestamp};
use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;

/// The demand predicted for one metric of one workload, `lead` ahead of `fresh_at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Point forecast at the lead time.
    pub value_at_lead: f64,
    /// Upper bound of the forecast interval at the lead time (what a cautious policy scales to).
    pub upper: f64,
    /// How far ahead of `fresh_at` the prediction looks.
    pub lead: Duration,
    /// When the prediction was computed; the scaler refuses to serve it once it is too old.
    pub fresh_at: Timestamp,
}

/// Anything that can answer "what is the predicted `metric` of `workload`?"; called on every RPC.
pub trait PredictionSource: Send + Sync {
    fn predicted(&self, workload: &str, metric: &str) -> Option<Prediction>;
}

/// In-memory predictions the daemon overwrites each tick; readers never block each other.
#[derive(Debug, Default)]
pub struct SharedPredictions {
    map: RwLock<HashMap<(String, String), Prediction>>,
}

impl SharedPredictions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or replaces) the prediction for `workload`/`metric`.
    pub fn insert(&self, workload: impl Into<String>, metric: impl Into<String>, p: Prediction) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.insert((workload.into(), metric.into()), p);
    }

    /// Sets the prediction for a series key (`workload` and `metric` taken from it).
    pub fn insert_key(&self, key: &SeriesKey, p: Prediction) {
        self.insert(key.workload.as_str(), key.metric.as_str(), p);
    }

    /// Removes and returns the prediction for `workload`/`metric`.
    pub fn remove(&self, workload: &str, metric: &str) -> Option<Prediction> {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        map.remove(&(workload.to_owned(), metric.to_owned()))
    }

    /// Replaces every prediction at once (one lock, so readers see the old or the new set).
    pub fn replace_all(
        &self,
        predictions: impl IntoIterator<Item = ((String, String), Prediction)>,
    ) {
        let fresh: HashMap<_, _> = predictions.into_iter().collect();
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        *map = fresh;
    }

    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PredictionSource for SharedPredictions {
    fn predicted(&self, workload: &str, metric: &str) -> Option<Prediction> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        // Tuple keys of owned strings cannot be borrowed as (&str, &str); the allocation is two short strings.
        map.get(&(workload.to_owned(), metric.to_owned())).copied()
    }
}

impl<T: PredictionSource + ?Sized> PredictionSource for std::sync::Arc<T> {
    fn predicted(&self, workload: &str, metric: &str) -> Option<Prediction> {
        (**self).predicted(workload, metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::{MetricName, WorkloadId};

    fn p(v: f64) -> Prediction {
        Prediction {
            value_at_lead: v,
            upper: v + 1.0,
            lead: Duration::from_secs(60),
            fresh_at: Timestamp(1_000),
        }
    }

    #[test]
    fn insert_get_remove_replace() {
        let s = SharedPredictions::new();
        assert!(s.is_empty());
        s.insert("ns/web", "demand", p(3.0));
        let key = SeriesKey::new(
            WorkloadId::new("ns/api").unwrap(),
            MetricName::new("rps").unwrap(),
        );
        s.insert_key(&key, p(5.0));
        assert_eq!(s.predicted("ns/web", "demand"), Some(p(3.0)));
        assert_eq!(s.predicted("ns/api", "rps"), Some(p(5.0)));
        assert_eq!(s.predicted("ns/web", "rps"), None);
        assert_eq!(s.remove("ns/web", "demand"), Some(p(3.0)));
        assert_eq!(s.predicted("ns/web", "demand"), None);
        s.replace_all([(("a".to_owned(), "m".to_owned()), p(7.0))]);
        assert_eq!(s.len(), 1);
        assert_eq!(s.predicted("ns/api", "rps"), None);
        assert_eq!(s.predicted("a", "m"), Some(p(7.0)));
    }
}
