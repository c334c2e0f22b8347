//! Back-fill: run configured PromQL queries over a past range and map their series to prescale series.

use crate::api::RangeSeries;
use crate::client::{Progress, PromClient};
use crate::error::RemoteError;
use crate::range::TimeRange;
use crate::template::Template;
use prescale_core::{
    time::parse_duration, Interval, Labels, MetricName, Series, SeriesKey, WorkloadId,
};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// One configured back-fill query.
///
/// ```toml
/// [[backfill.queries]]
/// promql = 'sum by (job) (rate(http_requests_total[5m]))'
/// workload = "{job}"            # a fixed id ("web"), a label ("{job}") or a template ("{job}/{instance}")
/// metric = "http_rps"           # may use placeholders too ("cpu_{mode}")
/// step = "30s"                  # optional, overrides the back-fill step
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillQuery {
    pub promql: String,
    pub workload: Template,
    pub metric: Template,
    #[serde(default, deserialize_with = "de_step")]
    pub step: Option<Interval>,
}

fn de_step<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Interval>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    text.map(|t| {
        parse_duration(&t)
            .ok_or_else(|| serde::de::Error::custom(format!("{t:?} is not a duration like 30s")))
    })
    .transpose()
}

impl BackfillQuery {
    pub fn new(promql: &str, workload: &str, metric: &str) -> Self {
        BackfillQuery {
            promql: promql.to_string(),
            workload: Template::parse(workload),
            metric: Template::parse(metric),
            step: None,
        }
    }

    /// The prescale key of one result series of this query.
    pub fn key_for(&self, series: &RangeSeries) -> Result<SeriesKey, RemoteError> {
        self.key_for_labels(&series.labels)
    }

    /// The prescale key of a result series with these labels.
    pub fn key_for_labels(&self, labels: &Labels) -> Result<SeriesKey, RemoteError> {
        let lookup = |l: &str| labels.get(l).map(String::as_str);
        let mapping = |what: &str, t: &Template, missing: String| RemoteError::Mapping {
            query: self.promql.clone(),
            reason: format!(
                "{what} template {:?} needs label {missing:?}, which series {} lacks",
                t.source(),
                render_labels(labels)
            ),
        };
        let w = self
            .workload
            .render(lookup)
            .map_err(|m| mapping("workload", &self.workload, m))?;
        let m = self
            .metric
            .render(lookup)
            .map_err(|m| mapping("metric", &self.metric, m))?;
        let core = |source| RemoteError::Core {
            context: format!("query {:?}, series {}", self.promql, render_labels(labels)),
            source,
        };
        Ok(SeriesKey::new(
            WorkloadId::new(w).map_err(core)?,
            MetricName::new(m).map_err(core)?,
        ))
    }
}

/// `{a="1", b="2"}` for messages.
pub(crate) fn render_labels(labels: &Labels) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// What a back-fill produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BackfillReport {
    /// One validated series per key, ready for `Store::upsert_series`; series without any finite
    /// sample are left out.
    pub series: Vec<Series>,
    /// NaN/±Inf samples dropped.
    pub dropped_non_finite: usize,
    /// HTTP requests made.
    pub requests: usize,
    pub warnings: Vec<String>,
}

/// Runs every query over `range` (at the query's own step or `step`) and returns prescale series.
/// Fails when a series cannot be mapped or two series map to the same key.
pub fn backfill(
    client: &PromClient,
    queries: &[BackfillQuery],
    range: TimeRange,
    step: Interval,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Series>, RemoteError> {
    Ok(backfill_report(client, queries, range, step, progress)?.series)
}

/// [`backfill`] with counts of dropped samples, requests and server warnings.
pub fn backfill_report(
    client: &PromClient,
    queries: &[BackfillQuery],
    range: TimeRange,
    step: Interval,
    progress: &mut dyn FnMut(Progress),
) -> Result<BackfillReport, RemoteError> {
    let plans: Vec<_> = queries
        .iter()
        .map(|q| {
            let s = q.step.unwrap_or(step);
            (q, s, range.chunks(s, client.max_points()))
        })
        .collect();
    let total: usize = plans.iter().map(|p| p.2.len()).sum();
    let mut done_before = 0;
    let mut samples = 0;
    let mut report = BackfillReport::default();
    let mut by_key: BTreeMap<SeriesKey, (String, Series)> = BTreeMap::new();
    for (query, s, chunks) in plans {
        let answer = client.range_chunks(&query.promql, &chunks, s, &mut |(done, n)| {
            samples += n;
            progress(Progress {
                done: done_before + done,
                total,
                samples,
            });
        })?;
        done_before += chunks.len();
        report.requests += answer.requests;
        report.warnings.extend(answer.warnings);
        for rs in answer.series {
            report.dropped_non_finite += rs.dropped_non_finite;
            let key = query.key_for(&rs)?;
            let origin = format!("{} of query {:?}", render_labels(&rs.labels), query.promql);
            if let Some((other, _)) = by_key.get(&key) {
                return Err(RemoteError::Mapping {
                    query: query.promql.clone(),
                    reason: format!(
                        "series {origin} and {other} both map to {key}; add a distinguishing label to the workload or metric template"
                    ),
                });
            }
            if rs.samples.is_empty() {
                continue;
            }
            let series = Series::new(key.clone(), rs.labels, rs.samples).map_err(|source| {
                RemoteError::Core {
                    context: origin.clone(),
                    source,
                }
            })?;
            by_key.insert(key, (origin, series));
        }
    }
    report.series = by_key.into_values().map(|(_, s)| s).collect();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prescale_core::{Sample, Timestamp};

    fn rs(labels: &[(&str, &str)]) -> RangeSeries {
        RangeSeries {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Labels>(),
            samples: vec![Sample {
                ts: Timestamp(0),
                value: 1.0,
            }],
            dropped_non_finite: 0,
        }
    }

    #[test]
    fn maps_labels_to_keys() {
        let q = BackfillQuery::new("rate(x[5m])", "{job}/{instance}", "rps");
        let key = q
            .key_for(&rs(&[("job", "api"), ("instance", "a:1")]))
            .unwrap();
        assert_eq!(key.to_string(), "api/a:1/rps");
        let err = q.key_for(&rs(&[("job", "api")])).unwrap_err();
        assert!(err.to_string().contains("\"instance\""), "{err}");
        let fixed = BackfillQuery::new("x", "web", "cpu_{mode}");
        assert_eq!(
            fixed.key_for(&rs(&[("mode", "user")])).unwrap().to_string(),
            "web/cpu_user"
        );
    }

    #[test]
    fn parses_config() {
        let q: BackfillQuery = serde_json::from_str(
            r#"{"promql":"up","workload":{"label":"job"},"metric":"up","step":"30s"}"#,
        )
        .unwrap();
        assert_eq!(q.step, Interval::from_secs(30));
        assert!(serde_json::from_str::<BackfillQuery>(
            r#"{"promql":"up","workload":"w","metric":"m","extra":1}"#
        )
        .is_err());
        assert!(serde_json::from_str::<BackfillQuery>(
            r#"{"promql":"up","workload":"w","metric":"m","step":"soon"}"#
        )
        .is_err());
    }
}
