//! Library-level tests on the shipped corpus and the CheckThat! fixtures.

use claimdex::model::{Kind, Rating, Record, Stance};
use claimdex::{ingest, ClaimIndex, Error, Filters, IngestOptions, MatchRequest, SearchRequest};

use crate::util::{corpus_index, fixture, root};

#[test]
fn fully_committed_to_amnesty_finds_balki_with_refuting_evidence() {
    let idx = corpus_index();
    let res = idx.match_claims(&MatchRequest::new("fully committed to amnesty")).unwrap();
    let top = &res.hits[0];
    assert_eq!(top.claim.id, "polygraph-balki-2021-12-05");
    assert_eq!(top.claim.speaker.as_deref(), Some("Abdul Qahar Balki"));
    let verdict = top.claim.verdict.as_ref().unwrap();
    assert_eq!(verdict.label, "Misleading");
    assert_eq!(verdict.rating, Rating::Misleading);
    let refuting: Vec<&str> = top
        .evidence
        .iter()
        .filter(|e| e.stance == Stance::Refutes)
        .filter_map(|e| e.evidence.source.as_deref())
        .collect();
    assert!(refuting.contains(&"Human Rights Watch"), "{refuting:?}");
    assert!(refuting.iter().any(|s| s.contains("High Commissioner for Human Rights")), "{refuting:?}");
    // Refuting evidence comes first.
    let first_other = top.evidence.iter().position(|e| e.stance != Stance::Refutes).unwrap_or(top.evidence.len());
    assert!(top.evidence[first_other..].iter().all(|e| e.stance != Stance::Refutes));
    assert!(top.score > 0.5 && top.score > res.hits[1].score, "{} vs {}", top.score, res.hits[1].score);
}

#[test]
fn unrelated_statements_are_not_flagged() {
    let idx = corpus_index();
    let res = idx.match_claims(&MatchRequest::new("The price of eggs rose sharply in Ohio last winter")).unwrap();
    assert!(!res.flagged && !res.suggested, "{res:?}");
    let res = idx.match_claims(&MatchRequest::new("the and of to")).unwrap();
    assert!(res.hits.is_empty());
}

#[test]
fn statement_dates_exclude_later_claims() {
    let idx = corpus_index();
    let mut req = MatchRequest::new("fully committed to enforcing the amnesty decree");
    req.date = Some("2021-09-01".parse().unwrap());
    let res = idx.match_claims(&req).unwrap();
    assert!(res.hits.iter().all(|h| h.claim.id != "polygraph-balki-2021-12-05"));
}

#[test]
fn reingesting_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let idx = ClaimIndex::create_in_dir(dir.path()).unwrap();
    let run = || {
        let recs = ingest::read_paths(&[root().join("corpus")], false).unwrap();
        idx.ingest(recs, IngestOptions::default(), &mut |_| {}).unwrap()
    };
    let first = run();
    let n = idx.num_records();
    let before = idx.match_claims(&MatchRequest::new("amnesty for all government employees")).unwrap();
    let second = run();
    assert_eq!(first, second);
    assert_eq!(idx.num_records(), n);
    assert_eq!(n, 12);
    let after = idx.match_claims(&MatchRequest::new("amnesty for all government employees")).unwrap();
    let ids = |r: &claimdex::MatchResult| r.hits.iter().map(|h| h.claim.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&before), ids(&after));
    // Reopening from disk sees the same.
    drop(idx);
    let reopened = ClaimIndex::open_in_dir(dir.path()).unwrap();
    assert_eq!(reopened.num_records(), 12);
}

#[test]
fn bad_records_are_reported_with_line_and_skipped_or_fatal_with_strict() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.jsonl");
    std::fs::write(
        &file,
        "{\"kind\":\"claim\",\"id\":\"a\",\"text\":\"Good claim one.\"}\n\
         {\"kind\":\"claim\",\"id\":\"b\",\"text\":\"Bad date.\",\"date\":\"2021-02-30\"}\n\
         {\"kind\":\"claim\",\"id\":\"c\",\"text\":\"Good claim three.\"}\n",
    )
    .unwrap();
    let idx = ClaimIndex::create_in_ram().unwrap();
    let mut skipped = Vec::new();
    let report = idx
        .ingest(ingest::read_paths(std::slice::from_ref(&file), false).unwrap(), IngestOptions::default(), &mut |e| {
            skipped.push(e.to_string())
        })
        .unwrap();
    assert_eq!((report.claims, report.skipped), (2, 1));
    assert!(skipped[0].contains("bad.jsonl:2: field `date`"), "{skipped:?}");

    let strict = ClaimIndex::create_in_ram().unwrap();
    strict.upsert(&[]).unwrap();
    let err = strict
        .ingest(ingest::read_paths(&[file], false).unwrap(), IngestOptions { strict: true }, &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, Error::Ingest { line: 2, .. }), "{err}");
    assert_eq!(strict.num_records(), 0, "a failed strict run leaves the index as it was");
}

