//! Config validation: every problem is reported with its path; defaults are what the issue says.

use prescale_daemon::config::StoreKind;
use prescale_daemon::DaemonConfig;

fn problems(text: &str) -> Vec<String> {
    match DaemonConfig::from_toml(text) {
        Ok(_) => panic!("expected errors for {text}"),
        Err(e) => e.problems().iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn defaults_without_a_file() {
    let c = DaemonConfig::defaults().unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:9464");
    assert_eq!(c.db.to_str(), Some("./prescale.db"));
    assert!(c.agent.is_some(), "the agent runs by default");
    assert_eq!(c.store, StoreKind::Embedded);
    assert!(c.scrape.is_empty());
    assert!(
        c.retention.is_some(),
        "retention keeps the store bounded by default"
    );
    assert_eq!(
        c.retention.as_ref().and_then(|r| r.decisions_for),
        Some(std::time::Duration::from_secs(30 * 86_400)),
        "decisions are kept 30 days by default"
    );
    let c = DaemonConfig::from_toml("[retention]\ndecisions_for = \"forever\"\n").unwrap();
    assert_eq!(c.retention.unwrap().decisions_for, None);
    let c = DaemonConfig::from_toml("[retention]\ndecisions_for = \"2d\"\n").unwrap();
    assert_eq!(
        c.retention.unwrap().decisions_for,
        Some(std::time::Duration::from_secs(2 * 86_400))
    );
    let p = problems("[retention]\ndecisions_for = \"10s\"\n");
    assert!(
        p.iter().any(|m| m.contains("retention.decisions_for")),
        "{p:?}"
    );
}

#[test]
fn every_problem_is_named_by_its_path() {
    let p = problems(
        r#"
listen = "nowhere"
[[scrape]]
name = "a"
url = "http://127.0.0.1:1/metrics"
[[scrape]]
name = "b"
url = "ftp://x"
[[scrape]]
name = "c"
url = "http://127.0.0.1:2/metrics"
interval = "0s"
timeout = "soon"
[store]
kind = "prometheus"
[[export]]
url = "https://vm:8428/api/v1/write"
"#,
    );
    let want = [
        "listen: \"nowhere\" is not an address:port",
        "scrape[1].url: \"ftp://x\" is not an http:// URL",
        "scrape[2].interval: \"0s\" must be ≥ 1s",
        "scrape[2].timeout: \"soon\" is not a duration",
        "store.url: is required when kind = \"prometheus\"",
        "export[0].url: \"https://vm:8428/api/v1/write\": https is not supported",
    ];
    for w in want {
        assert!(
            p.iter().any(|x| x.starts_with(w)),
            "missing {w:?} in {p:#?}"
        );
    }
    assert_eq!(p.len(), want.len(), "{p:#?}");
}

#[test]
fn unknown_fields_and_bad_sections_are_refused() {
    let e = DaemonConfig::from_toml("listn = \"127.0.0.1:1\"\n").unwrap_err();
    assert!(e.to_string().contains("listn"), "{e}");
    let p = problems("[agent]\ninterval = \"1ms\"\n");
    assert!(p.iter().any(|x| x.starts_with("agent")), "{p:#?}");
    let p = problems("[agent]\nfrobnicate = true\n");
    assert!(
        p.iter()
            .any(|x| x.starts_with("agent") && x.contains("frobnicate")),
        "{p:#?}"
    );
    let p = problems(
        "[[backfill]]\nurl = \"http://p:9090\"\nqueries = []\nstep = \"1h\"\nrange = \"1m\"\n",
    );
    assert!(
        p.iter().any(|x| x.starts_with("backfill[0].step")),
        "{p:#?}"
    );
    assert!(
        p.iter().any(|x| x.starts_with("backfill[0].queries")),
        "{p:#?}"
    );
    let p = problems("[retention]\nraw_for = \"7d\"\nrollup_for = \"1d\"\n");
    assert!(
        p.iter().any(|x| x.starts_with("retention.rollup_for")),
        "{p:#?}"
    );
}

#[test]
fn a_full_config_validates() {
    let c = DaemonConfig::from_toml(
        r#"
listen = "0.0.0.0:9464"
db = "/tmp/x.db"
[agent]
enabled = true
interval = "500ms"
[[scrape]]
name = "app"
url = "http://127.0.0.1:8080/metrics/"
interval = "5s"
[remote_write]
max_body_bytes = 1048576
auth = { bearer_token = "write-token-0123456789" }
[server]
header_read_timeout = "5s"
max_connections = 64
[admission]
max_future = "5m"
max_age = "1h"
[retention]
raw_for = "2d"
rollup_for = "forever"
every = "5m"
[[backfill]]
url = "http://prom:9090"
range = "7d"
step = "1m"
[[backfill.queries]]
promql = 'sum by (job) (rate(http_requests_total[5m]))'
workload = "{job}"
metric = "http_rps"
[[export]]
url = "http://vm:8428/api/v1/write"
interval = "15s"
[store]
kind = "prometheus"
url = "http://vm:8428"
[writer]
flush_interval = "250ms"
"#,
    )
    .unwrap();
    assert_eq!(c.scrape[0].url, "http://127.0.0.1:8080/metrics");
    assert_eq!(
        c.scrape[0].timeout.as_secs(),
        5,
        "timeout defaults to at most the interval"
    );
    assert_eq!(c.receiver.limits.max_body_bytes, 1 << 20);
    assert_eq!(c.admission.max_future_ms, 300_000);
    assert_eq!(c.retention.as_ref().unwrap().rollup_for, None);
    assert_eq!(c.backfill[0].queries.len(), 1);
    assert_eq!(
        c.store,
        StoreKind::Prometheus {
            url: "http://vm:8428".into(),
            write_url: "http://vm:8428/api/v1/write".into()
        }
    );
    assert_eq!(c.agent.unwrap().interval.as_millis(), 500);
}

#[test]
fn the_documented_example_config_validates() {
    let text = include_str!("../../../docs/prescale.example.toml");
    let c = DaemonConfig::from_toml(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.scrape.len(), 1);
    assert_eq!(c.backfill.len(), 1);
    assert_eq!(c.agent.map(|a| a.rules.len()), Some(3));
    assert_eq!(c.control.workloads.len(), 3);
    let worker = &c.control.workloads[2].drivers;
    assert_eq!(worker.predictors[0].workload.as_str(), "api");
    assert_eq!(worker.events.len(), 1);
    assert!(matches!(
        c.control.workloads[1].like,
        Some(prescale_learn::Like::Workload(ref w)) if w.as_str() == "api"
    ));
    assert_eq!(c.keda.map(|k| k.listen.port()), Some(9465));
    assert!(c.alerts.is_some_and(|a| a.secret.is_none()));
    assert_eq!(c.control.workloads[2].depends_on[0].as_str(), "api");
    assert!(c.control.workloads[0].warmup.is_some());
    assert_eq!(
        c.control.workloads[0]
            .spec
            .stages
            .as_ref()
            .map(|s| s.max_step),
        Some(4)
    );
    let r = c.control.workloads[0].spec.resources.as_ref().unwrap();
    let cpu = r.cpu.as_ref().unwrap();
    assert_eq!(
        (cpu.metric.as_str(), cpu.min, cpu.max),
        ("cpu_cores", 0.1, 4.0)
    );
    let mem = r.memory.as_ref().unwrap();
    assert_eq!((mem.min, mem.max), (128.0 * 1048576.0, 8.0 * 1073741824.0));
    assert_eq!(r.stabilization, std::time::Duration::from_secs(600));
    assert!(c.control.workloads[1].spec.resources.is_none());
}

#[test]
fn resource_sizing_problems_are_named() {
    let p = problems(
        r#"
[[workload]]
workload = "w"
metric = "m"
capacity_per_replica = 1.0
[workload.resources]
stabilization = "soon"
cpu = { metric = " ", min = "a lot" }
memory = { metric = "rss_bytes", max = "12 parsecs" }
"#,
    );
    let text = p.join("\n");
    for want in [
        "workload[0].resources.stabilization",
        "workload[0].resources.cpu.min",
        "workload[0].resources.cpu.metric",
        "workload[0].resources.memory.max",
    ] {
        assert!(text.contains(want), "{want} missing from {text}");
    }
    // Bounds the wrong way round and a tolerance of 100 % are refused by the spec's own checks.
    let p = problems(
        r#"
[[workload]]
workload = "w"
metric = "m"
capacity_per_replica = 1.0
[workload.resources]
tolerance = 1.0
cpu = { metric = "cpu_cores", min = "2", max = "1" }
"#,
    );
    assert!(p.join("\n").contains("resources.cpu.max"), "{p:?}");
    // An empty table sizes nothing: refused.
    let p = problems(
        "[[workload]]\nworkload = \"w\"\nmetric = \"m\"\ncapacity_per_replica = 1.0\n[workload.resources]\n",
    );
    assert!(
        p.join("\n").contains("at least one of cpu and memory"),
        "{p:?}"
    );
}

#[test]
fn keda_alerts_and_like_problems_are_named() {
    let bad = r#"
[keda]
listen = "nowhere"
[alerts]
webhook = "https://example.org/hook"
secret_env = "PRESCALE_SURELY_UNSET_VARIABLE"
[[workload]]
workload = "w"
metric = "m"
capacity_per_replica = 1.0
like = "=x"
"#;
    let e = DaemonConfig::from_toml(bad).unwrap_err();
    let paths: Vec<&str> = e.problems().iter().map(|p| p.path.as_str()).collect();
    for want in [
        "keda.listen",
        "alerts.webhook",
        "alerts.secret_env",
        "workload[0].like",
    ] {
        assert!(paths.contains(&want), "{want} missing from {paths:?}");
    }
}

#[test]
fn a_workload_is_configured_once() {
    let w = |name: &str| {
        format!(
            "[[workload]]\nworkload = \"{name}\"\nmetric = \"rps\"\ncapacity_per_replica = 1.0\n"
        )
    };
    let p = problems(&format!("{}{}{}", w("api"), w("web"), w("api")));
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(
        p[0].starts_with("workload[2].workload: \"api\" is already controlled by workload[0]"),
        "{p:#?}"
    );
}

#[test]
fn no_replicas_and_a_missing_program_are_refused() {
    let p = problems(
        r#"
[[workload]]
workload = "a"
metric = "rps"
capacity_per_replica = 1.0
min = 0
max = 0
[[workload]]
workload = "b"
metric = "rps"
capacity_per_replica = 1.0
actuator = { type = "exec", program = "/nonexistent/prescale-scale.sh" }
[[workload]]
workload = "c"
metric = "rps"
capacity_per_replica = 1.0
actuator = { type = "process-pool", program = "prescale-surely-not-on-path" }
"#,
    );
    let text = p.join("\n");
    for want in [
        "workload[0].max: must be ≥ 1",
        "workload[1].actuator.program: /nonexistent/prescale-scale.sh",
        "workload[2].actuator.program: \"prescale-surely-not-on-path\" is not an executable file",
    ] {
        assert!(text.contains(want), "{want} missing from {text}");
    }
    assert_eq!(p.len(), 3, "{p:#?}");
}

#[test]
fn an_unauthenticated_receiver_beyond_loopback_is_refused() {
    let p = problems("listen = \"0.0.0.0:9464\"\n");
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(
        p[0].starts_with("remote_write.auth: listen 0.0.0.0:9464 reaches beyond this machine"),
        "{p:#?}"
    );
    let p = problems("listen = \"[::]:9464\"\n");
    assert!(p[0].starts_with("remote_write.auth"), "{p:#?}");
    // Said explicitly: allowed (and warned about at start-up).
    let c = DaemonConfig::from_toml(
        "listen = \"0.0.0.0:9464\"\n[remote_write]\nallow_unauthenticated = true\n",
    )
    .unwrap();
    assert!(c.allow_unauthenticated_write && c.write_auth.is_none());
    // Loopback needs nothing.
    assert!(DaemonConfig::from_toml("listen = \"127.0.0.1:9464\"\n").is_ok());
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "basic-password-0123456789\n").unwrap();
    let c = DaemonConfig::from_toml(&format!(
        "listen = \"0.0.0.0:9464\"\n[remote_write.auth]\nbasic_username = \"prometheus\"\n\
         basic_password_file = {:?}\n",
        pw.display().to_string()
    ))
    .unwrap();
    let basic = c.write_auth.unwrap().basic.unwrap();
    assert_eq!(basic.username, "prometheus");
    assert!(basic.password.matches("basic-password-0123456789"));
}

#[test]
fn write_auth_problems_are_named() {
    let p = problems(
        r#"
[remote_write.auth]
bearer_token = "short"
basic_username = "a:b"
basic_password_file = "/nonexistent/prescale-password"
"#,
    );
    let paths: Vec<&str> = p.iter().map(|x| x.split(':').next().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "remote_write.auth.bearer_token",
            "remote_write.auth.basic_password_file"
        ],
        "{p:#?}"
    );
    let p = problems("[remote_write.auth]\n");
    assert!(
        p[0].starts_with("remote_write.auth: sets no credential"),
        "{p:#?}"
    );
    let p = problems(
        "[remote_write.auth]\nbearer_token = \"write-token-0123456789\"\nbearer_token_file = \"f\"\n",
    );
    assert!(
        p[0].starts_with("remote_write.auth.bearer_token: set bearer_token or bearer_token_file"),
        "{p:#?}"
    );
    let p = problems(
        "[remote_write.auth]\nbasic_username = \"a:b\"\nbasic_password = \"basic-password-0123456789\"\n",
    );
    assert!(
        p[0].starts_with("remote_write.auth.basic_username"),
        "{p:#?}"
    );
}

