//! The configuration without a file goes through the same validation as a file (issue 12,
//! item 5): an invalid `PRESCALE_API_TOKEN` is refused with its name, and retention is on.
//! Alone in its own test binary because it sets an environment variable.

use prescale_daemon::config::TOKEN_ENV;
use prescale_daemon::DaemonConfig;

#[test]
fn the_defaults_are_validated_like_a_file() {
    // SAFETY of set_var: the only test in this binary, so no other thread reads the environment.
    std::env::set_var(TOKEN_ENV, "short");
    let e = DaemonConfig::defaults().expect_err("a 5-character token is refused");
    let text = e.to_string();
    assert!(text.contains(TOKEN_ENV), "{text}");
    assert!(text.contains("too short"), "{text}");
    assert!(text.contains("no config file"), "{text}");

    std::env::set_var(TOKEN_ENV, "a-long-enough-api-token");
    let c = DaemonConfig::defaults().unwrap();
    assert!(c
        .api_token
        .is_some_and(|t| t.matches("a-long-enough-api-token")));
    let r = c.retention.expect("retention is on without a file too");
    assert_eq!(r, DaemonConfig::from_toml("").unwrap().retention.unwrap());
    std::env::remove_var(TOKEN_ENV);
}
