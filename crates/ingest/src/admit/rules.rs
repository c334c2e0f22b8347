//! Mapping rules: which workload a series belongs to and what its metric is called.
//!
//! The first rule whose `name` regex and `labels` all match a sample applies; with no matching rule
//! (or a rule that sets no workload) the workload is the first present label of `workload_labels`
//! (`job`, `service`, `app`, `container`), then `fallback_workload`. The metric is the (possibly
//! renamed) metric name plus every label that is neither dropped nor used for the workload or the
//! name, rendered `name{k="v",...}`.

use super::template::Template;
use regex::Regex;
use serde::Deserialize;
use std::collections::BTreeMap;
use thiserror::Error;

/// An invalid rule in the configuration.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum RuleError {
    #[error("invalid name regex {pattern:?}: {reason}")]
    Regex { pattern: String, reason: String },
    #[error("invalid template {template:?}: {reason}")]
    Template {
        template: String,
        reason: &'static str,
    },
    #[error("a rule may set `workload` or `workload_label`, not both")]
    WorkloadTwice,
}

/// A metric-name regex, anchored at both ends.
#[derive(Debug, Clone)]
pub struct NamePattern(Regex);

impl NamePattern {
    pub fn new(pattern: &str) -> Result<Self, RuleError> {
        Regex::new(&format!("^(?:{pattern})$"))
            .map(NamePattern)
            .map_err(|e| RuleError::Regex {
                pattern: pattern.to_owned(),
                reason: e.to_string(),
            })
    }
    pub fn is_match(&self, name: &str) -> bool {
        self.0.is_match(name)
    }
}

impl<'de> Deserialize<'de> for NamePattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        NamePattern::new(&s).map_err(serde::de::Error::custom)
    }
}

/// One rule. Selectors: `name` (regex) and `labels` (equality); actions: the rest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, try_from = "RuleFields")]
pub struct MappingRule {
    pub name: Option<NamePattern>,
    pub labels: BTreeMap<String, String>,
    /// Workload template, e.g. `"{namespace}/{deployment}"`.
    pub workload: Option<Template>,
    /// Metric name template, e.g. `"http_{__name__}"` or `"requests"`.
    pub rename: Option<Template>,
    /// Labels removed from the series (besides the global `drop_labels`).
    pub drop_labels: Vec<String>,
    /// Refuse matching samples (counted as `dropped_by_rule`).
    pub drop: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFields {
    #[serde(default)]
    name: Option<NamePattern>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    workload: Option<Template>,
    /// Sugar for `workload = "{label}"`.
    #[serde(default)]
    workload_label: Option<String>,
    #[serde(default)]
    rename: Option<Template>,
    #[serde(default)]
    drop_labels: Vec<String>,
    #[serde(default)]
    drop: bool,
}

impl TryFrom<RuleFields> for MappingRule {
    type Error = RuleError;
    fn try_from(f: RuleFields) -> Result<Self, RuleError> {
        let workload = match (f.workload, f.workload_label) {
            (Some(_), Some(_)) => return Err(RuleError::WorkloadTwice),
            (Some(t), None) => Some(t),
            (None, Some(l)) => Some(Template::parse(&format!("{{{l}}}"))?),
            (None, None) => None,
        };
        Ok(MappingRule {
            name: f.name,
            labels: f.labels,
            workload,
            rename: f.rename,
            drop_labels: f.drop_labels,
            drop: f.drop,
        })
    }
}

impl MappingRule {
    fn matches(&self, name: &str, labels: &[(String, String)]) -> bool {
        self.name.as_ref().is_none_or(|p| p.is_match(name))
            && self.labels.iter().all(|(k, v)| {
                labels
                    .binary_search_by(|(lk, _)| lk.as_str().cmp(k))
                    .is_ok_and(|i| labels[i].1 == *v)
            })
    }
}

/// The mapping configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MappingRules {
    pub rules: Vec<MappingRule>,
    /// Labels tried in order for the workload when no rule sets one.
    pub workload_labels: Vec<String>,
    /// Labels dropped from every series (they identify a scrape target, not a metric).
    pub drop_labels: Vec<String>,
    /// Workload for samples that carry none of `workload_labels`; `None` refuses them.
    pub fallback_workload: Option<String>,
}

impl Default for MappingRules {
    fn default() -> Self {
        MappingRules {
            rules: Vec::new(),
            workload_labels: ["job", "service", "app", "container"]
                .map(String::from)
                .to_vec(),
            drop_labels: vec!["instance".to_owned()],
            fallback_workload: None,
        }
    }
}

/// Where a sample goes, before counter handling and name validation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mapping {
    pub workload: String,
    /// Metric name, renamed if a rule says so (without `:rate` and labels).
    pub metric: String,
    /// Labels that become part of the metric (sorted).
    pub metric_labels: Vec<(String, String)>,
    /// Labels kept on the series: all but the dropped ones (sorted).
    pub series_labels: Vec<(String, String)>,
}

/// Why mapping refused a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unmapped {
    Dropped,
    NoWorkload,
    MissingLabel,
}

