//! The config file as written (TOML, serde, unknown fields refused); validation turns it into `DaemonConfig`.
//!
//! Sections owned by other crates (`[agent]` settings, mapping rules) stay raw TOML here and are read
//! into those crates' types during validation, so their errors carry this file's paths.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub db: Option<String>,
    pub agent: Option<toml::Table>,
    #[serde(default)]
    pub scrape: Vec<FileScrape>,
    /// `[[source.promql]]`: series read from a user's Prometheus-compatible server by PromQL.
    pub source: Option<FileSources>,
    pub remote_write: Option<FileRemoteWrite>,
    pub admission: Option<FileAdmission>,
    pub retention: Option<FileRetention>,
    #[serde(default)]
    pub backfill: Vec<FileBackfill>,
    #[serde(default)]
    pub export: Vec<FileExport>,
    pub store: Option<FileStore>,
    pub writer: Option<FileWriter>,
    /// Control loop period (default "15s").
    pub tick: Option<String>,
    /// `"forecast-only"` (default) or `"act"`, for every `[[workload]]` without its own.
    pub mode: Option<String>,
    /// Controlled workloads.
    #[serde(default)]
    pub workload: Vec<super::workload::WorkloadConfig>,
    /// Bearer token of the mutating API endpoints (at least 16 characters).
    pub api_token: Option<String>,
    /// A file holding the bearer token (trailing whitespace trimmed); exclusive with `api_token`.
    pub api_token_file: Option<String>,
    /// `[learn]`: fingerprints and clusters of the stored fleet, refreshed on a schedule.
    pub learn: Option<FileLearn>,
    /// `[keda]`: the KEDA external scaler gRPC server (off when absent).
    pub keda: Option<FileKeda>,
    /// `[alerts]`: where anomaly events are posted (off when absent).
    pub alerts: Option<FileAlerts>,
    /// `[kubernetes]`: how `type = "kubernetes"` actuators reach the API server.
    pub kubernetes: Option<FileKubernetes>,
    /// `[server]`: timeouts and the connection cap of the HTTP listener.
    pub server: Option<FileServer>,
    /// `[observe]`: forecast-only forecasts of the busiest discovered workloads.
    pub observe: Option<FileObserve>,
    /// `[cluster]`: instances sharing the fleet over NATS JetStream.
    pub cluster: Option<super::cluster::FileCluster>,
}

/// `[observe]`: every discovered workload's demand forecast, forecast-only, capped.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileObserve {
    /// Default: true exactly when no `[[workload]]` and no PredictiveScalers are configured.
    pub enabled: Option<bool>,
    /// Preferred demand metrics, first found wins (default ["cpu_cores"]).
    pub metrics: Option<Vec<String>>,
    /// A workload with none of `metrics` is observed on its series with the most samples
    /// (default true).
    pub any_metric: Option<bool>,
    /// Most workloads observed at once, the busiest first (default 200).
    pub max_workloads: Option<u64>,
    /// Decision step (default "5s").
    pub step: Option<String>,
    /// Lead time the forecasts look ahead (default "30s").
    pub lead: Option<String>,
    /// Demand one replica serves, for what it would do (default 1.0).
    pub capacity_per_replica: Option<f64>,
    /// How often the workloads are listed and ranked again (default "1m").
    pub rescan: Option<String>,
}

/// `[server]`: how long a client may take and how many connections are served at once.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileServer {
    /// From the first byte of a request to its last header line (default "10s").
    pub header_read_timeout: Option<String>,
    /// From the end of the headers to the last byte of the body (default "60s").
    pub body_timeout: Option<String>,
    /// A kept-alive connection with no request for this long is closed (default "60s").
    pub idle_timeout: Option<String>,
    /// Connections served at once; more are answered 503 and closed (default 1024, lowered to
    /// what the open-file limit leaves after `fd_reserve`).
    pub max_connections: Option<u64>,
    /// File descriptors kept for the store, the agent and outgoing requests (default 128).
    pub fd_reserve: Option<u64>,
}

/// `[remote_write.auth]`: who may push. A bearer token, HTTP basic credentials, or both (either is
/// accepted); Prometheus `remote_write` sends them as `authorization` / `basic_auth`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWriteAuth {
    pub bearer_token: Option<String>,
    /// A file holding the token (trailing whitespace trimmed); exclusive with `bearer_token`.
    pub bearer_token_file: Option<String>,
    pub basic_username: Option<String>,
    pub basic_password: Option<String>,
    /// A file holding the password; exclusive with `basic_password`.
    pub basic_password_file: Option<String>,
}

/// `[kubernetes]`: the API server connection of the Kubernetes actuator.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileKubernetes {
    /// e.g. "http://127.0.0.1:8001" (`kubectl proxy`); default: in-cluster service account or
    /// `$KUBECONFIG`.
    pub api_server: Option<String>,
    /// `fieldManager` of every patch (default "prescale").
    pub field_manager: Option<String>,
    /// "unchanged" (default) or "match-requests".
    pub limits: Option<String>,
    /// Also resize running pods in place (Kubernetes 1.33+; default false).
    pub in_place_resize: Option<bool>,
    /// Per request (default "30s").
    pub request_timeout: Option<String>,
    /// Also control every `PredictiveScaler` resource as a workload (default false).
    pub predictive_scalers: Option<bool>,
    /// Only the scalers of this namespace (default: all namespaces).
    pub scaler_namespace: Option<String>,
    /// How often the scalers are listed again (default "30s").
    pub resync: Option<String>,
    /// Pricing catalogues a `PredictiveScaler` may name in `spec.purchase.pricing`, by name:
    /// `pricing = { aws = "/etc/prescale/pricing.toml" }` (a scaler never names a file).
    pub pricing: Option<std::collections::BTreeMap<String, String>>,
}

