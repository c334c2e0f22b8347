//! Metric family types shared by the exposition parser, remote-write metadata and admission.

use std::collections::HashMap;
use std::fmt;

/// The type a metric family declares (`# TYPE` line or remote-write metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
    GaugeHistogram,
    Summary,
    Info,
    StateSet,
    /// `untyped` (Prometheus text) or `unknown` (OpenMetrics).
    Untyped,
}

impl MetricKind {
    /// Parses a `# TYPE` keyword of either text format (case-sensitive, as both specs are).
    pub fn from_type_keyword(s: &str) -> Option<MetricKind> {
        Some(match s {
            "counter" => MetricKind::Counter,
            "gauge" => MetricKind::Gauge,
            "histogram" => MetricKind::Histogram,
            "gaugehistogram" => MetricKind::GaugeHistogram,
            "summary" => MetricKind::Summary,
            "info" => MetricKind::Info,
            "stateset" => MetricKind::StateSet,
            "untyped" | "unknown" => MetricKind::Untyped,
            _ => return None,
        })
    }

    /// The keyword used in `# TYPE` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
            MetricKind::GaugeHistogram => "gaugehistogram",
            MetricKind::Summary => "summary",
            MetricKind::Info => "info",
            MetricKind::StateSet => "stateset",
            MetricKind::Untyped => "untyped",
        }
    }

    /// Name suffixes a sample of this family may carry besides the bare family name.
    pub fn suffixes(self) -> &'static [&'static str] {
        match self {
            MetricKind::Counter => &["_total", "_created"],
            MetricKind::Histogram => &["_bucket", "_count", "_sum", "_created"],
            MetricKind::GaugeHistogram => &["_bucket", "_gcount", "_gsum"],
            MetricKind::Summary => &["_count", "_sum", "_created"],
            MetricKind::Info => &["_info"],
            MetricKind::Gauge | MetricKind::StateSet | MetricKind::Untyped => &[],
        }
    }

    /// Whether `sample_name`, a sample of a family of this kind, is a monotonic cumulative value
    /// (counter totals, histogram buckets/counts/sums, summary counts/sums) whose rate is what matters.
    /// `_created` samples are timestamps, not cumulative values.
    pub fn is_cumulative(self, sample_name: &str) -> bool {
        match self {
            MetricKind::Counter => !sample_name.ends_with("_created"),
            MetricKind::Histogram => {
                sample_name.ends_with("_bucket")
                    || sample_name.ends_with("_count")
                    || sample_name.ends_with("_sum")
            }
            MetricKind::Summary => sample_name.ends_with("_count") || sample_name.ends_with("_sum"),
            _ => false,
        }
    }
}

impl fmt::Display for MetricKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sample-name suffixes that may separate a sample name from its family name.
const SUFFIXES: [&str; 8] = [
    "_total", "_created", "_bucket", "_count", "_sum", "_gcount", "_gsum", "_info",
];

/// Family name → kind, answering "what kind is the family of this *sample* name?" (a sample
/// `req_total` belongs to a counter family declared as `req` or as `req_total`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindIndex {
    families: HashMap<String, MetricKind>,
}

impl KindIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares (or re-declares) the kind of family `family`.
    pub fn insert(&mut self, family: impl Into<String>, kind: MetricKind) {
        self.families.insert(family.into(), kind);
    }

    /// Adds every family of `other`, its declarations winning.
    pub fn extend(&mut self, other: KindIndex) {
        self.families.extend(other.families);
    }

    pub fn len(&self) -> usize {
        self.families.len()
    }

    pub fn is_empty(&self) -> bool {
        self.families.is_empty()
    }

    /// The kind of the family sample `sample_name` belongs to, if declared.
    pub fn get(&self, sample_name: &str) -> Option<MetricKind> {
        resolve(sample_name, |f| self.families.get(f).copied()).map(|(_, k)| k)
    }
}

/// Finds the family of `sample_name`: an exact declaration first, then the name less one suffix that
/// the declared kind allows. Returns the family name (a prefix of `sample_name`) and its kind.
pub(crate) fn resolve(
    sample_name: &str,
    lookup: impl Fn(&str) -> Option<MetricKind>,
) -> Option<(&str, MetricKind)> {
    if let Some(k) = lookup(sample_name) {
        return Some((sample_name, k));
    }
    for suffix in SUFFIXES {
        if let Some(base) = sample_name.strip_suffix(suffix) {
            if let Some(k) = lookup(base) {
                if k.suffixes().contains(&suffix) {
                    return Some((base, k));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_round_trip() {
        for k in [
            MetricKind::Counter,
            MetricKind::Gauge,
            MetricKind::Histogram,
            MetricKind::GaugeHistogram,
            MetricKind::Summary,
            MetricKind::Info,
            MetricKind::StateSet,
            MetricKind::Untyped,
        ] {
            assert_eq!(MetricKind::from_type_keyword(k.as_str()), Some(k));
        }
        assert_eq!(
            MetricKind::from_type_keyword("unknown"),
            Some(MetricKind::Untyped)
        );
        assert_eq!(MetricKind::from_type_keyword("Counter"), None);
    }

    #[test]
    fn index_resolves_suffixes() {
        let mut idx = KindIndex::new();
        idx.insert("req", MetricKind::Counter);
        idx.insert("lat", MetricKind::Histogram);
        idx.insert("temp", MetricKind::Gauge);
        assert_eq!(idx.get("req_total"), Some(MetricKind::Counter));
        assert_eq!(idx.get("req"), Some(MetricKind::Counter));
        assert_eq!(idx.get("lat_bucket"), Some(MetricKind::Histogram));
        assert_eq!(idx.get("temp_total"), None);
        assert_eq!(idx.get("lat_total"), None);
        assert_eq!(idx.get("other"), None);
    }

    #[test]
    fn cumulative_samples() {
        let h = MetricKind::Histogram;
        assert!(h.is_cumulative("lat_bucket"));
        assert!(h.is_cumulative("lat_sum"));
        assert!(!h.is_cumulative("lat_created"));
        assert!(MetricKind::Counter.is_cumulative("req_total"));
        assert!(!MetricKind::Counter.is_cumulative("req_created"));
        assert!(!MetricKind::Summary.is_cumulative("rpc"));
        assert!(MetricKind::Summary.is_cumulative("rpc_count"));
        assert!(!MetricKind::Gauge.is_cumulative("g"));
    }
}
