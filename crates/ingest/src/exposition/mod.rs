//! Prometheus text format 0.0.4 and OpenMetrics 1.0 text: a hand-written, allocation-lean parser.
//!
//! [`parse`] turns a scrape body into [`RawSample`]s plus the declared metric families. Every error
//! names its line (`line 7: unterminated label value`). OpenMetrics `_created` samples of counters,
//! histograms and summaries are dropped (they are creation timestamps, not observations), exemplars
//! are ignored, and timestamps are normalised to Unix milliseconds.

mod cursor;
mod error;
mod line;

pub use error::{ExpositionError, Problem};

use crate::kind::{resolve, KindIndex};
use crate::{MetricKind, RawSample};
use line::Comment;
use std::collections::HashMap;

/// Which text format a body is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Prometheus text format 0.0.4 (`text/plain; version=0.0.4`).
    Text,
    /// OpenMetrics 1.0 text (`application/openmetrics-text`).
    OpenMetrics,
}

impl Format {
    /// The format a `Content-Type` header announces; anything not OpenMetrics is Prometheus text.
    pub fn from_content_type(content_type: &str) -> Format {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// Size limits that keep a hostile or broken target from exhausting memory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParseLimits {
    pub max_body_bytes: usize,
    pub max_line_bytes: usize,
    pub max_samples: usize,
    pub max_labels_per_sample: usize,
    pub max_label_value_bytes: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_body_bytes: 32 << 20,
            max_line_bytes: 64 << 10,
            max_samples: 1_000_000,
            max_labels_per_sample: 64,
            max_label_value_bytes: 4096,
        }
    }
}

/// A metric family declared by HELP/TYPE/UNIT lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: String,
    /// `Untyped` when only HELP or UNIT was given.
    pub kind: MetricKind,
    pub help: Option<String>,
    /// OpenMetrics `# UNIT`.
    pub unit: Option<String>,
}

/// A parsed body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exposition {
    /// Samples in body order.
    pub samples: Vec<RawSample>,
    /// Families in order of first declaration.
    pub families: Vec<Family>,
}

impl Exposition {
    /// Family kinds, for resolving the family of a sample name (`req_total` → counter `req`).
    pub fn kind_index(&self) -> KindIndex {
        let mut idx = KindIndex::new();
        for f in &self.families {
            idx.insert(f.name.clone(), f.kind);
        }
        idx
    }
}

/// Parses `text` with the default [`ParseLimits`].
pub fn parse(text: &str, format: Format) -> Result<Exposition, ExpositionError> {
    parse_with_limits(text, format, &ParseLimits::default())
}

/// Parses a body that has not yet been checked to be UTF-8.
pub fn parse_bytes(
    body: &[u8],
    format: Format,
    limits: &ParseLimits,
) -> Result<Exposition, ExpositionError> {
    check_size(body.len(), limits)?;
    match std::str::from_utf8(body) {
        Ok(text) => parse_with_limits(text, format, limits),
        Err(e) => {
            let valid = body.get(..e.valid_up_to()).unwrap_or(&[]);
            Err(ExpositionError::Line {
                line: 1 + valid.iter().filter(|&&b| b == b'\n').count(),
                problem: Problem::InvalidUtf8,
            })
        }
    }
}

fn check_size(size: usize, limits: &ParseLimits) -> Result<(), ExpositionError> {
    if size > limits.max_body_bytes {
        return Err(ExpositionError::TooLarge {
            size,
            limit: limits.max_body_bytes,
        });
    }
    Ok(())
}

/// Families collected while parsing, with a name index.
#[derive(Default)]
struct Registry {
    families: Vec<Family>,
    by_name: HashMap<String, usize>,
    typed: Vec<bool>,
}

