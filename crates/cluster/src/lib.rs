//! Groups workload fingerprints: k-means, DBSCAN, silhouette, stable cluster ids, nearest lookup.
//!
//! Distances come from `prescale_math`; k-means and DBSCAN run on linfa. Pure and synchronous.

pub mod assign;
pub mod dbscan;
pub mod error;
pub mod kmeans;
mod points;
pub mod silhouette;
pub mod stable_ids;

pub use assign::{assign_nearest, Assignment};
pub use dbscan::{dbscan, k_distances, knee_eps, DbscanResult};
pub use error::ClusterError;
pub use kmeans::{kmeans, KMeansResult};
pub use silhouette::{centroids_of, silhouette};
pub use stable_ids::{stable_ids, PreviousCluster};
