//! Fuzz target: the remote-write decoder; whatever decodes must survive encode → decode unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = prescale_ingest::fuzzing::remote_write(data) {
        panic!("{e}");
    }
});
