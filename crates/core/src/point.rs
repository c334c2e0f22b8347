//! One live observation of one series ([`Point`]: what every telemetry source produces and the store
//! appends), and many of one series at once ([`SeriesPoints`]).

use crate::{Labels, Sample, SeriesKey};
use serde::{Deserialize, Serialize};

/// A sample together with the series it belongs to and that series' labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub key: SeriesKey,
    pub labels: Labels,
    pub sample: Sample,
}

/// The samples of one series with its key and labels given once: what admission makes of a
/// remote-write series and the store appends in one piece. Key and labels are shared (`Arc`) with
/// whoever tracks the series, so a batch costs no per-sample copies of them.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoints {
    pub key: std::sync::Arc<SeriesKey>,
    pub labels: std::sync::Arc<Labels>,
    /// In the order they were admitted (time order from admission).
    pub samples: Vec<Sample>,
}

impl SeriesPoints {
    /// The same samples as one [`Point`] each (copies key and labels per sample).
    pub fn points(&self) -> impl Iterator<Item = Point> + '_ {
        self.samples.iter().map(|s| Point {
            key: (*self.key).clone(),
            labels: (*self.labels).clone(),
            sample: *s,
        })
    }
}
