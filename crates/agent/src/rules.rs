//! Grouping rules: which workload a process belongs to (command, command line, cgroup, systemd unit,
//! container id or an environment variable), first match wins, names built from capture groups.

use crate::config::Pattern;
use crate::error::AgentError;
use regex::Regex;
use serde::Deserialize;

/// One ordered grouping rule: a matcher and an optional workload-name template.
///
/// The template uses the regular expression's capture groups: `$1`, `$name` or `${name}`; `$0` is
/// the whole match. Without a template the workload is the first capture group when the expression
/// has one, otherwise the whole matched subject (the command name, cgroup path, unit name, variable
/// value). Container rules offer `$id` (64 hex digits) and `$short` (its first 12, the default).
/// Environment rules without `value` offer `$value`. A template that expands to an empty string
/// counts as no match.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawRule")]
pub struct GroupRule {
    pub matcher: Matcher,
    pub workload: Option<String>,
}

/// What a rule looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// Regex on the command name (`/proc/<pid>/comm`, at most 15 bytes).
    Command(Pattern),
    /// Regex on the command line, arguments joined by spaces.
    Cmdline(Pattern),
    /// Regex on the cgroup path (the unified hierarchy when used, else the memory controller's).
    Cgroup(Pattern),
    /// Regex on the innermost systemd unit (`*.service` or `*.scope`) in the cgroup path.
    SystemdUnit(Pattern),
    /// Processes whose cgroup path holds a 64-hex-digit container id (Docker, containerd, CRI-O).
    ContainerId,
    /// Processes whose environment has this variable (value matched by the pattern, any when absent).
    Env {
        name: String,
        value: Option<Pattern>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    command: Option<String>,
    cmdline: Option<String>,
    cgroup: Option<String>,
    systemd_unit: Option<String>,
    container_id: Option<bool>,
    env: Option<String>,
    value: Option<String>,
    workload: Option<String>,
}

fn compile(field: &str, pattern: &str) -> Result<Pattern, AgentError> {
    Pattern::new(pattern).map_err(|e| match e {
        AgentError::Regex {
            pattern, source, ..
        } => AgentError::Regex {
            field: field.into(),
            pattern,
            source,
        },
        other => other,
    })
}

impl TryFrom<RawRule> for GroupRule {
    type Error = AgentError;
    fn try_from(r: RawRule) -> Result<Self, AgentError> {
        let mut found: Vec<Matcher> = Vec::new();
        if let Some(p) = &r.command {
            found.push(Matcher::Command(compile("command", p)?));
        }
        if let Some(p) = &r.cmdline {
            found.push(Matcher::Cmdline(compile("cmdline", p)?));
        }
        if let Some(p) = &r.cgroup {
            found.push(Matcher::Cgroup(compile("cgroup", p)?));
        }
        if let Some(p) = &r.systemd_unit {
            found.push(Matcher::SystemdUnit(compile("systemd_unit", p)?));
        }
        match r.container_id {
            Some(true) => found.push(Matcher::ContainerId),
            Some(false) => {
                return Err(AgentError::Config {
                    field: "container_id".into(),
                    reason: "only `container_id = true` makes sense".into(),
                })
            }
            None => {}
        }
        if let Some(name) = &r.env {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(AgentError::Config {
                    field: "env".into(),
                    reason: format!("{name:?} is not a variable name"),
                });
            }
            let value = r
                .value
                .as_deref()
                .map(|p| compile("value", p))
                .transpose()?;
            found.push(Matcher::Env {
                name: name.clone(),
                value,
            });
        } else if r.value.is_some() {
            return Err(AgentError::Config {
                field: "value".into(),
                reason: "`value` only goes with `env`".into(),
            });
        }
        if found.len() != 1 {
            return Err(AgentError::Config {
                field: "rules".into(),
                reason: format!(
                    "a rule needs exactly one of command, cmdline, cgroup, systemd_unit, container_id, env (found {})",
                    found.len()
                ),
            });
        }
        let matcher = found.remove(0);
        if let Some(t) = &r.workload {
            if t.trim().is_empty() {
                return Err(AgentError::Config {
                    field: "workload".into(),
                    reason: "template is empty".into(),
                });
            }
        }
        Ok(GroupRule {
            matcher,
            workload: r.workload,
        })
    }
}

