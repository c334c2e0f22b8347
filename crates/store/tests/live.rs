//! Live telemetry through the public store API: appends, retention and rollups, windows, summaries.

use prescale_core::point::SeriesPoints;
use prescale_core::{Labels, MetricName, Point, Sample, Series, SeriesKey, Timestamp, WorkloadId};
use prescale_store::{AppendStats, Retention, RetentionStats, Rollup, Store};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn key(wl: &str, m: &str) -> SeriesKey {
    SeriesKey::new(WorkloadId::new(wl).unwrap(), MetricName::new(m).unwrap())
}

fn labels(src: &str) -> Labels {
    let mut l = Labels::new();
    l.insert("src".into(), src.into());
    l
}

fn pt(k: &SeriesKey, ts: i64, value: f64) -> Point {
    Point {
        key: k.clone(),
        labels: labels("t"),
        sample: Sample {
            ts: Timestamp(ts),
            value,
        },
    }
}

fn s(ts: i64, value: f64) -> Sample {
    Sample {
        ts: Timestamp(ts),
        value,
    }
}

fn raw(store: &Store, k: &SeriesKey) -> Vec<(i64, f64)> {
    store.load_series(k).unwrap().map_or_else(Vec::new, |s| {
        s.samples().iter().map(|s| (s.ts.0, s.value)).collect()
    })
}

fn all_rollups(store: &Store, k: &SeriesKey) -> Vec<Rollup> {
    store
        .load_rollups(k, Timestamp(i64::MIN), Timestamp(i64::MAX))
        .unwrap()
}

/// (start, count, sum, min, max) of each rollup.
fn rollup_rows(store: &Store, k: &SeriesKey) -> Vec<(i64, u64, f64, f64, f64)> {
    all_rollups(store, k)
        .iter()
        .map(|r| (r.start.0, r.count, r.sum, r.min, r.max))
        .collect()
}

fn whole(store: &Store, k: &SeriesKey) -> Vec<Sample> {
    store
        .load_window(k, Timestamp(i64::MIN), Timestamp(i64::MAX))
        .unwrap()
}

fn retention(raw_secs: u64, rollup_secs: Option<u64>, step_secs: u64) -> Retention {
    Retention {
        raw_for: Duration::from_secs(raw_secs),
        rollup_for: rollup_secs.map(Duration::from_secs),
        rollup_step: Duration::from_secs(step_secs),
        ..Retention::default()
    }
}

/// A fresh temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("prescale-live-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn db(&self) -> PathBuf {
        self.0.join("prescale.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn append_creates_series_keeps_the_last_write_and_accepts_any_order() {
    let mut store = Store::open_in_memory().unwrap();
    let a = key("web", "cpu");
    let b = key("db", "cpu");
    let stats = store
        .append_points(&[
            pt(&a, 15_000, 1.0),
            pt(&a, 0, 2.0),
            pt(&b, 0, 3.0),
            pt(&a, 15_000, 5.0),
        ])
        .unwrap();
    assert_eq!(
        stats,
        AppendStats {
            inserted: 3,
            replaced: 1,
            new_series: 2,
            flushed: 0
        }
    );
    assert_eq!(raw(&store, &a), [(0, 2.0), (15_000, 5.0)]);
    assert_eq!(raw(&store, &b), [(0, 3.0)]);
    assert_eq!(store.cached_series(), 2);

    let stats = store
        .append_points(&[pt(&a, 0, 7.0), pt(&a, -15_000, 0.5)])
        .unwrap();
    assert_eq!(
        stats,
        AppendStats {
            inserted: 1,
            replaced: 1,
            new_series: 0,
            flushed: 0
        }
    );
    assert_eq!(raw(&store, &a), [(-15_000, 0.5), (0, 7.0), (15_000, 5.0)]);
    assert_eq!(store.append_points(&[]).unwrap(), AppendStats::default());

    // New labels on a known series rewrite the stored labels.
    let mut relabelled = pt(&a, 30_000, 1.0);
    relabelled.labels = labels("u");
    store.append_points(&[relabelled.clone()]).unwrap();
    assert_eq!(store.load_series(&a).unwrap().unwrap().labels, labels("u"));
    // Within one batch the last labels win as well.
    relabelled.labels = labels("v");
    relabelled.sample.ts = Timestamp(45_000);
    store
        .append_points(&[pt(&a, 40_000, 1.0), relabelled, pt(&b, 1, 1.0)])
        .unwrap();
    assert_eq!(store.load_series(&a).unwrap().unwrap().labels, labels("v"));
    assert_eq!(store.load_series(&b).unwrap().unwrap().labels, labels("t"));
}

