//! The per-series summaries kept on write (`list_series`, `workload_summaries`) against the samples
//! and rollups themselves, read whole by a fresh handle as the oracle, after every step of random
//! write sequences.

use prescale_core::{Labels, MetricName, Point, Sample, Series, SeriesKey, Timestamp, WorkloadId};
use prescale_store::{Retention, Store};
use proptest::prelude::*;
use rusqlite::Connection;
use std::time::Duration;

/// (workload, metric, live, raw n, raw first, raw last, rollup rows, rolled n, rollup first, last).
type Summary = (
    String,
    String,
    bool,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
);

/// The summaries recomputed from the samples themselves: a fresh handle on the same file reads
/// every series whole (chunks and the write-ahead log) and its rollups.
fn oracle(conn: &Connection) -> Vec<Summary> {
    let path = conn.path().expect("a file store").to_string();
    let store = Store::open(std::path::Path::new(&path)).unwrap();
    let mut stmt = conn
        .prepare("SELECT workload, metric, live FROM series ORDER BY workload, metric")
        .unwrap();
    let rows: Vec<(String, String, bool)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.into_iter()
        .map(|(w, m, live)| {
            let key = SeriesKey::new(
                WorkloadId::new(w.clone()).unwrap(),
                MetricName::new(m.clone()).unwrap(),
            );
            let raw = store.load_series(&key).unwrap().unwrap();
            let ups = store
                .load_rollups(&key, Timestamp(i64::MIN), Timestamp(i64::MAX))
                .unwrap();
            let t =
                |s: &[Sample], last: bool| if last { s.last() } else { s.first() }.map(|s| s.ts.0);
            (
                w,
                m,
                live,
                raw.len() as i64,
                t(raw.samples(), false),
                t(raw.samples(), true),
                ups.len() as i64,
                ups.iter().map(|u| u.count as i64).sum(),
                ups.first().map(|u| u.start.0),
                ups.last().map(|u| u.start.0),
            )
        })
        .collect()
}

/// What the store reports, in the oracle's shape: the raw span from `list_series`, and where the
/// oracle has the rollup span, the span of raw and rollups together from `workload_summaries`.
fn kept(store: &Store) -> Vec<Summary> {
    let summaries: Vec<_> = store
        .workload_summaries()
        .unwrap()
        .into_iter()
        .flat_map(|w| {
            let name = w.workload.to_string();
            w.series.into_iter().map(move |s| (name.clone(), s))
        })
        .collect();
    let listed = store.list_series().unwrap();
    assert_eq!(listed.len(), summaries.len());
    // the listing's narrow spans say the same as the summaries
    let spans = store.series_spans().unwrap();
    let from_summaries: Vec<_> = summaries
        .iter()
        .map(|(w, s)| {
            (
                w.clone(),
                s.metric.to_string(),
                s.samples as u64,
                s.first,
                s.last,
            )
        })
        .collect();
    let from_spans: Vec<_> = spans
        .into_iter()
        .map(|s| (s.workload, s.metric, s.samples, s.first, s.last))
        .collect();
    assert_eq!(from_spans, from_summaries);
    summaries
        .into_iter()
        .zip(listed)
        .map(|((w, s), l)| {
            assert_eq!(
                (w.as_str(), &s.metric),
                (l.key.workload.as_str(), &l.key.metric)
            );
            (
                w,
                s.metric.to_string(),
                s.live,
                l.samples as i64,
                l.first_ts.map(|t| t.0),
                l.last_ts.map(|t| t.0),
                s.rollups as i64,
                s.rolled_samples as i64,
                s.first.map(|t| t.0),
                s.last.map(|t| t.0),
            )
        })
        .collect()
}

/// The oracle rows with the rollup span replaced by the combined raw-or-rollup span that
/// `workload_summaries` reports, to compare with [`kept`].
fn expected(conn: &Connection) -> Vec<Summary> {
    oracle(conn)
        .into_iter()
        .map(|o| {
            let first = [o.4, o.8].into_iter().flatten().min();
            let last = [o.5, o.9].into_iter().flatten().max();
            (o.0, o.1, o.2, o.3, o.4, o.5, o.6, o.7, first, last)
        })
        .collect()
}

/// Every summary row of the file, raw: the kept columns themselves (spans of each kind apart),
/// once another handle flushed the write-ahead log into chunks (until then its new samples are
/// added by readers, which `kept` checks).
fn kept_columns(conn: &Connection) -> Vec<Summary> {
    let path = conn.path().expect("a file store").to_string();
    Store::open(std::path::Path::new(&path))
        .unwrap()
        .flush_head()
        .unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT s.workload, s.metric, s.live, t.raw_n, t.raw_first, t.raw_last, t.rollup_rows,
                    t.rolled_n, t.rollup_first, t.rollup_last
             FROM series s JOIN series_stats t ON t.series_id = s.id
             ORDER BY s.workload, s.metric",
        )
        .unwrap();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })
        .unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

fn key(i: u8) -> SeriesKey {
    SeriesKey::new(
        WorkloadId::new(format!("w{}", i % 2)).unwrap(),
        MetricName::new(format!("m{i}")).unwrap(),
    )
}

fn pt(i: u8, ts: i64, value: f64) -> Point {
    Point {
        key: key(i),
        labels: Labels::new(),
        sample: Sample {
            ts: Timestamp(ts),
            value,
        },
    }
}

/// One write to the store.
#[derive(Debug, Clone)]
enum Op {
    /// Points of any series (0..5), any order, repeats allowed; `other`: through a second handle.
    Append {
        points: Vec<(u8, i64, f64)>,
        other: bool,
    },
    /// A whole series saved at once (merging by timestamp).
    Upsert {
        series: u8,
        samples: Vec<(i64, f64)>,
    },
    Flush,
    /// Retention at `now` with raw_for `raw` s, rollup_for `raw + keep` s, step `step` s.
    Retain {
        now: i64,
        raw: u64,
        keep: Option<u64>,
        step: u64,
        chunk: usize,
    },
    Delete {
        series: u8,
    },
}

