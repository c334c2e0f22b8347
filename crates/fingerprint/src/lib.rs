//! Behavioural fingerprints of workloads: window features → robust scaling → PCA or an
//! autoencoder, plus 2-D maps.
//!
//! Pure, synchronous math on in-memory series: no files, no store, no clock.

pub mod autoencoder;
pub mod basis;
pub mod config;
pub mod error;
pub mod features;
pub mod fleet;
pub mod pca;
pub mod scaler;
pub mod svg;
pub mod tsne;
pub mod window;

pub use autoencoder::{Autoencoder, AutoencoderConfig, AUTOENCODER_VERSION};
pub use basis::FleetFeatures;
pub use config::{FingerprintConfig, Reducer};
pub use error::FingerprintError;
pub use features::{workload_features, FeatureVector, MetricInput, WorkloadInput};
pub use fleet::{fingerprint_fleet, FleetFingerprints, FleetModel};
pub use pca::{Pca, PcaTarget};
pub use scaler::RobustScaler;
pub use svg::scatter_svg;
pub use tsne::tsne_2d;
pub use window::{window_features, WindowFeatures, WINDOW_FEATURE_NAMES};

#[cfg(test)]
pub(crate) mod testutil {
    /// Deterministic uniform noise in [-0.5, 0.5) (64-bit LCG).
    pub fn uniform(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*seed >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }
}
