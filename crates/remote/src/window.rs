//! The Prometheus-compatible server as a window source (the contract, `WindowSource`, lives in
//! `prescale_core`; the embedded store implements it in `prescale_store`).

use crate::backfill::BackfillQuery;
use crate::client::{InstantAnswer, PromClient};
use crate::error::RemoteError;
use crate::naming::{key_of_labels, raw_selector, METRIC_LABEL, WORKLOAD_LABEL};
use crate::range::{merge_samples, TimeRange};
use prescale_core::{Interval, Sample, SeriesKey, Timestamp, WindowError, WindowSource};

/// A remote server's failure as a window read error.
impl From<RemoteError> for WindowError {
    fn from(e: RemoteError) -> WindowError {
        WindowError::backend("Prometheus-compatible server", e)
    }
}

/// How a [`PromWindowSource`] finds a key's samples on the server.
#[derive(Debug, Clone, PartialEq)]
pub enum RemoteLayout {
    /// Raw telemetry written by prescale's remote-write ([`crate::naming::point_sample`]): read the
    /// stored samples of [`raw_selector`] exactly.
    Raw,
    /// Series produced by the back-fill queries: evaluate the query that yields the key over the
    /// window on the grid of multiples of its step (or `step`) and keep the matching series.
    Queries {
        queries: Vec<BackfillQuery>,
        step: Interval,
    },
}

/// A window source reading from Prometheus or VictoriaMetrics.
#[derive(Debug, Clone)]
pub struct PromWindowSource {
    client: PromClient,
    layout: RemoteLayout,
}

impl PromWindowSource {
    pub fn new(client: PromClient, layout: RemoteLayout) -> Self {
        PromWindowSource { client, layout }
    }

    pub fn client(&self) -> &PromClient {
        &self.client
    }

    fn query_window(
        &self,
        queries: &[BackfillQuery],
        default_step: Interval,
        key: &SeriesKey,
        range: TimeRange,
    ) -> Result<Vec<Sample>, WindowError> {
        let mut candidates = queries
            .iter()
            .filter(|q| {
                q.metric.as_fixed().is_none_or(|m| m == key.metric.as_str())
                    && q.workload
                        .as_fixed()
                        .is_none_or(|w| w == key.workload.as_str())
            })
            .peekable();
        if candidates.peek().is_none() {
            return Err(WindowError::UnknownSeries(key.clone()));
        }
        let mut out = Vec::new();
        for q in candidates {
            let step = q.step.unwrap_or(default_step);
            let s = step.millis();
            let start = Timestamp(
                range.start.0.div_euclid(s) * s
                    + if range.start.0.rem_euclid(s) == 0 {
                        0
                    } else {
                        s
                    },
            );
            if start > range.end {
                continue;
            }
            let answer = self.client.range_chunks(
                &q.promql,
                &TimeRange::new(start, range.end)?.chunks(step, self.client.max_points()),
                step,
                &mut |_| {},
            )?;
            for series in answer.series {
                if q.key_for_labels(&series.labels).ok().as_ref() == Some(key) {
                    out.extend(series.samples);
                }
            }
        }
        merge_samples(&mut out);
        Ok(out)
    }
}

impl WindowSource for PromWindowSource {
    fn load_window(
        &self,
        key: &SeriesKey,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Sample>, WindowError> {
        let range = TimeRange::new(from, to)?;
        match &self.layout {
            RemoteLayout::Raw => {
                let mut out: Vec<Sample> = self
                    .client
                    .raw_samples(&raw_selector(key), range)?
                    .into_iter()
                    .flat_map(|s| s.samples)
                    .collect();
                merge_samples(&mut out);
                Ok(out)
            }
            RemoteLayout::Queries { queries, step } => {
                self.query_window(queries, *step, key, range)
            }
        }
    }

    fn keys(&self) -> Result<Vec<SeriesKey>, WindowError> {
        let mut keys = Vec::new();
        match &self.layout {
            RemoteLayout::Raw => {
                let matcher = format!("{{{WORKLOAD_LABEL}!=\"\",{METRIC_LABEL}!=\"\"}}");
                for labels in self.client.series(&[matcher.as_str()], None)? {
                    keys.extend(key_of_labels(&labels));
                }
            }
            RemoteLayout::Queries { queries, .. } => {
                for q in queries {
                    let labels = match self.client.query(&q.promql, None)? {
                        InstantAnswer::Vector(v) => v.into_iter().map(|s| s.labels).collect(),
                        InstantAnswer::Matrix(m) => m.into_iter().map(|s| s.labels).collect(),
                        InstantAnswer::Scalar(_) => vec![Default::default()],
                    };
                    for l in labels {
                        keys.extend(q.key_for_labels(&l).ok());
                    }
                }
            }
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }
}