/// `[alerts]`: a webhook that receives each anomaly event as it opens and closes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAlerts {
    pub webhook: String,
    /// Name of the environment variable holding the HMAC-SHA256 secret; the body's signature is
    /// sent in `X-Prescale-Signature` (as the webhook actuator does).
    pub secret_env: Option<String>,
    /// Default "5s".
    pub timeout: Option<String>,
}

/// `[keda]`: where the `externalscaler.ExternalScaler` server listens and how old a prediction
/// it serves may be.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileKeda {
    /// Default "127.0.0.1:9465".
    pub listen: Option<String>,
    /// Predictions older than this are refused with UNAVAILABLE (default "2m").
    pub max_age: Option<String>,
    /// How often an open StreamIsActive re-evaluates (default "5s").
    pub poll_interval: Option<String>,
}

/// `[learn]`: how often the learn loop fingerprints and clusters the stored fleet.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileLearn {
    /// Default true (embedded store only).
    pub enabled: Option<bool>,
    /// Default "1m".
    pub fingerprint_every: Option<String>,
    /// Default "1h".
    pub cluster_every: Option<String>,
    /// Sliding windows of the fingerprint features (default ["1h", "1d", "1w"]).
    pub windows: Option<Vec<String>>,
    /// Train the fleet gbm across the controlled workloads (default true).
    pub fleet: Option<bool>,
    /// Default "1h".
    pub fleet_every: Option<String>,
    /// "pca" (default) or "ae".
    pub reducer: Option<String>,
    /// Refit the fingerprint basis once it was fitted on data this much older (default "30d");
    /// "never": only when the settings or the fleet's features change.
    pub refit_basis: Option<String>,
    /// Recurrent models per k-means cluster: any of "gru" (default), "lstm"; [] for none.
    pub cluster_models: Option<Vec<String>>,
}

/// One `[[scrape]]` target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileScrape {
    pub name: String,
    pub url: String,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    /// Largest response body read, in bytes.
    pub max_body_bytes: Option<u64>,
    /// Mapping rules (prescale-ingest `MappingRules`).
    pub mapping: Option<toml::Value>,
}

/// `[source]`: further telemetry sources.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSources {
    #[serde(default)]
    pub promql: Vec<FilePromql>,
}

/// One `[[source.promql]]`: an instant query evaluated on an interval.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePromql {
    pub name: String,
    /// Base URL of the Prometheus-compatible API (Prometheus, VictoriaMetrics).
    pub url: String,
    pub query: String,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    /// Metric name the results are stored under (default: each result's `__name__`, else `name`).
    pub metric: Option<String>,
    /// Mapping rules (prescale-ingest `MappingRules`), as for scrape targets.
    pub mapping: Option<toml::Value>,
}

/// `[remote_write]`: limits of the receiver.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRemoteWrite {
    pub max_body_bytes: Option<u64>,
    pub max_decompressed_bytes: Option<u64>,
    pub max_series: Option<u64>,
    pub max_labels_per_series: Option<u64>,
    pub max_label_bytes: Option<u64>,
    /// Samples in one request (413 beyond).
    pub max_samples: Option<u64>,
    /// Bytes of bodies and decompressed data all requests hold at once (429 beyond).
    pub max_inflight_bytes: Option<u64>,
    pub mapping: Option<toml::Value>,
    /// Credentials a push must carry (see [`FileWriteAuth`]).
    pub auth: Option<FileWriteAuth>,
    /// Accept unauthenticated pushes on a non-loopback `listen` (default false: refused).
    pub allow_unauthenticated: Option<bool>,
}

/// `[admission]`: what samples are accepted.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAdmission {
    pub max_future: Option<String>,
    pub max_age: Option<String>,
    pub max_series: Option<u64>,
    /// Series tracked at once for one workload.
    pub max_series_per_workload: Option<u64>,
    /// A series with no sample for this long gives its slot back (duration, default 1h).
    pub series_idle_expiry: Option<String>,
    pub counters_as_rates: Option<bool>,
}

/// `[retention]`: raw samples, rollups, how often to apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRetention {
    pub raw_for: Option<String>,
    /// `"forever"` or a duration.
    pub rollup_for: Option<String>,
    pub rollup_step: Option<String>,
    pub every: Option<String>,
    /// How long decisions are kept: a duration (default "30d") or `"forever"`.
    pub decisions_for: Option<String>,
}

/// One `[[backfill]]` source, read once at start-up.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileBackfill {
    pub url: String,
    pub range: Option<String>,
    pub step: Option<String>,
    pub timeout: Option<String>,
    /// prescale-remote `BackfillQuery` tables: `promql`, `workload` and `metric` templates, `step`.
    pub queries: Vec<toml::Value>,
}

/// One `[[export]]` destination for prescale's own series.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileExport {
    pub url: String,
    pub interval: Option<String>,
    pub timeout: Option<String>,
}

/// `[store]`: where raw telemetry lives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileStore {
    pub kind: String,
    /// Base URL of the Prometheus-compatible API windows are read from (kind = "prometheus").
    pub url: Option<String>,
    /// Remote-write URL raw telemetry is pushed to (default: `url` + `/api/v1/write`).
    pub write_url: Option<String>,
    /// `"full"` (default: every commit fsynced) or `"normal"` (survives kill -9, not power loss).
    pub synchronous: Option<String>,
}

/// `[writer]`: batching of agent and scrape points into store transactions.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileWriter {
    pub flush_interval: Option<String>,
    pub max_batch_points: Option<u64>,
    pub queue: Option<u64>,
}
