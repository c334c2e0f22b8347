//! Round trips through the public store API: series, fingerprints, clusterings, models, forecasts.

use prescale_core::{
    ClusterId, Fingerprint, Forecast, Interval, Labels, Level, MetricName, Sample, Series,
    SeriesKey, Timestamp, WorkloadId,
};
use prescale_store::{
    ClusterRecord, ClusteringRun, FingerprintRun, ForecastRecord, ModelRecord, Store, StoreError,
    UpsertStats, SCHEMA_VERSION,
};
use std::path::PathBuf;

fn w(s: &str) -> WorkloadId {
    WorkloadId::new(s).unwrap()
}

fn key(wl: &str, m: &str) -> SeriesKey {
    SeriesKey::new(w(wl), MetricName::new(m).unwrap())
}

fn series(k: &SeriesKey, points: &[(i64, f64)], label: &str) -> Series {
    let mut labels = Labels::new();
    labels.insert("source".into(), label.into());
    let samples = points
        .iter()
        .map(|&(t, v)| Sample {
            ts: Timestamp(t),
            value: v,
        })
        .collect();
    Series::new(k.clone(), labels, samples).unwrap()
}

/// A fresh temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("prescale-store-{name}-{}", std::process::id()));
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
fn migrates_an_empty_file_and_reopens_with_data() {
    let dir = TempDir::new("reopen");
    let k = key("web", "cpu");
    {
        let mut store = Store::open(&dir.db()).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert!(store.list_series().unwrap().is_empty());
        store
            .upsert_series(&series(&k, &[(0, 1.0), (60, 2.0)], "a"))
            .unwrap();
    }
    let store = Store::open(&dir.db()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.load_series(&k).unwrap().unwrap().values(), [1.0, 2.0]);

    // An existing empty file (0 bytes) is a valid empty database.
    let empty = dir.0.join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(
        Store::open(&empty).unwrap().schema_version().unwrap(),
        SCHEMA_VERSION
    );
}

#[test]
fn fingerprints_stored_before_schema_6_have_no_anomaly_score() {
    let dir = TempDir::new("schema5");
    let run = fingerprint_run(1000, &["web", "db"]);
    let id = Store::open(&dir.db())
        .unwrap()
        .save_fingerprint_run(&run)
        .unwrap();
    {
        // Turn the file back into schema 5: no score column (6), no series summaries (7), no
        // fingerprint bases (8), samples as rows (9), no outbox (10).
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.execute_batch(
            "ALTER TABLE fingerprints DROP COLUMN reconstruction_error;
             DROP TRIGGER series_stats_create;
             DROP TRIGGER series_stats_drop;
             DROP TABLE series_stats;
             DROP INDEX fingerprint_runs_by_basis;
             ALTER TABLE fingerprint_runs DROP COLUMN basis;
             DROP TABLE chunks;
             DROP TABLE wal_log;
             DROP TABLE log_state;
             DROP TABLE outbox;
             CREATE TABLE samples (series_id INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
                 ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID;
             CREATE TABLE samples_head (gen INTEGER NOT NULL, series_id INTEGER NOT NULL,
                 ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (gen, series_id, ts)) WITHOUT ROWID;
             CREATE TABLE head_gens (gen INTEGER PRIMARY KEY, rows INTEGER NOT NULL);",
        )
        .unwrap();
        conn.pragma_update(None, "user_version", 5).unwrap();
    }
    let store = Store::open(&dir.db()).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let loaded = store.fingerprint_run(id).unwrap().unwrap();
    assert!(loaded.reconstruction_error.is_empty());
    assert_eq!(loaded.vectors, run.vectors);
    let scores = store.latest_reconstruction_errors().unwrap().unwrap();
    assert!(scores.scores.is_empty());
    // Nor a basis: a run stored before schema 8 is in no basis' history (it fitted its own).
    assert!(store
        .basis_history(&w("web"), &run.basis_id())
        .unwrap()
        .is_empty());
    assert_eq!(store.current_basis().unwrap().unwrap().run_id, id);
}

#[test]
fn refuses_a_newer_schema_and_names_the_path() {
    let dir = TempDir::new("too-new");
    drop(Store::open(&dir.db()).unwrap());
    {
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let err = Store::open(&dir.db()).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found, .. } if found == i64::from(SCHEMA_VERSION) + 1),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("opening {}: schema version", dir.db().display())),
        "{msg}"
    );
}

