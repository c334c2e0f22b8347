//! The shadows' board: each workload's latest shadow report (acting and candidate configurations
//! with their counterfactual figures) for the API and `/metrics`, and the promotions asked for
//! through the API, which the control loop applies before the workload's next step.

use crate::http::lock;
use prescale_control::{ShadowReport, ShadowView};
use prescale_core::{Timestamp, WorkloadId};
use prescale_remote::naming::{self, PromSample};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Board {
    reports: BTreeMap<WorkloadId, ShadowReport>,
    /// Shadow names to promote, per workload, oldest first.
    promotions: BTreeMap<WorkloadId, Vec<String>>,
}

/// Shared between the control loop (writes reports, takes promotions) and the API.
#[derive(Debug, Clone, Default)]
pub struct ShadowBoard(Arc<Mutex<Board>>);

impl ShadowBoard {
    /// The workload's latest report.
    pub fn publish(&self, w: &WorkloadId, report: ShadowReport) {
        lock(&self.0).reports.insert(w.clone(), report);
    }

    pub fn report(&self, w: &WorkloadId) -> Option<ShadowReport> {
        lock(&self.0).reports.get(w).cloned()
    }

    /// Asks the loop to promote shadow `name` of `w` before its next step; the reason when `w`
    /// has no such shadow.
    pub fn request_promotion(&self, w: &WorkloadId, name: &str) -> Result<(), String> {
        let mut b = lock(&self.0);
        let Some(r) = b.reports.get(w) else {
            return Err(format!("workload {w} has no shadows"));
        };
        if !r.shadows.iter().any(|s| s.name == name) {
            let names: Vec<&str> = r.shadows.iter().map(|s| s.name.as_str()).collect();
            return Err(format!(
                "workload {w} has no shadow {name:?} (shadows: {})",
                names.join(", ")
            ));
        }
        b.promotions
            .entry(w.clone())
            .or_default()
            .push(name.to_string());
        Ok(())
    }

    /// The promotions asked for `w`, oldest first (taken: each is applied once).
    pub fn take_promotions(&self, w: &WorkloadId) -> Vec<String> {
        lock(&self.0).promotions.remove(w).unwrap_or_default()
    }

    /// A workload that is no longer controlled leaves the board.
    pub fn forget(&self, w: &WorkloadId) {
        let mut b = lock(&self.0);
        b.reports.remove(w);
        b.promotions.remove(w);
    }

    /// Per configuration: under-provisioned share, cost, actions and steps charged.
    pub fn samples(&self, now: Timestamp) -> Vec<PromSample> {
        let b = lock(&self.0);
        let mut out = Vec::new();
        for (w, r) in &b.reports {
            let views = std::iter::once((&r.acting, "acting"))
                .chain(r.shadows.iter().map(|s| (s, "shadow")));
            for (v, role) in views {
                out.extend(view_samples(w, v, role, now));
            }
        }
        out
    }
}

fn view_samples(w: &WorkloadId, v: &ShadowView, role: &str, now: Timestamp) -> Vec<PromSample> {
    let labels = [
        (naming::WORKLOAD_LABEL, w.as_str()),
        (naming::SHADOW_LABEL, v.name.as_str()),
        (naming::POLICY_LABEL, v.policy.as_str()),
        (naming::ROLE_LABEL, role),
    ];
    let m = &v.metrics;
    [
        (naming::SHADOW_UNDER_RATIO, m.under_pct / 100.0),
        (naming::SHADOW_COST, m.cost),
        (naming::SHADOW_ACTIONS, m.actions as f64),
        (naming::SHADOW_STEPS, m.steps as f64),
    ]
    .into_iter()
    .map(|(name, value)| PromSample {
        name: name.to_string(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ts: now,
        value,
    })
    .collect()
}
