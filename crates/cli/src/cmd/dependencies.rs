//! `prescale dependencies`: workload dependencies suggested from stored demand (one metric of every
//! workload that has it), by the lagged cross-correlation of step-to-step changes
//! (`prescale_control::graph::suggest`), to declare as `depends_on` after review.

use crate::output::{num, table};
use anyhow::{Context, Result};
use clap::Args;
use prescale_control::graph::{suggest, SuggestedDependency};
use prescale_core::{MetricName, Timestamp};
use prescale_store::Store;
use std::collections::BTreeMap;

#[derive(Debug, Args)]
pub struct DependenciesArgs {
    /// The demand metric compared across workloads (each workload's series of this name).
    #[arg(long, default_value = "requests")]
    pub metric: String,
    /// Step the series are averaged to, in seconds.
    #[arg(long, default_value_t = 300)]
    pub step_seconds: u64,
    /// Longest lag tried, in steps.
    #[arg(long, default_value_t = 12)]
    pub max_lag: usize,
    /// Least correlation of the changes for a suggestion.
    #[arg(long, default_value_t = 0.5)]
    pub min_correlation: f64,
    /// Print the suggestions as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(store: &Store, args: &DependenciesArgs) -> Result<()> {
    let found = suggestions(store, args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(());
    }
    if found.is_empty() {
        println!("no dependency suggested for metric {}", args.metric);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|s| {
            vec![
                s.downstream.clone(),
                s.upstream.clone(),
                s.lag_steps.to_string(),
                format!("{}", s.lag_steps as u64 * args.step_seconds),
                num(Some(s.correlation), 3),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "workload",
                "depends_on",
                "lag_steps",
                "lag_s",
                "correlation"
            ],
            &rows
        )
    );
    Ok(())
}

/// The suggestions over the stored series of `args.metric`, each averaged per step over the span
/// all of them cover (a step one series lacks holds its previous value).
pub fn suggestions(store: &Store, args: &DependenciesArgs) -> Result<Vec<SuggestedDependency>> {
    anyhow::ensure!(args.step_seconds > 0, "--step-seconds must be positive");
    anyhow::ensure!(args.max_lag > 0, "--max-lag must be at least 1");
    anyhow::ensure!(
        args.min_correlation.is_finite() && (-1.0..=1.0).contains(&args.min_correlation),
        "--min-correlation must lie in [-1, 1]"
    );
    let metric = MetricName::new(args.metric.clone()).context("--metric")?;
    let step_ms = i64::try_from(args.step_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    let mut per_step: Vec<(String, BTreeMap<i64, f64>)> = Vec::new();
    for info in store.list_series()? {
        if info.key.metric != metric {
            continue;
        }
        let Some(series) = store.load_series(&info.key)? else {
            continue;
        };
        let samples = series.samples();
        let Some(last) = samples.last() else {
            continue;
        };
        let end = Timestamp(last.ts.0.saturating_add(step_ms));
        let steps: BTreeMap<i64, f64> =
            prescale_control::complete_steps(&info.key, samples, step_ms, end)
                .into_iter()
                .collect();
        per_step.push((info.key.workload.to_string(), steps));
    }
    let first = per_step.iter().filter_map(|(_, s)| s.keys().next()).max();
    let last = per_step
        .iter()
        .filter_map(|(_, s)| s.keys().next_back())
        .min();
    let (Some(&first), Some(&last)) = (first, last) else {
        return Ok(Vec::new());
    };
    let aligned: Vec<(String, Vec<f64>)> = per_step
        .into_iter()
        .map(|(w, steps)| {
            let mut held = None;
            let values = (first..=last)
                .step_by(usize::try_from(step_ms).unwrap_or(usize::MAX))
                .map(|t| {
                    held = steps.get(&t).copied().or(held);
                    held.unwrap_or(0.0)
                })
                .collect();
            (w, values)
        })
        .collect();
    Ok(suggest(&aligned, args.max_lag, args.min_correlation))
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::{Labels, Point, Sample, SeriesKey, WorkloadId};

    #[test]
    fn a_lagging_workload_is_suggested_to_depend_on_its_leader() {
        let mut store = Store::open_in_memory().unwrap();
        let metric = MetricName::new("requests").unwrap();
        let mut x = 0.3_f64;
        let lead: Vec<f64> = (0..400)
            .map(|_| {
                x = (x * 3.9 * (1.0 - x)).clamp(0.01, 0.99);
                100.0 + 80.0 * x
            })
            .collect();
        let mut points = Vec::new();
        for (name, shift, scale) in [("front", 0usize, 1.0), ("api", 2, 0.4), ("batch", 0, 0.0)] {
            let key = SeriesKey::new(WorkloadId::new(name).unwrap(), metric.clone());
            for k in 0..400 {
                // Two samples a 5-minute step; "batch" is flat noise of its own.
                let v = if scale == 0.0 {
                    50.0 + (k * 7 % 11) as f64
                } else if k >= shift {
                    lead[k - shift] * scale
                } else {
                    lead[0] * scale
                };
                for half in 0..2 {
                    points.push(Point {
                        key: key.clone(),
                        labels: Labels::default(),
                        sample: Sample {
                            ts: Timestamp(1_700_000_000_000 + k as i64 * 300_000 + half * 150_000),
                            value: v,
                        },
                    });
                }
            }
        }
        store.append_points(&points).unwrap();
        let args = DependenciesArgs {
            metric: "requests".into(),
            step_seconds: 300,
            max_lag: 6,
            min_correlation: 0.5,
            json: false,
        };
        let found = suggestions(&store, &args).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (
                found[0].upstream.as_str(),
                found[0].downstream.as_str(),
                found[0].lag_steps
            ),
            ("front", "api", 2)
        );
        let bad = DependenciesArgs { max_lag: 0, ..args };
        assert!(suggestions(&store, &bad)
            .unwrap_err()
            .to_string()
            .contains("--max-lag"));
    }
}
