//! Fail-safe controls (issue 12, item 4): a mode or kill-switch change that cannot be saved is
//! answered 503 and not made (the state served stays as it was, no `.tmp` is left), and one that
//! was answered 200 is on disk, owner-only. An annotation the store cannot take (locked by
//! another writer past the busy timeout) is 503, not 500. The save failure is injected by a
//! non-empty directory standing where the file goes, which stops root as well.

mod common;

use common::*;

const TOKEN: &str = "durable-controls-token-0123456789";

async fn post(base: &str, path: &str, body: &str) -> (u16, String) {
    let (url, body) = (format!("{base}{path}"), body.to_string());
    tokio::task::spawn_blocking(move || {
        let mut r = http()
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Authorization", &format!("Bearer {TOKEN}"))
            .send(body.as_bytes())
            .unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    })
    .await
    .unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_cannot_be_saved_is_refused_and_not_made() {
    let d = start(&format!(
        "api_token = \"{TOKEN}\"\n[learn]\nenabled = false\n"
    ))
    .await;
    let file = prescale_daemon::controls::state_file(&d.db);
    let (s, body) = post(&d.base, "/api/v1/kill-switch", r#"{"engaged":true}"#).await;
    assert_eq!(s, 200, "{body}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "controls file mode {mode:o}");
    }
    // From now on the file cannot be replaced.
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir_all(file.join("blocker")).unwrap();
    let (s, body) = post(&d.base, "/api/v1/kill-switch", r#"{"engaged":false}"#).await;
    assert_eq!(s, 503, "{body}");
    assert!(body.contains("nothing was changed"), "{body}");
    let (s, body) = post(&d.base, "/api/v1/mode", r#"{"mode":"act"}"#).await;
    assert_eq!(s, 503, "{body}");
    // What is served is what was saved before.
    let (_, kill) = get(&d.base, "/api/v1/kill-switch").await;
    assert_eq!(json(&kill)["global"], true, "{kill}");
    let (_, mode) = get(&d.base, "/api/v1/mode").await;
    assert_eq!(json(&mode)["mode"], "forecast-only", "{mode}");
    let (_, metrics) = get(&d.base, "/metrics").await;
    assert!(
        metrics.contains("prescale_kill_switch_engaged{scope=\"global\"} 1\n"),
        "{metrics}"
    );
    let dir = d.db.parent().unwrap();
    let tmp: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(tmp.is_empty(), "left behind: {tmp:?}");
    // Saved again once the disk takes it.
    std::fs::remove_dir_all(&file).unwrap();
    let (s, body) = post(&d.base, "/api/v1/kill-switch", r#"{"engaged":false}"#).await;
    assert_eq!(s, 200, "{body}");
    let saved = json(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(saved["kill_global"], false, "{saved}");
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_annotation_the_store_cannot_take_is_503() {
    let d = start(&format!(
        "api_token = \"{TOKEN}\"\n[learn]\nenabled = false\n"
    ))
    .await;
    let (s, body) = post(&d.base, "/api/v1/annotations", r#"{"text":"before"}"#).await;
    assert_eq!(s, 201, "{body}");
    // Another writer holds the store (as a full or failing disk would refuse the write).
    let lock = rusqlite::Connection::open(&d.db).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (s, body) = post(&d.base, "/api/v1/annotations", r#"{"text":"during"}"#).await;
    assert_eq!(s, 503, "{body}");
    lock.execute_batch("ROLLBACK").unwrap();
    let (s, body) = post(&d.base, "/api/v1/annotations", r#"{"text":"after"}"#).await;
    assert_eq!(s, 201, "{body}");
    d.daemon.shutdown().await.unwrap();
}
