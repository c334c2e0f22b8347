//! `[[workload.shadow]]` live: shadows decide beside the acting configuration, their figures are
//! served (`/api/v1/workloads/{id}/shadows`, `/metrics`), and `POST .../promote` (token) switches
//! the acting configuration from the next step, recorded in the decision log.

mod common;

use common::{get, http, now_ms, prefill_live};
use prescale_daemon::{Daemon, DaemonConfig};
use serde_json::Value;
use std::time::Duration;

const TOKEN: &str = "shadow-token-0123456789";

async fn post(base: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let (url, token, body) = (
        format!("{base}{path}"),
        token.map(str::to_string),
        body.to_string(),
    );
    tokio::task::spawn_blocking(move || {
        let mut req = http().post(&url).header("Content-Type", "application/json");
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let mut r = req.send(body.as_bytes()).unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    })
    .await
    .unwrap()
}

async fn json_of(base: &str, path: &str) -> Option<Value> {
    let (s, body) = get(base, path).await;
    (s == 200).then(|| serde_json::from_str(&body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadows_are_served_and_a_promotion_acts_from_the_next_step() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shadows.db");
    prefill_live(&db, "web", "requests", 900);
    let text = format!(
        r#"listen = "127.0.0.1:0"
db = {db:?}
tick = "200ms"
api_token = "{TOKEN}"
[agent]
enabled = false
[learn]
enabled = false

[[workload]]
workload = "web"
metric = "requests"
capacity_per_replica = 10.0
step = "1s"
lead = "2s"
stale_after = "1h"
actuator = {{ type = "dry-run" }}

[[workload.shadow]]
name = "hpa"
policy = "hpa@0.6"

[[workload.shadow]]
name = "longer-lead"
lead = "5s"
budget = 0.05
"#,
        db = db.display().to_string()
    );
    let daemon = Daemon::start(DaemonConfig::from_toml(&text).unwrap())
        .await
        .unwrap();
    let base = format!("http://{}", daemon.local_addr());
    // Keep the demand live: one sample a quarter second.
    let feeder = tokio::spawn(common::feed_live(base.clone(), "web", "requests"));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let report = loop {
        if let Some(r) = json_of(&base, "/api/v1/workloads/web/shadows").await {
            if r["acting"]["metrics"]["steps"].as_u64().unwrap_or(0) >= 3 {
                break r;
            }
        }
        assert!(std::time::Instant::now() < deadline, "no shadow report");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(report["acting"]["policy"], "predictive");
    let shadows = report["shadows"].as_array().unwrap();
    assert_eq!(shadows.len(), 2);
    assert_eq!(
        (
            &shadows[0]["name"],
            &shadows[0]["policy"],
            &shadows[0]["own_forecaster"]
        ),
        (
            &Value::from("hpa"),
            &Value::from("hpa@0.60"),
            &Value::from(false)
        )
    );
    assert_eq!(shadows[1]["own_forecaster"], true);
    assert_eq!(shadows[1]["changes"], "budget 0.05, lead 5s");
    let (_, metrics) = get(&base, "/metrics").await;
    assert!(
        metrics.contains("prescale_shadow_under_provisioned_ratio{")
            && metrics.contains("shadow=\"hpa\"")
            && metrics.contains("role=\"acting\""),
        "{metrics}"
    );

    // Promotion needs the token and a shadow of that name.
    let promote = "/api/v1/workloads/web/promote";
    assert_eq!(
        post(&base, promote, None, r#"{"shadow":"hpa"}"#).await.0,
        401
    );
    let (s, body) = post(&base, promote, Some(TOKEN), r#"{"shadow":"nope"}"#).await;
    assert_eq!((s, body.contains("no shadow")), (404, true), "{body}");
    let asked = now_ms();
    let (s, body) = post(&base, promote, Some(TOKEN), r#"{"shadow":"hpa"}"#).await;
    assert_eq!(s, 202, "{body}");
    // The decision log records it, and the decisions after it are the HPA's.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let d = json_of(&base, "/api/v1/decisions?workload=web&limit=20")
            .await
            .unwrap();
        let list = d["decisions"].as_array().unwrap();
        let promoted = list
            .iter()
            .position(|r| r["reason_json"]["rule"] == "promotion");
        if let Some(i) = promoted {
            let p = &list[i];
            assert_eq!(p["reason_json"]["from"], "predictive");
            assert_eq!(p["reason_json"]["to"], "hpa@0.60");
            assert!(p["at"].as_i64().unwrap() >= asked);
            // newest first: the ones before index i came after the promotion
            if i > 0 {
                assert!(
                    list[..i].iter().all(|r| r["policy"] == "hpa@0.60"),
                    "{list:?}"
                );
                break;
            }
        }
        assert!(std::time::Instant::now() < deadline, "no promotion in {d}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = json_of(&base, "/api/v1/workloads/web/shadows")
        .await
        .unwrap();
    assert_eq!(r["acting"]["name"], "hpa");
    assert_eq!(r["shadows"][0]["name"], "acting");
    assert_eq!(r["shadows"][0]["policy"], "predictive");
    feeder.abort();
    daemon.shutdown().await.unwrap();
}

#[test]
fn bad_shadows_are_named_with_their_path() {
    let base = "[[workload]]\nworkload = \"api\"\nmetric = \"rps\"\ncapacity_per_replica = 10.0\npolicy = \"hpa\"\n";
    for (shadow, says) in [
        ("name = \"a\"\nheadroom = 1.2\n", "only a predictive policy"),
        (
            "name = \"a\"\nmodel = \"crystal-ball\"\n",
            "workload[0].shadow[0].model",
        ),
        ("name = \"a\"\nbudget = 2.0\n", "workload[0].shadow[0]"),
        ("name = \"\"\n", "workload[0].shadow[0].name"),
        ("name = \"a\"\nspeed = 3\n", "speed"),
    ] {
        let err = DaemonConfig::from_toml(&format!("{base}[[workload.shadow]]\n{shadow}"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{shadow}: {err}");
    }
    let twice =
        format!("{base}[[workload.shadow]]\nname = \"a\"\n[[workload.shadow]]\nname = \"a\"\n");
    assert!(DaemonConfig::from_toml(&twice)
        .unwrap_err()
        .to_string()
        .contains("workload[0].shadow[1].name"));
}
