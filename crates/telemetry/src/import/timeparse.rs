//! Timestamp parsing: ISO-8601 (hand-written, days-from-civil) and Unix seconds/milliseconds.

use super::options::TimeKind;
use prescale_core::Timestamp;

/// Numeric timestamps at or above this magnitude are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
const MILLIS_THRESHOLD: f64 = 1e11;
/// Largest |ms| accepted (about ±273,000 years), far from i64 overflow.
const MAX_ABS_MILLIS: f64 = 8.64e15;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

/// A cursor over the ASCII bytes of a timestamp.
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<u32> {
        let end = self.i.checked_add(n)?;
        let chunk = self.b.get(self.i..end)?;
        let mut v = 0u32;
        for &c in chunk {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(c - b'0');
        }
        self.i = end;
        Some(v)
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i >= self.b.len()
    }
}

/// Formats a timestamp as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub fn format_iso8601(ts: Timestamp) -> String {
    let secs = ts.secs();
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

/// Parses an ISO-8601 date or date-time (see [`parse_iso8601`]) into a timestamp; `None` if it is not one.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    parse_iso8601(text).ok().map(Timestamp)
}

/// Parses `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|±HH[:MM]]` to Unix milliseconds (no offset = UTC).
pub(crate) fn parse_iso8601(text: &str) -> Result<i64, &'static str> {
    const FORMAT: &str = "is not an ISO-8601 date or date-time";
    let mut c = Cursor {
        b: text.as_bytes(),
        i: 0,
    };
    let year = c.digits(4).ok_or(FORMAT)?;
    if !c.eat(b'-') {
        return Err(FORMAT);
    }
    let month = c.digits(2).ok_or(FORMAT)?;
    if !c.eat(b'-') {
        return Err(FORMAT);
    }
    let day = c.digits(2).ok_or(FORMAT)?;
    let year = i64::from(year);
    if !(1..=12).contains(&month) {
        return Err("has a month outside 1..12");
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err("has a day outside its month");
    }
    let mut secs_of_day = 0i64;
    let mut millis = 0i64;
    let mut offset_secs = 0i64;
    if !c.done() {
        if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
            return Err(FORMAT);
        }
        let hour = c.digits(2).ok_or(FORMAT)?;
        if !c.eat(b':') {
            return Err(FORMAT);
        }
        let minute = c.digits(2).ok_or(FORMAT)?;
        let mut second = 0;
        if c.eat(b':') {
            second = c.digits(2).ok_or(FORMAT)?;
            if c.eat(b'.') || c.eat(b',') {
                let mut n = 0;
                while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                    if n < 3 {
                        millis = millis * 10 + i64::from(d - b'0');
                    }
                    n += 1;
                    c.i += 1;
                }
                if n == 0 {
                    return Err(FORMAT);
                }
                for _ in n..3 {
                    millis *= 10;
                }
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err("has a time of day out of range");
        }
        secs_of_day = i64::from(hour * 3600 + minute * 60 + second);
        if c.eat(b'Z') || c.eat(b'z') {
        } else if let Some(sign) = c.peek().filter(|s| *s == b'+' || *s == b'-') {
            c.i += 1;
            let oh = c.digits(2).ok_or(FORMAT)?;
            let om = if c.done() {
                0
            } else {
                c.eat(b':');
                c.digits(2).ok_or(FORMAT)?
            };
            if oh > 23 || om > 59 {
                return Err("has a UTC offset out of range");
            }
            let off = i64::from(oh * 3600 + om * 60);
            offset_secs = if sign == b'-' { -off } else { off };
        }
    }
    if !c.done() {
        return Err(FORMAT);
    }
    let secs = days_from_civil(year, month, day) * 86_400 + secs_of_day - offset_secs;
    Ok(secs * 1000 + millis)
}

/// Parses a Unix timestamp; `None` when `text` is not a number.
fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok()
}

/// Parses a file's timestamps; the first one fixes the kind (ISO vs numeric, seconds vs ms by magnitude).
#[derive(Debug, Default)]
pub(crate) struct TimeParser {
    kind: Option<TimeKind>,
}

impl TimeParser {
    pub(crate) fn kind(&self) -> Option<TimeKind> {
        self.kind
    }

