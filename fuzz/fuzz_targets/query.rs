//! cargo-fuzz target: see `claimdex_fuzz::query`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| claimdex_fuzz::query(data));