/// Samples of `k` grouped, with shared key and labels.
fn group(k: &SeriesKey, src: &str, samples: &[(i64, f64)]) -> SeriesPoints {
    SeriesPoints {
        key: Arc::new(k.clone()),
        labels: Arc::new(labels(src)),
        samples: samples.iter().map(|&(ts, v)| s(ts, v)).collect(),
    }
}

#[test]
fn grouped_appends_equal_one_point_per_sample() {
    let a = key("web", "cpu");
    let b = key("db", "cpu");
    // Out of order within a group, a repeat across groups, a series in two groups, points first.
    let points = [pt(&b, 0, 9.0)];
    let series = [
        group(&a, "t", &[(15_000, 1.0), (0, 2.0)]),
        group(&b, "t", &[(0, 3.0), (30_000, 4.0)]),
        group(&a, "u", &[(15_000, 5.0), (45_000, 6.0)]),
    ];
    let mut flat: Vec<Point> = points.to_vec();
    flat.extend(series.iter().flat_map(SeriesPoints::points));
    let mut grouped = Store::open_in_memory().unwrap();
    let mut by_point = Store::open_in_memory().unwrap();
    let g = grouped.append_batch(&points, &series).unwrap();
    let p = by_point.append_points(&flat).unwrap();
    assert_eq!(g, p);
    assert_eq!(
        g,
        AppendStats {
            inserted: 5,
            replaced: 2,
            new_series: 2,
            flushed: 0
        }
    );
    for k in [&a, &b] {
        assert_eq!(raw(&grouped, k), raw(&by_point, k), "{k}");
    }
    assert_eq!(raw(&grouped, &a), [(0, 2.0), (15_000, 5.0), (45_000, 6.0)]);
    assert_eq!(raw(&grouped, &b), [(0, 3.0), (30_000, 4.0)]);
    // The last labels written win, as for points.
    assert_eq!(
        grouped.load_series(&a).unwrap().unwrap().labels,
        labels("u")
    );
    // A non-finite sample refuses the batch, naming its series.
    let err = grouped
        .append_series(&[group(&a, "t", &[(60_000, 1.0), (75_000, f64::INFINITY)])])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "appending 2 points: a sample of web/cpu at 75000ms has the non-finite value"
        ),
        "{err}"
    );
    assert_eq!(raw(&grouped, &a).len(), 3);
}

#[test]
fn a_non_finite_value_rejects_the_whole_batch() {
    let mut store = Store::open_in_memory().unwrap();
    let a = key("web", "cpu");
    let c = key("web", "new");
    store.append_points(&[pt(&a, 0, 1.0)]).unwrap();
    let err = store
        .append_points(&[pt(&c, 0, 1.0), pt(&a, 60, f64::NAN)])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("appending 2 points: point 1 (web/cpu at 60ms) has the non-finite value"),
        "{err}"
    );
    assert!(store.load_series(&c).unwrap().is_none());
    assert_eq!(raw(&store, &a), [(0, 1.0)]);
}

#[test]
fn a_batch_that_fails_midway_writes_nothing_and_does_not_poison_the_cache() {
    let dir = TempDir::new("atomic");
    let a = key("web", "cpu");
    let d = key("web", "disk");
    let mut store = Store::open(&dir.db()).unwrap();
    store.append_points(&[pt(&a, 0, 1.0)]).unwrap();
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON wal_log
             BEGIN SELECT RAISE(ABORT, 'forced failure'); END;",
        )
        .unwrap();
    }
    // The new series row is written inside the transaction before the log row fails.
    let err = store
        .append_points(&[pt(&d, 1, 1.0), pt(&a, 0, 50.0), pt(&a, 999, 9.0)])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("appending 3 points:") && err.contains("forced failure"),
        "{err}"
    );
    assert!(store.load_series(&d).unwrap().is_none());
    assert_eq!(raw(&store, &a), [(0, 1.0)]);
    rusqlite::Connection::open(dir.db())
        .unwrap()
        .execute_batch("DROP TRIGGER boom")
        .unwrap();
    // The rolled-back series row must not be remembered.
    let stats = store.append_points(&[pt(&d, 1, 1.0)]).unwrap();
    assert_eq!(stats.new_series, 1);
    drop(store);
    let store = Store::open(&dir.db()).unwrap();
    assert_eq!(raw(&store, &d), [(1, 1.0)]);
    assert_eq!(raw(&store, &a), [(0, 1.0)]);
}

