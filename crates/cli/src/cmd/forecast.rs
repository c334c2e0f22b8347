//! `prescale forecast`: fit a model to one stored series and predict a calibrated band.

use crate::args::ForecastArgs;
use crate::output::{num, table};
use crate::timearg;
use anyhow::{anyhow, Context, Result};
use prescale_core::{Level, MetricName, SeriesKey, Timestamp, WorkloadId};
use prescale_forecast::{forecaster, ModelConfig, ModelKind};
use prescale_math::detect_periods;
use prescale_store::{ForecastRecord, ModelRecord, Store};
use prescale_telemetry::format_iso8601 as iso8601;
use serde_json::json;

pub fn run(store: &mut Store, args: &ForecastArgs) -> Result<()> {
    let key = SeriesKey::new(
        WorkloadId::new(&args.workload)?,
        MetricName::new(&args.metric)?,
    );
    let level = Level::new(args.level).context("--level")?;
    let kind: ModelKind = args.model.parse().map_err(|e| anyhow!("--model: {e}"))?;
    let series = store
        .load_series(&key)?
        .ok_or_else(|| anyhow!("no series {key} in the store (see `prescale series`)"))?;
    let interval = series
        .median_interval()
        .ok_or_else(|| anyhow!("series {key} has fewer than two samples"))?;
    let horizon_span = timearg::duration("--horizon", &args.horizon)?;
    let steps = interval.steps_in(horizon_span);
    let values = series.values();
    let season = args
        .season
        .unwrap_or_else(|| timearg::default_season(interval));
    // Further seasonal periods for MSTL come from the same period detection the fingerprint uses.
    let detected: Vec<usize> = detect_periods(&values, values.len() / 2, 3, 0.01)
        .into_iter()
        .map(|d| d.period)
        .collect();
    let extra_periods: Vec<usize> = detected
        .iter()
        .copied()
        .filter(|&p| p.abs_diff(season) * 50 > season && values.len() >= 2 * p)
        .collect();
    let cfg = ModelConfig {
        season: Some(season),
        extra_periods: extra_periods.clone(),
        max_horizon: steps,
        ..ModelConfig::default()
    };
    let fitted = forecaster(kind, &cfg)
        .fit(&values)
        .with_context(|| format!("fitting {kind} to {key}"))?;
    let fc = fitted
        .predict(steps, level)
        .with_context(|| format!("forecasting {key}"))?;
    let info = fitted.describe();
    let last = series.last_ts().unwrap_or(Timestamp(0));
    let model_id = store.save_model(&ModelRecord {
        key: key.clone(),
        kind: info.kind.to_string(),
        spec: info.spec.clone(),
        params_json: serde_json::to_string(&info.params)?,
        fitted_at: super::now(),
        trained_until: last,
        in_sample_mae: info.in_sample_mae,
    })?;
    store.save_forecast(&ForecastRecord {
        key: key.clone(),
        model_id: Some(model_id),
        issued_at: last,
        step: interval,
        forecast: fc.clone(),
    })?;
    let times: Vec<Timestamp> = (1..=steps as i64)
        .map(|i| Timestamp(last.millis() + i * interval.millis()))
        .collect();
    if args.json {
        return super::print_json(&crate::output::json_result(&json!({
            "workload": key.workload, "metric": key.metric, "model": info.spec, "level": level.percent(),
            "season": season, "detected_periods": detected, "extra_periods": extra_periods,
            "issued_at": last.millis(), "step_seconds": interval.secs_f64(),
            "points": times.iter().enumerate().map(|(i, t)| json!({
                "at": t.millis(), "point": fc.point[i], "lower": fc.lower[i], "upper": fc.upper[i]})).collect::<Vec<_>>(),
        }))?);
    }
    println!(
        "{key}: {} on {} samples (season {season}, detected periods {detected:?}), {}% band calibrated on {} out-of-sample points",
        info.spec,
        values.len(),
        level.percent(),
        info.calibration_points
    );
    let rows: Vec<Vec<String>> = times
        .iter()
        .enumerate()
        .map(|(i, t)| {
            vec![
                iso8601(*t),
                num(Some(fc.lower[i]), 3),
                num(Some(fc.point[i]), 3),
                num(Some(fc.upper[i]), 3),
            ]
        })
        .collect();
    print!("{}", table(&["time", "lower", "point", "upper"], &rows));
    Ok(())
}
