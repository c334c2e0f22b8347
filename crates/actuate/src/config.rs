//! Serde configuration for actuators and retries, validated in one pass that reports every problem.

use crate::{
    ActuateError, Actuator, Backoff, BreakerConfig, DryRun, Exec, ExecOptions, PoolCommand,
    ProcessPool, Retrying, Webhook, WebhookOptions,
};
use prescale_core::time::parse_duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// One problem in a config, with the path of the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Which actuator a workload uses, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ActuatorConfig {
    DryRun(DryRunConfig),
    Webhook(WebhookConfig),
    Exec(ExecConfig),
    ProcessPool(ProcessPoolConfig),
    /// Built by the Kubernetes actuator a binary registers (prescale-kube's `KubeKind`); this crate
    /// checks only what it can without the Kubernetes types.
    Kubernetes(KubernetesTarget),
}

/// `type = "kubernetes"`: the Deployment or StatefulSet whose replicas (scale subresource) and
/// container resources are set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesTarget {
    /// `Deployment` (default) or `StatefulSet`; checked by the registered Kubernetes actuator.
    #[serde(default = "default_kube_kind")]
    pub kind: String,
    pub name: String,
    /// `default` when omitted.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// The container whose resources are set; the pod template's first when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
}

fn default_kube_kind() -> String {
    "Deployment".to_string()
}

fn default_namespace() -> String {
    "default".to_string()
}

/// `type = "dry-run"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DryRunConfig {
    /// Records kept (default 1000).
    #[serde(default = "default_capacity")]
    pub capacity: usize,
}

/// `type = "webhook"`. Give the secret inline (`secret`) or, better, by environment variable name
/// (`secret_env`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Default "10s".
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// `type = "exec"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecConfig {
    pub program: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub working_dir: Option<PathBuf>,
    /// Default "60s".
    #[serde(default)]
    pub timeout: Option<String>,
    /// Default `[75]` (EX_TEMPFAIL).
    #[serde(default)]
    pub retryable_exit_codes: Option<Vec<i32>>,
}

/// `type = "process-pool"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessPoolConfig {
    pub program: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub working_dir: Option<PathBuf>,
    /// Time between SIGTERM and SIGKILL when stopping a replica. Default "5s".
    #[serde(default)]
    pub grace: Option<String>,
    /// Default 64.
    #[serde(default = "default_max_replicas")]
    pub max_replicas: u32,
    #[serde(default)]
    pub inherit_output: bool,
    /// Where the pool records its replicas (pid and start time), so that after a crash the next
    /// start adopts the ones still running. prescale run defaults it to
    /// `<db>.pool.<workload>.json`; unset elsewhere, nothing is recorded.
    #[serde(default)]
    pub state_file: Option<PathBuf>,
}

/// Back-off and circuit breaker settings for [`Retrying`]; every field has a default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// First wait, default "200ms".
    #[serde(default)]
    pub base: Option<String>,
    /// Longest wait, default "10s".
    #[serde(default)]
    pub max: Option<String>,
    /// Attempts per request including the first, default 4.
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Consecutive failures that open the breaker, default 5.
    #[serde(default)]
    pub failure_threshold: Option<u32>,
    /// How long the breaker stays open, default "60s".
    #[serde(default)]
    pub open_for: Option<String>,
}

fn default_capacity() -> usize {
    1000
}

fn default_max_replicas() -> u32 {
    64
}

/// Collects problems under a path prefix.
struct Check<'a> {
    prefix: &'a str,
    problems: Vec<ConfigProblem>,
}

