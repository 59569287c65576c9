//! Full-text search over claims and evidence: tantivy query syntax, filters, snippets and paging.

use std::collections::HashMap;
use std::ops::Bound;

use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, QueryParser, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Searcher, TantivyDocument, Term};

use crate::analysis::Lang;
use crate::index::ClaimIndex;
use crate::model::{Kind, Rating, Record};
use crate::schema::{normalize_name, BodyStats, ClaimFields};
use crate::{Error, PartialDate, Result};

/// Longest query accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 10_000;
/// Largest page of results.
pub const MAX_LIMIT: usize = 1_000;
/// Deepest offset into the results.
pub const MAX_OFFSET: usize = 100_000;
/// Most opening parentheses in a search query. tantivy 0.25's query grammar parses every group
/// twice (tantivy#2498), so the time doubles with each level of nesting: 18 levels took 1.8 s
/// and 25 would take minutes (found by cargo-fuzz). All of them are counted, not only the depth,
/// so that quotes and escapes cannot hide a level from the check.
pub const MAX_QUERY_GROUPS: usize = 10;

/// Filters shared by `search` and `match`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    /// Exact speaker (claims) or source (evidence), case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    /// Normalized verdicts; any of them matches.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verdicts: Vec<Rating>,
    /// Exact publisher name, case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// Earliest date (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<PartialDate>,
    /// Latest date (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<PartialDate>,
    /// Only this kind of record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
}

impl Filters {
    /// The filter clauses as `Must` queries.
    pub(crate) fn clauses(&self, f: &ClaimFields) -> Result<Vec<(Occur, Box<dyn Query>)>> {
        let term = |t: Term| -> Box<dyn Query> { Box::new(TermQuery::new(t, IndexRecordOption::Basic)) };
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(s) = self.speaker.as_deref().filter(|s| !s.trim().is_empty()) {
            out.push((Occur::Must, term(Term::from_field_text(f.speaker_exact, &normalize_name(s)))));
        }
        if let Some(p) = self.publisher.as_deref().filter(|s| !s.trim().is_empty()) {
            out.push((Occur::Must, term(Term::from_field_text(f.publisher, &normalize_name(p)))));
        }
        if !self.verdicts.is_empty() {
            let any: Vec<(Occur, Box<dyn Query>)> = self
                .verdicts
                .iter()
                .map(|r| (Occur::Should, term(Term::from_field_text(f.verdict, r.as_str()))))
                .collect();
            out.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from.first_day() > to.last_day() {
                return Err(Error::InvalidRequest(format!("`from` {from} is after `to` {to}")));
            }
        }
        if self.from.is_some() || self.to.is_some() {
            let lo = self
                .from
                .map(|d| Bound::Included(Term::from_field_i64(f.date, d.first_day())))
                .unwrap_or(Bound::Unbounded);
            let hi = self
                .to
                .map(|d| Bound::Included(Term::from_field_i64(f.date, d.last_day())))
                .unwrap_or(Bound::Unbounded);
            out.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        if let Some(k) = self.kind {
            out.push((Occur::Must, term(f.kind_term(k))));
        }
        Ok(out)
    }
}

/// A full-text search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// tantivy query syntax: words, "phrases", AND/OR/NOT, +required, -excluded, field:value.
    pub query: String,
    /// Filters.
    #[serde(default)]
    pub filters: Filters,
    /// Page size (1..=1000).
    #[serde(default = "default_limit")]
    pub limit: usize,
    /// Results to skip.
    #[serde(default)]
    pub offset: usize,
}

fn default_limit() -> usize {
    10
}

impl SearchRequest {
    /// A request with default filters and paging.
    pub fn new(query: impl Into<String>) -> Self {
        SearchRequest { query: query.into(), filters: Filters::default(), limit: default_limit(), offset: 0 }
    }
}

/// One search result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchHit {
    /// BM25 score.
    pub score: f32,
    /// The matching passage with the query terms in `<b>` tags (HTML-escaped).
    pub snippet: String,
    /// The whole record.
    pub record: Record,
}

