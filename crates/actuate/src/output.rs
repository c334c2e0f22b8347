//! Bounded capture of command output and the optional `{"changed", "detail"}` report a target may return.

use serde::Deserialize;
use std::io::Read;

/// Reads `reader` to the end, keeping only the last `max` bytes.
pub(crate) fn read_tail(mut reader: impl Read, max: usize) -> Vec<u8> {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > max * 2 {
                    let cut = kept.len() - max;
                    kept.drain(..cut);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    if kept.len() > max {
        let cut = kept.len() - max;
        kept.drain(..cut);
    }
    kept
}

/// The last `lines` lines of `text`, trimmed.
pub(crate) fn last_lines(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n").trim().to_string()
}

/// Shortens `text` to at most `max` chars, marking the cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let t = text.trim();
    if t.chars().count() <= max {
        t.to_string()
    } else {
        let mut s: String = t.chars().take(max).collect();
        s.push('…');
        s
    }
}

#[derive(Debug, Deserialize)]
struct Report {
    changed: Option<bool>,
    detail: Option<String>,
}

/// Parses `{"changed": bool, "detail": "..."}` from a target's output; `None` when it is not that.
pub(crate) fn parse_report(text: &str) -> Option<(Option<bool>, Option<String>)> {
    let t = text.trim();
    if !t.starts_with('{') {
        return None;
    }
    let r: Report = serde_json::from_str(t).ok()?;
    Some((r.changed, r.detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let t = read_tail(&data[..], 1000);
        assert_eq!(t.len(), 1000);
        assert_eq!(&t[..], &data[data.len() - 1000..]);
    }

    #[test]
    fn report_parsing() {
        assert_eq!(
            parse_report(r#" {"changed": false, "detail": "already 3"} "#),
            Some((Some(false), Some("already 3".into())))
        );
        assert_eq!(parse_report("done"), None);
        assert_eq!(parse_report("{not json"), None);
        assert_eq!(last_lines("a\nb\nc\n", 2), "b\nc");
    }
}
