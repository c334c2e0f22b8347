//! The synthetic fleet written as a Long CSV imports back to the same keys, times and values.

use prescale_telemetry::synthetic::{demo_fleet, write_long_csv, DemoConfig};
use prescale_telemetry::{import_reader, CsvShape, ImportOptions, TimeKind};

#[test]
fn long_csv_from_the_demo_fleet_round_trips() {
    let cfg = DemoConfig {
        workloads: 5,
        days: 2,
        ..DemoConfig::default()
    };
    let fleet = demo_fleet(&cfg).unwrap();
    let mut csv = Vec::new();
    write_long_csv(&fleet, &mut csv).unwrap();
    let imp = import_reader("demo.csv", csv.as_slice(), &ImportOptions::default()).unwrap();
    assert_eq!(imp.summary.shape, CsvShape::Long);
    assert_eq!(imp.summary.time_kind, TimeKind::Iso8601);
    assert_eq!(imp.summary.duplicates_merged, 0);
    assert_eq!(imp.series.len(), fleet.len());
    for original in &fleet {
        let back = imp
            .series
            .iter()
            .find(|s| s.key == original.key)
            .unwrap_or_else(|| panic!("{} missing", original.key));
        assert_eq!(back.len(), original.len());
        for (a, b) in original.samples().iter().zip(back.samples()) {
            assert_eq!(a.ts, b.ts);
            // write_long_csv keeps 6 decimals.
            assert!(
                (a.value - b.value).abs() <= 5e-7,
                "{}: {} vs {}",
                original.key,
                a.value,
                b.value
            );
        }
    }
}
