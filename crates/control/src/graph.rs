//! Dependency-aware scaling: the workload graph (each workload's `depends_on` upstreams),
//! validated once (unknown names and cycles are errors naming them), the rule that carries an
//! upstream's predicted rise to its downstream's replicas, and dependencies suggested from the
//! lagged cross-correlation of demand.
//!
//! Propagation: an upstream's predicted rise is its forecast at the decision lead over its last
//! step's demand ([`crate::Controller::predicted_rise`]). A downstream handed its upstreams'
//! rises asks for at least `ceil(own demand × the largest rise / capacity per replica)` replicas
//! (within its bounds) — its demand is expected to follow — on top of what its own policy decided,
//! so it scales ahead of a rise it cannot yet see in its own series. The count is held for the
//! decision lead after the last rise asked for it: once the upstream has risen it predicts no
//! further rise, while the downstream's demand may not have followed yet.

use prescale_core::WorkloadId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Why a declared workload graph was refused.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum GraphError {
    /// `depends_on` names a workload that is not configured.
    #[error("workload {workload}: depends_on[{index}] = {upstream:?}: no such workload")]
    Unknown {
        workload: String,
        index: usize,
        upstream: String,
    },
    /// A workload depends on itself.
    #[error("workload {workload}: depends on itself")]
    SelfLoop { workload: String },
    /// The dependencies form a cycle, named in order (`a → b → a`).
    #[error("dependency cycle: {}", cycle.join(" → "))]
    Cycle { cycle: Vec<String> },
}

/// The declared graph: each workload's upstreams by index, in a checked, cycle-free order.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadGraph {
    names: Vec<String>,
    upstreams: Vec<Vec<usize>>,
}

impl WorkloadGraph {
    /// Checks `declared` (workload, its `depends_on`) in config order: every upstream must be
    /// declared, none may be the workload itself, and there may be no cycle; the first problem
    /// is returned with where it is (`index` is the position in `depends_on`).
    pub fn new(declared: &[(String, Vec<String>)]) -> Result<WorkloadGraph, GraphError> {
        let index: BTreeMap<&str, usize> = declared
            .iter()
            .enumerate()
            .map(|(i, (w, _))| (w.as_str(), i))
            .collect();
        let mut upstreams = Vec::with_capacity(declared.len());
        for (w, deps) in declared {
            let mut ups = Vec::new();
            for (j, d) in deps.iter().enumerate() {
                if d == w {
                    return Err(GraphError::SelfLoop {
                        workload: w.clone(),
                    });
                }
                let Some(&u) = index.get(d.as_str()) else {
                    return Err(GraphError::Unknown {
                        workload: w.clone(),
                        index: j,
                        upstream: d.clone(),
                    });
                };
                ups.push(u);
            }
            upstreams.push(ups);
        }
        let g = WorkloadGraph {
            names: declared.iter().map(|(w, _)| w.clone()).collect(),
            upstreams,
        };
        if let Some(cycle) = g.find_cycle() {
            return Err(GraphError::Cycle {
                cycle: cycle.into_iter().map(|i| g.names[i].clone()).collect(),
            });
        }
        Ok(g)
    }

    /// A cycle as a path of indices whose last equals its first, if any (depth-first search).
    fn find_cycle(&self) -> Option<Vec<usize>> {
        // 0 unvisited, 1 on the current path, 2 done.
        let mut state = vec![0u8; self.names.len()];
        let mut path = Vec::new();
        for start in 0..self.names.len() {
            if state[start] == 0 {
                if let Some(c) = self.visit(start, &mut state, &mut path) {
                    return Some(c);
                }
            }
        }
        None
    }