/// A page of search results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResults {
    /// How many records match in all.
    pub total: usize,
    /// Offset of this page.
    pub offset: usize,
    /// The page, best first.
    pub hits: Vec<SearchHit>,
}

/// Checks the size of a page request.
pub fn check_paging(limit: usize, offset: usize) -> Result<()> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::InvalidRequest(format!("limit must be between 1 and {MAX_LIMIT}, not {limit}")));
    }
    if offset > MAX_OFFSET {
        return Err(Error::InvalidRequest(format!("offset must be at most {MAX_OFFSET}, not {offset}")));
    }
    Ok(())
}

/// Checks a query or statement text: not empty, not too long.
pub fn check_text(text: &str, what: &str) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::InvalidRequest(format!("the {what} is empty")));
    }
    if text.len() > MAX_QUERY_BYTES {
        return Err(Error::InvalidRequest(format!(
            "the {what} is {} bytes long; the limit is {MAX_QUERY_BYTES}",
            text.len()
        )));
    }
    Ok(())
}

impl ClaimIndex {
    /// Full-text search with tantivy's query syntax over statements, titles, evidence and speakers.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults> {
        check_text(&req.query, "query")?;
        check_paging(req.limit, req.offset)?;
        let groups = req.query.matches('(').count();
        if groups > MAX_QUERY_GROUPS {
            return Err(Error::QueryParse(format!(
                "the query opens {groups} groups with '('; the limit is {MAX_QUERY_GROUPS}"
            )));
        }
        let f = self.fields();
        let mut fields = f.all_bodies();
        fields.push(f.speaker);
        let parser = QueryParser::for_index(self.index(), fields);
        let text_query = parser.parse_query(&req.query).map_err(|e| Error::QueryParse(e.to_string()))?;
        let mut clauses = vec![(Occur::Must, text_query.box_clone())];
        clauses.extend(req.filters.clauses(f)?);
        let query = BooleanQuery::new(clauses);
        let searcher = self.searcher();
        let stats = BodyStats::new(&searcher, f);
        let collector = (TopDocs::with_limit(req.limit).and_offset(req.offset), Count);
        let (top, total) = searcher.search_with_statistics_provider(&query, &collector, &stats)?;
        let mut snippets = Snippets::new(&searcher, text_query.as_ref());
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc = searcher.doc(addr)?;
            let record = self.fields().from_document(&doc)?;
            let snippet = snippets.html(f, &record, &doc)?;
            hits.push(SearchHit { score, snippet, record });
        }
        Ok(SearchResults { total, offset: req.offset, hits })
    }
}

/// Snippet generators, one per body field, made when first needed.
struct Snippets<'a> {
    searcher: &'a Searcher,
    query: &'a dyn Query,
    generators: HashMap<Field, SnippetGenerator>,
}

impl<'a> Snippets<'a> {
    fn new(searcher: &'a Searcher, query: &'a dyn Query) -> Self {
        Snippets { searcher, query, generators: HashMap::new() }
    }

    fn html(&mut self, f: &ClaimFields, record: &Record, doc: &TantivyDocument) -> Result<String> {
        let (lang, text) = match record {
            Record::Claim(c) => (&c.language, &c.text),
            Record::Evidence(e) => (&e.language, &e.text),
        };
        let field = f.body_of(record.kind(), Lang::of_tag(lang));
        if !self.generators.contains_key(&field) {
            let mut g = SnippetGenerator::create(self.searcher, self.query, field)?;
            g.set_max_num_chars(240);
            self.generators.insert(field, g);
        }
        let g = self.generators.get(&field).expect("inserted above");
        let snippet = g.snippet_from_doc(doc);
        let html = snippet.to_html();
        if html.trim().is_empty() {
            let mut s: String = text.chars().take(240).collect();
            if s.len() < text.len() {
                s.push('…');
            }
            Ok(escape_html(&s))
        } else {
            Ok(html)
        }
    }
}

/// Escapes text for HTML.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
