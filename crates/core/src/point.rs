//! One live observation of one series: what every telemetry source produces and the store appends.

use crate::{Labels, Sample, SeriesKey};
use serde::{Deserialize, Serialize};

/// A sample together with the series it belongs to and that series' labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub key: SeriesKey,
    pub labels: Labels,
    pub sample: Sample,
}
