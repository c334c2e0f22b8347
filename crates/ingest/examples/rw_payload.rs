//! Writes remote-write bodies (snappy block + protobuf) for memory and load checks:
//! `cargo run -p prescale-ingest --example rw_payload -- OUT_PREFIX [--bodies 4] [--samples 1500000]
//!  [--series 1] [--end-ms NOW]`. Body `i` is `OUT_PREFIX-i.bin`: `--series` series of the gauge
//! `rw_payload_value` labelled `job=rw-payload-i`, `--samples` samples in all, one millisecond apart and
//! ending at `--end-ms`, with pseudo-random values of two decimals below 1000 (1.5M samples compress
//! to about 14 MB: the maximum-size request of issue 12).

use prescale_ingest::remote_write::{encode, Label, PbSample, TimeSeries, WriteRequest};
use std::time::{SystemTime, UNIX_EPOCH};

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let prefix = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .ok_or(
            "usage: rw_payload OUT_PREFIX [--bodies N] [--samples N] [--series N] [--end-ms T]",
        )?;
    let mut bodies = 4usize;
    let mut samples = 1_500_000usize;
    let mut series = 1usize;
    let mut end_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_millis() as i64;
    let mut i = 1;
    while i < args.len() {
        let v = args
            .get(i + 1)
            .ok_or(format!("{} needs a value", args[i]))?;
        let num = || v.parse::<u64>().map_err(|e| format!("{}: {e}", args[i]));
        match args[i].as_str() {
            "--bodies" => bodies = num()? as usize,
            "--samples" => samples = num()? as usize,
            "--series" => series = (num()? as usize).max(1),
            "--end-ms" => end_ms = num()? as i64,
            other => return Err(format!("unknown option {other}")),
        }
        i += 2;
    }
    let per_series = samples.div_ceil(series);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for b in 0..bodies {
        let mut req = WriteRequest {
            timeseries: Vec::with_capacity(series),
            metadata: Vec::new(),
        };
        for s in 0..series {
            let n = per_series.min(samples - s * per_series);
            let start = end_ms - n as i64;
            let pts = (0..n)
                .map(|k| {
                    // xorshift64: cheap, deterministic, incompressible enough.
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    PbSample {
                        value: (state % 100_000) as f64 / 100.0,
                        timestamp: start + k as i64,
                    }
                })
                .collect();
            req.timeseries.push(TimeSeries {
                labels: vec![
                    Label::new("__name__", "rw_payload_value"),
                    Label::new("job", format!("rw-payload-{b}")),
                    Label::new("shard", format!("s{s}")),
                ],
                samples: pts,
                exemplars: Vec::new(),
            });
        }
        let body = encode(&req);
        let path = format!("{prefix}-{b}.bin");
        std::fs::write(&path, &body).map_err(|e| format!("{path}: {e}"))?;
        let raw: usize = prost::Message::encoded_len(&req);
        println!(
            "{path}: {} bytes compressed, {raw} decompressed, {samples} samples",
            body.len()
        );
    }
    Ok(())
}
