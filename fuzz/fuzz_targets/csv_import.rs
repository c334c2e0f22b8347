//! Fuzz target: the CSV trace importer in every shape, failing on and skipping bad rows.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = prescale_telemetry::import::fuzzing::csv_import(data) {
        panic!("{e}");
    }
});
