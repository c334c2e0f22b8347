//! `prescale drift --workload W [--at T]`: the workload's fingerprint before and after a change (its
//! latest release annotation by default), their distance in the basis' space, that distance against
//! the fleet's and the workload's own movement, and the raw features that moved most.

use crate::args::DriftArgs;
use crate::output::{num, table};
use crate::timearg;
use anyhow::Result;
use prescale_core::WorkloadId;
use prescale_learn::{drift_report, DriftOptions, DriftReport};
use prescale_store::Store;
use prescale_telemetry::format_iso8601;

pub fn run(store: &Store, args: &DriftArgs) -> Result<()> {
    let w = WorkloadId::new(args.workload.as_str())?;
    let opts = DriftOptions {
        at: args
            .at
            .as_deref()
            .map(|t| timearg::timestamp("--at", t))
            .transpose()?,
        top: args.top,
    };
    let report = drift_report(store, &w, &opts)?;
    if args.json {
        return super::print_json(&crate::output::json_result(&report)?);
    }
    print!("{}", render(&report));
    Ok(())
}

/// The report as text: what was compared, how far it moved, and the features.
fn render(r: &DriftReport) -> String {
    let mut out = String::new();
    let around = match &r.release {
        Some(rel) => format!(
            "release annotation {} at {} ({:?}{})",
            rel.id,
            format_iso8601(rel.at),
            rel.text,
            if rel.workload.is_none() {
                ", fleet-wide"
            } else {
                ""
            }
        ),
        None => format_iso8601(r.at),
    };
    out.push_str(&format!("{} around {around}\n", r.workload));
    out.push_str(&format!(
        "basis {} ({}, fitted on data as of {})\n",
        r.basis,
        r.reducer,
        r.fitted_at
            .map_or_else(|| "unknown".to_string(), format_iso8601)
    ));
    out.push_str(&format!(
        "before: run {} as of {}\nafter:  run {} as of {} ({} of its longest window after the change)\n",
        r.before.run,
        format_iso8601(r.before.at),
        r.after.run,
        format_iso8601(r.after.at),
        r.after_window_share
            .map_or_else(|| "unknown share".to_string(), |s| format!("{:.0}%", 100.0 * s)),
    ));
    out.push_str(&format!("distance: {:.3}\n", r.distance));
    match &r.fleet {
        Some(f) => out.push_str(&format!(
            "  fleet: {} x the median of {} other workloads between the same runs ({:.3}); moved more than {:.0}% of them\n",
            num(f.relative, 2),
            f.workloads,
            f.median_distance,
            100.0 * f.rank
        )),
        None => out.push_str("  fleet: no other workload in both runs\n"),
    }
    match &r.previous {
        Some(p) => out.push_str(&format!(
            "  own: {} x its movement over as long before (run {} as of {}: {:.3})\n",
            num(p.relative, 2),
            p.run,
            format_iso8601(p.at),
            p.distance
        )),
        None => out.push_str("  own: no fingerprint as long before to compare with\n"),
    }
    if r.features.is_empty() {
        out.push_str("features: the raw samples of one side are no longer stored\n");
        return out;
    }
    let rows: Vec<Vec<String>> = r
        .features
        .iter()
        .map(|f| {
            vec![
                f.feature.clone(),
                num(f.before, 3),
                num(f.after, 3),
                format!("{:+.3}", f.scaled_change),
            ]
        })
        .collect();
    out.push_str(&table(
        &["feature", "before", "after", "scaled change"],
        &rows,
    ));
    out
}
