//! A synthetic demo fleet (labelled `synthetic=true`): daily/weekly seasonality, trends, bursts and noise.
//!
//! This exists so `prescale demo-data` can show the whole pipeline on a machine without any telemetry; it is
//! never presented as real data.

use crate::import::format_iso8601;
use prescale_core::{
    CoreError, Interval, Labels, MetricName, Sample, Series, SeriesKey, Timestamp, WorkloadId,
};
use std::io::{self, Write};

/// Behaviour families in the demo fleet, so clustering has a known structure to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archetype {
    /// Web front end: strong daily cycle, weekday/weekend difference, evening peak.
    WebDaily,
    /// Nightly batch jobs: near idle by day, a block of heavy CPU every night.
    NightlyBatch,
    /// Steady service growing week over week with mild daily cycle.
    Growing,
    /// API with random traffic bursts on a flat base.
    Bursty,
    /// Office-hours business app: busy 9-18 on weekdays only.
    OfficeHours,
}

impl Archetype {
    pub const ALL: [Archetype; 5] = [
        Archetype::WebDaily,
        Archetype::NightlyBatch,
        Archetype::Growing,
        Archetype::Bursty,
        Archetype::OfficeHours,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Archetype::WebDaily => "web-daily",
            Archetype::NightlyBatch => "nightly-batch",
            Archetype::Growing => "growing",
            Archetype::Bursty => "bursty",
            Archetype::OfficeHours => "office-hours",
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub workloads: usize,
    pub days: usize,
    pub interval: Interval,
    pub start: Timestamp,
    pub seed: u64,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            workloads: 15,
            days: 21,
            interval: Interval::from_secs(300).unwrap_or_else(|| unreachable!()),
            // Monday 2026-01-05 00:00 UTC, so weekdays line up with the office-hours pattern.
            start: Timestamp::from_secs(1_767_571_200),
            seed: 42,
        }
    }
}

/// The demo's noise: prescale-math's seeded splitmix64.
pub(crate) use prescale_math::SplitMix64 as Rng;

/// Requests per second for one archetype at `t` seconds since a Monday midnight.
fn demand(a: Archetype, t: f64, scale: f64, phase: f64, rng: &mut Rng, burst: &mut f64) -> f64 {
    use std::f64::consts::PI;
    let day = 86_400.0;
    let hour = (t / 3600.0 + phase).rem_euclid(24.0);
    let weekday = ((t / day).floor() as i64).rem_euclid(7);
    let weekend = weekday >= 5;
    let daily = (2.0 * PI * (hour - 14.0) / 24.0).cos();
    let base = match a {
        Archetype::WebDaily => {
            let w = if weekend { 0.75 } else { 1.0 };
            w * (1.0 + 0.6 * daily + 0.15 * (4.0 * PI * hour / 24.0).sin())
        }
        Archetype::NightlyBatch => {
            if (1.0..4.0).contains(&hour) {
                1.6
            } else {
                0.15
            }
        }
        Archetype::Growing => (1.0 + t / (7.0 * day) * 0.25) * (1.0 + 0.2 * daily),
        Archetype::Bursty => {
            if rng.uniform() < 0.01 {
                *burst = 2.0 + 3.0 * rng.uniform();
            }
            *burst *= 0.85;
            0.8 + *burst
        }
        Archetype::OfficeHours => {
            if !weekend && (9.0..18.0).contains(&hour) {
                1.5 + 0.3 * (PI * (hour - 9.0) / 9.0).sin()
            } else {
                0.1
            }
        }
    };
    (scale * base * (1.0 + 0.05 * rng.normal())).max(0.0)
}

/// Generates the fleet: per workload `requests` (req/s), `cpu` (cores) and `memory` (MiB).
pub fn demo_fleet(cfg: &DemoConfig) -> Result<Vec<Series>, CoreError> {
    let mut rng = Rng(cfg.seed);
    let steps = (cfg.days as i64 * 86_400_000 / cfg.interval.millis()).max(1) as usize;
    let mut out = Vec::with_capacity(cfg.workloads * 3);
    for i in 0..cfg.workloads {
        let arch = Archetype::ALL[i % Archetype::ALL.len()];
        let workload =
            WorkloadId::new(format!("{}-{}", arch.name(), i / Archetype::ALL.len() + 1))?;
        let scale = 50.0 + 400.0 * rng.uniform();
        let phase = rng.normal() * 0.5;
        let cpu_per_req = 0.004 + 0.004 * rng.uniform();
        let mem_base = 256.0 + 1024.0 * rng.uniform();
        let mut burst = 0.0;
        let mut mem_drift = 0.0;
        let (mut req, mut cpu, mut mem) = (Vec::new(), Vec::new(), Vec::new());
        for s in 0..steps {
            let ts = Timestamp(cfg.start.millis() + s as i64 * cfg.interval.millis());
            let t = (ts.millis() - cfg.start.millis()) as f64 / 1000.0;
            let r = demand(arch, t, scale, phase, &mut rng, &mut burst);
            let c = 0.05 + r * cpu_per_req * (1.0 + 0.08 * rng.normal()).max(0.2);
            mem_drift += 0.02 * rng.normal();
            let m = mem_base * (1.0 + 0.1 * r / scale) + mem_drift * 10.0 + 5.0 * rng.normal();
            req.push(Sample { ts, value: r });
            cpu.push(Sample {
                ts,
                value: c.max(0.0),
            });
            mem.push(Sample {
                ts,
                value: m.max(1.0),
            });
        }
        for (metric, samples, unit) in [
            ("requests", req, "req/s"),
            ("cpu", cpu, "cores"),
            ("memory", mem, "MiB"),
        ] {
            let mut labels = Labels::new();
            labels.insert("synthetic".into(), "true".into());
            labels.insert("archetype".into(), arch.name().into());
            labels.insert("unit".into(), unit.into());
            let key = SeriesKey::new(workload.clone(), MetricName::new(metric)?);
            out.push(Series::new(key, labels, samples)?);
        }
    }
    Ok(out)
}

/// Writes series in the long CSV shape `timestamp,app,metric,value` (ISO-8601 UTC timestamps).
pub fn write_long_csv(series: &[Series], mut w: impl Write) -> io::Result<()> {
    writeln!(w, "timestamp,app,metric,value")?;
    for s in series {
        for p in s.samples() {
            writeln!(
                w,
                "{},{},{},{:.6}",
                format_iso8601(p.ts),
                s.key.workload,
                s.key.metric,
                p.value
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_is_labelled_deterministic_and_seasonal() {
        let cfg = DemoConfig {
            workloads: 5,
            days: 14,
            ..DemoConfig::default()
        };
        let a = demo_fleet(&cfg).unwrap();
        let b = demo_fleet(&cfg).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 15);
        assert!(a
            .iter()
            .all(|s| s.labels.get("synthetic").map(String::as_str) == Some("true")));
        assert_eq!(a[0].len(), 14 * 288);
        // The web workload's requests repeat daily: lag-288 autocorrelation is high.
        let acf = prescale_math::autocorrelation(&a[0].values(), 288).unwrap();
        assert!(acf > 0.7, "acf {acf}");
    }
}
