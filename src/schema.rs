//! The tantivy schema: the one module that knows fields, and converts records to and from documents.

use std::cell::RefCell;
use std::collections::HashMap;

use tantivy::postings::TermInfo;
use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::{
    BytesOptions, Field, IndexRecordOption, NumericOptions, Schema, SchemaBuilder, TextFieldIndexing, TextOptions,
    Value, FAST, INDEXED, STORED, STRING,
};
use tantivy::{Searcher, TantivyDocument, Term};

use crate::analysis::{Lang, LANGS, PLAIN};
use crate::model::{Kind, Record};
use crate::{Error, Result};

/// Record id (exact).
pub const FIELD_ID: &str = "id";
/// "claim" or "evidence".
pub const FIELD_KIND: &str = "kind";
/// Speaker of a claim or source of evidence, tokenized for search.
pub const FIELD_SPEAKER: &str = "speaker";
/// Speaker or source, lowercased whole, for exact filters.
pub const FIELD_SPEAKER_EXACT: &str = "speaker_exact";
/// Publisher name of the review, lowercased whole, for exact filters.
pub const FIELD_PUBLISHER: &str = "publisher";
/// Normalized verdict ("misleading").
pub const FIELD_VERDICT: &str = "verdict";
/// Days since 1970-01-01 of the claim's (or evidence's) date.
pub const FIELD_DATE: &str = "date";
/// For evidence: the ids of the claims it bears on.
pub const FIELD_CLAIM_REF: &str = "claim_ref";
/// For evidence: [`id_key`] of each claim it bears on (a u64 column and term: the match joins
/// passages to claims by it and finds the passages of its candidates through it).
pub const FIELD_CLAIM_KEY: &str = "claim_key";
/// [`id_key`] of the record's id: a u64 column and term, so that the match compares and looks
/// up numbers and turns only its final hits back into string ids.
pub const FIELD_ID_KEY: &str = "id_key";
/// A key shared by claims whose statement text is the same but for case and punctuation
/// (see [`dup_key`]).
pub const FIELD_DUP_KEY: &str = "dup_key";
/// The whole record as JSON.
pub const FIELD_RECORD: &str = "record";
/// A claim's embeddings (see `vectors::encode`).
pub const FIELD_VECTOR: &str = "vector";
/// Prefix of the per-language full-text fields of claims ("body_en"): statement and review title.
pub const BODY_PREFIX: &str = "body_";
/// Prefix of the per-language full-text fields of evidence ("evidence_en"): the excerpt.
///
/// Claims and evidence have separate text fields so that a query over claims needs no `kind`
/// filter, and reads the postings of claims alone (a passage-heavy term would otherwise bring
/// its passages' postings into every claim search). [`BodyStats`] makes BM25 see each pair of
/// fields as one.
pub const EVIDENCE_PREFIX: &str = "evidence_";

/// Handles to every field of the claimdex schema.
#[derive(Debug, Clone)]
pub struct ClaimFields {
    /// See [`FIELD_ID`].
    pub id: Field,
    /// See [`FIELD_KIND`].
    pub kind: Field,
    /// See [`FIELD_SPEAKER`].
    pub speaker: Field,
    /// See [`FIELD_SPEAKER_EXACT`].
    pub speaker_exact: Field,
    /// See [`FIELD_PUBLISHER`].
    pub publisher: Field,
    /// See [`FIELD_VERDICT`].
    pub verdict: Field,
    /// See [`FIELD_DATE`].
    pub date: Field,
    /// See [`FIELD_CLAIM_REF`].
    pub claim_ref: Field,
    /// See [`FIELD_CLAIM_KEY`].
    pub claim_key: Field,
    /// See [`FIELD_ID_KEY`].
    pub id_key: Field,
    /// See [`FIELD_DUP_KEY`].
    pub dup_key: Field,
    /// See [`FIELD_RECORD`].
    pub record: Field,
    /// See [`FIELD_VECTOR`].
    pub vector: Field,
    /// One claim body field per stemmed language, in [`LANGS`] order, then the plain one.
    pub bodies: Vec<(Option<Lang>, Field)>,
    /// The evidence body fields, in the same order.
    pub evidence_bodies: Vec<(Option<Lang>, Field)>,
}

fn body_name(prefix: &str, lang: Option<Lang>) -> String {
    format!("{prefix}{}", lang.map(|l| l.code).unwrap_or(PLAIN))
}