#[test]
fn checkthat_fixtures_ingest() {
    let idx = ClaimIndex::create_in_ram().unwrap();
    let recs =
        ingest::read_paths(&[fixture("checkthat2020_sample.tsv"), fixture("checkthat2021_sample.jsonl.gz")], false)
            .unwrap();
    let report = idx.ingest(recs, IngestOptions { strict: true }, &mut |_| {}).unwrap();
    assert_eq!(report.claims, 27 + 20);
    assert!(report.evidence >= 20 * 3, "{report:?}");
    let stallone = idx.get_claim("3146").unwrap();
    assert!(stallone.text.contains("surrendered\nhis life"), "multi-line CSV record kept whole");
    let trump = idx.get_claim("vclaim-pol-00001").unwrap();
    assert_eq!(trump.speaker.as_deref(), Some("Donald Trump"));
    assert_eq!(trump.verdict.unwrap().rating, Rating::False);
    let res = idx
        .match_claims(&MatchRequest::new(
            "the number of murders in America's major cities has dropped by more than 10%",
        ))
        .unwrap();
    assert_eq!(res.hits[0].claim.id, "vclaim-pol-00001");
    assert!(!res.hits[0].evidence.is_empty());
}

#[test]
fn search_filters_and_paging() {
    let idx = corpus_index();
    let all = idx.search(&SearchRequest::new("amnesty")).unwrap();
    assert!(all.total >= 5);
    let mut req = SearchRequest::new("amnesty");
    req.filters = Filters { kind: Some(Kind::Claim), verdicts: vec![Rating::Misleading], ..Default::default() };
    let r = idx.search(&req).unwrap();
    assert_eq!(r.total, 1);
    assert!(r.hits[0].snippet.contains("<b>amnesty</b>"), "{}", r.hits[0].snippet);

    req.filters = Filters { speaker: Some("zabihullah MUJAHID".into()), ..Default::default() };
    let r = idx.search(&req).unwrap();
    assert_eq!(r.total, 2);
    assert!(r
        .hits
        .iter()
        .all(|h| matches!(&h.record, Record::Claim(c) if c.speaker.as_deref() == Some("Zabihullah Mujahid"))));

    req.filters = Filters {
        kind: Some(Kind::Evidence),
        from: Some("2021-11".parse().unwrap()),
        to: Some("2021-12-04".parse().unwrap()),
        ..Default::default()
    };
    let r = idx.search(&SearchRequest { query: "taliban".into(), ..req.clone() }).unwrap();
    let ids: Vec<&str> = r.hits.iter().map(|h| h.record.id()).collect();
    assert!(ids.contains(&"hrw-2021-11-30-screenings") && ids.contains(&"joint-statement-2021-12-04"), "{ids:?}");
    assert!(!ids.contains(&"ohchr-bachelet-2021-09-13"));

    req.filters = Filters { publisher: Some("polygraph.info".into()), ..Default::default() };
    assert_eq!(idx.search(&SearchRequest { query: "*".into(), ..req.clone() }).unwrap().total, 5);

    let page1 = idx
        .search(&SearchRequest { query: "taliban".into(), limit: 3, offset: 0, filters: Filters::default() })
        .unwrap();
    let page2 = idx
        .search(&SearchRequest { query: "taliban".into(), limit: 3, offset: 3, filters: Filters::default() })
        .unwrap();
    assert_eq!(page1.total, page2.total);
    let mut seen: Vec<&str> = page1.hits.iter().chain(&page2.hits).map(|h| h.record.id()).collect();
    seen.dedup();
    assert_eq!(seen.len(), page1.hits.len() + page2.hits.len());

    let phrase = idx.search(&SearchRequest::new("\"amnesty decree\"")).unwrap();
    assert_eq!(phrase.total, 1);
    let boolean = idx.search(&SearchRequest::new("amnesty AND NOT taliban")).unwrap();
    assert!(boolean.hits.iter().all(|h| !h.snippet.to_lowercase().contains("taliban")));
}

