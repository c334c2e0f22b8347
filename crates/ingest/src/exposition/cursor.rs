//! Byte cursor over one exposition line: names, label sets, escaped strings and tokens.
//!
//! All delimiters are ASCII, so slicing the `&str` at the byte positions found here is always on a
//! character boundary. Strings are copied once, only when a label value or help text is kept.

use super::error::{excerpt, Problem};

/// Position within one line.
pub(crate) struct Cursor<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':'
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b':'
}

fn is_label_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_label_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_blank(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        Cursor {
            s,
            b: s.as_bytes(),
            pos: 0,
        }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    pub(crate) fn bump(&mut self) {
        self.pos += 1;
    }

    /// The unread rest of the line.
    pub(crate) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    /// Skips spaces and tabs; returns whether any were skipped.
    pub(crate) fn skip_blank(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn take_while(&mut self, first: fn(u8) -> bool, rest: fn(u8) -> bool) -> Option<&'a str> {
        let start = self.pos;
        if !self.peek().is_some_and(first) {
            return None;
        }
        self.pos += 1;
        while self.peek().is_some_and(rest) {
            self.pos += 1;
        }
        self.s.get(start..self.pos)
    }

    /// A metric name `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    pub(crate) fn metric_name(&mut self) -> Result<&'a str, Problem> {
        self.take_while(is_name_start, is_name_char)
            .ok_or_else(|| Problem::ExpectedMetricName {
                found: excerpt(self.rest()),
            })
    }

    /// A label name `[a-zA-Z_][a-zA-Z0-9_]*`.
    fn label_name(&mut self) -> Result<&'a str, Problem> {
        self.take_while(is_label_start, is_label_char)
            .ok_or_else(|| Problem::ExpectedLabelName {
                found: excerpt(self.rest()),
            })
    }

    /// A run of non-blank bytes (possibly empty).
    pub(crate) fn token(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|c| !is_blank(c)) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or("")
    }

    /// A quoted label value after the opening quote, unescaping `\\`, `\"` and `\n`.
    fn quoted_value(&mut self, label: &str, max_len: usize) -> Result<String, Problem> {
        let start = self.pos;
        // Fast path: no escapes, one copy.
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    let v = self.s.get(start..self.pos).unwrap_or("");
                    self.pos += 1;
                    check_len(label, v.len(), max_len)?;
                    return Ok(v.to_owned());
                }
                b'\\' => break,
                _ => self.pos += 1,
            }
        }
        if self.at_end() {
            return Err(Problem::UnterminatedLabelValue);
        }
        let mut out = String::with_capacity(self.pos - start + 16);
        out.push_str(self.s.get(start..self.pos).unwrap_or(""));
        let mut run = self.pos;
        while let Some(c) = self.peek() {
            match c {
                b'"' => {
                    out.push_str(self.s.get(run..self.pos).unwrap_or(""));
                    self.pos += 1;
                    check_len(label, out.len(), max_len)?;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(self.s.get(run..self.pos).unwrap_or(""));
                    self.pos += 1;
                    match self.peek() {
                        Some(b'\\') => out.push('\\'),
                        Some(b'"') => out.push('"'),
                        Some(b'n') => out.push('\n'),
                        Some(_) => {
                            let ch = self.rest().chars().next().unwrap_or('?');
                            return Err(Problem::InvalidEscape(ch));
                        }
                        None => return Err(Problem::UnterminatedLabelValue),
                    }
                    self.pos += 1;
                    run = self.pos;
                }
                _ => self.pos += 1,
            }
        }
        Err(Problem::UnterminatedLabelValue)
    }

    /// A label set after the opening `{`, through the closing `}`; pushes `(name, value)` pairs
    /// in input order. Blanks around names, `=` and `,` are tolerated; a trailing comma is allowed.
    pub(crate) fn labels(
        &mut self,
        out: &mut Vec<(String, String)>,
        max_labels: usize,
        max_value_len: usize,
    ) -> Result<(), Problem> {
        loop {
            self.skip_blank();
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(());
            }
            let name = self.label_name()?;
            if name == "__name__" {
                return Err(Problem::ReservedLabel(name.to_owned()));
            }
            self.skip_blank();
            if self.peek() != Some(b'=') {
                return Err(Problem::ExpectedEquals {
                    label: name.to_owned(),
                });
            }
            self.pos += 1;
            self.skip_blank();
            if self.peek() != Some(b'"') {
                return Err(Problem::ExpectedQuote {
                    label: name.to_owned(),
                });
            }
            self.pos += 1;
            let value = self.quoted_value(name, max_value_len)?;
            if out.len() >= max_labels {
                return Err(Problem::TooManyLabels { limit: max_labels });
            }
            out.push((name.to_owned(), value));
            self.skip_blank();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) => {
                    return Err(Problem::ExpectedCommaOrBrace {
                        found: excerpt(self.rest()),
                    })
                }
                None => return Err(Problem::UnterminatedLabelSet),
            }
        }
    }
}

