//! Decoding of Prometheus HTTP API JSON answers (`/api/v1/query`, `query_range`, `series`).

use crate::error::{snippet, RemoteError};
use crate::http::Answer;
use prescale_core::{Labels, Sample, Timestamp};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// One series of a range (matrix) answer with its finite samples in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// All labels, including `__name__` when the expression kept it.
    pub labels: Labels,
    pub samples: Vec<Sample>,
    /// Samples whose value was NaN or ±Inf (dropped: prescale series are finite).
    pub dropped_non_finite: usize,
}

/// One series of an instant (vector) answer.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    pub labels: Labels,
    /// `None` when the server answered NaN or ±Inf.
    pub sample: Option<Sample>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

/// `[unix_seconds, "value"]` as the API sends it.
type WirePoint = (f64, String);

#[derive(Debug, Deserialize)]
pub(crate) struct MatrixEntry {
    metric: Labels,
    #[serde(default)]
    values: Vec<WirePoint>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct VectorEntry {
    metric: Labels,
    value: WirePoint,
}

/// The `data` member of a query answer.
#[derive(Debug, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub(crate) enum QueryData {
    Matrix(Vec<MatrixEntry>),
    Vector(Vec<VectorEntry>),
    Scalar(WirePoint),
    String(serde::de::IgnoredAny),
}

impl QueryData {
    pub fn kind(&self) -> &'static str {
        match self {
            QueryData::Matrix(_) => "matrix",
            QueryData::Vector(_) => "vector",
            QueryData::Scalar(_) => "scalar",
            QueryData::String(_) => "string",
        }
    }
}

/// Checks the HTTP status and envelope and returns `data` plus any warnings.
pub(crate) fn decode<T: DeserializeOwned>(
    url: &str,
    answer: &Answer,
) -> Result<(T, Vec<String>), RemoteError> {
    if !(200..300).contains(&answer.status) {
        let (error_type, message) = match serde_json::from_str::<ErrorBody>(&answer.body) {
            Ok(ErrorBody {
                error_type,
                error: Some(error),
            }) => (error_type, error),
            _ => (None, snippet(answer.body.trim(), 500)),
        };
        return Err(RemoteError::Http {
            url: url.to_string(),
            status: answer.status,
            error_type,
            message,
        });
    }
    let bad = |reason: String| RemoteError::BadResponse {
        url: url.to_string(),
        reason,
        snippet: snippet(&answer.body, 200),
    };
    let env: Envelope<T> =
        serde_json::from_str(&answer.body).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    if env.status != "success" {
        return Err(RemoteError::Api {
            url: url.to_string(),
            error_type: env.error_type.unwrap_or_else(|| env.status.clone()),
            message: env.error.unwrap_or_default(),
        });
    }
    let data = env
        .data
        .ok_or_else(|| bad("\"status\":\"success\" without \"data\"".to_string()))?;
    Ok((data, env.warnings))
}

/// Parses a sample value as Prometheus writes it (`"1.5"`, `"NaN"`, `"+Inf"`, `"-Inf"`).
pub fn parse_value(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => text.parse::<f64>().ok(),
    }
}

/// Unix seconds (possibly fractional) to milliseconds, rounded to the nearest millisecond.
pub fn seconds_to_ms(seconds: f64) -> Option<i64> {
    let ms = (seconds * 1000.0).round();
    (ms.is_finite() && ms.abs() < 9.0e15).then_some(ms as i64)
}