impl ClaimFields {
    /// Builds the schema and the handles to its fields.
    pub fn build() -> (Schema, ClaimFields) {
        let mut b = SchemaBuilder::new();
        let id = b.add_text_field(FIELD_ID, STRING | STORED | FAST);
        let kind = b.add_text_field(FIELD_KIND, STRING | FAST);
        let speaker = b.add_text_field(
            FIELD_SPEAKER,
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(PLAIN)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            ),
        );
        let speaker_exact = b.add_text_field(FIELD_SPEAKER_EXACT, STRING | FAST);
        let publisher = b.add_text_field(FIELD_PUBLISHER, STRING | FAST);
        let verdict = b.add_text_field(FIELD_VERDICT, STRING | FAST);
        let date = b.add_i64_field(FIELD_DATE, NumericOptions::default() | INDEXED | FAST);
        let claim_ref = b.add_text_field(FIELD_CLAIM_REF, STRING);
        let claim_key = b.add_u64_field(FIELD_CLAIM_KEY, INDEXED | FAST);
        let id_key = b.add_u64_field(FIELD_ID_KEY, INDEXED | FAST);
        let dup_key = b.add_u64_field(FIELD_DUP_KEY, FAST);
        let record = b.add_text_field(FIELD_RECORD, STORED);
        let vector = b.add_bytes_field(FIELD_VECTOR, BytesOptions::default().set_fast());
        let mut bodies = Vec::new();
        let mut evidence_bodies = Vec::new();
        for (prefix, out) in [(BODY_PREFIX, &mut bodies), (EVIDENCE_PREFIX, &mut evidence_bodies)] {
            for lang in LANGS.iter().copied().map(Some).chain([None]) {
                let analyzer = lang.map(|l| l.analyzer_name()).unwrap_or_else(|| PLAIN.to_string());
                let opts = TextOptions::default()
                    .set_indexing_options(
                        TextFieldIndexing::default()
                            .set_tokenizer(&analyzer)
                            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
                    )
                    .set_stored();
                out.push((lang, b.add_text_field(&body_name(prefix, lang), opts)));
            }
        }
        let fields = ClaimFields {
            id,
            kind,
            speaker,
            speaker_exact,
            publisher,
            verdict,
            date,
            claim_ref,
            claim_key,
            id_key,
            dup_key,
            record,
            vector,
            bodies,
            evidence_bodies,
        };
        (b.build(), fields)
    }

    /// Finds the handles in an existing index's schema; fails if it is not a claimdex schema.
    pub fn from_schema(schema: &Schema) -> Result<ClaimFields> {
        let (expected, fields) = ClaimFields::build();
        for (_, entry) in expected.fields() {
            let name = entry.name();
            match schema.get_field(name) {
                Ok(f) if schema.get_field_entry(f) == entry && Some(f) == expected.get_field(name).ok() => {}
                _ => {
                    return Err(Error::InvalidRequest(format!(
                        "the index was not built by this version of claimdex (field `{name}` differs); rebuild it: remove the directory and index again (the default index/ is rebuilt from corpus/ on first use)"
                    )))
                }
            }
        }
        Ok(fields)
    }

    /// The body field for a language tag; unstemmed languages share the plain field.
    pub fn body(&self, lang: Option<Lang>) -> Field {
        field_for(&self.bodies, lang)
    }

    /// The evidence body field for a language tag.
    pub fn evidence_body(&self, lang: Option<Lang>) -> Field {
        field_for(&self.evidence_bodies, lang)
    }

    /// The body field of a kind of record in a language.
    pub fn body_of(&self, kind: Kind, lang: Option<Lang>) -> Field {
        match kind {
            Kind::Claim => self.body(lang),
            Kind::Evidence => self.evidence_body(lang),
        }
    }

    /// All body fields, claims' then evidence's.
    pub fn all_bodies(&self) -> Vec<Field> {
        self.bodies.iter().chain(&self.evidence_bodies).map(|(_, f)| *f).collect()
    }

    /// The other field of a claim/evidence body pair of the same language (`None` for any other field).
    pub fn paired_body(&self, field: Field) -> Option<Field> {
        let pos = |v: &[(Option<Lang>, Field)]| v.iter().position(|(_, f)| *f == field);
        if let Some(i) = pos(&self.bodies) {
            return Some(self.evidence_bodies[i].1);
        }
        pos(&self.evidence_bodies).map(|i| self.bodies[i].1)
    }

    /// The term that identifies a record by id.
    pub fn id_term(&self, id: &str) -> Term {
        Term::from_field_text(self.id, id)
    }

    /// The term that finds a record by [`id_key`] of its id.
    pub fn id_key_term(&self, key: u64) -> Term {
        Term::from_field_u64(self.id_key, key)
    }

    /// The term that selects a kind of record.
    pub fn kind_term(&self, kind: Kind) -> Term {
        Term::from_field_text(self.kind, kind.as_str())
    }

    /// Converts a record to a tantivy document.
    /// `vector` is a claim's encoded embeddings, if any (see `vectors::encode`).
    pub fn to_document(&self, record: &Record, vector: Option<&[u8]>) -> Result<TantivyDocument> {
        let mut doc = TantivyDocument::new();
        doc.add_text(self.id, record.id());
        doc.add_u64(self.id_key, id_key(record.id()));
        doc.add_text(self.kind, record.kind().as_str());
        let json = serde_json::to_string(record)
            .map_err(|e| Error::InvalidRequest(format!("record {} cannot be serialized: {e}", record.id())))?;
        doc.add_text(self.record, json);
        match record {
            Record::Claim(c) => {
                let body = self.body(Lang::of_tag(&c.language));
                let title = c.review.as_ref().and_then(|r| r.title.as_deref()).unwrap_or("");
                doc.add_text(body, format!("{}\n{}", c.text, title).trim());
                if let Some(s) = &c.speaker {
                    doc.add_text(self.speaker, s);
                    doc.add_text(self.speaker_exact, normalize_name(s));
                }
                if let Some(p) = c.review.as_ref().and_then(|r| r.publisher.as_ref()) {
                    doc.add_text(self.publisher, normalize_name(&p.name));
                }
                if let Some(v) = &c.verdict {
                    doc.add_text(self.verdict, v.rating.as_str());
                }
                if let Some(d) = c.date {
                    doc.add_i64(self.date, d.first_day());
                }
                doc.add_u64(self.dup_key, dup_key(&c.text));
                if let Some(v) = vector {
                    doc.add_bytes(self.vector, v);
                }
            }
            Record::Evidence(e) => {
                doc.add_text(self.evidence_body(Lang::of_tag(&e.language)), &e.text);
                if let Some(s) = &e.source {
                    doc.add_text(self.speaker, s);
                    doc.add_text(self.speaker_exact, normalize_name(s));
                }
                if let Some(d) = e.date {
                    doc.add_i64(self.date, d.first_day());
                }
                for link in &e.claims {
                    doc.add_text(self.claim_ref, &link.claim_id);
                    doc.add_u64(self.claim_key, id_key(&link.claim_id));
                }
            }
        }
        Ok(doc)
    }

    /// Reads the record back from a stored document.
    pub fn from_document(&self, doc: &TantivyDocument) -> Result<Record> {
        let json = doc
            .get_first(self.record)
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::InvalidRequest("a document has no stored record".into()))?;
        serde_json::from_str(json).map_err(|e| Error::InvalidRequest(format!("a stored record cannot be read: {e}")))
    }
}

