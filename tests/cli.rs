//! The binary: first-use index build, human and JSON output, errors and exit codes.

use crate::util::{claimdex, fixture, root, stderr, stdout};

#[test]
fn match_builds_the_index_on_first_use_and_prints_json() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let corpus = root().join("corpus");
    let args = ["--index", index.to_str().unwrap(), "--corpus", corpus.to_str().unwrap()];
    let out = claimdex(&[&args[..], &["match", "fully committed to amnesty", "--json"]].concat(), dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(v["hits"][0]["claim"]["id"], "polygraph-balki-2021-12-05");
    assert_eq!(v["hits"][0]["claim"]["verdict"]["label"], "Misleading");
    assert!(index.join("meta.json").exists());
    // Built to be served: merged into one segment.
    assert_eq!(claimdex::ClaimIndex::open_in_dir(&index).unwrap().stats().unwrap().segments, 1);
    // Human output, second run reuses the index.
    let out = claimdex(&[&args[..], &["match", "fully committed to amnesty"]].concat(), dir.path());
    let text = stdout(&out);
    assert!(text.contains("MISLEADING") && text.contains("Abdul Qahar Balki") && text.contains("refutes"), "{text}");
    assert!(!stderr(&out).contains("building"));
    // Claims-only screening finds the same claim, with its evidence.
    let out =
        claimdex(&[&args[..], &["match", "fully committed to amnesty", "--json", "--screening"]].concat(), dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(v["hits"][0]["claim"]["id"], "polygraph-balki-2021-12-05");
    assert!(!v["hits"][0]["evidence"].as_array().unwrap().is_empty());
}

#[test]
fn index_reports_bad_records_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"kind\":\"claim\",\"id\":\"a\",\"text\":\"fine\"}\n{\"kind\":\"claim\",\"id\":\"b\"}\n")
        .unwrap();
    let index = dir.path().join("idx");
    let out = claimdex(&["--index", index.to_str().unwrap(), "index", bad.to_str().unwrap()], dir.path());
    assert!(out.status.success());
    assert!(stderr(&out).contains("bad.jsonl:2: field `text`"), "{}", stderr(&out));
    assert!(stdout(&out).contains("skipped 1"), "{}", stdout(&out));

    let out = claimdex(&["--index", index.to_str().unwrap(), "index", "--strict", bad.to_str().unwrap()], dir.path());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("bad.jsonl:2: field `text`"), "{}", stderr(&out));

    let out = claimdex(&["--index", index.to_str().unwrap(), "index", "nope.jsonl"], dir.path());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("nope.jsonl"), "{}", stderr(&out));

    // `--merge` alone merges what is there into one segment (two commits made two).
    let more = dir.path().join("more.jsonl");
    std::fs::write(&more, "{\"kind\":\"claim\",\"id\":\"c\",\"text\":\"also fine\"}\n").unwrap();
    assert!(claimdex(&["--index", index.to_str().unwrap(), "index", more.to_str().unwrap()], dir.path())
        .status
        .success());
    let out = claimdex(&["--index", index.to_str().unwrap(), "index", "--merge", "--json"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!((v["merged_segments"].as_u64(), v["records_in_index"].as_u64()), (Some(2), Some(2)), "{v}");
}

#[test]
fn search_with_filters_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("idx");
    let idx = index.to_str().unwrap();
    let out = claimdex(
        &["--index", idx, "index", fixture("checkthat2021_sample.jsonl.gz").to_str().unwrap(), "--json"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // A new index is merged into one segment (the writer's two threads leave two).
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(v["merged_segments"].as_u64().is_some(), "{v}");
    assert_eq!(claimdex::ClaimIndex::open_in_dir(&index).unwrap().stats().unwrap().segments, 1);
    let out =
        claimdex(&["--index", idx, "search", "murders", "--kind", "claim", "--verdict", "false", "--json"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let ids: Vec<String> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["record"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["vclaim-pol-00001"]);
    for bad in [
        &["search", "murders AND ("][..],
        &["search", "x", "--verdict", "sorta"],
        &["search", ""],
        &["match", "x", "--date", "2021-02-30"],
    ] {
        let out = claimdex(&[&["--index", idx][..], bad].concat(), dir.path());
        assert!(!out.status.success(), "{bad:?}");
        assert!(stderr(&out).contains("claimdex: error:"), "{}", stderr(&out));
    }
}

#[test]
fn flag_prints_flagged_and_suggested_sentences_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let corpus = root().join("corpus");
    let debate = fixture("debate/20211210_kabul_panel.tsv");
    let out = claimdex(
        &[
            "--index",
            index.to_str().unwrap(),
            "--corpus",
            corpus.to_str().unwrap(),
            "flag",
            "--suggested",
            debate.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    // Lines 4, 5, 11, 12 and 16 repeat checked claims; no other line may be printed.
    let printed: Vec<&str> =
        text.lines().filter_map(|l| l.strip_prefix("line ")).filter_map(|l| l.split(' ').next()).collect();
    let repeats = ["4", "5", "11", "12", "16"];
    assert!(printed.iter().filter(|l| repeats.contains(l)).count() >= 3, "{text}");
    assert!(printed.iter().all(|l| repeats.contains(l)), "only repeats are printed: {text}");
    assert!(text.contains("polygraph-balki-2021-12-05") && text.contains("why: "), "{text}");
    assert!(stderr(&out).contains("screened 24 sentences"), "{}", stderr(&out));
}

#[test]
fn articles_dry_run_shows_the_extraction() {
    let dir = tempfile::tempdir().unwrap();
    let seed = fixture("articles/polygraph-taliban-amnesty.txt");
    let out = claimdex(&["index", "--articles", seed.to_str().unwrap(), "--dry-run"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("Abdul Qahar Balki, Spokesperson, Foreign Affairs Ministry, Afghan Taliban"), "{text}");
    assert!(text.contains("[MISLEADING]") && text.contains("refutes"), "{text}");
    assert!(!dir.path().join("index").exists(), "a dry run writes nothing");
}

#[test]
fn a_replay_dump_trains_a_flag_model() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = root().join("corpus");
    let args = ["eval", "--claims", corpus.to_str().unwrap()];
    let dump = dir.path().join("replay.tsv");
    let (debates, qrels) = (fixture("debate"), fixture("debate/qrels.tsv"));
    let out = claimdex(
        &[
            &args[..],
            &["--debates", debates.to_str().unwrap(), "--qrels", qrels.to_str().unwrap()],
            &["--dump", dump.to_str().unwrap()],
        ]
        .concat(),
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("flag AP"), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(&dump).unwrap().lines().count(), 25);
    let model = dir.path().join("flag.json");
    let out = claimdex(
        &[
            &["train-flag", "--samples", dump.to_str().unwrap(), "--out", model.to_str().unwrap()][..],
            &["--without", "question,first_person", "--eval-samples", dump.to_str().unwrap()],
        ]
        .concat(),
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("24 sentences, 5 repeats"), "{}", stdout(&out));
    assert!(stdout(&out).contains("replay.tsv: 24 sentences, 5 repeats; AP "), "{}", stdout(&out));
    assert!(stdout(&out).contains("flagged    >= "), "{}", stdout(&out));
    let m = claimdex::FlagModel::from_json(&std::fs::read_to_string(&model).unwrap()).unwrap();
    assert!(!m.features.iter().any(|f| f == "question" || f == "first_person"));
    // The trained model can be evaluated in its turn.
    let out = claimdex(
        &[
            &args[..],
            &["--debates", debates.to_str().unwrap(), "--qrels", qrels.to_str().unwrap()],
            &["--flag-model", model.to_str().unwrap()],
        ]
        .concat(),
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // A broken dump names its file, line and field.
    std::fs::write(&dump, "query\trank\tright\tfused\nq\t1\t1\tnope\n").unwrap();
    let out =
        claimdex(&["train-flag", "--samples", dump.to_str().unwrap(), "--out", model.to_str().unwrap()], dir.path());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("replay.tsv:2") && stderr(&out).contains("fused"), "{}", stderr(&out));
}
