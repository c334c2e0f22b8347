//! The one validation pass: file values → `DaemonConfig`, collecting every problem with its path.

use super::duration::parse_at_least;
use super::error::{ConfigError, Problem};
use super::file::*;
use super::token;
use super::*;
use serde::de::DeserializeOwned;

/// Collects problems while reading values; each reader returns a fallback so the pass goes on.
#[derive(Default)]
pub(super) struct Check {
    problems: Vec<Problem>,
}

impl Check {
    pub(super) fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    pub(super) fn fail(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Whether a problem was already reported at `prefix` or under it.
    pub(super) fn failed_under(&self, prefix: &str) -> bool {
        self.problems.iter().any(|p| {
            p.path == prefix
                || p.path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    }

    pub(super) fn duration(
        &mut self,
        path: &str,
        text: Option<&str>,
        default: Duration,
        min: Duration,
    ) -> Duration {
        match text {
            None => default,
            Some(t) => parse_at_least(t, min).unwrap_or_else(|m| {
                self.fail(path, m);
                default
            }),
        }
    }

    fn url(&mut self, path: &str, url: &str) -> String {
        let u = url.trim();
        if u.starts_with("https://") {
            self.fail(
                path,
                format!("{u:?}: https is not supported by this build (no TLS); use http://"),
            );
        } else if !u.starts_with("http://") || u.len() <= "http://".len() {
            self.fail(path, format!("{u:?} is not an http:// URL"));
        }
        u.trim_end_matches('/').to_string()
    }

    pub(super) fn positive(&mut self, path: &str, v: Option<u64>, default: usize) -> usize {
        match v {
            None => default,
            Some(0) => {
                self.fail(path, "must be ≥ 1");
                default
            }
            Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
        }
    }

    /// A section owned by another crate, read into its type.
    pub(super) fn typed<T: DeserializeOwned + Default>(
        &mut self,
        path: &str,
        v: Option<toml::Value>,
    ) -> T {
        match v {
            None => T::default(),
            Some(v) => v.try_into().unwrap_or_else(|e: toml::de::Error| {
                self.fail(path, e.message().trim().to_string());
                T::default()
            }),
        }
    }
}

pub(super) const SECOND: Duration = Duration::from_secs(1);
pub(super) const MILLI: Duration = Duration::from_millis(1);

pub fn validate(file: FileConfig, origin: &str) -> Result<DaemonConfig, ConfigError> {
    let mut c = Check {
        problems: Vec::new(),
    };

    let listen_text = file.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
        c.fail(
            "listen",
            format!("{listen_text:?} is not an address:port such as 127.0.0.1:9464"),
        );
        SocketAddr::from(([127, 0, 0, 1], 9464))
    });
    let db = PathBuf::from(file.db.as_deref().unwrap_or(DEFAULT_DB));
    if db.as_os_str().is_empty() {
        c.fail("db", "must not be empty");
    }

    let agent = agent(&mut c, file.agent);

    let scrape = scrape_targets(&mut c, file.scrape);
    let promql = promql_sources(&mut c, file.source.map(|s| s.promql).unwrap_or_default());

    let mut rw = file.remote_write;
    let write_auth = super::serving::write_auth(&mut c, rw.as_mut().and_then(|r| r.auth.take()));
    let allow_unauthenticated_write = rw
        .as_ref()
        .and_then(|r| r.allow_unauthenticated)
        .unwrap_or(false);
    if let Err(p) =
        super::serving::write_exposure(listen, write_auth.as_ref(), allow_unauthenticated_write)
    {
        c.problems.push(p);
    }
    let server = super::serving::server(&mut c, file.server);
    let mut limits = Limits::default();
    let mut receiver_mapping = MappingRules::default();
    if let Some(rw) = rw {
        limits.max_body_bytes = c.positive(
            "remote_write.max_body_bytes",
            rw.max_body_bytes,
            limits.max_body_bytes,
        );
        limits.max_decompressed_bytes = c.positive(
            "remote_write.max_decompressed_bytes",
            rw.max_decompressed_bytes,
            limits.max_decompressed_bytes,
        );
        limits.max_series = c.positive("remote_write.max_series", rw.max_series, limits.max_series);
        limits.max_labels_per_series = c.positive(
            "remote_write.max_labels_per_series",
            rw.max_labels_per_series,
            limits.max_labels_per_series,
        );
        limits.max_label_bytes = c.positive(
            "remote_write.max_label_bytes",
            rw.max_label_bytes,
            limits.max_label_bytes,
        );
        limits.max_samples = c.positive(
            "remote_write.max_samples",
            rw.max_samples,
            limits.max_samples,
        );
        let least = limits
            .max_body_bytes
            .saturating_add(limits.max_decompressed_bytes);
        limits.max_inflight_bytes = c.positive(
            "remote_write.max_inflight_bytes",
            rw.max_inflight_bytes,
            limits.max_inflight_bytes.max(least),
        );
        if limits.max_inflight_bytes < least {
            c.fail(
                "remote_write.max_inflight_bytes",
                format!(
                    "{} is less than max_body_bytes + max_decompressed_bytes ({least}): a request of the maximum size could never be received",
                    limits.max_inflight_bytes
                ),
            );
        }
        receiver_mapping = c.typed("remote_write.mapping", rw.mapping);
    }

    let mut admission = AdmissionConfig::default();
    if let Some(a) = file.admission {
        if let Some(t) = a.max_future.as_deref() {
            let d = c.duration("admission.max_future", Some(t), Duration::ZERO, MILLI);
            admission.max_future_ms = d.as_millis() as i64;
        }
        if let Some(t) = a.max_age.as_deref() {
            let d = c.duration("admission.max_age", Some(t), Duration::ZERO, SECOND);
            admission.max_age_ms = d.as_millis() as i64;
        }
        admission.max_series =
            c.positive("admission.max_series", a.max_series, admission.max_series);
        admission.max_series_per_workload = c.positive(
            "admission.max_series_per_workload",
            a.max_series_per_workload,
            admission.max_series_per_workload,
        );
        if let Some(t) = a.series_idle_expiry.as_deref() {
            let d = c.duration(
                "admission.series_idle_expiry",
                Some(t),
                Duration::ZERO,
                SECOND,
            );
            admission.series_idle_ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        }
        if let Some(b) = a.counters_as_rates {
            admission.counters_as_rates = b;
        }
    }

    let retention = retention(&mut c, file.retention);

    let backfill = file
        .backfill
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let p = |f: &str| format!("backfill[{i}].{f}");
            let url = c.url(&p("url"), &b.url);
            let range = c.duration(
                &p("range"),
                b.range.as_deref(),
                Duration::from_secs(14 * 86_400),
                SECOND,
            );
            let step = c.duration(
                &p("step"),
                b.step.as_deref(),
                Duration::from_secs(60),
                SECOND,
            );
            let timeout = c.duration(
                &p("timeout"),
                b.timeout.as_deref(),
                Duration::from_secs(30),
                SECOND,
            );
            if step > range {
                c.fail(p("step"), "must not exceed range");
            }
            if b.queries.is_empty() {
                c.fail(p("queries"), "needs at least one query");
            }
            let queries = b
                .queries
                .into_iter()
                .enumerate()
                .filter_map(|(j, q)| {
                    let path = format!("backfill[{i}].queries[{j}]");
                    match q.try_into::<BackfillQuery>() {
                        Ok(q) => {
                            if q.promql.trim().is_empty() {
                                c.fail(format!("{path}.promql"), "must not be empty");
                            }
                            Some(q)
                        }
                        Err(e) => {
                            c.fail(path, e.message().trim().to_string());
                            None
                        }
                    }
                })
                .collect();
            BackfillJob {
                url,
                range,
                step,
                timeout,
                queries,
            }
        })
        .collect();

    let export = file
        .export
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let p = |f: &str| format!("export[{i}].{f}");
            ExportTarget {
                url: c.url(&p("url"), &e.url),
                interval: c.duration(
                    &p("interval"),
                    e.interval.as_deref(),
                    Duration::from_secs(30),
                    SECOND,
                ),
                timeout: c.duration(
                    &p("timeout"),
                    e.timeout.as_deref(),
                    Duration::from_secs(10),
                    MILLI,
                ),
            }
        })
        .collect();

    let mut synchronous = Synchronous::Full;
    let store = match file.store {
        None => StoreKind::Embedded,
        Some(s) => match s.kind.as_str() {
            "embedded" => {
                match s.synchronous.as_deref() {
                    None | Some("full") => {}
                    Some("normal") => synchronous = Synchronous::Normal,
                    Some(other) => c.fail(
                        "store.synchronous",
                        format!("{other:?} is not one of \"full\", \"normal\""),
                    ),
                }
                if s.url.is_some() || s.write_url.is_some() {
                    c.fail("store.url", "only applies to kind = \"prometheus\"");
                }
                StoreKind::Embedded
            }
            "prometheus" => match s.url {
                None => {
                    c.fail("store.url", "is required when kind = \"prometheus\"");
                    StoreKind::Embedded
                }
                Some(u) => {
                    let url = c.url("store.url", &u);
                    let write_url = match s.write_url {
                        Some(w) => c.url("store.write_url", &w),
                        None => format!("{url}/api/v1/write"),
                    };
                    StoreKind::Prometheus { url, write_url }
                }
            },
            other => {
                c.fail(
                    "store.kind",
                    format!("{other:?} is not one of \"embedded\", \"prometheus\""),
                );
                StoreKind::Embedded
            }
        },
    };

    let mut writer = WriterConfig::default();
    if let Some(w) = file.writer {
        writer.flush_interval = c.duration(
            "writer.flush_interval",
            w.flush_interval.as_deref(),
            writer.flush_interval,
            MILLI,
        );
        writer.max_batch_points = c.positive(
            "writer.max_batch_points",
            w.max_batch_points,
            writer.max_batch_points,
        );
        writer.queue = c.positive("writer.queue", w.queue, writer.queue);
    }

    // A predictor may name a workload a PredictiveScaler will add.
    let scalers = file
        .kubernetes
        .as_ref()
        .and_then(|k| k.predictive_scalers)
        .unwrap_or(false);
    let observe =
        super::observe::observe(&mut c, file.observe, !file.workload.is_empty() || scalers);
    // Checked by the kinds this program builds (the Kubernetes kind needs no connection to check).
    let registry = KubernetesConfig::default().registry();
    let control = control(
        &mut c,
        file.tick,
        file.mode,
        file.workload,
        scalers,
        &registry,
    );
    let api_token = token::resolve(
        file.api_token,
        file.api_token_file,
        std::env::var(TOKEN_ENV).ok(),
    )
    .unwrap_or_else(|(path, message)| {
        c.fail(path, message);
        None
    });
    let learn = learn(&mut c, file.learn);
    let keda = file.keda.map(|k| keda(&mut c, k));
    let cluster = file.cluster.map(|k| super::cluster::cluster(&mut c, k));
    let kubernetes = kubernetes(&mut c, file.kubernetes);
    let alerts = file.alerts.map(|a| AlertsConfig {
        webhook: c.url("alerts.webhook", &a.webhook),
        secret: a
            .secret_env
            .as_deref()
            .and_then(|name| match std::env::var(name) {
                Ok(v) if !v.is_empty() => Some(v.into_bytes()),
                _ => {
                    c.fail(
                        "alerts.secret_env",
                        format!("environment variable {name:?} is not set or empty"),
                    );
                    None
                }
            }),
        timeout: c.duration(
            "alerts.timeout",
            a.timeout.as_deref(),
            Duration::from_secs(5),
            MILLI,
        ),
    });

    if !c.problems.is_empty() {
        return Err(ConfigError::Invalid {
            origin: origin.to_string(),
            problems: c.problems,
        });
    }
    Ok(DaemonConfig {
        listen,
        db,
        agent,
        scrape,
        promql,
        receiver: ReceiverConfig {
            limits,
            mapping: receiver_mapping,
        },
        admission,
        retention,
        backfill,
        export,
        store,
        synchronous,
        writer,
        control,
        observe,
        api_token,
        learn,
        keda,
        alerts,
        kubernetes,
        server,
        write_auth,
        allow_unauthenticated_write,
        cluster,
    })
}

