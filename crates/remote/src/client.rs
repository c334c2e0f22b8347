//! A synchronous client for the Prometheus HTTP query API (also served by VictoriaMetrics).

use crate::api::{decode, ms_to_seconds_text, InstantSample, QueryData, RangeSeries};
use crate::error::RemoteError;
use crate::http::Http;
use crate::options::ClientOptions;
use crate::range::{merge_samples, TimeRange, PROMETHEUS_MAX_POINTS};
use prescale_core::{Interval, Labels, Sample, Timestamp};
use std::collections::BTreeMap;

/// How far a chunked request has come; handed to the caller's progress callback after each chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Requests finished.
    pub done: usize,
    /// Requests planned in all.
    pub total: usize,
    /// Finite samples received so far.
    pub samples: usize,
}

/// Everything a chunked range query returned.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RangeAnswer {
    /// One entry per distinct label set, samples merged across chunks and de-duplicated.
    pub series: Vec<RangeSeries>,
    /// Warnings the server attached to any chunk.
    pub warnings: Vec<String>,
    /// Requests made.
    pub requests: usize,
}

/// The answer of an instant query.
#[derive(Debug, Clone, PartialEq)]
pub enum InstantAnswer {
    Vector(Vec<InstantSample>),
    /// A range-vector expression (`metric[5m]`): raw samples with their own timestamps.
    Matrix(Vec<RangeSeries>),
    /// A scalar; `None` sample when NaN or ±Inf.
    Scalar(Option<Sample>),
}

/// Client for one Prometheus-compatible server.
#[derive(Debug, Clone)]
pub struct PromClient {
    base: String,
    http: Http,
    max_points: usize,
    raw_span_ms: i64,
}

const DEFAULT_RAW_SPAN_MS: i64 = 6 * 3_600_000;

impl PromClient {
    /// `base_url` is the server root, e.g. `http://127.0.0.1:9090` (VictoriaMetrics: `http://host:8428`,
    /// or a path prefix such as `http://vmselect:8481/select/0/prometheus`).
    pub fn new(base_url: &str, opts: ClientOptions) -> Result<Self, RemoteError> {
        let base = base_url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() < 8 {
            return Err(RemoteError::Config(format!(
                "base URL {base_url:?} must start with http:// or https://"
            )));
        }
        Ok(PromClient {
            base,
            http: Http::new(opts),
            max_points: PROMETHEUS_MAX_POINTS,
            raw_span_ms: DEFAULT_RAW_SPAN_MS,
        })
    }

    /// Lowers (or raises) the points-per-series limit used to chunk range queries.
    pub fn with_max_points(mut self, max_points: usize) -> Self {
        self.max_points = max_points.max(1);
        self
    }

    /// Sets the time span of one raw-sample request (see [`PromClient::raw_samples`]).
    pub fn with_raw_span(mut self, span: Interval) -> Self {
        self.raw_span_ms = span.millis();
        self
    }

