//! The binary on the real traces in ../shared/data (skipped with a message where it is absent).

mod common;
use common::{ok, shared_data};
use serde_json::Value;

#[test]
fn imports_every_real_family_and_backtests_nab() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let nab = data.join("nab_realAWSCloudwatch");
    let out: Value =
        serde_json::from_str(&ok(&db, &["import", nab.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(out.as_array().unwrap().len(), 17);
    let vm = data.join("bitbrains_gwa_t12_rnd/2013-7/107.csv");
    let out: Value =
        serde_json::from_str(&ok(&db, &["import", vm.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(out[0]["series"], 10); // ten metric columns beside the timestamp
    let ali = data.join(
        "alibaba2018_machine_usage_aggregated/machine_usage_days_1_to_8_grouped_300_seconds.csv",
    );
    let out: Value = serde_json::from_str(&ok(
        &db,
        &[
            "import",
            ali.to_str().unwrap(),
            "--interval",
            "300s",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(out[0]["series"], 5);
    assert_eq!(out[0]["samples"], 5 * 2243);

    let fp: Value = serde_json::from_str(&ok(&db, &["fingerprint", "--json"])).unwrap();
    assert_eq!(fp["workloads"], 19);
    ok(&db, &["cluster", "--json"]);

    let file = nab.join("ec2_cpu_utilization_24ae8d.csv");
    let bt = dir.path().join("bt.json");
    ok(
        &db,
        &[
            "backtest",
            file.to_str().unwrap(),
            "--windows",
            "4",
            "--json",
            bt.to_str().unwrap(),
        ],
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&bt).unwrap()).unwrap();
    for m in ["naive", "seasonal_naive", "ets", "mstl", "theta", "auto"] {
        let cov = doc["models"][m]["coverage"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&cov), "{m}: {cov}");
    }
}