impl MappingRules {
    pub(crate) fn map(&self, name: &str, labels: &[(String, String)]) -> Result<Mapping, Unmapped> {
        let rule = self.rules.iter().find(|r| r.matches(name, labels));
        if rule.is_some_and(|r| r.drop) {
            return Err(Unmapped::Dropped);
        }
        let dropped = |k: &str| {
            self.drop_labels.iter().any(|d| d == k)
                || rule.is_some_and(|r| r.drop_labels.iter().any(|d| d == k))
        };
        let mut used: Vec<&str> = Vec::new();
        let workload = match rule.and_then(|r| r.workload.as_ref()) {
            Some(t) => {
                used.extend(t.labels());
                t.render(name, labels).ok_or(Unmapped::MissingLabel)?
            }
            None => self.default_workload(labels, &mut used)?,
        };
        let metric = match rule.and_then(|r| r.rename.as_ref()) {
            Some(t) => {
                used.extend(t.labels());
                t.render(name, labels).ok_or(Unmapped::MissingLabel)?
            }
            None => name.to_owned(),
        };
        let mut metric_labels = Vec::new();
        let mut series_labels = Vec::with_capacity(labels.len());
        for (k, v) in labels {
            if dropped(k) {
                continue;
            }
            series_labels.push((k.clone(), v.clone()));
            if !used.contains(&k.as_str()) {
                metric_labels.push((k.clone(), v.clone()));
            }
        }
        Ok(Mapping {
            workload,
            metric,
            metric_labels,
            series_labels,
        })
    }

    fn default_workload<'a>(
        &'a self,
        labels: &[(String, String)],
        used: &mut Vec<&'a str>,
    ) -> Result<String, Unmapped> {
        for wl in &self.workload_labels {
            if let Ok(i) = labels.binary_search_by(|(k, _)| k.as_str().cmp(wl)) {
                if !labels[i].1.is_empty() {
                    used.push(wl.as_str());
                    return Ok(labels[i].1.clone());
                }
            }
        }
        self.fallback_workload.clone().ok_or(Unmapped::NoWorkload)
    }
}

/// Renders `metric{k="v",...}` with Prometheus label-value escaping; bare `metric` without labels.
pub(crate) fn render_metric(metric: &str, suffix: &str, labels: &[(String, String)]) -> String {
    let mut out = String::with_capacity(
        metric.len()
            + suffix.len()
            + labels
                .iter()
                .map(|(k, v)| k.len() + v.len() + 4)
                .sum::<usize>()
            + 2,
    );
    out.push_str(metric);
    out.push_str(suffix);
    if labels.is_empty() {
        return out;
    }
    out.push('{');
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn default_mapping() {
        let r = MappingRules::default();
        let m = r
            .map(
                "http_requests_total",
                &l(&[("job", "api"), ("instance", "10.0.0.1:80"), ("code", "200")]),
            )
            .unwrap();
        assert_eq!(m.workload, "api");
        assert_eq!(m.metric, "http_requests_total");
        assert_eq!(m.metric_labels, l(&[("code", "200")]));
        assert_eq!(m.series_labels, l(&[("code", "200"), ("job", "api")]));
        // Falls through the workload label list.
        let m = r.map("x", &l(&[("job", ""), ("app", "shop")])).unwrap();
        assert_eq!(m.workload, "shop");
        assert_eq!(m.metric_labels, l(&[("job", "")]));
        assert_eq!(r.map("x", &l(&[("pod", "p")])), Err(Unmapped::NoWorkload));
        let r = MappingRules {
            fallback_workload: Some("default".into()),
            ..MappingRules::default()
        };
        assert_eq!(r.map("x", &[]).unwrap().workload, "default");
    }

    #[test]
    fn rules_from_toml_like_json() {
        let r: MappingRules = serde_json::from_str(
            r#"{"rules": [
                {"name": "kube_.*", "drop": true},
                {"name": "http_.*", "labels": {"env": "prod"},
                 "workload": "{namespace}/{deployment}", "rename": "web_{__name__}",
                 "drop_labels": ["pod"]},
                {"labels": {"team": "db"}, "workload_label": "cluster"}
            ]}"#,
        )
        .unwrap();
        assert_eq!(r.workload_labels[0], "job");
        assert_eq!(r.map("kube_pod_info", &[]), Err(Unmapped::Dropped));
        let labels = l(&[
            ("env", "prod"),
            ("namespace", "shop"),
            ("deployment", "cart"),
            ("pod", "cart-1"),
            ("method", "GET"),
            ("instance", "i"),
        ]);
        let m = r.map("http_requests_total", &labels).unwrap();
        assert_eq!(m.workload, "shop/cart");
        assert_eq!(m.metric, "web_http_requests_total");
        assert_eq!(m.metric_labels, l(&[("env", "prod"), ("method", "GET")]));
        assert_eq!(
            m.series_labels,
            l(&[
                ("deployment", "cart"),
                ("env", "prod"),
                ("method", "GET"),
                ("namespace", "shop")
            ])
        );
        // Regex is anchored: "xhttp_a" does not match "http_.*"; env mismatch skips the rule too.
        let m = r
            .map("xhttp_a", &l(&[("job", "j"), ("env", "prod")]))
            .unwrap();
        assert_eq!(m.workload, "j");
        let no_ns = l(&[("env", "prod"), ("deployment", "cart")]);
        assert_eq!(r.map("http_x", &no_ns), Err(Unmapped::MissingLabel));
        let m = r
            .map("q", &l(&[("team", "db"), ("cluster", "pg1")]))
            .unwrap();
        assert_eq!(m.workload, "pg1");
        assert_eq!(m.metric_labels, l(&[("team", "db")]));
    }

    #[test]
    fn invalid_rules_are_refused() {
        for bad in [
            r#"{"rules": [{"name": "("}]}"#,
            r#"{"rules": [{"workload": "{ns"}]}"#,
            r#"{"rules": [{"workload": "{a}", "workload_label": "b"}]}"#,
            r#"{"rules": [{"unknown": 1}]}"#,
            r#"{"nope": []}"#,
        ] {
            assert!(serde_json::from_str::<MappingRules>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metric_rendering_escapes() {
        assert_eq!(render_metric("up", "", &[]), "up");
        assert_eq!(
            render_metric("req", ":rate", &l(&[("a", "x\"y\\z\n"), ("b", "2")])),
            r#"req:rate{a="x\"y\\z\n",b="2"}"#
        );
    }
}
