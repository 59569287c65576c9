//! Test helpers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use claimdex::{ingest, ClaimIndex, IngestOptions};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under tests/fixtures.
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// An in-memory index holding the shipped corpus.
pub fn corpus_index() -> ClaimIndex {
    let idx = ClaimIndex::create_in_ram().expect("ram index");
    let records = ingest::read_paths(&[root().join("corpus")], false).expect("corpus readable");
    idx.ingest(records, IngestOptions { strict: true }, &mut |e| panic!("corpus record rejected: {e}"))
        .expect("corpus ingests");
    idx
}

/// Runs the binary with arguments; stdin is empty.
pub fn claimdex(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_claimdex"))
        .args(args)
        .current_dir(cwd)
        .env_remove("CLAIMDEX_INDEX")
        .env_remove("CLAIMDEX_CORPUS")
        // The semantic model, when fetched, is found from any working directory.
        .env("CLAIMDEX_MODEL_DIR", root().join("models/all-MiniLM-L6-v2"))
        .output()
        .expect("the binary runs")
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The corpus in memory with the semantic model, or `None` (with a note) when the model is not
/// fetched (`scripts/fetch-model.sh`; `.ci/run` fetches it).
pub fn corpus_index_semantic() -> Option<ClaimIndex> {
    let dir = root().join("models/all-MiniLM-L6-v2");
    let Ok(embedder) = claimdex::Embedder::load(&dir) else {
        eprintln!("skipped: no semantic model in {}", dir.display());
        return None;
    };
    let idx = ClaimIndex::create_in_ram().expect("ram index").with_embedder(std::sync::Arc::new(embedder));
    let records = ingest::read_paths(&[root().join("corpus")], false).expect("corpus readable");
    idx.ingest(records, IngestOptions { strict: true }, &mut |e| panic!("corpus record rejected: {e}"))
        .expect("ingest");
    Some(idx)
}
