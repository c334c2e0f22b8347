//! `gbm` on one series: the shared fleet model applied at each origin of this series (with its
//! exogenous inputs, aligned to the end of the series fitted).

use crate::fleet::FleetInput;
use crate::path::PathModel;

/// The fleet model with this series' season, calendar, context and exogenous inputs.
pub(crate) struct GbmPath {
    pub fleet: FleetInput,
    pub season: Option<usize>,
}

impl PathModel for GbmPath {
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>> {
        let naive = |o: usize| vec![o.checked_sub(1).map_or(0.0, |i| y[i]); h];
        let clamped: Vec<usize> = origins.iter().map(|&o| o.min(y.len())).collect();
        match self
            .fleet
            .gbm
            .predict_paths(y, &clamped, h, self.fleet.info(self.season))
        {
            Ok(paths) => paths
                .into_iter()
                .zip(&clamped)
                // an origin too early for a feature row forecasts like naive
                .map(|(p, &o)| p.unwrap_or_else(|| naive(o)))
                .collect(),
            // a failing batch makes the paths non-finite, which every caller rejects
            Err(_) => vec![vec![f64::NAN; h]; origins.len()],
        }
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
