//! tick_bench: fleet tick time and memory per workload for N synthetic workloads.
//!
//! Builds N controllers (1-minute step, a 60-step season, seeded noise and bursts), warms each one
//! with `--history` steps of samples in a single tick (the daemon's first, seeding tick: the
//! seasonal forecaster is fitted there), then times whole-fleet ticks, one per simulated minute,
//! first on 1 thread and then on each further `--threads` count, continuing the same timeline.
//! Every phase spans `--ticks` ticks (default `refit_every`, so each phase holds the same number of
//! scheduled refit ticks). Prints a report and one `ROW` line per thread count for bench/tick.sh:
//! `ROW workloads sizing threads mean_s worst_s per_workload_us rss_per_workload_bytes history_steps
//! refit_tick_s shift_tick_s warm_s cpu_s_per_tick fits_per_tick rss_end_per_workload_bytes`
//! (refit/shift: mean wall time of the ticks with / without forecaster refits; CPU: user + system
//! time of the process per tick; sizing `replicas+gbm` / `resources+gbm` with `--fleet`; RSS after
//! the seeding tick and after the timed ticks).
//!
//! `--fleet K` trains the fleet gbm once (as the daemon's learn loop does: one model per step
//! length, shared by every controller) on K workloads' histories spread over the fleet, before the
//! seeding tick, and offers it to every controller's `auto`, so every fit weighs it.
//!
//! Every workload is seeded on the same tick with the same history, as the daemon's first tick
//! does; each controller's own refit phase (stable per workload id) spreads the scheduled refits
//! over the ticks. `TICK_TRACE=1` prints each timed tick's wall time and fits.
//!
//! `--resources` also sizes CPU and memory per replica with every decision (`[workload.resources]`,
//! use series derived from the demand: 0.05 + 0.004/unit cores, 200 MiB + 1 MiB/unit), so its
//! cost shows against a run without it.
//!
//! `--shadows P` gives P% of the workloads two shadows (`[[workload.shadow]]`): one deciding on the
//! acting forecast (policy `hpa@0.6`, a lane), one with a forecaster of its own (lead 5 min), so
//! the cost of a shadow per workload shows against a run without.
//!
//! Run: `cargo run --release -p prescale-control --example tick_bench -- 10000 --threads 1,2`

use prescale_control::{
    Controller, Current, DecisionRecord, Fleet, Outcome, ResourceKind, ResourceSpec,
    ResourceTarget, ShadowSpec, Shadows, Usage, WorkloadSpec,
};
use prescale_core::{MetricName, Sample, Timestamp, WorkloadId};
use prescale_forecast::RollingForecaster;
use prescale_forecast::{forecaster, ModelConfig, ModelKind};
use prescale_policy::{Bounds, BuildContext, PolicyInput};
use std::time::{Duration, Instant};

const STEP_MS: i64 = 60_000;