#[test]
fn empty_absurd_and_malformed_queries_get_clear_errors() {
    let idx = corpus_index();
    for q in ["", "   "] {
        assert!(matches!(idx.search(&SearchRequest::new(q)), Err(Error::InvalidRequest(_))));
        assert!(matches!(idx.match_claims(&MatchRequest::new(q)), Err(Error::InvalidRequest(_))));
    }
    let huge = "amnesty ".repeat(20_000);
    assert!(matches!(idx.search(&SearchRequest::new(huge.clone())), Err(Error::InvalidRequest(_))));
    assert!(matches!(idx.match_claims(&MatchRequest::new(huge)), Err(Error::InvalidRequest(_))));
    assert!(matches!(idx.search(&SearchRequest::new("amnesty AND (")), Err(Error::QueryParse(_))));
    assert!(matches!(idx.search(&SearchRequest::new("nosuchfield:x")), Err(Error::QueryParse(_))));
    let mut r = SearchRequest::new("amnesty");
    r.limit = 0;
    assert!(matches!(idx.search(&r), Err(Error::InvalidRequest(_))));
    r.limit = 1_000_000;
    assert!(matches!(idx.search(&r), Err(Error::InvalidRequest(_))));
    // Only punctuation, stopwords, control characters and right-to-left text: answers, no panic.
    for q in ["?!...", "the of and", "\u{202e}\u{0627}\u{0644}\u{0639}\u{0641}\u{0648} \u{0001}"] {
        let res = idx.match_claims(&MatchRequest::new(q)).unwrap();
        assert!(!res.flagged);
    }
}

#[test]
fn twins_are_grouped_and_ranking_is_deterministic() {
    let idx = ClaimIndex::create_in_ram().unwrap();
    let claim = |id: &str, text: &str| {
        Record::Claim(serde_json::from_value(serde_json::json!({"id": id, "text": text})).unwrap())
    };
    idx.upsert(&[
        claim("20", "Drinking bleach cures the virus."),
        claim("7", "drinking “bleach” cures the virus"),
        claim("9", "Bleach is a cleaning product."),
    ])
    .unwrap();
    let res = idx.match_claims(&MatchRequest::new("does drinking bleach cure the virus")).unwrap();
    assert_eq!(res.hits[0].claim.id, "20");
    assert_eq!(res.hits[0].twins, vec!["7".to_string()]);
    assert_eq!(res.hits.len(), 2);
}

#[test]
fn twin_ties_go_to_the_lowest_id_across_segments_and_evidence_joins_by_key() {
    let idx = ClaimIndex::create_in_ram().unwrap();
    let record = |v: serde_json::Value| -> Record { serde_json::from_value(v).unwrap() };
    let claim = |id: &str, text: &str| record(serde_json::json!({"kind": "claim", "id": id, "text": text}));
    // Separate commits put the twins in separate segments.
    idx.upsert(&[claim("b", "Drinking bleach cures the virus."), claim("x", "Bleach is a cleaning product.")]).unwrap();
    idx.upsert(&[claim("a", "drinking bleach cures the virus")]).unwrap();
    idx.upsert(&[claim("c", "Vaccines alter your genes."), claim("d", "Masks make oxygen levels drop.")]).unwrap();
    // Evidence that shares words with the statement only through its own text.
    idx.upsert(&[record(
        serde_json::json!({"kind": "evidence", "id": "e", "text": "Messenger RNA never enters the nucleus.",
        "claims": [{"claim_id": "c", "stance": "refutes"}]}),
    )])
    .unwrap();
    let res = idx.match_claims(&MatchRequest::new("does drinking bleach cure the virus")).unwrap();
    assert_eq!(res.hits[0].claim.id, "a");
    assert_eq!(res.hits[0].twins, vec!["b".to_string()]);
    let res = idx.match_claims(&MatchRequest::new("messenger RNA enters the nucleus")).unwrap();
    assert_eq!(res.hits[0].claim.id, "c", "{res:?}");
    assert_eq!(res.hits[0].evidence.len(), 1);
    assert!(res.hits[0].evidence[0].evidence.id == "e");
}

#[test]
fn upsert_and_delete() {
    let idx = corpus_index();
    let mut c = idx.get_claim("polygraph-balki-2021-12-05").unwrap();
    c.tags.push("updated".into());
    idx.upsert(&[Record::Claim(c)]).unwrap();
    assert_eq!(idx.num_records(), 12);
    assert!(idx.get_claim("polygraph-balki-2021-12-05").unwrap().tags.contains(&"updated".to_string()));
    assert!(idx.delete("polygraph-balki-2021-12-05").unwrap());
    assert!(!idx.delete("polygraph-balki-2021-12-05").unwrap());
    assert!(matches!(idx.get("polygraph-balki-2021-12-05"), Err(Error::NotFound(_))));
    let stats = idx.stats().unwrap();
    assert_eq!((stats.claims, stats.evidence), (4, 7));
}