#[test]
fn server_limits_have_defaults_and_are_checked() {
    let c = DaemonConfig::from_toml("").unwrap();
    assert_eq!(c.server, prescale_daemon::config::ServerConfig::default());
    assert_eq!(c.server.header_read_timeout.as_secs(), 10);
    assert_eq!(c.server.max_connections, 1024);
    let p = problems(
        "[server]\nheader_read_timeout = \"soon\"\nbody_timeout = \"0s\"\nmax_connections = 0\n",
    );
    let paths: Vec<&str> = p.iter().map(|x| x.split(':').next().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "server.header_read_timeout",
            "server.body_timeout",
            "server.max_connections"
        ],
        "{p:#?}"
    );
}

#[test]
fn a_policy_is_a_name_or_a_table_of_its_settings() {
    let workload = |policy: &str| {
        format!(
            "[[workload]]\nworkload = \"api\"\nmetric = \"rps\"\ncapacity_per_replica = 10.0\npolicy = {policy}\n"
        )
    };
    let c = DaemonConfig::from_toml(&workload(r#"{ kind = "threshold", up = 1.3, down = 0.7 }"#))
        .unwrap();
    let p = &c.control.workloads[0].spec.policy;
    assert_eq!(p.label(), "threshold@1.3/0.7");
    let c = DaemonConfig::from_toml(&workload(r#""threshold@1.3/0.7""#)).unwrap();
    assert_eq!(
        &c.control.workloads[0].spec.policy, p,
        "the name means the same"
    );
    let c = DaemonConfig::from_toml(&workload(r#"{ kind = "hpa", target = 0.6 }"#)).unwrap();
    assert_eq!(c.control.workloads[0].spec.policy.label(), "hpa@0.60");
    // A predictive policy's own budget holds unless `budget` says otherwise.
    let c = DaemonConfig::from_toml(&workload(r#""predictive@0.02""#)).unwrap();
    let spec = &c.control.workloads[0].spec;
    assert_eq!(
        (spec.budget, spec.policy_kind().unwrap().label()),
        (0.02, "predictive@0.02".to_string())
    );
    let c =
        DaemonConfig::from_toml(&(workload(r#""predictive@0.02""#) + "budget = 0.05\n")).unwrap();
    assert_eq!(c.control.workloads[0].spec.budget, 0.05);
    for (bad, says) in [
        (
            r#"{ kind = "threshold", up = 0.5, down = 0.7 }"#,
            "0 < down < up",
        ),
        (r#"{ kind = "threshold", upp = 1.5 }"#, "upp"),
        (r#"{ kind = "warp" }"#, "warp"),
        (r#""fast""#, "unknown policy"),
        ("7", "policy"),
    ] {
        let p = problems(&workload(bad));
        assert!(
            p.iter()
                .any(|m| m.contains("workload[0].policy") && m.contains(says)),
            "{bad}: {p:?}"
        );
    }
}

#[test]
fn the_fleet_model_schedule_is_validated_once() {
    let c = DaemonConfig::defaults().unwrap();
    assert_eq!(
        c.learn.as_ref().and_then(|l| l.fleet_every),
        Some(std::time::Duration::from_secs(3600)),
        "the fleet gbm is retrained hourly by default"
    );
    let off = DaemonConfig::from_toml("[learn]\nfleet = false\n").unwrap();
    assert_eq!(off.learn.unwrap().fleet_every, None);
    let p = problems("[learn]\nfleet_every = \"1s\"\n");
    assert!(p.iter().any(|m| m.contains("learn.fleet_every")), "{p:?}");
    let ae = DaemonConfig::from_toml("[learn]\nreducer = \"ae\"\n").unwrap();
    assert_eq!(
        ae.learn.unwrap().reducer,
        prescale_fingerprint::Reducer::Autoencoder
    );
    let p = problems("[learn]\nreducer = \"umap\"\n");
    assert!(p.iter().any(|m| m.contains("learn.reducer")), "{p:?}");
    let p = problems("[learn]\nfleet_every = \"soon\"\n");
    assert!(p.iter().any(|m| m.contains("learn.fleet_every")), "{p:?}");
    let days = |d: u64| Some(std::time::Duration::from_secs(d * 86_400));
    assert_eq!(c.learn.as_ref().and_then(|l| l.refit_basis), days(30));
    let week = DaemonConfig::from_toml("[learn]\nrefit_basis = \"7d\"\n").unwrap();
    assert_eq!(week.learn.unwrap().refit_basis, days(7));
    let never = DaemonConfig::from_toml("[learn]\nrefit_basis = \"never\"\n").unwrap();
    assert_eq!(never.learn.unwrap().refit_basis, None);
    use prescale_forecast::neural::CellKind;
    assert_eq!(
        c.learn.as_ref().map(|l| l.cluster_models.clone()),
        Some(vec![CellKind::Gru])
    );
    let both = DaemonConfig::from_toml("[learn]\ncluster_models = [\"gru\", \"lstm\"]\n").unwrap();
    assert_eq!(
        both.learn.unwrap().cluster_models,
        [CellKind::Gru, CellKind::Lstm]
    );
    let none = DaemonConfig::from_toml("[learn]\ncluster_models = []\n").unwrap();
    assert!(none.learn.unwrap().cluster_models.is_empty());
    let p = problems("[learn]\ncluster_models = [\"gru\", \"transformer\", \"gru\"]\n");
    assert!(
        p.iter()
            .any(|m| m.contains("learn.cluster_models[1]") && m.contains("transformer")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|m| m.contains("learn.cluster_models[2]") && m.contains("twice")),
        "{p:?}"
    );
    let p = problems("[learn]\nrefit_basis = \"5m\"\n");
    assert!(p.iter().any(|m| m.contains("learn.refit_basis")), "{p:?}");
}

#[test]
fn observe_problems_are_named_by_their_path() {
    let p = problems(
        r#"
[observe]
metrics = ["cpu_cores", "", "cpu_cores"]
max_workloads = 0
step = "0s"
lead = "soon"
capacity_per_replica = -1.0
rescan = "0s"
"#,
    );
    let want = [
        "observe.metrics[1]: ",
        "observe.metrics[2]: \"cpu_cores\" is repeated",
        "observe.max_workloads: must be ≥ 1",
        "observe.step: \"0s\" must be ≥ 1s",
        "observe.lead: \"soon\" is not a duration",
        "observe.capacity_per_replica: -1 must be positive and finite",
        "observe.rescan: \"0s\" must be ≥ 1s",
    ];
    for w in want {
        assert!(
            p.iter().any(|x| x.starts_with(w)),
            "missing {w:?} in {p:#?}"
        );
    }
    assert_eq!(p.len(), want.len(), "{p:#?}");
    let p = problems("[observe]\nmetrics = []\nany_metric = false\n");
    assert_eq!(
        p,
        ["observe.metrics: is empty and any_metric = false: no workload could be observed"]
    );
    let e = DaemonConfig::from_toml("[observe]\nsurprise = 1\n").unwrap_err();
    assert!(e.to_string().contains("surprise"), "{e}");
}
