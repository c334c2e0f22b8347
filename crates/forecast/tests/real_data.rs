//! Backtests on a few real series from ../shared/data (skipped when the data is absent).

#[path = "support/real_data.rs"]
#[allow(dead_code)]
mod real_data;

use prescale_forecast::{backtest_series, summarize, BacktestConfig, ModelKind};

#[test]
fn backtest_real_series() {
    let Some(dir) = real_data::data_dir_or_skip() else {
        return;
    };
    let nab =
        real_data::read_nab(&dir.join("nab_realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv"))
            .unwrap();
    let bb =
        real_data::read_bitbrains_cpu(&dir.join("bitbrains_gwa_t12_rnd/2013-7/306.csv")).unwrap();
    assert_eq!(nab.len(), 4032);
    assert!(bb.len() > 8000);
    let cfg = BacktestConfig {
        history: 1500,
        windows: 3,
        horizon: 12,
        season: Some(288),
        ..BacktestConfig::default()
    };
    let models = [ModelKind::Naive, ModelKind::Auto];
    let results: Vec<_> = [nab, bb]
        .iter()
        .map(|y| backtest_series(y, &cfg, &models).unwrap())
        .collect();
    for r in &results {
        assert_eq!(r.points_used, 1500 + 36);
        for s in &r.scores {
            assert_eq!((s.fits, s.failed_fits), (3, 0), "{:?}", s.kind);
            assert!(s.mase.is_finite() && s.mase > 0.0);
            assert!(s.msis.is_finite() && s.msis > 0.0);
            assert!((0.0..=1.0).contains(&s.coverage));
        }
    }
    let summary = summarize(&results);
    assert_eq!(summary.len(), 2);
    assert_eq!(summary[0].fits, 6);
    // auto must not be far worse than naive on these two well-behaved series
    assert!(
        summary[1].mean_mase < 1.5 * summary[0].mean_mase,
        "{summary:?}"
    );
}
