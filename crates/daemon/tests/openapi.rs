//! The OpenAPI document is served, documents exactly the expected paths and methods (the dashboard
//! page and its assets included), and every documented GET answers on a running daemon: 200, or
//! 404 with a reason where the answer needs learned data (an undocumented path answers a bare 404).

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_matches_the_router() {
    let d = start("[agent]\nenabled = false\n").await;
    let (s, text) = get(&d.base, "/api/v1/openapi.json").await;
    assert_eq!(s, 200, "{text}");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().expect("paths");
    let expected = [
        ("/healthz", vec!["get"]),
        ("/readyz", vec!["get"]),
        ("/metrics", vec!["get"]),
        ("/api/v1/openapi.json", vec!["get"]),
        ("/api/v1/write", vec!["post"]),
        ("/api/v1/workloads", vec!["get"]),
        ("/api/v1/decisions", vec!["get"]),
        ("/api/v1/mode", vec!["get", "post"]),
        ("/api/v1/kill-switch", vec!["get", "post"]),
        ("/api/v1/models", vec!["get"]),
        ("/api/v1/anomalies", vec!["get"]),
        ("/api/v1/workloads/{id}/forecast", vec!["get"]),
        ("/api/v1/workloads/{id}/fingerprint", vec!["get"]),
        ("/api/v1/workloads/{id}/drift", vec!["get"]),
        ("/api/v1/workloads/{id}/shadows", vec!["get"]),
        ("/api/v1/workloads/{id}/promote", vec!["post"]),
        ("/api/v1/clusters", vec!["get"]),
        ("/api/v1/cluster", vec!["get"]),
        ("/api/v1/whatif", vec!["post"]),
        ("/api/v1/annotations", vec!["get", "post"]),
        ("/", vec!["get"]),
        ("/dashboard/app.js", vec!["get"]),
        ("/dashboard/style.css", vec!["get"]),
    ];
    // Answers that depend on learned data: 404 with a reason on an empty daemon (never the router's
    // bare 404 or a 405).
    let data_dependent = [
        "/api/v1/workloads/{id}/forecast",
        "/api/v1/workloads/{id}/fingerprint",
        "/api/v1/workloads/{id}/drift",
        "/api/v1/workloads/{id}/shadows",
        "/api/v1/clusters",
        // Without [cluster]: 404 with the reason (tests/cluster*.rs read it in a cluster).
        "/api/v1/cluster",
    ];
    assert_eq!(paths.len(), expected.len(), "{:?}", paths.keys());
    for (path, methods) in &expected {
        let ops = paths[*path]
            .as_object()
            .unwrap_or_else(|| panic!("{path} undocumented"));
        let mut documented: Vec<&str> = ops.keys().map(String::as_str).collect();
        documented.sort_unstable();
        assert_eq!(&documented, methods, "{path}");
    }
    // Every documented GET answers (not 404/405) on the running daemon.
    for (path, methods) in &expected {
        if methods.contains(&"get") {
            let (s, body) = get(&d.base, &path.replace("{id}", "web")).await;
            if *path == "/readyz" {
                // 503 until the control loop's first pass (tests/kubernetes.rs checks both).
                assert!(s == 200 || s == 503, "GET {path}: {s} {body}");
                assert!(body.contains("\"waiting_for\""), "GET {path}: {body}");
            } else if data_dependent.contains(path) {
                assert_eq!(s, 404, "GET {path}: {body}");
                assert!(!body.trim().is_empty(), "GET {path}: 404 without a reason");
            } else {
                assert_eq!(s, 200, "GET {path}: {body}");
            }
        }
    }
    let (s, _) = get(&d.base, "/api/v1/nothing-here").await;
    assert_eq!(s, 404);
}

/// The answers the hardening added are documented: every operation can meet the connection cap
/// (503), every POST the body timeout (408), the receiver its credentials (401) and budget (429),
/// and the mutating endpoints a change that cannot be saved (503). Every `$ref` resolves.
#[test]
fn openapi_documents_the_hardening_answers() {
    let doc: serde_json::Value = serde_json::from_str(prescale_daemon::http::OPENAPI).unwrap();
    let codes = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} has no responses"))
            .keys()
            .cloned()
            .collect()
    };
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let have = codes(path, method);
            assert!(have.contains(&"503".into()), "{method} {path}: {have:?}");
            if method == "post" {
                assert!(have.contains(&"408".into()), "{method} {path}: {have:?}");
            }
        }
    }
    let write = codes("/api/v1/write", "post");
    for want in ["204", "400", "401", "408", "413", "415", "429", "503"] {
        assert!(
            write.contains(&want.into()),
            "write lacks {want}: {write:?}"
        );
    }
    for path in ["/api/v1/mode", "/api/v1/kill-switch", "/api/v1/annotations"] {
        let have = codes(path, "post");
        for want in ["400", "401", "403", "408", "503"] {
            assert!(
                have.contains(&want.into()),
                "POST {path} lacks {want}: {have:?}"
            );
        }
    }
    fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("{r}"));
        assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for s in doc["paths"]["/api/v1/write"]["post"]["security"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|x| x.as_object().unwrap().keys())
    {
        assert!(schemes.contains_key(s), "security scheme {s} undefined");
    }
}