impl Check<'_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        let path = if self.prefix.is_empty() {
            field.to_string()
        } else {
            format!("{}.{field}", self.prefix)
        };
        self.problems.push(ConfigProblem {
            path,
            message: message.into(),
        });
    }

    fn duration(&mut self, field: &str, text: Option<&str>, default: Duration) -> Duration {
        match text {
            None => default,
            Some(t) => match parse_duration(t) {
                Some(i) => Duration::from_millis(u64::try_from(i.millis()).unwrap_or(0)),
                None => {
                    self.fail(
                        field,
                        format!("{t:?} is not a duration (use e.g. \"250ms\", \"5s\", \"2m\")"),
                    );
                    default
                }
            },
        }
    }

    fn program(&mut self, program: &str) {
        if program.trim().is_empty() {
            self.fail("program", "must not be empty");
        }
    }

    fn env_names(&mut self, env: &BTreeMap<String, String>) {
        for name in env.keys() {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                self.fail(
                    &format!("env.{name}"),
                    "not a valid environment variable name",
                );
            }
        }
    }

    fn finish(self) -> Result<(), Vec<ConfigProblem>> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(self.problems)
        }
    }
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl ActuatorConfig {
    /// The `type` tag (`dry-run`, `webhook`, `exec`, `process-pool`, `kubernetes`).
    pub fn type_name(&self) -> &'static str {
        match self {
            ActuatorConfig::DryRun(_) => "dry-run",
            ActuatorConfig::Webhook(_) => "webhook",
            ActuatorConfig::Exec(_) => "exec",
            ActuatorConfig::ProcessPool(_) => "process-pool",
            ActuatorConfig::Kubernetes(_) => "kubernetes",
        }
    }

    /// Every problem, with paths relative to the config root.
    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        self.validate_at("")
    }

    /// Every problem, with paths under `prefix` (e.g. `workloads.web.actuator`).
    pub fn validate_at(&self, prefix: &str) -> Result<(), Vec<ConfigProblem>> {
        let mut c = Check {
            prefix,
            problems: Vec::new(),
        };
        match self {
            ActuatorConfig::DryRun(d) => {
                if d.capacity == 0 {
                    c.fail("capacity", "must be at least 1");
                }
            }
            ActuatorConfig::Webhook(w) => {
                let url = w.url.trim();
                if url.starts_with("https://") {
                    if !cfg!(feature = "tls") {
                        c.fail(
                            "url",
                            "https needs prescale-actuate built with the `tls` feature",
                        );
                    }
                } else if !url.starts_with("http://") {
                    c.fail(
                        "url",
                        format!("{url:?} must start with http:// or https://"),
                    );
                } else if url.len() <= "http://".len() {
                    c.fail("url", "has no host");
                }
                match (&w.secret, &w.secret_env) {
                    (Some(_), Some(_)) => {
                        c.fail("secret", "set either secret or secret_env, not both")
                    }
                    (None, None) => c.fail(
                        "secret",
                        "a signing secret is required (secret or secret_env)",
                    ),
                    (Some(s), None) if s.is_empty() => c.fail("secret", "must not be empty"),
                    (None, Some(e)) if e.is_empty() => c.fail("secret_env", "must not be empty"),
                    _ => {}
                }
                c.duration("timeout", w.timeout.as_deref(), Duration::from_secs(10));
                for (name, value) in &w.headers {
                    if !is_header_name(name) {
                        c.fail(&format!("headers.{name}"), "not a valid HTTP header name");
                    }
                    if value.contains(['\r', '\n']) {
                        c.fail(&format!("headers.{name}"), "value contains a line break");
                    }
                }
            }
            ActuatorConfig::Exec(e) => {
                c.program(&e.program);
                c.env_names(&e.env);
                c.duration("timeout", e.timeout.as_deref(), Duration::from_secs(60));
                for code in e.retryable_exit_codes.iter().flatten() {
                    if !(1..=255).contains(code) {
                        c.fail(
                            "retryable_exit_codes",
                            format!("{code} is not a failing exit code (1-255)"),
                        );
                    }
                }
            }
            ActuatorConfig::ProcessPool(p) => {
                c.program(&p.program);
                c.env_names(&p.env);
                c.duration("grace", p.grace.as_deref(), Duration::from_secs(5));
                if p.max_replicas == 0 {
                    c.fail("max_replicas", "must be at least 1");
                }
                if p.state_file
                    .as_ref()
                    .is_some_and(|f| f.as_os_str().is_empty())
                {
                    c.fail("state_file", "must not be empty");
                }
            }
            ActuatorConfig::Kubernetes(k) => {
                for (field, value) in [("name", &k.name), ("namespace", &k.namespace)] {
                    if value.trim().is_empty() {
                        c.fail(field, "must not be empty");
                    }
                }
                if k.container.as_deref().is_some_and(|n| n.trim().is_empty()) {
                    c.fail("container", "must not be empty");
                }
            }
        }
        c.finish()
    }

    /// Validates and builds one of this crate's actuators (a `kubernetes` one is built by the
    /// kind registered for it: see [`crate::Registry`]). A `secret_env` is read from the
    /// environment here.
    pub fn build(&self) -> Result<Box<dyn Actuator>, ActuateError> {
        self.validate().map_err(ActuateError::Config)?;
        let mut c = Check {
            prefix: "",
            problems: Vec::new(),
        };
        let built: Box<dyn Actuator> = match self {
            ActuatorConfig::DryRun(d) => Box::new(DryRun::new(d.capacity)),
            ActuatorConfig::Webhook(w) => {
                let secret = match (&w.secret, &w.secret_env) {
                    (Some(s), _) => s.clone(),
                    (None, Some(var)) => match std::env::var(var) {
                        Ok(s) if !s.is_empty() => s,
                        _ => {
                            c.fail(
                                "secret_env",
                                format!("environment variable {var} is unset or empty"),
                            );
                            String::new()
                        }
                    },
                    (None, None) => String::new(),
                };
                let opts = WebhookOptions {
                    timeout: c.duration("timeout", w.timeout.as_deref(), Duration::from_secs(10)),
                    headers: w.headers.clone(),
                    ..WebhookOptions::default()
                };
                Box::new(Webhook::new(w.url.trim(), secret.into_bytes(), opts))
            }
            ActuatorConfig::Exec(e) => {
                let opts = ExecOptions {
                    args: e.args.clone(),
                    env: e.env.clone(),
                    working_dir: e.working_dir.clone(),
                    timeout: c.duration("timeout", e.timeout.as_deref(), Duration::from_secs(60)),
                    retryable_exit_codes: e
                        .retryable_exit_codes
                        .clone()
                        .unwrap_or_else(|| vec![75]),
                    ..ExecOptions::default()
                };
                Box::new(Exec::new(e.program.clone(), opts))
            }
            ActuatorConfig::ProcessPool(p) => {
                let command = PoolCommand {
                    program: p.program.clone(),
                    args: p.args.clone(),
                    env: p.env.clone(),
                    working_dir: p.working_dir.clone(),
                    inherit_output: p.inherit_output,
                };
                let grace = c.duration("grace", p.grace.as_deref(), Duration::from_secs(5));
                let pool = ProcessPool::new(command, grace, p.max_replicas);
                match &p.state_file {
                    Some(path) => Box::new(pool.with_state_file(path)?),
                    None => Box::new(pool),
                }
            }
            ActuatorConfig::Kubernetes(_) => {
                c.fail(
                    "type",
                    "a kubernetes actuator is built by the Kubernetes kind registered with a \
                     Registry (prescale-kube), not by prescale-actuate",
                );
                return Err(ActuateError::Config(c.problems));
            }
        };
        c.finish().map_err(ActuateError::Config)?;
        Ok(built)
    }
}