#[test]
fn cached_ids_follow_deletes_by_this_and_other_handles() {
    let dir = TempDir::new("cache");
    let e = key("web", "e");
    let f = key("web", "f");
    let mut writer = Store::open(&dir.db()).unwrap();
    writer.append_points(&[pt(&e, 0, 1.0)]).unwrap();
    assert!(writer.delete_series(&e).unwrap());
    let stats = writer.append_points(&[pt(&e, 1, 2.0)]).unwrap();
    assert_eq!(stats.new_series, 1);
    assert_eq!(raw(&writer, &e), [(1, 2.0)]);

    // Another handle deletes e; SQLite may hand its row id to the next new series, f.
    let mut other = Store::open(&dir.db()).unwrap();
    assert!(other.delete_series(&e).unwrap());
    let f_series = Series::new(f.clone(), Labels::new(), vec![s(0, 42.0)]).unwrap();
    other.upsert_series(&f_series).unwrap();
    let stats = writer.append_points(&[pt(&e, 5, 3.0)]).unwrap();
    assert_eq!(stats.new_series, 1);
    assert_eq!(raw(&writer, &e), [(5, 3.0)]);
    assert_eq!(raw(&writer, &f), [(0, 42.0)]);
}

#[test]
fn the_head_is_read_through_flushed_and_overridden() {
    let dir = TempDir::new("head");
    let a = key("web", "cpu");
    let mut store = Store::open(&dir.db()).unwrap();
    store
        .append_points(&[pt(&a, 0, 1.0), pt(&a, 10, 2.0)])
        .unwrap();
    assert_eq!(store.flush_head().unwrap(), 2);
    assert_eq!(store.flush_head().unwrap(), 0);
    // 10 is now in the main table, 20 only in the head: a repeat is found in either.
    let stats = store
        .append_points(&[pt(&a, 20, 3.0), pt(&a, 10, 20.0)])
        .unwrap();
    assert_eq!((stats.inserted, stats.replaced), (1, 1));
    let stats = store
        .append_points(&[pt(&a, 20, 30.0), pt(&a, 5, 0.5)])
        .unwrap();
    assert_eq!((stats.inserted, stats.replaced), (1, 1));
    let want = [(0, 1.0), (5, 0.5), (10, 20.0), (20, 30.0)];
    assert_eq!(raw(&store, &a), want);
    // Another handle reads the head too, and summaries do not count a repeat twice.
    let other = Store::open(&dir.db()).unwrap();
    assert_eq!(raw(&other, &a), want);
    let info = &other.list_series().unwrap()[0];
    assert_eq!(
        (info.samples, info.first_ts, info.last_ts),
        (4, Some(Timestamp(0)), Some(Timestamp(20)))
    );
    let summary = &other.workload_summaries().unwrap()[0].series[0];
    assert_eq!((summary.samples, summary.last), (4, Some(Timestamp(20))));
    assert_eq!(
        store
            .load_series_until(&a, Timestamp(10))
            .unwrap()
            .unwrap()
            .values(),
        [1.0, 0.5, 20.0]
    );

    // A whole-series write overrides the head; a delete removes head rows too.
    let series = Series::new(a.clone(), labels("csv"), vec![s(20, 99.0)]).unwrap();
    store.upsert_series(&series).unwrap();
    assert_eq!(
        raw(&store, &a),
        [(0, 1.0), (5, 0.5), (10, 20.0), (20, 99.0)]
    );
    store.append_points(&[pt(&a, 30, 1.0)]).unwrap();
    assert!(store.delete_series(&a).unwrap());
    assert_eq!(
        store.append_points(&[pt(&a, 40, 4.0)]).unwrap().new_series,
        1
    );
    assert_eq!(raw(&store, &a), [(40, 4.0)]);
    assert_eq!(store.flush_head().unwrap(), 1);
    assert_eq!(raw(&other, &a), [(40, 4.0)]);
}

#[test]
fn head_rows_of_a_series_deleted_behind_our_back_do_not_block_flushes() {
    let dir = TempDir::new("orphan");
    let a = key("web", "cpu");
    let b = key("web", "mem");
    let mut store = Store::open(&dir.db()).unwrap();
    store
        .append_points(&[pt(&a, 0, 1.0), pt(&b, 0, 2.0)])
        .unwrap();
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.execute("DELETE FROM series WHERE metric = 'cpu'", [])
            .unwrap();
    }
    assert_eq!(store.flush_head().unwrap(), 1);
    assert!(store.load_series(&a).unwrap().is_none());
    assert_eq!(raw(&store, &b), [(0, 2.0)]);
    assert_eq!(
        store.append_points(&[pt(&a, 5, 1.0)]).unwrap().new_series,
        1
    );
}

