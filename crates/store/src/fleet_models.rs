//! Fleet models (a gradient-boosted model trained across every controlled workload), saved with the
//! store so a restarted daemon forecasts with the last one at once; the body is the model's own
//! versioned JSON, which the forecast crate reads and checks.

use crate::error::{Context, StoreError};
use crate::open::Store;
use prescale_core::Timestamp;
use rusqlite::{params, OptionalExtension};

/// Trainings of one kind and step kept; older ones are deleted when a new one is saved.
pub const FLEET_MODELS_KEPT: usize = 5;

/// One saved training.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetModelRow {
    /// The model kind, e.g. `gbm`.
    pub kind: String,
    /// The step of the series it was trained on.
    pub step_ms: i64,
    pub trained_at: Timestamp,
    /// Series and feature rows it was trained on.
    pub series: usize,
    pub rows: usize,
    /// Steps ahead it forecasts.
    pub horizon: usize,
    /// Held-out mean absolute error in units of each series' typical step.
    pub holdout_mae: Option<f64>,
    /// Training time.
    pub seconds: f64,
    /// The model as versioned JSON.
    pub body: String,
}

impl Store {
    /// Saves a training and keeps the newest [`FLEET_MODELS_KEPT`] of its kind and step; returns
    /// its id.
    pub fn save_fleet_model(&mut self, m: &FleetModelRow) -> Result<i64, StoreError> {
        let context = format!("saving the {} fleet model of step {} ms", m.kind, m.step_ms);
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let tx = self.conn.transaction().ctx(&context)?;
        tx.execute(
            "INSERT INTO fleet_models
             (kind, step_ms, trained_at, series, rows, horizon, holdout_mae, seconds, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                m.kind,
                m.step_ms,
                m.trained_at.0,
                count(m.series),
                count(m.rows),
                count(m.horizon),
                m.holdout_mae,
                m.seconds,
                m.body
            ],
        )
        .ctx(&context)?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "DELETE FROM fleet_models WHERE kind = ?1 AND step_ms = ?2 AND id NOT IN
             (SELECT id FROM fleet_models WHERE kind = ?1 AND step_ms = ?2
              ORDER BY trained_at DESC, id DESC LIMIT ?3)",
            params![m.kind, m.step_ms, count(FLEET_MODELS_KEPT)],
        )
        .ctx(&context)?;
        tx.commit().ctx(&context)?;
        Ok(id)
    }

    /// The newest training of every kind and step.
    pub fn latest_fleet_models(&self) -> Result<Vec<FleetModelRow>, StoreError> {
        let context = "loading the fleet models";
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT kind, step_ms, trained_at, series, rows, horizon, holdout_mae, seconds, body
                 FROM fleet_models f
                 WHERE id = (SELECT id FROM fleet_models g WHERE g.kind = f.kind
                             AND g.step_ms = f.step_ms ORDER BY trained_at DESC, id DESC LIMIT 1)
                 ORDER BY kind, step_ms",
            )
            .ctx(context)?;
        let rows = st
            .query_map([], |r| {
                let n = |i: usize| -> rusqlite::Result<usize> {
                    Ok(usize::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
                };
                Ok(FleetModelRow {
                    kind: r.get(0)?,
                    step_ms: r.get(1)?,
                    trained_at: Timestamp(r.get(2)?),
                    series: n(3)?,
                    rows: n(4)?,
                    horizon: n(5)?,
                    holdout_mae: r.get(6)?,
                    seconds: r.get(7)?,
                    body: r.get(8)?,
                })
            })
            .ctx(context)?;
        rows.collect::<Result<_, _>>().ctx(context)
    }

    /// How many trainings of `kind` and `step_ms` are kept.
    pub fn fleet_model_count(&self, kind: &str, step_ms: i64) -> Result<usize, StoreError> {
        let n: Option<i64> = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM fleet_models WHERE kind = ?1 AND step_ms = ?2",
                params![kind, step_ms],
                |r| r.get(0),
            )
            .optional()
            .ctx("counting fleet models")?;
        Ok(usize::try_from(n.unwrap_or(0)).unwrap_or(0))
    }
}