/// Times on a 1 s grid over a few minutes, so that repeats and whole steps are common.
fn time() -> impl Strategy<Value = i64> {
    (-60i64..300).prop_map(|s| s * 1000)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (
            proptest::collection::vec((0u8..5, time(), -100.0f64..100.0), 1..40),
            proptest::bool::weighted(0.2),
        )
            .prop_map(|(points, other)| Op::Append { points, other }),
        1 => (0u8..5, proptest::collection::vec((time(), -100.0f64..100.0), 1..20))
            .prop_map(|(series, samples)| Op::Upsert { series, samples }),
        1 => Just(Op::Flush),
        2 => (
            0i64..500,
            1u64..4,
            proptest::option::of(1u64..200),
            prop_oneof![Just(1u64), Just(7), Just(60)],
            1usize..30,
        )
            .prop_map(|(now, raw, keep, step, chunk)| Op::Retain {
                now: now * 1000,
                raw: raw * step,
                keep,
                step,
                chunk,
            }),
        1 => (0u8..5).prop_map(|series| Op::Delete { series }),
    ]
}

fn apply(store: &mut Store, other: &mut Store, op: &Op) {
    match op {
        Op::Append { points, other: o } => {
            let points: Vec<Point> = points.iter().map(|&(i, t, v)| pt(i, t, v)).collect();
            let target = if *o { other } else { store };
            target.append_points(&points).unwrap();
        }
        Op::Upsert { series, samples } => {
            let mut samples: Vec<Sample> = samples
                .iter()
                .map(|&(ts, value)| Sample {
                    ts: Timestamp(ts),
                    value,
                })
                .collect();
            samples.sort_by_key(|s| s.ts);
            samples.dedup_by_key(|s| s.ts);
            let s = Series::new(key(*series), Labels::new(), samples).unwrap();
            store.upsert_series(&s).unwrap();
        }
        Op::Flush => {
            store.flush_head().unwrap();
        }
        Op::Retain {
            now,
            raw,
            keep,
            step,
            chunk,
        } => {
            let r = Retention {
                raw_for: Duration::from_secs(*raw),
                rollup_for: keep.map(|k| Duration::from_secs(raw + k)),
                rollup_step: Duration::from_secs(*step),
                max_rows_per_transaction: *chunk,
            };
            store.apply_retention(&r, Timestamp(*now)).unwrap();
        }
        Op::Delete { series } => {
            store.delete_series(&key(*series)).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// After every write of a random sequence, the summaries read back equal the full scans.
    #[test]
    fn kept_summaries_equal_the_scan(ops in proptest::collection::vec(op(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prescale.db");
        let mut store = Store::open(&path).unwrap();
        let mut other = Store::open(&path).unwrap();
        let conn = Connection::open(&path).unwrap();
        for (i, op) in ops.iter().enumerate() {
            apply(&mut store, &mut other, op);
            prop_assert_eq!(kept(&store), expected(&conn), "step {}: {:?}", i, op);
            let columns: Vec<Summary> = kept_columns(&conn);
            prop_assert_eq!(&columns, &oracle(&conn), "step {}: {:?}", i, op);
            prop_assert_eq!(kept(&store), expected(&conn), "step {}: {:?}", i, op);
        }
    }
}

#[test]
fn a_head_row_repeating_a_rolled_up_time_stays_counted_as_raw() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prescale.db");
    let mut store = Store::open(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    store
        .append_points(&[pt(0, 0, 1.0), pt(0, 1000, 2.0), pt(0, 90_000, 3.0)])
        .unwrap();
    let r = Retention {
        raw_for: Duration::from_secs(60),
        rollup_for: None,
        rollup_step: Duration::from_secs(60),
        max_rows_per_transaction: 100,
    };
    store.apply_retention(&r, Timestamp(125_000)).unwrap();
    // A late sample into the rolled-up step sits in the head, raw, next to the rollup.
    store.append_points(&[pt(0, 1000, 5.0)]).unwrap();
    assert_eq!(kept_columns(&conn), oracle(&conn));
    let s = &store.workload_summaries().unwrap()[0].series[0];
    assert_eq!(
        (s.samples, s.rollups, s.rolled_samples, s.first, s.last),
        (2, 1, 2, Some(Timestamp(0)), Some(Timestamp(90_000)))
    );
}

#[test]
fn batches_of_many_series_keep_every_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prescale.db");
    let mut store = Store::open(&path).unwrap();
    let conn = Connection::open(&path).unwrap();
    let many = |i: usize, ts: i64| Point {
        key: SeriesKey::new(
            WorkloadId::new(format!("w{}", i % 7)).unwrap(),
            MetricName::new(format!("m{i}")).unwrap(),
        ),
        labels: Labels::new(),
        sample: Sample {
            ts: Timestamp(ts),
            value: i as f64,
        },
    };
    // 150 series a batch (more than one statement's worth of summaries, and a remainder); later
    // batches repeat some times, go back in time and skip series.
    for (round, times) in [[0, 5], [5, 10], [-5, 5], [20, 20]].iter().enumerate() {
        let points: Vec<Point> = (0..150)
            .filter(|i| round == 0 || i % (round + 1) != 0)
            .flat_map(|i| times.iter().map(move |&t| many(i, t * 1000 + i as i64)))
            .collect();
        store.append_points(&points).unwrap();
        assert_eq!(kept_columns(&conn), oracle(&conn), "round {round}");
        assert_eq!(kept(&store), expected(&conn), "round {round}");
    }
}
