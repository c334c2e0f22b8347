//! Start-up and shutdown: opens the store, starts the writer, HTTP server and loops, and stops them
//! in order (sources first, then the writer, which commits what is pending).

use crate::admission::SourceAdmission;
use crate::config::{DaemonConfig, StoreKind};
use crate::error::DaemonError;
use crate::http::{self, AppState};
use crate::loops;
use crate::selfmetrics::SelfMetrics;
use crate::sink::{PointSink, RemoteSink};
use crate::writer::{self, WriterHandle};
use prescale_agent::Agent;
use prescale_remote::{RemoteWriter, WriterOptions};
use prescale_store::{Store, StoreOptions};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long shutdown waits for the requests in flight.
const SERVER_DRAIN: Duration = Duration::from_secs(10);

/// A running daemon.
pub struct Daemon {
    addr: SocketAddr,
    metrics: Arc<SelfMetrics>,
    writer: WriterHandle,
    shutdown: watch::Sender<bool>,
    server: JoinHandle<std::io::Result<()>>,
    loops: Vec<JoinHandle<()>>,
    agent: Option<loops::agent::AgentThread>,
    writer_task: JoinHandle<()>,
    keda: Option<prescale_keda::ScalerServer>,
    /// `[cluster]`: the joined cluster and the writer of the consumed partitions' points.
    cluster: Option<(crate::cluster::Cluster, WriterHandle, JoinHandle<()>)>,
}

