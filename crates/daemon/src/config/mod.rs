//! Daemon configuration: the TOML file, validated once into a typed `DaemonConfig`.

mod actions;
mod cluster;
mod drivers;
mod duration;
mod error;
mod file;
#[doc(hidden)]
pub mod fuzzing;
mod observe;
mod program;
mod purchase;
mod serving;
pub(crate) mod sizing;
mod slo;
mod token;
mod validate;
mod workload;

pub use cluster::ClusterConfig;
pub use drivers::{Drivers, PlannedEvent, PredictorRef};
pub use duration::show as show_duration;
pub use error::{ConfigError, Problem};
pub use file::FileConfig;
pub use observe::ObserveConfig;
pub use purchase::PurchaseConfig;
pub use serving::{write_exposure, BasicAuth, ServerConfig, WriteAuth};
pub use token::{ApiToken, MIN_TOKEN_CHARS, TOKEN_ENV};
pub use workload::{Origin, ResourceConfig, ResourcesConfig, ShadowConfig, WorkloadConfig};

use prescale_agent::AgentConfig;
use prescale_ingest::admit::{AdmissionConfig, MappingRules};
use prescale_ingest::remote_write::Limits;
use prescale_remote::BackfillQuery;
use prescale_store::Synchronous;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default HTTP listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9464";
/// Default embedded store file.
pub const DEFAULT_DB: &str = "./prescale.db";

/// The validated configuration the daemon runs on.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    pub listen: SocketAddr,
    pub db: PathBuf,
    /// `None` when `[agent] enabled = false`.
    pub agent: Option<AgentConfig>,
    pub scrape: Vec<ScrapeTarget>,
    /// `[[source.promql]]`: queries of a user's Prometheus-compatible server.
    pub promql: Vec<PromqlSource>,
    pub receiver: ReceiverConfig,
    pub admission: AdmissionConfig,
    /// `None` (`raw_for = "forever"`) keeps every sample forever.
    pub retention: Option<RetentionSchedule>,
    pub backfill: Vec<BackfillJob>,
    pub export: Vec<ExportTarget>,
    pub store: StoreKind,
    /// Durability of each embedded-store commit.
    pub synchronous: Synchronous,
    pub writer: WriterConfig,
    /// The control loop (no workloads: no loop).
    pub control: ControlConfig,
    /// Observe mode: forecast-only slots for the busiest discovered workloads; `None` when off.
    pub observe: Option<ObserveConfig>,
    /// Bearer token of the mutating API endpoints; `None` disables them (403).
    pub api_token: Option<ApiToken>,
    /// The learn loop; `None` when `[learn] enabled = false`.
    pub learn: Option<LearnConfig>,
    /// The KEDA external scaler; `None` without a `[keda]` section.
    pub keda: Option<KedaConfig>,
    /// The anomaly webhook; `None` without an `[alerts]` section.
    pub alerts: Option<AlertsConfig>,
    /// How `type = "kubernetes"` actuators connect (defaults without a `[kubernetes]` section).
    pub kubernetes: KubernetesConfig,
    /// Timeouts and the connection cap of the HTTP listener.
    pub server: ServerConfig,
    /// Credentials `POST /api/v1/write` requires; `None`: none (allowed on loopback only, unless
    /// `allow_unauthenticated_write`).
    pub write_auth: Option<WriteAuth>,
    /// `[remote_write] allow_unauthenticated = true`: an unauthenticated receiver may listen
    /// beyond loopback (warned about at start-up).
    pub allow_unauthenticated_write: bool,
    /// `[cluster]`: instances sharing the fleet over NATS JetStream; `None`: this one alone.
    pub cluster: Option<ClusterConfig>,
}

/// `[kubernetes]`: the API server (`None`: in-cluster or `$KUBECONFIG`) and actuator options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KubernetesConfig {
    pub api_server: Option<String>,
    pub options: prescale_kube::KubeOptions,
    /// `PredictiveScaler` resources as workloads (`None`: off).
    pub scalers: Option<ScalersConfig>,
}