#[derive(Debug, Clone)]
struct Args {
    workloads: usize,
    threads: Vec<usize>,
    ticks: Option<usize>,
    history: usize,
    season: usize,
    refit: usize,
    samples_per_step: i64,
    seed: u64,
    warm_threads: usize,
    split_sample: usize,
    resources: bool,
    /// Train the fleet gbm on this many workloads' histories before the seeding tick and hand it to
    /// every controller (0: no fleet model).
    fleet: usize,
    /// Percent of the workloads with two shadows.
    shadows: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: tick_bench N [--threads 1,2] [--ticks T] [--history 4032] [--season 60] \
         [--refit 12] [--samples-per-step 4] [--seed 1] [--warm-threads K] [--split-sample 20] \
         [--resources] [--fleet K] [--shadows P]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let cores = Fleet::new().threads();
    let mut a = Args {
        workloads: 1000,
        threads: vec![1, cores],
        ticks: None,
        history: 4032,
        season: 60,
        refit: 12,
        samples_per_step: 4,
        seed: 1,
        warm_threads: cores,
        split_sample: 20,
        resources: false,
        fleet: 0,
        shadows: 0,
    };
    let mut it = std::env::args().skip(1);
    let num =
        |v: Option<String>| -> usize { v.and_then(|s| s.parse().ok()).unwrap_or_else(|| usage()) };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--threads" => {
                let v = it.next().unwrap_or_else(|| usage());
                a.threads = v
                    .split(',')
                    .map(|t| t.trim().parse().unwrap_or_else(|_| usage()))
                    .collect();
            }
            "--ticks" => a.ticks = Some(num(it.next())),
            "--history" => a.history = num(it.next()),
            "--season" => a.season = num(it.next()),
            "--refit" => a.refit = num(it.next()),
            "--samples-per-step" => a.samples_per_step = num(it.next()).max(1) as i64,
            "--seed" => a.seed = num(it.next()) as u64,
            "--warm-threads" => a.warm_threads = num(it.next()),
            "--split-sample" => a.split_sample = num(it.next()),
            "--resources" => a.resources = true,
            "--fleet" => a.fleet = num(it.next()),
            "--shadows" => a.shadows = num(it.next()).min(100),
            "-h" | "--help" => usage(),
            n => a.workloads = n.parse().unwrap_or_else(|_| usage()),
        }
    }
    // The 1-thread baseline always runs first: the other counts are reported against it.
    a.threads.retain(|&t| t != 1);
    a.threads.insert(0, 1);
    a.threads.dedup();
    a
}

/// splitmix64: a seeded, stateless hash so demand(i, k) is a pure function.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn unit(seed: u64, a: u64, b: u64) -> f64 {
    (mix(seed ^ mix(a.wrapping_mul(0x1000_0001) ^ mix(b))) >> 11) as f64 / (1u64 << 53) as f64
}

/// One synthetic workload's shape: level, seasonal amplitude and phase, noise, burst rate.
#[derive(Debug, Clone, Copy)]
struct Shape {
    level: f64,
    amp: f64,
    phase: f64,
    noise: f64,
    burst_rate: f64,
}

impl Shape {
    fn of(seed: u64, i: usize) -> Shape {
        let u = |j: u64| unit(seed, i as u64, u64::MAX - j);
        Shape {
            level: 5.0 * 100f64.powf(u(0)), // 5 .. 500, log-uniform
            amp: 0.2 + 0.6 * u(1),
            phase: u(2),
            noise: 0.03 + 0.1 * u(3),
            burst_rate: 0.02 * u(4),
        }
    }
}

/// Demand of workload `i` at sample `j` of step `k`: a sine season with a sharper daily-like
/// peak, multiplicative noise and 8-step bursts (x1.5 to x3) starting at random blocks.
fn demand(seed: u64, i: usize, season: usize, k: i64, j: i64) -> f64 {
    let s = Shape::of(seed, i);
    let x = (k as f64 / season as f64 + s.phase) * std::f64::consts::TAU;
    let seasonal = 1.0 + s.amp * (0.7 * x.sin() + 0.3 * (2.0 * x).sin().max(0.0));
    let block = k.div_euclid(8) as u64;
    let burst = if unit(seed, i as u64, block ^ 0xB0B0) < s.burst_rate * 8.0 {
        1.5 + 1.5 * unit(seed, i as u64, block ^ 0xCAFE)
    } else {
        1.0
    };
    let u1 = unit(seed, i as u64, (k as u64) << 4 | j as u64).max(1e-12);
    let u2 = unit(seed ^ 0x5555, i as u64, (k as u64) << 4 | j as u64);
    let gauss = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    (s.level * seasonal * burst * (1.0 + s.noise * gauss)).max(0.0)
}