/// `[kubernetes]`: API server URL and actuator options.
fn kubernetes(c: &mut Check, k: Option<FileKubernetes>) -> KubernetesConfig {
    let Some(k) = k else {
        return KubernetesConfig::default();
    };
    let mut options = prescale_kube::KubeOptions::default();
    if let Some(m) = k.field_manager {
        if m.trim().is_empty() {
            c.fail("kubernetes.field_manager", "must not be empty");
        }
        options.field_manager = m;
    }
    options.limits = match k.limits.as_deref() {
        None | Some("unchanged") => prescale_kube::LimitsPolicy::Unchanged,
        Some("match-requests") => prescale_kube::LimitsPolicy::MatchRequests,
        Some(other) => {
            c.fail(
                "kubernetes.limits",
                format!("{other:?} is not \"unchanged\" or \"match-requests\""),
            );
            prescale_kube::LimitsPolicy::Unchanged
        }
    };
    options.in_place_resize = k.in_place_resize.unwrap_or(false);
    options.request_timeout = c.duration(
        "kubernetes.request_timeout",
        k.request_timeout.as_deref(),
        options.request_timeout,
        MILLI,
    );
    let api_server = k.api_server.map(|u| {
        let u = u.trim().trim_end_matches('/').to_string();
        if !(u.starts_with("http://") || u.starts_with("https://")) {
            c.fail(
                "kubernetes.api_server",
                format!("{u:?} is not an http(s):// URL"),
            );
        }
        u
    });
    let resync = c.duration(
        "kubernetes.resync",
        k.resync.as_deref(),
        Duration::from_secs(30),
        SECOND,
    );
    let pricing = k.pricing.unwrap_or_default();
    for (name, path) in &pricing {
        let at = format!("kubernetes.pricing.{name}");
        if name.trim().is_empty() {
            c.fail(&at, "a catalogue name must not be empty");
        }
        if let Err(e) = super::purchase::read_catalogue(path) {
            c.fail(&at, e);
        }
    }
    let scalers = k.predictive_scalers.unwrap_or(false);
    if !scalers && !pricing.is_empty() {
        c.fail(
            "kubernetes.pricing",
            "only PredictiveScalers name these catalogues: set predictive_scalers = true, or price a [[workload]] with [workload.purchase]",
        );
    }
    let scalers = scalers.then(|| ScalersConfig {
        namespace: k.scaler_namespace.filter(|n| !n.trim().is_empty()),
        resync,
        pricing,
    });
    KubernetesConfig {
        api_server,
        options,
        scalers,
    }
}

