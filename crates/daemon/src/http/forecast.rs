//! `GET /api/v1/workloads/{id}/forecast`: the latest forecast path and band per metric: the control
//! loop's (its demand metric) when the workload is controlled and has one, else the forecasts stored
//! in the embedded store (as `prescale forecast` saves them). `made_at_rfc3339` is `made_at` as text.

use super::reply::{blocking, json, text, workload_in_path};
use super::{lock, rfc3339, AppState};
use crate::insight::ForecastView;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use prescale_core::WorkloadId;
use prescale_store::{ForecastRecord, Store, StoreError};
use serde::Serialize;

const ROUTE: &str = "/api/v1/workloads/{id}/forecast";

#[derive(Debug, Serialize)]
pub struct ForecastBody {
    pub workload: String,
    /// `control-loop` (live, in memory) or `store` (the latest stored forecast per series).
    pub source: &'static str,
    /// One per metric.
    pub forecasts: Vec<ForecastJson>,
}

/// A forecast with the time it was made also as RFC 3339.
#[derive(Debug, Serialize)]
pub struct ForecastJson {
    #[serde(flatten)]
    pub view: ForecastView,
    pub made_at_rfc3339: Option<String>,
}

impl From<ForecastView> for ForecastJson {
    fn from(view: ForecastView) -> ForecastJson {
        let made_at_rfc3339 = rfc3339::rfc3339(view.made_at);
        ForecastJson {
            view,
            made_at_rfc3339,
        }
    }
}

pub async fn forecast(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let w = match workload_in_path(id) {
        Ok(w) => w,
        Err(why) => return text(&st, ROUTE, StatusCode::BAD_REQUEST, why),
    };
    if let Some(f) = st.insight.forecast(&w) {
        let body = ForecastBody {
            workload: w.to_string(),
            source: "control-loop",
            forecasts: vec![f.into()],
        };
        return json(&st, ROUTE, StatusCode::OK, &body);
    }
    let reader = st.reader.clone();
    let key = w.clone();
    let stored = blocking(move || stored(&lock(&reader), &key)).await;
    let (known, forecasts) = match stored {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return text(&st, ROUTE, StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => return text(&st, ROUTE, StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    if !forecasts.is_empty() {
        let body = ForecastBody {
            workload: w.to_string(),
            source: "store",
            forecasts: forecasts.into_iter().map(ForecastJson::from).collect(),
        };
        return json(&st, ROUTE, StatusCode::OK, &body);
    }
    let why = if st.controlled.contains(&w) {
        format!(
            "no forecast of {w} yet: the control loop publishes one once the workload has enough history"
        )
    } else if known {
        format!(
            "no forecast of {w}: it is not a configured [[workload]] and no forecast is stored (run `prescale forecast`)"
        )
    } else {
        format!("workload {w} is neither stored nor a configured [[workload]]")
    };
    text(&st, ROUTE, StatusCode::NOT_FOUND, why)
}

/// Whether `w` has stored series, and the latest stored forecast of each of them.
fn stored(store: &Store, w: &WorkloadId) -> Result<(bool, Vec<ForecastView>), StoreError> {
    // Keys only: counting every series' samples scanned the whole store per request.
    let keys: Vec<_> = store
        .series_keys()?
        .into_iter()
        .filter(|k| &k.workload == w)
        .collect();
    let mut out = Vec::new();
    for key in &keys {
        if let Some(r) = store.latest_forecast(key)? {
            let model = match r.model_id {
                Some(id) => store.model(id)?,
                None => None,
            };
            out.push(view(&r, model.as_ref()));
        }
    }
    Ok((!keys.is_empty(), out))
}

/// A stored forecast as the API shows it: step k (from 1) is at `issued_at + k * step`.
fn view(r: &ForecastRecord, model: Option<&prescale_store::ModelRecord>) -> ForecastView {
    let step = r.step.millis();
    let f = &r.forecast;
    ForecastView {
        workload: r.key.workload.to_string(),
        metric: r.key.metric.to_string(),
        model: model.map(|m| m.spec.clone()),
        made_at: model.map(|m| m.fitted_at.0).unwrap_or(r.issued_at.0),
        step_ms: step,
        ts: (1..=f.horizon() as i64)
            .map(|k| r.issued_at.0.saturating_add(k.saturating_mul(step)))
            .collect(),
        point: f.point.clone(),
        lower: f.lower.clone(),
        upper: f.upper.clone(),
        level: f.level.percent(),
    }
}
