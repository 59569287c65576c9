//! Crash safety: the real binary is SIGKILLed mid-ingest and right after acknowledging writes,
//! and the index it leaves must be exactly the last committed state, reopenable, with its
//! writer lock free. Linux only (reads /proc to time the kill).
#![cfg(target_os = "linux")]

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use claimdex::{ClaimIndex, SearchRequest};
use serde_json::{json, Value};

use crate::http::{http, http_with_token, start_binary, TOKEN};

/// Claims in the big file: about 10 MB, ~2 s to ingest with a debug build.
pub(crate) const BIG: usize = 60_000;
/// Claims committed before the big ingest.
const SMALL: usize = 100;

/// Writes `n` native claims with ids `{prefix}-{i}`.
pub(crate) fn write_claims(path: &Path, prefix: &str, n: usize) {
    let mut w = BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n {
        let c = json!({
            "kind": "claim", "id": format!("{prefix}-{i}"),
            "text": format!("{prefix} claim {i}: the mayor of town {} raised taxes by {} percent", i % 977, i % 97),
            "speaker": format!("Speaker {}", i % 50), "date": format!("2021-05-{:02}", 1 + i % 28),
        });
        writeln!(w, "{c}").unwrap();
    }
    w.flush().unwrap();
}

/// `claimdex --index DIR index FILE` without the semantic model (so timing does not depend on it).
pub(crate) fn index_cmd(index: &Path, file: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_claimdex"));
    cmd.arg("--index").arg(index).arg("index").arg(file).arg("--json");
    cmd.env("CLAIMDEX_MODEL_DIR", "/nonexistent-claimdex-model")
        .env("CLAIMDEX_LOG", "warn")
        .env_remove("CLAIMDEX_INDEX");
    cmd
}

/// How far the child has read into `file` (from /proc/PID/fdinfo), or `None` if it has no fd on it.
fn read_position(pid: u32, file: &Path) -> Option<u64> {
    let file = file.canonicalize().ok()?;
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.flatten() {
        if std::fs::read_link(fd.path()).ok().as_deref() == Some(file.as_path()) {
            let info =
                std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy())).ok()?;
            return info.lines().find_map(|l| l.strip_prefix("pos:")).and_then(|p| p.trim().parse().ok());
        }
    }
    None
}

/// Waits until the child has read at least `at_least` bytes of `file`; panics if it exits first
/// or takes longer than 15 s.
pub(crate) fn wait_until_read(child: &mut Child, file: &Path, at_least: u64) -> u64 {
    let start = Instant::now();
    loop {
        if let Some(pos) = read_position(child.id(), file).filter(|p| *p >= at_least) {
            return pos;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the ingest ended ({status}) before it had read {at_least} bytes of {}", file.display());
        }
        assert!(start.elapsed() < Duration::from_secs(15), "the ingest did not start reading within 15 s");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn ids_found(idx: &ClaimIndex, query: &str) -> usize {
    let mut r = SearchRequest::new(query);
    r.limit = 1000;
    idx.search(&r).expect("search").total
}

#[test]
fn sigkill_mid_ingest_leaves_the_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let (small, big) = (dir.path().join("small.jsonl"), dir.path().join("big.jsonl"));
    write_claims(&small, "small", SMALL);
    write_claims(&big, "big", BIG);

    // A known committed state: 100 claims.
    let out = index_cmd(&index, &small).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The big ingest, killed once it has read a third of its input (it commits only at the end).
    let size = std::fs::metadata(&big).unwrap().len();
    let mut child = index_cmd(&index, &big).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let pos = wait_until_read(&mut child, &big, size / 3);
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "killed at byte {pos} of {size}");

    // Exactly the last commit: the 100 small claims, searchable; none of the big ones.
    let idx = ClaimIndex::open_in_dir(&index).expect("the index reopens after SIGKILL");
    assert_eq!(idx.num_records(), SMALL as u64, "killed at byte {pos} of {size}");
    assert_eq!(ids_found(&idx, "small"), SMALL);
    assert_eq!(ids_found(&idx, "big"), 0);
    assert_eq!(idx.get_claim("small-42").unwrap().text.split(':').next(), Some("small claim 42"));
    // The dead process's writer lock does not block a new writer.
    idx.lock_for_writing().expect("the writer lock is free after SIGKILL");
    drop(idx);

    // The big ingest again, to completion.
    let out = index_cmd(&index, &big).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["report"]["claims"], BIG);
    assert_eq!(report["records_in_index"], BIG + SMALL);
    let idx = ClaimIndex::open_in_dir(&index).unwrap();
    assert_eq!(idx.num_records(), (BIG + SMALL) as u64);
    assert_eq!(idx.stats().unwrap().claims, (BIG + SMALL) as u64);
    assert!(idx.get_claim(&format!("big-{}", BIG - 1)).is_ok());
    assert!(idx.get_claim("small-0").is_ok());
}

fn claim_body(i: usize, version: u32) -> String {
    json!({"id": format!("acked-{i}"), "text": format!("Acknowledged claim {i}, version {version}: the river flooded the old mill"),
           "verdict": {"label": "False", "rating": "false"}})
    .to_string()
}

#[test]
fn sigkill_after_acknowledged_writes_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let index: PathBuf = dir.path().join("index");
    let mut server = start_binary(&index, Some(TOKEN));
    let addr = server.addr.clone();
    let stats = |addr: &str| -> Value { serde_json::from_str(&http(addr, "GET", "/api/stats", None).1).unwrap() };
    let corpus_claims = stats(&addr)["claims"].as_u64().unwrap();
    const N: usize = 12;
    for i in 0..N {
        let (status, body) = http_with_token(&addr, "POST", "/api/claims", Some(&claim_body(i, 1)), Some(TOKEN));
        assert_eq!(status, 200, "{body}");
    }
    // Replace one, delete another, add an array of two; the last acknowledgement is followed by SIGKILL.
    let (status, body) = http_with_token(&addr, "POST", "/api/claims", Some(&claim_body(3, 2)), Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    let (status, body) = http_with_token(&addr, "DELETE", "/api/claims/acked-5", None, Some(TOKEN));
    assert_eq!(status, 200, "{body}");
    let pair = format!("[{}, {}]", claim_body(N, 1), claim_body(N + 1, 1));
    let (status, body) = http_with_token(&addr, "POST", "/api/claims", Some(&pair), Some(TOKEN));
    server.child.kill().unwrap();
    assert_eq!(status, 200, "{body}");
    server.child.wait().unwrap();
    drop(server);

    // Restarted on the same index, with the token (so it must get the writer lock back).
    let server = start_binary(&index, Some(TOKEN));
    for i in 0..N + 2 {
        let (status, body) = http(&server.addr, "GET", &format!("/api/claims/acked-{i}"), None);
        if i == 5 {
            assert_eq!(status, 404, "the acknowledged delete was lost: {body}");
            continue;
        }
        assert_eq!(status, 200, "acknowledged claim acked-{i} was lost: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let version = if i == 3 { 2 } else { 1 };
        assert!(v["text"].as_str().unwrap().contains(&format!("version {version}")), "{v}");
    }
    let v = stats(&server.addr);
    assert_eq!(v["claims"], corpus_claims + N as u64 + 2 - 1, "corpus claims + acknowledged - deleted: {v}");
}
