//! `GET /metrics`: the daemon's own metrics plus prescale's series (latest forecast bands, each
//! workload's fingerprint anomaly score).

use super::{lock, AppState};
use crate::selfmetrics::{family, line};
use crate::{clock, ownseries};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use prescale_store::{Store, StoreError};

/// Gauge of each workload's behavioural-anomaly score in the latest fingerprint run.
const ANOMALY_SCORE: &str = "prescale_fingerprint_reconstruction_error";

/// The anomaly score of every workload in the latest fingerprint run (nothing before the first run).
fn fingerprint_exposition(store: &Store) -> Result<String, StoreError> {
    let mut o = String::new();
    let Some(latest) = store.latest_reconstruction_errors()? else {
        return Ok(o);
    };
    family(
        &mut o,
        ANOMALY_SCORE,
        "gauge",
        "Behavioural-anomaly score of the workload in the latest fingerprint run: mean squared error per scaled window feature of its reconstruction by the fleet's autoencoder (higher: less like the fleet's common behaviour).",
    );
    for (w, e) in &latest.scores {
        line(&mut o, ANOMALY_SCORE, &[("workload", w.as_str())], *e);
    }
    Ok(o)
}

/// The remote-write receiver's in-flight byte budget: held now and its limit.
fn inflight_exposition(budget: &super::InFlight) -> String {
    let mut o = String::new();
    for (name, help, v) in [
        (
            "prescale_remote_write_inflight_bytes",
            "Bytes remote-write requests hold right now (bodies being received and their decompressed data); past the limit requests get 429.",
            budget.used(),
        ),
        (
            "prescale_remote_write_inflight_limit_bytes",
            "The in-flight byte budget of the remote-write receiver (remote_write.max_inflight_bytes).",
            budget.limit(),
        ),
    ] {
        family(&mut o, name, "gauge", help);
        line(&mut o, name, &[], v as f64);
    }
    o
}

pub async fn metrics(State(st): State<AppState>) -> Response {
    let reader = st.reader.clone();
    let own = tokio::task::spawn_blocking(move || {
        let store = lock(&reader);
        let mut text = ownseries::exposition(&store, clock::now())?;
        text.push_str(&fingerprint_exposition(&store)?);
        Ok::<_, StoreError>(text)
    })
    .await;
    let mut text = st.metrics.render();
    text.push_str(&inflight_exposition(&st.inflight));
    text.push_str(&crate::loops::control::exposition(&st.desired));
    text.push_str(&st.controls.exposition(&st.controlled.list()));
    text.push_str(&st.insight.exposition());
    let mut samples = st.insight.control().samples(clock::now());
    samples.extend(st.insight.shadows().samples(clock::now()));
    text.push_str(&prescale_remote::naming::exposition(&samples, false));
    match own {
        Ok(Ok(t)) => text.push_str(&t),
        Ok(Err(e)) => tracing::warn!(error = %e, "reading forecasts for /metrics"),
        Err(e) => tracing::warn!(error = %e, "forecast task failed"),
    }
    st.metrics.request("/metrics", 200);
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::{Fingerprint, Timestamp, WorkloadId};
    use prescale_store::FingerprintRun;

    #[test]
    fn anomaly_scores_of_the_latest_run_are_gauges() {
        let mut store = Store::open_in_memory().unwrap();
        assert_eq!(fingerprint_exposition(&store).unwrap(), "");
        let w = |s: &str| WorkloadId::new(s).unwrap();
        let run = FingerprintRun {
            at: Timestamp(1000),
            created: Timestamp(1001),
            model_json: "{}".into(),
            explained_variance: vec![1.0],
            kept: 1,
            vectors: ["api", "db"]
                .iter()
                .map(|n| Fingerprint {
                    workload: w(n),
                    at: Timestamp(1000),
                    vector: vec![0.5],
                })
                .collect(),
            map2d: vec![(w("api"), [0.0, 0.0]), (w("db"), [1.0, 0.0])],
            reconstruction_error: vec![(w("api"), 0.25)],
        };
        store.save_fingerprint_run(&run).unwrap();
        let text = fingerprint_exposition(&store).unwrap();
        assert!(text.contains("# TYPE prescale_fingerprint_reconstruction_error gauge"));
        assert!(text.contains("prescale_fingerprint_reconstruction_error{workload=\"api\"} 0.25\n"));
        assert!(!text.contains("\"db\""), "no score, no sample: {text}");
    }
}
