//! The known answers of the fleet gbm's exogenous inputs on a larger synthetic fleet, as figures:
//! held-out MASE of downstream series whose demand is their upstream's two steps later, with and
//! without the upstream as predictor (per step ahead too), and of series with campaigns (demand
//! ×1.8), with and without the campaigns as events, during campaigns and over all steps. Usage:
//! `cargo run --release -p prescale-forecast --example exog_known_answers [-- pairs=24 n=2400]`.

#[path = "../tests/support/exog_fleet.rs"]
#[allow(dead_code)]
mod exog_fleet;

use exog_fleet::*;
use prescale_forecast::fleet::{Exog, FleetConfig};
use std::time::Instant;

fn arg(args: &[String], key: &str, default: usize) -> usize {
    args.iter()
        .find_map(|a| a.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = arg(&args, "pairs", 24);
    let n = arg(&args, "n", 2400);
    let horizon = arg(&args, "horizon", 12);
    let train_count = count * 2 / 3;
    let from = n * 2 / 3;
    let cfg = FleetConfig {
        horizon,
        ..FleetConfig::default()
    };
    println!(
        "{count} series of {n} steps (season {SEASON}), {train_count} train the models, the others \
         are scored from step {from} on, {horizon} steps ahead; default training settings"
    );

    let p = pairs(count, n);
    let series: Vec<&[f64]> = p[..train_count]
        .iter()
        .flat_map(|x| [x.upstream.as_slice(), x.downstream.as_slice()])
        .collect();
    let exog = |i: usize, cut: usize| match i % 2 {
        1 => predictor_input(&p[i / 2].upstream[..cut]),
        _ => Exog::default(),
    };
    let t = Instant::now();
    let with = train(&series, Some(&exog), n, &cfg);
    let without = train(&series, None, n, &cfg);
    println!(
        "predictor: two models trained in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let held = &p[train_count..];
    let mean = |f: &dyn Fn(&Pair) -> f64| held.iter().map(f).sum::<f64>() / held.len() as f64;
    let step = |j: usize| move |t: usize| (t - from) % horizon == j;
    println!("  step  with predictor  without");
    for j in 0..horizon {
        // origins every `horizon` steps from `from`: step j of each is `from + j (mod horizon)`
        let only = step(j);
        let a = mean(&|x| {
            scaled_error(
                &with,
                &x.downstream,
                Some(&predictor_input(&x.upstream)),
                from,
                horizon,
                &only,
            )
        });
        let b = mean(&|x| scaled_error(&without, &x.downstream, None, from, horizon, &only));
        println!("  {:>4}  {a:>14.3}  {b:>7.3}", j + 1);
    }
    let all = |_: usize| true;
    let a = mean(&|x| {
        scaled_error(
            &with,
            &x.downstream,
            Some(&predictor_input(&x.upstream)),
            from,
            1,
            &all,
        )
    });
    let b = mean(&|x| scaled_error(&without, &x.downstream, None, from, 1, &all));
    let c = mean(&|x| scaled_error(&with, &x.downstream, None, from, 1, &all));
    println!(
        "  mean MASE over every origin: with predictor {a:.3}, without {b:.3} ({:+.1} %); the model \
         with predictor features, none given: {c:.3}",
        (a / b - 1.0) * 100.0
    );

    let set = campaigned(count, n);
    let series: Vec<&[f64]> = set[..train_count]
        .iter()
        .map(|s| s.values.as_slice())
        .collect();
    let exog = |i: usize, cut: usize| campaign_input(&set[i].campaigns, cut);
    let t = Instant::now();
    let with = train(&series, Some(&exog), n, &cfg);
    let without = train(&series, None, n, &cfg);
    println!(
        "campaigns: two models trained in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let held = &set[train_count..];
    let score = |during: bool, events: bool| {
        held.iter()
            .map(|s| {
                let ex = campaign_input(&s.campaigns, s.values.len());
                let inside = |t: usize| s.campaigns.iter().any(|&(x, y)| x <= t && t <= y);
                let keep = |t: usize| !during || inside(t);
                let model = if events { &with } else { &without };
                scaled_error(model, &s.values, events.then_some(&ex), from, 1, &keep)
            })
            .sum::<f64>()
            / held.len() as f64
    };
    let (a, b) = (score(true, true), score(true, false));
    let (c, d) = (score(false, true), score(false, false));
    println!(
        "  MASE during campaigns: with events {a:.3}, without {b:.3} ({:+.1} %); all steps: {c:.3} vs {d:.3} ({:+.1} %)",
        (a / b - 1.0) * 100.0,
        (c / d - 1.0) * 100.0
    );
}
