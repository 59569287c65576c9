//! The tantivy schema: the one module that knows fields, and converts records to and from documents.

use tantivy::schema::{
    BytesOptions, Field, IndexRecordOption, NumericOptions, Schema, SchemaBuilder, TextFieldIndexing, TextOptions,
    Value, FAST, INDEXED, STORED, STRING,
};
use tantivy::{TantivyDocument, Term};

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
/// A key shared by claims whose statement text is the same but for case and punctuation.
pub const FIELD_DUP_KEY: &str = "dup_key";
/// The whole record as JSON.
pub const FIELD_RECORD: &str = "record";
/// A claim's embeddings (see `vectors::encode`).
pub const FIELD_VECTOR: &str = "vector";
/// Prefix of the per-language full-text fields ("body_en"); claims index statement and review
/// title, evidence its excerpt.
pub const BODY_PREFIX: &str = "body_";

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
    /// See [`FIELD_DUP_KEY`].
    pub dup_key: Field,
    /// See [`FIELD_RECORD`].
    pub record: Field,
    /// See [`FIELD_VECTOR`].
    pub vector: Field,
    /// One body field per stemmed language, in [`LANGS`] order, then the plain one.
    pub bodies: Vec<(Option<Lang>, Field)>,
}

fn body_name(lang: Option<Lang>) -> String {
    format!("{BODY_PREFIX}{}", lang.map(|l| l.code).unwrap_or(PLAIN))
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
        let claim_ref = b.add_text_field(FIELD_CLAIM_REF, STRING | FAST);
        let dup_key = b.add_text_field(FIELD_DUP_KEY, STRING | FAST);
        let record = b.add_text_field(FIELD_RECORD, STORED);
        let vector = b.add_bytes_field(FIELD_VECTOR, BytesOptions::default().set_fast());
        let mut bodies = Vec::new();
        for lang in LANGS.iter().copied().map(Some).chain([None]) {
            let analyzer = lang.map(|l| l.analyzer_name()).unwrap_or_else(|| PLAIN.to_string());
            let opts = TextOptions::default()
                .set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(&analyzer)
                        .set_index_option(IndexRecordOption::WithFreqsAndPositions),
                )
                .set_stored();
            bodies.push((lang, b.add_text_field(&body_name(lang), opts)));
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
            dup_key,
            record,
            vector,
            bodies,
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
                        "the index was not built by this version of claimdex (field `{name}` differs); rebuild it"
                    )))
                }
            }
        }
        Ok(fields)
    }

    /// The body field for a language tag; unstemmed languages share the plain field.
    pub fn body(&self, lang: Option<Lang>) -> Field {
        let code = lang.map(|l| l.code);
        self.bodies
            .iter()
            .find(|(l, _)| l.map(|l| l.code) == code)
            .map(|(_, f)| *f)
            .expect("bodies holds every language and the plain field")
    }

    /// All body fields.
    pub fn all_bodies(&self) -> Vec<Field> {
        self.bodies.iter().map(|(_, f)| *f).collect()
    }

    /// The term that identifies a record by id.
    pub fn id_term(&self, id: &str) -> Term {
        Term::from_field_text(self.id, id)
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
                doc.add_text(self.dup_key, dup_key(&c.text));
                if let Some(v) = vector {
                    doc.add_bytes(self.vector, v);
                }
            }
            Record::Evidence(e) => {
                doc.add_text(self.body(Lang::of_tag(&e.language)), &e.text);
                if let Some(s) = &e.source {
                    doc.add_text(self.speaker, s);
                    doc.add_text(self.speaker_exact, normalize_name(s));
                }
                if let Some(d) = e.date {
                    doc.add_i64(self.date, d.first_day());
                }
                for link in &e.claims {
                    doc.add_text(self.claim_ref, &link.claim_id);
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

/// Speaker and publisher names for exact filters: lowercased, whitespace collapsed.
pub fn normalize_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The grouping key of identical statements: a hash of their lowercase letters and digits, so
/// that texts differing only in case, quote marks or spacing share it.
pub fn dup_key(text: &str) -> String {
    let mut hash = Fnv::default();
    for c in text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase) {
        let mut buf = [0u8; 4];
        hash.write(c.encode_utf8(&mut buf).as_bytes());
    }
    format!("{:016x}", hash.0)
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
