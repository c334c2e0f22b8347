//! Secrets of the API: the bearer token of the mutating endpoints (from `api_token`,
//! `api_token_file` or `PRESCALE_API_TOKEN`) and the remote-write credentials; never printed.

use std::fmt;

/// The environment variable read when the file names no token.
pub const TOKEN_ENV: &str = "PRESCALE_API_TOKEN";
/// The shortest token accepted.
pub const MIN_TOKEN_CHARS: usize = 16;

/// A validated secret (a bearer token or a password); `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// Whether `presented` is this token, comparing every byte whatever the first mismatch
    /// (only the length can leak through timing).
    pub fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

/// The token from the file's `api_token` / `api_token_file`, else from `env`; `Err((path, message))`
/// when both keys are set, the file cannot be read, or the token is empty or shorter than
/// [`MIN_TOKEN_CHARS`].
pub fn resolve(
    inline: Option<String>,
    file: Option<String>,
    env: Option<String>,
) -> Result<Option<ApiToken>, (String, String)> {
    match (inline, file, env) {
        (None, None, Some(t)) => checked(TOKEN_ENV, &t).map(Some),
        (inline, file, _) => secret(("api_token", inline), ("api_token_file", file)),
    }
}

/// A secret given inline under one key or in a file named under another (not both), checked as a
/// token is; `None` when neither key is set. Errors name the key (`path`) they concern.
pub fn secret(
    (inline_key, inline): (&str, Option<String>),
    (file_key, file): (&str, Option<String>),
) -> Result<Option<ApiToken>, (String, String)> {
    match (inline, file) {
        (Some(_), Some(_)) => Err((
            inline_key.into(),
            format!("set {} or {}, not both", leaf(inline_key), leaf(file_key)),
        )),
        (Some(t), None) => checked(inline_key, &t).map(Some),
        (None, Some(f)) => match std::fs::read_to_string(&f) {
            Ok(t) => checked(file_key, &t).map(Some),
            Err(e) => Err((file_key.into(), format!("reading {f:?}: {e}"))),
        },
        (None, None) => Ok(None),
    }
}

/// The last segment of a dotted key path (`remote_write.auth.bearer_token` → `bearer_token`).
fn leaf(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// `text` trimmed, when it is a long enough token.
fn checked(path: &str, text: &str) -> Result<ApiToken, (String, String)> {
    let token = text.trim();
    if token.is_empty() {
        return Err((path.into(), "must not be empty".into()));
    }
    let n = token.chars().count();
    if n < MIN_TOKEN_CHARS {
        return Err((
            path.into(),
            format!("{n} characters is too short; use at least {MIN_TOKEN_CHARS}"),
        ));
    }
    Ok(ApiToken(token.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "0123456789abcdef";

    #[test]
    fn sources_and_precedence() {
        assert_eq!(resolve(None, None, None), Ok(None));
        let t = resolve(Some(GOOD.into()), None, Some("ignored-env-token!".into()))
            .unwrap()
            .unwrap();
        assert!(t.matches(GOOD));
        let env = resolve(None, None, Some(format!(" {GOOD}x\n")))
            .unwrap()
            .unwrap();
        assert!(env.matches(&format!("{GOOD}x")));
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("token");
        std::fs::write(&f, format!("{GOOD}\n")).unwrap();
        let from_file = resolve(None, Some(f.display().to_string()), None)
            .unwrap()
            .unwrap();
        assert!(from_file.matches(GOOD));
        assert!(!format!("{from_file:?}").contains(GOOD));
    }

    #[test]
    fn problems_name_their_key() {
        let p = |r: Result<Option<ApiToken>, (String, String)>| r.unwrap_err().0;
        assert_eq!(p(resolve(Some("short".into()), None, None)), "api_token");
        assert_eq!(p(resolve(Some("   ".into()), None, None)), "api_token");
        assert_eq!(p(resolve(None, None, Some("x".into()))), TOKEN_ENV);
        assert_eq!(
            p(resolve(
                None,
                Some("/nonexistent/prescale-token".into()),
                None
            )),
            "api_token_file"
        );
        assert_eq!(
            p(resolve(Some(GOOD.into()), Some("f".into()), None)),
            "api_token"
        );
    }

    #[test]
    fn matches_only_the_exact_token() {
        let t = ApiToken(GOOD.into());
        assert!(t.matches(GOOD));
        assert!(!t.matches("0123456789abcdeF"));
        assert!(!t.matches("0123456789abcde"));
        assert!(!t.matches(""));
    }
}
