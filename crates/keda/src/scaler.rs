//! The `externalscaler.ExternalScaler` service: answers KEDA from a [`PredictionSource`].

use crate::error::{KedaError, LookupError, MetadataError};
use crate::prediction::PredictionSource;
use crate::proto::external_scaler_server::{ExternalScaler, ExternalScalerServer};
use crate::proto::{
    GetMetricSpecResponse, GetMetricsRequest, GetMetricsResponse, IsActiveResponse, MetricSpec,
    MetricValue, ScaledObjectRef,
};
use crate::query::{Quantile, ScalerQuery};
use prescale_core::Timestamp;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

/// Reads wall time; injected so staleness can be tested without waiting.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock as Unix milliseconds.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        Timestamp(i64::try_from(ms).unwrap_or(i64::MAX))
    })
}

/// How the scaler polls, how old a prediction may be, and which clock judges age.
#[derive(Clone)]
pub struct ScalerOptions {
    /// How often an open `StreamIsActive` re-evaluates (it pushes only on change). Default 5 s.
    pub poll_interval: Duration,
    /// Predictions older than this are refused with `UNAVAILABLE`. Default 2 min.
    pub max_age: Duration,
    pub clock: Clock,
}

impl Default for ScalerOptions {
    fn default() -> Self {
        ScalerOptions {
            poll_interval: Duration::from_secs(5),
            max_age: Duration::from_secs(120),
            clock: system_clock(),
        }
    }
}

impl fmt::Debug for ScalerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScalerOptions")
            .field("poll_interval", &self.poll_interval)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl ScalerOptions {
    fn validate(&self) -> Result<(), KedaError> {
        if self.poll_interval.is_zero() {
            return Err(KedaError::InvalidOption {
                option: "poll_interval",
                reason: "must be > 0".into(),
            });
        }
        if self.max_age.is_zero() {
            return Err(KedaError::InvalidOption {
                option: "max_age",
                reason: "must be > 0".into(),
            });
        }
        Ok(())
    }
}

struct Inner {
    source: Arc<dyn PredictionSource>,
    opts: ScalerOptions,
    shutdown: watch::Sender<bool>,
}

/// The gRPC service; cheap to clone (shared state behind an `Arc`).
#[derive(Clone)]
pub struct ExternalScalerService {
    inner: Arc<Inner>,
}

