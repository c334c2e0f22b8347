//! `[server]` (timeouts and the connection cap of the HTTP listener) and `[remote_write.auth]` (who
//! may push), validated; and the rule that refuses an unauthenticated receiver beyond loopback.

use super::error::Problem;
use super::file::{FileServer, FileWriteAuth};
use super::token::{self, ApiToken};
use super::validate::Check;
use std::net::SocketAddr;
use std::time::Duration;

/// How long a client may take and how many connections are served at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// From the first byte of a request to its last header line; a new connection must send its
    /// first request's headers within this long too.
    pub header_read_timeout: Duration,
    /// From the end of the headers to the last byte of the body; a slower body is cut with 408.
    pub body_timeout: Duration,
    /// A kept-alive connection with no request for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once (lowered at start-up to what the open-file limit leaves after
    /// `fd_reserve`); more are answered 503 and closed.
    pub max_connections: usize,
    /// File descriptors kept out of the connection cap: the store, the agent, outgoing requests.
    pub fd_reserve: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            fd_reserve: 128,
        }
    }
}

/// The credentials `POST /api/v1/write` accepts: either one that is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteAuth {
    /// `Authorization: Bearer <token>` (Prometheus `remote_write.authorization`).
    pub bearer: Option<ApiToken>,
    /// `Authorization: Basic ...` (Prometheus `remote_write.basic_auth`).
    pub basic: Option<BasicAuth>,
}

/// HTTP basic credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password: ApiToken,
}

/// `[server]` with its defaults.
pub(super) fn server(c: &mut Check, f: Option<FileServer>) -> ServerConfig {
    let d = ServerConfig::default();
    let Some(f) = f else { return d };
    let milli = Duration::from_millis(1);
    ServerConfig {
        header_read_timeout: c.duration(
            "server.header_read_timeout",
            f.header_read_timeout.as_deref(),
            d.header_read_timeout,
            milli,
        ),
        body_timeout: c.duration(
            "server.body_timeout",
            f.body_timeout.as_deref(),
            d.body_timeout,
            milli,
        ),
        idle_timeout: c.duration(
            "server.idle_timeout",
            f.idle_timeout.as_deref(),
            d.idle_timeout,
            milli,
        ),
        max_connections: c.positive(
            "server.max_connections",
            f.max_connections,
            d.max_connections,
        ),
        fd_reserve: f
            .fd_reserve
            .map_or(d.fd_reserve, |n| usize::try_from(n).unwrap_or(usize::MAX)),
    }
}

/// `[remote_write.auth]`: `None` when absent; a table that sets no credential is a problem.
pub(super) fn write_auth(c: &mut Check, f: Option<FileWriteAuth>) -> Option<WriteAuth> {
    let f = f?;
    let at = |k: &str| format!("remote_write.auth.{k}");
    let mut secret = |inline: (&str, Option<String>), file: (&str, Option<String>)| {
        let (ik, fk) = (at(inline.0), at(file.0));
        token::secret((&ik, inline.1), (&fk, file.1)).unwrap_or_else(|(path, message)| {
            c.fail(path, message);
            None
        })
    };
    let bearer = secret(
        ("bearer_token", f.bearer_token),
        ("bearer_token_file", f.bearer_token_file),
    );
    let password = secret(
        ("basic_password", f.basic_password),
        ("basic_password_file", f.basic_password_file),
    );
    let basic = match (f.basic_username, password) {
        (None, None) => None,
        (Some(u), Some(password)) => {
            if u.is_empty() || u.contains(':') || u.chars().any(char::is_control) {
                c.fail(
                    at("basic_username"),
                    "must be non-empty, without ':' or control characters",
                );
            }
            Some(BasicAuth {
                username: u,
                password,
            })
        }
        (Some(_), None) => {
            // Unless the password was given but could not be read (reported already).
            if !c.failed_under(&at("basic_password")) && !c.failed_under(&at("basic_password_file"))
            {
                c.fail(
                    at("basic_password"),
                    "basic_username needs basic_password or basic_password_file",
                );
            }
            None
        }
        (None, Some(_)) => {
            c.fail(
                at("basic_username"),
                "a basic password needs basic_username",
            );
            None
        }
    };
    if bearer.is_none() && basic.is_none() {
        if !c.failed_under("remote_write.auth") {
            c.fail(
                "remote_write.auth",
                "sets no credential: give bearer_token(_file) or basic_username with basic_password(_file)",
            );
        }
        return None;
    }
    Some(WriteAuth { bearer, basic })
}

/// Whether the receiver may listen on `listen`: refused (a problem under `remote_write.auth`) when
/// it reaches beyond loopback with no credentials required and `allow_unauthenticated` is not set;
/// `Ok(true)` when it does so because the config allows it (worth a warning).
pub fn write_exposure(
    listen: SocketAddr,
    auth: Option<&WriteAuth>,
    allow_unauthenticated: bool,
) -> Result<bool, Problem> {
    if auth.is_some() || listen.ip().is_loopback() {
        return Ok(false);
    }
    if allow_unauthenticated {
        return Ok(true);
    }
    Err(Problem {
        path: "remote_write.auth".into(),
        message: format!(
            "listen {listen} reaches beyond this machine, so anyone who can connect could push \
             demand the control loop acts on: set [remote_write.auth] (bearer_token_file or \
             basic_username + basic_password_file), listen on 127.0.0.1, or set \
             [remote_write] allow_unauthenticated = true"
        ),
    })
}