/// Samples of steps `from..to` (`samples_per_step` each, evenly spaced in the step).
fn window(a: &Args, i: usize, from: i64, to: i64) -> Vec<Sample> {
    let per = a.samples_per_step;
    (from.max(0)..to)
        .flat_map(|k| {
            (0..per).map(move |j| Sample {
                ts: Timestamp(k * STEP_MS + j * (STEP_MS / per)),
                value: demand(a.seed, i, a.season, k, j),
            })
        })
        .collect()
}

/// The aligned (per-step mean) history the controller of `i` builds from [`window`].
fn aligned(a: &Args, i: usize, from: i64, to: i64) -> Vec<f64> {
    let per = a.samples_per_step;
    (from..to)
        .map(|k| {
            (0..per)
                .map(|j| demand(a.seed, i, a.season, k, j))
                .sum::<f64>()
                / per as f64
        })
        .collect()
}

fn spec(a: &Args, i: usize) -> WorkloadSpec {
    let s = Shape::of(a.seed, i);
    // About 20 replicas at the seasonal peak without bursts.
    let peak = s.level * (1.0 + s.amp);
    let mut w = WorkloadSpec::new(
        WorkloadId::new(format!("w{i:06}")).unwrap_or_else(|e| panic!("id: {e}")),
        MetricName::new("rps").unwrap_or_else(|e| panic!("metric: {e}")),
        peak / 20.0,
    );
    w.step = Duration::from_millis(STEP_MS as u64);
    w.season = Some(Duration::from_millis(STEP_MS as u64 * a.season as u64));
    w.refit_every = a.refit;
    w.history_steps = a.history;
    w.max = 200;
    if a.resources {
        let target = |kind: ResourceKind, name: &str| {
            let metric = MetricName::new(name).unwrap_or_else(|e| panic!("metric: {e}"));
            ResourceTarget::with_defaults(kind, metric, 1.0, None, None)
        };
        w.resources = Some(ResourceSpec {
            cpu: Some(target(ResourceKind::Cpu, "cpu_cores")),
            memory: Some(target(ResourceKind::Memory, "rss_bytes")),
            ..ResourceSpec::default()
        });
    }
    w
}

/// One tick of a slot's controller on `w`; with `--resources` the use windows are derived from
/// the demand samples (same timestamps).
fn tick(
    a: &Args,
    c: &mut Controller,
    shadows: Option<&mut Shadows>,
    w: &[Sample],
    now: Timestamp,
) -> DecisionRecord {
    if let Some(s) = shadows {
        return s.tick(c, w, &[], now, &Current::default());
    }
    if !a.resources {
        return c.tick(w, now, None);
    }
    const MIB: f64 = 1024.0 * 1024.0;
    let derive = |f: fn(f64) -> f64| -> Vec<Sample> {
        w.iter()
            .map(|s| Sample {
                ts: s.ts,
                value: f(s.value),
            })
            .collect()
    };
    let cpu = derive(|d| 0.05 + 0.004 * d);
    let memory = derive(|d| 200.0 * MIB + MIB * d);
    let usage = [
        Usage {
            kind: ResourceKind::Cpu,
            window: &cpu,
        },
        Usage {
            kind: ResourceKind::Memory,
            window: &memory,
        },
    ];
    c.tick_full(w, &usage, now, &Current::default())
}

fn vm_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// User + system CPU time of the whole process (all threads, exited ones included), 10 ms
/// resolution: robust to other processes sharing the cores, unlike wall time.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = s.get(s.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

struct Slot {
    i: usize,
    controller: Controller,
    shadows: Option<Shadows>,
    window: Vec<Sample>,
}

