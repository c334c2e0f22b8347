//! Internal contract of a model with fixed parameters whose state can be run forward over a series.
//!
//! This is what makes conformal calibration and `auto`'s cross-validation cheap: a model is fitted once
//! on the data before the calibration tail and then its recursion produces h-step forecasts from every
//! later origin without refitting.

/// A fitted model with fixed parameters.
pub(crate) trait PathModel: Send + Sync {
    /// Point forecasts for `h` steps from each origin in `origins` (ascending, each at most `y.len()` and
    /// at least the end of the data the parameters were fitted on). Origin `t` uses `y[..t]` only.
    fn paths(&self, y: &[f64], origins: &[usize], h: usize) -> Vec<Vec<f64>>;
    /// The concrete form, e.g. `ETS(A,Ad,N)`.
    fn spec(&self) -> String;
    /// Fitted parameters by name.
    fn params(&self) -> Vec<(String, f64)>;
    /// Mean absolute one-step in-sample error, when the model has one.
    fn in_sample_mae(&self) -> Option<f64>;
}
