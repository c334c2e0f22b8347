//! Name templates such as `{job}/{instance}` that turn a series' labels into a workload or metric id.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// Literal text and `{label}` placeholders. A `{...}` whose content is not a valid label name
/// (e.g. `http{method="get"}`) stays literal; `{{` and `}}` are literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Label(String),
}

/// Whether `name` is a valid Prometheus label name.
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Template {
    pub fn parse(source: &str) -> Template {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = source;
        while let Some(c) = rest.chars().next() {
            if rest.starts_with("{{") || rest.starts_with("}}") {
                literal.push(c);
                rest = &rest[2..];
                continue;
            }
            if c == '{' {
                if let Some(close) = rest.find('}') {
                    let name = &rest[1..close];
                    if is_label_name(name) {
                        if !literal.is_empty() {
                            parts.push(Part::Literal(std::mem::take(&mut literal)));
                        }
                        parts.push(Part::Label(name.to_string()));
                        rest = &rest[close + 1..];
                        continue;
                    }
                }
            }
            literal.push(c);
            rest = &rest[c.len_utf8()..];
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Template {
            source: source.to_string(),
            parts,
        }
    }

    /// A template that is just the value of `label`.
    pub fn label(label: &str) -> Template {
        Template {
            source: format!("{{{label}}}"),
            parts: vec![Part::Label(label.to_string())],
        }
    }

    /// A template without placeholders.
    pub fn fixed(text: &str) -> Template {
        Template {
            source: text.replace('{', "{{").replace('}', "}}"),
            parts: vec![Part::Literal(text.to_string())],
        }
    }

    /// The text as written in the config.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The labels the template reads.
    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Label(l) => Some(l.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The fixed text when the template has no placeholder.
    pub fn as_fixed(&self) -> Option<String> {
        match self.parts.as_slice() {
            [] => Some(String::new()),
            [Part::Literal(t)] => Some(t.clone()),
            _ => None,
        }
    }

    /// Renders with `lookup`; `Err(label)` names the first placeholder whose label is missing or empty.
    pub fn render<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(t) => out.push_str(t),
                Part::Label(l) => match lookup(l) {
                    Some(v) if !v.is_empty() => out.push_str(v),
                    _ => return Err(l.clone()),
                },
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[derive(Deserialize)]
#[serde(untagged, deny_unknown_fields)]
enum Repr {
    Text(String),
    Label { label: String },
    Fixed { fixed: String },
}

impl<'de> Deserialize<'de> for Template {
    /// Accepts `"web"`, `"{job}"`, `"{job}/{instance}"`, `{ label = "job" }` or `{ fixed = "web" }`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Text(t) => Ok(Template::parse(&t)),
            Repr::Label { label } if is_label_name(&label) => Ok(Template::label(&label)),
            Repr::Label { label } => Err(serde::de::Error::custom(format!(
                "{label:?} is not a valid label name"
            ))),
            Repr::Fixed { fixed } => Ok(Template::fixed(&fixed)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn labels() -> BTreeMap<String, String> {
        [("job", "api"), ("instance", "10.0.0.1:9100"), ("empty", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn render(t: &str) -> Result<String, String> {
        let l = labels();
        Template::parse(t).render(|k| l.get(k).map(String::as_str))
    }

    #[test]
    fn renders_placeholders_and_literals() {
        assert_eq!(render("{job}/{instance}").unwrap(), "api/10.0.0.1:9100");
        assert_eq!(render("web").unwrap(), "web");
        assert_eq!(render("{job}").unwrap(), "api");
        assert_eq!(
            render("http{method=\"get\"}").unwrap(),
            "http{method=\"get\"}"
        );
        assert_eq!(render("{{job}}-{job}").unwrap(), "{job}-api");
        assert_eq!(render("{missing}"), Err("missing".to_string()));
        assert_eq!(render("{empty}"), Err("empty".to_string()));
        assert_eq!(Template::parse("web").as_fixed().as_deref(), Some("web"));
        assert_eq!(Template::parse("{job}").as_fixed(), None);
        assert_eq!(
            Template::parse("{job}/{instance}")
                .labels()
                .collect::<Vec<_>>(),
            ["job", "instance"]
        );
    }

    #[test]
    fn deserializes_all_forms() {
        let t: Template = serde_json::from_str(r#""{job}/x""#).unwrap();
        assert_eq!(t.source(), "{job}/x");
        let t: Template = serde_json::from_str(r#"{"label":"job"}"#).unwrap();
        assert_eq!(t, Template::label("job"));
        let t: Template = serde_json::from_str(r#"{"fixed":"{not a label}"}"#).unwrap();
        assert_eq!(t.as_fixed().as_deref(), Some("{not a label}"));
        assert!(serde_json::from_str::<Template>(r#"{"label":"a-b"}"#).is_err());
        assert!(serde_json::from_str::<Template>(r#"{"nope":"x"}"#).is_err());
    }
}
