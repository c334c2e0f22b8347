//! Admission state shared by one source: the ingest crate's `Admission`, the metric kinds learnt
//! from metadata, and periodic forgetting of series idle for `series_idle_ms` so the series limits
//! do not fill up.

use prescale_core::point::SeriesPoints;
use prescale_ingest::admit::{AdmissionConfig, AdmitReport, MappingRules};
use prescale_ingest::remote_write::WriteRequest;
use prescale_ingest::{KindIndex, RawSample};

/// Idle series are looked for at most this often (and at least every sixth of the idle expiry).
const SWEEP_MAX_MS: i64 = 600_000;

#[derive(Debug)]
pub struct SourceAdmission {
    admission: prescale_ingest::admit::Admission,
    /// Kinds declared by remote-write metadata (often in separate requests).
    pub kinds: KindIndex,
    last_sweep_ms: i64,
    /// `series_idle_ms` of the config, and how often to look for such series.
    idle_ms: i64,
    sweep_ms: i64,
}

impl SourceAdmission {
    pub fn new(cfg: AdmissionConfig, rules: MappingRules) -> Self {
        let idle_ms = cfg.series_idle_ms.max(1);
        SourceAdmission {
            idle_ms,
            sweep_ms: (idle_ms / 6).clamp(1, SWEEP_MAX_MS),
            admission: prescale_ingest::admit::Admission::new(cfg, rules),
            kinds: KindIndex::new(),
            last_sweep_ms: 0,
        }
    }

    /// Admits with the kinds in `extra` (a scrape's families) or, failing that, the learnt ones.
    pub fn admit(
        &mut self,
        samples: Vec<RawSample>,
        extra: Option<&KindIndex>,
        now_ms: i64,
    ) -> AdmitReport {
        self.sweep(now_ms);
        let learnt = &self.kinds;
        let lookup = |name: &str| extra.and_then(|k| k.get(name)).or_else(|| learnt.get(name));
        self.admission.admit(samples, &lookup, now_ms)
    }

    /// Admits a decoded remote-write request (the same outcome as [`Self::admit`] on its raw
    /// samples, without materializing them), with the kinds learnt from metadata.
    pub fn admit_request(&mut self, req: &WriteRequest, now_ms: i64) -> AdmitReport<SeriesPoints> {
        self.sweep(now_ms);
        let learnt = &self.kinds;
        let lookup = |name: &str| learnt.get(name);
        self.admission.admit_request(req, &lookup, now_ms)
    }

    fn sweep(&mut self, now_ms: i64) {
        if now_ms.saturating_sub(self.last_sweep_ms) >= self.sweep_ms {
            self.last_sweep_ms = now_ms;
            let forgotten = self.admission.forget_idle(now_ms, self.idle_ms);
            if forgotten > 0 {
                tracing::debug!(forgotten, "idle input series forgotten");
            }
        }
    }
}
