//! The one definition of a fleet model's feature row: a series' recent shape at a forecast origin,
//! its seasonal past at the target time, the target's calendar position and the series' context
//! vector (fingerprint, cluster). Values are relative to the last observation and divided by the
//! series' recent scale, so one model serves series of any level and unit.

use prescale_math::{mean, mean_abs_diff, std_dev};

/// Lags (steps before the origin) read as features.
const LAGS: [usize; 11] = [2, 3, 4, 6, 8, 12, 24, 48, 96, 144, 288];
/// Windows of the rolling means.
const MEANS: [usize; 4] = [6, 12, 48, 288];
/// Windows of the rolling deviations.
const DEVS: [usize; 2] = [12, 48];
/// Points the scale is measured over.
const SCALE_WINDOW: usize = 672;
/// Fewest points before an origin that a feature row needs.
pub const MIN_ORIGIN: usize = 8;

/// Calendar position of a series: the time of its first point and its step, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub first: i64,
    pub step: i64,
}

impl Timing {
    /// The timing of the series that starts `offset` points later.
    pub fn shifted(self, offset: usize) -> Timing {
        Timing {
            first: self.first + self.step * offset as i64,
            step: self.step,
        }
    }
}

/// Names of the features in row order, without the context vector (which follows as `context.K`).
pub fn base_feature_names() -> Vec<String> {
    let mut names = vec!["horizon".to_string()];
    names.extend(LAGS.iter().map(|k| format!("lag.{k}")));
    names.extend(MEANS.iter().map(|w| format!("mean.{w}")));
    names.extend(DEVS.iter().map(|w| format!("std.{w}")));
    for n in [
        "max.48",
        "min.48",
        "log_cv.288",
        "slope.48",
        "season.1",
        "season.2",
        "season.7",
        "season.mean3",
        "season.origin_diff",
        "season.level_diff",
        "time_of_day.sin",
        "time_of_day.cos",
        "day_of_week",
    ] {
        names.push(n.to_string());
    }
    names
}

/// Number of base features (without the context vector).
pub fn base_features() -> usize {
    1 + LAGS.len() + MEANS.len() + DEVS.len() + 13
}

/// The normalization of every fleet model at origin `o` (`y[..o]` known, `o >= 1`): the last value
/// and the recent mean absolute step (or mean level, or 1, for a flat series); a value `v` is seen
/// as `(v - last) / scale`.
pub fn anchor(y: &[f64], o: usize) -> Option<(f64, f64)> {
    let last = *y.get(o.checked_sub(1)?)?;
    let recent = &y[o.saturating_sub(SCALE_WINDOW)..o];
    let scale = mean_abs_diff(recent)
        .filter(|s| *s > 1e-12)
        .or_else(|| mean(&recent.iter().map(|v| v.abs()).collect::<Vec<_>>()))
        .filter(|s| *s > 1e-12)
        .unwrap_or(1.0);
    Some((last, scale))
}

/// What a row needs of the series at one origin, computed once for all its horizons.
pub struct Origin<'a> {
    y: &'a [f64],
    o: usize,
    last: f64,
    scale: f64,
    shared: Vec<f64>,
    season: Option<usize>,
    timing: Option<Timing>,
}

