//! Throughput of the ingest hot paths: remote-write decode + admit, and exposition parsing.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use prescale_ingest::admit::{Admission, AdmissionConfig, MappingRules};
use prescale_ingest::exposition::{self, Format};
use prescale_ingest::remote_write::{self, Limits};
use std::fmt::Write as _;
use std::hint::black_box;

const NOW: i64 = 1_700_000_000_000;
const SERIES: usize = 1000;
const SAMPLES: usize = 10;

/// 1000 series × 10 samples at 15 s spacing, labelled like a real Prometheus scrape: half request
/// counters, half gauges, spread over 20 jobs.
fn payload(gauges_only: bool) -> Vec<u8> {
    let mut points = Vec::with_capacity(SERIES * SAMPLES);
    for s in 0..SERIES {
        let counter = !gauges_only && s % 2 == 0;
        let name = if counter {
            "http_requests_total"
        } else {
            "process_resident_memory_bytes"
        };
        let labels = vec![
            ("job", format!("svc-{}", s % 20)),
            ("instance", format!("10.0.{}.{}:9100", s / 250, s % 250)),
            ("code", ["200", "404", "500"][s % 3].to_owned()),
            ("handler", format!("/api/v1/item/{}", s % 50)),
        ];
        for i in 0..SAMPLES {
            let ts = NOW - 150_000 + 15_000 * i as i64;
            let v = if counter {
                (s * 100 + i * 7) as f64
            } else {
                1e6 + (s * i) as f64
            };
            points.push((name, labels.clone(), ts, v));
        }
    }
    remote_write::encode(&remote_write::from_points(points))
}

/// Decode, then admit per series (`admit_request`) or flattened to raw samples (`admit`).
fn decode_and_admit(body: &[u8], admission: &mut Admission, per_series: bool) -> usize {
    let req = match remote_write::decode(body, &Limits::default()) {
        Ok(r) => r,
        Err(e) => panic!("bench payload must decode: {e}"),
    };
    let kinds = remote_write::kind_index(&req);
    if per_series {
        admission
            .admit_request(&req, &|n| kinds.get(n), NOW)
            .samples()
    } else {
        admission
            .admit_with_index(remote_write::to_raw_samples(&req), &kinds, NOW)
            .accepted
            .len()
    }
}

fn new_admission() -> Admission {
    Admission::new(AdmissionConfig::default(), MappingRules::default())
}

fn remote_write_bench(c: &mut Criterion) {
    let mixed = payload(false);
    let gauges = payload(true);
    let mut g = c.benchmark_group("remote_write_1000x10");
    g.throughput(Throughput::Elements((SERIES * SAMPLES) as u64));
    g.bench_function("decode", |b| {
        b.iter(|| {
            remote_write::decode(black_box(&mixed), &Limits::default()).map(|r| r.timeseries.len())
        })
    });
    for (label, per_series) in [("request", true), ("raw", false)] {
        g.bench_function(format!("decode_admit_{label}_new_series"), |b| {
            b.iter_batched(
                new_admission,
                |mut a| decode_and_admit(black_box(&mixed), &mut a, per_series),
                BatchSize::SmallInput,
            )
        });
        let mut warm = new_admission();
        decode_and_admit(&gauges, &mut warm, per_series);
        g.bench_function(format!("decode_admit_{label}_known_series"), |b| {
            b.iter(|| decode_and_admit(black_box(&gauges), &mut warm, per_series))
        });
    }
    g.finish();
}

/// A 10 000-line scrape body: HELP/TYPE headers, counters, gauges and histograms.
fn scrape_body() -> String {
    let mut out = String::new();
    let mut lines = 0;
    let mut family = 0;
    while lines < 10_000 {
        let kind = ["counter", "gauge", "histogram"][family % 3];
        let name = match kind {
            "counter" => format!("app_events_{family}_total"),
            _ => format!("app_metric_{family}"),
        };
        let _ = writeln!(out, "# HELP {name} Metric number {family}.");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        lines += 2;
        for s in 0..20 {
            let labels = format!(r#"method="GET",path="/api/v1/resource/{s}",status="200""#);
            if kind == "histogram" {
                for le in ["0.005", "0.01", "0.1", "1", "+Inf"] {
                    let _ = writeln!(out, r#"{name}_bucket{{{labels},le="{le}"}} {}"#, s * 3);
                }
                let _ = writeln!(out, "{name}_sum{{{labels}}} {}.25", s * 7);
                let _ = writeln!(out, "{name}_count{{{labels}}} {}", s * 3);
                lines += 7;
            } else {
                let _ = writeln!(out, "{name}{{{labels}}} {}.5 {NOW}", s * 1000 + family);
                lines += 1;
            }
        }
        family += 1;
    }
    out
}

fn exposition_bench(c: &mut Criterion) {
    let body = scrape_body();
    let lines = body.lines().count();
    let mut g = c.benchmark_group("exposition_10k_lines");
    g.throughput(Throughput::Elements(lines as u64));
    g.bench_function("parse_text", |b| {
        b.iter(|| exposition::parse(black_box(&body), Format::Text).map(|e| e.samples.len()))
    });
    g.finish();
}

criterion_group!(benches, remote_write_bench, exposition_bench);
criterion_main!(benches);