fn check_len(label: &str, len: usize, max_len: usize) -> Result<(), Problem> {
    if len > max_len {
        return Err(Problem::LabelValueTooLong {
            label: excerpt(label),
            len,
            limit: max_len,
        });
    }
    Ok(())
}

/// Unescapes HELP text: `\\` and `\n` (both formats) and `\"` (OpenMetrics); any other backslash is
/// kept as written, since help text is informational.
pub(crate) fn unescape_help(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(s: &str) -> Result<Vec<(String, String)>, Problem> {
        let mut c = Cursor::new(s);
        let mut out = Vec::new();
        c.labels(&mut out, 8, 64)?;
        Ok(out)
    }

    #[test]
    fn label_sets() {
        assert_eq!(
            labels(r#"a="1",b="x y"}"#).unwrap(),
            vec![("a".into(), "1".into()), ("b".into(), "x y".into())]
        );
        assert_eq!(labels(r#" a = "1" , }"#).unwrap().len(), 1);
        assert_eq!(labels("}").unwrap(), vec![]);
        assert_eq!(
            labels(r#"p="C:\\dir\"q\"\n"}"#).unwrap()[0].1,
            "C:\\dir\"q\"\n"
        );
        assert_eq!(labels(r#"a="1"#), Err(Problem::UnterminatedLabelValue));
        assert_eq!(labels(r#"a="1\"#), Err(Problem::UnterminatedLabelValue));
        assert_eq!(labels(r#"a="\t"}"#), Err(Problem::InvalidEscape('t')));
        assert!(matches!(
            labels(r#"1a="1"}"#),
            Err(Problem::ExpectedLabelName { .. })
        ));
        assert!(matches!(
            labels(r#"a:b="1"}"#),
            Err(Problem::ExpectedEquals { .. })
        ));
        assert!(matches!(
            labels(r#"a=1}"#),
            Err(Problem::ExpectedQuote { .. })
        ));
        assert!(matches!(
            labels(r#"a="1" b="2"}"#),
            Err(Problem::ExpectedCommaOrBrace { .. })
        ));
        assert_eq!(labels(r#"a="1""#), Err(Problem::UnterminatedLabelSet));
        assert!(matches!(
            labels(r#"__name__="x"}"#),
            Err(Problem::ReservedLabel(_))
        ));
        assert!(matches!(
            labels(&format!("a=\"{}\"}}", "x".repeat(65))),
            Err(Problem::LabelValueTooLong { len: 65, .. })
        ));
        let many: Vec<String> = (0..9).map(|i| format!("l{i}=\"v\"")).collect();
        assert_eq!(
            labels(&format!("{}}}", many.join(","))),
            Err(Problem::TooManyLabels { limit: 8 })
        );
    }

    #[test]
    fn utf8_label_values_are_kept() {
        assert_eq!(labels("a=\"héllo ✓\"}").unwrap()[0].1, "héllo ✓");
        assert_eq!(labels("a=\"é\\\\ü\"}").unwrap()[0].1, "é\\ü");
        assert_eq!(labels("a=\"\\é\"}"), Err(Problem::InvalidEscape('é')));
    }

    #[test]
    fn help_unescaping() {
        assert_eq!(unescape_help(r#"a\\b\nc\"d\x"#), "a\\b\nc\"d\\x");
        assert_eq!(unescape_help("plain"), "plain");
        assert_eq!(unescape_help("end\\"), "end\\");
    }
}
