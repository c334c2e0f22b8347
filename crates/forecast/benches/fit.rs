//! Criterion benchmark: each model's `fit` on a 4032-point synthetic seasonal series (season 288).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use prescale_forecast::{forecaster, ModelConfig, ModelKind};

fn series(n: usize) -> Vec<f64> {
    let mut state = 42u64;
    (0..n)
        .map(|t| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5;
            let phase = 2.0 * std::f64::consts::PI * (t % 288) as f64 / 288.0;
            50.0 + 0.002 * t as f64 + 10.0 * phase.sin() + 4.0 * noise
        })
        .collect()
}

fn bench_fit(c: &mut Criterion) {
    let y = series(4032);
    let cfg = ModelConfig {
        season: Some(288),
        max_horizon: 12,
        ..ModelConfig::default()
    };
    let mut group = c.benchmark_group("fit_4032");
    group.sample_size(20);
    for kind in ModelKind::ALL {
        let model = forecaster(kind, &cfg);
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                model
                    .fit(black_box(&y))
                    .map(|f| f.describe().calibration_points)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_fit);
criterion_main!(benches);