/// `[keda]`: listen address, prediction age limit and stream poll interval.
fn keda(c: &mut Check, k: FileKeda) -> KedaConfig {
    let text = k.listen.as_deref().unwrap_or(DEFAULT_KEDA_LISTEN);
    let listen = text.parse::<SocketAddr>().unwrap_or_else(|_| {
        c.fail(
            "keda.listen",
            format!("{text:?} is not an address:port such as {DEFAULT_KEDA_LISTEN}"),
        );
        SocketAddr::from(([127, 0, 0, 1], 9465))
    });
    KedaConfig {
        listen,
        max_age: c.duration(
            "keda.max_age",
            k.max_age.as_deref(),
            Duration::from_secs(120),
            SECOND,
        ),
        poll_interval: c.duration(
            "keda.poll_interval",
            k.poll_interval.as_deref(),
            Duration::from_secs(5),
            Duration::from_millis(100),
        ),
    }
}

/// Most feature windows `[learn] windows` may list.
const MAX_LEARN_WINDOWS: usize = 8;

/// `[learn]`: schedule and feature windows of the learn loop; `None` when disabled.
fn learn(c: &mut Check, l: Option<FileLearn>) -> Option<LearnConfig> {
    let d = LearnConfig::default();
    let Some(l) = l else { return Some(d) };
    let fingerprint_every = c.duration(
        "learn.fingerprint_every",
        l.fingerprint_every.as_deref(),
        d.fingerprint_every,
        SECOND,
    );
    let cluster_every = c.duration(
        "learn.cluster_every",
        l.cluster_every.as_deref(),
        d.cluster_every,
        SECOND,
    );
    let windows = match l.windows {
        None => d.windows,
        Some(ws) => {
            if ws.is_empty() {
                c.fail("learn.windows", "needs at least one window");
            } else if ws.len() > MAX_LEARN_WINDOWS {
                c.fail(
                    "learn.windows",
                    format!("at most {MAX_LEARN_WINDOWS} windows, found {}", ws.len()),
                );
            }
            let mut out: Vec<Duration> = Vec::with_capacity(ws.len());
            for (i, w) in ws.iter().enumerate() {
                let path = format!("learn.windows[{i}]");
                match parse_at_least(w, SECOND) {
                    Ok(v) if out.contains(&v) => {
                        c.fail(path, format!("{w:?} is listed twice"));
                    }
                    Ok(v) => out.push(v),
                    Err(m) => c.fail(path, m),
                }
            }
            out
        }
    };
    let fleet_every = c.duration(
        "learn.fleet_every",
        l.fleet_every.as_deref(),
        d.fleet_every.unwrap_or(Duration::from_secs(3600)),
        10 * SECOND,
    );
    let reducer = match l.reducer.as_deref().map(str::trim) {
        None => d.reducer,
        Some("pca") => prescale_fingerprint::Reducer::Pca,
        Some("ae") => prescale_fingerprint::Reducer::Autoencoder,
        Some(other) => {
            c.fail(
                "learn.reducer",
                format!("{other:?} is not a reducer (pca or ae)"),
            );
            d.reducer
        }
    };
    let refit_basis = match l.refit_basis.as_deref().map(str::trim) {
        Some("never") => None,
        Some(t) => Some(c.duration(
            "learn.refit_basis",
            Some(t),
            d.refit_basis.unwrap_or(Duration::from_secs(30 * 86_400)),
            Duration::from_secs(3600),
        )),
        None => d.refit_basis,
    };
    let cluster_models = match &l.cluster_models {
        None => d.cluster_models.clone(),
        Some(names) => {
            let mut cells = Vec::new();
            for (i, n) in names.iter().enumerate() {
                let cell = match n.trim() {
                    "gru" => prescale_forecast::neural::CellKind::Gru,
                    "lstm" => prescale_forecast::neural::CellKind::Lstm,
                    other => {
                        c.fail(
                            format!("learn.cluster_models[{i}]"),
                            format!("{other:?} is not a cluster model (gru or lstm)"),
                        );
                        continue;
                    }
                };
                if cells.contains(&cell) {
                    c.fail(
                        format!("learn.cluster_models[{i}]"),
                        format!("{n:?} is listed twice"),
                    );
                } else {
                    cells.push(cell);
                }
            }
            cells
        }
    };
    l.enabled.unwrap_or(true).then_some(LearnConfig {
        fingerprint_every,
        cluster_every,
        windows,
        fleet_every: l.fleet.unwrap_or(true).then_some(fleet_every),
        reducer,
        refit_basis,
        cluster_models,
    })
}