/// Milliseconds as the decimal Unix seconds the API accepts (`1700000000.123`).
pub fn ms_to_seconds_text(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

fn point(url: &str, p: &WirePoint) -> Result<Option<Sample>, RemoteError> {
    let bad = |reason: String| RemoteError::BadResponse {
        url: url.to_string(),
        reason,
        snippet: format!("[{}, {:?}]", p.0, p.1),
    };
    let ts = seconds_to_ms(p.0).ok_or_else(|| bad(format!("timestamp {} out of range", p.0)))?;
    let value = parse_value(&p.1).ok_or_else(|| bad(format!("sample value {:?}", p.1)))?;
    Ok(value.is_finite().then_some(Sample {
        ts: Timestamp(ts),
        value,
    }))
}

impl MatrixEntry {
    pub fn into_series(self, url: &str) -> Result<RangeSeries, RemoteError> {
        let mut samples = Vec::with_capacity(self.values.len());
        let mut dropped = 0;
        for p in &self.values {
            match point(url, p)? {
                Some(s) => samples.push(s),
                None => dropped += 1,
            }
        }
        Ok(RangeSeries {
            labels: self.metric,
            samples,
            dropped_non_finite: dropped,
        })
    }
}

/// A scalar answer seen as an unlabelled instant sample.
pub(crate) fn scalar_entry(value: WirePoint) -> VectorEntry {
    VectorEntry {
        metric: Labels::new(),
        value,
    }
}

impl VectorEntry {
    pub fn into_instant(self, url: &str) -> Result<InstantSample, RemoteError> {
        Ok(InstantSample {
            sample: point(url, &self.value)?,
            labels: self.metric,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.to_string(),
        }
    }

    #[test]
    fn decodes_matrix_and_drops_non_finite() {
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"up","job":"a"},"values":[[1700000000,"1"],[1700000000.5,"NaN"],[1700000001.25,"+Inf"],[1700000002,"-2.5e1"]]}]}}"#;
        let (data, warnings): (QueryData, _) = decode("u", &answer(200, body)).unwrap();
        assert!(warnings.is_empty());
        let QueryData::Matrix(m) = data else {
            panic!("not a matrix")
        };
        let s = m.into_iter().next().unwrap().into_series("u").unwrap();
        assert_eq!(s.labels["job"], "a");
        assert_eq!(s.dropped_non_finite, 2);
        assert_eq!(
            s.samples,
            vec![
                Sample {
                    ts: Timestamp(1_700_000_000_000),
                    value: 1.0
                },
                Sample {
                    ts: Timestamp(1_700_000_002_000),
                    value: -25.0
                }
            ]
        );
    }

    #[test]
    fn http_error_carries_prometheus_error_type() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        let err = decode::<QueryData>("u", &answer(400, body)).unwrap_err();
        match err {
            RemoteError::Http {
                status,
                error_type,
                message,
                ..
            } => {
                assert_eq!(status, 400);
                assert_eq!(error_type.as_deref(), Some("bad_data"));
                assert_eq!(message, "parse error at char 3");
            }
            other => panic!("unexpected {other:?}"),
        }
        let plain = decode::<QueryData>("u", &answer(502, "bad gateway\n")).unwrap_err();
        assert!(
            plain.to_string().contains("HTTP 502: bad gateway"),
            "{plain}"
        );
        assert!(plain.is_transient());
    }

    #[test]
    fn bad_json_and_bad_values_are_errors() {
        assert!(matches!(
            decode::<QueryData>("u", &answer(200, "{not json")),
            Err(RemoteError::BadResponse { .. })
        ));
        let unknown = r#"{"status":"success","data":{"resultType":"blob","result":[]}}"#;
        assert!(decode::<QueryData>("u", &answer(200, unknown)).is_err());
        let body = r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"abc"]]}]}}"#;
        let (data, _): (QueryData, _) = decode("u", &answer(200, body)).unwrap();
        let QueryData::Matrix(m) = data else {
            panic!("not a matrix")
        };
        let err = m.into_iter().next().unwrap().into_series("u").unwrap_err();
        assert!(err.to_string().contains("abc"), "{err}");
        let api_err = r#"{"status":"error","errorType":"timeout","error":"query timed out"}"#;
        assert!(matches!(
            decode::<QueryData>("u", &answer(200, api_err)),
            Err(RemoteError::Api { .. })
        ));
    }

    #[test]
    fn time_formatting_round_trips() {
        assert_eq!(ms_to_seconds_text(1_700_000_000_123), "1700000000.123");
        assert_eq!(ms_to_seconds_text(5), "0.005");
        assert_eq!(ms_to_seconds_text(-1500), "-1.500");
        assert_eq!(seconds_to_ms(1700000000.123), Some(1_700_000_000_123));
        assert_eq!(seconds_to_ms(f64::NAN), None);
        assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
        assert!(parse_value("NaN").is_some_and(f64::is_nan));
        assert_eq!(parse_value("x"), None);
    }
}