#[test]
fn open_errors_name_the_path() {
    let dir = TempDir::new("bad-open");
    let not_db = dir.0.join("not.db");
    std::fs::write(&not_db, vec![b'x'; 4096]).unwrap();
    let msg = Store::open(&not_db).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("opening {}:", not_db.display())),
        "{msg}"
    );
    let missing = dir.0.join("no/such/dir/p.db");
    let msg = Store::open(&missing).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("opening {}:", missing.display())),
        "{msg}"
    );
}

#[test]
fn series_upsert_merges_and_lists() {
    let mut store = Store::open_in_memory().unwrap();
    let cpu = key("web", "cpu");
    let mem = key("web", "mem");
    let db = key("db", "cpu");
    let first = store
        .upsert_series(&series(&cpu, &[(0, 1.0), (60, 2.0), (120, 3.0)], "a"))
        .unwrap();
    assert_eq!(
        first,
        UpsertStats {
            inserted: 3,
            replaced: 0
        }
    );
    let second = store
        .upsert_series(&series(&cpu, &[(120, 30.0), (180, 4.0), (240, 5.0)], "b"))
        .unwrap();
    assert_eq!(
        second,
        UpsertStats {
            inserted: 2,
            replaced: 1
        }
    );
    store
        .upsert_series(&series(&mem, &[(0, 7.0)], "a"))
        .unwrap();
    store
        .upsert_series(&series(&db, &[(-60, 1.5)], "a"))
        .unwrap();

    let loaded = store.load_series(&cpu).unwrap().unwrap();
    assert_eq!(loaded.values(), [1.0, 2.0, 30.0, 4.0, 5.0]);
    assert_eq!(
        loaded.labels["source"], "b",
        "labels follow the last upsert"
    );
    let until = store
        .load_series_until(&cpu, Timestamp(120))
        .unwrap()
        .unwrap();
    assert_eq!(until.values(), [1.0, 2.0, 30.0]);
    assert!(store
        .load_series_until(&cpu, Timestamp(-1))
        .unwrap()
        .unwrap()
        .is_empty());
    assert!(store.load_series(&key("nope", "cpu")).unwrap().is_none());

    let list = store.list_series().unwrap();
    let keys: Vec<String> = list.iter().map(|i| i.key.to_string()).collect();
    assert_eq!(keys, ["db/cpu", "web/cpu", "web/mem"]);
    assert_eq!(list[1].samples, 5);
    assert_eq!(
        (list[1].first_ts, list[1].last_ts),
        (Some(Timestamp(0)), Some(Timestamp(240)))
    );
    assert_eq!(list[0].first_ts, Some(Timestamp(-60)));
    assert_eq!(store.workloads().unwrap(), [w("db"), w("web")]);
    let bare: Vec<SeriesKey> = list.iter().map(|i| i.key.clone()).collect();
    assert_eq!(store.series_keys().unwrap(), bare);

    assert!(store.delete_series(&mem).unwrap());
    assert!(!store.delete_series(&mem).unwrap());
    assert!(store.load_series(&mem).unwrap().is_none());
}

#[test]
fn empty_series_is_rejected_without_writing() {
    let mut store = Store::open_in_memory().unwrap();
    let k = key("web", "cpu");
    store.upsert_series(&series(&k, &[(0, 1.0)], "a")).unwrap();
    let err = store.upsert_series(&series(&k, &[], "b")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "saving series web/cpu: the series has no samples"
    );
    assert_eq!(
        store.load_series(&k).unwrap().unwrap().labels["source"],
        "a"
    );
}

