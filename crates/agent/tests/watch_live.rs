//! The millisecond watcher on real processes: a busy writer and a sleeper, on its own thread.

use prescale_agent::watch::{self, CpuSource, WatchConfig, WatchStep, Watcher};
use prescale_core::Labels;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn value(s: &WatchStep, workload: &str, metric: &str) -> Option<f64> {
    s.points
        .iter()
        .find(|p| p.key.workload.as_str() == workload && p.key.metric.as_str() == metric)
        .map(|p| p.sample.value)
}

#[test]
fn a_busy_writer_and_a_sleeper_at_one_millisecond() {
    let busy = Kill(
        Command::new("yes")
            .stdout(Stdio::null())
            .spawn()
            .expect("yes"),
    );
    let idle = Kill(Command::new("sleep").arg("30").spawn().expect("sleep"));
    let cfg: WatchConfig = toml::from_str(&format!(
        "interval = \"1ms\"\nstep = \"500ms\"\nprocesses = [{{ pid = {}, workload = \"busy\" }}, {{ pid = {}, workload = \"idle\" }}]",
        busy.0.id(),
        idle.0.id()
    ))
    .unwrap();
    let w = Watcher::new(cfg, "/proc", Labels::new()).unwrap();
    assert_eq!(w.cpu_source(), CpuSource::ProcessClock);
    let (tx, rx) = mpsc::channel();
    let t = watch::spawn(w, move |s| tx.send(s).is_ok()).unwrap();
    // The first step is partial; look at the next two full ones.
    let steps: Vec<WatchStep> = (0..3)
        .map(|_| rx.recv_timeout(Duration::from_secs(5)).expect("a step"))
        .collect();
    drop(t.stop);
    t.join.join().unwrap();
    for s in &steps[1..] {
        assert!(s.stats.readings > 100, "{:?}", s.stats);
        let cpu = value(s, "busy", "watch_cpu_cores").unwrap();
        let max = value(s, "busy", "watch_cpu_cores_max").unwrap();
        assert!(cpu > 0.2 && cpu <= max + 1e-9, "busy {cpu} max {max}");
        assert!(value(s, "busy", "watch_syscw_per_s").unwrap() > 100.0);
        assert!(value(s, "idle", "watch_cpu_cores").unwrap() < 0.01);
        assert!(s.stats.cpu_seconds > 0.0);
    }
}

#[test]
fn the_agent_hands_on_its_watchers_steps_with_every_sample() {
    let busy = Kill(
        Command::new("yes")
            .stdout(Stdio::null())
            .spawn()
            .expect("yes"),
    );
    let cfg: prescale_agent::AgentConfig = toml::from_str(&format!(
        "unmatched = \"drop\"\n[watch]\ninterval = \"1ms\"\nstep = \"100ms\"\nprocesses = [{{ pid = {}, workload = \"busy\" }}]",
        busy.0.id()
    ))
    .unwrap();
    let mut agent = prescale_agent::Agent::new(cfg).unwrap();
    let now = prescale_core::Timestamp(0);
    agent.sample(now).unwrap();
    std::thread::sleep(Duration::from_millis(450));
    let s = agent.sample(now).unwrap();
    let stats = s.watch.expect("steps finished in 450 ms");
    assert!(stats.readings > 100, "{stats:?}");
    assert!(s.overhead.cpu_seconds >= stats.cpu_seconds);
    let cpu: Vec<f64> = s
        .points
        .iter()
        .filter(|p| p.key.workload.as_str() == "busy" && p.key.metric.as_str() == "watch_cpu_cores")
        .map(|p| p.sample.value)
        .collect();
    assert!(cpu.len() >= 3, "one point per 100 ms step: {cpu:?}");
    drop(agent); // stops and joins the watcher thread
}