/// A term's document frequency and its entry in each segment's dictionary.
type Lookup = (u64, Vec<Option<TermInfo>>);

/// BM25 statistics that count each claim/evidence body pair of a language as one field, so that
/// scores are what they would be with claims and evidence in one field: the document frequency
/// of a term and the token count of a field add up the pair's.
///
/// Each lookup is kept for the life of the value: a match asks for a term's frequency several
/// times (its idf, the candidate search's weight, the exact scores' weights), and each asking
/// walks the term dictionary of every segment. The exact scores also read their postings from
/// the dictionary entries kept here.
pub struct BodyStats<'a> {
    searcher: &'a Searcher,
    fields: &'a ClaimFields,
    doc_freqs: RefCell<HashMap<Term, Lookup>>,
    num_tokens: RefCell<HashMap<Field, u64>>,
}

impl<'a> BodyStats<'a> {
    /// Statistics over the searcher's segments.
    pub fn new(searcher: &'a Searcher, fields: &'a ClaimFields) -> Self {
        BodyStats { searcher, fields, doc_freqs: RefCell::default(), num_tokens: RefCell::default() }
    }

    /// The documents holding `term` in its own field (not counting the paired one).
    pub fn own_doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        self.look_up(term)?;
        Ok(self.doc_freqs.borrow()[term].0)
    }

    /// The term's entry in the dictionary of segment `segment_ord` (None if it has no postings there).
    pub fn term_info(&self, term: &Term, segment_ord: u32) -> tantivy::Result<Option<TermInfo>> {
        self.look_up(term)?;
        Ok(self.doc_freqs.borrow()[term].1.get(segment_ord as usize).cloned().flatten())
    }

    /// Looks the term up in every segment's dictionary, once.
    fn look_up(&self, term: &Term) -> tantivy::Result<()> {
        if self.doc_freqs.borrow().contains_key(term) {
            return Ok(());
        }
        let mut infos = Vec::with_capacity(self.searcher.segment_readers().len());
        for reader in self.searcher.segment_readers() {
            infos.push(reader.inverted_index(term.field())?.get_term_info(term)?);
        }
        let n = infos.iter().flatten().map(|i| u64::from(i.doc_freq)).sum();
        self.doc_freqs.borrow_mut().insert(term.clone(), (n, infos));
        Ok(())
    }

    fn own_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        if let Some(&n) = self.num_tokens.borrow().get(&field) {
            return Ok(n);
        }
        let n = self.searcher.total_num_tokens(field)?;
        self.num_tokens.borrow_mut().insert(field, n);
        Ok(n)
    }
}

