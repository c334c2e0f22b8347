//! `load_series_tail` against `load_series_until` cut to its tail, with the head holding rows of
//! any age: older than the tail, repeating its times, or newer than every stored sample.

use prescale_core::{Labels, MetricName, Point, Sample, Series, SeriesKey, Timestamp, WorkloadId};
use prescale_store::Store;
use proptest::prelude::*;

fn key(m: &str) -> SeriesKey {
    SeriesKey::new(WorkloadId::new("web").unwrap(), MetricName::new(m).unwrap())
}

fn pt(k: &SeriesKey, ts: i64, value: f64) -> Point {
    Point {
        key: k.clone(),
        labels: Labels::new(),
        sample: Sample {
            ts: Timestamp(ts),
            value,
        },
    }
}

fn pairs(s: &Series) -> Vec<(i64, f64)> {
    s.samples().iter().map(|s| (s.ts.0, s.value)).collect()
}

/// The oracle: the whole series up to `until`, cut to its last `n` samples.
fn expected(store: &Store, k: &SeriesKey, until: Option<Timestamp>, n: usize) -> Vec<(i64, f64)> {
    let whole = match until {
        Some(t) => store.load_series_until(k, t),
        None => store.load_series(k),
    };
    let all = pairs(&whole.unwrap().unwrap());
    all[all.len().saturating_sub(n)..].to_vec()
}

#[test]
fn head_rows_older_than_the_tail_or_repeating_it_are_merged() {
    let mut store = Store::open_in_memory().unwrap();
    let k = key("cpu");
    let main: Vec<Point> = (0..10).map(|i| pt(&k, i * 10, i as f64)).collect();
    store.append_points(&main).unwrap();
    store.flush_head().unwrap();
    // Head: an old time between main rows, repeats of tail times (twice, the newer wins), a new time.
    store
        .append_points(&[pt(&k, 15, 100.0), pt(&k, 80, 101.0), pt(&k, 95, 102.0)])
        .unwrap();
    store.append_points(&[pt(&k, 80, 103.0)]).unwrap();
    let tail = store.load_series_tail(&k, None, 4).unwrap().unwrap();
    assert_eq!(
        pairs(&tail),
        [(70, 7.0), (80, 103.0), (90, 9.0), (95, 102.0)]
    );
    let tail = store
        .load_series_tail(&k, Some(Timestamp(80)), 3)
        .unwrap()
        .unwrap();
    assert_eq!(pairs(&tail), [(60, 6.0), (70, 7.0), (80, 103.0)]);
    // Longer than the series: all of it.
    let tail = store
        .load_series_tail(&k, Some(Timestamp(20)), 50)
        .unwrap()
        .unwrap();
    assert_eq!(pairs(&tail), [(0, 0.0), (10, 1.0), (15, 100.0), (20, 2.0)]);
    assert!(store
        .load_series_tail(&k, None, 0)
        .unwrap()
        .unwrap()
        .is_empty());
    assert!(store
        .load_series_tail(&key("mem"), None, 3)
        .unwrap()
        .is_none());
    assert_eq!(tail.labels, Labels::new());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_tail_is_the_end_of_the_whole_series(
        batches in proptest::collection::vec(
            (proptest::collection::vec((0u8..2, 0i64..200, -10.0f64..10.0), 1..30), any::<bool>()),
            1..6,
        ),
        last in proptest::collection::vec((0u8..2, 0i64..200, -10.0f64..10.0), 1..30),
        reads in proptest::collection::vec((0usize..40, proptest::option::of(-10i64..220)), 1..8),
    ) {
        let mut store = Store::open_in_memory().unwrap();
        let keys = [key("cpu"), key("mem")];
        let to_points = |b: &[(u8, i64, f64)]| -> Vec<Point> {
            b.iter().map(|&(i, ts, v)| pt(&keys[i as usize], ts, v)).collect()
        };
        for (batch, flush) in &batches {
            store.append_points(&to_points(batch)).unwrap();
            if *flush {
                store.flush_head().unwrap();
            }
        }
        // The head is never empty when reading.
        store.append_points(&to_points(&last)).unwrap();
        for k in &keys {
            if store.load_series(k).unwrap().is_none() {
                continue;
            }
            for &(n, until) in &reads {
                let until = until.map(Timestamp);
                let got = store.load_series_tail(k, until, n).unwrap().unwrap();
                prop_assert_eq!(pairs(&got), expected(&store, k, until, n));
            }
        }
    }
}
