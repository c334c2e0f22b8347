//! Remote-write ingest benchmark: many requests of SERIES × SAMPLES samples from a few concurrent
//! clients over loopback into the real `/api/v1/write` endpoint, embedded store, acknowledged writes.
//!
//! `cargo run --release -p prescale-daemon --example ingest_bench -- [--requests 200] [--clients 4]
//!  [--series 1000] [--samples 10] [--sync full|normal] [--url http://host:port/api/v1/write]`
//!
//! With `--url` the same payloads go to another receiver (e.g. VictoriaMetrics' `/api/v1/write`).

use prescale_daemon::{Daemon, DaemonConfig};
use prescale_ingest::remote_write::{encode, from_points};
use std::time::{Duration, Instant};

struct Opts {
    requests: usize,
    clients: usize,
    series: usize,
    samples: usize,
    sync: String,
    url: Option<String>,
}

fn opts() -> Result<Opts, String> {
    let mut o = Opts {
        requests: 200,
        clients: 4,
        series: 1000,
        samples: 10,
        sync: "full".into(),
        url: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let v = args
            .get(i + 1)
            .cloned()
            .ok_or(format!("{} needs a value", args[i]))?;
        let num = || v.parse::<usize>().map_err(|e| format!("{}: {e}", args[i]));
        match args[i].as_str() {
            "--requests" => o.requests = num()?,
            "--clients" => o.clients = num()?.max(1),
            "--series" => o.series = num()?,
            "--samples" => o.samples = num()?,
            "--sync" => o.sync = v.clone(),
            "--url" => o.url = Some(v.clone()),
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    Ok(o)
}

/// Request `r` of client `c`: every series advances by `samples` seconds per request.
fn payload(o: &Opts, c: usize, r: usize, t0: i64) -> Vec<u8> {
    let mut pts = Vec::with_capacity(o.series * o.samples);
    for s in 0..o.series {
        for k in 0..o.samples {
            let ts = t0 + ((r * o.samples + k) as i64) * 1000;
            pts.push((
                "bench_value",
                [("job", format!("bench{c}")), ("series", format!("s{s}"))],
                ts,
                (s + k + r) as f64,
            ));
        }
    }
    encode(&from_points(pts))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = opts()?;
    let dir = tempfile::tempdir()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let db = dir.path().join("bench.db");
    let (daemon, url) = match &o.url {
        Some(u) => (None, u.clone()),
        None => {
            let text = format!(
                "listen = \"127.0.0.1:0\"\ndb = {:?}\n[agent]\nenabled = false\n[store]\nkind = \"embedded\"\nsynchronous = {:?}\n[retention]\nraw_for = \"forever\"\n",
                db.display().to_string(),
                o.sync
            );
            let cfg = DaemonConfig::from_toml(&text)?;
            let d = rt.block_on(Daemon::start(cfg))?;
            let url = format!("http://{}/api/v1/write", d.local_addr());
            (Some(d), url)
        }
    };
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as i64
        - (o.requests * o.samples) as i64 * 1000
        - 60_000;
    let per_client = o.requests.div_ceil(o.clients);
    eprintln!(
        "encoding {} requests of {} series × {} samples ...",
        per_client * o.clients,
        o.series,
        o.samples
    );
    let bodies: Vec<Vec<Vec<u8>>> = (0..o.clients)
        .map(|c| (0..per_client).map(|r| payload(&o, c, r, t0)).collect())
        .collect();
    let bytes: usize = bodies.iter().flatten().map(Vec::len).sum();
    let start = Instant::now();
    let handles: Vec<_> = bodies
        .into_iter()
        .map(|mine| {
            let url = url.clone();
            std::thread::spawn(move || -> Result<Duration, String> {
                let http: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(120)))
                    .build()
                    .into();
                let mut worst = Duration::ZERO;
                for body in mine {
                    let t = Instant::now();
                    let mut r = http
                        .post(&url)
                        .header("Content-Encoding", "snappy")
                        .header("Content-Type", "application/x-protobuf")
                        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                        .send(&body[..])
                        .map_err(|e| e.to_string())?;
                    let status = r.status().as_u16();
                    if !(200..300).contains(&status) {
                        let text = r.body_mut().read_to_string().unwrap_or_default();
                        return Err(format!("HTTP {status}: {text}"));
                    }
                    worst = worst.max(t.elapsed());
                }
                Ok(worst)
            })
        })
        .collect();
    let mut worst = Duration::ZERO;
    for h in handles {
        let w = h.join().map_err(|_| "client thread panicked")??;
        worst = worst.max(w);
    }
    let took = start.elapsed();
    let samples = per_client * o.clients * o.series * o.samples;
    println!(
        "remote-write ingest → {}: {} samples in {:.2} s = {:.0} samples/s ({} clients, {} requests, {:.1} MiB compressed, slowest request {:.0} ms, sync={})",
        if daemon.is_some() { "prescale embedded store" } else { url.as_str() },
        samples,
        took.as_secs_f64(),
        samples as f64 / took.as_secs_f64(),
        o.clients,
        per_client * o.clients,
        bytes as f64 / (1 << 20) as f64,
        worst.as_secs_f64() * 1e3,
        o.sync,
    );
    if let Some(d) = daemon {
        // Where the time went: the store's share of it.
        let text = d.metrics().render();
        for l in text.lines() {
            if l.starts_with("prescale_store_append_seconds_sum")
                || l.starts_with("prescale_store_append_seconds_count")
            {
                println!("  {l}");
            }
        }
        rt.block_on(d.shutdown())?;
        // On-disk size: the log flushed into chunks and the WAL journal checkpointed.
        let mut store = prescale_store::Store::open(&db)?;
        store.flush_head()?;
        store.checkpoint()?;
        drop(store);
        let bytes = std::fs::metadata(&db)?.len();
        println!(
            "  store file {bytes} bytes = {:.2} bytes/sample",
            bytes as f64 / samples as f64
        );
    }
    Ok(())
}