struct Phase {
    threads: usize,
    /// (wall s, fits, process CPU s) per tick.
    ticks: Vec<(f64, usize, f64)>,
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

fn main() {
    let a = parse_args();
    let n = a.workloads;
    let ticks = a.ticks.unwrap_or(a.refit).max(1);
    println!(
        "tick_bench: {n} workloads, step 60 s, season {} steps, history {} steps, refit every {}, \
         {} samples/step, {} ticks per phase, threads {:?}, seed {}, {}",
        a.season,
        a.history,
        a.refit,
        a.samples_per_step,
        ticks,
        a.threads,
        a.seed,
        if a.resources {
            "replicas, CPU and memory sized"
        } else {
            "replicas sized"
        }
    );

    // Build and warm.
    let rss0 = vm_rss_bytes();
    let t = Instant::now();
    let mut slots: Vec<Slot> = (0..n)
        .map(|i| {
            let mut controller =
                Controller::new(spec(&a, i)).unwrap_or_else(|e| panic!("spec {i}: {e}"));
            let shadows = (i * 100 < n * a.shadows).then(|| {
                let shadow = |name: &str| ShadowSpec {
                    name: name.into(),
                    policy: None,
                    budget: None,
                    headroom: None,
                    lead: None,
                    model: None,
                };
                let specs = vec![
                    ShadowSpec {
                        policy: Some("hpa@0.6".parse().unwrap_or_else(|e| panic!("{e}"))),
                        ..shadow("hpa")
                    },
                    ShadowSpec {
                        lead: Some(Duration::from_secs(300)),
                        ..shadow("lead-5m")
                    },
                ];
                Shadows::new(&mut controller, specs).unwrap_or_else(|e| panic!("shadows {i}: {e}"))
            });
            Slot {
                i,
                controller,
                shadows,
                window: Vec::new(),
            }
        })
        .collect();
    let build_s = t.elapsed().as_secs_f64();
    let rss_built = vm_rss_bytes();
    // The fleet gbm, the way the daemon's learn loop makes it: one model per step length, trained
    // once on the workloads' step histories and shared (one `Arc`) by every controller's `auto`.
    // It is trained before the seeding tick (as after a restart that loads the saved model), so
    // every workload's first fit already weighs it; its training rows are capped
    // (`FleetConfig::max_rows`), so a sample of `--fleet K` histories, spread evenly over the
    // fleet, gives a model of the same size as all of them would.
    let fleet_input = (a.fleet > 0).then(|| {
        use prescale_forecast::fleet::{FleetConfig, FleetInput, FleetSeries, GbmFleet};
        let k = a.fleet.min(n);
        let picked: Vec<usize> = (0..k).map(|j| j * n / k).collect();
        let histories: Vec<Vec<f64>> = picked
            .iter()
            .map(|&i| aligned(&a, i, 0, a.history as i64))
            .collect();
        let names: Vec<String> = picked.iter().map(|i| format!("w{i:06}")).collect();
        let horizon = slots
            .iter()
            .map(|s| s.controller.forecast_horizon())
            .max()
            .unwrap_or(1);
        let series: Vec<FleetSeries<'_>> = histories
            .iter()
            .zip(&names)
            .map(|(values, name)| FleetSeries {
                name,
                values,
                season: Some(a.season),
                timing: None,
                context: &[],
            })
            .collect();
        let t = Instant::now();
        let gbm = GbmFleet::train(
            &series,
            &FleetConfig {
                horizon,
                ..FleetConfig::default()
            },
        )
        .unwrap_or_else(|e| panic!("training the fleet gbm: {e}"));
        let train_s = t.elapsed().as_secs_f64();
        println!(
            "fleet: gbm trained on {} workloads' {}-step histories ({} rows, {} trees, horizon {horizon}) \
             in {train_s:.2} s, offered to all {n} controllers' auto from the seeding tick",
            gbm.series,
            a.history,
            gbm.rows,
            gbm.trees()
        );
        FleetInput {
            gbm: std::sync::Arc::new(gbm),
            timing: None,
            context: Vec::new(),
            rnn: Vec::new(),
            exog: None,
        }
    });
    if let Some(input) = &fleet_input {
        for s in slots.iter_mut() {
            s.controller.set_fleet(Some(input.clone()));
        }
    }
    // The training histories are freed; what stays is the shared model.
    let rss_fleet = vm_rss_bytes();
    let h = a.history as i64;
    let t = Instant::now();
    let warm = Fleet::with_threads(a.warm_threads).run(&mut slots, |s| {
        let w = window(&a, s.i, 0, h);
        tick(
            &a,
            &mut s.controller,
            s.shadows.as_mut(),
            &w,
            Timestamp(h * STEP_MS + 1_000),
        )
    });
    let warm_s = t.elapsed().as_secs_f64();
    let warm_panics = warm.iter().filter(|o| o.is_panicked()).count();
    let warm_fits: usize = slots.iter().map(|s| s.controller.fits()).sum();
    let forecasting = warm
        .iter()
        .filter(|o| matches!(o, Outcome::Done(r) if r.forecast.is_some()))
        .count();
    drop(warm);
    let rss_warm = vm_rss_bytes();
    println!(
        "build {build_s:.2} s; warm-up (one seeding tick of {} steps each, {} threads) {warm_s:.2} s \
         = {:.0} µs/workload; fits {warm_fits}, forecasting {forecasting}/{n}, panics {warm_panics}",
        a.history,
        a.warm_threads,
        warm_s / n as f64 * 1e6
    );

    // Steady-state ticks, one per simulated minute, continuing the timeline across phases.
    let mut k = h;
    let mut phases = Vec::new();
    for &threads in &a.threads {
        let fleet = Fleet::with_threads(threads);
        let mut phase = Phase {
            threads,
            ticks: Vec::new(),
        };
        for _ in 0..ticks {
            k += 1;
            // The daemon's steady window: the last few steps and the staleness span (6 steps).
            for s in slots.iter_mut() {
                s.window = window(&a, s.i, k - 6, k);
            }
            let fits_before: usize = slots.iter().map(|s| s.controller.fits()).sum();
            let now = Timestamp(k * STEP_MS + 1_000);
            let cpu0 = cpu_seconds();
            let t = Instant::now();
            let out: Vec<Outcome<DecisionRecord>> = fleet.run(&mut slots, |s| {
                let w = std::mem::take(&mut s.window);
                tick(&a, &mut s.controller, s.shadows.as_mut(), &w, now)
            });
            let dt = t.elapsed().as_secs_f64();
            let cpu = match (cpu0, cpu_seconds()) {
                (Some(a), Some(b)) => b - a,
                _ => f64::NAN,
            };
            let fits_after: usize = slots.iter().map(|s| s.controller.fits()).sum();
            let panics = out.iter().filter(|o| o.is_panicked()).count();
            assert_eq!(panics, 0, "a workload panicked");
            drop(out);
            if std::env::var_os("TICK_TRACE").is_some() {
                eprintln!(
                    "tick k={k} threads={threads} {dt:.3} s fits {}",
                    fits_after - fits_before
                );
            }
            phase.ticks.push((dt, fits_after - fits_before, cpu));
        }
        phases.push(phase);
    }
    let rss_end = vm_rss_bytes();
    let hist: usize = slots.iter().map(|s| s.controller.history_len()).sum();
    let hist_per = hist as f64 / n.max(1) as f64;

    let fmt_kib =
        |b: Option<f64>| b.map_or("n/a".to_string(), |b| format!("{:.1} KiB", b / 1024.0));
    let per_workload = |from: Option<u64>, to: Option<u64>| match (from, to) {
        (Some(f), Some(t)) => Some(t.saturating_sub(f) as f64 / n.max(1) as f64),
        _ => None,
    };
    let rss_ctrl = per_workload(rss0, rss_built);
    if fleet_input.is_some() {
        println!(
            "fleet: RSS grew {} per workload while training (histories and rows freed, the model \
             kept; counted in the figures below, so they overstate a controller's share by at most that)",
            fmt_kib(per_workload(rss_built, rss_fleet))
        );
    }
    let rss_per = per_workload(rss0, rss_warm);
    let rss_per_end = per_workload(rss0, rss_end);

    println!(
        "memory (VmRSS delta / N): built {}, after warm-up {}, after the timed ticks {}; \
         history held {hist_per:.0} steps = {:.1} KiB of f64 per workload",
        fmt_kib(rss_ctrl),
        fmt_kib(rss_per),
        fmt_kib(rss_per_end),
        hist_per * 8.0 / 1024.0
    );

    let base = phases
        .first()
        .and_then(|p| mean(&p.ticks.iter().map(|t| t.0).collect::<Vec<_>>()));
    for p in &phases {
        let all: Vec<f64> = p.ticks.iter().map(|t| t.0).collect();
        let refit: Vec<f64> = p.ticks.iter().filter(|t| t.1 > 0).map(|t| t.0).collect();
        let shift: Vec<f64> = p.ticks.iter().filter(|t| t.1 == 0).map(|t| t.0).collect();
        let m = mean(&all).unwrap_or(0.0);
        let worst = all.iter().copied().fold(0.0, f64::max);
        let fits: usize = p.ticks.iter().map(|t| t.1).sum();
        let cpu = mean(&p.ticks.iter().map(|t| t.2).collect::<Vec<_>>()).unwrap_or(f64::NAN);
        println!(
            "threads {}: mean tick {m:.3} s, worst {worst:.3} s, {:.2} µs/workload/tick, CPU {cpu:.3} s/tick; \
             ticks with refits {} (mean {:.3} s, {fits} fits in all), without {} (mean {:.4} s); \
             speed-up x{:.2}",
            p.threads,
            m / n as f64 * 1e6,
            refit.len(),
            mean(&refit).unwrap_or(0.0),
            shift.len(),
            mean(&shift).unwrap_or(0.0),
            base.map_or(1.0, |b| b / m.max(f64::MIN_POSITIVE)),
        );
        println!(
            "ROW {n} {}{} {} {m:.6} {worst:.6} {:.3} {:.0} {hist_per:.0} {:.6} {:.6} {warm_s:.3} {cpu:.3} {:.1} {:.0}",
            if a.resources {
                "resources"
            } else {
                "replicas"
            },
            if a.fleet > 0 { "+gbm" } else { "" },
            p.threads,
            m / n as f64 * 1e6,
            rss_per.unwrap_or(0.0),
            mean(&refit).unwrap_or(0.0),
            mean(&shift).unwrap_or(0.0),
            fits as f64 / p.ticks.len().max(1) as f64,
            rss_per_end.unwrap_or(0.0),
        );
    }
    split(&a, &slots);
}

/// The cost split on a sample of workloads, single thread: one `auto` fit on the fitting window,
/// one `RollingForecaster` step with and without a refit (shift + residual correction), one
/// predictive policy decision, each forecasting model's fit alone, and `auto` on shorter windows.
fn split(a: &Args, slots: &[Slot]) {
    /// Fitting windows the `auto` fit is also timed on.
    const WINDOWS: [usize; 3] = [1008, 2016, 4032];
    let m = a.split_sample.min(slots.len());
    if m == 0 {
        return;
    }
    let h = a.history as i64;
    let (mut fit, mut shift, mut refit_step, mut policy) = (0.0, 0.0, 0.0, 0.0);
    let (mut shift_n, mut refit_n) = (0usize, 0usize);
    let mut by_kind = [0.0; ModelKind::ALL.len()];
    let mut by_len = [0.0; WINDOWS.len()];
    for s in &slots[..m] {
        let spec = spec(a, s.i);
        let sim = spec.rolling();
        let history = aligned(a, s.i, 0, h + 2 * a.refit as i64);
        let cfg = ModelConfig {
            season: sim.season,
            max_horizon: sim.refit_every + sim.lead,
            ..ModelConfig::default()
        };
        let model = forecaster(ModelKind::Auto, &cfg);
        let y = &history[..a.history];
        let t = Instant::now();
        let ok = model
            .fit(y)
            .and_then(|f| f.predict(cfg.max_horizon, sim.level))
            .is_ok();
        fit += t.elapsed().as_secs_f64();
        assert!(ok, "fit failed");
        let mut rf = RollingForecaster::new(&sim);
        let _ = rf.at(y);
        let mut last = None;
        for end in a.history + 1..=history.len() {
            let before = rf.fits();
            let t = Instant::now();
            last = rf.at(&history[..end]);
            let dt = t.elapsed().as_secs_f64();
            if rf.fits() > before {
                refit_step += dt;
                refit_n += 1;
            } else {
                shift += dt;
                shift_n += 1;
            }
        }
        let kind = spec.policy_kind().unwrap_or_else(|e| panic!("{e}"));
        let bounds = Bounds::new(spec.min, spec.max).unwrap_or_else(|e| panic!("{e}"));
        let mut p = kind
            .build(&BuildContext {
                bounds,
                step_seconds: 60.0,
                peak_need: spec.max,
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let reps = 200;
        let t = Instant::now();
        for r in 0..reps {
            let end = history.len() - reps + r;
            let input = PolicyInput {
                step: r,
                step_seconds: 60.0,
                demand: history[end - 1],
                history: &history[..end],
                ready: 5,
                requested: 5,
                capacity_per_replica: spec.capacity_per_replica,
                lead_steps: spec.decision_lead_steps(),
                forecast: last.as_ref(),
                lookahead: None,
            };
            std::hint::black_box(p.decide(&input));
        }
        policy += t.elapsed().as_secs_f64() / reps as f64;
        // local kinds only: the fleet kinds need a fleet model (timed above when `--fleet` is given)
        for (slot, kind) in ModelKind::ALL
            .into_iter()
            .enumerate()
            .filter(|(_, k)| !k.is_fleet())
        {
            let model = forecaster(kind, &cfg);
            let t = Instant::now();
            let ok = model
                .fit(y)
                .and_then(|f| f.predict(cfg.max_horizon, sim.level))
                .is_ok();
            by_kind[slot] += t.elapsed().as_secs_f64();
            assert!(ok, "{kind} fit failed");
        }
        for (slot, len) in WINDOWS.into_iter().enumerate() {
            let y = &history[a.history.saturating_sub(len)..a.history];
            let t = Instant::now();
            let ok = model
                .fit(y)
                .and_then(|f| f.predict(cfg.max_horizon, sim.level))
                .is_ok();
            by_len[slot] += t.elapsed().as_secs_f64();
            assert!(ok, "auto fit on {len} failed");
        }
    }
    let us = |x: f64, k: usize| x / k.max(1) as f64 * 1e6;
    println!(
        "cost split ({m} workloads, 1 thread): auto fit+predict on {} steps {:.0} µs; \
         RollingForecaster step with refit {:.0} µs ({refit_n}), without (shift) {:.2} µs ({shift_n}); \
         predictive policy decide {:.2} µs",
        a.history,
        us(fit, m),
        us(refit_step, refit_n),
        us(shift, shift_n),
        us(policy, m),
    );
    let kinds: Vec<String> = ModelKind::ALL
        .iter()
        .zip(by_kind)
        .map(|(k, t)| format!("{k} {:.0}", us(t, m)))
        .collect();
    println!(
        "fit+predict by model on {} steps, µs: {}",
        a.history,
        kinds.join(", ")
    );
    let lens: Vec<String> = WINDOWS
        .iter()
        .zip(by_len)
        .filter(|(len, _)| **len <= a.history)
        .map(|(len, t)| format!("{len} steps {:.0}", us(t, m)))
        .collect();
    println!(
        "auto fit+predict by fitting window, µs: {}",
        lens.join(", ")
    );
}
