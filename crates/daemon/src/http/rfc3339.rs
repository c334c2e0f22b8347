//! RFC 3339 text of Unix milliseconds (`2023-11-14T22:13:20.999Z`): the read API keeps its
//! millisecond fields and adds the same instant as text beside each (`at` → `at_rfc3339`).
//!
//! `prescale-kube` has a second-precision formatter for `metav1.Time` (private, through jiff);
//! the API keeps the milliseconds, so this is a small civil-calendar conversion of its own.

use serde_json::Value;

/// `ms` (Unix milliseconds) as RFC 3339 UTC with milliseconds; `None` outside the years
/// 0000..=9999, which RFC 3339 cannot write.
pub fn rfc3339(ms: i64) -> Option<String> {
    Rfc3339::new(ms).map(|t| t.to_string())
}

/// An instant RFC 3339 can write, written without an allocation of its own (`Display`, and
/// `Serialize` as a JSON string), for responses that carry many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rfc3339 {
    ymd: (i64, i64, i64),
    in_day: i64,
}

impl Rfc3339 {
    /// `None` outside the years 0000..=9999.
    pub fn new(ms: i64) -> Option<Rfc3339> {
        let (days, in_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
        let ymd = civil(days);
        (0..=9999)
            .contains(&ymd.0)
            .then_some(Rfc3339 { ymd, in_day })
    }
}

impl Rfc3339 {
    /// The 24 ASCII bytes of the text, digit by digit (`GET /api/v1/workloads` writes two per
    /// series; through `write!` they were a quarter of its CPU at 10k series).
    fn text(&self) -> [u8; 24] {
        let ((y, m, d), t) = (self.ymd, self.in_day);
        let (h, min, s, milli) = (t / 3_600_000, t / 60_000 % 60, t / 1000 % 60, t % 1000);
        let mut b = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, v: i64| {
            let mut v = v;
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, m);
        put(8, 2, d);
        put(11, 2, h);
        put(14, 2, min);
        put(17, 2, s);
        put(20, 3, milli);
        b
    }
}

impl std::fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.text();
        f.write_str(std::str::from_utf8(&text).map_err(|_| std::fmt::Error)?)
    }
}

impl serde::Serialize for Rfc3339 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = self.text();
        match std::str::from_utf8(&text) {
            Ok(t) => s.serialize_str(t),
            Err(e) => Err(serde::ser::Error::custom(e)),
        }
    }
}

/// [`rfc3339`] of an optional instant.
pub fn opt(ms: Option<i64>) -> Option<String> {
    ms.and_then(rfc3339)
}

/// Adds `<field>_rfc3339` beside each named integer field of the JSON object `v` (`null` when the
/// field is absent, not an integer, or out of range); anything not an object is left alone.
pub fn stamp(v: &mut Value, fields: &[&str]) {
    let Some(o) = v.as_object_mut() else {
        return;
    };
    for f in fields {
        let text = opt(o.get(*f).and_then(Value::as_i64));
        o.insert(
            format!("{f}_rfc3339"),
            text.map_or(Value::Null, Value::String),
        );
    }
}

/// Proleptic Gregorian (year, month, day) of a day count from 1970-01-01 (H. Hinnant's
/// `civil_from_days`, exact for every `i64` day count this module can be given).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        for (ms, text) in [
            (0, "1970-01-01T00:00:00.000Z"),
            (1_700_000_000_999, "2023-11-14T22:13:20.999Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (4_107_542_400_000, "2100-03-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"),
        ] {
            assert_eq!(rfc3339(ms).as_deref(), Some(text), "{ms}");
        }
        assert_eq!(rfc3339(253_402_300_800_000), None);
        assert_eq!(rfc3339(-62_167_219_200_001), None);
        assert_eq!(rfc3339(i64::MAX), None);
        assert_eq!(rfc3339(i64::MIN), None);
    }

    /// The digit-by-digit text equals the `write!` formatting it replaced, as text and as JSON,
    /// at instants spread over the whole range (every field's width and carry).
    #[test]
    fn text_equals_the_formatted_reference() {
        let reference = |t: &Rfc3339| {
            let ((y, m, d), t) = (t.ymd, t.in_day);
            let (h, min, s, milli) = (t / 3_600_000, t / 60_000 % 60, t / 1000 % 60, t % 1000);
            format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
        };
        let (lo, hi) = (-62_167_219_200_000i64, 253_402_300_799_999i64);
        let step = (hi - lo) / 100_003;
        let edges = [lo, hi, -1, 0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000];
        for ms in (0..=100_003).map(|i| lo + i * step).chain(edges) {
            let t = Rfc3339::new(ms).unwrap();
            assert_eq!(t.to_string(), reference(&t), "{ms}");
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", reference(&t)),
                "{ms}"
            );
        }
    }

    /// Every day of four centuries round-trips through the month lengths of the calendar.
    #[test]
    fn days_walk_the_calendar() {
        let leap = |y: i64| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        let (mut y, mut m, mut d) = (1900, 1, 1);
        let start = -25_567; // 1900-01-01
        for day in start..start + 146_097 {
            assert_eq!(civil(day), (y, m, d), "day {day}");
            let len = match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                (d, m) = (1, m + 1);
                if m > 12 {
                    (m, y) = (1, y + 1);
                }
            }
        }
    }

    #[test]
    fn fields_are_stamped_beside_their_millis() {
        let mut v = serde_json::json!({"at": 0, "gone": null, "text": "x"});
        stamp(&mut v, &["at", "gone", "missing"]);
        assert_eq!(v["at_rfc3339"], "1970-01-01T00:00:00.000Z");
        assert_eq!(v["gone_rfc3339"], Value::Null);
        assert_eq!(v["missing_rfc3339"], Value::Null);
        assert_eq!(v["at"], 0);
    }
}