#[test]
fn a_full_head_is_flushed_by_the_next_append() {
    let mut store = Store::open_in_memory().unwrap();
    let keys: Vec<SeriesKey> = (0..50).map(|i| key("w", &format!("m{i}"))).collect();
    let mut flushed = 0;
    let mut t = 0;
    // Batches of 5,000 points: every batch opens a generation, the head flushes at 262,144 rows.
    for _ in 0..60 {
        let batch: Vec<Point> = (0..100)
            .flat_map(|i| {
                keys.iter()
                    .map(move |k| pt(k, (t + i) * 1000, (t + i) as f64))
            })
            .collect();
        t += 100;
        let stats = store.append_points(&batch).unwrap();
        assert_eq!(stats.inserted, 5000);
        flushed += stats.flushed;
    }
    assert!(flushed >= 262_144, "{flushed}");
    for k in &keys {
        let got = raw(&store, k);
        assert_eq!(got.len(), 6000);
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, &(t, v))| t == i as i64 * 1000 && v == i as f64));
    }
}

/// Samples of one series over three steps of 60 s (and one before the epoch).
fn known_series(store: &mut Store, k: &SeriesKey) {
    store
        .append_points(&[
            pt(k, 0, 1.0),
            pt(k, 15_000, 2.0),
            pt(k, 30_000, 6.0),
            pt(k, 45_000, 3.0),
            pt(k, 60_000, 10.0),
            pt(k, 75_000, -2.0),
            pt(k, 120_000, 5.0),
            pt(k, -30_000, 7.0),
        ])
        .unwrap();
}

#[test]
fn retention_rolls_whole_steps_up_known_answer() {
    let mut store = Store::open_in_memory().unwrap();
    let k = key("web", "cpu");
    known_series(&mut store, &k);
    // now - raw_for = 125 s, aligned down to the step: samples before 120 s are rolled up.
    let stats = store
        .apply_retention(&retention(60, None, 60), Timestamp(185_000))
        .unwrap();
    assert_eq!(
        stats,
        RetentionStats {
            flushed: 8,
            raw_rolled_up: 7,
            rollups_written: 3,
            rollups_deleted: 0,
            series_dropped: 0,
            transactions: 1
        }
    );
    assert_eq!(
        rollup_rows(&store, &k),
        [
            (-60_000, 1, 7.0, 7.0, 7.0),
            (0, 4, 12.0, 1.0, 6.0),
            (60_000, 2, 8.0, -2.0, 10.0)
        ]
    );
    let r = all_rollups(&store, &k);
    assert_eq!(r[1].mean(), 3.0);
    assert_eq!(r[1].step.millis(), 60_000);
    assert_eq!(raw(&store, &k), [(120_000, 5.0)], "load_series stays raw");
    assert_eq!(
        whole(&store, &k),
        [s(-60_000, 7.0), s(0, 3.0), s(60_000, 4.0), s(120_000, 5.0)]
    );
    assert_eq!(
        store
            .load_window(&k, Timestamp(0), Timestamp(60_000))
            .unwrap(),
        [s(0, 3.0), s(60_000, 4.0)]
    );
    assert!(store
        .load_window(&k, Timestamp(10), Timestamp(0))
        .unwrap()
        .is_empty());
    assert!(store
        .load_window(&key("no", "such"), Timestamp(0), Timestamp(10))
        .unwrap()
        .is_empty());
}

