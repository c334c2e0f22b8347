//! `Webhook`: POSTs the request as signed JSON; 2xx applied, 4xx permanent, 5xx/transport retryable.

use crate::output::{clip, parse_report};
use crate::signature::{sign, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::{ActuateError, ActuationRequest, Actuator, Applied, DesiredState};
use prescale_core::WorkloadId;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How a [`Webhook`] sends.
#[derive(Debug, Clone)]
pub struct WebhookOptions {
    /// Whole-request deadline (connect, send, answer).
    pub timeout: Duration,
    /// Extra headers sent with every request.
    pub headers: BTreeMap<String, String>,
    /// Largest response body read (longer ones are cut).
    pub max_response_bytes: u64,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions {
            timeout: Duration::from_secs(10),
            headers: BTreeMap::new(),
            max_response_bytes: 64 * 1024,
        }
    }
}

/// Sends each request as `POST url` with a JSON body and these headers:
/// `Content-Type: application/json`, `X-Prescale-Signature: sha256=<hex HMAC-SHA256(secret, body)>`,
/// `X-Prescale-Timestamp: <unix seconds>`, `Idempotency-Key: <decision_id>`.
///
/// A 2xx answer is success; its body may be `{"changed": bool, "detail": "..."}` (otherwise
/// `changed` is `true`). 408, 429 and 5xx are retryable, other 4xx are permanent
/// ([`ActuateError::Rejected`] carrying the body text). `current` returns the last state this
/// webhook delivered successfully (it does not query the receiver).
pub struct Webhook {
    url: String,
    secret: Vec<u8>,
    opts: WebhookOptions,
    agent: ureq::Agent,
    delivered: BTreeMap<WorkloadId, DesiredState>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("opts", &self.opts)
            .finish()
    }
}

impl Webhook {
    pub fn new(url: impl Into<String>, secret: impl Into<Vec<u8>>, opts: WebhookOptions) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(opts.timeout))
            .user_agent(concat!("prescale/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Webhook {
            url: url.into(),
            secret: secret.into(),
            opts,
            agent,
            delivered: BTreeMap::new(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn transport(&self, e: ureq::Error) -> ActuateError {
        match e {
            ureq::Error::Timeout(_) => ActuateError::Timeout {
                what: format!("POST {}", self.url),
                after: self.opts.timeout,
            },
            ureq::Error::BadUri(u) => {
                ActuateError::InvalidRequest(format!("bad webhook URL {u:?}"))
            }
            other => ActuateError::Unreachable {
                target: self.url.clone(),
                reason: other.to_string(),
            },
        }
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Actuator for Webhook {
    fn name(&self) -> &str {
        "webhook"
    }

    fn apply(&mut self, req: &ActuationRequest) -> Result<Applied, ActuateError> {
        let body = serde_json::to_vec(req)
            .map_err(|e| ActuateError::InvalidRequest(format!("cannot encode request: {e}")))?;
        let mut builder = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, sign(&self.secret, &body))
            .header(TIMESTAMP_HEADER, unix_secs().to_string())
            .header("Idempotency-Key", req.decision_id.as_str());
        for (k, v) in &self.opts.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let mut resp = builder.send(&body[..]).map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let success = (200..300).contains(&status);
        let text = match resp
            .body_mut()
            .with_config()
            .limit(self.opts.max_response_bytes)
            .lossy_utf8(true)
            .read_to_string()
        {
            Ok(t) => t,
            // The status already says it was applied; an unreadable report body does not undo that.
            Err(_) if success => String::new(),
            Err(e) => return Err(self.transport(e)),
        };
        match status {
            200..=299 => {
                let (changed, detail) = parse_report(&text).unwrap_or((None, None));
                self.delivered.insert(
                    req.desired.workload.clone(),
                    match self.delivered.get(&req.desired.workload) {
                        Some(prev) => prev.merged_with(&req.desired),
                        None => req.desired.clone(),
                    },
                );
                Ok(Applied {
                    changed: changed.unwrap_or(true),
                    detail: detail.unwrap_or_else(|| format!("HTTP {status}")),
                })
            }
            408 | 429 | 500..=599 => Err(ActuateError::ServerError {
                target: self.url.clone(),
                status,
                body: clip(&text, 2000),
            }),
            _ => Err(ActuateError::Rejected {
                target: self.url.clone(),
                status,
                body: clip(&text, 2000),
            }),
        }
    }

    fn current(&mut self, workload: &WorkloadId) -> Result<Option<DesiredState>, ActuateError> {
        Ok(self.delivered.get(workload).cloned())
    }
}