#[test]
fn replaying_a_hand_made_debate_ranks_the_repeats_first() {
    use claimdex::eval;
    let transcripts = eval::read_transcripts(&fixture("debate")).unwrap();
    let qrels = eval::read_qrels(&fixture("debate/qrels.tsv")).unwrap();
    // Lexical always; hybrid too when the semantic model is fetched.
    let mut indexes = vec![corpus_index()];
    indexes.extend(crate::util::corpus_index_semantic());
    for idx in indexes {
        let mut dump = Vec::new();
        let (report, samples) = eval::replay_debates(&idx, &transcripts, &qrels, 0, Some(&mut dump)).unwrap();
        assert_eq!((report.debates, report.sentences, report.repeats), (1, 24, 5));
        assert_eq!(samples.len(), 24);
        // The dump reads back as the same samples (to 5 decimals), for `train-flag --samples`.
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &dump).unwrap();
        let back = eval::read_dump(file.path()).unwrap();
        assert_eq!(back.len(), samples.len());
        for ((x, l), (y, m)) in back.iter().zip(&samples) {
            assert_eq!(l, m);
            assert!(x.iter().zip(y).all(|(a, b)| (a - b).abs() < 1e-4), "{x:?} vs {y:?}");
        }
        assert!(report.ap > 0.8, "{report:?}");
        // The flag's second tier catches most repeats; nothing unrelated is flagged.
        assert!(report.suggested.correct >= 3, "{report:?}");
        assert_eq!(report.flagged.predicted, report.flagged.correct, "{report:?}");
        assert_eq!(report.flagged_with_right_claim, report.flagged.correct, "{report:?}");
    }
    // Each result carries the reasons for its flag decision.
    let idx = corpus_index();
    let res = idx
        .match_claims(&MatchRequest::new("The Mojahedin are fully committed to enforcing the amnesty decree."))
        .unwrap();
    assert!(!res.reasons.is_empty() && res.hits[0].claim.id == "polygraph-balki-2021-12-05", "{res:?}");
}

#[test]
fn the_match_model_reranks_only_the_top_hits() {
    use claimdex::MatchConfig;
    let idx = corpus_index();
    let req = MatchRequest { limit: Some(10), no_evidence: true, ..MatchRequest::new("Taliban amnesty for officials") };
    let fused = {
        idx.set_match_config(MatchConfig { rerank_depth: 0, ..MatchConfig::default() });
        idx.match_claims(&req).unwrap()
    };
    idx.set_match_config(MatchConfig { rerank_depth: 3, ..MatchConfig::default() });
    let reranked = idx.match_claims(&req).unwrap();
    let ids = |r: &claimdex::MatchResult| r.hits.iter().map(|h| h.claim.id.clone()).collect::<Vec<_>>();
    let (a, b) = (ids(&fused), ids(&reranked));
    assert!(a.len() > 3, "{a:?}");
    // The same claims; the first three in the match model's order, the rest in fused order.
    let mut top_a = a[..3].to_vec();
    top_a.sort();
    let mut top_b = b[..3].to_vec();
    top_b.sort();
    assert_eq!(top_a, top_b);
    assert_eq!(a[3..], b[3..]);
    assert!(reranked.hits[..3].windows(2).all(|w| w[0].score >= w[1].score), "{:?}", reranked.hits);
    // The flag sees the match model's confidence in the top hit.
    let k = claimdex::flag::MATCH_PROB;
    assert_eq!(reranked.features[k], reranked.hits[0].score);
}

#[test]
fn the_query_adapter_learns_from_judged_queries_and_maps_statements() {
    use claimdex::adapter::{training_set, QueryAdapter, TrainOptions};
    use claimdex::{eval, MatchConfig};
    let Some(idx) = crate::util::corpus_index_semantic() else { return };
    let transcripts = eval::read_transcripts(&fixture("debate")).unwrap();
    let qrels = eval::read_qrels(&fixture("debate/qrels.tsv")).unwrap();
    let t = transcripts.values().next().unwrap();
    let queries: Vec<eval::Query> = qrels
        .keys()
        .map(|id| {
            let line = id.rsplit_once('_').unwrap().1;
            eval::Query { id: id.clone(), text: t.lines.iter().find(|l| l.number == line).unwrap().text.clone() }
        })
        .collect();
    let (set, ids) = training_set(&idx, &queries, &qrels, &transcripts).unwrap();
    assert_eq!(ids.len(), 5);
    assert_eq!(set.claims.len() / claimdex::embed::DIM, idx.stats().unwrap().claims as usize);
    // An adapter fitted hard to these five queries ranks each one's claim first by cosine.
    let options = TrainOptions { steps: 200, learning_rate: 1e-2, l2: 0.001, ..TrainOptions::default() };
    let adapter = QueryAdapter::train(std::slice::from_ref(&set), options, "the fixture debate").unwrap();
    // The mean margin of each query's claim over the best other claim, by the cosines the
    // matcher reports.
    let cosine_of_gold = |idx: &ClaimIndex| {
        let mut sum = 0.0;
        for q in &queries {
            let res = idx.match_claims(&eval::request_for(q, &transcripts, 10)).unwrap();
            let gold = &qrels[&q.id];
            let best = |right: bool| {
                res.hits
                    .iter()
                    .filter(|h| gold.contains(&h.claim.id) == right)
                    .filter_map(|h| h.semantic)
                    .fold(-1.0f32, f32::max)
            };
            sum += best(true) - best(false);
        }
        sum / queries.len() as f32
    };
    idx.set_query_adapters(QueryAdapter::identity(), None);
    let plain = cosine_of_gold(&idx);
    // Transcript sentences go through the transcript adapter; statements through the other.
    idx.set_query_adapters(QueryAdapter::identity(), Some(adapter.clone()));
    let adapted = cosine_of_gold(&idx);
    assert!(
        adapted > plain + 0.05,
        "mean margin of the right claims' cosine: {plain} without the adapter, {adapted} with it"
    );
    idx.set_query_adapters(adapter, None);
    assert!((cosine_of_gold(&idx) - plain).abs() < 1e-6);
    // `query_adapter=false` bypasses it.
    idx.set_query_adapters(QueryAdapter::identity(), Some(QueryAdapter::shipped_statement()));
    idx.set_match_config(MatchConfig { query_adapter: false, ..MatchConfig::default() });
    assert!((cosine_of_gold(&idx) - plain).abs() < 1e-6);
    // Out-of-fold evaluation: one debate is one group, so every fold but one trains on nothing.
    idx.set_match_config(MatchConfig::default());
    let (report, samples) = eval::evaluate_out_of_fold(&idx, &queries, &qrels, &transcripts, 3, options).unwrap();
    assert_eq!(report.as_is.queries, 5);
    assert!(!samples.is_empty());
    // A replay with out-of-fold transcript adapters screens every sentence.
    let (report, _) = eval::replay_debates(&idx, &transcripts, &qrels, 3, None).unwrap();
    assert_eq!((report.sentences, report.repeats), (24, 5));
}