impl KubernetesConfig {
    /// The actuator kinds this program builds: prescale-actuate's and Kubernetes, connected as
    /// configured here.
    pub fn registry(&self) -> prescale_actuate::Registry {
        let mut r = prescale_actuate::Registry::builtin();
        r.register(std::sync::Arc::new(prescale_kube::KubeKind {
            api_server: self.api_server.clone(),
            options: self.options.clone(),
        }));
        r
    }
}

/// `[kubernetes] predictive_scalers = true`: which scalers, and how often they are listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalersConfig {
    /// `None`: every namespace.
    pub namespace: Option<String>,
    pub resync: Duration,
    /// `[kubernetes] pricing`: the catalogues scalers may name, by name (each read and checked
    /// once at start-up), as file paths.
    pub pricing: std::collections::BTreeMap<String, String>,
}

/// `[alerts]`: anomaly events are posted as JSON to `webhook`, signed when a secret is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertsConfig {
    pub webhook: String,
    /// The secret's bytes (read from the environment at validation; never printed).
    pub secret: Option<Vec<u8>>,
    pub timeout: Duration,
}

/// `[keda]`: the gRPC `externalscaler.ExternalScaler` server fed with each controlled workload's
/// predicted demand at its lead time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KedaConfig {
    pub listen: SocketAddr,
    pub max_age: Duration,
    pub poll_interval: Duration,
}

/// Default address of the KEDA external scaler.
pub const DEFAULT_KEDA_LISTEN: &str = "127.0.0.1:9465";

/// `[learn]`: the fleet's fingerprints are refreshed every `fingerprint_every` and re-clustered every
/// `cluster_every` (and once after the first fingerprint run), with feature windows `windows`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnConfig {
    pub fingerprint_every: Duration,
    pub cluster_every: Duration,
    pub windows: Vec<Duration>,
    /// How often the fleet gbm is retrained across the controlled workloads' histories and handed
    /// to their forecasters; `None` when `fleet = false`.
    pub fleet_every: Option<Duration>,
    /// How window features become fingerprint vectors: `pca` (default) or `ae` (autoencoder).
    pub reducer: prescale_fingerprint::Reducer,
    /// The fingerprint basis is refit once it was fitted on data this much older than a run's
    /// (fingerprints stay comparable in between); `None`: never for age.
    pub refit_basis: Option<Duration>,
    /// The recurrent models trained per k-means cluster beside the fleet gbm (`gru` by default;
    /// `lstm` costs about twice a GRU's training); empty: none.
    pub cluster_models: Vec<prescale_forecast::neural::CellKind>,
}

impl Default for LearnConfig {
    /// Fingerprints every minute, clusters hourly, windows of 1 h, 1 d and 1 w, the fleet model
    /// retrained hourly.
    fn default() -> Self {
        let hours = |h: u64| Duration::from_secs(h * 3600);
        LearnConfig {
            fingerprint_every: Duration::from_secs(60),
            cluster_every: hours(1),
            windows: vec![hours(1), hours(24), hours(168)],
            fleet_every: Some(hours(1)),
            reducer: prescale_fingerprint::Reducer::DEFAULT,
            refit_basis: Some(hours(24 * prescale_learn::DEFAULT_MAX_AGE_DAYS as u64)),
            cluster_models: vec![prescale_forecast::neural::CellKind::Gru],
        }
    }
}

/// The control loop: its period and the controlled workloads.
#[derive(Debug, Clone)]
pub struct ControlConfig {
    pub tick: Duration,
    /// The global mode at start-up (top-level `mode`); switchable at run time by `POST /api/v1/mode`.
    pub mode: prescale_control::Mode,
    pub workloads: Vec<ControlledWorkload>,
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            tick: Duration::from_secs(15),
            mode: prescale_control::Mode::ForecastOnly,
            workloads: Vec::new(),
        }
    }
}

