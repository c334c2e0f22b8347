//! The millisecond watcher against hand-written /proc trees: matching, mean and peak per step, exits, bad files.

mod common;

use common::{FakeProc, Proc};
use prescale_agent::watch::{CpuSource, WatchConfig, WatchStep, Watcher};
use prescale_core::{Labels, Timestamp};

const MS: u64 = 1_000_000;

fn watcher(fake: &FakeProc, toml_text: &str) -> Watcher {
    let cfg: WatchConfig = toml::from_str(toml_text).unwrap();
    Watcher::new(cfg, fake.root(), Labels::new()).unwrap()
}

fn value(s: &WatchStep, workload: &str, metric: &str) -> Option<f64> {
    s.points
        .iter()
        .find(|p| p.key.workload.as_str() == workload && p.key.metric.as_str() == metric)
        .map(|p| p.sample.value)
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9 * b.abs().max(1.0))
}

#[test]
fn a_step_keeps_the_mean_and_the_one_interval_peak() {
    let fake = FakeProc::new();
    let mut api = Proc::new("api-server");
    let mut db = Proc::new("postgres");
    let other = Proc::new("bash");
    fake.put(10, &api);
    fake.put(20, &db);
    fake.put(30, &other);
    let mut w = watcher(
        &fake,
        "step = \"100ms\"\nprocesses = [{ name = \"^api\" }, { pid = 20, workload = \"db\" }]",
    );
    assert_eq!(
        w.cpu_source(),
        CpuSource::Schedstat,
        "a fake tree is not ours"
    );
    // Ten readings 10 ms apart in the step [1000, 1100) ms.
    for i in 0..10u64 {
        if i > 0 {
            // api: 2 ms of CPU per 10 ms, except one 10 ms interval at a full core.
            api.schedstat.0 += if i == 5 { 10 * MS } else { 2 * MS };
            api.schedstat.1 += MS;
            api.schedstat.2 += 3;
            let io = api.io.as_mut().unwrap();
            io[2] += 5; // syscr
            io[3] += 1; // syscw
            db.schedstat.0 += MS;
            fake.put(10, &api);
            fake.put(20, &db);
        }
        let out = w.tick(Timestamp(1000 + 10 * i as i64), 50 * MS + i * 10 * MS);
        assert!(out.is_none(), "no step finished at reading {i}");
    }
    assert_eq!(w.pids(), vec![10, 20]);
    let step = w
        .tick(Timestamp(1100), 50 * MS + 100 * MS)
        .expect("the step [1000, 1100) is done");
    assert!(step.points.iter().all(|p| p.sample.ts == Timestamp(1100)));
    // 9 intervals of 10 ms: 8 × 2 ms + 10 ms of CPU over 90 ms.
    assert!(close(
        value(&step, "api-server", "watch_cpu_cores"),
        26.0 / 90.0
    ));
    assert!(close(
        value(&step, "api-server", "watch_cpu_cores_max"),
        1.0
    ));
    assert!(close(
        value(&step, "api-server", "watch_runqueue_wait_seconds_per_s"),
        0.1
    ));
    assert!(close(
        value(&step, "api-server", "watch_timeslices_per_s"),
        300.0
    ));
    assert!(close(
        value(&step, "api-server", "watch_syscr_per_s"),
        500.0
    ));
    assert!(close(
        value(&step, "api-server", "watch_syscw_per_s_max"),
        100.0
    ));
    assert!(close(
        value(&step, "api-server", "watch_gap_max_seconds"),
        0.01
    ));
    assert_eq!(value(&step, "api-server", "watch_processes"), Some(1.0));
    assert_eq!(
        value(&step, "api-server", "watch_ctx_switches_voluntary_per_s"),
        None,
        "status is off"
    );
    assert!(close(value(&step, "db", "watch_cpu_cores"), 0.1));
    assert_eq!(value(&step, "bash", "watch_processes"), None, "not watched");
    assert_eq!(step.stats.readings, 10);
    assert_eq!(step.stats.processes, 2);
}

#[test]
fn exits_reused_pids_limits_and_bad_files_are_counted_not_fatal() {
    let fake = FakeProc::new();
    for pid in 1..=4 {
        fake.put(pid, &Proc::new("worker"));
    }
    let mut target = Proc::new("target");
    target.starttime = 500;
    fake.put(50, &target);
    let mut w = watcher(
        &fake,
        "step = \"100ms\"\nmax_processes = 3\nstatus = true\nprocesses = [{ name = \"^worker$\" }, { pid = 50 }]",
    );
    w.tick(Timestamp(0), MS);
    assert_eq!(
        w.pids(),
        vec![1, 2, 3],
        "the fourth worker is over the limit"
    );
    let s = w.tick(Timestamp(100), 2 * MS).unwrap();
    assert_eq!(s.stats.over_limit, 2, "worker 4 and pid 50");

    // Worker 1 exits; worker 2's schedstat turns to garbage. The next rescan (1 s on) drops worker
    // 1 and fills its place with the next match in pid order, worker 4.
    fake.remove(1);
    fake.write(2, "schedstat", "not numbers\n");
    w.tick(Timestamp(150), 1_500 * MS);
    let s = w.tick(Timestamp(200), 1_501 * MS).unwrap();
    assert_eq!(s.stats.vanished, 1);
    assert!(s.stats.malformed >= 1);
    assert_eq!(w.pids(), vec![2, 3, 4]);

    // Pid 50 is replaced by another process with the same pid: it is not the one named.
    let fake2 = FakeProc::new();
    fake2.put(50, &target);
    let mut w2 = watcher(&fake2, "step = \"100ms\"\nprocesses = [{ pid = 50 }]");
    w2.tick(Timestamp(0), MS);
    assert_eq!(w2.pids(), vec![50]);
    fake2.remove(50);
    w2.tick(Timestamp(10), 1_500 * MS);
    assert!(w2.pids().is_empty());
    let mut reused = Proc::new("other");
    reused.starttime = 900;
    fake2.put(50, &reused);
    w2.tick(Timestamp(3_000), 3_000 * MS);
    assert!(w2.pids().is_empty(), "a reused pid is not watched");
}

