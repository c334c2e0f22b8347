//! The fleet gbm's exogenous inputs in the daemon: a controlled workload's predictors (another
//! controller's aligned history, with its latest forecast when forecasting; else the predictor's
//! stored series) and its known events (its configured ones and the annotations tagged
//! `release`, `campaign` or `holiday`, its own and fleet-wide), aligned to the end of its history.
//! Training gets no forecasts (none were kept for the past); forecasting does.

use crate::config::{Drivers, PlannedEvent};
use prescale_core::{Sample, SeriesKey, Timestamp};
use prescale_forecast::fleet::{Anchor, Event, Exog, Predictor, EVENT_CAP};
use prescale_store::AnnotationRow;
use std::collections::BTreeMap;

/// Annotations read for events each time the inputs are built (newest first: future ones first).
pub const ANNOTATIONS_READ: usize = 1000;

/// One controlled workload as the inputs of the others see it.
pub struct Seen<'a> {
    pub workload: &'a str,
    pub metric: &'a str,
    pub step_ms: i64,
    pub season: Option<usize>,
    /// Steps ahead its forecaster fits for.
    pub horizon: usize,
    /// Its aligned history, oldest first.
    pub history: &'a [f64],
    /// The end (Unix ms) of its last step.
    pub end_ms: Option<i64>,
    /// Its latest forecast's point path and the end of the step it was made from.
    pub forecast: Option<(i64, &'a [f64])>,
    pub drivers: &'a Drivers,
}

/// Stored series of predictors no controller serves: steps and the end of the last, by
/// (workload, metric, step).
pub type Stored = BTreeMap<(String, String, i64), (Vec<f64>, i64)>;

/// The events annotations carry: fleet-wide ones and each workload's.
#[derive(Debug, Default)]
pub struct Calendar {
    fleet: Vec<PlannedEvent>,
    by_workload: BTreeMap<String, Vec<PlannedEvent>>,
}

impl Calendar {
    /// The events of annotations tagged with a kind.
    pub fn from_annotations<'a>(rows: impl IntoIterator<Item = &'a AnnotationRow>) -> Calendar {
        let mut c = Calendar::default();
        for row in rows {
            let events = PlannedEvent::from_annotation(row.at, &row.tags);
            match &row.workload {
                Some(w) => c
                    .by_workload
                    .entry(w.to_string())
                    .or_default()
                    .extend(events),
                None => c.fleet.extend(events),
            }
        }
        c
    }

    /// Whether any annotation is an event.
    pub fn is_empty(&self) -> bool {
        self.fleet.is_empty() && self.by_workload.is_empty()
    }

    fn of<'a>(&'a self, workload: &str) -> impl Iterator<Item = &'a PlannedEvent> {
        self.fleet
            .iter()
            .chain(self.by_workload.get(workload).into_iter().flatten())
    }
}

/// Where a predictor of `seen[i]` comes from.
enum Source<'a> {
    Controller(&'a Seen<'a>),
    Stored(SeriesKey),
    /// Neither a controller of its step nor a series to read (no metric): left missing.
    Missing,
}

