//! Fleet learning over the store: fingerprints, clusters, profiles and cold-start recommendations.
//!
//! Synchronous and clock-free (callers pass creation times): the CLI and the daemon call the same
//! functions. Outputs are serde types, ready for JSON endpoints.

pub mod assign;
pub mod basis;
pub mod clustering;
pub mod cold_start;
pub mod drift;
pub mod environment;
pub mod error;
pub mod fingerprints;
pub mod group;
pub mod history;
pub mod inputs;
pub mod levels;
pub mod like;
pub mod prior;
pub mod profile;
pub mod profile_partial;
pub mod recluster;
pub mod recommend;
pub mod resources;
pub mod view;
pub mod workload_input;

pub use assign::{assign_workload, fleet_model, project_workload, AssignReport};
pub use basis::{read_model, BasisInfo, BasisPolicy, RefitReason, DEFAULT_MAX_AGE_DAYS};
pub use clustering::{
    cluster_latest, Algorithm, ClusterMembers, ClusterOptions, ClusteringReport, DbscanReport,
    KmeansReport, DBSCAN, KMEANS,
};
pub use cold_start::profile_forecast;
pub use drift::{
    drift_report, latest_release, DriftOptions, DriftPoint, DriftReport, FeatureMove,
    FleetMovement, OwnBaseline, Release, DEFAULT_TOP, RELEASE_TAGS,
};
pub use environment::{
    choose_by_cost, instance_speeds, measure_environments, CapacitySource, EnvironmentChoice,
    EnvironmentError, EnvironmentKey, EnvironmentReport, InstanceCost, MeasureOptions, Measurement,
    Need,
};
pub use error::LearnError;
pub use fingerprints::{
    fingerprint_config, fingerprint_features, fingerprint_store, store_features,
    FingerprintOptions, FingerprintReport, StoreFeatures,
};
pub use group::{nearest_group, Basis, Group};
pub use history::{fingerprint_history, resolve_basis, FingerprintHistory, HistoryPoint};
pub use inputs::{load_inputs, FleetInputs};
pub use levels::{LevelStats, MemberLevel};
pub use like::{parse_matchers, LabelMatcher, Like};
pub use prescale_policy::instances::{InstanceCatalogue, InstanceType};
pub use prior::{ClusterPrior, Prior, PriorTarget};
pub use profile::{
    build_profile, choose_grid, cluster_profile, cluster_profile_with, profile_of, ClusterProfile,
    MetricProfile, PeriodSource, ProfileOptions,
};
pub use profile_partial::{merge_partials, MemberPartial, MetricPartial, SeriesCycle};
pub use recluster::{ForecastHealth, ReclusterRule};
pub use recommend::{
    recommend, EnvironmentAdvice, InstanceAdvice, RecommendOptions, Recommendation, ReplicaAdvice,
    ResourceAdvice,
};
pub use resources::{ResourceMetric, ResourceMetrics};
pub use view::{fleet_view, ClusterView, FleetView, WorkloadView};
pub use workload_input::{known_workload, workload_input};
