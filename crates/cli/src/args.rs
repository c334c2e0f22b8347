//! Command-line arguments of every subcommand (clap derive); parsing only, no behaviour.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// prescale: a predictive autoscaler that fingerprints, clusters and forecasts workloads.
#[derive(Debug, Parser)]
#[command(name = "prescale", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The embedded store file.
    #[arg(
        long,
        global = true,
        default_value = "prescale.db",
        env = "PRESCALE_DB"
    )]
    pub db: PathBuf,
    /// Whether `--db` or `PRESCALE_DB` was given (set after parsing; `run` lets it override its config).
    #[arg(skip)]
    pub db_given: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job on one machine: a bundled load generator with a repeating cycle, bursts and
    /// noise, scaled ahead of demand by the daemon with the process-pool actuator (API up meanwhile).
    Demo(crate::cmd::demo_live::LiveDemoArgs),
    /// Run the offline pipeline on a generated demo fleet, labels kept, in its own store:
    /// demo-data → store → fingerprint → cluster → forecast → backtest.
    DemoPipeline(DemoArgs),
    /// The demo's load generator: `prescale demo` starts it; started by hand (the command is at
    /// the top of the demo's prescale.toml) it lets `prescale run --config` run the demo again.
    DemoLoad(crate::cmd::demo_live::DemoLoadArgs),
    /// One replica of the demo's workload (started by the process-pool actuator).
    #[command(hide = true)]
    DemoWorker(crate::cmd::demo_live::DemoWorkerArgs),
    /// Generate a synthetic demo fleet (labelled synthetic=true) as a long-format CSV.
    DemoData(DemoDataArgs),
    /// Import CSV traces (NAB, Bitbrains, wide, long) into the store.
    Import(ImportArgs),
    /// List the series in the store.
    Series(JsonFlag),
    /// Compute workload fingerprints (window features → robust scaling → PCA) in the stored basis
    /// and store them.
    Fingerprint(FingerprintArgs),
    /// A workload's fingerprint before and after a change (its latest release annotation by
    /// default): distance, against the fleet and its own past, and the features that moved most.
    Drift(DriftArgs),
    /// Cluster the latest fingerprints (k-means, DBSCAN) with stable ids, or place one workload.
    Cluster(ClusterArgs),
    /// Forecast one series with a calibrated prediction band.
    Forecast(ForecastArgs),
    /// Rolling-origin backtest of the forecasters on CSV files (MASE, MSIS, coverage, time per fit).
    Backtest(BacktestArgs),
    /// Replay demand traces through scaling policies (HPA, threshold, predictive, oracle, static).
    Simulate(Box<SimulateArgs>),
    /// Run the daemon: agent, scrapes, back-fill, remote-write receiver, /metrics, /api/v1/workloads.
    Run(crate::cmd::run::RunArgs),
    /// Sample this machine's processes with the built-in agent and print per-workload values.
    Agent(crate::cmd::agent::AgentArgs),
    /// Daemon config files: `prescale config check FILE` prints every problem with its path.
    Config(crate::cmd::config::ConfigArgs),
    /// Recommend initial resources (replicas, CPU, memory, instance type) for a workload like an
    /// existing one or like the workloads with some labels, from its cluster's p95 levels.
    Recommend(crate::cmd::recommend::RecommendArgs),
    /// Suggest workload dependencies (`depends_on`) from stored demand: whose changes follow
    /// whose, at which lag (lagged cross-correlation).
    Dependencies(crate::cmd::dependencies::DependenciesArgs),
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print the result as JSON on stdout instead of a table, nothing else there (times in Unix ms,
    /// each with an RFC 3339 `<field>_rfc3339` beside it).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoDataArgs {
    /// Output CSV file.
    #[arg(long, short, default_value = "demo-fleet.csv")]
    pub out: PathBuf,
    /// Number of workloads (cycled through five behaviour archetypes).
    #[arg(long, default_value_t = 15)]
    pub workloads: usize,
    /// Days of history to generate.
    #[arg(long, default_value_t = 21)]
    pub days: usize,
    /// Sampling interval (e.g. 5m, 60s).
    #[arg(long, default_value = "5m")]
    pub interval: String,
    /// Random seed (same seed, same fleet).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the demo's files (CSV, map JSON/SVG, backtest JSON) and its store
    /// (`pipeline.db`, emptied at every start; `--db` names another store, used as it is).
    #[arg(long, default_value = "prescale-demo")]
    pub out: PathBuf,
    /// Number of workloads.
    #[arg(long, default_value_t = 15)]
    pub workloads: usize,
    /// Days of history.
    #[arg(long, default_value_t = 21)]
    pub days: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ShapeArg {
    Nab,
    Bitbrains,
    Wide,
    Long,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AggArg {
    Sum,
    Mean,
    Max,
    Last,
}

/// Options that say how to read CSV files (shared by import and backtest).
#[derive(Debug, Args, Clone)]
pub struct ReadArgs {
    /// CSV shape; detected from the header when omitted.
    #[arg(long = "format", value_enum)]
    pub shape: Option<ShapeArg>,
    /// Workload id (default: the file name without extension; long files use their app column).
    #[arg(long)]
    pub workload: Option<String>,
    /// Sampling interval for files without timestamps (row index), e.g. 300s.
    #[arg(long)]
    pub interval: Option<String>,
    /// Only these metric columns (repeat or comma-separate).
    #[arg(long = "column", value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Skip malformed rows (counted in the summary) instead of failing.
    #[arg(long)]
    pub skip_bad: bool,
    /// Aggregate to this step before use (e.g. 5m).
    #[arg(long)]
    pub resample: Option<String>,
    /// Aggregation used by --resample.
    #[arg(long, value_enum, default_value = "mean")]
    pub agg: AggArg,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// CSV files or directories of CSV files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
    /// Print the result as JSON on stdout instead of a table, nothing else there (times in Unix ms,
    /// each with an RFC 3339 `<field>_rfc3339` beside it).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FingerprintArgs {
    /// Compute the fingerprints as of this time (ISO-8601 or Unix seconds); default: the newest sample.
    #[arg(long)]
    pub at: Option<String>,
    /// Sliding windows (durations), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1h,1d,1w")]
    pub windows: Vec<String>,
    /// Keep components explaining at least this share of variance.
    #[arg(long, default_value_t = 0.95)]
    pub variance: f64,
    /// Keep exactly this many PCA components instead (also the autoencoder's code size).
    #[arg(long)]
    pub components: Option<usize>,
    /// What turns the scaled features into fingerprint vectors: principal components or an
    /// autoencoder's code. Default: pca, which separated the shared data's workload families as
    /// well as the autoencoder. Either way each workload gets the autoencoder's reconstruction
    /// error as its anomaly score.
    #[arg(long, value_enum)]
    pub reducer: Option<ReducerArg>,
    /// Write the 2-D map (PCA, and t-SNE with --tsne) as JSON here.
    #[arg(long)]
    pub map_json: Option<PathBuf>,
    /// Write the 2-D map as an SVG scatter plot coloured by the latest k-means clusters.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Also compute a t-SNE map (slow on large fleets); the SVG then uses it.
    #[arg(long)]
    pub tsne: bool,
    /// Fit a new basis (scaling, PCA and autoencoder) instead of reusing the stored one. Without it
    /// a run reuses the basis unless the settings or the fleet's features changed or the basis was
    /// fitted on data 30 days older; vectors of runs in one basis are comparable.
    #[arg(long)]
    pub refit: bool,
    /// Show this workload's stored fingerprints in one basis (comparable with each other) instead
    /// of computing a new fingerprint.
    #[arg(long, value_name = "WORKLOAD")]
    pub history: Option<String>,
    /// With --history: the basis (its id) to show; default: the current one.
    #[arg(long, requires = "history")]
    pub basis: Option<String>,
    /// Print the result as JSON on stdout instead of a table, nothing else there (times in Unix ms,
    /// each with an RFC 3339 `<field>_rfc3339` beside it).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The workload.
    #[arg(long)]
    pub workload: String,
    /// The change (ISO-8601 or Unix seconds); default: the workload's latest annotation (its own or
    /// fleet-wide) tagged release or deploy.
    #[arg(long)]
    pub at: Option<String>,
    /// How many of the most-moved features to list.
    #[arg(long, default_value_t = prescale_learn::DEFAULT_TOP)]
    pub top: usize,
    /// Print the result as JSON on stdout instead of a table, nothing else there (times in Unix ms,
    /// each with an RFC 3339 `<field>_rfc3339` beside it).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReducerArg {
    Pca,
    Ae,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AlgorithmArg {
    Kmeans,
    Dbscan,
    Both,
}

#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Which algorithm(s) to run.
    #[arg(long, value_enum, default_value = "both")]
    pub algorithm: AlgorithmArg,
    /// Number of k-means clusters (default: best silhouette).
    #[arg(long)]
    pub k: Option<usize>,
    /// DBSCAN radius (default: knee of the k-distance curve).
    #[arg(long)]
    pub eps: Option<f64>,
    /// DBSCAN minimum neighbourhood size.
    #[arg(long, default_value_t = 3)]
    pub min_points: usize,
    /// Seed for k-means initialisation.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Place this workload into its nearest existing k-means cluster (no re-clustering).
    #[arg(long)]
    pub assign: Option<String>,
    /// Write the 2-D map coloured by the k-means clusters as SVG.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Print the result as JSON on stdout instead of a table, nothing else there (times in Unix ms,
    /// each with an RFC 3339 `<field>_rfc3339` beside it).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// Workload id.
    #[arg(long)]
    pub workload: String,
    /// Metric name.
    #[arg(long)]
    pub metric: String,
    /// How far ahead (duration, e.g. 1h).
    #[arg(long, default_value = "1h")]
    pub horizon: String,
    /// Prediction band level in percent.
    #[arg(long, default_value_t = 90.0)]
    pub level: f64,
    /// Model: naive, seasonal_naive, ets, mstl, theta or auto.
    #[arg(long, default_value = "auto")]
    pub model: String,
    /// Season length in samples (default: one day of samples, a week for daily data).
    #[arg(long)]
    pub season: Option<usize>,
    /// Print the result as JSON on stdout instead of a table, nothing else there (times in Unix ms,
    /// each with an RFC 3339 `<field>_rfc3339` beside it).
    #[arg(long)]
    pub json: bool,
}

/// Which series to evaluate: files and directories, or a suite file (shared by backtest and simulate).
#[derive(Debug, Args)]
pub struct InputArgs {
    /// CSV files or directories of CSV files (or `--suite`).
    pub paths: Vec<PathBuf>,
    /// A TOML suite listing inputs with their own read options (see bench/shared44.toml).
    #[arg(long)]
    pub suite: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadArgs,
}

#[derive(Debug, Args)]
pub struct BacktestArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Models to compare, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "naive,seasonal_naive,ets,mstl,theta,gbm,auto"
    )]
    pub models: Vec<String>,
    /// Steps per forecast window.
    #[arg(long, default_value_t = 12)]
    pub horizon: usize,
    /// Number of rolling windows.
    #[arg(long, default_value_t = 12)]
    pub windows: usize,
    /// Training points at most per origin.
    #[arg(long, default_value_t = 4032)]
    pub history: usize,
    /// Prediction band level in percent.
    #[arg(long, default_value_t = 90.0)]
    pub level: f64,
    /// Season length in samples (default: one day of samples, a week for daily data).
    #[arg(long)]
    pub season: Option<usize>,
    /// Write the summary and per-series rows as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Train the fleet model (gbm) across every input, each on its points before its first scored
    /// window, for `gbm` and as a candidate of `auto`; `off` scores `auto` on local models only.
    #[arg(long, value_enum, default_value_t = FleetMode::On)]
    pub fleet: FleetMode,
    /// Also score each series forecasting from only its first AGE of history (e.g. 1h,6h,1d), its
    /// fleet model trained without it.
    #[arg(long, value_delimiter = ',')]
    pub cold_start: Vec<String>,
}

