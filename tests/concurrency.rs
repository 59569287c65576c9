//! Concurrency: writers (add, replace, delete) and readers (search, match, get, stats) hit the
//! router at once for a bounded time; afterwards the index holds exactly what the writes imply
//! and no request failed. And a second `claimdex index` on a locked index fails clearly.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::http::{get, json_req, post, send, state, TOKEN};

/// How long the writers and readers run.
const RUN_FOR: Duration = Duration::from_secs(4);
const WRITERS: usize = 3;
const READERS: usize = 3;

/// xorshift64*: a seeded PRNG, so that a failing interleaving of operations can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn claim(id: &str, version: u32) -> serde_json::Value {
    json!({"id": id, "text": format!("Concurrent claim {id} version {version}: the bridge over the river collapsed"),
           "speaker": "Load Tester"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_and_readers_at_once_lose_nothing() {
    let s = state(Some(TOKEN));
    let corpus_claims = get(&s, "/api/stats").await.json()["claims"].as_u64().unwrap();
    let deadline = Instant::now() + RUN_FOR;
    let requests = Arc::new(AtomicU64::new(0));

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (s, requests) = (s.clone(), requests.clone());
        writers.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1));
            // id -> Some(version) if it should exist, None if it was deleted.
            let mut expected: BTreeMap<String, Option<u32>> = BTreeMap::new();
            let mut next_id = 0;
            while Instant::now() < deadline {
                let live: Vec<String> = expected.iter().filter(|(_, v)| v.is_some()).map(|(k, _)| k.clone()).collect();
                let op = if live.is_empty() { 0 } else { rng.below(10) };
                let a = if op < 5 {
                    let id = format!("w{w}-{next_id}");
                    next_id += 1;
                    let a = send(&s, json_req(Method::POST, "/api/claims", &claim(&id, 1), Some(TOKEN))).await;
                    expected.insert(id, Some(1));
                    a
                } else if op < 8 {
                    let id = &live[rng.below(live.len() as u64) as usize];
                    let version = expected[id].unwrap() + 1;
                    let a = send(&s, json_req(Method::POST, "/api/claims", &claim(id, version), Some(TOKEN))).await;
                    expected.insert(id.clone(), Some(version));
                    a
                } else {
                    let id = &live[rng.below(live.len() as u64) as usize];
                    let uri = format!("/api/claims/{id}");
                    let a = send(&s, json_req(Method::DELETE, &uri, &json!({}), Some(TOKEN))).await;
                    expected.insert(id.clone(), None);
                    a
                };
                assert_eq!(a.status, StatusCode::OK, "writer {w}: {}", a.text());
                requests.fetch_add(1, Ordering::Relaxed);
            }
            expected
        }));
    }

    let mut readers = Vec::new();
    for r in 0..READERS {
        let (s, requests) = (s.clone(), requests.clone());
        readers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while Instant::now() < deadline {
                let a = match (i + r as u64) % 4 {
                    0 => get(&s, "/api/search?q=bridge%20river&limit=50").await,
                    1 => post(&s, "/api/match", json!({"text": "the bridge over the river collapsed"})).await,
                    2 => get(&s, "/api/stats").await,
                    _ => get(&s, "/api/search?q=amnesty&kind=claim").await,
                };
                assert_eq!(a.status, StatusCode::OK, "reader {r}: {}", a.text());
                i += 1;
            }
            requests.fetch_add(i, Ordering::Relaxed);
        }));
    }

    let mut expected = BTreeMap::new();
    for w in writers {
        expected.extend(w.await.expect("writer task"));
    }
    for r in readers {
        r.await.expect("reader task");
    }
    let live = expected.values().filter(|v| v.is_some()).count() as u64;
    assert!(expected.len() >= 10, "too few writes to mean anything: {}", expected.len());
    eprintln!(
        "concurrency: {} requests in {:?}; {} ids written, {live} live",
        requests.load(Ordering::Relaxed),
        RUN_FOR,
        expected.len()
    );

    // Every id is exactly as its last acknowledged write left it.
    for (id, version) in &expected {
        let a = get(&s, &format!("/api/claims/{id}")).await;
        match version {
            Some(v) => {
                assert_eq!(a.status, StatusCode::OK, "{id}: {}", a.text());
                let text = a.json()["text"].as_str().unwrap().to_string();
                assert!(text.contains(&format!("version {v}:")), "{id}: expected version {v}, got {text:?}");
            }
            None => assert_eq!(a.status, StatusCode::NOT_FOUND, "{id} was deleted: {}", a.text()),
        }
    }
    assert_eq!(get(&s, "/api/stats").await.json()["claims"].as_u64().unwrap(), corpus_claims + live);
    let v = get(&s, "/api/search?q=%22load%20tester%22&kind=claim&limit=1000").await.json();
    assert_eq!(v["total"].as_u64().unwrap(), live, "{v}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_second_index_run_on_a_locked_index_fails_clearly() {
    use crate::crash::{index_cmd, wait_until_read, write_claims, BIG};
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let (small, big) = (dir.path().join("small.jsonl"), dir.path().join("big.jsonl"));
    write_claims(&small, "small", 10);
    write_claims(&big, "big", BIG);
    assert!(index_cmd(&index, &small).output().unwrap().status.success());

    let mut first = index_cmd(&index, &big)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until_read(&mut first, &big, 1);
    let second = index_cmd(&index, &small).output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second writer ran: {stderr}");
    assert!(stderr.contains("another claimdex process is writing to the index"), "{stderr}");
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first ingest ended before the second tried; the test proves nothing"
    );

    // The first run is unharmed, and once it is done the second succeeds.
    assert!(first.wait().unwrap().success());
    assert!(index_cmd(&index, &small).output().unwrap().status.success());
    assert_eq!(claimdex::ClaimIndex::open_in_dir(&index).unwrap().num_records(), BIG as u64 + 10);
}
