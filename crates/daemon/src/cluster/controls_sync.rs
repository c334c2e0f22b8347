//! Keeps this instance's mode and kill switches in step with the cluster's (one document in the
//! controls bucket): a change made through any instance's API is written there, a change found
//! there is applied here; when both changed since the last sync, the bucket's wins. The document
//! in the bucket, once written, overrides an instance's saved state when it joins.

use crate::controls::Controls;
use prescale_bus::{Bus, GlobalControls};
use prescale_control::Mode;
use prescale_core::WorkloadId;
use serde::{Deserialize, Serialize};

/// The shared document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Shared {
    mode: Mode,
    kill_global: bool,
    kill_workloads: Vec<WorkloadId>,
}

fn local(c: &Controls) -> Shared {
    let (kill_global, mut kill_workloads) = c.kill_state();
    kill_workloads.sort();
    Shared {
        mode: c.mode(),
        kill_global,
        kill_workloads,
    }
}

pub(super) struct ControlsSync {
    global: GlobalControls,
    controls: Controls,
    /// The document as last synced and its revision.
    last: Option<(Shared, u64)>,
}

impl ControlsSync {
    pub(super) fn new(bus: &Bus, controls: Controls) -> ControlsSync {
        ControlsSync {
            global: GlobalControls::new(bus),
            controls,
            last: None,
        }
    }

    pub(super) async fn round(&mut self) {
        let here = local(&self.controls);
        let stored = match self.global.read().await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "reading the global controls");
                return;
            }
        };
        match stored {
            None => self.write(here, None).await,
            Some((bytes, rev)) => {
                let unchanged_there = self.last.as_ref().is_some_and(|(_, r)| *r == rev);
                if unchanged_there {
                    if self.last.as_ref().is_some_and(|(s, _)| *s != here) {
                        self.write(here, Some(rev)).await;
                    }
                    return;
                }
                match serde_json::from_slice::<Shared>(&bytes) {
                    Ok(there) => {
                        self.apply(&here, &there);
                        self.last = Some((there, rev));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the global controls in the bucket are not a controls document; writing this instance's");
                        self.write(here, Some(rev)).await;
                    }
                }
            }
        }
    }

    async fn write(&mut self, here: Shared, rev: Option<u64>) {
        let json = match serde_json::to_vec(&here) {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(error = %e, "encoding the global controls");
                return;
            }
        };
        match self.global.write(json, rev).await {
            Ok(Some(new)) => {
                tracing::info!(mode = %here.mode, kill_global = here.kill_global, "global controls shared with the cluster");
                self.last = Some((here, new));
            }
            // Someone else wrote first: theirs is applied next round.
            Ok(None) => {}
            Err(e) => tracing::debug!(error = %e, "writing the global controls"),
        }
    }

    fn apply(&self, here: &Shared, there: &Shared) {
        if here == there {
            return;
        }
        tracing::info!(mode = %there.mode, kill_global = there.kill_global, workloads = ?there.kill_workloads, "applying the cluster's global controls");
        let c = &self.controls;
        let saved = |r: Result<_, crate::controls::SaveError>| {
            if let Err(e) = r {
                tracing::error!(error = %e, "saving the cluster's controls locally");
            }
        };
        if here.mode != there.mode {
            saved(c.set_mode(there.mode).map(|_| ()));
        }
        if here.kill_global != there.kill_global {
            saved(c.set_kill(None, there.kill_global));
        }
        for w in &here.kill_workloads {
            if !there.kill_workloads.contains(w) {
                saved(c.set_kill(Some(w), false));
            }
        }
        for w in &there.kill_workloads {
            if !here.kill_workloads.contains(w) {
                saved(c.set_kill(Some(w), true));
            }
        }
    }
}
