//! A workload's exogenous inputs as configured, validated once into [`Drivers`]: `predictors`
//! (other series whose demand predicts its own: the upstream service's load predicts the downstream
//! one's) and `events` (known `release`, `campaign` and `holiday` times), from a `[[workload]]` or a
//! `PredictiveScaler`'s spec (both read as the CRD's types), and the events annotations carry (a tag
//! naming the kind, an optional `for=<duration>` tag).

use super::error::Problem;
use prescale_core::{MetricName, Timestamp, WorkloadId};
use prescale_forecast::fleet::{EventKind, MAX_PREDICTORS};
use prescale_kube::{parse_rfc3339, ScalerEvent, ScalerPredictor};
use std::collections::BTreeMap;

/// Most events one workload may list.
pub const MAX_EVENTS: usize = 1000;
/// Longest event (a year and a day).
const MAX_EVENT_MS: i64 = 366 * 86_400_000;
/// Earliest event start (2000-01-01), as for annotations.
const EARLIEST_MS: i64 = 946_684_800_000;
/// How long a holiday without an end lasts.
const HOLIDAY_MS: i64 = 86_400_000;
/// The annotation tag giving an event's length: `for=2h`.
const FOR_TAG: &str = "for=";

/// Another series whose demand predicts a workload's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictorRef {
    pub workload: WorkloadId,
    /// `None`: the demand metric the workload is controlled by (found at run time: a workload a
    /// `PredictiveScaler` will add).
    pub metric: Option<MetricName>,
}

/// A known event from `at` to `until` (Unix ms, end excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedEvent {
    pub kind: EventKind,
    pub at: Timestamp,
    /// `None`: the step holding `at` (a day for a holiday).
    pub until: Option<Timestamp>,
}

impl PlannedEvent {
    /// Its end (excluded) for series of `step_ms` steps.
    pub fn end_ms(&self, step_ms: i64) -> i64 {
        match (self.until, self.kind) {
            (Some(u), _) => u.0,
            (None, EventKind::Holiday) => self.at.0.saturating_add(HOLIDAY_MS),
            (None, _) => {
                let step = step_ms.max(1);
                (self.at.0.div_euclid(step) + 1).saturating_mul(step)
            }
        }
    }

    /// The events an annotation at `at` with `tags` stands for: one per tag naming a kind, lasting
    /// the `for=<duration>` tag's length when it has a valid one. Other tags are plain notes.
    pub fn from_annotation(at: Timestamp, tags: &[String]) -> Vec<PlannedEvent> {
        let until = tags
            .iter()
            .find_map(|t| t.trim().strip_prefix(FOR_TAG))
            .and_then(prescale_core::time::parse_duration)
            .map(|d| Timestamp(at.0.saturating_add(d.millis().clamp(1, MAX_EVENT_MS))));
        tags.iter()
            .filter_map(|t| t.parse::<EventKind>().ok())
            .map(|kind| PlannedEvent { kind, at, until })
            .collect()
    }
}

/// A workload's validated exogenous inputs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drivers {
    /// At most [`MAX_PREDICTORS`], none of them the workload's own demand.
    pub predictors: Vec<PredictorRef>,
    pub events: Vec<PlannedEvent>,
}

impl Drivers {
    /// Neither predictors nor events.
    pub fn is_empty(&self) -> bool {
        self.predictors.is_empty() && self.events.is_empty()
    }

