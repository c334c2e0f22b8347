//! Plain records the store keeps for the later stages (no dependency on their crates).

use prescale_core::{
    ClusterId, Fingerprint, Forecast, Interval, Labels, SeriesKey, Timestamp, WorkloadId,
};

/// What an upsert did: new samples and samples whose timestamp was already stored (value overwritten).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpsertStats {
    pub inserted: usize,
    pub replaced: usize,
}

/// One stored series, without its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesInfo {
    pub key: SeriesKey,
    pub labels: Labels,
    pub samples: usize,
    pub first_ts: Option<Timestamp>,
    pub last_ts: Option<Timestamp>,
}

/// One fingerprinting pass: the fitted model, its explained variance and a vector per workload.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerprintRun {
    /// Data time the fingerprints describe (end of their windows).
    pub at: Timestamp,
    /// When the run was made.
    pub created: Timestamp,
    /// The fitted scaler/PCA model, serialized by the fingerprint stage.
    pub model_json: String,
    pub explained_variance: Vec<f64>,
    /// Principal components kept.
    pub kept: usize,
    pub vectors: Vec<Fingerprint>,
    /// 2-D projection for maps.
    pub map2d: Vec<(WorkloadId, [f64; 2])>,
    /// Behavioural-anomaly score per workload (the model's reconstruction error), for the
    /// workloads of `vectors` that have one (none in runs stored before schema 6).
    pub reconstruction_error: Vec<(WorkloadId, f64)>,
}

/// The anomaly scores of one fingerprint run.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerprintScores {
    pub run_id: i64,
    /// Data time the fingerprints describe.
    pub at: Timestamp,
    /// Reconstruction error per workload that has one.
    pub scores: Vec<(WorkloadId, f64)>,
}

/// One cluster of a clustering run.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRecord {
    pub id: ClusterId,
    pub centroid: Vec<f64>,
    pub members: Vec<WorkloadId>,
}

/// One clustering pass over a fingerprint run.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusteringRun {
    pub created: Timestamp,
    /// Id of the fingerprint run it clustered (must exist).
    pub fingerprint_run: i64,
    /// `kmeans` or `dbscan`.
    pub algorithm: String,
    pub params_json: String,
    pub clusters: Vec<ClusterRecord>,
    /// Workloads in no cluster (DBSCAN noise).
    pub noise: Vec<WorkloadId>,
}

/// A fitted forecasting model for one series.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRecord {
    pub key: SeriesKey,
    pub kind: String,
    pub spec: String,
    pub params_json: String,
    pub fitted_at: Timestamp,
    pub trained_until: Timestamp,
    pub in_sample_mae: Option<f64>,
}

/// A forecast issued for one series at its last sample time.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastRecord {
    pub key: SeriesKey,
    pub model_id: Option<i64>,
    /// Time of the last sample the forecast saw; step k of the path is at `issued_at + k * step`.
    pub issued_at: Timestamp,
    pub step: Interval,
    pub forecast: Forecast,
}
