//! Connection options shared by the query client and the remote writer: timeouts, auth, headers.

use crate::base64;
use std::time::Duration;

/// How to authenticate to the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Auth {
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// `Authorization: Basic base64(user:password)`.
    Basic { user: String, password: String },
}

impl Auth {
    /// The `Authorization` header value, if any.
    pub fn header_value(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Bearer(token) => Some(format!("Bearer {token}")),
            Auth::Basic { user, password } => Some(format!(
                "Basic {}",
                base64::encode(format!("{user}:{password}").as_bytes())
            )),
        }
    }
}

/// Options for [`crate::PromClient`] and [`crate::RemoteWriter`].
#[derive(Debug, Clone, PartialEq)]
pub struct ClientOptions {
    /// Whole-request timeout (connect, send, receive).
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    pub auth: Auth,
    /// Extra headers sent with every request (e.g. `X-Scope-OrgID` for multi-tenant backends).
    pub headers: Vec<(String, String)>,
    /// Largest response body read, in bytes.
    pub max_response_bytes: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(5),
            auth: Auth::None,
            headers: Vec::new(),
            max_response_bytes: 512 * 1024 * 1024,
        }
    }
}

impl ClientOptions {
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    pub fn with_bearer(mut self, token: impl Into<String>) -> Self {
        self.auth = Auth::Bearer(token.into());
        self
    }
    pub fn with_basic(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Auth::Basic {
            user: user.into(),
            password: password.into(),
        };
        self
    }
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}