    /// Unix milliseconds of `text`, or the reason it cannot be one.
    pub(crate) fn parse(&mut self, text: &str) -> Result<i64, String> {
        if text.is_empty() {
            return Err("empty timestamp".to_string());
        }
        match (parse_number(text), self.kind) {
            (Some(_), Some(TimeKind::Iso8601))
            | (None, Some(TimeKind::UnixSeconds | TimeKind::UnixMillis)) => Err(format!(
                "timestamp {text:?} does not match the earlier ones ({})",
                describe(self.kind)
            )),
            (Some(v), kind) => {
                if !v.is_finite() {
                    return Err(format!("timestamp {text:?} is not finite"));
                }
                let kind = kind.unwrap_or(if v.abs() >= MILLIS_THRESHOLD {
                    TimeKind::UnixMillis
                } else {
                    TimeKind::UnixSeconds
                });
                let ms = if kind == TimeKind::UnixMillis {
                    v
                } else {
                    v * 1000.0
                };
                if ms.abs() > MAX_ABS_MILLIS {
                    return Err(format!("timestamp {text:?} is out of range"));
                }
                self.kind = Some(kind);
                Ok(ms.round() as i64)
            }
            (None, _) => {
                let ms = parse_iso8601(text).map_err(|why| format!("timestamp {text:?} {why}"))?;
                self.kind = Some(TimeKind::Iso8601);
                Ok(ms)
            }
        }
    }
}

fn describe(kind: Option<TimeKind>) -> &'static str {
    match kind {
        Some(TimeKind::Iso8601) => "ISO-8601",
        Some(TimeKind::UnixSeconds) => "Unix seconds",
        Some(TimeKind::UnixMillis) => "Unix milliseconds",
        Some(TimeKind::RowIndex) | None => "none",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_answers_and_round_trips() {
        assert_eq!(format_iso8601(Timestamp(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_iso8601(Timestamp::from_secs(1_767_571_200)),
            "2026-01-05T00:00:00Z"
        );
        assert_eq!(
            format_iso8601(Timestamp::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        let t = Timestamp::from_secs(-1_234_567_890);
        assert_eq!(parse_timestamp(&format_iso8601(t)), Some(t));
    }

    #[test]
    fn civil_days_known_answers() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2014, 2, 14), 16_115);
        assert_eq!(days_from_civil(0, 1, 1), -719_528);
    }

    #[test]
    fn iso_known_answers() {
        // 2014-02-14 14:30:00 UTC = 1392388200 s.
        assert_eq!(parse_iso8601("2014-02-14 14:30:00"), Ok(1_392_388_200_000));
        assert_eq!(parse_iso8601("2014-02-14T14:30:00Z"), Ok(1_392_388_200_000));
        assert_eq!(parse_iso8601("2014-02-14T14:30"), Ok(1_392_388_200_000));
        // 1995-07-01T00:00:00-04:00 = 1995-07-01T04:00:00Z = 804571200 s.
        assert_eq!(
            parse_iso8601("1995-07-01T00:00:00-04:00"),
            Ok(804_571_200_000)
        );
        assert_eq!(
            parse_iso8601("1995-07-01T05:30:00+0530"),
            Ok(804_556_800_000)
        );
        assert_eq!(parse_iso8601("2008-01-30"), Ok(1_201_651_200_000));
        assert_eq!(parse_iso8601("1970-01-01T00:00:00.5Z"), Ok(500));
        assert_eq!(parse_iso8601("1970-01-01T00:00:01.123456"), Ok(1_123));
        assert_eq!(parse_iso8601("2016-02-29"), Ok(1_456_704_000_000));
    }

    #[test]
    fn iso_rejects_bad_dates() {
        for bad in [
            "2015-02-29",
            "2014-13-01",
            "2014-00-10",
            "2014-02-14 25:00:00",
            "2014-02-14 14:60",
            "2014-02-14X14:30",
            "2014-2-14",
            "2014-02-14 14:30:00 junk",
            "2014-02-14T14:30:00.",
            "2014-02-14T14:30:00+25:00",
            "",
        ] {
            assert!(parse_iso8601(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn unix_seconds_vs_millis_by_magnitude() {
        let mut p = TimeParser::default();
        assert_eq!(p.parse("1372629804"), Ok(1_372_629_804_000));
        assert_eq!(p.kind(), Some(TimeKind::UnixSeconds));
        assert_eq!(p.parse("1372629804.25"), Ok(1_372_629_804_250));
        assert!(p.parse("2014-02-14").is_err());
        let mut p = TimeParser::default();
        assert_eq!(p.parse("1372629804123"), Ok(1_372_629_804_123));
        assert_eq!(p.kind(), Some(TimeKind::UnixMillis));
        let mut p = TimeParser::default();
        assert!(p.parse("NaN").is_err());
        assert!(p.parse("1e300").is_err());
        assert_eq!(p.kind(), None);
        assert!(p.parse("").is_err());
    }
}