/// One controlled workload: its validated spec and actuator.
#[derive(Debug, Clone)]
pub struct ControlledWorkload {
    /// `spec.mode` is the start-up mode (its own `mode`, else the global one).
    pub spec: prescale_control::WorkloadSpec,
    /// The workload's own `mode`, which wins over the run-time global mode (see
    /// [`crate::controls::effective_mode`]).
    pub own_mode: Option<prescale_control::Mode>,
    /// Built by the kind its `type` names (see [`KubernetesConfig::registry`]).
    pub actuator: prescale_actuate::ActuatorConfig,
    /// Back-off and circuit breaker around the actuator (defaults when the table is absent).
    pub retry: prescale_actuate::RetryConfig,
    /// Whose cluster profile forecasts the workload while its history is too short.
    pub like: Option<prescale_learn::Like>,
    /// Its predictors and known events, for the fleet forecaster.
    pub drivers: Drivers,
    /// Candidate configurations deciding beside it without acting (`[[workload.shadow]]`).
    pub shadows: Vec<prescale_control::ShadowSpec>,
    /// The target fired ahead of a predicted surge (`[workload.warmup]`; when is `spec.warmup`).
    pub warmup: Option<prescale_actuate::ActuatorConfig>,
    /// The configured workloads whose predicted rise this one follows (`depends_on`), checked
    /// once over all workloads (known names, no cycle).
    pub depends_on: Vec<prescale_core::WorkloadId>,
    /// The purchase mix each decision is priced with (`[workload.purchase]`).
    pub purchase: Option<prescale_control::purchase_mix::PurchaseMixSpec>,
}

/// One PromQL instant query read on an interval from a Prometheus-compatible API; its results are
/// admitted like scraped samples (mapping rules to workloads) and stored.
#[derive(Debug, Clone)]
pub struct PromqlSource {
    pub name: String,
    pub url: String,
    pub query: String,
    pub interval: Duration,
    pub timeout: Duration,
    /// Stored metric name; `None`: each result's `__name__`, else the source's name.
    pub metric: Option<String>,
    pub mapping: MappingRules,
}

/// One Prometheus/OpenMetrics endpoint scraped on an interval.
#[derive(Debug, Clone)]
pub struct ScrapeTarget {
    pub name: String,
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub max_body_bytes: u64,
    pub mapping: MappingRules,
}

/// The remote-write receiver: decoder limits and how pushed series map to workloads.
#[derive(Debug, Clone)]
pub struct ReceiverConfig {
    pub limits: Limits,
    pub mapping: MappingRules,
}

/// Retention applied by the writer every `every`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionSchedule {
    pub raw_for: Duration,
    /// `None`: rollups are kept forever.
    pub rollup_for: Option<Duration>,
    pub rollup_step: Duration,
    pub every: Duration,
    /// Decisions older than this are deleted; `None`: kept forever.
    pub decisions_for: Option<Duration>,
}

/// One back-fill source read at start-up.
#[derive(Debug, Clone)]
pub struct BackfillJob {
    pub url: String,
    pub range: Duration,
    pub step: Duration,
    pub timeout: Duration,
    pub queries: Vec<BackfillQuery>,
}

/// One remote-write destination for prescale's own series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportTarget {
    pub url: String,
    pub interval: Duration,
    pub timeout: Duration,
}

/// Where raw telemetry lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// The embedded SQLite file at `DaemonConfig::db`.
    Embedded,
    /// A Prometheus-compatible server: points are remote-written to `write_url`, windows read from `url`.
    Prometheus { url: String, write_url: String },
}

/// Batching of points into store transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterConfig {
    /// Points from the agent and scrapes wait at most this long before a commit.
    pub flush_interval: Duration,
    /// A commit happens as soon as this many points are pending.
    pub max_batch_points: usize,
    /// Batches queued for the writer before senders wait (back-pressure).
    pub queue: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            flush_interval: Duration::from_secs(1),
            max_batch_points: 50_000,
            queue: 256,
        }
    }
}

