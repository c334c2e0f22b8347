//! `prescale recommend` on the synthetic fleet: demo-data → import → fingerprint → cluster → recommend.

mod common;
use common::{fails, ok, prescale};
use serde_json::Value;
use std::fs;

fn members_of(clusters: &Value, cluster: &str) -> Vec<String> {
    clusters[cluster]
        .as_array()
        .unwrap_or_else(|| panic!("no cluster {cluster} in {clusters}"))
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect()
}

/// The recommended request over (1 + headroom) lies within the members' p95 range, which the
/// reported evidence must itself span.
fn within_members(advice: &Value, headroom: f64) {
    let p95s: Vec<f64> = advice["levels"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["p95"].as_f64().unwrap())
        .collect();
    let lo = p95s.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = p95s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let base = advice["request"].as_f64().unwrap() / (1.0 + headroom);
    let slack = 1e-3 * hi.abs().max(1.0) + 1024.0 * 1024.0 / (1.0 + headroom);
    assert!(
        base >= lo - 1e-9 && base <= hi + slack,
        "{base} not in [{lo}, {hi}]: {advice}"
    );
}

#[test]
fn recommend_like_a_workload_and_like_labels() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("p.db");
    let csv = dir.path().join("fleet.csv");
    ok(
        &db,
        &[
            "demo-data",
            "--out",
            csv.to_str().unwrap(),
            "--workloads",
            "10",
            "--days",
            "9",
        ],
    );
    // Two files so the web workloads carry their own source_file label.
    let text = fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let (mut web, mut rest) = (vec![header], vec![header]);
    for l in lines {
        if l.contains(",web-daily-") {
            web.push(l);
        } else {
            rest.push(l);
        }
    }
    let web_csv = dir.path().join("web.csv");
    let rest_csv = dir.path().join("rest.csv");
    fs::write(&web_csv, web.join("\n")).unwrap();
    fs::write(&rest_csv, rest.join("\n")).unwrap();

    // Before anything is learned: a one-line error naming both steps.
    let err = fails(&db, &["recommend", "--like", "web-daily-1"]);
    assert!(
        err.contains("run `prescale fingerprint` and `prescale cluster` first"),
        "{err}"
    );

    ok(
        &db,
        &[
            "import",
            web_csv.to_str().unwrap(),
            rest_csv.to_str().unwrap(),
        ],
    );
    ok(&db, &["fingerprint"]);
    let err = fails(&db, &["recommend", "--like", "web-daily-1"]);
    assert!(err.contains("prescale cluster"), "{err}");
    let clustered: Value = serde_json::from_str(&ok(
        &db,
        &["cluster", "--algorithm", "kmeans", "--k", "5", "--json"],
    ))
    .unwrap();
    let clusters = &clustered["kmeans"]["clusters"];
    let web_cluster = clusters
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, m)| m.as_array().unwrap().iter().any(|w| w == "web-daily-1"))
        .map(|(id, _)| id.clone())
        .unwrap();

    let rec: Value = serde_json::from_str(&ok(
        &db,
        &[
            "recommend",
            "--like",
            "web-daily-1",
            "--capacity-per-replica",
            "50",
            "--headroom",
            "0.25",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(format!("c{}", rec["cluster"]), web_cluster, "{rec}");
    assert_eq!(rec["basis"]["kind"], "member");
    let members: Vec<String> = rec["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect();
    assert_eq!(members, members_of(clusters, &web_cluster));
    within_members(&rec["cpu"], 0.25);
    within_members(&rec["memory"], 0.25);
    let n = rec["cpu"]["levels"]["members"].as_array().unwrap().len();
    assert_eq!(n, members.len());
    let demand = rec["demand"]["p95_of_p95s"].as_f64().unwrap();
    let replicas = rec["replicas"]["replicas"].as_u64().unwrap();
    assert_eq!(replicas, (demand * 1.25 / 50.0).ceil() as u64);
    assert_eq!(rec["instance"]["count"].as_u64().unwrap(), replicas);

    // Like the labels of the web file: the cluster most web workloads are in.
    let by_label: Value = serde_json::from_str(&ok(
        &db,
        &[
            "recommend",
            "--like-labels",
            "source_file=web.csv",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(by_label["basis"]["kind"], "label_majority");
    assert_eq!(by_label["basis"]["matched"].as_array().unwrap().len(), 2);
    let chosen = format!("c{}", by_label["cluster"]);
    let chosen_members = members_of(clusters, &chosen);
    assert!(
        chosen_members.iter().any(|m| m.starts_with("web-daily-")),
        "{chosen}: {chosen_members:?}"
    );
    within_members(&by_label["cpu"], 0.2);
    assert!(by_label["replicas"].is_null());

    // A readable table too, and a configured catalogue.
    let cat = dir.path().join("types.toml");
    fs::write(
        &cat,
        "[[instance]]\nname = \"big\"\nvcpu = 64\nmemory_gib = 512\nhourly_price = 3.0\n",
    )
    .unwrap();
    let text = ok(
        &db,
        &[
            "recommend",
            "--like",
            "web-daily-1",
            "--instance-types",
            cat.to_str().unwrap(),
        ],
    );
    assert!(text.contains(&format!("cluster {web_cluster}")), "{text}");
    assert!(text.contains("1 × big"), "{text}");

    // No member has any metric looked for: a one-line error naming what was looked for and what
    // the members have, not an empty recommendation.
    let err = fails(
        &db,
        &[
            "recommend",
            "--like",
            "web-daily-1",
            "--metrics",
            "cpu=cpu_cores,memory=rss_bytes,demand=rps",
        ],
    );
    assert!(err.contains("no usable metrics"), "{err}");
    assert!(
        err.contains("(cpu_cores)") && err.contains("(rss_bytes)") && err.contains("(rps)"),
        "{err}"
    );
    assert!(
        err.contains("they have cpu, memory, requests") && err.contains("--metrics"),
        "{err}"
    );

    // Nothing matches: one-line errors.
    let err = fails(&db, &["recommend", "--like-labels", "source_file=nope.csv"]);
    assert!(
        err.contains("no stored workload has labels source_file=nope.csv"),
        "{err}"
    );
    let err = fails(&db, &["recommend", "--like", "ghost"]);
    assert!(err.contains("ghost is not in the store"), "{err}");
    // Neither --like nor --like-labels: clap's usage error.
    assert!(!prescale(&db, &["recommend"]).status.success());
}