    fn visit(&self, i: usize, state: &mut [u8], path: &mut Vec<usize>) -> Option<Vec<usize>> {
        state[i] = 1;
        path.push(i);
        for &u in &self.upstreams[i] {
            match state[u] {
                1 => {
                    let from = path.iter().position(|&p| p == u).unwrap_or(0);
                    let mut cycle: Vec<usize> = path[from..].to_vec();
                    cycle.push(u);
                    // Upstream edges point backwards: read the cycle in dependency order.
                    cycle.reverse();
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = self.visit(u, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state[i] = 2;
        None
    }

    /// The upstreams of `workload`, by name.
    pub fn upstreams_of(&self, workload: &str) -> Vec<&str> {
        self.names
            .iter()
            .position(|n| n == workload)
            .map(|i| {
                self.upstreams[i]
                    .iter()
                    .map(|&u| self.names[u].as_str())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An upstream's predicted rise handed to a downstream's controller.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpstreamRise {
    pub upstream: WorkloadId,
    /// Its forecast at the decision lead over its last step's demand (1.2: +20 %).
    pub rise: f64,
}

/// The part of a decision an upstream's rise set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpstreamRecord {
    pub upstream: WorkloadId,
    pub rise: f64,
    /// Replicas the rise asks for (`ceil(demand × rise / capacity)`, within bounds), and what the
    /// workload's own policy decided.
    pub replicas: u32,
    pub own: u32,
    /// Asked for by an earlier decision's rise, held for the decision lead.
    pub held: bool,
}

/// The replicas a downstream needs when its `demand` follows the largest of `rises` (> 1), within
/// `[min, max]`; `None` when no upstream predicts a rise or the inputs are unusable.
pub fn propagated(
    demand: f64,
    capacity_per_replica: f64,
    rises: &[UpstreamRise],
    (min, max): (u32, u32),
) -> Option<(u32, &UpstreamRise)> {
    let top = rises
        .iter()
        .filter(|r| r.rise.is_finite() && r.rise > 1.0)
        .max_by(|a, b| a.rise.total_cmp(&b.rise))?;
    if !(demand.is_finite() && demand >= 0.0 && capacity_per_replica > 0.0) {
        return None;
    }
    let need = (demand * top.rise / capacity_per_replica).ceil();
    let need = if need >= f64::from(max) {
        max
    } else {
        (need as u32).max(min)
    };
    Some((need, top))
}

/// A dependency suggested from demand: `downstream`'s demand follows `upstream`'s `lag` steps later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuggestedDependency {
    pub upstream: String,
    pub downstream: String,
    pub lag_steps: usize,
    /// Pearson correlation of the step-to-step changes at that lag.
    pub correlation: f64,
}

/// Suggests dependencies from aligned demand series (same step, same end, oldest first): for each
/// ordered pair, the lag in `1..=max_lag` at which the upstream's step-to-step changes correlate
/// best with the downstream's later changes. A pair is suggested when that correlation is at least
/// `min_correlation` and beats both the same-step correlation and the best of the reverse
/// direction (so a shared cause seen at once, or a dependency the other way, is not suggested).
/// Changes rather than levels are correlated: two series with the same daily shape correlate at
/// every lag by level alone.
pub fn suggest(
    series: &[(String, Vec<f64>)],
    max_lag: usize,
    min_correlation: f64,
) -> Vec<SuggestedDependency> {
    let diffs: Vec<Vec<f64>> = series
        .iter()
        .map(|(_, v)| v.windows(2).map(|w| w[1] - w[0]).collect())
        .collect();
    let at_lag = |a: &[f64], b: &[f64], lag: usize| -> Option<f64> {
        let n = a.len().min(b.len());
        if n <= lag + 2 {
            return None;
        }
        let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
        prescale_math::pearson(&a[..n - lag], &b[lag..]).filter(|r| r.is_finite())
    };
    let best = |a: &[f64], b: &[f64]| -> Option<(usize, f64)> {
        (1..=max_lag)
            .filter_map(|l| at_lag(a, b, l).map(|r| (l, r)))
            .max_by(|x, y| x.1.total_cmp(&y.1))
    };
    let mut out = Vec::new();
    for (i, (up, _)) in series.iter().enumerate() {
        for (j, (down, _)) in series.iter().enumerate() {
            if i == j {
                continue;
            }
            let Some((lag, r)) = best(&diffs[i], &diffs[j]) else {
                continue;
            };
            let same = at_lag(&diffs[i], &diffs[j], 0).unwrap_or(f64::NEG_INFINITY);
            let reverse = best(&diffs[j], &diffs[i]).map_or(f64::NEG_INFINITY, |b| b.1);
            if r >= min_correlation && r > same && r > reverse {
                out.push(SuggestedDependency {
                    upstream: up.clone(),
                    downstream: down.clone(),
                    lag_steps: lag,
                    correlation: r,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        pairs
            .iter()
            .map(|(w, d)| (w.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn a_cycle_unknown_names_and_self_loops_are_named() {
        let ok = WorkloadGraph::new(&decl(&[
            ("front", &[]),
            ("api", &["front"]),
            ("db", &["api"]),
        ]))
        .unwrap();
        assert_eq!(ok.upstreams_of("db"), vec!["api"]);
        let e =
            WorkloadGraph::new(&decl(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"])])).unwrap_err();
        assert_eq!(e.to_string(), "dependency cycle: a → b → c → a");
        let e = WorkloadGraph::new(&decl(&[("a", &["x"])])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "workload a: depends_on[0] = \"x\": no such workload"
        );
        let e = WorkloadGraph::new(&decl(&[("a", &["a"])])).unwrap_err();
        assert!(e.to_string().contains("depends on itself"));
    }

    #[test]
    fn the_largest_rise_sets_the_floor_within_bounds() {
        let id = |s: &str| WorkloadId::new(s).unwrap();
        let rises = vec![
            UpstreamRise {
                upstream: id("a"),
                rise: 1.5,
            },
            UpstreamRise {
                upstream: id("b"),
                rise: 2.0,
            },
        ];
        let (n, top) = propagated(45.0, 10.0, &rises, (1, 50)).unwrap();
        assert_eq!((n, top.upstream.as_str()), (9, "b"));
        assert_eq!(propagated(45.0, 10.0, &rises, (1, 5)).unwrap().0, 5);
        let falling = [UpstreamRise {
            upstream: id("a"),
            rise: 0.8,
        }];
        assert_eq!(propagated(45.0, 10.0, &falling, (1, 50)), None);
        assert_eq!(propagated(f64::NAN, 10.0, &rises, (1, 50)), None);
    }

    #[test]
    fn suggests_the_leader_at_its_lag() {
        // Upstream: a deterministic irregular walk; downstream: the same 3 steps later, halved.
        let mut x = 0.5_f64;
        let up: Vec<f64> = (0..300)
            .map(|_| {
                x = (x * 3.9 * (1.0 - x)).clamp(0.01, 0.99);
                100.0 + 50.0 * x
            })
            .collect();
        let down: Vec<f64> = (0..300)
            .map(|k| if k >= 3 { up[k - 3] * 0.5 } else { 50.0 })
            .collect();
        let s = suggest(&[("front".into(), up), ("api".into(), down)], 10, 0.5);
        assert_eq!(s.len(), 1, "{s:?}");
        assert_eq!(
            (
                s[0].upstream.as_str(),
                s[0].downstream.as_str(),
                s[0].lag_steps
            ),
            ("front", "api", 3)
        );
        assert!(s[0].correlation > 0.99);
    }
}
