//! The capacity one replica serves in one environment, learned from observations of demand, CPU use
//! and replicas: CPU per replica is fitted as `base + per_unit × demand per replica`
//! ([`prescale_math::nonneg_line_fit`]), so a replica with `c` cores at utilisation target `u`
//! serves `(c·u − base) / per_unit` and one core serves `1 / per_unit` more units of demand.

use super::EnvironmentError;
use prescale_math::nonneg_line_fit;
use serde::{Deserialize, Serialize};

/// Fewest observations a capacity is learned from.
pub const MIN_OBSERVATIONS: usize = 12;

/// Demand per replica must vary by at least this share of its largest value: a line fitted on a
/// narrower spread cannot be carried to the utilisation target.
pub const MIN_DEMAND_SPREAD: f64 = 0.01;

/// One step of a workload: its total demand, total CPU use in cores and the replicas serving it
/// (an average over the step may be fractional).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    pub demand: f64,
    pub cpu_cores: f64,
    pub replicas: f64,
}

/// What one environment's observations say about one replica's CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityFit {
    /// CPU one replica uses with no demand (cores).
    pub base_cores: f64,
    /// CPU each unit of demand costs (cores per demand unit).
    pub cores_per_unit: f64,
    pub observations: usize,
    /// Share of the CPU per replica's variance the line explains.
    pub r_squared: f64,
    /// Standard error of `cores_per_unit` over its value: the measurement's uncertainty (0.05 is ±5 %).
    pub relative_error: f64,
}

impl CapacityFit {
    /// Units of demand one more core serves.
    pub fn demand_per_core(&self) -> f64 {
        1.0 / self.cores_per_unit
    }

    /// Demand one replica with `cores` serves at `utilization` of them; `None` when the replica's
    /// idle CPU already takes that much.
    pub fn per_replica(&self, cores: f64, utilization: f64) -> Option<f64> {
        let spare = cores * utilization - self.base_cores;
        (spare > 0.0).then(|| spare / self.cores_per_unit)
    }

    /// The same workload on a machine whose cores do `speed` times the work of these.
    pub fn scaled(&self, speed: f64) -> CapacityFit {
        CapacityFit {
            base_cores: self.base_cores / speed,
            cores_per_unit: self.cores_per_unit / speed,
            ..self.clone()
        }
    }
}

