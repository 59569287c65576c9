#!/usr/bin/python3
"""Xapian peer for benches/scale.rs: index claims, time queries, write the rankings.

Usage: xapian_bench.py CLAIMS_TSV QUERIES_TSV RUN_OUT DB_DIR
  CLAIMS_TSV   id <TAB> text (claim and title as one field)
  QUERIES_TSV  qid <TAB> query terms (links stripped, stopwords dropped by the caller)
  RUN_OUT      written: qid <TAB> claim id <TAB> rank, top 5 per query
Prints one JSON line: version, build seconds, size, per-query latency percentiles, peak RSS.
English stemming (STEM_SOME) at index and query time; BM25 (Xapian's default weighting); OR.
"""
import json
import os
import resource
import sys
import time

import xapian

WARMUP = 50
TOP = 5


def main():
    claims_path, queries_path, run_path, db_dir = sys.argv[1:5]
    stem = xapian.Stem("english")
    start = time.perf_counter()
    db = xapian.WritableDatabase(db_dir, xapian.DB_CREATE_OR_OVERWRITE)
    tg = xapian.TermGenerator()
    tg.set_stemmer(stem)
    tg.set_stemming_strategy(xapian.TermGenerator.STEM_SOME)
    n = 0
    with open(claims_path, encoding="utf-8") as f:
        for line in f:
            cid, _, body = line.rstrip("\n").partition("\t")
            doc = xapian.Document()
            tg.set_document(doc)
            tg.index_text(body)
            doc.set_data(cid)
            db.add_document(doc)
            n += 1
    db.commit()
    db.close()
    build = time.perf_counter() - start
    size = sum(os.path.getsize(os.path.join(db_dir, f)) for f in os.listdir(db_dir))

    db = xapian.Database(db_dir)
    enquire = xapian.Enquire(db)
    qp = xapian.QueryParser()
    qp.set_stemmer(stem)
    qp.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
    qp.set_database(db)
    qp.set_default_op(xapian.Query.OP_OR)

    queries = []
    with open(queries_path, encoding="utf-8") as f:
        for line in f:
            qid, _, text = line.rstrip("\n").partition("\t")
            queries.append((qid, text))

    def run(text):
        enquire.set_query(qp.parse_query(text, 0))
        return [m.document.get_data().decode() for m in enquire.get_mset(0, TOP)]

    for _, text in queries[:WARMUP]:
        run(text)
    lat = []
    with open(run_path, "w", encoding="utf-8") as out:
        for qid, text in queries:
            t = time.perf_counter()
            ids = run(text)
            lat.append((time.perf_counter() - t) * 1000.0)
            for rank, cid in enumerate(ids, 1):
                out.write(f"{qid}\t{cid}\t{rank}\n")
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, len(lat) * p // 100)] if lat else 0.0
    print(
        json.dumps(
            {
                "version": xapian.version_string(),
                "docs": n,
                "build_s": build,
                "bytes": size,
                "queries": len(lat),
                "p50_ms": pct(50),
                "p99_ms": pct(99),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            }
        )
    )


if __name__ == "__main__":
    main()
