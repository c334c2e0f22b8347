//! Exogenous inputs of a fleet model's series and the one definition of the features they give a
//! feature row: predictor series (another workload's demand, with its own forecast when the caller
//! has one: the upstream service's load predicts the downstream one) and an event calendar
//! (`release`, `campaign`, `holiday`). Inputs are aligned to the series' last value; every feature
//! is scale-free (a predictor is seen through its own [`anchor`]) and missing (NaN) when absent.
//!
//! Leakage: at an origin `o` inside the series a predictor is read only before `o`; its steps from
//! `o` on are its seasonal-naive values from what was known at `o`. Its own forecast (`ahead`) is
//! read only from the series' end, where it was made. Events are a calendar known in advance.

use super::features::anchor;
use super::FleetError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Most predictor series one series' features describe (a series may bring fewer).
pub const MAX_PREDICTORS: usize = 2;
/// A predictor's change from the origin to `k` steps before the target, for each `k` here
/// (upstream leads by `k`).
const LEADS: [usize; 4] = [0, 1, 2, 3];
/// A predictor's change over the last `k` steps before the origin, for each `k` here: how far it
/// moved while the series, `k` steps behind it, has not yet.
const CHANGES: [usize; 3] = [1, 2, 3];
/// Features per predictor: its leads, its changes and its gap.
const PER_PREDICTOR: usize = LEADS.len() + CHANGES.len() + 1;
/// Fewest known predictor values at an origin for its features.
const MIN_KNOWN: usize = 2;
/// Largest steps until or since an event that a feature tells apart (events further away than
/// this from every row of a series need not be given).
pub const EVENT_CAP: i64 = 2016;

/// What an event on a series' calendar is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A new version rolled out.
    Release,
    /// A marketing campaign, a sale.
    Campaign,
    /// A public holiday.
    Holiday,
}

impl EventKind {
    /// Every kind, in feature order.
    pub const ALL: [EventKind; 3] = [EventKind::Release, EventKind::Campaign, EventKind::Holiday];

    /// The kind's name: `release`, `campaign` or `holiday`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Release => "release",
            EventKind::Campaign => "campaign",
            EventKind::Holiday => "holiday",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not an event kind.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not an event kind (release, campaign or holiday)")]
pub struct UnknownEventKind(pub String);

impl FromStr for EventKind {
    type Err = UnknownEventKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| UnknownEventKind(s.to_string()))
    }
}

/// One event on a series' calendar, in steps relative to the series' last value (0 is the last
/// value, 1 the first step ahead, negative steps are earlier): it covers steps `start..=end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub start: i64,
    pub end: i64,
}

/// A predictor series aligned to the series it predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predictor {
    /// Its observed values, oldest first.
    pub values: Vec<f64>,
    /// The step of its last value relative to the series' last value (0: the same step, -1: the
    /// predictor is one step behind).
    pub end: i64,
    /// Its own forecast for the steps after its last value, when the caller has one (else empty).
    pub ahead: Vec<f64>,
    /// Its seasonal period in steps: a step ahead without a forecast is its seasonal-naive value.
    pub season: Option<usize>,
}

/// The time the offsets of an [`Exog`] are relative to, so they can be moved to a later end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// End (Unix ms) of the series' step the offsets call 0.
    pub end_ms: i64,
    pub step_ms: i64,
}

/// Exogenous inputs of one series, aligned to its last value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exog {
    /// In slot order: the first gives the features `exog.0.*`.
    pub predictors: Vec<Predictor>,
    pub events: Vec<Event>,
    /// `None` when only positions matter (training, backtests).
    pub anchor: Option<Anchor>,
}

impl Exog {
    /// Neither predictors nor events.
    pub fn is_empty(&self) -> bool {
        self.predictors.is_empty() && self.events.is_empty()
    }

    /// The same inputs seen from the series when its last step ends at `end_ms`: a later end moves
    /// every offset back (a predictor falls behind until it is handed again). `None` without an
    /// anchor or when it already ends there.
    pub fn realigned(&self, end_ms: i64) -> Option<Exog> {
        let a = self.anchor?;
        if a.end_ms == end_ms || a.step_ms <= 0 {
            return None;
        }
        let shift = (end_ms - a.end_ms).div_euclid(a.step_ms);
        Some(Exog {
            predictors: self
                .predictors
                .iter()
                .map(|p| Predictor {
                    end: p.end - shift,
                    ..p.clone()
                })
                .collect(),
            events: self
                .events
                .iter()
                .map(|e| Event {
                    start: e.start - shift,
                    end: e.end - shift,
                    ..*e
                })
                .collect(),
            anchor: Some(Anchor {
                end_ms: a.end_ms + shift * a.step_ms,
                step_ms: a.step_ms,
            }),
        })
    }

