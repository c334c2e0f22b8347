//! Fuzz target: config parsing and validation (`prescale config check`) of arbitrary TOML text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = prescale_daemon::config::fuzzing::config(data) {
        panic!("{e}");
    }
});