/// Whether `backtest` trains a fleet model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FleetMode {
    On,
    Off,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub inputs: InputArgs,
    /// Policies to compare, comma-separated (hpa, threshold, predictive, oracle, static; hpa@0.6 for an HPA target, predictive@0.04 for a violation budget).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "hpa,threshold,predictive,oracle,static"
    )]
    pub policies: Vec<String>,
    /// Capacity of one replica in demand units (default: p99(demand) / 10).
    #[arg(long)]
    pub capacity_per_replica: Option<f64>,
    /// Provisioning delay: steps (e.g. 1) or a duration (e.g. 5m).
    #[arg(long, default_value = "1")]
    pub delay: String,
    /// HPA utilization target.
    #[arg(long, default_value_t = 0.7)]
    pub target: f64,
    /// Violation budget of the predictive policy (share of steps).
    #[arg(long, default_value_t = 0.01)]
    pub budget: f64,
    /// Fewest replicas.
    #[arg(long, default_value_t = 1)]
    pub min: u32,
    /// Most replicas.
    #[arg(long, default_value_t = 1000)]
    pub max: u32,
    /// Price per replica-hour (adds a money column).
    #[arg(long, conflicts_with = "pricing")]
    pub price: Option<f64>,
    /// Pricing catalogue (TOML, e.g. docs/pricing.example.toml): buy each policy's replicas as a
    /// mix (committed base from the forecast's low band, spot when `--interruptible`, on-demand
    /// for the rest) and report `dollars` and `dollars_on_demand` (the same replicas all
    /// on-demand), spot interruptions counted in the under-provisioned share.
    #[arg(long)]
    pub pricing: Option<PathBuf>,
    /// The catalogue's instance type one replica runs on (default: its first `[[instance]]`).
    #[arg(long, requires = "pricing")]
    pub instance_type: Option<String>,
    /// The workloads tolerate spot interruptions (spot is bought only then).
    #[arg(long, requires = "pricing")]
    pub interruptible: bool,
    /// Highest share of a policy's replicas bought on spot (0–1).
    #[arg(long, requires = "pricing", default_value_t = 1.0)]
    pub max_spot_share: f64,
    /// Seed of the spot interruption draws (with the series name and the policy's).
    #[arg(long, requires = "pricing", default_value_t = 1)]
    pub seed: u64,
    /// Write totals and per-series figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report (plots per series) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// What-if on your own history (no CSV inputs and `--workload W`: W's stored samples from
    /// `--db` replay through its controller, the policies named by `--policies` beside it):
    /// the daemon config whose `[[workload]]` of that name gives the controller (policy,
    /// capacity, bounds, lead, step, season); without it the first `--policies` entry acts, with
    /// `--capacity-per-replica`, `--min`, `--max`, `--delay` and `--step`.
    #[arg(long, requires = "workload")]
    pub config: Option<PathBuf>,
    /// The demand metric replayed (default: the config's, else the workload's only stored metric).
    #[arg(long, requires = "workload")]
    pub metric: Option<String>,
    /// Decision step without a config (default 1m, as the daemon's).
    #[arg(long, requires = "workload")]
    pub step: Option<String>,
    /// Replay from this time (Unix seconds or ISO-8601; default: the first stored sample).
    #[arg(long, requires = "workload")]
    pub from: Option<String>,
    /// Replay up to this time (default: the last stored sample).
    #[arg(long, requires = "workload")]
    pub to: Option<String>,
}