/// `tick`, `mode` and every `[[workload]]` (`scalers`: `PredictiveScaler`s may add workloads).
fn control(
    c: &mut Check,
    tick: Option<String>,
    mode: Option<String>,
    files: Vec<super::workload::WorkloadConfig>,
    scalers: bool,
    registry: &prescale_actuate::Registry,
) -> ControlConfig {
    use prescale_control::Mode;
    let mut out = ControlConfig::default();
    out.tick = c.duration("tick", tick.as_deref(), out.tick, MILLI);
    let mode_of = |c: &mut Check, path: &str, m: Option<&str>, default: Mode| match m {
        None => default,
        Some(t) => t.parse::<Mode>().unwrap_or_else(|e| {
            c.fail(path, e);
            default
        }),
    };
    let global = mode_of(c, "mode", mode.as_deref(), Mode::ForecastOnly);
    out.mode = global;
    // Each workload is controlled once: by the first entry that names it.
    let mut seen: std::collections::BTreeMap<prescale_core::WorkloadId, usize> =
        std::collections::BTreeMap::new();
    let mut paths = Vec::new();
    for (i, f) in files.into_iter().enumerate() {
        let origin = super::workload::Origin::File(i);
        if let Ok(workload) = prescale_core::WorkloadId::new(f.workload.clone()) {
            if let Some(first) = seen.get(&workload) {
                c.fail(
                    origin.at("workload"),
                    format!(
                        "{:?} is already controlled by workload[{first}]: two controllers with their own \
                         actuators would fight over it",
                        workload.as_str()
                    ),
                );
                continue;
            }
            seen.insert(workload, i);
        }
        if let Some(w) = f.check(c, origin, global, registry) {
            paths.push(origin.root());
            out.workloads.push(w);
        }
    }
    super::drivers::resolve_all(c, &mut out.workloads, &paths, scalers);
    super::actions::graph(c, &out.workloads, &paths);
    out
}