#[test]
fn a_write_that_fails_inside_its_transaction_leaves_prior_data_intact() {
    let dir = TempDir::new("atomic");
    let k = key("web", "cpu");
    let mut store = Store::open(&dir.db()).unwrap();
    store
        .upsert_series(&series(&k, &[(0, 1.0), (60, 2.0)], "before"))
        .unwrap();
    {
        // Make the next write fail after the series row was written, when its chunk reaching
        // t = 999 is.
        let conn = rusqlite::Connection::open(dir.db()).unwrap();
        conn.execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON chunks WHEN NEW.end_ts >= 999
             BEGIN SELECT RAISE(ABORT, 'forced failure'); END;",
        )
        .unwrap();
    }
    let bad = series(
        &k,
        &[(60, 20.0), (120, 3.0), (999, 9.0), (1200, 4.0)],
        "after",
    );
    let err = store.upsert_series(&bad).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("saving series web/cpu:") && msg.contains("forced failure"),
        "{msg}"
    );
    drop(store);
    let store = Store::open(&dir.db()).unwrap();
    let loaded = store.load_series(&k).unwrap().unwrap();
    assert_eq!(loaded.values(), [1.0, 2.0]);
    assert_eq!(loaded.labels["source"], "before");
}

fn fingerprint_run(at: i64, names: &[&str]) -> FingerprintRun {
    FingerprintRun {
        at: Timestamp(at),
        created: Timestamp(at + 5),
        model_json: r#"{"mean":[1.0,2.0],"components":[[0.6,0.8]]}"#.into(),
        explained_variance: vec![0.7, 0.2, 0.1],
        kept: 2,
        vectors: names
            .iter()
            .enumerate()
            .map(|(i, n)| Fingerprint {
                workload: w(n),
                at: Timestamp(at),
                vector: vec![i as f64, -0.5 * at as f64, f64::MIN_POSITIVE],
            })
            .collect(),
        map2d: names
            .iter()
            .enumerate()
            .map(|(i, n)| (w(n), [i as f64, 1.0]))
            .collect(),
        // Every workload but the last has a score.
        reconstruction_error: names
            .iter()
            .take(names.len().saturating_sub(1))
            .enumerate()
            .map(|(i, n)| (w(n), 0.25 * i as f64 + at as f64 * 1e-3))
            .collect(),
    }
}

#[test]
fn fingerprint_runs_round_trip() {
    let mut store = Store::open_in_memory().unwrap();
    assert!(store.latest_fingerprint_run().unwrap().is_none());
    let r1 = fingerprint_run(1000, &["web", "db"]);
    let r2 = fingerprint_run(2000, &["db", "web", "batch"]);
    let id1 = store.save_fingerprint_run(&r1).unwrap();
    let id2 = store.save_fingerprint_run(&r2).unwrap();
    assert_ne!(id1, id2);
    assert_eq!(
        store.latest_fingerprint_run().unwrap(),
        Some((id2, r2.clone()))
    );
    assert_eq!(store.fingerprint_run(id1).unwrap(), Some(r1.clone()));
    let history = store.fingerprint_history(&w("web")).unwrap();
    assert_eq!(history, [r1.vectors[0].clone(), r2.vectors[1].clone()]);
    assert!(store.fingerprint_history(&w("none")).unwrap().is_empty());

    let scores = store.latest_reconstruction_errors().unwrap().unwrap();
    assert_eq!((scores.run_id, scores.at), (id2, Timestamp(2000)));
    assert_eq!(scores.scores, r2.reconstruction_error);
    assert_eq!(scores.scores.len(), 2, "batch has no score");

    let mut bad = fingerprint_run(3000, &["web"]);
    bad.map2d[0].1 = [f64::NAN, 0.0];
    assert!(store.save_fingerprint_run(&bad).is_err());
    let mut bad = fingerprint_run(3000, &["web", "db"]);
    bad.reconstruction_error[0].1 = f64::INFINITY;
    let err = store.save_fingerprint_run(&bad).unwrap_err().to_string();
    assert!(err.contains("reconstruction error of web"), "{err}");
    let mut bad = fingerprint_run(3000, &["web", "db"]);
    bad.reconstruction_error[0].0 = w("elsewhere");
    let err = store.save_fingerprint_run(&bad).unwrap_err().to_string();
    assert!(err.contains("elsewhere"), "{err}");
    assert_eq!(
        store.latest_fingerprint_run().unwrap().map(|(id, _)| id),
        Some(id2)
    );
}

