//! Serde config sections for remote endpoints, back-fill and remote-write, validated into options.
//!
//! ```toml
//! [backfill]
//! url = "http://prometheus:9090"
//! bearer_token_file = "/run/secrets/prom-token"
//! lookback = "14d"
//! step = "60s"
//! [[backfill.queries]]
//! promql = 'sum by (job) (rate(http_requests_total[5m]))'
//! workload = "{job}"
//! metric = "http_rps"
//!
//! [remote_write]
//! url = "http://victoria-metrics:8428/api/v1/write"
//! ```

use crate::backfill::BackfillQuery;
use crate::error::RemoteError;
use crate::options::{Auth, ClientOptions};
use crate::writer::{RetryPolicy, WriterOptions};
use prescale_core::{time::parse_duration, Interval};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// User and password for HTTP basic auth.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub user: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

/// How to reach one Prometheus-compatible server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    pub url: String,
    #[serde(default)]
    pub bearer_token: Option<String>,
    #[serde(default)]
    pub bearer_token_file: Option<PathBuf>,
    #[serde(default)]
    pub basic_auth: Option<BasicAuth>,
    /// Per-request timeout such as `30s` (default 60 s for queries, 30 s for writes).
    #[serde(default)]
    pub timeout: Option<String>,
    /// Extra headers, e.g. `X-Scope-OrgID`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn duration(field: &str, text: &str) -> Result<Duration, RemoteError> {
    parse_duration(text)
        .map(|i| Duration::from_millis(i.millis().unsigned_abs()))
        .ok_or_else(|| {
            RemoteError::Config(format!("{field} = {text:?} is not a duration like 30s"))
        })
}

fn interval(field: &str, text: &str) -> Result<Interval, RemoteError> {
    parse_duration(text).ok_or_else(|| {
        RemoteError::Config(format!("{field} = {text:?} is not a duration like 30s"))
    })
}

fn secret(
    field: &str,
    inline: &Option<String>,
    file: &Option<PathBuf>,
) -> Result<Option<String>, RemoteError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(RemoteError::Config(format!(
            "set either {field} or {field}_file, not both"
        ))),
        (Some(s), None) => Ok(Some(s.clone())),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|s| Some(s.trim().to_string()))
            .map_err(|e| RemoteError::Config(format!("{field}_file {}: {e}", path.display()))),
        (None, None) => Ok(None),
    }
}

impl EndpointConfig {
    /// Client options (reads token and password files).
    pub fn client_options(&self, default_timeout: Duration) -> Result<ClientOptions, RemoteError> {
        let bearer = secret("bearer_token", &self.bearer_token, &self.bearer_token_file)?;
        let auth = match (bearer, &self.basic_auth) {
            (Some(_), Some(_)) => {
                return Err(RemoteError::Config(
                    "set either a bearer token or basic_auth, not both".to_string(),
                ))
            }
            (Some(token), None) => Auth::Bearer(token),
            (None, Some(b)) => Auth::Basic {
                user: b.user.clone(),
                password: secret("password", &b.password, &b.password_file)?.unwrap_or_default(),
            },
            (None, None) => Auth::None,
        };
        let timeout = match &self.timeout {
            Some(t) => duration("timeout", t)?,
            None => default_timeout,
        };
        Ok(ClientOptions {
            timeout,
            auth,
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            ..ClientOptions::default()
        })
    }
}

/// `[backfill]`: where to read history from and what.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillConfig {
    #[serde(flatten)]
    pub endpoint: EndpointConfig,
    /// How far back from now to read, e.g. `14d`.
    pub lookback: String,
    /// Resolution, e.g. `60s`.
    pub step: String,
    pub queries: Vec<BackfillQuery>,
}

/// A validated [`BackfillConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillPlan {
    pub url: String,
    pub options: ClientOptions,
    pub lookback: Interval,
    pub step: Interval,
    pub queries: Vec<BackfillQuery>,
}

impl BackfillConfig {
    pub fn validate(&self) -> Result<BackfillPlan, RemoteError> {
        if self.queries.is_empty() {
            return Err(RemoteError::Config("backfill.queries is empty".to_string()));
        }
        if let Some(q) = self.queries.iter().find(|q| q.promql.trim().is_empty()) {
            return Err(RemoteError::Config(format!(
                "backfill query for metric {:?} has an empty promql",
                q.metric.source()
            )));
        }
        Ok(BackfillPlan {
            url: self.endpoint.url.clone(),
            options: self.endpoint.client_options(Duration::from_secs(60))?,
            lookback: interval("lookback", &self.lookback)?,
            step: interval("step", &self.step)?,
            queries: self.queries.clone(),
        })
    }
}

/// `[remote_write]`: where prescale pushes its own series.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    #[serde(flatten)]
    pub endpoint: EndpointConfig,
    /// Attempts per request including the first (default 5).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Samples per request (default 10,000).
    #[serde(default)]
    pub max_samples_per_request: Option<usize>,
}

impl RemoteWriteConfig {
    pub fn writer_options(&self) -> Result<WriterOptions, RemoteError> {
        let defaults = WriterOptions::default();
        Ok(WriterOptions {
            client: self.endpoint.client_options(defaults.client.timeout)?,
            retry: RetryPolicy {
                max_attempts: self
                    .max_attempts
                    .unwrap_or(defaults.retry.max_attempts)
                    .max(1),
                ..defaults.retry
            },
            max_samples_per_request: self
                .max_samples_per_request
                .unwrap_or(defaults.max_samples_per_request)
                .max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backfill_section_validates() {
        let cfg: BackfillConfig = serde_json::from_str(
            r#"{"url":"http://p:9090","bearer_token":"t","lookback":"14d","step":"1m",
                "headers":{"X-Scope-OrgID":"a"},
                "queries":[{"promql":"up","workload":"{job}","metric":"up"}]}"#,
        )
        .unwrap();
        let plan = cfg.validate().unwrap();
        assert_eq!(plan.step, Interval::from_secs(60).unwrap());
        assert_eq!(plan.lookback, Interval::from_secs(14 * 86_400).unwrap());
        assert_eq!(plan.options.auth, Auth::Bearer("t".into()));
        assert_eq!(
            plan.options.headers,
            vec![("X-Scope-OrgID".into(), "a".into())]
        );

        let mut bad = cfg.clone();
        bad.step = "often".into();
        assert!(bad.validate().unwrap_err().to_string().contains("step"));
        let mut both = cfg.clone();
        both.endpoint.basic_auth = Some(BasicAuth {
            user: "u".into(),
            password: Some("p".into()),
            password_file: None,
        });
        assert!(both.validate().is_err());
        assert!(serde_json::from_str::<BackfillConfig>(
            r#"{"url":"u","lookback":"1d","step":"1m","queries":[],"typo":1}"#
        )
        .is_err());
    }

    #[test]
    fn remote_write_section() {
        let cfg: RemoteWriteConfig = serde_json::from_str(
            r#"{"url":"http://vm:8428/api/v1/write","basic_auth":{"user":"u","password":"p"},"timeout":"5s","max_attempts":3}"#,
        )
        .unwrap();
        let o = cfg.writer_options().unwrap();
        assert_eq!(o.retry.max_attempts, 3);
        assert_eq!(o.client.timeout, Duration::from_secs(5));
        assert_eq!(o.client.auth.header_value().as_deref(), Some("Basic dTpw"));
    }
}
