//! Imports every real trace family in ../shared/data and checks the counts its READMEs state.

use prescale_core::{Interval, Timestamp};
use prescale_telemetry::{csv_files, import_file, CsvShape, ImportOptions, Imported, TimeKind};
use std::path::{Path, PathBuf};

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("../shared/data not found at {}", dir.display());
    }
    println!("skipping: ../shared/data not found");
    None
}

fn import(path: &Path, opts: &ImportOptions) -> Imported {
    match import_file(path, opts) {
        Ok(i) => i,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn nab_files() {
    let Some(data) = data_dir() else { return };
    let files = csv_files(&data.join("nab_realAWSCloudwatch")).unwrap();
    assert_eq!(files.len(), 17);
    let mut rows = 0;
    for f in &files {
        let imp = import(f, &ImportOptions::default());
        let s = &imp.summary;
        assert_eq!(s.shape, CsvShape::Nab, "{}", f.display());
        assert_eq!(s.time_kind, TimeKind::Iso8601);
        assert_eq!((s.series, s.skipped_bad), (1, 0));
        assert_eq!(s.samples + s.duplicates_merged, s.rows, "{}", f.display());
        assert_eq!(
            imp.series[0].median_interval(),
            Interval::from_secs(300),
            "{}",
            f.display()
        );
        rows += s.rows;
    }
    assert_eq!(rows, 67_740);

    // The US daylight-saving jump (2014-03-09 02:00 local does not exist) put 12 rows at 03:00:00.
    let imp = import(
        &data.join("nab_realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv"),
        &ImportOptions::default(),
    );
    assert_eq!(
        (
            imp.summary.rows,
            imp.summary.duplicates_merged,
            imp.summary.samples
        ),
        (4730, 11, 4719)
    );

    let imp = import(
        &data.join("nab_realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv"),
        &ImportOptions::default(),
    );
    assert_eq!((imp.summary.rows, imp.summary.samples), (4032, 4032));
    let s = &imp.series[0];
    assert_eq!(s.key.to_string(), "ec2_cpu_utilization_24ae8d/value");
    assert_eq!(s.labels["format"], "nab");
    // 2014-02-14 14:30:00 and 2014-02-28 14:25:00 (UTC).
    assert_eq!(s.first_ts(), Some(Timestamp(1_392_388_200_000)));
    assert_eq!(s.last_ts(), Some(Timestamp(1_393_597_500_000)));
    assert_eq!(s.samples()[0].value, 0.132);
}

#[test]
fn bitbrains_files() {
    let Some(data) = data_dir() else { return };
    let files = csv_files(&data.join("bitbrains_gwa_t12_rnd")).unwrap();
    assert_eq!(files.len(), 25);
    for f in &files {
        let imp = import(f, &ImportOptions::default());
        assert_eq!(imp.summary.shape, CsvShape::Bitbrains);
        assert_eq!(imp.summary.time_kind, TimeKind::UnixSeconds);
        assert_eq!(imp.summary.series, 10, "{}", f.display());
        assert_eq!(
            imp.series[0].median_interval(),
            Interval::from_secs(300),
            "{}",
            f.display()
        );
    }
    let imp = import(
        &data.join("bitbrains_gwa_t12_rnd/2013-7/107.csv"),
        &ImportOptions::default(),
    );
    // 11 columns: the timestamp and 10 metrics.
    assert_eq!((imp.summary.rows, imp.summary.series), (8250, 10));
    let cpu = imp
        .series
        .iter()
        .find(|s| s.key.metric.as_str() == "CPU usage [MHZ]")
        .expect("CPU usage [MHZ] series");
    assert_eq!(cpu.key.workload.as_str(), "107");
    assert_eq!(cpu.labels["unit"], "MHZ");
    assert_eq!(cpu.labels["source_file"], "107.csv");
    assert_eq!(cpu.samples()[0].ts, Timestamp(1_372_629_804_000));
    assert_eq!(cpu.samples()[0].value, 210.671958888);
}

#[test]
fn alibaba_row_index_files() {
    let Some(data) = data_dir() else { return };
    let dir = data.join("alibaba2018_machine_usage_aggregated");
    let opts = ImportOptions {
        interval: Interval::from_secs(300),
        ..ImportOptions::default()
    };
    let imp = import(
        &dir.join("machine_usage_days_1_to_8_grouped_300_seconds.csv"),
        &opts,
    );
    let s = &imp.summary;
    assert_eq!(
        (s.shape, s.time_kind, s.assumed_interval),
        (CsvShape::Wide, TimeKind::RowIndex, None)
    );
    assert_eq!(imp.series.len(), 5);
    for series in &imp.series {
        assert_eq!(series.len(), 2243);
        assert_eq!(series.median_interval(), Interval::from_secs(300));
        assert_eq!(series.last_ts(), Some(Timestamp(2242 * 300_000)));
    }
    assert_eq!(imp.series[0].key.metric.as_str(), "cpu_util_percent");

    let imp = import(
        &dir.join("machine_usage_days_1_to_8_grouped_30_seconds.csv"),
        &ImportOptions::default(),
    );
    assert_eq!(imp.summary.assumed_interval, Interval::from_secs(60));
    assert_eq!(imp.series[4].len(), 22_415);
}

#[test]
fn nasa_per_minute_file() {
    let Some(data) = data_dir() else { return };
    let imp = import(
        &data.join("nasa_http_1995/nasa_requests_per_minute.csv"),
        &ImportOptions::default(),
    );
    let s = &imp.summary;
    assert_eq!(
        (s.shape, s.time_kind, s.series),
        (CsvShape::Wide, TimeKind::Iso8601, 1)
    );
    assert_eq!(
        (s.rows, s.samples, s.out_of_order_sorted),
        (84_334, 84_334, 0)
    );
    let series = &imp.series[0];
    assert_eq!(series.key.to_string(), "nasa_requests_per_minute/requests");
    assert_eq!(series.median_interval(), Interval::from_secs(60));
    // 1995-07-01T00:00:00-04:00 = 04:00 UTC.
    assert_eq!(series.first_ts(), Some(Timestamp(804_571_200_000)));
    assert_eq!(series.samples()[0].value, 42.0);
}

#[test]
fn wikipedia_files_are_sorted() {
    let Some(data) = data_dir() else { return };
    let dir = data.join("wikipedia_pageviews_prophet");
    let imp = import(&dir.join("example_wp_log_R.csv"), &ImportOptions::default());
    let s = &imp.summary;
    assert_eq!((s.rows, s.samples, s.duplicates_merged), (2863, 2863, 0));
    assert!(s.out_of_order_sorted > 0);
    let series = &imp.series[0];
    assert_eq!(series.key.metric.as_str(), "y");
    assert_eq!(series.median_interval(), Interval::from_secs(86_400));
    // 2008-01-01 and 2015-12-31 (UTC midnight).
    assert_eq!(series.first_ts(), Some(Timestamp(1_199_145_600_000)));
    assert_eq!(series.last_ts(), Some(Timestamp(1_451_520_000_000)));

    let imp = import(
        &dir.join("example_wp_log_peyton_manning.csv"),
        &ImportOptions::default(),
    );
    assert_eq!((imp.summary.rows, imp.summary.samples), (2905, 2905));
}

#[test]
fn every_csv_in_the_data_folder_imports() {
    let Some(data) = data_dir() else { return };
    let files = csv_files(&data).unwrap();
    assert_eq!(files.len(), 17 + 25 + 2 + 2 + 2);
    for f in files {
        let imp = import(&f, &ImportOptions::default());
        assert_eq!(imp.summary.skipped_bad, 0, "{}", f.display());
        assert!(imp.summary.samples > 0);
    }
}