impl DaemonConfig {
    /// Reads and validates a config file.
    pub fn from_file(path: &Path) -> Result<DaemonConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        validate::validate(file, &path.display().to_string())
    }

    /// Parses and validates config text (tests, `prescale config check`).
    pub fn from_toml(text: &str) -> Result<DaemonConfig, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: PathBuf::from("config"),
            source: Box::new(e),
        })?;
        validate::validate(file, "config")
    }

    /// The configuration used without a file: the agent over this machine's processes grouped by
    /// command name, the embedded store at `./prescale.db`, HTTP on `127.0.0.1:9464` — the same
    /// validation as a file gets (an empty one), so `PRESCALE_API_TOKEN` is checked and retention
    /// is on here too.
    pub fn defaults() -> Result<DaemonConfig, ConfigError> {
        validate::validate(FileConfig::default(), "the defaults (no config file)")
    }
}

/// A human summary of what the daemon would run (`prescale run --check`).
pub fn describe(cfg: &DaemonConfig) -> String {
    let mut lines = vec![
        format!("listen     {}", cfg.listen),
        format!("db         {}", cfg.db.display()),
        match &cfg.store {
            StoreKind::Embedded => format!("store      embedded ({:?} sync)", cfg.synchronous),
            StoreKind::Prometheus { url, write_url } => {
                format!("store      prometheus: write {write_url}, read {url}")
            }
        },
        match &cfg.agent {
            Some(a) => format!(
                "agent      every {}, {} grouping rules",
                show_duration(a.interval),
                a.rules.len()
            ),
            None => "agent      disabled".to_string(),
        },
    ];
    for s in &cfg.scrape {
        lines.push(format!(
            "scrape     {} {} every {} (timeout {})",
            s.name,
            s.url,
            show_duration(s.interval),
            show_duration(s.timeout)
        ));
    }
    for b in &cfg.backfill {
        lines.push(format!(
            "backfill   {} {} queries over {} at {}",
            b.url,
            b.queries.len(),
            show_duration(b.range),
            show_duration(b.step)
        ));
    }
    for e in &cfg.export {
        lines.push(format!(
            "export     {} every {}",
            e.url,
            show_duration(e.interval)
        ));
    }
    lines.push(match &cfg.retention {
        Some(r) => format!(
            "retention  raw {}, rollups of {} for {}, applied every {}",
            show_duration(r.raw_for),
            show_duration(r.rollup_step),
            r.rollup_for
                .map(show_duration)
                .unwrap_or_else(|| "ever".into()),
            show_duration(r.every)
        ),
        None => "retention  none (raw kept forever)".to_string(),
    });
    lines.push(match (&cfg.learn, &cfg.store) {
        (Some(l), StoreKind::Embedded) => format!(
            "learn      fingerprints every {}, clusters every {} (windows {}), fleet gbm {}",
            show_duration(l.fingerprint_every),
            show_duration(l.cluster_every),
            l.windows
                .iter()
                .map(|w| show_duration(*w))
                .collect::<Vec<_>>()
                .join(", "),
            l.fleet_every.map_or_else(
                || "off".to_string(),
                |d| format!("every {}", show_duration(d))
            )
        ),
        (Some(_), StoreKind::Prometheus { .. }) => {
            "learn      off (needs the embedded store)".to_string()
        }
        (None, _) => "learn      disabled".to_string(),
    });
    lines.push(match &cfg.observe {
        Some(o) => format!(
            "observe    the {} busiest workloads, forecast-only, step {}, lead {}, demand {}{}",
            o.max_workloads,
            show_duration(o.step),
            show_duration(o.lead),
            o.metrics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            if o.any_metric {
                " else the most-sampled series"
            } else {
                ""
            }
        ),
        None => "observe    off".to_string(),
    });
    lines.join("\n")
}

/// What the per-workload config tests share: the built-in actuator kinds and a minimal table.
#[cfg(test)]
pub(crate) mod test_support {
    /// The registry `prescale run` builds with default Kubernetes options.
    pub fn registry() -> prescale_actuate::Registry {
        super::KubernetesConfig::default().registry()
    }

    /// A `[[workload]]` table with only its required keys.
    pub const BASE: &str = r#"
workload = "shop/api"
metric = "rps"
capacity_per_replica = 50.0
"#;
}
