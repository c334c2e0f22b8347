//! Typed exposition parse errors: every one names the line and what is wrong with it.

use thiserror::Error;

/// Why an exposition body was rejected.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ExpositionError {
    #[error("body is {size} bytes, over the limit of {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("more than {limit} samples in one body")]
    TooManySamples { limit: usize },
    #[error("line {line}: {problem}")]
    Line { line: usize, problem: Problem },
}

impl ExpositionError {
    /// The 1-based line number the error refers to, if it refers to one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ExpositionError::Line { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// What is wrong with one line.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum Problem {
    #[error("line is {len} bytes, over the limit of {limit} bytes")]
    LineTooLong { len: usize, limit: usize },
    #[error("expected a metric name, found {found:?}")]
    ExpectedMetricName { found: String },
    #[error("expected a label name, found {found:?}")]
    ExpectedLabelName { found: String },
    #[error("expected '=' after label name {label:?}")]
    ExpectedEquals { label: String },
    #[error("expected '\"' to open the value of label {label:?}")]
    ExpectedQuote { label: String },
    #[error("unterminated label value")]
    UnterminatedLabelValue,
    #[error("invalid escape sequence \"\\{0}\" in label value")]
    InvalidEscape(char),
    #[error("unterminated label set (missing '}}')")]
    UnterminatedLabelSet,
    #[error("expected ',' or '}}' after a label, found {found:?}")]
    ExpectedCommaOrBrace { found: String },
    #[error("duplicate label name {0:?}")]
    DuplicateLabel(String),
    #[error("label {0:?} is reserved and may not appear in braces")]
    ReservedLabel(String),
    #[error("more than {limit} labels")]
    TooManyLabels { limit: usize },
    #[error("label value of {label:?} is {len} bytes, over the limit of {limit} bytes")]
    LabelValueTooLong {
        label: String,
        len: usize,
        limit: usize,
    },
    #[error("expected whitespace before the value, found {found:?}")]
    ExpectedBlank { found: String },
    #[error("missing sample value")]
    MissingValue,
    #[error("invalid sample value {0:?}")]
    InvalidValue(String),
    #[error("invalid timestamp {0:?}")]
    InvalidTimestamp(String),
    #[error("unexpected text after the sample: {0:?}")]
    TrailingText(String),
    #[error("malformed {keyword} line")]
    MalformedComment { keyword: &'static str },
    #[error("unknown metric type {0:?}")]
    UnknownType(String),
    #[error("second {keyword} line for metric {name:?}")]
    DuplicateMetadata { keyword: &'static str, name: String },
    #[error("histogram bucket without a valid \"le\" label")]
    BadBucketBound,
    #[error("summary quantile without a valid \"quantile\" label")]
    BadQuantile,
    #[error("the body does not end with \"# EOF\"")]
    MissingEof,
    #[error("content after \"# EOF\"")]
    ContentAfterEof,
    #[error("invalid UTF-8")]
    InvalidUtf8,
}

/// At most 40 characters of `s`, for quoting offending input in messages.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_line() {
        let e = ExpositionError::Line {
            line: 7,
            problem: Problem::UnterminatedLabelValue,
        };
        assert_eq!(e.to_string(), "line 7: unterminated label value");
        assert_eq!(e.line(), Some(7));
        assert_eq!(excerpt(&"x".repeat(50)).chars().count(), 41);
    }
}