    /// Checks the `predictors` and `events` found at `path` (`workload[2]`, `spec`) of the workload
    /// `own` controlled by `metric`; every problem with its path.
    pub fn parse(
        path: &str,
        own: (&WorkloadId, &MetricName),
        predictors: &[ScalerPredictor],
        events: &[ScalerEvent],
    ) -> Result<Drivers, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut fail = |p: String, m: String| {
            problems.push(Problem {
                path: p,
                message: m,
            })
        };
        if predictors.len() > MAX_PREDICTORS {
            fail(
                format!("{path}.predictors"),
                format!(
                    "at most {MAX_PREDICTORS} predictors, found {}",
                    predictors.len()
                ),
            );
        }
        let mut out = Drivers::default();
        for (i, p) in predictors.iter().enumerate() {
            let at = |f: &str| format!("{path}.predictors[{i}]{f}");
            let workload = WorkloadId::new(p.workload.as_str())
                .map_err(|e| fail(at(".workload"), e.to_string()))
                .ok();
            let metric = p
                .metric
                .as_deref()
                .map(MetricName::new)
                .transpose()
                .map_err(|e| fail(at(".metric"), e.to_string()))
                .ok();
            let (Some(workload), Some(metric)) = (workload, metric) else {
                continue;
            };
            let r = PredictorRef { workload, metric };
            if r.workload == *own.0 && r.metric.as_ref().is_none_or(|m| m == own.1) {
                fail(at(""), "a workload's demand cannot predict itself".into());
            } else if out.predictors.contains(&r) {
                fail(at(""), format!("{:?} is listed twice", p.workload));
            } else {
                out.predictors.push(r);
            }
        }
        if events.len() > MAX_EVENTS {
            fail(
                format!("{path}.events"),
                format!("at most {MAX_EVENTS} events, found {}", events.len()),
            );
        }
        for (i, e) in events.iter().enumerate() {
            let at = |f: &str| format!("{path}.events[{i}].{f}");
            let kind = e
                .kind
                .parse::<EventKind>()
                .map_err(|err| fail(at("kind"), err.to_string()))
                .ok();
            let mut time = |field: &str, text: &str| match parse_rfc3339(text) {
                Some(t) if t.0 >= EARLIEST_MS => Some(t),
                Some(_) => {
                    fail(at(field), format!("{text:?} is before 2000"));
                    None
                }
                None => {
                    fail(
                        at(field),
                        format!("{text:?} is not an RFC 3339 time like 2025-11-28T08:00:00Z"),
                    );
                    None
                }
            };
            let start = time("at", &e.at);
            let until = e.until.as_deref().map(|u| time("until", u));
            let (Some(kind), Some(start)) = (kind, start) else {
                continue;
            };
            let until = match until {
                None => None,
                Some(None) => continue,
                Some(Some(u)) if u.0 <= start.0 => {
                    fail(at("until"), "must be after at".into());
                    continue;
                }
                Some(Some(u)) if u.0 - start.0 > MAX_EVENT_MS => {
                    fail(at("until"), "an event lasts at most 366 days".into());
                    continue;
                }
                Some(Some(u)) => Some(u),
            };
            out.events.push(PlannedEvent {
                kind,
                at: start,
                until,
            });
        }
        if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        }
    }

    /// Names each predictor's metric where it is another configured workload's (`controlled`:
    /// workload → metric and its entry index); a predictor naming a workload that is neither
    /// configured nor given a metric is a problem unless `PredictiveScaler`s may add it
    /// (`scalers`). `path` is the entry's path.
    pub fn resolve(
        &mut self,
        path: &str,
        controlled: &BTreeMap<WorkloadId, MetricName>,
        scalers: bool,
    ) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (i, p) in self.predictors.iter_mut().enumerate() {
            match (&p.metric, controlled.get(&p.workload)) {
                (None, Some(m)) => p.metric = Some(m.clone()),
                (None, None) if !scalers => problems.push(Problem {
                    path: format!("{path}.predictors[{i}]"),
                    message: format!(
                        "{:?} is not a configured workload: give the metric of its stored series \
                         ({{ workload = {:?}, metric = \"...\" }})",
                        p.workload.as_str(),
                        p.workload.as_str()
                    ),
                }),
                _ => {}
            }
        }
        problems
    }
}

/// A `[[workload]]`'s `predictors` and `events`, validated at `path` (problems go to `c`).
pub(super) fn of_workload(
    c: &mut super::validate::Check,
    path: &str,
    own: (&WorkloadId, &MetricName),
    predictors: Option<Vec<toml::Value>>,
    events: Option<Vec<toml::Value>>,
) -> Drivers {
    let parsed =
        from_toml(path, predictors, events).and_then(|(p, e)| Drivers::parse(path, own, &p, &e));
    parsed.unwrap_or_else(|problems| {
        for p in problems {
            c.fail(p.path, p.message);
        }
        Drivers::default()
    })
}

/// Resolves every configured workload's predictors against the others (`paths`: each entry's
/// path), see [`Drivers::resolve`].
pub(super) fn resolve_all(
    c: &mut super::validate::Check,
    workloads: &mut [super::ControlledWorkload],
    paths: &[String],
    scalers: bool,
) {
    let controlled: BTreeMap<WorkloadId, MetricName> = workloads
        .iter()
        .map(|w| (w.spec.workload.clone(), w.spec.metric.clone()))
        .collect();
    for (w, path) in workloads.iter_mut().zip(paths) {
        for p in w.drivers.resolve(path, &controlled, scalers) {
            c.fail(p.path, p.message);
        }
    }
}