#[test]
fn semantic_matching_finds_paraphrases_that_share_no_words() {
    let Some(idx) = crate::util::corpus_index_semantic() else { return };
    // No content word in common with Shaheen's claim.
    let res = idx.match_claims(&MatchRequest::new("That footage of soldiers being shot is a fabrication")).unwrap();
    assert_eq!(
        res.hits[0].claim.id,
        "polygraph-shaheen-2021-07-video-fake",
        "{:?}",
        res.hits.iter().map(|h| (&h.claim.id, h.semantic)).collect::<Vec<_>>()
    );
    assert!(res.hits[0].semantic.unwrap() > 0.4);
    let lexical = corpus_index()
        .match_claims(&MatchRequest::new("That footage of soldiers being shot is a fabrication"))
        .unwrap();
    assert!(lexical.hits.is_empty() || lexical.hits[0].claim.id != "polygraph-shaheen-2021-07-video-fake");
    // Stored vectors survive a reopen from disk.
    let dir = tempfile::tempdir().unwrap();
    let disk = ClaimIndex::create_in_dir(dir.path()).unwrap().with_embedder(idx.embedder().unwrap().clone());
    disk.ingest(ingest::read_paths(&[root().join("corpus")], false).unwrap(), IngestOptions::default(), &mut |_| {})
        .unwrap();
    drop(disk);
    let reopened = ClaimIndex::open_in_dir(dir.path()).unwrap().with_embedder(idx.embedder().unwrap().clone());
    let again =
        reopened.match_claims(&MatchRequest::new("That footage of soldiers being shot is a fabrication")).unwrap();
    assert_eq!(again.hits[0].claim.id, "polygraph-shaheen-2021-07-video-fake");
}

#[test]
fn claims_only_screening_leaves_the_passages_out_and_keeps_the_best_claims() {
    let idx = corpus_index();
    let statements = [
        "fully committed to amnesty",
        "the Mojahedin are fully committed to enforcing the amnesty decree",
        "the Taliban hold no grudges against anyone",
        "the video of the Taliban executing Afghan commandos is fake",
    ];
    let top = |idx: &ClaimIndex, s: &str| idx.match_claims(&MatchRequest::new(s)).unwrap();
    let before: Vec<_> = statements.iter().map(|s| top(&idx, s)).collect();
    // Asked for by one request, with the index's defaults left as they are.
    let asked: Vec<_> = statements
        .iter()
        .map(|s| idx.match_claims(&MatchRequest { screening: true, ..MatchRequest::new(*s) }).unwrap())
        .collect();
    idx.set_match_config(claimdex::MatchConfig::screening());
    let evidence = claimdex::flag::FEATURES.iter().position(|f| *f == "evidence").unwrap();
    let hits = |r: &claimdex::MatchResult| -> Vec<(String, Vec<f32>)> {
        r.hits.iter().map(|h| (h.claim.id.clone(), h.features.clone())).collect()
    };
    for ((s, b), a) in statements.iter().zip(&before).zip(&asked) {
        let res = top(&idx, s);
        assert_eq!(res.hits[0].claim.id, b.hits[0].claim.id, "{s}");
        assert_eq!(res.hits.len(), b.hits.len(), "{s}");
        // No passage is scored, but the hits still carry their evidence.
        assert!(res.hits.iter().all(|h| h.features[evidence] == 0.0), "{s}");
        assert!(b.hits.iter().any(|h| h.features[evidence] > 0.0), "{s}: the defaults score passages");
        assert_eq!(res.hits[0].evidence.len(), b.hits[0].evidence.len(), "{s}");
        assert_eq!(hits(a), hits(&res), "{s}: a screening request matches as a screening index does");
    }
}