/// `[agent]`: `enabled` is the daemon's; every other key belongs to the agent crate's `AgentConfig`.
fn agent(c: &mut Check, table: Option<toml::Table>) -> Option<AgentConfig> {
    let mut table = table.unwrap_or_default();
    let enabled = match table.remove("enabled") {
        None => true,
        Some(toml::Value::Boolean(b)) => b,
        Some(other) => {
            c.fail("agent.enabled", format!("{other:?} is not true or false"));
            true
        }
    };
    let cfg: AgentConfig = c.typed("agent", Some(toml::Value::Table(table)));
    if enabled {
        if let Err(e) = cfg.validate() {
            c.fail("agent", e.to_string());
        }
    }
    enabled.then_some(cfg)
}

/// Every `[[source.promql]]`, checked: a unique non-empty name, an http URL, a non-empty query,
/// interval ≥ 1 s, a timeout not past the interval, a valid metric name when one is given.
fn promql_sources(c: &mut Check, sources: Vec<super::file::FilePromql>) -> Vec<PromqlSource> {
    let mut names = std::collections::BTreeSet::new();
    sources
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let p = |f: &str| format!("source.promql[{i}].{f}");
            let (interval, timeout) = polled(
                c,
                &p,
                &mut names,
                (&s.name, "source"),
                (s.interval.as_deref(), s.timeout.as_deref()),
            );
            let url = c.url(&p("url"), &s.url);
            if s.query.trim().is_empty() {
                c.fail(p("query"), "must not be empty");
            }
            if let Some(m) = s.metric.as_deref() {
                if !prescale_ingest::admit::valid_metric_name(m) {
                    c.fail(
                        p("metric"),
                        format!("{m:?} is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"),
                    );
                }
            }
            let mapping = c.typed(&p("mapping"), s.mapping);
            PromqlSource {
                name: s.name,
                url,
                query: s.query,
                interval,
                timeout,
                metric: s.metric,
                mapping,
            }
        })
        .collect()
}

