//! `[alerts]`: anomaly events posted as JSON to a webhook from one background thread, signed with
//! HMAC-SHA256 (`X-Prescale-Signature`, the webhook actuator's scheme) when a secret is set. The
//! control loop never waits on it: events queue (bounded; the oldest are not dropped, new ones are
//! when the queue is full, with a warning), and a failed post is logged and not retried.

use crate::config::AlertsConfig;
use crate::insight::AnomalyChange;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

/// Events waiting to be posted, at most.
pub const QUEUE: usize = 1024;

/// Hands anomaly changes to the sender thread (cheap to clone).
#[derive(Debug, Clone)]
pub struct AlertSender {
    tx: SyncSender<AnomalyChange>,
}

impl AlertSender {
    /// Queues `change` for posting; never blocks.
    pub fn send(&self, change: &AnomalyChange) {
        match self.tx.try_send(change.clone()) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                tracing::warn!("alert queue full: anomaly event not posted");
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }
}

/// Starts the sender thread; it ends when every [`AlertSender`] is dropped.
pub fn spawn(cfg: AlertsConfig) -> std::io::Result<(AlertSender, JoinHandle<()>)> {
    let (tx, rx) = sync_channel(QUEUE);
    let join = std::thread::Builder::new()
        .name("prescale-alerts".into())
        .spawn(move || post_all(&cfg, &rx))?;
    Ok((AlertSender { tx }, join))
}

/// The JSON body of one event.
pub fn body(change: &AnomalyChange) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "kind": "anomaly",
        "change": change.change,
        "noticed_at": change.noticed_at,
        "event": change.event,
    }))
    .unwrap_or_default()
}

fn post_all(cfg: &AlertsConfig, rx: &Receiver<AnomalyChange>) {
    let http: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(cfg.timeout))
        .http_status_as_error(false)
        .build()
        .into();
    for change in rx {
        let body = body(&change);
        let mut req = http
            .post(&cfg.webhook)
            .header("Content-Type", "application/json");
        if let Some(secret) = &cfg.secret {
            req = req.header(
                prescale_actuate::SIGNATURE_HEADER,
                &prescale_actuate::sign(secret, &body),
            );
        }
        match req.send(&body[..]) {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => {
                tracing::warn!(url = %cfg.webhook, status = r.status().as_u16(), "alert webhook refused the event")
            }
            Err(e) => tracing::warn!(url = %cfg.webhook, error = %e, "posting an anomaly alert"),
        }
    }
}