impl RetryConfig {
    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        self.validate_at("")
    }

    pub fn validate_at(&self, prefix: &str) -> Result<(), Vec<ConfigProblem>> {
        self.resolve(prefix).map(|_| ())
    }

    /// The back-off and breaker settings, defaults filled in.
    pub fn resolve(&self, prefix: &str) -> Result<(Backoff, BreakerConfig), Vec<ConfigProblem>> {
        let mut c = Check {
            prefix,
            problems: Vec::new(),
        };
        let d = Backoff::default();
        let b = BreakerConfig::default();
        let base = c.duration("base", self.base.as_deref(), d.base);
        let max = c.duration("max", self.max.as_deref(), d.max);
        if base > max {
            c.fail("base", format!("{base:?} is longer than max {max:?}"));
        }
        let max_attempts = self.max_attempts.unwrap_or(d.max_attempts);
        if max_attempts == 0 {
            c.fail("max_attempts", "must be at least 1");
        }
        let failure_threshold = self.failure_threshold.unwrap_or(b.failure_threshold);
        if failure_threshold == 0 {
            c.fail("failure_threshold", "must be at least 1");
        }
        let open_for = c.duration("open_for", self.open_for.as_deref(), b.open_for);
        c.finish()?;
        Ok((
            Backoff {
                base,
                max,
                max_attempts,
            },
            BreakerConfig {
                failure_threshold,
                open_for,
            },
        ))
    }

    /// Wraps `inner` with these settings.
    pub fn wrap<A: Actuator>(&self, inner: A) -> Result<Retrying<A>, ActuateError> {
        let (backoff, breaker) = self.resolve("").map_err(ActuateError::Config)?;
        Ok(Retrying::new(inner, backoff, breaker))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> ActuatorConfig {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn parses_each_type() {
        assert_eq!(
            parse(r#"{"type":"dry-run"}"#),
            ActuatorConfig::DryRun(DryRunConfig { capacity: 1000 })
        );
        let w = parse(r#"{"type":"webhook","url":"http://h/x","secret_env":"S","timeout":"5s"}"#);
        assert!(matches!(&w, ActuatorConfig::Webhook(c) if c.timeout.as_deref() == Some("5s")));
        assert!(w.validate().is_ok());
        let e = parse(r#"{"type":"exec","program":"terraform","args":["apply"]}"#);
        assert!(e.validate().is_ok());
        let p = parse(r#"{"type":"process-pool","program":"sleep","args":["60"],"grace":"2s"}"#);
        assert!(p.validate().is_ok());
        assert_eq!(p.build().unwrap().name(), "process-pool");
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        assert!(serde_json::from_str::<ActuatorConfig>(r#"{"type":"dry-run","cap":1}"#).is_err());
        assert!(serde_json::from_str::<ActuatorConfig>(r#"{"type":"kubectl"}"#).is_err());
    }

    #[test]
    fn validate_lists_every_problem_with_its_path() {
        let w = parse(
            r#"{"type":"webhook","url":"ftp://x","secret":"a","secret_env":"B","timeout":"soon",
                "headers":{"bad header":"v"}}"#,
        );
        let problems = w.validate_at("workloads.web.actuator").unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "workloads.web.actuator.url",
                "workloads.web.actuator.secret",
                "workloads.web.actuator.timeout",
                "workloads.web.actuator.headers.bad header",
            ]
        );
        let e =
            parse(r#"{"type":"exec","program":" ","timeout":"1x","retryable_exit_codes":[0,75]}"#);
        let problems = e.validate().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(matches!(e.build(), Err(ActuateError::Config(p)) if p.len() == 3));
    }

    #[test]
    fn missing_secret_env_is_reported_at_build() {
        let w = parse(
            r#"{"type":"webhook","url":"http://127.0.0.1:1/","secret_env":"PRESCALE_TEST_SURELY_UNSET_VAR"}"#,
        );
        assert!(w.validate().is_ok());
        let err = w.build().err().unwrap();
        assert!(err.to_string().contains("secret_env"), "{err}");
    }

    #[test]
    fn retry_config_defaults_and_problems() {
        let (b, k) = RetryConfig::default().resolve("").unwrap();
        assert_eq!(b, Backoff::default());
        assert_eq!(k, BreakerConfig::default());
        let bad = RetryConfig {
            base: Some("20s".into()),
            max: Some("1s".into()),
            max_attempts: Some(0),
            failure_threshold: Some(0),
            open_for: Some("never".into()),
        };
        assert_eq!(bad.validate_at("retry").unwrap_err().len(), 4);
    }
}
