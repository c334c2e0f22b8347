//! Shared numeric building blocks used by fingerprint, cluster and forecast (one home per formula).

pub mod correlation;
pub mod distance;
pub mod isotonic;
pub mod period;
pub mod rng;
pub mod robust;
pub mod seasonal;
pub mod stats;

pub use correlation::pearson;
pub use distance::{euclidean, squared_euclidean};
pub use isotonic::increasing_fit;
pub use period::{detect_periods, DetectedPeriod};
pub use rng::SplitMix64;
pub use robust::{mad, MAD_TO_SIGMA};
pub use stats::{
    autocorrelation, least_squares_slope, mean, mean_abs_diff, median, median_in_place,
    median_sorted, nonneg_line_fit, quantile, quantile_in_place, quantile_sorted, sort_total,
    std_dev, total_key, variance,
};
