//! Label templates such as `{namespace}/{deployment}`: literal text with `{label}` placeholders.

use super::rules::RuleError;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Label(String),
}

/// A parsed template. `{__name__}` is the metric name; `{{` and `}}` are literal braces.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Template({:?})", self.source)
    }
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, RuleError> {
        let bad = |reason: &'static str| RuleError::Template {
            template: source.to_owned(),
            reason,
        };
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '}' => return Err(bad("unmatched '}'")),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some(c) if c.is_ascii_alphanumeric() || c == '_' => name.push(c),
                            Some(_) => {
                                return Err(bad("placeholder names may hold only [A-Za-z0-9_]"))
                            }
                            None => return Err(bad("unclosed '{'")),
                        }
                    }
                    if name.is_empty() {
                        return Err(bad("empty placeholder"));
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Label(name));
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        if parts.is_empty() {
            return Err(bad("empty template"));
        }
        Ok(Template {
            source: source.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Label names the template reads (`__name__` included when used).
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Label(l) => Some(l.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// Renders with `name` and sorted `labels`; `None` if a placeholder's label is absent or empty.
    pub fn render(&self, name: &str, labels: &[(String, String)]) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Label(l) if l == "__name__" => out.push_str(name),
                Part::Label(l) => {
                    let i = labels.binary_search_by(|(k, _)| k.as_str().cmp(l)).ok()?;
                    let v = &labels[i].1;
                    if v.is_empty() {
                        return None;
                    }
                    out.push_str(v);
                }
            }
        }
        Some(out)
    }
}

impl TryFrom<String> for Template {
    type Error = RuleError;
    fn try_from(s: String) -> Result<Self, RuleError> {
        Template::parse(&s)
    }
}

impl<'de> serde::Deserialize<'de> for Template {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Template::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn renders_placeholders() {
        let t = Template::parse("{namespace}/{deployment}").unwrap();
        let l = labels(&[("deployment", "web"), ("namespace", "prod")]);
        assert_eq!(t.render("x", &l).as_deref(), Some("prod/web"));
        assert_eq!(
            t.labels().collect::<Vec<_>>(),
            vec!["namespace", "deployment"]
        );
        assert_eq!(t.render("x", &labels(&[("namespace", "prod")])), None);
        assert_eq!(
            t.render("x", &labels(&[("deployment", ""), ("namespace", "p")])),
            None
        );
        let t = Template::parse("app_{__name__}{{x}}").unwrap();
        assert_eq!(t.render("up", &[]).as_deref(), Some("app_up{x}"));
    }

    #[test]
    fn rejects_malformed_templates() {
        for bad in ["", "{", "{a", "}", "{}", "{a-b}", "a}b"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }
}
