//! Throughput of `workload_features` (samples per second) on one-metric series of 4032 and 8000
//! points with daily seasonality, noise and a trend.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use prescale_core::{MetricName, WorkloadId};
use prescale_fingerprint::{workload_features, FingerprintConfig, MetricInput, WorkloadInput};
use std::hint::black_box;

fn series(n: usize) -> Vec<f64> {
    let mut seed = 17u64;
    (0..n)
        .map(|i| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let t = i as f64;
            50.0 + 20.0 * (2.0 * std::f64::consts::PI * t / 288.0).sin() + 5.0 * noise + 0.001 * t
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let cfg = FingerprintConfig::default();
    let mut group = c.benchmark_group("workload_features");
    for n in [4032usize, 8000] {
        let input = WorkloadInput {
            workload: WorkloadId::new("bench").expect("valid id"),
            metrics: vec![MetricInput {
                metric: MetricName::new("cpu").expect("valid metric"),
                values: series(n),
            }],
        };
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &input, |b, w| {
            b.iter(|| workload_features(black_box(w), &cfg).expect("features"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
