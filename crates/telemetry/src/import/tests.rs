//! Unit tests of the importer on small inline CSVs, one per shape, plus the bad-input rules.

use super::*;
use prescale_core::{Interval, Labels, Timestamp};
use proptest::prelude::*;

fn import(name: &str, text: &str, opts: &ImportOptions) -> Result<Imported, ImportError> {
    import_reader(name, text.as_bytes(), opts)
}

fn ok(name: &str, text: &str) -> Imported {
    match import(name, text, &ImportOptions::default()) {
        Ok(i) => i,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn points(imp: &Imported, i: usize) -> Vec<(i64, f64)> {
    imp.series[i]
        .samples()
        .iter()
        .map(|s| (s.ts.0, s.value))
        .collect()
}

#[test]
fn nab_file() {
    let imp = ok(
        "dir/ec2_cpu_utilization_24ae8d.csv",
        "timestamp,value\n2014-02-14 14:30:00,0.132\n2014-02-14 14:35:00,0.134\n",
    );
    let s = &imp.summary;
    assert_eq!(
        (s.shape, s.rows, s.series, s.samples),
        (CsvShape::Nab, 2, 1, 2)
    );
    assert_eq!(s.time_kind, TimeKind::Iso8601);
    assert_eq!(s.assumed_interval, None);
    let series = &imp.series[0];
    assert_eq!(series.key.workload.as_str(), "ec2_cpu_utilization_24ae8d");
    assert_eq!(series.key.metric.as_str(), "value");
    assert_eq!(
        series.labels["source_file"],
        "ec2_cpu_utilization_24ae8d.csv"
    );
    assert_eq!(series.labels["format"], "nab");
    assert_eq!(
        points(&imp, 0),
        [(1_392_388_200_000, 0.132), (1_392_388_500_000, 0.134)]
    );
}

#[test]
fn bitbrains_file() {
    let text = "Timestamp [ms];\tCPU cores;\tCPU usage [MHZ]\n\
                1372629804;\t4;\t210.5\n1372630104;\t4;\t1.6703488E7\n";
    let imp = ok("107.csv", text);
    let s = &imp.summary;
    assert_eq!((s.shape, s.series, s.samples), (CsvShape::Bitbrains, 2, 4));
    assert_eq!(s.time_kind, TimeKind::UnixSeconds);
    assert_eq!(imp.series[0].key.to_string(), "107/CPU cores");
    assert_eq!(imp.series[1].key.metric.as_str(), "CPU usage [MHZ]");
    assert_eq!(imp.series[1].labels["unit"], "MHZ");
    assert!(!imp.series[0].labels.contains_key("unit"));
    assert_eq!(
        points(&imp, 1),
        [
            (1_372_629_804_000, 210.5),
            (1_372_630_104_000, 16_703_488.0)
        ]
    );
}

#[test]
fn wide_row_index_file_with_and_without_interval() {
    let text = "cpu_util_percent,mem_util_percent\n16.1,87.1\n18.4,86.8\n30.8,89.9\n";
    let imp = ok("alibaba.csv", text);
    assert_eq!(imp.summary.shape, CsvShape::Wide);
    assert_eq!(imp.summary.time_kind, TimeKind::RowIndex);
    assert_eq!(imp.summary.assumed_interval, Interval::from_secs(60));
    assert_eq!(
        points(&imp, 0),
        [(0, 16.1), (60_000, 18.4), (120_000, 30.8)]
    );

    let opts = ImportOptions {
        interval: Interval::from_secs(300),
        start: Timestamp(1_000),
        columns: Some(vec!["mem_util_percent".into()]),
        workload: Some("cluster".into()),
        ..ImportOptions::default()
    };
    let imp = import("alibaba.csv", text, &opts).unwrap();
    assert_eq!(imp.summary.assumed_interval, None);
    assert_eq!(imp.series.len(), 1);
    assert_eq!(imp.series[0].key.to_string(), "cluster/mem_util_percent");
    assert_eq!(
        points(&imp, 0),
        [(1_000, 87.1), (301_000, 86.8), (601_000, 89.9)]
    );
}

#[test]
fn wide_file_with_iso_offsets_and_quotes() {
    let imp = ok(
        "nasa.csv",
        "timestamp,requests\n1995-07-01T00:00:00-04:00,42\n1995-07-01T00:01:00-04:00,61\n",
    );
    assert_eq!(imp.summary.shape, CsvShape::Wide);
    assert_eq!(imp.series[0].key.metric.as_str(), "requests");
    assert_eq!(
        points(&imp, 0),
        [(804_571_200_000, 42.0), (804_571_260_000, 61.0)]
    );
}

#[test]
fn quoted_unordered_daily_file_is_sorted_and_reported() {
    let imp = ok(
        "example_wp_log_R.csv",
        "\"ds\",\"y\"\n\"2008-01-30\",5.9\n\"2008-01-16\",6.0\n\"2008-01-17\",6.1\n\"2008-01-01\",4.0\n",
    );
    assert_eq!(imp.summary.out_of_order_sorted, 2);
    assert_eq!(imp.series[0].key.metric.as_str(), "y");
    let days: Vec<i64> = imp.series[0]
        .samples()
        .iter()
        .map(|s| s.ts.0 / 86_400_000)
        .collect();
    assert_eq!(days, [13_879, 13_894, 13_895, 13_908]);
}

#[test]
fn long_file_one_series_per_app_metric() {
    let text = "timestamp,app,metric,value\n\
                1000,web,cpu,1\n1000,web,mem,10\n1000,db,cpu,2\n\
                2000,web,cpu,3\n2000,web,cpu,5\n1500,db,cpu,4\n";
    let imp = ok("long.csv", text);
    let s = &imp.summary;
    assert_eq!(
        (s.shape, s.series, s.samples, s.rows),
        (CsvShape::Long, 3, 5, 6)
    );
    assert_eq!(s.time_kind, TimeKind::UnixSeconds);
    assert_eq!(s.duplicates_merged, 1);
    assert_eq!(s.out_of_order_sorted, 0);
    let keys: Vec<String> = imp.series.iter().map(|s| s.key.to_string()).collect();
    assert_eq!(keys, ["db/cpu", "web/cpu", "web/mem"]);
    assert_eq!(points(&imp, 0), [(1_000_000, 2.0), (1_500_000, 4.0)]);
    assert_eq!(points(&imp, 1), [(1_000_000, 1.0), (2_000_000, 4.0)]);
    assert_eq!(imp.series[2].labels["format"], "long");

    let only_cpu = ImportOptions {
        columns: Some(vec!["cpu".into()]),
        ..ImportOptions::default()
    };
    assert_eq!(import("long.csv", text, &only_cpu).unwrap().series.len(), 2);
    let unknown = ImportOptions {
        columns: Some(vec!["disk".into()]),
        ..ImportOptions::default()
    };
    let err = import("long.csv", text, &unknown).unwrap_err();
    assert_eq!(
        err.to_string(),
        "long.csv: column \"disk\" not found (metric columns: \"cpu\", \"mem\")"
    );
}

#[test]
fn millisecond_and_decimal_times_and_extra_labels() {
    let mut extra = Labels::new();
    extra.insert("team".into(), "a".into());
    let opts = ImportOptions {
        extra_labels: extra,
        ..ImportOptions::default()
    };
    let imp = import("x.csv", "ts,v\n1372629804123,1\n1372629805123,2\n", &opts).unwrap();
    assert_eq!(imp.summary.time_kind, TimeKind::UnixMillis);
    assert_eq!(imp.series[0].samples()[0].ts, Timestamp(1_372_629_804_123));
    assert_eq!(imp.series[0].labels["team"], "a");
    let imp = ok("x.csv", "time,v\n1.5,1\n2.25,2\n");
    assert_eq!(points(&imp, 0), [(1_500, 1.0), (2_250, 2.0)]);
}

#[test]
fn duplicates_merge_to_their_mean() {
    let imp = ok(
        "d.csv",
        "timestamp,value\n2020-01-01,1\n2020-01-02,2\n2020-01-01,5\n",
    );
    assert_eq!(imp.summary.duplicates_merged, 1);
    assert_eq!(imp.summary.out_of_order_sorted, 1);
    assert_eq!(imp.series[0].values(), [3.0, 2.0]);
}

#[test]
fn bad_rows_fail_with_file_and_line() {
    let text = "timestamp,value\n2020-01-01,1\n\n2020-01-02,abc\n2020-01-03,NaN\n2020-01-04,\n\
                2020-02-30,1\n2020-01-05,1,2\n2020-01-06,6\n";
    let err = import("data.csv", text, &ImportOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "data.csv:4: column \"value\": \"abc\" is not a number"
    );

    let skip = ImportOptions {
        skip_bad: true,
        ..ImportOptions::default()
    };
    let imp = import("data.csv", text, &skip).unwrap();
    assert_eq!(imp.summary.skipped_bad, 5);
    assert_eq!(imp.summary.rows, 7);
    assert_eq!(imp.series[0].values(), [1.0, 6.0]);
    assert_eq!(
        imp.summary.bad_examples,
        [
            "data.csv:4: column \"value\": \"abc\" is not a number",
            "data.csv:5: column \"value\": \"NaN\" is not a finite number",
            "data.csv:6: column \"value\": empty value",
            "data.csv:7: timestamp \"2020-02-30\" has a day outside its month",
            "data.csv:8: expected 2 fields, found 3",
        ]
    );
}

#[test]
fn skipped_rows_keep_row_index_times() {
    let skip = ImportOptions {
        skip_bad: true,
        ..ImportOptions::default()
    };
    let imp = import("a.csv", "cpu\n1\nx\n3\n", &skip).unwrap();
    assert_eq!(points(&imp, 0), [(0, 1.0), (120_000, 3.0)]);
}

#[test]
fn empty_header_only_and_non_numeric_files_are_clear_errors() {
    let d = ImportOptions::default();
    assert!(matches!(
        import("e.csv", "", &d),
        Err(ImportError::Empty { .. })
    ));
    assert!(matches!(
        import("e.csv", "\n \n", &d),
        Err(ImportError::Empty { .. })
    ));
    assert!(matches!(
        import("h.csv", "timestamp,value\n", &d),
        Err(ImportError::HeaderOnly { .. })
    ));
    let err = import("t.csv", "host,zone\nweb-1,eu\n", &d).unwrap_err();
    assert!(matches!(err, ImportError::NoNumericColumns { .. }), "{err}");
    assert!(
        err.to_string().starts_with("t.csv: no numeric columns"),
        "{err}"
    );
    let err = import("n.csv", "1,2\n3,4\n", &d).unwrap_err();
    assert!(err.to_string().starts_with("n.csv:1: header:"), "{err}");
    let skip = ImportOptions {
        skip_bad: true,
        ..ImportOptions::default()
    };
    let err = import("b.csv", "timestamp,value\nx,1\n", &skip).unwrap_err();
    assert_eq!(
        err.to_string(),
        "b.csv: no valid data rows (1 bad rows skipped)"
    );
}

#[test]
fn forced_shapes() {
    let long = ImportOptions {
        shape: Some(CsvShape::Long),
        ..ImportOptions::default()
    };
    let imp = import("l.csv", "t,a,m,v\n2020-01-01,web,cpu,1\n", &long).unwrap();
    assert_eq!(imp.series[0].key.to_string(), "web/cpu");
    assert!(import("l.csv", "t,a,m\n1,web,cpu\n", &long).is_err());
}

#[test]
fn csv_files_lists_sorted_csvs_recursively() {
    let dir = std::env::temp_dir().join(format!("prescale-csv-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    for f in ["b.csv", "a.CSV", "sub/c.csv", "notes.txt"] {
        std::fs::write(dir.join(f), "timestamp,value\n2020-01-01,1\n").unwrap();
    }
    let files = csv_files(&dir).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
        .collect();
    assert_eq!(names, ["a.CSV", "b.csv", "sub/c.csv"]);
    assert_eq!(csv_files(&files[1]).unwrap(), [files[1].clone()]);
    let imp = import_file(&files[2], &ImportOptions::default()).unwrap();
    assert_eq!(imp.series[0].key.workload.as_str(), "c");
    assert!(csv_files(&dir.join("missing")).is_err());
    assert!(import_file(&dir.join("missing.csv"), &ImportOptions::default()).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_line_over_the_limit_is_named_with_file_and_line() {
    use std::io::{BufReader, Read};
    // No newline at all: 8 MiB streamed from a generator, never a file in memory.
    let endless = BufReader::new(std::io::repeat(b'x').take(8 << 20));
    let err = import_reader("big.csv", endless, &ImportOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "big.csv:1: header: line longer than 1048576 bytes"
    );
    // A long data row: an error naming its line, or a skipped bad row.
    let data = |opts: &ImportOptions| {
        let rows = "timestamp,value\n2020-01-01T00:00:00Z,1\n".as_bytes();
        let long = std::io::repeat(b'7').take(5000);
        let tail = "\n2020-01-01T00:02:00Z,3\n".as_bytes();
        import_reader(
            "rows.csv",
            BufReader::new(rows.chain(long).chain(tail)),
            opts,
        )
    };
    let small = ImportOptions {
        max_line_bytes: 4096,
        ..ImportOptions::default()
    };
    assert_eq!(
        data(&small).unwrap_err().to_string(),
        "rows.csv:3: line longer than 4096 bytes"
    );
    let imp = data(&ImportOptions {
        skip_bad: true,
        ..small.clone()
    })
    .unwrap();
    assert_eq!(imp.summary.skipped_bad, 1);
    assert_eq!(imp.summary.samples, 2);
    assert_eq!(
        imp.summary.bad_examples,
        ["rows.csv:3: line longer than 4096 bytes"]
    );
    // Under the default limit the same file is one bad value, not a long line.
    let err = data(&ImportOptions::default()).unwrap_err().to_string();
    assert!(
        err.starts_with("rows.csv:3: ") && !err.contains("longer"),
        "{err}"
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), skip in any::<bool>()) {
        let opts = ImportOptions { skip_bad: skip, ..ImportOptions::default() };
        let _ = import_reader("fuzz.csv", bytes.as_slice(), &opts);
    }

    #[test]
    fn csv_like_text_never_panics(
        text in "(timestamp|ds|app|metric|value|x|\"q\")([,;\t](timestamp|app|metric|value|y|cpu)){0,4}\n([-0-9.:TZ+ e\",;\t]{0,30}\n){0,8}",
        skip in any::<bool>(),
        shape in proptest::option::of(prop_oneof![
            Just(CsvShape::Nab), Just(CsvShape::Bitbrains), Just(CsvShape::Wide), Just(CsvShape::Long)
        ]),
    ) {
        let opts = ImportOptions { skip_bad: skip, shape, ..ImportOptions::default() };
        if let Ok(imp) = import_reader("fuzz.csv", text.as_bytes(), &opts) {
            prop_assert_eq!(imp.summary.samples, imp.series.iter().map(|s| s.len()).sum::<usize>());
            prop_assert!(imp.summary.samples > 0);
        }
    }

    #[test]
    fn timestamps_round_trip_through_civil_days(days in -700_000i64..2_900_000, secs in 0i64..86_400) {
        // Format a date from the days count with the inverse algorithm and parse it back.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        prop_assume!((0..=9999).contains(&y));
        let text = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60);
        prop_assert_eq!(timeparse::parse_iso8601(&text), Ok((days * 86_400 + secs) * 1000));
    }
}