/// Fits one environment's capacity. Every observation must be finite, demand and CPU at least 0 and
/// replicas above 0; at least [`MIN_OBSERVATIONS`] are needed, with demand per replica spread by
/// [`MIN_DEMAND_SPREAD`] and CPU rising with it.
pub fn fit_capacity(observations: &[Observation]) -> Result<CapacityFit, EnvironmentError> {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for (index, o) in observations.iter().enumerate() {
        for (field, value) in [
            ("demand", o.demand),
            ("cpu_cores", o.cpu_cores),
            ("replicas", o.replicas),
        ] {
            if !value.is_finite() {
                return Err(EnvironmentError::NonFinite {
                    index,
                    field,
                    value,
                });
            }
        }
        for (field, value) in [("demand", o.demand), ("cpu_cores", o.cpu_cores)] {
            if value < 0.0 {
                return Err(EnvironmentError::Negative {
                    index,
                    field,
                    value,
                });
            }
        }
        if o.replicas <= 0.0 {
            return Err(EnvironmentError::NoReplicas {
                index,
                replicas: o.replicas,
            });
        }
        xs.push(o.demand / o.replicas);
        ys.push(o.cpu_cores / o.replicas);
    }
    let n = xs.len();
    if n < MIN_OBSERVATIONS {
        return Err(EnvironmentError::TooFewObservations {
            found: n,
            need: MIN_OBSERVATIONS,
        });
    }
    let (min, max) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(*x), hi.max(*x))
        });
    if max - min <= MIN_DEMAND_SPREAD * max {
        return Err(EnvironmentError::NoDemandSpread {
            observations: n,
            min,
            max,
        });
    }
    let Some((base, slope)) = nonneg_line_fit(&xs, &ys) else {
        return Err(EnvironmentError::TooFewObservations {
            found: n,
            need: MIN_OBSERVATIONS,
        });
    };
    if slope <= 0.0 {
        return Err(EnvironmentError::FlatCpu { observations: n });
    }
    let rss: f64 = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (y - base - slope * x).powi(2))
        .sum();
    let ym = ys.iter().sum::<f64>() / n as f64;
    let tss: f64 = ys.iter().map(|y| (y - ym).powi(2)).sum();
    let xm = xs.iter().sum::<f64>() / n as f64;
    // A free intercept costs a degree of freedom; a line pinned through the origin does not.
    let (dof, spread) = if base > 0.0 {
        (n - 2, xs.iter().map(|x| (x - xm).powi(2)).sum::<f64>())
    } else {
        (n - 1, xs.iter().map(|x| x * x).sum::<f64>())
    };
    let se = (rss / dof as f64 / spread).sqrt();
    Ok(CapacityFit {
        base_cores: base,
        cores_per_unit: slope,
        observations: n,
        r_squared: if tss > 0.0 {
            (1.0 - rss / tss).max(0.0)
        } else {
            1.0
        },
        relative_error: se / slope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_math::SplitMix64;

    /// A day of five-minute steps: demand swings 3×, replicas follow it, CPU is
    /// `replicas × base + demand × per_unit` with 3 % noise.
    fn day(base: f64, per_unit: f64, seed: u64) -> Vec<Observation> {
        let mut rng = SplitMix64(seed);
        (0..288)
            .map(|i| {
                let phase = i as f64 / 288.0 * std::f64::consts::TAU;
                let demand = 400.0 + 300.0 * phase.sin();
                let replicas = (demand / 90.0).ceil();
                let cpu = (replicas * base + demand * per_unit) * (1.0 + 0.03 * rng.normal());
                Observation {
                    demand,
                    cpu_cores: cpu,
                    replicas,
                }
            })
            .collect()
    }

    #[test]
    fn the_per_core_ratio_of_two_environments_is_recovered() {
        // Environment B's cores do 1.6× the work of A's, idle CPU included.
        let a = fit_capacity(&day(0.08, 0.012, 1)).unwrap();
        let b = fit_capacity(&day(0.08 / 1.6, 0.012 / 1.6, 2)).unwrap();
        let ratio = b.demand_per_core() / a.demand_per_core();
        assert!((ratio - 1.6).abs() < 0.05 * 1.6, "ratio {ratio}");
        assert!((a.cores_per_unit - 0.012).abs() < 0.05 * 0.012, "{a:?}");
        assert!(a.relative_error < 0.05 && a.r_squared > 0.9, "{a:?}");
        assert_eq!(a.observations, 288);
        // One replica with 2 cores at 70 %: (1.4 - 0.08) / 0.012 = 110 per replica on A.
        let per = a.per_replica(2.0, 0.7).unwrap();
        assert!((per - 110.0).abs() < 0.06 * 110.0, "{per}");
        let on_b = b.per_replica(2.0, 0.7).unwrap();
        assert!((on_b / per - 1.6).abs() < 0.08, "{on_b} vs {per}");
        // A replica whose idle use takes its whole target serves nothing.
        assert_eq!(a.per_replica(0.1, 0.7), None);
        // Scaling A by 1.6 gives B's line.
        let s = a.scaled(1.6);
        assert!((s.demand_per_core() / b.demand_per_core() - 1.0).abs() < 0.05);
    }

    #[test]
    fn bad_observations_are_named() {
        let mut obs = day(0.1, 0.01, 3);
        obs[5].cpu_cores = f64::NAN;
        assert!(matches!(
            fit_capacity(&obs).unwrap_err(),
            EnvironmentError::NonFinite {
                index: 5,
                field: "cpu_cores",
                value
            } if value.is_nan()
        ));
        assert!(fit_capacity(&obs)
            .unwrap_err()
            .to_string()
            .starts_with("observation 5: cpu_cores is NaN"));
        let mut obs = day(0.1, 0.01, 3);
        obs[7].replicas = 0.0;
        assert_eq!(
            fit_capacity(&obs).unwrap_err(),
            EnvironmentError::NoReplicas {
                index: 7,
                replicas: 0.0
            }
        );
        let mut obs = day(0.1, 0.01, 3);
        obs[2].demand = -1.0;
        assert!(matches!(
            fit_capacity(&obs).unwrap_err(),
            EnvironmentError::Negative {
                index: 2,
                field: "demand",
                ..
            }
        ));
        assert_eq!(
            fit_capacity(&day(0.1, 0.01, 3)[..11]).unwrap_err(),
            EnvironmentError::TooFewObservations {
                found: 11,
                need: 12
            }
        );
        let flat_demand: Vec<Observation> = (0..20)
            .map(|i| Observation {
                demand: 100.0,
                cpu_cores: 1.0 + f64::from(i) * 0.01,
                replicas: 1.0,
            })
            .collect();
        assert!(matches!(
            fit_capacity(&flat_demand).unwrap_err(),
            EnvironmentError::NoDemandSpread {
                observations: 20,
                ..
            }
        ));
        let flat_cpu: Vec<Observation> = (0..20)
            .map(|i| Observation {
                demand: 10.0 + f64::from(i),
                cpu_cores: 1.0 - f64::from(i) * 0.01,
                replicas: 1.0,
            })
            .collect();
        assert_eq!(
            fit_capacity(&flat_cpu).unwrap_err(),
            EnvironmentError::FlatCpu { observations: 20 }
        );
    }
}
