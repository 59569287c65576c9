//! cargo-fuzz target: see `claimdex_fuzz::jsonl`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| claimdex_fuzz::jsonl(data));
