//! Remote-write ingest throughput of a real VictoriaMetrics on loopback, with the same payloads the
//! prescale daemon can be fed (see `prescale_remote::payload`).
//!
//! ```text
//! cargo run --release -p prescale-remote --example ingest_vs_vm -- \
//!     [--requests 100] [--series 1000] [--samples 10] [--concurrency 4]
//! ```
//! Prints one table row per system: samples/s until every request was acknowledged (VM answers 204
//! once rows are in its storage buffers), and until every sample is searchable (after
//! `/internal/force_flush`, checked with a PromQL count); `vm_rows_inserted_total` (updated by VM
//! about once a second) must grow by the sample count.

use anyhow::{bail, Context, Result};
use prescale_remote::payload::{build_payloads, send_all, PayloadSpec};
use prescale_remote::testkit::{force_flush, start_victoria_metrics, Server};
use prescale_remote::{ClientOptions, InstantAnswer, PromClient, RemoteWriter, WriterOptions};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn arg(args: &[String], name: &str, default: usize) -> Result<usize> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .with_context(|| format!("{name} needs a value"))?
            .parse()
            .with_context(|| format!("{name} must be a whole number")),
    }
}

/// `vm_rows_inserted_total{type="promremotewrite"}` from VM's own /metrics.
fn rows_inserted(vm: &Server) -> Result<u64> {
    let text = ureq::get(&format!("{}/metrics", vm.base_url))
        .call()?
        .body_mut()
        .read_to_string()?;
    Ok(text
        .lines()
        .filter(|l| l.starts_with("vm_rows_inserted_total{type=\"promremotewrite\"}"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
    let spec = PayloadSpec {
        requests: arg(&args, "--requests", 100)?,
        series: arg(&args, "--series", 1000)?,
        samples_per_series: arg(&args, "--samples", 10)?,
        start_ms: now - 6 * 3_600_000,
        step_ms: 1_000,
        seed: 42,
    };
    let concurrency = arg(&args, "--concurrency", 4)?;
    let t = Instant::now();
    let bodies = build_payloads(&spec)?;
    let build = t.elapsed();
    let total = spec.total_samples();
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    println!(
        "payload: {} requests x {} series x {} samples = {total} samples, {:.1} MiB snappy ({:.1} B/sample), built in {:.2} s",
        spec.requests,
        spec.series,
        spec.samples_per_series,
        bytes as f64 / 1_048_576.0,
        bytes as f64 / total as f64,
        build.as_secs_f64()
    );

    let vm = start_victoria_metrics().context("starting victoria-metrics")?;
    let writer = RemoteWriter::new(&vm.write_url(), WriterOptions::default())?;
    let client = PromClient::new(&vm.base_url, ClientOptions::default())?;
    let before = rows_inserted(&vm)?;
    let sent = send_all(&writer, &bodies, concurrency)?;
    // Searchable: VM makes buffered rows searchable within ~1 s; force a flush and count them.
    let mut searchable = None;
    let started_wait = Instant::now();
    while started_wait.elapsed() < Duration::from_secs(120) {
        force_flush(&vm)?;
        let count = match client.query("sum(count_over_time({series!=\"\"}[1d]))", None)? {
            InstantAnswer::Vector(v) => v.first().and_then(|s| s.sample).map(|s| s.value),
            _ => None,
        };
        if count == Some(total as f64) {
            searchable = Some(sent.elapsed + started_wait.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let Some(searchable) = searchable else {
        bail!("VictoriaMetrics did not hold {total} searchable samples within 120 s");
    };
    // VM publishes this counter about once a second: poll it as a cross-check, not as a timer.
    let mut inserted = 0;
    for _ in 0..100 {
        inserted = rows_inserted(&vm)? - before;
        if inserted >= total as u64 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if inserted != total as u64 {
        bail!("vm_rows_inserted_total grew by {inserted}, expected {total}");
    }

    let rate = |d: Duration| total as f64 / d.as_secs_f64();
    println!();
    println!("| system | senders | samples | acked in | samples/s (acked) | searchable in | samples/s (searchable) |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| VictoriaMetrics 1.79 | {concurrency} | {total} | {:.3} s | {:.0} | {:.3} s | {:.0} |",
        sent.elapsed.as_secs_f64(),
        rate(sent.elapsed),
        searchable.as_secs_f64(),
        rate(searchable)
    );
    if sent.retries > 0 {
        println!("({} retried requests)", sent.retries);
    }
    Ok(())
}