#[test]
fn a_batch_split_between_threads_answers_in_order_as_one_statement_at_a_time_does() {
    let idx = corpus_index();
    let base = [
        "fully committed to amnesty",
        "That footage of soldiers being shot is a fabrication",
        "the Taliban are hunting down former soldiers",
        "the weather was nice on Tuesday",
        "the the the",
    ];
    // Enough statements for every core to take a share, with refused ones among them.
    let n = 4 * claimdex::matcher::BATCH_CHUNK + 7;
    let reqs: Vec<MatchRequest> = (0..n)
        .map(|i| match i % 31 {
            30 => MatchRequest::new(" "),
            _ => {
                let mut r = MatchRequest::new(format!("{} {}", base[i % base.len()], ["", "now", "again"][i % 3]));
                r.no_evidence = i % 2 == 0;
                r.screening = i % 5 == 0;
                r.limit = Some(1 + i % 4);
                r
            }
        })
        .collect();
    let batch = idx.match_batch(&reqs);
    assert_eq!(batch.len(), n);
    for (i, (req, b)) in reqs.iter().zip(batch).enumerate() {
        let Ok(one) = idx.match_claims(req) else {
            assert!(matches!(b, Err(Error::InvalidRequest(_))), "slot {i}");
            continue;
        };
        let b = b.unwrap();
        assert_eq!(b.text, req.text, "slot {i}");
        let hits = |r: &claimdex::MatchResult| -> Vec<(String, f32, usize)> {
            r.hits.iter().map(|h| (h.claim.id.clone(), h.score, h.evidence.len())).collect()
        };
        assert_eq!(hits(&one), hits(&b), "slot {i}: {}", req.text);
        assert_eq!((one.score, one.flagged), (b.score, b.flagged), "slot {i}");
    }
}

#[test]
fn one_statement_at_a_time_matches_as_a_batch_does_with_the_model() {
    // `match_claims` embeds the statement while the lexical search runs; `match_batch` embeds
    // first. Both must rank and score alike.
    let Some(idx) = crate::util::corpus_index_semantic() else { return };
    // A server loads every claim's vectors before it takes requests.
    let claims = idx.searcher().doc_freq(&idx.fields().kind_term(claimdex::model::Kind::Claim)).unwrap();
    assert_eq!(idx.warm_up().unwrap() as u64, claims);
    let statements = [
        "That footage of soldiers being shot is a fabrication",
        "fully committed to amnesty",
        "the weather was nice on Tuesday",
        "the the the",
    ];
    let reqs: Vec<MatchRequest> = statements.iter().map(|s| MatchRequest::new(*s)).collect();
    let batch = idx.match_batch(&reqs);
    for (req, b) in reqs.iter().zip(batch) {
        let (one, b) = (idx.match_claims(req).unwrap(), b.unwrap());
        let hits = |r: &claimdex::MatchResult| -> Vec<(String, f32)> {
            r.hits.iter().map(|h| (h.claim.id.clone(), h.score)).collect()
        };
        let (x, y) = (hits(&one), hits(&b));
        assert_eq!(x.len(), y.len(), "{}: {x:?} against {y:?}", req.text);
        for (a, c) in x.iter().zip(&y) {
            assert!(a.0 == c.0 && (a.1 - c.1).abs() < 1e-3, "{}: {x:?} against {y:?}", req.text);
        }
        assert_eq!(one.flagged, b.flagged, "{}", req.text);
    }
}

