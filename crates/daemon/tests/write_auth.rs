//! Authenticated remote-write (issue 12, item 3): with `[remote_write.auth]` a push needs the
//! bearer token or the basic credentials (401 otherwise, before the body is read), and a daemon
//! whose listen address was moved beyond loopback after validation still refuses to start
//! without write credentials.

mod common;

use base64::Engine as _;
use common::*;
use prescale_daemon::{Daemon, DaemonConfig};
use prescale_ingest::remote_write::{encode, from_points};

const TOKEN: &str = "write-token-0123456789";
const PASSWORD: &str = "basic-password-0123456789";

/// POSTs a small remote-write body with `authorization` (if any): status, body and the
/// `WWW-Authenticate` challenges.
async fn push(base: &str, authorization: Option<String>) -> (u16, String, Vec<String>) {
    let url = format!("{base}/api/v1/write");
    let body = encode(&from_points(vec![(
        "rps",
        vec![("job", "api")],
        now_ms(),
        1.0,
    )]));
    tokio::task::spawn_blocking(move || {
        let mut req = http()
            .post(&url)
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf");
        if let Some(a) = authorization {
            req = req.header("Authorization", &a);
        }
        let mut r = req.send(&body[..]).unwrap();
        let challenges = r
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap_or("").to_string())
            .collect();
        let status = r.status().as_u16();
        (
            status,
            r.body_mut().read_to_string().unwrap_or_default(),
            challenges,
        )
    })
    .await
    .unwrap()
}

fn basic(user: &str, password: &str) -> Option<String> {
    let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    Some(format!("Basic {b}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_need_the_bearer_token_or_the_basic_credentials() {
    let d = start(&format!(
        "[learn]\nenabled = false\n[remote_write.auth]\nbearer_token = \"{TOKEN}\"\n\
         basic_username = \"prometheus\"\nbasic_password = \"{PASSWORD}\"\n"
    ))
    .await;
    let (s, body, challenges) = push(&d.base, None).await;
    assert_eq!(s, 401, "{body}");
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(challenges[0].starts_with("Bearer") && challenges[1].starts_with("Basic"));
    for wrong in [
        Some(format!("Bearer {TOKEN}x")),
        basic("prometheus", "basic-password-012345678"),
        basic("root", PASSWORD),
        Some("Token abc".to_string()),
    ] {
        let (s, body, _) = push(&d.base, wrong.clone()).await;
        assert_eq!(s, 401, "{wrong:?}: {body}");
        assert!(!body.contains(TOKEN) && !body.contains(PASSWORD), "{body}");
    }
    let (s, body, _) = push(&d.base, Some(format!("Bearer {TOKEN}"))).await;
    assert_eq!(s, 204, "{body}");
    let (s, body, _) = push(&d.base, basic("prometheus", PASSWORD)).await;
    assert_eq!(s, 204, "{body}");
    // Only the authenticated pushes were stored.
    let (_, workloads) = get(&d.base, "/api/v1/workloads").await;
    let v: serde_json::Value = serde_json::from_str(&workloads).unwrap();
    assert_eq!(v["workloads"][0]["samples"], 2, "{v}");
    // Counted on /metrics by status.
    let (_, metrics) = get(&d.base, "/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.contains("/api/v1/write") && l.contains("\"401\"")),
        "{metrics}"
    );
    d.daemon.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listen_address_moved_beyond_loopback_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "db = {:?}\n[agent]\nenabled = false\n[learn]\nenabled = false\n",
        dir.path().join("p.db").display().to_string()
    );
    let mut cfg = DaemonConfig::from_toml(&text).unwrap();
    // As `prescale run --listen 0.0.0.0:...` does after validation.
    cfg.listen = "0.0.0.0:0".parse().unwrap();
    let e = match Daemon::start(cfg.clone()).await {
        Ok(d) => {
            d.shutdown().await.unwrap();
            panic!("an unauthenticated receiver started on 0.0.0.0");
        }
        Err(e) => e.to_string(),
    };
    assert!(e.contains("remote_write.auth"), "{e}");
    assert!(e.contains("allow_unauthenticated"), "{e}");
    // Said explicitly: it starts (with a warning).
    cfg.allow_unauthenticated_write = true;
    let d = Daemon::start(cfg).await.unwrap();
    d.shutdown().await.unwrap();
}