impl GroupRule {
    /// Which process facts this rule reads.
    pub(crate) fn needs(&self) -> Needs {
        let mut n = Needs::default();
        match self.matcher {
            Matcher::Command(_) => {}
            Matcher::Cmdline(_) => n.cmdline = true,
            Matcher::Cgroup(_) | Matcher::SystemdUnit(_) | Matcher::ContainerId => n.cgroup = true,
            Matcher::Env { .. } => n.environ = true,
        }
        n
    }

    /// Whether this rule groups by cgroup (its workloads get `cgroup_memory_bytes`).
    pub(crate) fn is_cgroup_based(&self) -> bool {
        matches!(
            self.matcher,
            Matcher::Cgroup(_) | Matcher::SystemdUnit(_) | Matcher::ContainerId
        )
    }
}

/// Facts about a process that rules may need, read lazily.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Needs {
    pub cmdline: bool,
    pub cgroup: bool,
    pub environ: bool,
}

/// The facts a rule is matched against; `None` where unreadable (the rule then does not match).
pub(crate) struct Facts<'a> {
    pub comm: &'a str,
    pub cmdline: Option<&'a str>,
    pub cgroup: Option<&'a str>,
    pub unit: Option<&'a str>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// Container ids in cgroup paths: Docker `/docker/<id>`, systemd `docker-<id>.scope`,
/// containerd `cri-containerd-<id>.scope`, CRI-O `crio-<id>`.
pub(crate) fn container_regex() -> Result<Regex, AgentError> {
    let p = r"(?:^|[/\-:])(?P<id>(?P<short>[0-9a-f]{12})[0-9a-f]{52})(?:\.scope)?(?:/|$)";
    Regex::new(p).map_err(|e| AgentError::Regex {
        field: "container_id".into(),
        pattern: p.into(),
        source: Box::new(e),
    })
}

/// Expand a template against a match, or apply the default naming.
fn name_from(re: &Regex, subject: &str, template: Option<&str>, default: &str) -> Option<String> {
    let caps = re.captures(subject)?;
    let mut out = String::new();
    match template {
        Some(t) => caps.expand(t, &mut out),
        None if default.is_empty() => {
            if re.captures_len() > 1 {
                if let Some(m) = caps.get(1) {
                    out.push_str(m.as_str());
                }
            } else {
                out.push_str(subject);
            }
        }
        None => caps.expand(default, &mut out),
    }
    let trimmed = out.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// Apply the rules in order; `Some((workload, rule index))` for the first that matches.
pub(crate) fn classify(
    rules: &[GroupRule],
    container_re: &Regex,
    facts: &Facts<'_>,
) -> Option<(String, usize)> {
    for (i, rule) in rules.iter().enumerate() {
        let t = rule.workload.as_deref();
        let name = match &rule.matcher {
            Matcher::Command(p) => name_from(p.regex(), facts.comm, t, ""),
            Matcher::Cmdline(p) => facts.cmdline.and_then(|c| name_from(p.regex(), c, t, "")),
            Matcher::Cgroup(p) => facts.cgroup.and_then(|c| name_from(p.regex(), c, t, "")),
            Matcher::SystemdUnit(p) => facts.unit.and_then(|u| name_from(p.regex(), u, t, "")),
            Matcher::ContainerId => facts
                .cgroup
                .and_then(|c| name_from(container_re, c, t, "$short")),
            Matcher::Env { name, value } => (facts.env)(name).and_then(|v| match value {
                Some(p) => name_from(p.regex(), &v, t, ""),
                None => match t {
                    Some(t) => {
                        let out = t.replace("$value", &v).replace("${value}", &v);
                        let out = out.trim();
                        (!out.is_empty()).then(|| out.to_string())
                    }
                    None => {
                        let v = v.trim();
                        (!v.is_empty()).then(|| v.to_string())
                    }
                },
            }),
        };
        if let Some(n) = name {
            return Some((n, i));
        }
    }
    None
}