impl fmt::Debug for ExternalScalerService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalScalerService")
            .field("opts", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

impl ExternalScalerService {
    pub fn new(source: Arc<dyn PredictionSource>, opts: ScalerOptions) -> Result<Self, KedaError> {
        opts.validate()?;
        let (shutdown, _) = watch::channel(false);
        Ok(ExternalScalerService {
            inner: Arc::new(Inner {
                source,
                opts,
                shutdown,
            }),
        })
    }

    /// Wraps the service for `tonic::transport::Server::add_service` (to embed it in another server).
    pub fn into_server(self) -> ExternalScalerServer<Self> {
        ExternalScalerServer::new(self)
    }

    /// Ends every open stream (so a graceful server shutdown does not wait on them).
    pub fn close_streams(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// The value served for `q` now: the chosen quantile at the lead time, clamped at 0.
    pub fn value_for(&self, q: &ScalerQuery) -> Result<f64, LookupError> {
        let Some(p) = self.inner.source.predicted(&q.workload, &q.metric) else {
            return Err(LookupError::NotFound {
                workload: q.workload.clone(),
                metric: q.metric.clone(),
            });
        };
        let now = (self.inner.opts.clock)();
        // A prediction stamped in the future (clock skew) counts as brand new.
        let age_ms = now.millis().saturating_sub(p.fresh_at.millis()).max(0);
        let age = Duration::from_millis(u64::try_from(age_ms).unwrap_or(u64::MAX));
        if age > self.inner.opts.max_age {
            return Err(LookupError::Stale {
                workload: q.workload.clone(),
                metric: q.metric.clone(),
                age,
                max_age: self.inner.opts.max_age,
            });
        }
        let value = match q.quantile {
            Quantile::Point => p.value_at_lead,
            Quantile::Upper => p.upper,
        };
        if !value.is_finite() {
            return Err(LookupError::NonFinite {
                workload: q.workload.clone(),
                metric: q.metric.clone(),
                value,
            });
        }
        Ok(value.max(0.0))
    }

    fn is_active_now(&self, q: &ScalerQuery) -> Result<bool, LookupError> {
        Ok(self.value_for(q)? > q.activation_threshold)
    }
}

/// `round` to the nearest integer for KEDA's deprecated int64 fields (saturating).
fn round_i64(x: f64) -> i64 {
    // `as` saturates for out-of-range floats; inputs here are finite.
    x.round() as i64
}

fn log_status<T>(rpc: &'static str, q: Option<&ScalerQuery>, r: &Result<T, Status>) {
    if let Err(s) = r {
        tracing::debug!(
            rpc,
            workload = q.map(|q| q.workload.as_str()),
            code = ?s.code(),
            message = s.message(),
            "keda request refused"
        );
    }
}

#[tonic::async_trait]
impl ExternalScaler for ExternalScalerService {
    async fn is_active(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<IsActiveResponse>, Status> {
        let q = ScalerQuery::from_ref(request.get_ref())?;
        let r = self
            .is_active_now(&q)
            .map(|result| Response::new(IsActiveResponse { result }))
            .map_err(Status::from);
        log_status("IsActive", Some(&q), &r);
        r
    }

    type StreamIsActiveStream = ReceiverStream<Result<IsActiveResponse, Status>>;

    async fn stream_is_active(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<Self::StreamIsActiveStream>, Status> {
        let q = ScalerQuery::from_ref(request.get_ref())?;
        let (tx, rx) = mpsc::channel(4);
        let svc = self.clone();
        let mut shutdown = self.inner.shutdown.subscribe();
        let period = self.inner.opts.poll_interval;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut last: Option<bool> = None;
            loop {
                if *shutdown.borrow() {
                    break;
                }
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = tx.closed() => break,
                    _ = shutdown.changed() => continue,
                }
                match svc.is_active_now(&q) {
                    Ok(active) if last == Some(active) => {}
                    Ok(active) => {
                        tracing::debug!(workload = %q.workload, active, "StreamIsActive push");
                        if tx
                            .send(Ok(IsActiveResponse { result: active }))
                            .await
                            .is_err()
                        {
                            break;
                        }
                        last = Some(active);
                    }
                    Err(e) => {
                        // End the stream with the error: KEDA keeps its last state and reconnects,
                        // which is the safe reaction to missing or stale predictions.
                        tracing::debug!(workload = %q.workload, error = %e, "StreamIsActive ends");
                        let _ = tx.send(Err(Status::from(e))).await;
                        break;
                    }
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn get_metric_spec(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<GetMetricSpecResponse>, Status> {
        let q = ScalerQuery::from_ref(request.get_ref())?;
        Ok(Response::new(spec_for(&q)))
    }

    async fn get_metrics(
        &self,
        request: Request<GetMetricsRequest>,
    ) -> Result<Response<GetMetricsResponse>, Status> {
        let req = request.get_ref();
        let so = req
            .scaled_object_ref
            .as_ref()
            .ok_or(MetadataError::MissingField {
                field: "scaledObjectRef",
            })?;
        let q = ScalerQuery::from_ref(so)?;
        // KEDA strips its `sN-` prefix before asking; echo what it asked for so it matches.
        let metric_name = if req.metric_name.is_empty() {
            q.metric_name.clone()
        } else {
            req.metric_name.clone()
        };
        let r = self
            .value_for(&q)
            .map(|v| {
                Response::new(GetMetricsResponse {
                    metric_values: vec![MetricValue {
                        metric_name,
                        metric_value: round_i64(v),
                        metric_value_float: v,
                    }],
                })
            })
            .map_err(Status::from);
        log_status("GetMetrics", Some(&q), &r);
        r
    }

    type StreamMetricSpecStream = ReceiverStream<Result<GetMetricSpecResponse, Status>>;

    /// The spec comes from the trigger metadata and never changes, so the stream sends it once and
    /// then stays open until the client leaves or the server shuts down.
    async fn stream_metric_spec(
        &self,
        request: Request<ScaledObjectRef>,
    ) -> Result<Response<Self::StreamMetricSpecStream>, Status> {
        let q = ScalerQuery::from_ref(request.get_ref())?;
        let (tx, rx) = mpsc::channel(1);
        let mut shutdown = self.inner.shutdown.subscribe();
        tokio::spawn(async move {
            if tx.send(Ok(spec_for(&q))).await.is_err() {
                return;
            }
            while !*shutdown.borrow() {
                tokio::select! {
                    _ = tx.closed() => break,
                    r = shutdown.changed() => if r.is_err() { break },
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}

fn spec_for(q: &ScalerQuery) -> GetMetricSpecResponse {
    GetMetricSpecResponse {
        metric_specs: vec![MetricSpec {
            metric_name: q.metric_name.clone(),
            // The deprecated integer field must not be 0 (KEDA would divide by it on old versions).
            target_size: round_i64(q.target_size).max(1),
            target_size_float: q.target_size,
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prediction::{Prediction, SharedPredictions};
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn service(now: i64, p: Option<Prediction>) -> ExternalScalerService {
        let preds = SharedPredictions::new();
        if let Some(p) = p {
            preds.insert("w", "demand", p);
        }
        let opts = ScalerOptions {
            clock: Arc::new(move || Timestamp(now)),
            max_age: Duration::from_secs(60),
            ..ScalerOptions::default()
        };
        ExternalScalerService::new(Arc::new(preds), opts).unwrap()
    }

    fn query(quantile: Quantile) -> ScalerQuery {
        let r = ScaledObjectRef {
            name: "x".into(),
            namespace: String::new(),
            scaler_metadata: HashMap::from([
                ("workload".to_string(), "w".to_string()),
                ("targetSize".to_string(), "1".to_string()),
            ]),
        };
        ScalerQuery {
            quantile,
            ..ScalerQuery::from_ref(&r).unwrap()
        }
    }

    fn pred(point: f64, upper: f64, fresh_at: i64) -> Prediction {
        Prediction {
            value_at_lead: point,
            upper,
            lead: Duration::from_secs(60),
            fresh_at: Timestamp(fresh_at),
        }
    }

    #[test]
    fn future_stamps_count_as_fresh_and_old_ones_as_stale() {
        let s = service(10_000, Some(pred(2.0, 3.0, 50_000)));
        assert_eq!(s.value_for(&query(Quantile::Upper)), Ok(3.0));
        let s = service(200_000, Some(pred(2.0, 3.0, 100_000)));
        let e = s.value_for(&query(Quantile::Point)).unwrap_err();
        assert!(matches!(e, LookupError::Stale { age, .. } if age == Duration::from_secs(100)));
        let s = service(0, None);
        assert!(matches!(
            s.value_for(&query(Quantile::Point)),
            Err(LookupError::NotFound { .. })
        ));
    }

    #[test]
    fn spec_rounds_the_deprecated_integer() {
        let mut q = query(Quantile::Upper);
        q.target_size = 2.5;
        let s = &spec_for(&q).metric_specs[0];
        assert_eq!((s.target_size, s.target_size_float), (3, 2.5));
    }

    proptest! {
        #[test]
        fn served_values_are_finite_and_never_negative(
            point in proptest::num::f64::ANY,
            upper in proptest::num::f64::ANY,
            upper_q in any::<bool>(),
        ) {
            let s = service(1_000, Some(pred(point, upper, 1_000)));
            let quantile = if upper_q { Quantile::Upper } else { Quantile::Point };
            let raw = if upper_q { upper } else { point };
            match s.value_for(&query(quantile)) {
                Ok(v) => {
                    prop_assert!(v.is_finite() && v >= 0.0);
                    prop_assert_eq!(v, raw.max(0.0));
                }
                Err(LookupError::NonFinite { .. }) => prop_assert!(!raw.is_finite()),
                Err(e) => prop_assert!(false, "unexpected {e}"),
            }
        }

        #[test]
        fn metadata_parsing_never_panics(
            md in proptest::collection::hash_map("[a-zA-Z]{0,20}", ".{0,12}", 0..6),
            target in ".{0,12}",
        ) {
            let mut md = md;
            md.insert("targetSize".into(), target);
            let r = ScaledObjectRef { name: "n".into(), namespace: "ns".into(), scaler_metadata: md };
            if let Ok(q) = ScalerQuery::from_ref(&r) {
                prop_assert!(q.target_size > 0.0 && q.target_size.is_finite());
                prop_assert!(q.activation_threshold.is_finite());
            }
        }
    }
}
