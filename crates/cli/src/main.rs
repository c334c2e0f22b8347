//! The `prescale` binary: parses the command line and runs one pipeline stage per subcommand.

mod args;
mod cmd;
mod html_report;
mod loadgen;
mod output;
mod progress;
mod suite;
mod timearg;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use std::process::ExitCode;

fn main() -> ExitCode {
    let matches = args::Cli::command().get_matches();
    let mut cli = match args::Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    // A global flag may be given before or after the subcommand.
    let given = |m: &clap::ArgMatches| {
        matches!(
            m.value_source("db"),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    cli.db_given = given(&matches) || matches.subcommand().is_some_and(|(_, m)| given(m));
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, outermost first, leaving out a cause whose text the message
/// already carries (library errors often print their source inline too).
fn one_line(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if msg.contains(&text) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&text);
    }
    msg.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn repeated_causes_are_left_out() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let e = anyhow::Error::new(io)
            .context("x.csv: gone")
            .context("listing x.csv");
        assert_eq!(super::one_line(&e), "listing x.csv: x.csv: gone");
    }
}