fn source<'a>(seen: &'a [Seen<'a>], i: usize, p: usize) -> Source<'a> {
    let own = &seen[i];
    let r = &own.drivers.predictors[p];
    let by_controller = seen.iter().find(|s| {
        s.workload == r.workload.as_str()
            && r.metric.as_ref().is_none_or(|m| m.as_str() == s.metric)
            && s.step_ms == own.step_ms
    });
    match (by_controller, &r.metric) {
        (Some(s), _) => Source::Controller(s),
        (None, Some(m)) => Source::Stored(SeriesKey::new(r.workload.clone(), m.clone())),
        (None, None) => Source::Missing,
    }
}

/// The stored series `seen[i]`'s predictors need (no controller serves them), with the span to
/// read: its history's.
pub fn stored_wanted(seen: &[Seen<'_>], i: usize) -> Vec<(SeriesKey, i64, i64)> {
    let own = &seen[i];
    let span = own
        .step_ms
        .saturating_mul(i64::try_from(own.history.len().max(1)).unwrap_or(i64::MAX));
    (0..own.drivers.predictors.len())
        .filter_map(|p| match source(seen, i, p) {
            Source::Stored(key) => Some((key, own.step_ms, span)),
            _ => None,
        })
        .collect()
}

/// The predictors of `seen[i]` that nothing serves: no controller of its step, no stored series
/// read (`stored`), or no metric to read one by.
pub fn unserved(seen: &[Seen<'_>], i: usize, stored: &Stored) -> Vec<String> {
    let own = &seen[i];
    (0..own.drivers.predictors.len())
        .filter_map(|p| {
            let name = || own.drivers.predictors[p].workload.to_string();
            match source(seen, i, p) {
                Source::Controller(_) => None,
                Source::Stored(key) => {
                    let k = (
                        key.workload.to_string(),
                        key.metric.to_string(),
                        own.step_ms,
                    );
                    (!stored.contains_key(&k)).then(|| key.to_string())
                }
                Source::Missing => Some(name()),
            }
        })
        .collect()
}

/// Steps of `step_ms` from a stored window (the mean of each step's samples, a step without any
/// carrying the one before) and the end of the last complete step before `now`.
pub fn stored_steps(
    key: &SeriesKey,
    window: &[Sample],
    step_ms: i64,
    now: Timestamp,
) -> Option<(Vec<f64>, i64)> {
    // the control loop's own alignment: step means of complete steps
    let complete = prescale_control::complete_steps(key, window, step_ms, now);
    let (first, last) = (complete.first()?.0, complete.last()?.0);
    let mut values = Vec::with_capacity(usize::try_from((last - first) / step_ms + 1).ok()?);
    let mut next = complete.iter().peekable();
    let mut carried = complete[0].1;
    let mut t = first;
    while t <= last {
        if let Some(&(_, v)) = next.next_if(|s| s.0 == t) {
            carried = v;
        }
        values.push(carried);
        t += step_ms;
    }
    Some((values, last + step_ms))
}

/// Offset of the step holding `ts` from the step ending at `end_ms` (0 is that step).
fn offset(ts: i64, end_ms: i64, step_ms: i64) -> i64 {
    (ts - end_ms).div_euclid(step_ms) + 1
}

/// The exogenous inputs of `seen[i]`, aligned to the end of its history (else to `fallback_end`,
/// the end of the step now completing: a workload without history yet), with its predictors'
/// forecasts when `live`; `None` when it has neither predictors nor events.
pub fn exog_for(
    seen: &[Seen<'_>],
    i: usize,
    calendar: &Calendar,
    stored: &Stored,
    live: bool,
    fallback_end: i64,
) -> Option<Exog> {
    let own = &seen[i];
    let step = own.step_ms.max(1);
    let end = own.end_ms.unwrap_or(fallback_end);
    let predictors: Vec<Predictor> = (0..own.drivers.predictors.len())
        .map(|p| {
            let (values, p_end, ahead, season): (&[f64], i64, &[f64], Option<usize>) =
                match source(seen, i, p) {
                    Source::Controller(s) => {
                        let p_end = s.end_ms.unwrap_or(end);
                        let ahead = match s.forecast.filter(|_| live) {
                            // its path starts after the step it was made from: skip the steps
                            // since then
                            Some((made, point)) => {
                                let skip = usize::try_from((p_end - made) / step).unwrap_or(0);
                                point.get(skip..).unwrap_or(&[])
                            }
                            None => &[],
                        };
                        (s.history, p_end, ahead, s.season)
                    }
                    Source::Stored(key) => {
                        let k = (
                            key.workload.to_string(),
                            key.metric.to_string(),
                            own.step_ms,
                        );
                        match stored.get(&k) {
                            Some((v, e)) => (v.as_slice(), *e, &[], own.season),
                            None => (&[], end, &[], None),
                        }
                    }
                    Source::Missing => (&[], end, &[], None),
                };
            Predictor {
                values: values.to_vec(),
                end: (p_end - end).div_euclid(step),
                ahead: ahead.to_vec(),
                season,
            }
        })
        .collect();
    // events further from every row than the features tell apart are left out
    let earliest = -(i64::try_from(own.history.len()).unwrap_or(i64::MAX)) - EVENT_CAP;
    let latest = i64::try_from(own.horizon).unwrap_or(i64::MAX) + EVENT_CAP;
    let events: Vec<Event> = own
        .drivers
        .events
        .iter()
        .chain(calendar.of(own.workload))
        .filter_map(|e| {
            let start = offset(e.at.0, end, step);
            let stop = offset(e.end_ms(step) - 1, end, step).max(start);
            (stop >= earliest && start <= latest).then_some(Event {
                kind: e.kind,
                start,
                end: stop,
            })
        })
        .collect();
    if predictors.is_empty() && events.is_empty() {
        return None;
    }
    Some(Exog {
        predictors,
        events,
        anchor: Some(Anchor {
            end_ms: end,
            step_ms: step,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PredictorRef;
    use prescale_core::{MetricName, WorkloadId};
    use prescale_forecast::fleet::EventKind;

    const STEP: i64 = 60_000;

    fn seen<'a>(
        workload: &'a str,
        history: &'a [f64],
        end_ms: i64,
        forecast: Option<(i64, &'a [f64])>,
        drivers: &'a Drivers,
    ) -> Seen<'a> {
        Seen {
            workload,
            metric: "rps",
            step_ms: STEP,
            season: Some(10),
            horizon: 5,
            history,
            end_ms: Some(end_ms),
            forecast,
            drivers,
        }
    }

    fn predicted_by(w: &str, metric: Option<&str>) -> Drivers {
        Drivers {
            predictors: vec![PredictorRef {
                workload: WorkloadId::new(w).unwrap(),
                metric: metric.map(|m| MetricName::new(m).unwrap()),
            }],
            events: Vec::new(),
        }
    }

    #[test]
    fn a_controlled_predictor_is_aligned_with_its_forecast_when_live() {
        let none = Drivers::default();
        let down = predicted_by("up", None);
        let up_history = [1.0, 2.0, 3.0];
        let path = [10.0, 11.0, 12.0];
        let all = [
            // the predictor's last step ends one step before the downstream's; its forecast was
            // made a step before that
            seen("up", &up_history, 9 * STEP, Some((8 * STEP, &path)), &none),
            seen("down", &[5.0; 4], 10 * STEP, None, &down),
        ];
        let cal = Calendar::default();
        let live = exog_for(&all, 1, &cal, &Stored::new(), true, 0).unwrap();
        let p = &live.predictors[0];
        assert_eq!((p.values.as_slice(), p.end), (&up_history[..], -1));
        assert_eq!(
            p.ahead,
            vec![11.0, 12.0],
            "from the step after its last value"
        );
        assert_eq!(live.anchor.unwrap().end_ms, 10 * STEP);
        let training = exog_for(&all, 1, &cal, &Stored::new(), false, 0).unwrap();
        assert!(training.predictors[0].ahead.is_empty());
        assert!(
            exog_for(&all, 0, &cal, &Stored::new(), true, 0).is_none(),
            "no inputs"
        );
    }

    #[test]
    fn an_uncontrolled_predictor_is_read_from_its_stored_series() {
        let down = predicted_by("db", Some("qps"));
        let all = [seen("down", &[5.0; 4], 10 * STEP, None, &down)];
        let wanted = stored_wanted(&all, 0);
        assert_eq!(wanted.len(), 1);
        assert_eq!(wanted[0].0.to_string(), "db/qps");
        let key = &wanted[0].0;
        let window: Vec<Sample> = [
            (0, 1.0),
            (30_000, 3.0),
            (2 * STEP, 7.0),
            (3 * STEP + 5, 9.0),
        ]
        .into_iter()
        .map(|(t, v)| Sample {
            ts: Timestamp(7 * STEP + t),
            value: v,
        })
        .collect();
        // the step of 10 * STEP is not complete at 10 * STEP + 1: left out; the empty step
        // (8 * STEP) carries the one before
        let (steps, end) = stored_steps(key, &window, STEP, Timestamp(10 * STEP + 1)).unwrap();
        assert_eq!((steps.as_slice(), end), (&[2.0, 2.0, 7.0][..], 10 * STEP));
        let stored: Stored = [(("db".into(), "qps".into(), STEP), (steps, end))].into();
        let ex = exog_for(&all, 0, &Calendar::default(), &stored, true, 0).unwrap();
        assert_eq!(ex.predictors[0].end, 0);
        assert_eq!(ex.predictors[0].season, Some(10));
        // not stored: a missing predictor, kept in its slot
        let ex = exog_for(&all, 0, &Calendar::default(), &Stored::new(), true, 0).unwrap();
        assert!(ex.predictors[0].values.is_empty());
    }

    #[test]
    fn annotated_and_configured_events_become_offsets_from_the_history_end() {
        let mut own = Drivers::default();
        own.events.push(PlannedEvent {
            kind: EventKind::Release,
            at: Timestamp(8 * STEP + 1),
            until: None,
        });
        let row = |w: Option<&str>, at: i64, tags: &[&str]| AnnotationRow {
            at: Timestamp(at),
            workload: w.map(|w| WorkloadId::new(w).unwrap()),
            text: "x".into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        };
        let rows = [
            row(None, 12 * STEP, &["campaign", "for=3m"]),
            row(Some("other"), 11 * STEP, &["holiday"]),
            row(Some("down"), 11 * STEP, &["deploy"]),
        ];
        let cal = Calendar::from_annotations(&rows);
        assert!(!cal.is_empty());
        let all = [seen("down", &[5.0; 4], 10 * STEP, None, &own)];
        let ex = exog_for(&all, 0, &cal, &Stored::new(), true, 0).unwrap();
        let got: Vec<(EventKind, i64, i64)> =
            ex.events.iter().map(|e| (e.kind, e.start, e.end)).collect();
        // the history's last step is [9, 10) minutes: offset 0; a release at 8 min is offset -1;
        // the campaign from 12 to 15 minutes covers offsets 3..=5; the holiday is another's
        assert_eq!(
            got,
            vec![(EventKind::Release, -1, -1), (EventKind::Campaign, 3, 5)]
        );
        // far-away events are left out
        let far = [row(
            None,
            10 * STEP + (EVENT_CAP + 100) * STEP,
            &["campaign"],
        )];
        let none = Drivers::default();
        let all = [seen("down", &[5.0; 4], 10 * STEP, None, &none)];
        assert!(exog_for(
            &all,
            0,
            &Calendar::from_annotations(&far),
            &Stored::new(),
            true,
            0
        )
        .is_none());
    }
}