#[test]
fn clusterings_round_trip_and_check_their_fingerprint_run() {
    let mut store = Store::open_in_memory().unwrap();
    let fp = store
        .save_fingerprint_run(&fingerprint_run(1000, &["a", "b", "c", "d"]))
        .unwrap();
    let run = ClusteringRun {
        created: Timestamp(10),
        fingerprint_run: fp,
        algorithm: "dbscan".into(),
        params_json: r#"{"eps":0.5,"min_points":2}"#.into(),
        clusters: vec![
            ClusterRecord {
                id: ClusterId(3),
                centroid: vec![1.0, 2.0],
                members: vec![w("b"), w("a")],
            },
            ClusterRecord {
                id: ClusterId(1),
                centroid: vec![-1.0, 0.0],
                members: vec![w("c")],
            },
        ],
        noise: vec![w("d")],
    };
    let id = store.save_clustering(&run).unwrap();
    let mut kmeans = run.clone();
    kmeans.algorithm = "kmeans".into();
    kmeans.noise.clear();
    kmeans.created = Timestamp(5);
    let kid = store.save_clustering(&kmeans).unwrap();
    assert_eq!(
        store.latest_clustering("dbscan").unwrap(),
        Some((id, run.clone()))
    );
    assert_eq!(
        store.latest_clustering("kmeans").unwrap(),
        Some((kid, kmeans))
    );
    assert!(store.latest_clustering("hdbscan").unwrap().is_none());
    assert_eq!(
        store.cluster_of("dbscan", &w("a")).unwrap(),
        Some(ClusterId(3))
    );
    assert_eq!(store.cluster_of("dbscan", &w("d")).unwrap(), None);

    // A missing fingerprint run (foreign key) or a workload in two clusters fails and writes nothing.
    let mut orphan = run.clone();
    orphan.fingerprint_run = fp + 100;
    orphan.created = Timestamp(99);
    let msg = store.save_clustering(&orphan).unwrap_err().to_string();
    assert!(
        msg.starts_with("saving dbscan clustering of fingerprint run"),
        "{msg}"
    );
    let mut twice = run.clone();
    twice.created = Timestamp(99);
    twice.noise.push(w("a"));
    assert!(store.save_clustering(&twice).is_err());
    assert_eq!(
        store.latest_clustering("dbscan").unwrap().map(|(i, _)| i),
        Some(id)
    );
}

#[test]
fn models_and_forecasts_round_trip() {
    let mut store = Store::open_in_memory().unwrap();
    let k = key("web", "cpu");
    assert!(store.latest_forecast(&k).unwrap().is_none());
    assert!(store.forecast_keys().unwrap().is_empty());
    assert!(store.latest_model(&k).unwrap().is_none());
    let model = ModelRecord {
        key: k.clone(),
        kind: "ets".into(),
        spec: "ets(A,N,N)".into(),
        params_json: r#"{"alpha":0.3}"#.into(),
        fitted_at: Timestamp(100),
        trained_until: Timestamp(90),
        in_sample_mae: Some(1.25),
    };
    let mid = store.save_model(&model).unwrap();
    let newer = ModelRecord {
        fitted_at: Timestamp(200),
        in_sample_mae: None,
        ..model.clone()
    };
    let nid = store.save_model(&newer).unwrap();
    assert_eq!(store.model(mid).unwrap(), Some(model.clone()));
    assert_eq!(store.latest_model(&k).unwrap(), Some((nid, newer)));
    assert!(store
        .save_model(&ModelRecord {
            in_sample_mae: Some(f64::NAN),
            ..model
        })
        .is_err());

    let level = Level::new(90.0).unwrap();
    let f1 = ForecastRecord {
        key: k.clone(),
        model_id: Some(mid),
        issued_at: Timestamp(1000),
        step: Interval::from_secs(300).unwrap(),
        forecast: Forecast::new(vec![1.0, 2.0], vec![0.5, 1.0], vec![1.5, 3.0], level).unwrap(),
    };
    let f2 = ForecastRecord {
        model_id: None,
        issued_at: Timestamp(2000),
        ..f1.clone()
    };
    store.save_forecast(&f2).unwrap();
    store.save_forecast(&f1).unwrap();
    assert_eq!(store.latest_forecast(&k).unwrap(), Some(f2));
    assert_eq!(store.forecast_keys().unwrap(), vec![k.clone()]);
    let orphan = ForecastRecord {
        model_id: Some(nid + 50),
        ..f1
    };
    let msg = store.save_forecast(&orphan).unwrap_err().to_string();
    assert!(
        msg.starts_with("saving forecast of web/cpu issued at 1000ms:"),
        "{msg}"
    );
}

