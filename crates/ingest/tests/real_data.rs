//! Real telemetry (NAB AWS CloudWatch) through both wire formats and admission, end to end.

use prescale_ingest::admit::{Admission, AdmissionConfig, MappingRules, RejectReason};
use prescale_ingest::exposition::{self, Format};
use prescale_ingest::remote_write::{self, Limits};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn data_dir() -> Option<PathBuf> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/nab_realAWSCloudwatch");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "../shared/data not found"
    );
    println!("skipping: ../shared/data not found");
    None
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2014-02-14 14:30:00` → Unix ms.
fn parse_ts(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    let days = days_from_civil(n(0, 4), n(5, 7), n(8, 10));
    (days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60 + n(17, 19)) * 1000
}

/// (file stem, rows of (ts_ms, value)) for every NAB CSV.
fn series() -> Vec<(String, Vec<(i64, f64)>)> {
    let Some(dir) = data_dir() else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let rows = text
                .lines()
                .skip(1)
                .map(|l| {
                    let (ts, v) = l.split_once(',').unwrap();
                    (parse_ts(ts), v.trim().parse::<f64>().unwrap())
                })
                .collect();
            (p.file_stem().unwrap().to_string_lossy().into_owned(), rows)
        })
        .collect()
}

fn admission() -> Admission {
    Admission::new(
        AdmissionConfig {
            max_age_ms: i64::MAX / 2,
            ..AdmissionConfig::default()
        },
        MappingRules::default(),
    )
}

#[test]
fn known_answer_timestamp() {
    assert_eq!(parse_ts("2014-02-14 14:30:00"), 1_392_388_200_000);
    assert_eq!(parse_ts("1970-01-01 00:00:00"), 0);
}

#[test]
fn nab_series_survive_remote_write_and_admission() {
    for (stem, rows) in series() {
        let points = rows.iter().map(|&(ts, v)| {
            (
                "aws_metric",
                [("job", stem.as_str()), ("instance", "i-1")],
                ts,
                v,
            )
        });
        let body = remote_write::encode(&remote_write::from_points(points));
        let req = remote_write::decode(&body, &Limits::default()).unwrap();
        let raw = remote_write::to_raw_samples(&req);
        assert_eq!(raw.len(), rows.len(), "{stem}");
        let now = rows.iter().map(|r| r.0).max().unwrap();
        let report = admission().admit(raw, &|_| None, now);
        assert_eq!(report.rejected_total(), 0, "{stem}: {:?}", report.rejected);
        let mut expected = rows.clone();
        expected.sort_by_key(|r| r.0);
        let got: Vec<(i64, f64)> = report
            .accepted
            .iter()
            .map(|p| (p.sample.ts.0, p.sample.value))
            .collect();
        assert_eq!(got, expected, "{stem}");
        assert_eq!(
            report.accepted[0].key.to_string(),
            format!("{stem}/aws_metric")
        );
    }
}

#[test]
fn nab_series_as_exposition_text_and_counter_rates() {
    for (stem, rows) in series() {
        // Render as a counter accumulating value × step, so its rate must give the values back.
        let mut text = String::from("# TYPE aws_work_total counter\n");
        let mut total = 0.0;
        let mut prev_ts = None;
        let mut expected = Vec::new();
        let mut duplicates = 0;
        for &(ts, v) in &rows {
            match prev_ts {
                // NAB repeats one timestamp a dozen times at a DST change: only the first counts.
                Some(p) if ts <= p => duplicates += 1,
                Some(p) => {
                    let dt_s = (ts - p) as f64 / 1000.0;
                    total += v * dt_s;
                    expected.push((ts, v));
                }
                None => {}
            }
            prev_ts = Some(ts);
            let _ = writeln!(text, "aws_work_total{{job=\"{stem}\"}} {total:?} {ts}");
        }
        let exp = exposition::parse(&text, Format::Text).unwrap();
        assert_eq!(exp.samples.len(), rows.len());
        let now = rows.last().unwrap().0;
        let kinds = exp.kind_index();
        let report = admission().admit_with_index(exp.samples, &kinds, now);
        assert_eq!(report.primed, 1, "{stem}");
        // Repeated timestamps cannot form a rate: each is refused as out of order, nothing else.
        assert_eq!(
            report.rejected_total(),
            duplicates,
            "{stem}: {:?}",
            report.rejected
        );
        if duplicates > 0 {
            assert_eq!(
                report.rejected.get(&RejectReason::OutOfOrder),
                Some(&duplicates)
            );
        }
        assert_eq!(report.accepted.len(), expected.len());
        for (p, (ts, v)) in report.accepted.iter().zip(&expected) {
            assert_eq!(p.sample.ts.0, *ts);
            let tol = 1e-12 * (1.0 + total.abs());
            assert!(
                (p.sample.value - v).abs() <= tol,
                "{stem} at {ts}: {} vs {v}",
                p.sample.value
            );
        }
        assert_eq!(
            report.accepted[0].key.metric.as_str(),
            "aws_work_total:rate"
        );
    }
}