impl Daemon {
    /// Opens the store, binds the listen address and starts every configured loop.
    pub async fn start(cfg: DaemonConfig) -> Result<Daemon, DaemonError> {
        // Checked again here: `listen` may have been changed after validation (`--listen`).
        match crate::config::write_exposure(
            cfg.listen,
            cfg.write_auth.as_ref(),
            cfg.allow_unauthenticated_write,
        ) {
            Ok(false) => {}
            Ok(true) => tracing::warn!(
                listen = %cfg.listen,
                "remote-write accepts unauthenticated pushes from beyond this machine \
                 ([remote_write] allow_unauthenticated = true): anyone who reaches the port can \
                 inject demand the control loop acts on"
            ),
            Err(problem) => {
                return Err(DaemonError::Config(crate::config::ConfigError::Invalid {
                    origin: "listen".into(),
                    problems: vec![problem],
                }))
            }
        }
        let metrics = Arc::new(SelfMetrics::new());
        let db = cfg.db.clone();
        let opts = StoreOptions {
            synchronous: cfg.synchronous,
        };
        let (store, reader, summaries) =
            tokio::task::spawn_blocking(move || -> Result<_, DaemonError> {
                let w = Store::open_with(&db, &opts)?;
                let r = Store::open_with(&db, &opts)?;
                // Listings are served by a few handles side by side.
                let s = prescale_store::ReadPool::open(&db, &opts, 4)?;
                Ok((w, r, s))
            })
            .await
            .map_err(|e| DaemonError::Task(e.to_string()))??;
        if let Ok(keys) = reader.series_keys() {
            metrics.known_series(keys.into_iter());
        }
        let sink: Box<dyn PointSink> = match &cfg.store {
            StoreKind::Embedded => Box::new(store),
            StoreKind::Prometheus { write_url, .. } => Box::new(RemoteSink {
                writer: RemoteWriter::new(write_url, WriterOptions::default())?,
            }),
        };
        // In a cluster, the sources publish to the bus and the store is written by the consumers
        // of the partitions this instance owns.
        let joined = match &cfg.cluster {
            Some(c) => Some(crate::cluster::Cluster::join(c).await?),
            None => None,
        };
        let (sink, store_writer) = match &joined {
            None => (sink, None),
            Some((bus, ownership)) => {
                let store = writer::spawn(sink, cfg.writer.clone(), metrics.clone());
                let bus_sink: Box<dyn PointSink> = Box::new(crate::cluster::sink::BusSink {
                    publisher: prescale_bus::Publisher::new(bus.js.clone(), ownership.partitions()),
                    handle: tokio::runtime::Handle::current(),
                });
                (bus_sink, Some(store))
            }
        };
        let (writer, writer_task) = writer::spawn(sink, cfg.writer.clone(), metrics.clone());
        let reader = Arc::new(Mutex::new(reader));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let desired = loops::control::Desired::default();
        let (mut insight, keda) = match &cfg.keda {
            None => (crate::insight::Insight::default(), None),
            Some(k) => {
                let shared = Arc::new(prescale_keda::SharedPredictions::new());
                let server = prescale_keda::serve(
                    k.listen,
                    shared.clone(),
                    prescale_keda::ScalerOptions {
                        poll_interval: k.poll_interval,
                        max_age: k.max_age,
                        ..prescale_keda::ScalerOptions::default()
                    },
                )
                .await
                .map_err(|e| {
                    DaemonError::Task(format!("starting the KEDA external scaler: {e}"))
                })?;
                (
                    crate::insight::Insight::default().with_predictions(shared),
                    Some(server),
                )
            }
        };
        if let Some(a) = &cfg.alerts {
            let (sender, _thread) =
                crate::alerts::spawn(a.clone()).map_err(|source| DaemonError::Io {
                    what: "starting the alert thread",
                    source,
                })?;
            insight = insight.with_alerts(sender);
        }
        let state_file = crate::controls::state_file(&cfg.db);
        let (controls, problem) = crate::controls::Controls::restore(cfg.control.mode, &state_file);
        if let Some(p) = problem {
            tracing::error!(problem = %p, "the saved mode and kill switches could not be restored: global kill switch engaged until an operator releases it");
        }
        let cluster = match (joined, &store_writer) {
            (Some((bus, ownership)), Some((store, _))) => {
                // The decision outbox starts before the control loop first decides.
                let db = cfg.db.clone();
                let decisions = tokio::task::spawn_blocking(move || {
                    crate::cluster::outbox::DecisionLog::open(&db, &opts)
                })
                .await
                .map_err(|e| DaemonError::Task(e.to_string()))??;
                Some(crate::cluster::Cluster::start(
                    bus,
                    ownership,
                    controls.clone(),
                    cfg.control
                        .workloads
                        .iter()
                        .map(|w| w.spec.workload.clone())
                        .collect(),
                    store.clone(),
                    decisions,
                    shutdown_rx.clone(),
                ))
            }
            _ => None,
        };
        let controlled = crate::controlled::Controlled::new(
            cfg.control
                .workloads
                .iter()
                .map(|w| w.spec.clone())
                .collect(),
        );
        let (slots, scalers) = {
            let (control, kubernetes, controls, controlled, db) = (
                cfg.control.clone(),
                cfg.kubernetes.clone(),
                controls.clone(),
                controlled.clone(),
                cfg.db.clone(),
            );
            loops::control::off_runtime(move || {
                let slots = loops::control::slots(&control, &kubernetes, &controls, &db)?;
                let scalers = loops::scalers::ScalerSync::connect(&kubernetes, controlled)?;
                Ok::<_, DaemonError>((slots, scalers))
            })
            .await
            .map_err(DaemonError::Task)??
        };

        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| DaemonError::Listen {
                addr: cfg.listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| DaemonError::Listen {
                addr: cfg.listen,
                source,
            })?;
        let state = AppState {
            writer: writer.clone(),
            metrics: metrics.clone(),
            receiver: Arc::new(cfg.receiver.clone()),
            admission: Arc::new(Mutex::new(SourceAdmission::new(
                cfg.admission.clone(),
                cfg.receiver.mapping.clone(),
            ))),
            inflight: http::InFlight::new(cfg.receiver.limits.max_inflight_bytes),
            reader: reader.clone(),
            summaries: Arc::new(summaries),
            desired: desired.clone(),
            controls: controls.clone(),
            api_token: cfg.api_token.clone().map(Arc::new),
            write_auth: cfg.write_auth.clone().map(Arc::new),
            controlled: controlled.clone(),
            insight: insight.clone(),
            whatif_running: Arc::default(),
        };
        let mut srv_shutdown = shutdown_rx.clone();
        let limits = http::serve::ServeLimits::fitted(&cfg.server);
        let server = tokio::spawn(http::serve::serve(
            listener,
            match &cluster {
                None => http::router(state).merge(crate::cluster::api::standalone()),
                Some(c) => http::router(state).merge(crate::cluster::api::routes(c.link.clone())),
            },
            limits,
            async move { loops::stopped(&mut srv_shutdown).await },
            SERVER_DRAIN,
        ));
        tracing::info!(%addr, db = %cfg.db.display(), "serving /api/v1/write, /metrics, /api/v1/workloads");

        let agent = match &cfg.agent {
            None => None,
            Some(acfg) => {
                let interval = acfg.interval;
                let a = Agent::new(acfg.clone())?;
                let t = loops::agent::spawn(a, interval, writer.clone(), metrics.clone()).map_err(
                    |source| DaemonError::Io {
                        what: "starting the agent thread",
                        source,
                    },
                )?;
                tracing::info!(interval = %crate::config::show_duration(interval), "agent sampling");
                Some(t)
            }
        };

        let mut tasks = vec![tokio::spawn(crate::memory::run(
            crate::memory::TRIM_EVERY,
            shutdown_rx.clone(),
        ))];
        for source in &cfg.promql {
            match loops::promql::PromqlReader::new(source.clone(), cfg.admission.clone()) {
                Ok(reader) => tasks.push(tokio::spawn(loops::promql::run(
                    Arc::new(reader),
                    writer.clone(),
                    metrics.clone(),
                    shutdown_rx.clone(),
                ))),
                Err(e) => {
                    tracing::error!(source = %source.name, error = %e, "PromQL source disabled")
                }
            }
        }
        for target in &cfg.scrape {
            let scraper = Arc::new(loops::scrape::Scraper::new(
                target.clone(),
                cfg.admission.clone(),
            ));
            tasks.push(tokio::spawn(loops::scrape::run(
                scraper,
                target.interval,
                writer.clone(),
                metrics.clone(),
                shutdown_rx.clone(),
            )));
        }
        if let (Some(r), StoreKind::Embedded) = (&cfg.retention, &cfg.store) {
            tasks.push(tokio::spawn(loops::retention::run(
                r.clone(),
                store_writer
                    .as_ref()
                    .map_or_else(|| writer.clone(), |(w, _)| w.clone()),
                shutdown_rx.clone(),
            )));
        }
        for target in &cfg.export {
            tasks.push(tokio::spawn(loops::export::run(
                target.clone(),
                reader.clone(),
                metrics.clone(),
                insight.clone(),
                shutdown_rx.clone(),
            )));
        }
        // Observe mode lists the embedded store's workloads (none to list with a Prometheus store).
        let observe = match (&cfg.observe, &cfg.store) {
            (Some(o), StoreKind::Embedded) => Some(o.clone()),
            (Some(_), StoreKind::Prometheus { .. }) => {
                tracing::info!("observe mode off: it lists the embedded store's workloads");
                None
            }
            (None, _) => None,
        };
        if !slots.0.is_empty() || scalers.is_some() || observe.is_some() {
            let (db, opts) = (
                cfg.db.clone(),
                StoreOptions {
                    synchronous: cfg.synchronous,
                },
            );
            let source_cfg = cfg.clone();
            let (io, observe) = tokio::task::spawn_blocking(move || -> Result<_, DaemonError> {
                let io = loops::control::Io {
                    windows: crate::window::window_source(&source_cfg)?,
                    decisions: Store::open_with(&db, &opts)?,
                };
                let observe = match observe {
                    Some(o) => Some(loops::observe::ObserveSync::new(
                        o,
                        Store::open_with(&db, &opts)?,
                    )),
                    None => None,
                };
                Ok((io, observe))
            })
            .await
            .map_err(|e| DaemonError::Task(e.to_string()))??;
            if let (Some(o), true) = (&cfg.observe, observe.is_some()) {
                tracing::info!(
                    max_workloads = o.max_workloads,
                    step = %crate::config::show_duration(o.step),
                    "observe mode: forecast-only forecasts of the busiest discovered workloads"
                );
            }
            tracing::info!(workloads = slots.0.len(), tick = %crate::config::show_duration(cfg.control.tick), "control loop");
            tasks.push(tokio::spawn(loops::control::run(
                (slots, scalers, observe),
                cfg.control.tick,
                io,
                desired.clone(),
                insight.clone(),
                controls.clone(),
                std::sync::Arc::new(prescale_core::SystemClock),
                cluster.as_ref().map(|c| c.link.clone()),
                shutdown_rx.clone(),
            )));
        }
        if let Some(t) = loops::learn::spawn(
            &cfg,
            insight.clone(),
            cluster.as_ref().map(|c| &c.link),
            shutdown_rx.clone(),
        )
        .await?
        {
            tasks.push(t);
        }
        if !cfg.backfill.is_empty() {
            // Not awaited on shutdown: a long back-fill is abandoned, not waited for.
            let mut rx = shutdown_rx.clone();
            let job = loops::backfill::run(
                cfg.backfill.clone(),
                writer.clone(),
                metrics.clone(),
                cfg.writer.max_batch_points,
            );
            tokio::spawn(async move {
                tokio::select! {
                    _ = job => {}
                    _ = loops::stopped(&mut rx) => {}
                }
            });
        }

        Ok(Daemon {
            addr,
            metrics,
            writer,
            shutdown,
            server,
            loops: tasks,
            agent,
            writer_task,
            keda,
            cluster: match (cluster, store_writer) {
                (Some(c), Some((w, t))) => Some((c, w, t)),
                _ => None,
            },
        })
    }

