//! `gbm` on one series: the shared fleet model applied at each origin of this series.

use crate::fleet::FleetInput;
use crate::path::PathModel;

/// The fleet model with this series' season, calendar and context.
pub(crate) struct GbmPath {
    pub fleet: FleetInput,
    pub season: Option<usize>,
}

impl PathModel for GbmPath {
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let naive = |o: usize| vec![o.checked_sub(1).map_or(0.0, |i| y[i]); h];
        origins
            .iter()
            .map(|&o| {
                let o = o.min(y.len());
                match self.fleet.gbm.predict_path(
                    y,
                    o,
                    h,
                    self.season,
                    self.fleet.timing,
                    &self.fleet.context,
                ) {
                    Ok(Some(p)) => p,
                    // an origin too early for a feature row forecasts like naive
                    Ok(None) => naive(o),
                    // a failing row makes the path non-finite, which every caller rejects
                    Err(_) => vec![f64::NAN; h],
                }
            })
            .collect()
    }
    fn spec(&self) -> String {
        format!(
            "GBM[{} trees, {} series]",
            self.fleet.gbm.trees(),
            self.fleet.gbm.series
        )
    }
    fn params(&self) -> Vec<(String, f64)> {
        vec![
            ("trees".into(), self.fleet.gbm.trees() as f64),
            ("training_rows".into(), self.fleet.gbm.rows as f64),
        ]
    }
    fn in_sample_mae(&self) -> Option<f64> {
        None
    }
}
