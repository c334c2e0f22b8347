//! Writes seed inputs for the cargo-fuzz targets: `cargo run -p prescale-ingest --example fuzz_seeds [DIR]`
//! (DIR defaults to the repository's `fuzz/corpus`).

use prescale_ingest::remote_write::{
    self, Label, MetricMetadata, MetricType, PbSample, TimeSeries, WriteRequest,
};
use prost::Message;
use std::path::{Path, PathBuf};

fn main() -> std::io::Result<()> {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus"));
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let expo = root.join("exposition");
    std::fs::create_dir_all(&expo)?;
    let mut n = 0;
    for entry in std::fs::read_dir(&data)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "prom" || e == "om") {
            std::fs::copy(&path, expo.join(format!("seed-{n}")))?;
            n += 1;
        }
    }
    let rw = root.join("remote_write");
    std::fs::create_dir_all(&rw)?;
    let mut req = remote_write::from_points((0..20).map(|i| {
        (
            if i % 2 == 0 {
                "http_requests_total"
            } else {
                "queue_depth"
            },
            [
                ("job", "api"),
                ("code", if i % 3 == 0 { "200" } else { "500" }),
            ],
            1_700_000_000_000 + i64::from(i) * 15_000,
            f64::from(i),
        )
    }));
    req.metadata.push(MetricMetadata {
        r#type: MetricType::Counter as i32,
        metric_family_name: "http_requests".into(),
        help: "Requests.".into(),
        unit: String::new(),
    });
    let odd = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![Label::new("z", "1"), Label::new("__name__", "x")],
            samples: vec![PbSample {
                value: f64::NAN,
                timestamp: -1,
            }],
            exemplars: vec![],
        }],
        metadata: vec![],
    };
    for (i, r) in [req, odd].iter().enumerate() {
        // Both shapes the target tries: a snappy body, and bare protobuf it compresses itself.
        std::fs::write(rw.join(format!("seed-body-{i}")), remote_write::encode(r))?;
        std::fs::write(rw.join(format!("seed-pb-{i}")), r.encode_to_vec())?;
    }
    println!(
        "wrote {n} exposition and 4 remote-write seeds under {}",
        root.display()
    );
    Ok(())
}
