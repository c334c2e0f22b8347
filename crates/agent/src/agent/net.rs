//! Network bytes per network namespace, attributed to the workloads that own the namespace.

use super::*;

impl Agent {
    /// Kernel threads live in the host's namespace: it is never one workload's alone.
    pub(super) fn mark_host_ns(&mut self, pid: u32, same_proc: bool, full: bool) {
        if !full || self.cfg.net == NetAttribution::Off {
            return;
        }
        let ns = match self
            .procs
            .get(&pid)
            .and_then(|p| p.netns.filter(|_| same_proc))
        {
            Some(ns) => Some(ns),
            None => {
                let ns = self
                    .reader
                    .read_link(pid, "ns/net")
                    .ok()
                    .and_then(|l| parse::parse_ns_link(l.as_encoded_bytes()));
                if let (Some(p), Some(n)) = (self.procs.get_mut(&pid), ns) {
                    p.netns = Some(n);
                }
                ns
            }
        };
        if let Some(ns) = ns {
            self.ns_owner.insert(ns, NsOwner::Many);
        }
    }

    /// Network bytes per namespace, given to the workloads in it (see [`NetAttribution`]).
    pub(super) fn attribute_net(&mut self, clock: f64, stats: &mut SampleStats) {
        if self.cfg.net == NetAttribution::Off {
            return;
        }
        let reps: Vec<(u64, u32)> = self.ns_rep.iter().map(|(&n, &p)| (n, p)).collect();
        for (ns, pid) in reps {
            let owner = self.ns_owner.get(&ns).copied();
            if self.cfg.net == NetAttribution::Exclusive && !matches!(owner, Some(NsOwner::One(_)))
            {
                continue;
            }
            if !self.net_files.contains_key(&ns) {
                match self.reader.open(pid, "net/dev") {
                    Ok(f) => {
                        self.net_files.insert(ns, f);
                    }
                    Err(_) => continue,
                }
            }
            let read = match self.net_files.get(&ns) {
                Some(f) => self.reader.pread(f),
                None => continue,
            };
            let counts = match read {
                Ok(b) => match parse::parse_net_dev(b) {
                    Ok(c) => c,
                    Err(_) => {
                        stats.malformed += 1;
                        self.net_files.remove(&ns);
                        continue;
                    }
                },
                Err(_) => {
                    self.net_files.remove(&ns);
                    continue;
                }
            };
            let now = NetPrev {
                t: clock,
                rx: counts.0,
                tx: counts.1,
            };
            let before = self.net_prev.insert(ns, now);
            let Some(b) = before else { continue };
            let dt = clock - b.t;
            if dt <= 0.0 {
                continue;
            }
            let (Some(drx), Some(dtx)) = (now.rx.checked_sub(b.rx), now.tx.checked_sub(b.tx))
            else {
                continue;
            };
            let (rx, tx) = (drx as f64 / dt, dtx as f64 / dt);
            match (self.cfg.net, owner) {
                (NetAttribution::Exclusive, Some(NsOwner::One(w))) => {
                    if let Some(a) = self.aggs.get_mut(w as usize) {
                        add(&mut a.net_rx, rx);
                        add(&mut a.net_tx, tx);
                    }
                }
                (NetAttribution::Shared, _) => {
                    for &w in &self.touched {
                        let in_ns = self.tracked.iter().any(|pid| {
                            self.procs.get(pid).is_some_and(|p| {
                                p.netns == Some(ns)
                                    && p.class.as_ref().is_some_and(|c| c.workload == w)
                            })
                        });
                        if in_ns {
                            if let Some(a) = self.aggs.get_mut(w as usize) {
                                add(&mut a.net_rx, rx);
                                add(&mut a.net_tx, tx);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let live = &self.ns_rep;
        self.net_prev.retain(|ns, _| live.contains_key(ns));
        self.net_files.retain(|ns, _| live.contains_key(ns));
    }
}
