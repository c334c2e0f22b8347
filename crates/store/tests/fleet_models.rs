//! Fleet models round-trip through the store, the newest per kind and step is found, and only the
//! newest few trainings are kept.

use prescale_core::Timestamp;
use prescale_store::{FleetModelRow, Store, FLEET_MODELS_KEPT};

fn row(step_ms: i64, at: i64) -> FleetModelRow {
    FleetModelRow {
        kind: "gbm".into(),
        step_ms,
        trained_at: Timestamp(at),
        series: 12,
        rows: 3400,
        horizon: 13,
        holdout_mae: Some(0.83),
        seconds: 0.4,
        body: format!("{{\"format\":\"prescale-gbm\",\"at\":{at}}}"),
    }
}

#[test]
fn fleet_models_round_trip_and_only_the_newest_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let mut store = Store::open(&path).unwrap();
        assert!(store.latest_fleet_models().unwrap().is_empty());
        for at in 1..=8 {
            store.save_fleet_model(&row(60_000, at * 1000)).unwrap();
        }
        store.save_fleet_model(&row(300_000, 500)).unwrap();
        assert_eq!(
            store.fleet_model_count("gbm", 60_000).unwrap(),
            FLEET_MODELS_KEPT
        );
    }
    // a reopened store still has them
    let store = Store::open(&path).unwrap();
    let latest = store.latest_fleet_models().unwrap();
    assert_eq!(latest, vec![row(60_000, 8000), row(300_000, 500)]);
}