#[test]
fn every_candidate_gets_its_best_passage_and_the_passage_search_brings_in_claims() {
    let idx = ClaimIndex::create_in_ram().unwrap();
    let record = |v: serde_json::Value| -> Record { serde_json::from_value(v).unwrap() };
    let claim = |id: &str, text: &str| record(serde_json::json!({"kind": "claim", "id": id, "text": text}));
    let passage = |id: &str, text: &str, claim: &str| {
        record(serde_json::json!({"kind": "evidence", "id": id, "text": text,
            "claims": [{"claim_id": claim, "stance": "refutes"}]}))
    };
    idx.upsert(&[
        claim("taxes", "The senator voted to raise taxes on families."),
        claim("bridge", "Bridges are crumbling across the state."),
        claim("other", "The governor cut school funding."),
        passage("e-taxes", "Records show the senator voted against raising taxes on families in 2019.", "taxes"),
        passage("e-bridge", "Inspectors rated the Millbrook viaduct structurally deficient.", "bridge"),
    ])
    .unwrap();
    let evidence = claimdex::flag::feature_index("evidence").unwrap();
    let statement = "The senator voted to raise taxes; the Millbrook viaduct is deficient.";
    let hit = |res: &claimdex::MatchResult, id: &str| res.hits.iter().find(|h| h.claim.id == id).cloned();

    // With no passage search, the claims found by their own text still get their passages' scores...
    let mut config = idx.match_config();
    config.set("evidence_candidates=0").unwrap();
    idx.set_match_config(config.clone());
    let res = idx.match_claims(&MatchRequest::new(statement)).unwrap();
    let taxes = hit(&res, "taxes").expect("found by its text");
    assert!(taxes.features[evidence] > 0.1, "{:?}", taxes.features);
    // ...but a claim that shares words with the statement only through its evidence is not found.
    assert!(hit(&res, "bridge").is_none(), "{res:?}");

    // The passage search (on the statement's rarest terms) brings it in, with the same exact score.
    config.set("evidence_candidates=20").unwrap();
    idx.set_match_config(config);
    let res = idx.match_claims(&MatchRequest::new(statement)).unwrap();
    let bridge = hit(&res, "bridge").expect("brought in by its passage");
    assert!(bridge.features[evidence] > 0.1, "{:?}", bridge.features);
    assert_eq!(hit(&res, "taxes").unwrap().features[evidence], taxes.features[evidence]);
    assert_eq!(bridge.evidence[0].evidence.id, "e-bridge");
}

#[test]
fn a_repeated_id_replaces_the_record_within_one_ingest_and_across_reopenings() {
    let dir = tempfile::tempdir().unwrap();
    let record = |id: &str, text: &str| -> Record {
        serde_json::from_value(serde_json::json!({"kind": "claim", "id": id, "text": text})).unwrap()
    };
    {
        let idx = ClaimIndex::create_in_dir(dir.path()).unwrap();
        // The same id twice in one stream: the later record wins and only one is kept.
        idx.upsert(&[record("a", "first text"), record("b", "other"), record("a", "second text")]).unwrap();
        assert_eq!(idx.num_records(), 2);
        assert_eq!(idx.get_claim("a").unwrap().text, "second text");
    }
    // A new process (a fresh reader) replaces what an earlier one committed.
    let idx = ClaimIndex::open_in_dir(dir.path()).unwrap();
    idx.upsert(&[record("a", "third text"), record("c", "new")]).unwrap();
    assert_eq!(idx.num_records(), 3);
    assert_eq!(idx.get_claim("a").unwrap().text, "third text");
    assert_eq!(idx.get_claim("b").unwrap().text, "other");
}

#[test]
fn merging_segments_keeps_every_record_and_the_same_matches() {
    let dir = tempfile::tempdir().unwrap();
    let idx = ClaimIndex::create_in_dir(dir.path()).unwrap();
    // One commit per file: several segments.
    for f in std::fs::read_dir(root().join("corpus")).unwrap() {
        let recs = ingest::read_paths(&[f.unwrap().path()], false).unwrap();
        idx.ingest(recs, IngestOptions::default(), &mut |_| {}).unwrap();
    }
    idx.upsert(&[serde_json::from_value(
        serde_json::json!({"kind": "claim", "id": "x", "text": "Bridges are crumbling."}),
    )
    .unwrap()])
        .unwrap();
    let before = idx.stats().unwrap();
    assert!(before.segments > 1, "{before:?}");
    let req = MatchRequest::new("fully committed to amnesty");
    let hits = |r: claimdex::MatchResult| r.hits.into_iter().map(|h| (h.claim.id, h.score)).collect::<Vec<_>>();
    let matched = hits(idx.match_claims(&req).unwrap());
    assert_eq!(idx.merge_segments().unwrap(), before.segments);
    let after = idx.stats().unwrap();
    assert_eq!(after.segments, 1);
    assert_eq!((after.claims, after.evidence), (before.claims, before.evidence));
    assert_eq!(hits(idx.match_claims(&req).unwrap()), matched);
    // Writing after a merge works, and a reopened index sees one segment plus the new one.
    idx.upsert(&[
        serde_json::from_value(serde_json::json!({"kind": "claim", "id": "y", "text": "Taxes went up."})).unwrap()
    ])
    .unwrap();
    drop(idx);
    let reopened = ClaimIndex::open_in_dir(dir.path()).unwrap();
    assert_eq!(reopened.stats().unwrap().claims, after.claims + 1);
    assert_eq!(reopened.stats().unwrap().segments, 2);
}

