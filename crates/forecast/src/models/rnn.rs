//! `gru` and `lstm` on one series: the fleet's recurrent model applied at each origin of this series.

use crate::neural::RnnFleet;
use crate::path::PathModel;
use std::sync::Arc;

/// The recurrent fleet model with this series' season.
pub(crate) struct RnnPath {
    pub model: Arc<RnnFleet>,
    pub season: Option<usize>,
}

impl PathModel for RnnPath {
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        origins
            .iter()
            .map(|&o| {
                let o = o.min(y.len());
                match self.model.predict_path(y, o, h, self.season) {
                    Ok(Some(p)) => p,
                    // an origin too early for a window forecasts like naive
                    Ok(None) => vec![o.checked_sub(1).map_or(0.0, |i| y[i]); h],
                    // a failing window makes the path non-finite, which every caller rejects
                    Err(_) => vec![f64::NAN; h],
                }
            })
            .collect()
    }
    fn spec(&self) -> String {
        format!(
            "{}[hidden {}, window {}, {} series]",
            self.model.kind().name().to_uppercase(),
            self.model.hidden(),
            self.model.window,
            self.model.series
        )
    }
    fn params(&self) -> Vec<(String, f64)> {
        vec![
            ("hidden".into(), self.model.hidden() as f64),
            ("training_windows".into(), self.model.rows as f64),
        ]
    }
    fn in_sample_mae(&self) -> Option<f64> {
        None
    }
}