    /// Refuses non-finite predictor values and events that end before they start.
    pub fn check(&self, series: &str) -> Result<(), FleetError> {
        for (slot, p) in self.predictors.iter().enumerate() {
            if let Some(index) = p.values.iter().chain(&p.ahead).position(|v| !v.is_finite()) {
                return Err(FleetError::NonFiniteExog {
                    series: series.to_string(),
                    slot,
                    index,
                });
            }
        }
        if let Some(e) = self.events.iter().find(|e| e.end < e.start) {
            return Err(FleetError::EventOrder {
                series: series.to_string(),
                start: e.start,
                end: e.end,
            });
        }
        Ok(())
    }
}

/// Which exogenous features a fleet model's rows carry (none for a model trained without any, so
/// its rows are exactly those of a model that never heard of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExogLayout {
    /// Predictor slots (at most [`MAX_PREDICTORS`]).
    pub predictors: usize,
    /// Whether the event features are there.
    pub events: bool,
}

impl ExogLayout {
    /// The layout covering every series' inputs.
    pub fn of<'a>(inputs: impl IntoIterator<Item = &'a Exog>) -> ExogLayout {
        inputs
            .into_iter()
            .fold(ExogLayout::default(), |l, e| ExogLayout {
                predictors: l.predictors.max(e.predictors.len().min(MAX_PREDICTORS)),
                events: l.events || !e.events.is_empty(),
            })
    }

    /// No exogenous feature.
    pub fn is_empty(&self) -> bool {
        self.predictors == 0 && !self.events
    }

    /// Names of the features in row order.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::with_capacity(self.len());
        for p in 0..self.predictors {
            names.extend(LEADS.iter().map(|k| format!("exog.{p}.lead.{k}")));
            names.extend(CHANGES.iter().map(|k| format!("exog.{p}.change.{k}")));
            names.push(format!("exog.{p}.gap"));
        }
        if self.events {
            for kind in EventKind::ALL {
                for f in ["active", "active_now", "until", "since"] {
                    names.push(format!("event.{kind}.{f}"));
                }
            }
        }
        names
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.predictors * PER_PREDICTOR
            + if self.events {
                4 * EventKind::ALL.len()
            } else {
                0
            }
    }
}

/// One predictor as seen from an origin.
struct PredictorAt<'a> {
    p: &'a Predictor,
    /// The series index of the predictor's value `q` is `q + shift`.
    shift: i64,
    /// Its values known at the origin: `values[..known]`.
    known: usize,
    /// The origin is the series' end, where `ahead` was made.
    at_end: bool,
    scale: f64,
}

impl PredictorAt<'_> {
    /// The predictor at series index `i` as known at the origin: observed, else its forecast
    /// (from the series' end only), else extrapolated from what is known (see [`Self::guess`]);
    /// missing before its first value.
    fn value(&self, i: i64) -> f64 {
        let values = &self.p.values;
        let Ok(q) = usize::try_from(i - self.shift) else {
            return f64::NAN;
        };
        if q < self.known {
            return values[q];
        }
        if self.at_end {
            if let Some(v) = q
                .checked_sub(values.len())
                .and_then(|k| self.p.ahead.get(k))
            {
                return *v;
            }
        }
        self.guess(q)
    }

    /// The predictor's value `q` (at or after `known`) from its known values: its last value moved
    /// by its seasonal pattern (the same phase a season back, plus the level change since a season
    /// before the last value), or its last value without a season.
    fn guess(&self, q: usize) -> f64 {
        let values = &self.p.values[..self.known];
        let last = self.known - 1;
        let Some(m) = self.p.season.filter(|&m| m > 0 && m <= last) else {
            return values[last];
        };
        let phase = q - ((q - last - 1) / m + 1) * m;
        values[phase] + (values[last] - values[last - m])
    }
}

/// What the exogenous features need of a series at one origin, computed once for all horizons.
pub struct ExogOrigin<'a> {
    layout: ExogLayout,
    predictors: Vec<Option<PredictorAt<'a>>>,
    events: &'a [Event],
    /// Series index of the series' last value (offset 0 of the events).
    last: i64,
    o: i64,
}

