//! Fitted models and the forecasts issued with them, per series.

use crate::codec::{decode_f64s, encode_f64s, key as stored_key};
use crate::error::{invalid, Context, StoreError};
use crate::open::Store;
use crate::records::{ForecastRecord, ModelRecord};
use prescale_core::{Forecast, Interval, Level, SeriesKey, Timestamp};
use rusqlite::{params, OptionalExtension, Row};

const MODEL_COLUMNS: &str =
    "id, workload, metric, kind, spec, params_json, fitted_at, trained_until, in_sample_mae";

impl Store {
    /// Saves a fitted model; returns its id.
    pub fn save_model(&mut self, m: &ModelRecord) -> Result<i64, StoreError> {
        let context = format!("saving {} model of {}", m.kind, m.key);
        if m.in_sample_mae.is_some_and(|v| !v.is_finite()) {
            return Err(invalid(&context, "in-sample MAE is not finite"));
        }
        self.conn
            .execute(
                "INSERT INTO models (workload, metric, kind, spec, params_json, fitted_at, trained_until, in_sample_mae)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    m.key.workload.as_str(),
                    m.key.metric.as_str(),
                    m.kind,
                    m.spec,
                    m.params_json,
                    m.fitted_at.0,
                    m.trained_until.0,
                    m.in_sample_mae
                ],
            )
            .ctx(&context)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// One model by id.
    pub fn model(&self, id: i64) -> Result<Option<ModelRecord>, StoreError> {
        let context = format!("loading model {id}");
        let sql = format!("SELECT {MODEL_COLUMNS} FROM models WHERE id = ?1");
        let row = self
            .conn
            .query_row(&sql, [id], model_row)
            .optional()
            .ctx(&context)?;
        row.map(|r| r.into_record(&context).map(|(_, m)| m))
            .transpose()
    }

    /// The most recently fitted model of `key` (by `fitted_at`, ties: last saved), with its id.
    pub fn latest_model(&self, key: &SeriesKey) -> Result<Option<(i64, ModelRecord)>, StoreError> {
        let context = format!("loading the latest model of {key}");
        let sql = format!(
            "SELECT {MODEL_COLUMNS} FROM models WHERE workload = ?1 AND metric = ?2
             ORDER BY fitted_at DESC, id DESC LIMIT 1"
        );
        let row = self
            .conn
            .query_row(
                &sql,
                params![key.workload.as_str(), key.metric.as_str()],
                model_row,
            )
            .optional()
            .ctx(&context)?;
        row.map(|r| r.into_record(&context)).transpose()
    }

    /// Saves a forecast; its model, when given, must exist. Returns its id.
    pub fn save_forecast(&mut self, f: &ForecastRecord) -> Result<i64, StoreError> {
        let context = format!("saving forecast of {} issued at {}", f.key, f.issued_at);
        let fc = &f.forecast;
        self.conn
            .execute(
                "INSERT INTO forecasts (workload, metric, model_id, issued_at, step_ms, level, point, lower, upper)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    f.key.workload.as_str(),
                    f.key.metric.as_str(),
                    f.model_id,
                    f.issued_at.0,
                    f.step.millis(),
                    fc.level.percent(),
                    encode_f64s(&fc.point),
                    encode_f64s(&fc.lower),
                    encode_f64s(&fc.upper)
                ],
            )
            .ctx(&context)?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The keys that have at least one stored forecast, ordered by key (read from the forecasts'
    /// index: cheap however many series or samples the store holds).
    pub fn forecast_keys(&self) -> Result<Vec<SeriesKey>, StoreError> {
        let context = "listing forecast keys";
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT workload, metric FROM forecasts ORDER BY workload, metric",
            )
            .ctx(context)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .ctx(context)?
            .collect::<Result<Vec<_>, _>>()
            .ctx(context)?;
        rows.into_iter()
            .map(|(w, m)| stored_key(context, w, m))
            .collect()
    }

    /// The latest forecast of `key` (by `issued_at`, ties: last saved).
    pub fn latest_forecast(&self, key: &SeriesKey) -> Result<Option<ForecastRecord>, StoreError> {
        let context = format!("loading the latest forecast of {key}");
        type Raw = (Option<i64>, i64, i64, f64, Vec<u8>, Vec<u8>, Vec<u8>);
        let row: Option<Raw> = self
            .conn
            .query_row(
                "SELECT model_id, issued_at, step_ms, level, point, lower, upper FROM forecasts
                 WHERE workload = ?1 AND metric = ?2 ORDER BY issued_at DESC, id DESC LIMIT 1",
                params![key.workload.as_str(), key.metric.as_str()],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )
            .optional()
            .ctx(&context)?;
        let Some((model_id, issued_at, step_ms, level, point, lower, upper)) = row else {
            return Ok(None);
        };
        let step = Interval::from_millis(step_ms).ok_or_else(|| {
            invalid(
                &context,
                format!("stored step {step_ms} ms is not positive"),
            )
        })?;
        let level =
            Level::new(level).map_err(|e| invalid(&context, format!("stored level: {e}")))?;
        let forecast = Forecast::new(
            decode_f64s(&context, &point)?,
            decode_f64s(&context, &lower)?,
            decode_f64s(&context, &upper)?,
            level,
        )
        .map_err(|e| invalid(&context, format!("stored forecast: {e}")))?;
        Ok(Some(ForecastRecord {
            key: key.clone(),
            model_id,
            issued_at: Timestamp(issued_at),
            step,
            forecast,
        }))
    }
}

/// A `models` row as read, before its names are validated.
struct ModelRow {
    id: i64,
    workload: String,
    metric: String,
    kind: String,
    spec: String,
    params_json: String,
    fitted_at: i64,
    trained_until: i64,
    in_sample_mae: Option<f64>,
}

fn model_row(r: &Row<'_>) -> rusqlite::Result<ModelRow> {
    Ok(ModelRow {
        id: r.get(0)?,
        workload: r.get(1)?,
        metric: r.get(2)?,
        kind: r.get(3)?,
        spec: r.get(4)?,
        params_json: r.get(5)?,
        fitted_at: r.get(6)?,
        trained_until: r.get(7)?,
        in_sample_mae: r.get(8)?,
    })
}

impl ModelRow {
    fn into_record(self, context: &str) -> Result<(i64, ModelRecord), StoreError> {
        Ok((
            self.id,
            ModelRecord {
                key: stored_key(context, self.workload, self.metric)?,
                kind: self.kind,
                spec: self.spec,
                params_json: self.params_json,
                fitted_at: Timestamp(self.fitted_at),
                trained_until: Timestamp(self.trained_until),
                in_sample_mae: self.in_sample_mae,
            },
        ))
    }
}
