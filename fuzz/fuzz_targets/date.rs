//! cargo-fuzz target: see `claimdex_fuzz::date`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| claimdex_fuzz::date(data));