#[test]
fn late_samples_merge_into_their_rolled_step() {
    let mut store = Store::open_in_memory().unwrap();
    let k = key("web", "cpu");
    known_series(&mut store, &k);
    let ret = retention(60, None, 60);
    store.apply_retention(&ret, Timestamp(185_000)).unwrap();
    store
        .append_points(&[pt(&k, 50_000, 9.0), pt(&k, 61_000, -5.0)])
        .unwrap();
    // Before the next run the window already shows the merged means.
    assert_eq!(
        whole(&store, &k),
        [
            s(-60_000, 7.0),
            s(0, 21.0 / 5.0),
            s(60_000, 3.0 / 3.0),
            s(120_000, 5.0)
        ]
    );
    let stats = store.apply_retention(&ret, Timestamp(185_000)).unwrap();
    assert_eq!((stats.raw_rolled_up, stats.rollups_written), (2, 2));
    assert_eq!(
        rollup_rows(&store, &k),
        [
            (-60_000, 1, 7.0, 7.0, 7.0),
            (0, 5, 21.0, 1.0, 9.0),
            (60_000, 3, 3.0, -5.0, 10.0)
        ]
    );
    assert_eq!(
        whole(&store, &k),
        [
            s(-60_000, 7.0),
            s(0, 21.0 / 5.0),
            s(60_000, 1.0),
            s(120_000, 5.0)
        ]
    );
}

#[test]
fn tiny_chunks_give_the_same_rollups_as_one_transaction() {
    let k = key("web", "cpu");
    let j = key("web", "mem");
    let mut one = Store::open_in_memory().unwrap();
    let mut tiny = Store::open_in_memory().unwrap();
    for store in [&mut one, &mut tiny] {
        known_series(store, &k);
        known_series(store, &j);
    }
    let ret = retention(60, Some(3600), 60);
    let a = one.apply_retention(&ret, Timestamp(185_000)).unwrap();
    let small = Retention {
        max_rows_per_transaction: 1,
        ..ret
    };
    let b = tiny.apply_retention(&small, Timestamp(185_000)).unwrap();
    assert_eq!(a.raw_rolled_up, b.raw_rolled_up);
    assert_eq!(a.transactions, 1);
    // Raw samples go a whole stored chunk at a time: at least one transaction per series for
    // its chunk and one per series visited.
    assert!(b.transactions >= 4, "{b:?}");
    for key in [&k, &j] {
        assert_eq!(rollup_rows(&one, key), rollup_rows(&tiny, key));
        assert_eq!(whole(&one, key), whole(&tiny, key));
    }
}

#[test]
fn retention_twice_changes_nothing_the_second_time() {
    let mut store = Store::open_in_memory().unwrap();
    let k = key("web", "cpu");
    known_series(&mut store, &k);
    let ret = retention(60, Some(150), 60);
    let first = store.apply_retention(&ret, Timestamp(185_000)).unwrap();
    assert!(
        first.raw_rolled_up > 0 && first.rollups_deleted > 0,
        "{first:?}"
    );
    let before = (
        rollup_rows(&store, &k),
        raw(&store, &k),
        store.workload_summaries().unwrap(),
    );
    let second = store.apply_retention(&ret, Timestamp(185_000)).unwrap();
    assert_eq!(
        second,
        RetentionStats {
            transactions: 1,
            ..RetentionStats::default()
        }
    );
    let after = (
        rollup_rows(&store, &k),
        raw(&store, &k),
        store.workload_summaries().unwrap(),
    );
    assert_eq!(before, after);
}

#[test]
fn old_rollups_expire_empty_live_series_go_and_saved_series_stay() {
    let mut store = Store::open_in_memory().unwrap();
    let k = key("web", "cpu");
    let points: Vec<Point> = (0..=10).map(|i| pt(&k, i * 60_000, i as f64)).collect();
    store.append_points(&points).unwrap();
    let saved = key("trace", "cpu");
    let old = Series::new(
        saved.clone(),
        labels("csv"),
        vec![s(0, 1.0), s(60_000, 2.0)],
    )
    .unwrap();
    store.upsert_series(&old).unwrap();
    // A live series after the saved one, so that the saved one's id lies inside the live group.
    let late = key("web", "late");
    store.append_points(&[pt(&late, 0, 1.0)]).unwrap();

    let ret = retention(60, Some(300), 60);
    let stats = store.apply_retention(&ret, Timestamp(600_000)).unwrap();
    // Raw cut at 540 s: 9 samples rolled; rollups cut at 300 s: steps 0..=240 s deleted.
    assert_eq!(
        (
            stats.raw_rolled_up,
            stats.rollups_written,
            stats.rollups_deleted
        ),
        (10, 10, 6)
    );
    assert_eq!(raw(&store, &saved), [(0, 1.0), (60_000, 2.0)]);
    assert_eq!(
        whole(&store, &k),
        (5..=10)
            .map(|i| s(i * 60_000, i as f64))
            .collect::<Vec<_>>()
    );
    assert_eq!(all_rollups(&store, &k).len(), 4);

    let stats = store.apply_retention(&ret, Timestamp(10_000_000)).unwrap();
    assert_eq!(stats.series_dropped, 1);
    assert!(
        store.load_series(&late).unwrap().is_none(),
        "dropped the run before"
    );
    assert!(store.load_series(&k).unwrap().is_none());
    assert_eq!(raw(&store, &saved), [(0, 1.0), (60_000, 2.0)]);
    let summaries = store.workload_summaries().unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].workload.as_str(), "trace");
    assert!(!summaries[0].series[0].live);
    // A dropped series comes back as new.
    assert_eq!(
        store
            .append_points(&[pt(&k, 20_000_000, 1.0)])
            .unwrap()
            .new_series,
        1
    );
}

