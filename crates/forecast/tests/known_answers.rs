//! Known-answer tests through the public API.

#[path = "support/synthetic.rs"]
mod synthetic;

use prescale_core::Level;
use prescale_forecast::{forecaster, ModelConfig, ModelKind};
use synthetic::Lcg;

fn level90() -> Level {
    Level::new(90.0).unwrap()
}

#[test]
fn naive_and_seasonal_naive_are_exact() {
    let pattern = [5.0, 1.0, 3.0, 7.0];
    let y: Vec<f64> = (0..200)
        .map(|t| pattern[t % 4] + (t / 4) as f64 * 0.0)
        .collect();
    let cfg = ModelConfig::new(Some(4), 6).unwrap();
    let f = forecaster(ModelKind::Naive, &cfg).fit(&y).unwrap();
    let p = f.predict(6, level90()).unwrap();
    assert_eq!(p.point, vec![7.0; 6]);
    let f = forecaster(ModelKind::SeasonalNaive, &cfg).fit(&y).unwrap();
    let p = f.predict(6, level90()).unwrap();
    assert_eq!(p.point, vec![5.0, 1.0, 3.0, 7.0, 5.0, 1.0]);
    // an exact pattern leaves no residuals: the band collapses onto the point
    assert_eq!(p.lower, p.point);
    assert_eq!(p.upper, p.point);
    assert_eq!(f.describe().spec, "SNaive[4]");
    // without a season, seasonal naive is naive
    let cfg = ModelConfig::new(None, 6).unwrap();
    let f = forecaster(ModelKind::SeasonalNaive, &cfg).fit(&y).unwrap();
    assert_eq!(f.predict(2, level90()).unwrap().point, vec![7.0; 2]);
}

#[test]
fn ets_finds_short_seasonal_pattern() {
    let mut rng = Lcg(7);
    let pattern = [3.0, 1.0, -2.0, -4.0, 0.5, 1.5];
    let y: Vec<f64> = (0..600)
        .map(|t| 50.0 + pattern[t % 6] + 0.2 * rng.normal())
        .collect();
    let cfg = ModelConfig::new(Some(6), 12).unwrap();
    let f = forecaster(ModelKind::Ets, &cfg).fit(&y).unwrap();
    let info = f.describe();
    assert!(
        info.spec.ends_with(",A)[6]") || info.spec.ends_with(",M)[6]"),
        "{}",
        info.spec
    );
    let p = f.predict(12, level90()).unwrap();
    for (j, v) in p.point.iter().enumerate() {
        let want = 50.0 + pattern[(600 + j) % 6];
        assert!((v - want).abs() < 0.5, "step {j}: {v} vs {want}");
    }
}

#[test]
fn ets_follows_a_linear_trend() {
    let mut rng = Lcg(11);
    let y: Vec<f64> = (0..500)
        .map(|t| 10.0 + 0.5 * t as f64 + 0.1 * rng.normal())
        .collect();
    let cfg = ModelConfig::new(None, 10).unwrap();
    let f = forecaster(ModelKind::Ets, &cfg).fit(&y).unwrap();
    let p = f.predict(10, level90()).unwrap();
    let want = 10.0 + 0.5 * 509.0;
    assert!(
        (p.point[9] - want).abs() < 1.5,
        "{} vs {want} ({})",
        p.point[9],
        f.describe().spec
    );
}

#[test]
fn mstl_recovers_a_daily_pattern() {
    let mut rng = Lcg(3);
    let m = 48;
    let shape = |t: usize| 10.0 * (2.0 * std::f64::consts::PI * (t % m) as f64 / m as f64).sin();
    let y: Vec<f64> = (0..m * 20)
        .map(|t| 100.0 + shape(t) + 0.5 * rng.normal())
        .collect();
    let cfg = ModelConfig::new(Some(m), 12).unwrap();
    let f = forecaster(ModelKind::Mstl, &cfg).fit(&y).unwrap();
    assert!(
        f.describe().spec.starts_with("MSTL[48,336]+ETS"),
        "{}",
        f.describe().spec
    );
    let p = f.predict(12, level90()).unwrap();
    for (j, v) in p.point.iter().enumerate() {
        let want = 100.0 + shape(y.len() + j);
        assert!((v - want).abs() < 1.0, "step {j}: {v} vs {want}");
    }
}

#[test]
fn theta_on_a_line_uses_half_the_slope() {
    let y: Vec<f64> = (0..300).map(|t| 1.0 + 2.0 * t as f64).collect();
    let cfg = ModelConfig::new(None, 4).unwrap();
    let f = forecaster(ModelKind::Theta, &cfg).fit(&y).unwrap();
    let p = f.predict(4, level90()).unwrap();
    for (j, v) in p.point.iter().enumerate() {
        let want = y[299] + (j + 1) as f64;
        assert!((v - want).abs() < 0.05, "{:?}", p.point);
    }
}

#[test]
fn conformal_coverage_on_iid_noise_is_near_nominal() {
    // many independent series: fit on 400 points, check the next 12 actuals against the 90% band
    for kind in [ModelKind::Naive, ModelKind::Ets] {
        let cfg = ModelConfig::new(None, 12).unwrap();
        let model = forecaster(kind, &cfg);
        let (mut inside, mut total) = (0usize, 0usize);
        for seed in 0..120u64 {
            let mut rng = Lcg(seed * 7919 + 1);
            let y: Vec<f64> = (0..412).map(|_| 20.0 + rng.normal()).collect();
            let p = model
                .fit(&y[..400])
                .unwrap()
                .predict(12, level90())
                .unwrap();
            for (j, a) in y[400..].iter().enumerate() {
                inside += usize::from(p.lower[j] <= *a && *a <= p.upper[j]);
                total += 1;
            }
        }
        let cov = inside as f64 / total as f64;
        assert!((0.86..=0.94).contains(&cov), "{kind}: coverage {cov}");
    }
}

#[test]
fn auto_describes_its_choice() {
    let mut rng = Lcg(5);
    let y: Vec<f64> = (0..800)
        .map(|t| 30.0 + 5.0 * ((t % 24) as f64 / 24.0 * std::f64::consts::TAU).sin() + rng.normal())
        .collect();
    let cfg = ModelConfig::new(Some(24), 12).unwrap();
    let f = forecaster(ModelKind::Auto, &cfg).fit(&y).unwrap();
    let info = f.describe();
    assert_eq!(info.kind, ModelKind::Auto);
    assert!(info.spec.starts_with("auto→"), "{}", info.spec);
    assert!(info.params.iter().any(|(k, _)| k == "cv_mae.naive"));
    assert_eq!(info.calibration_points, cfg.calibration_windows);
    let p = f.predict(12, level90()).unwrap();
    let naive_mae = info
        .params
        .iter()
        .find(|(k, _)| k == "cv_mae.naive")
        .map(|(_, v)| *v)
        .unwrap();
    let best = info
        .params
        .iter()
        .filter(|(k, _)| k.starts_with("cv_mae."))
        .map(|(_, v)| *v)
        .fold(f64::INFINITY, f64::min);
    assert!(best < naive_mae);
    assert_eq!(p.horizon(), 12);
}
