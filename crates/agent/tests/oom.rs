//! OOM kills through the agent on a fake cgroup v2 and v1 tree: the counter, the kill events, resets and bad files.

mod common;

use common::{FakeProc, Proc};
use prescale_agent::{Agent, AgentConfig, AgentSample};
use prescale_core::Timestamp;

fn value(s: &AgentSample, workload: &str, metric: &str) -> Option<f64> {
    s.points
        .iter()
        .find(|p| p.key.workload.as_str() == workload && p.key.metric.as_str() == metric)
        .map(|p| p.sample.value)
}

fn agent(fake: &FakeProc, rules: &str) -> Agent {
    let mut cfg: AgentConfig = toml::from_str(rules).unwrap();
    cfg.proc_root = fake.root();
    cfg.sys_root = fake.root().join("sys");
    cfg.environment = false;
    Agent::new(cfg).unwrap()
}

#[test]
fn v2_memory_events_become_a_counter_and_kill_events() {
    let fake = FakeProc::new();
    let cg = fake.path().join("sys/fs/cgroup");
    let unit = cg.join("system.slice/web.service");
    std::fs::create_dir_all(&unit).unwrap();
    std::fs::write(cg.join("cgroup.controllers"), "cpu memory io\n").unwrap();
    std::fs::write(unit.join("memory.current"), "4096\n").unwrap();
    let events = |kills: u64| {
        std::fs::write(
            unit.join("memory.events"),
            format!("low 0\nhigh 0\nmax 9\noom {kills}\noom_kill {kills}\noom_group_kill 0\n"),
        )
        .unwrap()
    };
    events(1);
    let mut p = Proc::new("web");
    p.cgroup = "0::/system.slice/web.service\n".into();
    fake.put(1, &p);
    let mut a = agent(&fake, "[[rules]]\nsystemd_unit = \"^(.*)\\\\.service$\"\n");

    let s = a.sample_at(Timestamp(0), 1.0).unwrap();
    assert_eq!(value(&s, "web", "oom_kills_total"), Some(1.0));
    assert!(
        s.oom.is_empty(),
        "a kill before the agent started is the base, not news"
    );

    events(3);
    let s = a.sample_at(Timestamp(1_000), 2.0).unwrap();
    assert_eq!(value(&s, "web", "oom_kills_total"), Some(3.0));
    assert_eq!(s.oom.len(), 1);
    assert_eq!(
        (s.oom[0].workload.as_str(), s.oom[0].kills, s.oom[0].total),
        ("web", 2, 3)
    );

    // The unit restarted in a new cgroup: the counter starts again, no kill reported.
    events(0);
    let s = a.sample_at(Timestamp(2_000), 3.0).unwrap();
    assert_eq!(value(&s, "web", "oom_kills_total"), Some(0.0));
    assert!(s.oom.is_empty());
    events(1);
    let s = a.sample_at(Timestamp(3_000), 4.0).unwrap();
    assert_eq!(s.oom[0].kills, 1);

    // A malformed file: counted, named with its line, never a panic; the memory still reported.
    std::fs::write(unit.join("memory.events"), "low 0\noom_kill many\n").unwrap();
    let s = a.sample_at(Timestamp(4_000), 5.0).unwrap();
    assert_eq!(value(&s, "web", "oom_kills_total"), None);
    assert_eq!(value(&s, "web", "cgroup_memory_bytes"), Some(4096.0));
    assert!(s.stats.malformed >= 1);
    assert_eq!(s.problems.len(), 1);
    let msg = s.problems[0].to_string();
    assert!(
        msg.ends_with("memory.events:2: oom_kill: \"many\" is not a count"),
        "{msg}"
    );
}

#[test]
fn v1_oom_control_and_processes_outside_a_cgroup_rule() {
    let fake = FakeProc::new();
    let mem = fake.path().join("sys/fs/cgroup/memory/docker/abc123");
    std::fs::create_dir_all(&mem).unwrap();
    std::fs::write(mem.join("memory.usage_in_bytes"), "8192\n").unwrap();
    std::fs::write(
        mem.join("memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
    )
    .unwrap();
    let mut p = Proc::new("app");
    p.cgroup = "4:memory:/docker/abc123\n0::/\n".into();
    fake.put(1, &p);
    fake.put(2, &Proc::new("bash"));
    let mut a = agent(
        &fake,
        "[[rules]]\ncgroup = \"^/docker/(?P<id>[0-9a-f]+)\"\nworkload = \"c-$id\"\n",
    );
    let s = a.sample_at(Timestamp(0), 1.0).unwrap();
    assert_eq!(value(&s, "c-abc123", "oom_kills_total"), Some(0.0));
    assert_eq!(
        value(&s, "bash", "oom_kills_total"),
        None,
        "not grouped by a cgroup"
    );
    std::fs::write(
        mem.join("memory.oom_control"),
        "oom_kill_disable 0\nunder_oom 1\noom_kill 1\n",
    )
    .unwrap();
    let s = a.sample_at(Timestamp(1_000), 2.0).unwrap();
    assert_eq!(s.oom.len(), 1);
    assert_eq!(s.oom[0].workload.as_str(), "c-abc123");
}