#[test]
fn workload_summaries_count_raw_and_rollups() {
    let mut store = Store::open_in_memory().unwrap();
    let cpu = key("web", "cpu");
    let mem = key("web", "mem");
    let db = key("db", "cpu");
    known_series(&mut store, &cpu);
    store
        .append_points(&[pt(&mem, 1_000, 1.0), pt(&db, 200_000, 2.0)])
        .unwrap();
    store
        .apply_retention(&retention(60, None, 60), Timestamp(185_000))
        .unwrap();
    let got = store.workload_summaries().unwrap();
    let names: Vec<(&str, Vec<&str>)> = got
        .iter()
        .map(|w| {
            (
                w.workload.as_str(),
                w.series.iter().map(|s| s.metric.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(names, [("db", vec!["cpu"]), ("web", vec!["cpu", "mem"])]);
    let web_cpu = &got[1].series[0];
    assert_eq!(
        (
            web_cpu.samples,
            web_cpu.rollups,
            web_cpu.rolled_samples,
            web_cpu.first,
            web_cpu.last
        ),
        (1, 3, 7, Some(Timestamp(-60_000)), Some(Timestamp(120_000)))
    );
    assert!(web_cpu.live);
    assert_eq!(web_cpu.labels, labels("t"));
    let web_mem = &got[1].series[1];
    assert_eq!(
        (
            web_mem.samples,
            web_mem.rollups,
            web_mem.first,
            web_mem.last
        ),
        (0, 1, Some(Timestamp(0)), Some(Timestamp(0)))
    );
    assert_eq!(got[0].series[0].samples, 1);
    assert!(Store::open_in_memory()
        .unwrap()
        .workload_summaries()
        .unwrap()
        .is_empty());
}

#[test]
fn bad_retention_settings_are_named() {
    let cases = [
        (
            Retention {
                rollup_step: Duration::from_millis(500),
                ..Retention::default()
            },
            "rollup_step 500ms is outside 1s..=1d",
        ),
        (
            Retention {
                rollup_step: Duration::from_micros(1_500_500),
                ..Retention::default()
            },
            "not a whole number of milliseconds",
        ),
        (
            retention(30, None, 60),
            "raw_for 30s is shorter than rollup_step 60s",
        ),
        (
            retention(3600, Some(3600), 60),
            "rollup_for 3600s must be longer than raw_for 3600s",
        ),
        (
            Retention {
                max_rows_per_transaction: 0,
                ..Retention::default()
            },
            "max_rows_per_transaction must be at least 1",
        ),
    ];
    let mut store = Store::open_in_memory().unwrap();
    for (bad, want) in cases {
        let msg = bad.validate().unwrap_err().to_string();
        assert!(msg.contains(want), "{msg}");
        let msg = store
            .apply_retention(&bad, Timestamp(0))
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("applying retention at 0ms:") && msg.contains(want),
            "{msg}"
        );
    }
    assert!(Retention::default().validate().is_ok());
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashMap};

    type Raw = Vec<(u8, i64, f64)>;

    fn points() -> impl Strategy<Value = Raw> {
        proptest::collection::vec((0u8..3, -300_000i64..900_000, -1000.0f64..1000.0), 1..120)
    }

    /// Batches of (series, ts, value), each maybe followed by a flush of the head.
    fn batches() -> impl Strategy<Value = Vec<(Raw, bool)>> {
        proptest::collection::vec(
            (
                proptest::collection::vec((0u8..3, -20i64..20, -100.0f64..100.0), 0..30),
                any::<bool>(),
            ),
            1..8,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Appends behave like inserts into a map (last write wins), whether the earlier values sit
        /// in the head or were flushed, and the counts say which samples were new.
        #[test]
        fn appends_merge_like_a_map(batches in batches()) {
            let mut store = Store::open_in_memory().unwrap();
            let keys: Vec<SeriesKey> = (0..3).map(|i| key("w", &format!("m{i}"))).collect();
            let mut model: BTreeMap<(u8, i64), f64> = BTreeMap::new();
            for (batch, flush) in &batches {
                let points: Vec<Point> =
                    batch.iter().map(|&(sid, ts, v)| pt(&keys[sid as usize], ts, v)).collect();
                let before = model.len();
                for &(sid, ts, v) in batch {
                    model.insert((sid, ts), v);
                }
                let stats = store.append_points(&points).unwrap();
                prop_assert_eq!(stats.inserted, model.len() - before);
                prop_assert_eq!(stats.inserted + stats.replaced, batch.len());
                if *flush {
                    store.flush_head().unwrap();
                }
            }
            let mut listed = 0;
            for (sid, k) in keys.iter().enumerate() {
                let want: Vec<(i64, f64)> = model
                    .range((sid as u8, i64::MIN)..=(sid as u8, i64::MAX))
                    .map(|(&(_, t), &v)| (t, v))
                    .collect();
                prop_assert_eq!(raw(&store, k), want.clone());
                listed += want.len();
            }
            let total: usize = store.list_series().unwrap().iter().map(|i| i.samples).sum();
            prop_assert_eq!(total, listed);
        }

        /// Two batches, each followed by a retention run: every distinct (series, ts) is counted once,
        /// raw or in a rollup; each rollup holds exactly the count, min and max of its step's values
        /// and their sum; the count-weighted mean of the rollups equals the mean of the values that
        /// left the raw table.
        #[test]
        fn retention_conserves_samples_and_means(
            pts in points(),
            now1 in 0i64..600_000,
            later in 0i64..600_000,
            step_pick in 0usize..3,
            chunk in 1usize..40,
        ) {
            let step_secs = [1u64, 7, 60][step_pick];
            let ret = Retention {
                max_rows_per_transaction: chunk,
                ..retention(60, None, step_secs)
            };
            let step = step_secs as i64 * 1000;
            let keys: Vec<SeriesKey> = (0..3).map(|i| key("w", &format!("m{i}"))).collect();
            // Each (series, ts) belongs to the batch of its first occurrence, so a value is never
            // rewritten after its step was rolled up; repeats within a batch keep the last value.
            let mut half: HashMap<(u8, i64), usize> = HashMap::new();
            let mut batches: [Vec<Point>; 2] = [Vec::new(), Vec::new()];
            let mut expected: BTreeMap<(u8, i64), f64> = BTreeMap::new();
            for (i, &(sid, ts, v)) in pts.iter().enumerate() {
                let h = *half.entry((sid, ts)).or_insert(i % 2);
                batches[h].push(pt(&keys[sid as usize], ts, v));
                expected.insert((sid, ts), v);
            }
            let mut store = Store::open_in_memory().unwrap();
            let now2 = now1 + later;
            store.append_points(&batches[0]).unwrap();
            store.apply_retention(&ret, Timestamp(now1)).unwrap();
            store.append_points(&batches[1]).unwrap();
            store.apply_retention(&ret, Timestamp(now2)).unwrap();
            let cut = (now2 - 60_000).div_euclid(step) * step;

            let mut total = 0u64;
            for (sid, k) in keys.iter().enumerate() {
                let sid = sid as u8;
                let mine: Vec<(i64, f64)> = expected
                    .range((sid, i64::MIN)..=(sid, i64::MAX))
                    .map(|(&(_, t), &v)| (t, v))
                    .collect();
                let kept: Vec<(i64, f64)> = mine.iter().copied().filter(|&(t, _)| t >= cut).collect();
                prop_assert_eq!(raw(&store, k), kept.clone());
                let gone: Vec<(i64, f64)> = mine.iter().copied().filter(|&(t, _)| t < cut).collect();
                let mut steps: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
                for &(t, v) in &gone {
                    steps.entry(t.div_euclid(step) * step).or_default().push(v);
                }
                let rollups = all_rollups(&store, k);
                prop_assert_eq!(rollups.len(), steps.len());
                let (mut sum, mut n) = (0.0, 0u64);
                for (r, (start, values)) in rollups.iter().zip(&steps) {
                    prop_assert_eq!(r.start.0, *start);
                    prop_assert_eq!(r.count, values.len() as u64);
                    prop_assert_eq!(r.min, values.iter().copied().fold(f64::INFINITY, f64::min));
                    prop_assert_eq!(r.max, values.iter().copied().fold(f64::NEG_INFINITY, f64::max));
                    let want: f64 = values.iter().sum();
                    prop_assert!((r.sum - want).abs() <= 1e-9 * (1.0 + want.abs()), "{} vs {}", r.sum, want);
                    sum += r.sum;
                    n += r.count;
                }
                if !gone.is_empty() {
                    let want = gone.iter().map(|&(_, v)| v).sum::<f64>() / gone.len() as f64;
                    let got = sum / n as f64;
                    prop_assert!((got - want).abs() <= 1e-9 * (1.0 + want.abs()), "{} vs {}", got, want);
                }
                total += kept.len() as u64 + n;
                let window = whole(&store, k);
                prop_assert_eq!(window.len(), kept.len() + rollups.len());
                prop_assert!(window.windows(2).all(|w| w[0].ts < w[1].ts));
            }
            prop_assert_eq!(total, expected.len() as u64);
        }
    }
}

/// A new store file and its WAL are readable by their owner only (issue 12): telemetry, decisions
/// and annotations are not for every local user.
#[cfg(unix)]
#[test]
fn a_new_store_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let store = Store::open(&db).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&db), 0o600, "{:o}", mode(&db));
    let wal = dir.path().join("p.db-wal");
    if wal.exists() {
        assert_eq!(mode(&wal), 0o600, "{:o}", mode(&wal));
    }
    drop(store);
    // An existing file keeps the permissions its owner gave it.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
    drop(Store::open(&db).unwrap());
    assert_eq!(mode(&db), 0o640);
}