/// What every polled endpoint (scrape target, PromQL source) checks: a non-empty name unique
/// among its kind (`what` names the kind in the message), an interval (default 15 s, at least 1 s)
/// and a timeout (default the interval up to 10 s) not past the interval.
fn polled(
    c: &mut Check,
    p: &dyn Fn(&str) -> String,
    names: &mut std::collections::BTreeSet<String>,
    (name, what): (&str, &str),
    (interval, timeout): (Option<&str>, Option<&str>),
) -> (Duration, Duration) {
    if name.trim().is_empty() {
        c.fail(p("name"), "must not be empty");
    } else if !names.insert(name.to_string()) {
        c.fail(p("name"), format!("{name:?} is used by an earlier {what}"));
    }
    let interval = c.duration(&p("interval"), interval, Duration::from_secs(15), SECOND);
    let timeout = c.duration(
        &p("timeout"),
        timeout,
        interval.min(Duration::from_secs(10)),
        MILLI,
    );
    if timeout > interval {
        c.fail(
            p("timeout"),
            format!("must not exceed interval ({})", show_duration(interval)),
        );
    }
    (interval, timeout)
}

fn scrape_targets(c: &mut Check, targets: Vec<FileScrape>) -> Vec<ScrapeTarget> {
    let mut names = std::collections::BTreeSet::new();
    targets
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let p = |f: &str| format!("scrape[{i}].{f}");
            let (interval, timeout) = polled(
                c,
                &p,
                &mut names,
                (&s.name, "target"),
                (s.interval.as_deref(), s.timeout.as_deref()),
            );
            let url = c.url(&p("url"), &s.url);
            let max_body_bytes =
                c.positive(&p("max_body_bytes"), s.max_body_bytes, 16 << 20) as u64;
            let mapping = c.typed(&p("mapping"), s.mapping);
            ScrapeTarget {
                name: s.name,
                url,
                interval,
                timeout,
                max_body_bytes,
                mapping,
            }
        })
        .collect()
}

