//! The rolling forecaster's feedback hooks: forced refits, the model label and the refit guard.

use prescale_forecast::rolling::{RollingConfig, RollingForecaster};
use rand::{rngs::StdRng, Rng, SeedableRng};

fn flat_config(guard: bool) -> RollingConfig {
    RollingConfig {
        season: None,
        min_history: 48,
        history_window: 288,
        refit_every: 12,
        guard_refits: guard,
        ..RollingConfig::default()
    }
}

fn noisy_flat(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n).map(|_| 100.0 + rng.gen_range(-2.0..2.0)).collect()
}

#[test]
fn refit_now_forces_the_next_call_to_refit() {
    let demand = noisy_flat(120, 1);
    let mut f = RollingForecaster::new(&flat_config(false));
    assert!(f.at(&demand[..60]).is_some());
    assert_eq!(f.fits(), 1);
    assert!(f.at(&demand[..61]).is_some());
    assert_eq!(f.fits(), 1, "not due yet");
    f.refit_now();
    assert!(f.refit_pending());
    assert!(f.at(&demand[..62]).is_some());
    assert_eq!(f.fits(), 2);
    assert!(!f.refit_pending());
    // The schedule restarts from the forced refit: due again 12 steps later.
    for n in 63..=73 {
        f.at(&demand[..n]);
    }
    assert_eq!(f.fits(), 2);
    f.at(&demand[..74]);
    assert_eq!(f.fits(), 3);
}

#[test]
fn model_label_names_the_fitted_model() {
    let demand = noisy_flat(80, 2);
    let mut f = RollingForecaster::new(&flat_config(false));
    assert_eq!(f.model_label(), None);
    f.at(&demand);
    let label = f.model_label().map(str::to_string);
    let label = label.as_deref().unwrap_or_default();
    assert!(!label.is_empty() && !label.contains(':') && !label.starts_with("auto"));
}

#[test]
fn the_guard_is_off_by_default_and_changes_nothing_then() {
    assert!(!RollingConfig::default().guard_refits);
    let demand = noisy_flat(200, 3);
    let mut a = RollingForecaster::new(&flat_config(false));
    let mut b = RollingForecaster::new(&RollingConfig {
        guard_tolerance: 5.0,
        ..flat_config(false)
    });
    for n in 1..=demand.len() {
        assert_eq!(a.at(&demand[..n]), b.at(&demand[..n]));
    }
    assert_eq!(a.rejected_refits(), 0);
}

/// A spike in the last step before a scheduled refit spoils the new fit (residual correction
/// off, so the path alone counts); the guard scores the new and the previous path on the first
/// half of the period, falls back to the previous path, which the spike did not touch, and does
/// better than the unguarded forecaster for the rest of the period.
#[test]
fn the_guard_falls_back_when_a_refit_does_worse() {
    let mut demand = noisy_flat(200, 4);
    let spike_at = 107; // the refits fall at steps 59, 71, 83, 95, 107, ...
    demand[spike_at] = 2000.0;
    let decided = spike_at + 1 + 6; // the first step forecast after probation
    let run = |guard: bool| {
        let mut f = RollingForecaster::new(&RollingConfig {
            residual_correction: false,
            ..flat_config(guard)
        });
        let (mut during, mut after) = (0.0, 0.0);
        for n in 60..=(spike_at + 12) {
            let fc = f.at(&demand[..n]);
            let p = fc.map(|fc| fc.point[0]).unwrap_or(f64::NAN);
            if n > spike_at && n < decided {
                during += (demand[n] - p).abs();
            } else if n >= decided {
                after += (demand[n] - p).abs();
            }
        }
        (f.rejected_refits(), during, after, f.fits())
    };
    let (rej_off, during_off, after_off, fits_off) = run(false);
    let (rej_on, during_on, after_on, fits_on) = run(true);
    println!(
        "unguarded {during_off:.1} then {after_off:.1}; guarded {during_on:.1} then {after_on:.1}, rejected {rej_on}"
    );
    assert_eq!(rej_off, 0);
    assert_eq!(rej_on, 1);
    assert_eq!(fits_on, fits_off);
    // The spoiled path is far off (noise is ±2 per step); the previous path is not.
    assert!(during_on > 6.0 * 10.0);
    assert!(after_on < 6.0 * 5.0, "guarded after fallback: {after_on}");
    assert!(after_on < after_off / 2.0, "{after_on} vs {after_off}");
}

#[test]
fn the_guard_keeps_forecasting_every_step_and_rarely_rejects_on_clean_data() {
    let demand: Vec<f64> = (0..600)
        .map(|t| 100.0 + 30.0 * (t as f64 * std::f64::consts::TAU / 24.0).sin())
        .collect();
    let cfg = RollingConfig {
        season: Some(24),
        min_history: 72,
        short_history: None,
        history_window: 480,
        guard_refits: true,
        ..RollingConfig::default()
    };
    let mut f = RollingForecaster::new(&cfg);
    for n in 72..=demand.len() {
        assert!(f.at(&demand[..n]).is_some(), "no forecast at {n}");
    }
    assert!(
        f.rejected_refits() * 4 <= f.fits(),
        "{} of {}",
        f.rejected_refits(),
        f.fits()
    );
}
