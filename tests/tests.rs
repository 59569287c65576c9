//! The integration tests, compiled as one binary.

// Shared helpers: temp dirs, a corpus-built index, running the binary.
mod util;

// The library end to end: ingest, upsert, search, match on the shipped corpus and fixtures.
mod core;

// The `claimdex` binary: exit codes, messages and outputs.
mod cli;

// Fact-check articles: quotes, speakers, claims and evidence.
mod articles;

// The HTTP API through `oneshot`, and the real binary over loopback.
mod http;

// Crash safety: SIGKILL mid-ingest and right after acknowledged writes (Linux).
mod crash;

// Concurrency: writers and readers through the router at once; two writer processes.
mod concurrency;

// Hostile input: malformed records, impossible dates, odd queries and parameters, huge bodies.
mod hostile;

// Fuzzing on stable Rust: the fuzz/ targets under a seeded mutator (smoke pass, saved regressions).
mod fuzz;

// Security defaults: loopback bind, no CORS, the token never logged.
mod security;