    /// Where the KEDA external scaler listens, when `[keda]` is configured.
    pub fn keda_addr(&self) -> Option<SocketAddr> {
        self.keda.as_ref().map(|k| k.local_addr())
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The daemon's own metrics.
    pub fn metrics(&self) -> Arc<SelfMetrics> {
        self.metrics.clone()
    }

    /// A handle to queue points (tests, embedding).
    pub fn writer(&self) -> WriterHandle {
        self.writer.clone()
    }

    /// Stops the sources and the server, then lets the writer commit what is pending.
    pub async fn shutdown(self) -> Result<(), DaemonError> {
        let _ = self.shutdown.send(true);
        if let Some(a) = self.agent {
            let _ = a.stop.send(());
            let _ = tokio::task::spawn_blocking(move || a.join.join()).await;
        }
        for t in self.loops {
            let _ = t.await;
        }
        if let Some(k) = self.keda {
            if let Err(e) = k.shutdown().await {
                tracing::warn!(error = %e, "stopping the KEDA external scaler");
            }
        }
        let served = tokio::time::timeout(Duration::from_secs(10), self.server).await;
        self.writer.close().await;
        let _ = self.writer_task.await;
        if let Some((cluster, store, task)) = self.cluster {
            cluster.shutdown().await;
            store.close().await;
            let _ = task.await;
        }
        match served {
            Ok(Ok(Err(source))) => Err(DaemonError::Io {
                what: "serving HTTP",
                source,
            }),
            _ => Ok(()),
        }
    }
}
