//! Fuzz target: the exposition parser (both formats) and admission of whatever it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = prescale_ingest::fuzzing::exposition(data) {
        panic!("{e}");
    }
});