#[test]
fn two_handles_on_one_file_see_each_others_commits() {
    let dir = TempDir::new("two-handles");
    let mut writer = Store::open(&dir.db()).unwrap();
    let reader = Store::open(&dir.db()).unwrap();
    let k = key("web", "cpu");
    writer.upsert_series(&series(&k, &[(0, 1.0)], "a")).unwrap();
    assert_eq!(reader.load_series(&k).unwrap().unwrap().len(), 1);
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn points() -> impl Strategy<Value = BTreeMap<i64, f64>> {
        proptest::collection::btree_map(-1_000_000i64..1_000_000, -1e12f64..1e12, 1..60)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Upserting A then B stores the union of their timestamps, B's value winning, and counts replacements.
        #[test]
        fn upsert_merges_like_a_map(a in points(), b in points()) {
            let mut store = Store::open_in_memory().unwrap();
            let k = key("p", "m");
            let to_series = |m: &BTreeMap<i64, f64>| series(&k, &m.iter().map(|(&t, &v)| (t, v)).collect::<Vec<_>>(), "x");
            let first = store.upsert_series(&to_series(&a)).unwrap();
            prop_assert_eq!(first, UpsertStats { inserted: a.len(), replaced: 0 });
            let second = store.upsert_series(&to_series(&b)).unwrap();
            let overlap = b.keys().filter(|t| a.contains_key(t)).count();
            prop_assert_eq!(second, UpsertStats { inserted: b.len() - overlap, replaced: overlap });
            let mut expected = a.clone();
            expected.extend(b.iter());
            let loaded = store.load_series(&k).unwrap().unwrap();
            let got: BTreeMap<i64, f64> = loaded.samples().iter().map(|s| (s.ts.0, s.value)).collect();
            prop_assert_eq!(got, expected.clone());
            let cut = *expected.keys().nth(expected.len() / 2).unwrap();
            let until = store.load_series_until(&k, Timestamp(cut)).unwrap().unwrap();
            prop_assert_eq!(until.len(), expected.range(..=cut).count());
        }
    }
}

#[test]
fn pruning_keeps_the_newest_fingerprint_runs_and_those_clusterings_use() {
    let mut store = Store::open_in_memory().unwrap();
    let ids: Vec<i64> = (1..=6)
        .map(|k| {
            store
                .save_fingerprint_run(&fingerprint_run(k * 1000, &["a", "b"]))
                .unwrap()
        })
        .collect();
    // A clustering made on the second run keeps it.
    let clustering = ClusteringRun {
        created: Timestamp(2500),
        fingerprint_run: ids[1],
        algorithm: "kmeans".into(),
        params_json: "{}".into(),
        clusters: vec![ClusterRecord {
            id: ClusterId(0),
            centroid: vec![0.0, 0.0],
            members: vec![w("a"), w("b")],
        }],
        noise: vec![],
    };
    let cid = store.save_clustering(&clustering).unwrap();
    assert_eq!(store.prune_fingerprint_runs(2).unwrap(), 3);
    for (i, id) in ids.iter().enumerate() {
        let kept = store.fingerprint_run(*id).unwrap().is_some();
        assert_eq!(kept, i == 1 || i >= 4, "run {i}");
    }
    assert_eq!(
        store.latest_clustering("kmeans").unwrap(),
        Some((cid, clustering))
    );
    assert_eq!(store.latest_fingerprint_run().unwrap().unwrap().0, ids[5]);
    // The vectors of pruned runs went with them: the history holds the kept runs only.
    assert_eq!(store.fingerprint_history(&w("a")).unwrap().len(), 3);
    assert_eq!(store.prune_fingerprint_runs(2).unwrap(), 0);
}