impl<'a> Origin<'a> {
    /// The state at origin `o` (`y[..o]` is known); `None` before `MIN_ORIGIN` points.
    pub fn new(
        y: &'a [f64],
        o: usize,
        season: Option<usize>,
        timing: Option<Timing>,
    ) -> Option<Origin<'a>> {
        if o < MIN_ORIGIN || o > y.len() {
            return None;
        }
        let (last, scale) = anchor(y, o)?;
        let rel = |v: f64| (v - last) / scale;
        let tail = |w: usize| &y[o.saturating_sub(w)..o];
        let mut shared = Vec::with_capacity(base_features());
        for k in LAGS {
            shared.push(o.checked_sub(k).map_or(f64::NAN, |i| rel(y[i])));
        }
        for w in MEANS {
            shared.push(mean(tail(w)).map_or(f64::NAN, rel));
        }
        for w in DEVS {
            shared.push(std_dev(tail(w)).map_or(f64::NAN, |d| d / scale));
        }
        let t48 = tail(48);
        shared.push(rel(t48.iter().copied().fold(f64::MIN, f64::max)));
        shared.push(rel(t48.iter().copied().fold(f64::MAX, f64::min)));
        let level = mean(tail(288)).unwrap_or(last).abs();
        shared.push(((scale + 1e-9) / (level + 1e-9)).ln());
        shared.push(prescale_math::least_squares_slope(t48).map_or(f64::NAN, |s| s / scale));
        Some(Origin {
            y,
            o,
            last,
            scale,
            shared,
            season,
            timing,
        })
    }

    /// The value a normalized target or prediction `z` stands for.
    pub fn denormalize(&self, z: f64) -> f64 {
        self.last + self.scale * z
    }

    /// The normalized target of `value`.
    pub fn normalize(&self, value: f64) -> f64 {
        (value - self.last) / self.scale
    }

    /// Writes the feature row for step `j` (0-based: the target is `y[o + j]`) into `row`.
    pub fn row(&self, j: usize, context: &[f64], row: &mut Vec<f64>) {
        row.clear();
        row.push((j + 1) as f64);
        row.extend_from_slice(&self.shared);
        let t = self.o + j;
        let (y, o) = (self.y, self.o);
        let rel = |v: f64| (v - self.last) / self.scale;
        // the same phase `k` seasons before the target, when it is already observed
        let back = |k: usize| {
            self.season
                .and_then(|m| t.checked_sub(k * m))
                .filter(|&i| i < o)
                .map(|i| y[i])
        };
        row.push(back(1).map_or(f64::NAN, rel));
        row.push(back(2).map_or(f64::NAN, rel));
        row.push(back(7).map_or(f64::NAN, rel));
        let phases: Vec<f64> = (1..=3).filter_map(back).collect();
        row.push(if phases.is_empty() {
            f64::NAN
        } else {
            rel(phases.iter().sum::<f64>() / phases.len() as f64)
        });
        let yesterday = |i: usize| self.season.and_then(|m| i.checked_sub(m)).map(|i| y[i]);
        row.push(yesterday(o - 1).map_or(f64::NAN, |v| (self.last - v) / self.scale));
        let level_diff = self.season.and_then(|m| {
            let now = mean(&y[o.saturating_sub(12)..o])?;
            let then = mean(&y[o.checked_sub(12 + m)?..o.checked_sub(m)?])?;
            Some((now - then) / self.scale)
        });
        row.push(level_diff.unwrap_or(f64::NAN));
        match self.timing {
            Some(tm) => {
                let secs = tm.first + tm.step * t as i64;
                let day = secs.rem_euclid(86_400) as f64 / 86_400.0;
                let angle = std::f64::consts::TAU * day;
                row.push(angle.sin());
                row.push(angle.cos());
                // 1970-01-01 was a Thursday: 0 = Monday
                row.push(((secs.div_euclid(86_400) + 3).rem_euclid(7)) as f64);
            }
            None => row.extend([f64::NAN; 3]),
        }
        row.extend_from_slice(context);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_row() {
        let y: Vec<f64> = (0..1000).map(|i| (i % 288) as f64).collect();
        let o = Origin::new(
            &y,
            800,
            Some(288),
            Some(Timing {
                first: 0,
                step: 300,
            }),
        )
        .unwrap();
        let mut row = Vec::new();
        o.row(3, &[1.0, 2.0], &mut row);
        assert_eq!(row.len(), base_features() + 2);
        assert_eq!(base_feature_names().len(), base_features());
        // the target y[803] = 803 % 288 = 227 equals its value one season back
        let season1 = base_feature_names()
            .iter()
            .position(|n| n == "season.1")
            .unwrap();
        assert!((o.denormalize(row[season1]) - y[803]).abs() < 1e-9);
        assert!((o.denormalize(o.normalize(42.0)) - 42.0).abs() < 1e-9);
        // day 0 (1970-01-01) is a Thursday
        let dow = base_feature_names()
            .iter()
            .position(|n| n == "day_of_week")
            .unwrap();
        let o0 = Origin::new(&y, 30, None, Some(Timing { first: 0, step: 1 })).unwrap();
        o0.row(0, &[], &mut row);
        assert_eq!(row[dow], 3.0);
        assert!(row[season1].is_nan(), "no season, no seasonal feature");
    }

    #[test]
    fn too_early_an_origin_has_no_row() {
        let y = vec![1.0; 100];
        assert!(Origin::new(&y, MIN_ORIGIN - 1, None, None).is_none());
        assert!(Origin::new(&y, 101, None, None).is_none());
        // a constant series gets a usable scale
        let o = Origin::new(&y, 50, None, None).unwrap();
        assert!(o.normalize(2.0).is_finite());
    }
}