/// 40 claims "Taxes went up in county number N.", one that says "viaduct" (and "taxes" twice,
/// and "mayor"), and the `more` claims (id, text).
fn county_taxes(more: &[(&str, &str)]) -> ClaimIndex {
    let idx = ClaimIndex::create_in_ram().unwrap();
    let claim = |id: String, text: String| -> Record {
        serde_json::from_value(serde_json::json!({"kind": "claim", "id": id, "text": text})).unwrap()
    };
    let mut records: Vec<Record> =
        (0..40).map(|i| claim(format!("c{i:02}"), format!("Taxes went up in county number {i}."))).collect();
    records.push(claim("viaduct".into(), "Taxes paid for the viaduct, taxes the mayor raised.".into()));
    records.extend(more.iter().map(|(id, text)| claim(id.to_string(), text.to_string())));
    idx.upsert(&records).unwrap();
    idx
}

#[test]
fn common_terms_are_left_out_of_the_candidate_search_but_scored() {
    // "taxes" is in every claim; "viaduct" in one, which also says "taxes" twice.
    let idx = county_taxes(&[]);
    let statement = "taxes viaduct";
    let run = |settings: &[&str]| {
        let mut config = claimdex::MatchConfig::default();
        for s in settings {
            config.set(s).unwrap();
        }
        idx.set_match_config(config);
        idx.match_claims(&MatchRequest { limit: Some(3), ..MatchRequest::new(statement) }).unwrap()
    };
    let all = run(&["candidates=2", "candidate_df=0", "rerank_depth=0"]);
    let pruned = run(&["candidates=2", "candidate_df=0.5", "rerank_depth=0"]);
    // Searching on "viaduct" alone finds the one claim, scored on both terms as before...
    assert_eq!(all.hits[0].claim.id, "viaduct");
    assert_eq!(pruned.hits[0].claim.id, "viaduct");
    assert_eq!(pruned.hits[0].lexical, all.hits[0].lexical);
    // ...and the claims that only share the common term are no longer looked at.
    assert!(all.hits.len() == 2, "{:?}", all.hits);
    assert!(pruned.hits.len() == 1, "{:?}", pruned.hits);
    // A term in fewer claims than `candidates` is never left out.
    let small = run(&["candidates=100", "candidate_df=0.5", "rerank_depth=0"]);
    assert_eq!(small.hits.len(), 3);
}

#[test]
fn the_candidate_search_reads_the_rarest_terms_within_its_postings_budget() {
    // "taxes" is in 42 claims, "mayor" in 2, "viaduct" in 1.
    let idx = county_taxes(&[("mayor", "The mayor cut taxes.")]);
    let run_with = |statement: &str, context: Option<&str>, budget: u64| {
        let mut config = claimdex::MatchConfig::default();
        for s in ["candidates=60", "candidate_df=0", "rerank_depth=0", &format!("candidate_postings={budget}")] {
            config.set(s).unwrap();
        }
        idx.set_match_config(config);
        let req = MatchRequest { limit: Some(60), context: context.map(String::from), ..MatchRequest::new(statement) };
        let res = idx.match_claims(&req).unwrap();
        res.hits.into_iter().map(|h| (h.claim.id, h.lexical)).collect::<Vec<_>>()
    };
    let run = |statement: &str, budget: u64| run_with(statement, None, budget);
    fn ids(hits: &[(String, f32)]) -> Vec<&str> {
        hits.iter().map(|h| h.0.as_str()).collect()
    }
    // No budget: every claim with a statement term is looked at.
    let all = run("taxes viaduct mayor", 0);
    assert_eq!(all.len(), 42);
    assert_eq!(&ids(&all)[..2], ["viaduct", "mayor"]);
    // Room for the postings of "viaduct" and "mayor" (1 + 2): "taxes" is left out of the search,
    // and the two claims found are scored on all three terms, as before.
    assert_eq!(run("taxes viaduct mayor", 3), all[..2]);
    // Room for "viaduct" alone.
    assert_eq!(run("taxes viaduct mayor", 2), all[..1]);
    // The rarest term is searched even when its postings alone are over the budget.
    assert_eq!(ids(&run("taxes mayor", 1)), ["mayor", "viaduct"]);
    assert_eq!(run("taxes mayor", 1000).len(), 42);
    // The previous sentence's terms are searched in what the statement's leave: "mayor" fits
    // beside "viaduct" in 3 postings, "taxes" does not; in 2 postings neither does.
    let ids_of = |budget| ids(&run_with("viaduct", Some("the mayor and taxes"), budget)).join(" ");
    assert_eq!(ids_of(0).split(' ').count(), 42);
    assert_eq!(ids_of(3), "viaduct mayor");
    assert_eq!(ids_of(2), "viaduct");
}