fn retention(c: &mut Check, r: Option<FileRetention>) -> Option<RetentionSchedule> {
    let r = r.unwrap_or(FileRetention {
        raw_for: None,
        rollup_for: None,
        rollup_step: None,
        every: None,
        decisions_for: None,
    });
    if r.raw_for.as_deref() == Some("forever") {
        return None;
    }
    // The store's defaults: one home for them.
    let d = prescale_store::Retention::default();
    let raw_for = c.duration(
        "retention.raw_for",
        r.raw_for.as_deref(),
        d.raw_for,
        Duration::from_secs(60),
    );
    let rollup_for = match r.rollup_for.as_deref() {
        Some("forever") => None,
        None => d.rollup_for,
        Some(t) => Some(c.duration(
            "retention.rollup_for",
            Some(t),
            d.rollup_for.unwrap_or(d.raw_for),
            Duration::from_secs(60),
        )),
    };
    let rollup_step = c.duration(
        "retention.rollup_step",
        r.rollup_step.as_deref(),
        d.rollup_step,
        SECOND,
    );
    let every = c.duration(
        "retention.every",
        r.every.as_deref(),
        Duration::from_secs(600),
        SECOND,
    );
    let decisions_for = match r.decisions_for.as_deref() {
        Some("forever") => None,
        other => Some(c.duration(
            "retention.decisions_for",
            other,
            Duration::from_secs(DECISIONS_KEPT_DAYS * 86_400),
            Duration::from_secs(3600),
        )),
    };
    if let Some(rf) = rollup_for {
        if rf < raw_for {
            c.fail(
                "retention.rollup_for",
                "must be ≥ raw_for (rollups outlive raw samples)",
            );
        }
    }
    if rollup_step > raw_for {
        c.fail("retention.rollup_step", "must not exceed raw_for");
    }
    Some(RetentionSchedule {
        raw_for,
        rollup_for,
        rollup_step,
        every,
        decisions_for,
    })
}

/// Days decisions are kept unless `retention.decisions_for` says otherwise.
const DECISIONS_KEPT_DAYS: u64 = 30;
