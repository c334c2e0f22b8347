//! The decoded-but-not-yet-admitted sample every input format produces.

/// One sample as read from the wire, before admission maps it to a workload series.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSample {
    /// Metric name (the `__name__` label), e.g. `http_requests_total`.
    pub name: String,
    /// Labels sorted by name, without `__name__`; names are unique.
    pub labels: Vec<(String, String)>,
    /// The value as sent; may be NaN or infinite (admission rejects those).
    pub value: f64,
    /// Unix milliseconds, when the source gave one (scrapes usually do not).
    pub timestamp_ms: Option<i64>,
}

impl RawSample {
    /// The value of label `name`, if present.
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels
            .binary_search_by(|(k, _)| k.as_str().cmp(name))
            .ok()
            .map(|i| self.labels[i].1.as_str())
    }

    /// Sets label `name` (replacing an existing value), keeping labels sorted; e.g. the `job` and
    /// `instance` a scraper attaches to a target's samples.
    pub fn set_label(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        match self.labels.binary_search_by(|(k, _)| k.cmp(&name)) {
            Ok(i) => self.labels[i].1 = value.into(),
            Err(i) => self.labels.insert(i, (name, value.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_sorted() {
        let mut s = RawSample {
            name: "up".into(),
            labels: vec![("b".into(), "1".into())],
            value: 1.0,
            timestamp_ms: None,
        };
        s.set_label("c", "3");
        s.set_label("a", "0");
        s.set_label("b", "2");
        let names: Vec<&str> = s.labels.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, vec!["a", "b", "c"]);
        assert_eq!(s.label("b"), Some("2"));
        assert_eq!(s.label("z"), None);
    }
}