/// `predictors` and `events` of a `[[workload]]` as the CRD's types: a predictor is a workload id or
/// `{ workload = "w", metric = "m" }`; an event `{ at = ..., kind = "...", until = ... }` with times
/// as RFC 3339 strings or TOML date-times. Problems are reported at `path`.
pub fn from_toml(
    path: &str,
    predictors: Option<Vec<toml::Value>>,
    events: Option<Vec<toml::Value>>,
) -> Result<(Vec<ScalerPredictor>, Vec<ScalerEvent>), Vec<Problem>> {
    let mut problems = Vec::new();
    let mut fail = |p: String, m: &str| {
        problems.push(Problem {
            path: p,
            message: m.to_string(),
        })
    };
    let mut ps = Vec::new();
    for (i, v) in predictors.unwrap_or_default().into_iter().enumerate() {
        let at = format!("{path}.predictors[{i}]");
        match v {
            toml::Value::String(workload) => ps.push(ScalerPredictor {
                workload,
                metric: None,
            }),
            toml::Value::Table(mut t) => {
                let text = |v: Option<toml::Value>| v.and_then(|v| v.as_str().map(str::to_string));
                let workload = text(t.remove("workload"));
                let metric = t.remove("metric");
                let metric_text = text(metric.clone());
                match (
                    workload,
                    metric.is_none() || metric_text.is_some(),
                    t.is_empty(),
                ) {
                    (Some(workload), true, true) => ps.push(ScalerPredictor {
                        workload,
                        metric: metric_text,
                    }),
                    _ => fail(
                        at,
                        "must be a workload id or { workload = \"w\", metric = \"m\" } (strings)",
                    ),
                }
            }
            _ => fail(
                at,
                "must be a workload id or { workload = \"w\", metric = \"m\" }",
            ),
        }
    }
    let mut es = Vec::new();
    for (i, v) in events.unwrap_or_default().into_iter().enumerate() {
        let at = format!("{path}.events[{i}]");
        let toml::Value::Table(mut t) = v else {
            fail(at, "must be { at = ..., kind = \"...\", until = ... }");
            continue;
        };
        let time = |v: Option<toml::Value>| match v {
            Some(toml::Value::String(s)) => Some(Ok(s)),
            Some(toml::Value::Datetime(d)) => Some(Ok(d.to_string())),
            Some(_) => Some(Err(())),
            None => None,
        };
        let start = time(t.remove("at"));
        let until = time(t.remove("until"));
        let kind = t
            .remove("kind")
            .and_then(|k| k.as_str().map(str::to_string));
        match (start, kind, until, t.is_empty()) {
            (Some(Ok(start)), Some(kind), None, true) => es.push(ScalerEvent {
                at: start,
                kind,
                until: None,
            }),
            (Some(Ok(start)), Some(kind), Some(Ok(until)), true) => es.push(ScalerEvent {
                at: start,
                kind,
                until: Some(until),
            }),
            _ => fail(
                at,
                "must be { at = <time>, kind = \"release|campaign|holiday\", until = <time> } \
                 (until optional, times RFC 3339)",
            ),
        }
    }
    if problems.is_empty() {
        Ok((ps, es))
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> (WorkloadId, MetricName) {
        (
            WorkloadId::new("api").unwrap(),
            MetricName::new("rps").unwrap(),
        )
    }

    fn parse(
        predictors: &[(&str, Option<&str>)],
        events: &[(&str, &str, Option<&str>)],
    ) -> Result<Drivers, Vec<Problem>> {
        let (w, m) = own();
        let ps: Vec<ScalerPredictor> = predictors
            .iter()
            .map(|(w, m)| ScalerPredictor {
                workload: w.to_string(),
                metric: m.map(str::to_string),
            })
            .collect();
        let es: Vec<ScalerEvent> = events
            .iter()
            .map(|(at, kind, until)| ScalerEvent {
                at: at.to_string(),
                kind: kind.to_string(),
                until: until.map(str::to_string),
            })
            .collect();
        Drivers::parse("workload[0]", (&w, &m), &ps, &es)
    }

    fn paths(r: Result<Drivers, Vec<Problem>>) -> Vec<String> {
        r.unwrap_err().into_iter().map(|p| format!("{p}")).collect()
    }

    #[test]
    fn valid_inputs_are_read() {
        let d = parse(
            &[("gateway", None), ("api", Some("queue_depth"))],
            &[
                (
                    "2025-11-28T00:00:00Z",
                    "campaign",
                    Some("2025-11-30T00:00:00Z"),
                ),
                ("2025-12-25T00:00:00+01:00", "holiday", None),
            ],
        )
        .unwrap();
        assert_eq!(d.predictors.len(), 2);
        assert_eq!(d.events[0].kind, EventKind::Campaign);
        assert_eq!(
            d.events[0].end_ms(60_000) - d.events[0].at.0,
            2 * 86_400_000
        );
        assert_eq!(d.events[1].end_ms(60_000) - d.events[1].at.0, HOLIDAY_MS);
        assert!(!d.is_empty());
    }

    #[test]
    fn absurd_inputs_are_refused_with_their_paths() {
        let p = paths(parse(&[("api", None)], &[]));
        assert!(
            p[0].starts_with(
                "workload[0].predictors[0]: a workload's demand cannot predict itself"
            ),
            "{p:?}"
        );
        let p = paths(parse(&[("a", None), ("b", None), ("c", None)], &[]));
        assert!(p[0].contains("at most 2 predictors"), "{p:?}");
        let p = paths(parse(&[("a", None), ("a", None)], &[]));
        assert!(p[0].contains("listed twice"), "{p:?}");
        let p = paths(parse(&[], &[("2025-11-28T00:00:00Z", "sale", None)]));
        assert!(
            p[0].starts_with("workload[0].events[0].kind: \"sale\" is not an event kind"),
            "{p:?}"
        );
        let p = paths(parse(&[], &[("next friday", "campaign", None)]));
        assert!(
            p[0].contains("events[0].at: \"next friday\" is not an RFC 3339 time"),
            "{p:?}"
        );
        let p = paths(parse(
            &[],
            &[(
                "2025-11-28T00:00:00Z",
                "campaign",
                Some("2025-11-27T00:00:00Z"),
            )],
        ));
        assert!(p[0].contains("events[0].until: must be after at"), "{p:?}");
        let p = paths(parse(
            &[],
            &[(
                "2025-01-01T00:00:00Z",
                "campaign",
                Some("2027-01-01T00:00:00Z"),
            )],
        ));
        assert!(p[0].contains("at most 366 days"), "{p:?}");
        let p = paths(parse(&[], &[("1990-01-01T00:00:00Z", "release", None)]));
        assert!(p[0].contains("before 2000"), "{p:?}");
    }

    #[test]
    fn predictors_resolve_to_configured_workloads_or_need_a_metric() {
        let mut d = parse(&[("gateway", None), ("db", Some("qps"))], &[]).unwrap();
        let controlled: BTreeMap<WorkloadId, MetricName> = [(
            WorkloadId::new("gateway").unwrap(),
            MetricName::new("requests").unwrap(),
        )]
        .into();
        assert!(d.resolve("workload[0]", &controlled, false).is_empty());
        assert_eq!(
            d.predictors[0].metric.as_ref().unwrap().as_str(),
            "requests"
        );
        let mut d = parse(&[("nowhere", None)], &[]).unwrap();
        assert!(
            d.resolve("workload[0]", &controlled, true).is_empty(),
            "a scaler may add it"
        );
        let problems = d.resolve("workload[0]", &controlled, false);
        assert!(
            problems[0].message.contains("not a configured workload"),
            "{problems:?}"
        );
    }

    #[test]
    fn annotations_tagged_with_a_kind_are_events() {
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = PlannedEvent::from_annotation(
            Timestamp(1_000),
            &tags(&["campaign", "for=2h", "spring"]),
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].end_ms(60_000), 1_000 + 7_200_000);
        let e = PlannedEvent::from_annotation(Timestamp(1_000), &tags(&["release"]));
        assert_eq!(e[0].end_ms(60_000), 60_000, "the step holding it");
        assert!(PlannedEvent::from_annotation(Timestamp(1_000), &tags(&["deploy"])).is_empty());
    }

    #[test]
    fn toml_values_become_the_crd_types() {
        let v: toml::Table = toml::from_str(
            r#"
predictors = ["gateway", { workload = "db", metric = "qps" }]
events = [
  { at = 2025-11-28T00:00:00Z, kind = "campaign", until = "2025-11-30T00:00:00Z" },
  { at = "2025-12-25T00:00:00Z", kind = "holiday" },
]
"#,
        )
        .unwrap();
        let arr = |k: &str| v[k].as_array().cloned();
        let (p, e) = from_toml("workload[0]", arr("predictors"), arr("events")).unwrap();
        assert_eq!(p[1].metric.as_deref(), Some("qps"));
        assert_eq!(e[0].at, "2025-11-28T00:00:00Z");
        assert_eq!(e[1].until, None);
        let bad: toml::Table = toml::from_str(
            r#"predictors = [3, { workload = "db", extra = 1 }]
events = [{ at = "x", kind = "campaign", colour = "red" }]"#,
        )
        .unwrap();
        let problems = from_toml(
            "w",
            bad["predictors"].as_array().cloned(),
            bad["events"].as_array().cloned(),
        )
        .unwrap_err();
        let p: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(p, ["w.predictors[0]", "w.predictors[1]", "w.events[0]"]);
    }
}
