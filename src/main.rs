//! The `claimdex` binary: parses arguments, sets up logging and hands over to `claimdex::cli`.

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: faster than glibc's malloc at the many small allocations of a match (BENCHMARKS.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLAIMDEX_LOG").unwrap_or_else(|_| "claimdex=info,warn".into()),
        )
        .init();
    let cli = claimdex::cli::Cli::parse();
    match claimdex::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("claimdex: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
