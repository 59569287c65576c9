//! cargo-fuzz target: see `claimdex_fuzz::claimreview`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| claimdex_fuzz::claimreview(data));
