//! `prescale series`: what the store holds.

use crate::output::table;
use anyhow::Result;
use prescale_store::Store;

pub fn run(store: &Store, json: bool) -> Result<()> {
    let infos = store.list_series()?;
    if json {
        let rows: Vec<_> = infos
            .iter()
            .map(|i| {
                serde_json::json!({
                    "workload": i.key.workload, "metric": i.key.metric, "labels": i.labels,
                    "samples": i.samples, "first_ts": i.first_ts, "last_ts": i.last_ts,
                })
            })
            .collect();
        return super::print_json(&crate::output::json_result(&rows)?);
    }
    let rows: Vec<Vec<String>> = infos
        .iter()
        .map(|i| {
            vec![
                i.key.workload.to_string(),
                i.key.metric.to_string(),
                i.samples.to_string(),
                i.first_ts
                    .map(prescale_telemetry::format_iso8601)
                    .unwrap_or_default(),
                i.last_ts
                    .map(prescale_telemetry::format_iso8601)
                    .unwrap_or_default(),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["workload", "metric", "samples", "first", "last"], &rows)
    );
    Ok(())
}