impl Registry {
    fn entry(&mut self, name: &str) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        let i = self.families.len();
        self.families.push(Family {
            name: name.to_owned(),
            kind: MetricKind::Untyped,
            help: None,
            unit: None,
        });
        self.typed.push(false);
        self.by_name.insert(name.to_owned(), i);
        i
    }

    fn declare(&mut self, comment: Comment<'_>) -> Result<(), Problem> {
        let dup = |keyword, name: &str| Problem::DuplicateMetadata {
            keyword,
            name: name.to_owned(),
        };
        match comment {
            Comment::Help { name, text } => {
                let i = self.entry(name);
                let f = &mut self.families[i];
                if f.help.is_some() {
                    return Err(dup("HELP", name));
                }
                f.help = Some(text);
            }
            Comment::Type { name, kind } => {
                let i = self.entry(name);
                if self.typed[i] {
                    return Err(dup("TYPE", name));
                }
                self.typed[i] = true;
                self.families[i].kind = kind;
            }
            Comment::Unit { name, unit } => {
                let i = self.entry(name);
                let f = &mut self.families[i];
                if f.unit.is_some() {
                    return Err(dup("UNIT", name));
                }
                f.unit = Some(unit.to_owned());
            }
            Comment::Eof | Comment::Other => {}
        }
        Ok(())
    }

    fn family_of<'n>(&self, sample_name: &'n str) -> Option<(&'n str, MetricKind)> {
        if self.families.is_empty() {
            return None;
        }
        resolve(sample_name, |n| {
            self.by_name.get(n).map(|&i| self.families[i].kind)
        })
    }
}

/// What to do with a parsed sample after checking it against its family.
fn check_family(reg: &Registry, s: &RawSample) -> Result<bool, Problem> {
    let Some((family, kind)) = reg.family_of(&s.name) else {
        return Ok(true);
    };
    let suffix = s.name.get(family.len()..).unwrap_or("");
    match (kind, suffix) {
        (MetricKind::Counter | MetricKind::Histogram | MetricKind::Summary, "_created") => {
            Ok(false)
        }
        (MetricKind::Histogram | MetricKind::GaugeHistogram, "_bucket") => {
            match s.label("le").map(str::parse::<f64>) {
                Some(Ok(le)) if !le.is_nan() => Ok(true),
                _ => Err(Problem::BadBucketBound),
            }
        }
        (MetricKind::Summary, "") => match s.label("quantile").map(str::parse::<f64>) {
            Some(Ok(q)) if (0.0..=1.0).contains(&q) => Ok(true),
            _ => Err(Problem::BadQuantile),
        },
        _ => Ok(true),
    }
}

/// Parses `text` as `format`, enforcing `limits`.
pub fn parse_with_limits(
    text: &str,
    format: Format,
    limits: &ParseLimits,
) -> Result<Exposition, ExpositionError> {
    check_size(text.len(), limits)?;
    let mut reg = Registry::default();
    // A typical line is 40-120 bytes: reserve once instead of growing repeatedly.
    let mut samples = Vec::with_capacity((text.len() / 64).min(limits.max_samples));
    let mut eof_line: Option<usize> = None;
    let mut last_line = 0;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = i + 1;
        let at = |problem| ExpositionError::Line {
            line: line_no,
            problem,
        };
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.len() > limits.max_line_bytes {
            return Err(at(Problem::LineTooLong {
                len: line.len(),
                limit: limits.max_line_bytes,
            }));
        }
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() {
            continue;
        }
        if eof_line.is_some() {
            return Err(at(Problem::ContentAfterEof));
        }
        last_line = line_no;
        if trimmed.starts_with('#') {
            match line::comment(trimmed, format).map_err(at)? {
                Comment::Eof => eof_line = Some(line_no),
                c => reg.declare(c).map_err(at)?,
            }
            continue;
        }
        let sample = line::sample(trimmed, format, limits).map_err(at)?;
        if check_family(&reg, &sample).map_err(at)? {
            if samples.len() >= limits.max_samples {
                return Err(ExpositionError::TooManySamples {
                    limit: limits.max_samples,
                });
            }
            samples.push(sample);
        }
    }
    if format == Format::OpenMetrics && eof_line.is_none() {
        return Err(ExpositionError::Line {
            line: last_line.max(1),
            problem: Problem::MissingEof,
        });
    }
    Ok(Exposition {
        samples,
        families: reg.families,
    })
}

#[cfg(test)]
mod tests;
