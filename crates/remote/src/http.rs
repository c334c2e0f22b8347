//! The one place that builds HTTP agents and requests from [`ClientOptions`].

use crate::error::{transport, RemoteError};
use crate::options::ClientOptions;
use ureq::http::Response;
use ureq::{Agent, Body, RequestBuilder};

/// A configured agent plus the options it was built from.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    agent: Agent,
    opts: ClientOptions,
}

/// Status and body of one answered request.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: String,
}

impl Http {
    pub fn new(opts: ClientOptions) -> Self {
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(opts.timeout))
            .timeout_connect(Some(opts.connect_timeout))
            .user_agent(concat!("prescale/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Http { agent, opts }
    }

    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    /// Adds auth and the configured extra headers.
    pub fn decorate<B>(&self, mut req: RequestBuilder<B>) -> RequestBuilder<B> {
        if let Some(value) = self.opts.auth.header_value() {
            req = req.header("Authorization", value);
        }
        for (name, value) in &self.opts.headers {
            req = req.header(name.as_str(), value.as_str());
        }
        req
    }

    /// Reads status and body (bounded by `max_response_bytes`) of a sent request.
    pub fn answer(
        &self,
        url: &str,
        sent: Result<Response<Body>, ureq::Error>,
    ) -> Result<Answer, RemoteError> {
        let mut resp = sent.map_err(|e| transport(url, e))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(self.opts.max_response_bytes)
            .lossy_utf8(true)
            .read_to_string()
            .map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(n) => RemoteError::BadResponse {
                    url: url.to_string(),
                    reason: format!("response body larger than the {n} byte limit"),
                    snippet: String::new(),
                },
                other => transport(url, other),
            })?;
        Ok(Answer { status, body })
    }
}