#[test]
fn deferred_appends_are_visible_at_once_and_waits_together_share_one_fsync() {
    let dir = TempDir::new("group-commit");
    let k = key("web", "cpu");
    let mut store = Store::open(&dir.db()).unwrap();
    let before = store.journal_syncs();
    let pending: Vec<_> = (0..10)
        .map(|b| {
            let (stats, p) = store
                .append_batch_deferred(&[], &[group(&k, "a", &[(b * 1000, b as f64)])])
                .unwrap();
            assert_eq!(stats.inserted, 1);
            p
        })
        .collect();
    // Committed: every read sees them before any wait.
    assert_eq!(raw(&store, &k).len(), 10);
    assert_eq!(store.journal_syncs(), before, "no fsync before a wait");
    // The first wait fsyncs once for all ten; the others find themselves covered.
    for p in pending {
        p.wait().unwrap();
    }
    assert_eq!(store.journal_syncs(), before + 1);
    // A plain append waits for its own fsync; an empty one has nothing to wait for.
    store.append_points(&[pt(&k, 20_000, 1.0)]).unwrap();
    assert_eq!(store.journal_syncs(), before + 2);
    store.append_points(&[]).unwrap();
    let (_, p) = store.append_batch_deferred(&[], &[]).unwrap();
    p.wait().unwrap();
    assert_eq!(store.journal_syncs(), before + 2);
    drop(store);
    let store = Store::open(&dir.db()).unwrap();
    assert_eq!(raw(&store, &k).len(), 11);

    // At synchronous=NORMAL and in memory there is nothing to fsync.
    let normal = prescale_store::StoreOptions {
        synchronous: prescale_store::Synchronous::Normal,
    };
    let mut store = Store::open_with(&dir.db(), &normal).unwrap();
    store.append_points(&[pt(&k, 30_000, 1.0)]).unwrap();
    let mut memory = Store::open_in_memory().unwrap();
    memory.append_points(&[pt(&k, 30_000, 1.0)]).unwrap();
    assert_eq!((store.journal_syncs(), memory.journal_syncs()), (0, 0));
}

/// Several processes' first opens of one new file at once (the demo's daemon and its watcher,
/// every instance of a restart): each waits for the others' setup instead of failing with
/// "database is locked" (SQLite answers some of those steps busy without calling its busy
/// handler, e.g. while another connection switches a new file to WAL).
#[test]
fn concurrent_first_opens_of_a_new_file_all_succeed() {
    for round in 0..100 {
        let dir = tempfile::tempdir().unwrap();
        let path = Arc::new(dir.path().join(format!("new-{round}.db")));
        let start = Arc::new(std::sync::Barrier::new(8));
        let opened: Vec<_> = (0..8)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    Store::open(&path).map(|s| s.schema_version().unwrap())
                })
            })
            .collect();
        for t in opened {
            let version = t.join().unwrap();
            assert!(version.is_ok(), "round {round}: {:?}", version.err());
        }
    }
}