impl<'a> ExogOrigin<'a> {
    /// The state at origin `o` of a series of `n` values (inputs aligned to its end).
    pub fn new(layout: ExogLayout, exog: Option<&'a Exog>, n: usize, o: usize) -> ExogOrigin<'a> {
        let (n, o_i) = (n as i64, o as i64);
        let predictors = (0..layout.predictors)
            .map(|slot| {
                let p = exog?.predictors.get(slot)?;
                let len = p.values.len();
                let shift = n + p.end - len as i64;
                let at_end = o_i >= n;
                let known = if at_end {
                    len
                } else {
                    usize::try_from(o_i - shift).unwrap_or(0).min(len)
                };
                if known < MIN_KNOWN {
                    return None;
                }
                let (_, scale) = anchor(&p.values, known)?;
                Some(PredictorAt {
                    p,
                    shift,
                    known,
                    at_end,
                    scale,
                })
            })
            .collect();
        ExogOrigin {
            layout,
            predictors,
            events: exog.map_or(&[], |e| &e.events),
            last: n - 1,
            o: o_i,
        }
    }

    /// Appends the features of step `j` (0-based: the target is the series' index `o + j`).
    pub fn extend(&self, j: usize, row: &mut Vec<f64>) {
        let t = self.o + j as i64;
        for p in &self.predictors {
            match p {
                Some(p) => {
                    let now = self.o - 1;
                    let change = |to: i64, from: i64| {
                        let z = (p.value(to) - p.value(from)) / p.scale;
                        if z.is_finite() {
                            z
                        } else {
                            f64::NAN
                        }
                    };
                    for k in LEADS.map(|k| k as i64) {
                        row.push(change(t - k, now - k));
                    }
                    for k in CHANGES.map(|k| k as i64) {
                        row.push(change(now, now - k));
                    }
                    row.push((t - (p.known as i64 - 1 + p.shift)) as f64);
                }
                None => row.extend([f64::NAN; PER_PREDICTOR]),
            }
        }
        if self.layout.events {
            let (at, now) = (t - self.last, self.o - 1 - self.last);
            for kind in EventKind::ALL {
                let of_kind = || self.events.iter().filter(move |e| e.kind == kind);
                let active = |r: i64| of_kind().any(|e| e.start <= r && r <= e.end);
                let until = of_kind()
                    .filter(|e| e.start > at)
                    .map(|e| e.start - at)
                    .min();
                let since = of_kind()
                    .filter(|e| e.start <= at)
                    .map(|e| at - e.start)
                    .min();
                let capped = |d: Option<i64>| d.map_or(f64::NAN, |d| d.min(EVENT_CAP) as f64);
                row.push(f64::from(u8::from(active(at))));
                row.push(f64::from(u8::from(active(now))));
                row.push(capped(until));
                row.push(capped(since));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn predictor(values: Vec<f64>, end: i64, ahead: Vec<f64>, season: Option<usize>) -> Exog {
        Exog {
            predictors: vec![Predictor {
                values,
                end,
                ahead,
                season,
            }],
            events: Vec::new(),
            anchor: None,
        }
    }

    fn row(layout: ExogLayout, exog: Option<&Exog>, n: usize, o: usize, j: usize) -> Vec<f64> {
        let mut r = Vec::new();
        ExogOrigin::new(layout, exog, n, o).extend(j, &mut r);
        assert_eq!(r.len(), layout.len());
        assert_eq!(layout.names().len(), layout.len());
        r
    }

    #[test]
    fn kinds_parse_and_unknown_ones_are_refused() {
        assert_eq!("campaign".parse::<EventKind>(), Ok(EventKind::Campaign));
        assert_eq!(" holiday ".parse::<EventKind>(), Ok(EventKind::Holiday));
        let e = "sale".parse::<EventKind>().unwrap_err();
        assert!(
            e.to_string().contains("release, campaign or holiday"),
            "{e}"
        );
        assert_eq!(EventKind::Release.to_string(), "release");
    }

    #[test]
    fn a_predictor_is_read_before_the_origin_then_seasonally_or_from_its_forecast() {
        // the predictor is the index itself, season 10; the series has 100 values
        let values: Vec<f64> = (0..100).map(f64::from).collect();
        let ex = predictor(values.clone(), 0, vec![500.0, 501.0], Some(10));
        let layout = ExogLayout {
            predictors: 1,
            events: false,
        };
        let scale = anchor(&values, 50).unwrap().1;
        // origin 50, target index 52
        let r = row(layout, Some(&ex), 100, 50, 2);
        // lead.3: index 49 (known) minus index 46
        assert!((r[3] - 3.0 / scale).abs() < 1e-9, "{r:?}");
        // lead.0: index 52 is unknown at 50: index 42 moved by the level change since index 39
        // (52, a trend carried on), minus index 49
        assert!((r[0] - 3.0 / scale).abs() < 1e-9, "{r:?}");
        // change.2: index 49 minus index 47
        assert!((r[5] - 2.0 / scale).abs() < 1e-9, "{r:?}");
        // gap: the target is 3 steps past the last known value (49)
        assert_eq!(r[7], 3.0);
        // at the end the forecast serves the first steps ahead
        let scale = anchor(&values, 100).unwrap().1;
        let r = row(layout, Some(&ex), 100, 100, 1);
        assert!((r[0] - (501.0 - 99.0) / scale).abs() < 1e-9, "{r:?}");
        // past its forecast: seasonal, level-corrected (index 92 + 99 - 89 for index 102)
        let r = row(layout, Some(&ex), 100, 100, 2);
        assert!((r[0] - (102.0 - 99.0) / scale).abs() < 1e-9, "{r:?}");
        // no season and no forecast: its last known value
        let bare = predictor(values, 0, Vec::new(), None);
        assert_eq!(row(layout, Some(&bare), 100, 50, 2)[0], 0.0);
        // no predictor: every feature missing
        assert!(row(layout, None, 100, 50, 0).iter().all(|v| v.is_nan()));
    }

    #[test]
    fn a_predictor_behind_the_series_is_shifted() {
        // its last value (index 59 of its own) sits one step before the series' last (index 99)
        let values: Vec<f64> = (0..60).map(|q| f64::from(q) * 2.0).collect();
        let ex = predictor(values, -1, vec![1000.0], None);
        let layout = ExogLayout {
            predictors: 1,
            events: false,
        };
        let r = row(layout, Some(&ex), 100, 100, 0);
        // target 100: 2 steps past its last value, past its one-step forecast: its last value (118);
        // lead.1 reads index 99 = its forecast's first step
        assert!((r[0] - (118.0 - 1000.0) / 2.0).abs() < 1e-9, "{r:?}");
        assert!(r[1].is_finite() && r[1] > 100.0, "{r:?}");
        assert_eq!(r[7], 2.0);
    }

    #[test]
    fn events_are_active_until_and_since_by_kind() {
        let ex = Exog {
            predictors: Vec::new(),
            events: vec![
                Event {
                    kind: EventKind::Campaign,
                    start: 3,
                    end: 5,
                },
                Event {
                    kind: EventKind::Release,
                    start: -10,
                    end: -10,
                },
            ],
            anchor: None,
        };
        let layout = ExogLayout {
            predictors: 0,
            events: true,
        };
        let names = layout.names();
        let at = |n: &str| names.iter().position(|x| x == n).unwrap();
        // series of 50: index 49 is offset 0; origin 50, step j = 3 is index 53 = offset 4
        let r = row(layout, Some(&ex), 50, 50, 3);
        assert_eq!(r[at("event.campaign.active")], 1.0);
        assert_eq!(r[at("event.campaign.active_now")], 0.0);
        assert_eq!(r[at("event.campaign.since")], 1.0);
        assert!(r[at("event.campaign.until")].is_nan());
        assert_eq!(r[at("event.release.since")], 14.0);
        assert_eq!(r[at("event.release.active")], 0.0);
        assert!(r[at("event.holiday.since")].is_nan());
        // from an earlier origin the campaign is ahead
        let r = row(layout, Some(&ex), 50, 40, 0);
        assert_eq!(r[at("event.campaign.until")], 12.0);
        assert_eq!(r[at("event.campaign.active")], 0.0);
        // no calendar: nothing active, nothing known
        let r = row(layout, None, 50, 40, 0);
        assert_eq!(r[at("event.campaign.active")], 0.0);
        assert!(r[at("event.campaign.until")].is_nan());
    }

    #[test]
    fn realigning_moves_offsets_to_a_later_end() {
        let mut ex = predictor(vec![1.0, 2.0], 0, Vec::new(), None);
        ex.events.push(Event {
            kind: EventKind::Holiday,
            start: 5,
            end: 6,
        });
        assert!(ex.realigned(1_000).is_none(), "no anchor");
        ex.anchor = Some(Anchor {
            end_ms: 60_000,
            step_ms: 60_000,
        });
        assert!(ex.realigned(60_000).is_none(), "already there");
        let later = ex.realigned(180_000).unwrap();
        assert_eq!(later.predictors[0].end, -2);
        assert_eq!((later.events[0].start, later.events[0].end), (3, 4));
        assert_eq!(later.anchor.unwrap().end_ms, 180_000);
    }

    #[test]
    fn layouts_cover_every_series_and_cap_the_slots() {
        let many = Exog {
            predictors: vec![
                Predictor {
                    values: vec![1.0],
                    end: 0,
                    ahead: Vec::new(),
                    season: None
                };
                MAX_PREDICTORS + 2
            ],
            events: Vec::new(),
            anchor: None,
        };
        let l = ExogLayout::of([&Exog::default(), &many]);
        assert_eq!(
            l,
            ExogLayout {
                predictors: MAX_PREDICTORS,
                events: false
            }
        );
        assert!(ExogLayout::of([&Exog::default()]).is_empty());
        assert!(ExogLayout::of([]).names().is_empty());
    }
}