    /// The points-per-series limit used to chunk range queries.
    pub fn max_points(&self) -> usize {
        self.max_points
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn post_form(
        &self,
        path: &str,
        form: &[(&str, String)],
    ) -> Result<crate::http::Answer, RemoteError> {
        let url = self.url(path);
        let req = self.http.decorate(self.http.agent().post(&url));
        let sent = req.send_form(form.iter().map(|(k, v)| (*k, v.as_str())));
        self.http.answer(&url, sent)
    }

    /// Evaluates `promql` over `[start, end]` every `step`, chunked so that no request asks for
    /// more than the points limit per series; series are merged across chunks by label set.
    pub fn query_range(
        &self,
        promql: &str,
        start: Timestamp,
        end: Timestamp,
        step: Interval,
    ) -> Result<Vec<RangeSeries>, RemoteError> {
        let range = TimeRange::new(start, end)?;
        Ok(self
            .query_range_with_progress(promql, range, step, &mut |_| {})?
            .series)
    }

    /// [`PromClient::query_range`] with a callback after each chunk and the server's warnings.
    pub fn query_range_with_progress(
        &self,
        promql: &str,
        range: TimeRange,
        step: Interval,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<RangeAnswer, RemoteError> {
        let chunks = range.chunks(step, self.max_points);
        let total = chunks.len();
        let mut samples = 0;
        self.range_chunks(promql, &chunks, step, &mut |n| {
            samples += n.1;
            progress(Progress {
                done: n.0,
                total,
                samples,
            });
        })
    }

    /// Runs one range query per chunk; `after_chunk((chunks_done, samples_in_chunk))`.
    pub(crate) fn range_chunks(
        &self,
        promql: &str,
        chunks: &[TimeRange],
        step: Interval,
        after_chunk: &mut dyn FnMut((usize, usize)),
    ) -> Result<RangeAnswer, RemoteError> {
        let path = "/api/v1/query_range";
        let url = self.url(path);
        let mut merged: BTreeMap<Labels, RangeSeries> = BTreeMap::new();
        let mut warnings = Vec::new();
        for (i, chunk) in chunks.iter().enumerate() {
            let answer = self.post_form(
                path,
                &[
                    ("query", promql.to_string()),
                    ("start", ms_to_seconds_text(chunk.start.0)),
                    ("end", ms_to_seconds_text(chunk.end.0)),
                    ("step", ms_to_seconds_text(step.millis())),
                ],
            )?;
            let (data, w): (QueryData, _) = decode(&url, &answer)?;
            warnings.extend(w);
            let QueryData::Matrix(entries) = data else {
                return Err(RemoteError::BadResponse {
                    url: url.clone(),
                    reason: format!("query_range answered a {}, not a matrix", data.kind()),
                    snippet: String::new(),
                });
            };
            let mut in_chunk = 0;
            for entry in entries {
                let s = entry.into_series(&url)?;
                in_chunk += s.samples.len();
                absorb(&mut merged, s);
            }
            after_chunk((i + 1, in_chunk));
        }
        Ok(RangeAnswer {
            series: finish(merged),
            warnings,
            requests: chunks.len(),
        })
    }

    /// Evaluates `promql` at `at` (the server's "now" when `None`).
    pub fn query(&self, promql: &str, at: Option<Timestamp>) -> Result<InstantAnswer, RemoteError> {
        let path = "/api/v1/query";
        let url = self.url(path);
        let mut form = vec![("query", promql.to_string())];
        if let Some(t) = at {
            form.push(("time", ms_to_seconds_text(t.0)));
        }
        let answer = self.post_form(path, &form)?;
        let (data, _warnings): (QueryData, _) = decode(&url, &answer)?;
        match data {
            QueryData::Vector(v) => Ok(InstantAnswer::Vector(
                v.into_iter()
                    .map(|e| e.into_instant(&url))
                    .collect::<Result<_, _>>()?,
            )),
            QueryData::Matrix(m) => Ok(InstantAnswer::Matrix(
                m.into_iter()
                    .map(|e| e.into_series(&url))
                    .collect::<Result<_, _>>()?,
            )),
            QueryData::Scalar(p) => {
                let e = crate::api::scalar_entry(p);
                Ok(InstantAnswer::Scalar(e.into_instant(&url)?.sample))
            }
            QueryData::String(_) => Err(RemoteError::BadResponse {
                url,
                reason: "a string result cannot be used as samples".to_string(),
                snippet: String::new(),
            }),
        }
    }

    /// Label sets of the series matching any of `matchers` (e.g. `{job="api"}`) within `range`
    /// (the server's default range when `None`).
    pub fn series(
        &self,
        matchers: &[&str],
        range: Option<TimeRange>,
    ) -> Result<Vec<Labels>, RemoteError> {
        if matchers.is_empty() {
            return Err(RemoteError::Config(
                "the series API needs at least one match[] selector".to_string(),
            ));
        }
        let path = "/api/v1/series";
        let url = self.url(path);
        let mut form: Vec<(&str, String)> = matchers
            .iter()
            .map(|m| ("match[]", (*m).to_string()))
            .collect();
        if let Some(range) = range {
            form.push(("start", ms_to_seconds_text(range.start.0)));
            form.push(("end", ms_to_seconds_text(range.end.0)));
        }
        let answer = self.post_form(path, &form)?;
        let (mut data, _): (Vec<Labels>, _) = decode(&url, &answer)?;
        data.sort();
        data.dedup();
        Ok(data)
    }

    /// The raw stored samples of a plain vector `selector` (e.g. `up{job="api"}`) with timestamps
    /// in `[range.start, range.end]`, read as range-vector instant queries in spans of the raw span.
    pub fn raw_samples(
        &self,
        selector: &str,
        range: TimeRange,
    ) -> Result<Vec<RangeSeries>, RemoteError> {
        let mut merged: BTreeMap<Labels, RangeSeries> = BTreeMap::new();
        for span in range.spans(self.raw_span_ms) {
            // Prometheus 2 selects [t-d, t], VictoriaMetrics (t-d, t]: ask one millisecond more
            // and keep exactly the span.
            let d = span.end.0 - span.start.0 + 1;
            let expr = format!("{selector}[{d}ms]");
            let series = match self.query(&expr, Some(span.end))? {
                InstantAnswer::Matrix(m) => m,
                InstantAnswer::Vector(v) if v.is_empty() => Vec::new(),
                other => {
                    return Err(RemoteError::BadResponse {
                        url: self.url("/api/v1/query"),
                        reason: format!(
                            "{expr} answered {}, not a matrix",
                            match other {
                                InstantAnswer::Vector(_) => "a vector",
                                InstantAnswer::Scalar(_) => "a scalar",
                                InstantAnswer::Matrix(_) => "a matrix",
                            }
                        ),
                        snippet: String::new(),
                    })
                }
            };
            for mut s in series {
                s.samples.retain(|x| span.contains(x.ts));
                absorb(&mut merged, s);
            }
        }
        Ok(finish(merged))
    }
}

fn absorb(merged: &mut BTreeMap<Labels, RangeSeries>, s: RangeSeries) {
    match merged.get_mut(&s.labels) {
        Some(existing) => {
            existing.samples.extend(s.samples);
            existing.dropped_non_finite += s.dropped_non_finite;
        }
        None => {
            merged.insert(s.labels.clone(), s);
        }
    }
}

fn finish(merged: BTreeMap<Labels, RangeSeries>) -> Vec<RangeSeries> {
    merged
        .into_values()
        .map(|mut s| {
            merge_samples(&mut s.samples);
            s
        })
        .collect()
}