#[test]
fn status_gives_the_context_switch_split() {
    let fake = FakeProc::new();
    let mut p = Proc::new("svc");
    fake.put(7, &p);
    let mut w = watcher(
        &fake,
        "step = \"100ms\"\nstatus = true\nprocesses = [{ cmdline = \"^svc\", workload = \"svc-main\" }]",
    );
    w.tick(Timestamp(0), MS);
    p.ctx = (40, 2);
    fake.put(7, &p);
    w.tick(Timestamp(20), 21 * MS);
    let s = w.tick(Timestamp(100), 101 * MS).unwrap();
    assert!(close(
        value(&s, "svc-main", "watch_ctx_switches_voluntary_per_s_max"),
        2000.0
    ));
    assert!(close(
        value(&s, "svc-main", "watch_ctx_switches_involuntary_per_s"),
        100.0
    ));
}

#[test]
fn the_agent_config_carries_the_watch_list_and_validates_it() {
    let fake = FakeProc::new();
    let text = format!(
        "proc_root = {:?}\n[watch]\ninterval = \"1ms\"\nprocesses = []\n",
        fake.root()
    );
    let cfg: prescale_agent::AgentConfig = toml::from_str(&text).unwrap();
    let e = prescale_agent::Agent::new(cfg).err().unwrap().to_string();
    assert!(e.starts_with("watch.processes: is empty"), "{e}");
    let text = format!(
        "proc_root = {:?}\n[watch]\nprocesses = [{{ name = \"x\" }}]\n",
        fake.root()
    );
    let cfg: prescale_agent::AgentConfig = toml::from_str(&text).unwrap();
    let agent = prescale_agent::Agent::new(cfg).unwrap();
    assert!(agent.watcher().unwrap().is_ok());
}

#[test]
fn io_read_every_io_interval_keeps_its_mean_exact_and_its_peak_over_that_interval() {
    let fake = FakeProc::new();
    let mut api = Proc::new("api");
    fake.put(10, &api);
    let every = "interval = \"1ms\"\nstep = \"100ms\"\nprocesses = [{ pid = 10 }]";
    let mut all = watcher(&fake, every);
    let mut tenth = watcher(&fake, &format!("io_interval = \"10ms\"\n{every}"));
    // 100 readings 1 ms apart in the step [1000, 1100) ms: 1 read call and 0.1 ms of CPU a
    // millisecond, except at reading 37: 51 calls and a full core.
    for i in 0..100u64 {
        if i > 0 {
            let burst = i == 37;
            api.io.as_mut().unwrap()[2] += if burst { 51 } else { 1 };
            api.schedstat.0 += if burst { MS } else { MS / 10 };
            fake.put(10, &api);
        }
        let (now, t) = (Timestamp(1000 + i as i64), 50 * MS + i * MS);
        assert!(all.tick(now, t).is_none() && tenth.tick(now, t).is_none());
    }
    let (now, t) = (Timestamp(1100), 150 * MS);
    let all = all.tick(now, t).expect("step done");
    let tenth = tenth.tick(now, t).expect("step done");
    // Every reading: 149 calls over the 99 ms covered, peak 51 calls in 1 ms.
    assert!(close(
        value(&all, "api", "watch_syscr_per_s"),
        149.0 / 0.099
    ));
    assert!(close(value(&all, "api", "watch_syscr_per_s_max"), 51_000.0));
    // io at readings 0, 10, ..., 90: 140 calls over the 90 ms covered, peak 60 calls in 10 ms.
    assert!(close(
        value(&tenth, "api", "watch_syscr_per_s"),
        140.0 / 0.090
    ));
    assert!(close(
        value(&tenth, "api", "watch_syscr_per_s_max"),
        6_000.0
    ));
    // CPU is read at every reading in both: the same mean and 1 ms peak.
    for s in [&all, &tenth] {
        assert!(close(
            value(s, "api", "watch_cpu_cores"),
            (98.0 * 0.1 + 1.0) / 99.0
        ));
        assert!(close(value(s, "api", "watch_cpu_cores_max"), 1.0));
        assert!(close(value(s, "api", "watch_gap_max_seconds"), 0.001));
        assert_eq!(s.stats.readings, 100);
    }
}