impl Bm25StatisticsProvider for BodyStats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let own = self.own_num_tokens(field)?;
        match self.fields.paired_body(field) {
            Some(pair) => Ok(own + self.own_num_tokens(pair)?),
            None => Ok(own),
        }
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Bm25StatisticsProvider::total_num_docs(self.searcher)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let own = self.own_doc_freq(term)?;
        match (self.fields.paired_body(term.field()), term.value().as_str()) {
            (Some(pair), Some(text)) => Ok(own + self.own_doc_freq(&Term::from_field_text(pair, text))?),
            _ => Ok(own),
        }
    }
}

/// Speaker and publisher names for exact filters: lowercased, whitespace collapsed.
pub fn normalize_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The grouping key of identical statements: a hash of their lowercase letters and digits, so
/// that texts differing only in case, quote marks or spacing share it.
pub fn dup_key(text: &str) -> u64 {
    let mut hash = Fnv::default();
    for c in text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase) {
        let mut buf = [0u8; 4];
        hash.write(c.encode_utf8(&mut buf).as_bytes());
    }
    hash.0
}

/// The field of `fields` (one per language, `None` for the plain field) for a language tag.
fn field_for(fields: &[(Option<Lang>, Field)], lang: Option<Lang>) -> Field {
    let code = lang.map(|l| l.code);
    fields
        .iter()
        .find(|(l, _)| l.map(|l| l.code) == code)
        .map(|(_, f)| *f)
        .expect("the schema has a field for every language and a plain one")
}

/// The numeric key of a record id: its 64-bit FNV-1a hash. Two ids of a million share a key
/// with odds of about 3 in 10^8; the match would then treat them as one claim.
pub fn id_key(id: &str) -> u64 {
    let mut hash = Fnv::default();
    hash.write(id.as_bytes());
    hash.0
}

/// 64-bit FNV-1a: a stable hash (std's hasher is randomized per process).
#[derive(Debug, Clone, Copy)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Feeds bytes into the hash.
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClaimIndex;

    #[test]
    fn an_index_with_the_old_fields_asks_for_a_rebuild() {
        // Before the u64 keys, `dup_key` was a string field.
        let mut b = SchemaBuilder::new();
        b.add_text_field(FIELD_ID, STRING | STORED | FAST);
        b.add_text_field(FIELD_DUP_KEY, STRING | FAST);
        let err = ClaimFields::from_schema(&b.build()).unwrap_err().to_string();
        assert!(err.contains("rebuild"), "{err}");
    }

    #[test]
    fn body_stats_count_claim_and_evidence_fields_as_one() -> Result<()> {
        let idx = ClaimIndex::create_in_ram()?;
        let claim: Record = serde_json::from_value(serde_json::json!(
            {"kind": "claim", "id": "c1", "text": "Bleach cures the virus."}))
        .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let evidence: Record = serde_json::from_value(serde_json::json!(
            {"kind": "evidence", "id": "e1", "text": "Bleach is poison; it cures nothing.", "claims": [{"claim_id": "c1", "stance": "refutes"}]}))
        .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        idx.upsert(&[claim, evidence])?;
        let searcher = idx.searcher();
        let f = idx.fields();
        let stats = BodyStats::new(&searcher, f);
        let en = Some(Lang::default_lang());
        let cure = |field| Term::from_field_text(field, "cure");
        assert_eq!(searcher.doc_freq(&cure(f.body(en)))?, 1);
        assert_eq!(stats.doc_freq(&cure(f.body(en)))?, 2);
        assert_eq!(stats.doc_freq(&cure(f.evidence_body(en)))?, 2);
        let tokens = searcher.total_num_tokens(f.body(en))? + searcher.total_num_tokens(f.evidence_body(en))?;
        assert_eq!(stats.total_num_tokens(f.body(en))?, tokens);
        assert_eq!(f.paired_body(f.evidence_body(en)), Some(f.body(en)));
        assert_eq!(f.paired_body(f.id), None);
        Ok(())
    }

    #[test]
    fn keys_are_stable() {
        assert_eq!(id_key("c1"), id_key("c1"));
        assert_ne!(id_key("c1"), id_key("c2"));
        assert_eq!(dup_key("Bleach “cures” it."), dup_key("bleach cures it"));
    }
}
