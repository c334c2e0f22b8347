//! `GET /metrics`: the daemon's own metrics plus prescale's series (latest forecast bands).

use super::{lock, AppState};
use crate::{clock, ownseries};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

pub async fn metrics(State(st): State<AppState>) -> Response {
    let reader = st.reader.clone();
    let own =
        tokio::task::spawn_blocking(move || ownseries::exposition(&lock(&reader), clock::now()))
            .await;
    let mut text = st.metrics.render();
    text.push_str(&crate::loops::control::exposition(&st.desired));
    text.push_str(&st.controls.exposition(&st.controlled.list()));
    text.push_str(&st.insight.exposition());
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
