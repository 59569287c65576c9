//! schema.org ClaimReview JSON-LD: fact-checkers' markup read as claims, and claims written back as ClaimReview.
//!
//! [`parse_document`] accepts the shapes fact-checkers publish: a single ClaimReview object, an
//! array, a `{"@graph": [...]}` document, a `DataFeed` whose `dataFeedElement`s are ClaimReviews
//! or `DataFeedItem`s holding them, and nested mixes of these. Real markup is messy (numbers as
//! strings, nulls, objects where strings belong, dates nobody can parse), so the reader walks a
//! [`serde_json::Value`] leniently instead of deserializing into strict structs: a wrong type in
//! one field loses that field, never the claim. Only a review without `claimReviewed` text
//! becomes an error. [`to_claimreview`] writes the markup back, so that importing it again gives
//! the same claim.
//!
//! ```
//! use claimdex::ingest::claimreview::{parse_document, to_claimreview};
//! use std::path::Path;
//!
//! let doc = r#"{"@context": "https://schema.org", "@type": "ClaimReview",
//!   "url": "https://example.org/fact-check/1",
//!   "claimReviewed": "The moon is made of cheese.",
//!   "author": {"@type": "Organization", "name": "Example Checks", "url": "https://www.example.org"},
//!   "reviewRating": {"@type": "Rating", "alternateName": "False"}}"#;
//! let claims = parse_document(doc, Path::new("moon.json"));
//! let claim = claims[0].as_ref().unwrap();
//! assert_eq!(claim.text, "The moon is made of cheese.");
//! assert_eq!(claim.verdict.as_ref().unwrap().rating, claimdex::Rating::False);
//! assert_eq!(claim.review.as_ref().unwrap().publisher.as_ref().unwrap().site.as_deref(), Some("example.org"));
//!
//! let again = parse_document(&to_claimreview(claim).to_string(), Path::new("moon.json"));
//! assert_eq!(again[0].as_ref().unwrap(), claim);
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::date::PartialDate;
use crate::error::{Error, Result};
use crate::model::{default_language, Claim, Publisher, Rating, Review, Verdict};

/// Keys of non-ClaimReview objects whose values may hold further ClaimReviews.
const CONTAINER_KEYS: [&str; 5] = ["@graph", "dataFeedElement", "item", "itemListElement", "mainEntity"];

/// The five points of the common scale that a numeric rating maps onto, worst first.
const NUMERIC_SCALE: [Rating; 5] =
    [Rating::False, Rating::MostlyFalse, Rating::Mixed, Rating::MostlyTrue, Rating::True];

/// Deeper nesting than this is not scanned for line numbers (serde_json stops at 128 anyway).
const MAX_SCAN_DEPTH: usize = 256;

/// Parses a whole ClaimReview JSON-LD document (the text of one file) into claims.
///
/// `path` is used for error messages only. Returns one item per ClaimReview found: `Ok(claim)`,
/// or an [`Error::Ingest`] for a review that cannot become a claim (no `claimReviewed` text),
/// whose `line` is where the review's object starts and whose `field` is the JSON path to the
/// field at fault (`"dataFeedElement[3].claimReviewed"`). A document that is not JSON at all is
/// a single error; JSON without any ClaimReview gives an empty vector. Objects whose `@type` is
/// not ClaimReview are skipped; an object without any `@type` counts as a ClaimReview when it has
/// a `claimReviewed` field.
pub fn parse_document(text: &str, path: &Path) -> Vec<Result<Claim>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let hint = if text.trim_start().starts_with('<') {
                " (HTML pages are not supported: extract their JSON-LD first)"
            } else {
                ""
            };
            return vec![Err(Error::ingest(
                path,
                e.line().max(1) as u64,
                "-",
                format!("not a JSON document: {e}{hint}"),
            ))];
        }
    };
    let positions = Scanner::new(text).value(0);
    let mut out = Vec::new();
    walk(&value, positions.as_ref(), "", path, &mut out);
    out
}

/// The schema.org ClaimReview JSON-LD for a claim.
///
/// The result has `"@context": "https://schema.org"` and `"@type": "ClaimReview"`, and
/// [`parse_document`] reads it back into the same claim: id (`@id`), text (`claimReviewed`),
/// speaker and role (`itemReviewed.author.name` / `.jobTitle`), date
/// (`itemReviewed.datePublished`), appearances (`itemReviewed.firstAppearance` / `.appearance`),
/// verdict (`reviewRating`), review (`author`, `url`, `headline`, `datePublished`,
/// `description`), language (`inLanguage`) and tags (`keywords`).
pub fn to_claimreview(claim: &Claim) -> Value {
    let review = claim.review.as_ref();
    let out = ClaimReviewOut {
        context: "https://schema.org",
        kind: "ClaimReview",
        id: &claim.id,
        url: review.and_then(|r| r.url.as_deref()),
        claim_reviewed: &claim.text,
        in_language: &claim.language,
        date_published: review.and_then(|r| r.date),
        headline: review.and_then(|r| r.title.as_deref()),
        description: review.and_then(|r| r.summary.as_deref()),
        keywords: &claim.tags,
        author: review.and_then(|r| r.publisher.as_ref()).map(|p| OrganizationOut {
            kind: "Organization",
            name: &p.name,
            url: p.site.as_ref().map(|s| format!("https://{s}")),
        }),
        review_rating: claim.verdict.as_ref().map(rating_out),
        item_reviewed: ClaimOut {
            kind: "Claim",
            author: (claim.speaker.is_some() || claim.speaker_role.is_some()).then_some(PersonOut {
                kind: "Person",
                name: claim.speaker.as_deref(),
                job_title: claim.speaker_role.as_deref(),
            }),
            date_published: claim.date,
            first_appearance: claim.appearances.first().map(|url| CreativeWorkOut { kind: "CreativeWork", url }),
            appearance: claim.appearances.iter().map(|url| CreativeWorkOut { kind: "CreativeWork", url }).collect(),
        },
    };
    serde_json::to_value(out).expect("ClaimReview output has string keys and infallible fields")
}

// ---------------------------------------------------------------------------------------------
// Import

/// Walks containers, turning every ClaimReview object into a claim or an error.
fn walk(value: &Value, pos: Option<&Node>, field: &str, path: &Path, out: &mut Vec<Result<Claim>>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let child = pos.and_then(|p| p.index(i));
                walk(item, child, &format!("{field}[{i}]"), path, out);
            }
        }
        Value::Object(obj) => {
            if is_claim_review(obj) {
                let line = pos.map_or(1, |p| p.line);
                out.push(claim_from_review(obj).map_err(|(f, msg)| Error::ingest(path, line, join(field, f), msg)));
                return;
            }
            for key in CONTAINER_KEYS {
                if let Some(child) = obj.get(key) {
                    walk(child, pos.and_then(|p| p.key(key)), &join(field, key), path, out);
                }
            }
        }
        _ => {}
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The local names of an object's `@type`s ("ClaimReview" for "https://schema.org/ClaimReview").
fn types(obj: &Map<String, Value>) -> Vec<&str> {
    match obj.get("@type") {
        Some(Value::String(s)) => vec![local_name(s)],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(local_name).collect(),
        _ => Vec::new(),
    }
}

fn local_name(s: &str) -> &str {
    s.trim().rsplit(['/', ':', '#']).next().unwrap_or("")
}

fn is_claim_review(obj: &Map<String, Value>) -> bool {
    match obj.get("@type") {
        None | Some(Value::Null) => obj.contains_key("claimReviewed"),
        Some(_) => types(obj).contains(&"ClaimReview"),
    }
}

/// Builds a claim from one ClaimReview object; the error names the field at fault.
fn claim_from_review(obj: &Map<String, Value>) -> std::result::Result<Claim, (&'static str, String)> {
    let claim_text = match obj.get("claimReviewed") {
        None | Some(Value::Null) => return Err(("claimReviewed", "missing: the review names no claim".into())),
        Some(v) => text(v).ok_or(("claimReviewed", "empty: the review names no claim".into()))?,
    };
    let item = obj.get("itemReviewed").and_then(first_object);

    let speaker = item
        .and_then(|i| field(i, "author").or_else(|| field(i, "creator")))
        .map(agents)
        .and_then(|a| pick_agent(a, false));
    let claim_date = item.and_then(|i| date(field(i, "datePublished")).or_else(|| date(field(i, "dateCreated"))));

    let mut appearances = Vec::new();
    if let Some(i) = item {
        push_urls(field(i, "firstAppearance"), &mut appearances);
        push_urls(field(i, "appearance"), &mut appearances);
    }
    dedup(&mut appearances);

    let claim_verdict = obj.get("reviewRating").and_then(first_object).and_then(verdict);

    let publisher = review_publisher(obj);
    let review = Review {
        publisher,
        url: field(obj, "url").and_then(url),
        title: field(obj, "headline").and_then(text).or_else(|| field(obj, "name").and_then(text)),
        date: date(field(obj, "datePublished")),
        summary: field(obj, "description").and_then(text).or_else(|| field(obj, "reviewBody").and_then(text)),
    };
    let review = (review != Review::default()).then_some(review);

    let claim_language = field(obj, "inLanguage")
        .and_then(language)
        .or_else(|| item.and_then(|i| field(i, "inLanguage")).and_then(language))
        .unwrap_or_else(default_language);

    let mut tags = Vec::new();
    match field(obj, "keywords") {
        Some(Value::String(s)) => tags.extend(s.split(',').filter_map(clean)),
        Some(Value::Array(a)) => tags.extend(a.iter().filter_map(text)),
        Some(v) => tags.extend(text(v)),
        None => {}
    }
    dedup(&mut tags);

    let id = match field(obj, "@id").and_then(text) {
        Some(id) if !id.starts_with("_:") => id,
        _ => derive_id(review.as_ref().and_then(|r| r.url.as_deref()), &claim_text),
    };

    Ok(Claim {
        id,
        text: claim_text,
        speaker: speaker.as_ref().and_then(|a| a.name.clone()),
        speaker_role: speaker.and_then(|a| a.job_title),
        date: claim_date,
        language: claim_language,
        appearances,
        verdict: claim_verdict,
        review,
        tags,
    })
}

/// A field that is present and not null.
fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).filter(|v| !v.is_null())
}

/// The object itself, or the first object of an array.
fn first_object(v: &Value) -> Option<&Map<String, Value>> {
    match v {
        Value::Object(o) => Some(o),
        Value::Array(a) => a.iter().find_map(first_object),
        _ => None,
    }
}

/// Trims and collapses whitespace; `None` when nothing is left.
fn clean(s: &str) -> Option<String> {
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!s.is_empty()).then_some(s)
}

/// Text from whatever sits where text belongs: a string, a number, an object's
/// `name`/`@value`/`url`, or the first usable element of an array.
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => clean(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => ["name", "@value", "url"].iter().find_map(|k| o.get(*k).and_then(text)),
        Value::Array(a) => a.iter().find_map(text),
        Value::Null | Value::Bool(_) => None,
    }
}

/// A URL from a string, an object's `url` (or an `@id`/`@value` that looks like one), or an array's first.
fn url(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => clean(s),
        Value::Object(o) => o.get("url").and_then(url).or_else(|| {
            ["@id", "@value"]
                .iter()
                .filter_map(|k| o.get(*k).and_then(url))
                .find(|u| u.starts_with("http://") || u.starts_with("https://"))
        }),
        Value::Array(a) => a.iter().find_map(url),
        _ => None,
    }
}

fn push_urls(v: Option<&Value>, out: &mut Vec<String>) {
    match v {
        Some(Value::Array(a)) => {
            for item in a {
                push_urls(Some(item), out);
            }
        }
        Some(v) => out.extend(url(v)),
        None => {}
    }
}

/// Removes repeats, keeping the first of each.
fn dedup(items: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    items.retain(|s| seen.insert(s.clone()));
}

fn date(v: Option<&Value>) -> Option<PartialDate> {
    text(v?)?.parse().ok()
}

/// A person or organisation as markup names it.
#[derive(Debug, Default)]
struct Agent {
    name: Option<String>,
    job_title: Option<String>,
    url: Option<String>,
    person: bool,
}

/// The agents in an `author`-like field: a name, an object, or an array of those.
fn agents(v: &Value) -> Vec<Agent> {
    match v {
        Value::Object(o) => {
            let kinds = types(o);
            vec![Agent {
                name: field(o, "name").and_then(text).or_else(|| {
                    let given = field(o, "givenName").and_then(text);
                    let family = field(o, "familyName").and_then(text);
                    clean(&format!("{} {}", given.unwrap_or_default(), family.unwrap_or_default()))
                }),
                job_title: field(o, "jobTitle").and_then(text),
                url: field(o, "url").and_then(url),
                person: kinds.contains(&"Person"),
            }]
        }
        Value::Array(a) => a.iter().flat_map(agents).collect(),
        v => text(v).map(|name| Agent { name: Some(name), ..Agent::default() }).into_iter().collect(),
    }
}

/// The first named agent, or else the first agent (which may only have a job title).
/// With `organisation`, an organisation is preferred to a person.
fn pick_agent(agents: Vec<Agent>, organisation: bool) -> Option<Agent> {
    let mut named: Vec<Agent> = Vec::new();
    let mut first = None;
    for a in agents {
        if a.name.is_some() {
            named.push(a);
        } else if first.is_none() {
            first = Some(a);
        }
    }
    if organisation {
        if let Some(i) = named.iter().position(|a| !a.person) {
            return Some(named.swap_remove(i));
        }
    }
    named.into_iter().next().or(first)
}

/// The fact-checker: the review's `author`, or its `publisher` when the author is only a person.
fn review_publisher(obj: &Map<String, Value>) -> Option<Publisher> {
    let author = field(obj, "author").map(agents).and_then(|a| pick_agent(a, true)).filter(|a| a.name.is_some());
    let publisher =
        || field(obj, "publisher").map(agents).and_then(|a| pick_agent(a, true)).filter(|a| a.name.is_some());
    let agent = match author {
        Some(a) if a.person => publisher().or(Some(a)),
        Some(a) => Some(a),
        None => publisher(),
    }?;
    Some(Publisher { name: agent.name?, site: agent.url.as_deref().and_then(host) })
}

/// The host of a URL, lowercased and without "www." ("https://www.PolitiFact.com/x" → "politifact.com").
/// None unless it is a plausible host: a colon is only allowed inside an IPv6 literal, so that
/// `https://{host}` (the export) reads back as the same host.
fn host(url: &str) -> Option<String> {
    let rest = url.trim();
    let rest = match rest.find("://") {
        Some(i) => &rest[i + 3..],
        None => rest.strip_prefix("//").unwrap_or(rest),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or("");
    // Drop a port (digits after the last colon, outside an IPv6 literal).
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if !authority.ends_with(']') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let mut host = host.to_lowercase();
    while let Some(rest) = host.strip_prefix("www.") {
        host = rest.to_string();
    }
    let ipv6 = host.starts_with('[') && host.ends_with(']');
    (!host.is_empty() && !host.contains(char::is_whitespace) && (ipv6 || !host.contains(':'))).then_some(host)
}

/// A number from a JSON number or a numeric string; never NaN or infinite.
fn number(v: Option<&Value>) -> Option<f64> {
    let x = match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }?;
    x.is_finite().then_some(x)
}

/// "2", "2.5": a number without a useless ".0".
fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The verdict of a numeric rating: the position of `ratingValue` between `worstRating`
/// (default 1) and `bestRating` (default 5), mapped onto false … true, labelled "2/5".
fn numeric_verdict(r: &Map<String, Value>) -> Option<Verdict> {
    let value = number(r.get("ratingValue"))?;
    let best = number(r.get("bestRating")).unwrap_or(5.0);
    let worst = number(r.get("worstRating")).unwrap_or(1.0);
    if best == worst {
        return None;
    }
    let position = (value - worst) / (best - worst);
    if !(-1e-9..=1.0 + 1e-9).contains(&position) {
        return None;
    }
    let index = (position.clamp(0.0, 1.0) * 4.0).round() as usize;
    let rating = *NUMERIC_SCALE.get(index)?;
    Some(Verdict { label: format!("{}/{}", format_number(value), format_number(best)), rating })
}

/// The verdict of a `reviewRating`: `alternateName` as the label (its rating, unless that is
/// unrecognised, refined by the numbers or `name`), else the numbers, else `name` or a textual
/// `ratingValue`.
fn verdict(r: &Map<String, Value>) -> Option<Verdict> {
    let name = field(r, "name").and_then(text);
    let numeric = numeric_verdict(r);
    if let Some(label) = field(r, "alternateName").and_then(text) {
        let mut rating = Rating::from_label(&label);
        if rating == Rating::Other {
            if let Some(n) = &numeric {
                rating = n.rating;
            } else if let Some(n) = &name {
                rating = Rating::from_label(n);
            }
        }
        return Some(Verdict { label, rating });
    }
    if numeric.is_some() {
        return numeric;
    }
    let textual = || match field(r, "ratingValue") {
        Some(Value::String(s)) if s.trim().parse::<f64>().is_err() => clean(s),
        _ => None,
    };
    name.or_else(textual).map(Verdict::from_label)
}

/// A language tag from `inLanguage`: a string, or a Language object's `alternateName`/`name`;
/// common English and native language names become their codes.
fn language(v: &Value) -> Option<String> {
    let raw = match v {
        Value::Object(o) => field(o, "alternateName").and_then(text).or_else(|| field(o, "name").and_then(text)),
        Value::Array(a) => a.iter().find_map(language),
        v => text(v),
    }?;
    const NAMES: [(&str, &str); 14] = [
        ("english", "en"),
        ("spanish", "es"),
        ("español", "es"),
        ("french", "fr"),
        ("français", "fr"),
        ("german", "de"),
        ("deutsch", "de"),
        ("portuguese", "pt"),
        ("português", "pt"),
        ("italian", "it"),
        ("arabic", "ar"),
        ("russian", "ru"),
        ("turkish", "tr"),
        ("dutch", "nl"),
    ];
    if !raw.starts_with(|c: char| c.is_alphabetic()) {
        return None;
    }
    let lower = raw.to_lowercase();
    Some(NAMES.iter().find(|(n, _)| *n == lower).map_or(raw, |(_, code)| code.to_string()))
}

/// A stable id for a review without `@id`: "cr-" and the FNV-1a hash of its URL and claim text.
fn derive_id(url: Option<&str>, text: &str) -> String {
    let key = format!("{}\n{}", url.unwrap_or(""), text);
    format!("cr-{:016x}", fnv1a64(key.as_bytes()))
}

/// 64-bit FNV-1a (the schema's stable hash; std's hasher is randomized per process).
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h = crate::schema::Fnv::default();
    h.write(bytes);
    h.0
}

// ---------------------------------------------------------------------------------------------
// Line numbers

/// Where an object or array of the document starts, with its children keyed like the parsed
/// value (serde_json does not report positions, so a small scanner finds them).
#[derive(Debug)]
struct Node {
    line: u64,
    kids: Kids,
}

#[derive(Debug)]
enum Kids {
    Leaf,
    Object(HashMap<String, Node>),
    Array(Vec<Node>),
}

impl Node {
    fn key(&self, key: &str) -> Option<&Node> {
        match &self.kids {
            Kids::Object(m) => m.get(key),
            _ => None,
        }
    }

    fn index(&self, i: usize) -> Option<&Node> {
        match &self.kids {
            Kids::Array(a) => a.get(i),
            _ => None,
        }
    }
}

/// Scans JSON text that serde_json has already accepted; gives up (`None`) on anything odd.
struct Scanner<'a> {
    text: &'a str,
    i: usize,
    line: u64,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner { text, i: 0, line: 1 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => break,
            }
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_SCAN_DEPTH {
            return None;
        }
        self.skip_ws();
        let line = self.line;
        let kids = match self.peek()? {
            b'{' => {
                self.i += 1;
                let mut map = HashMap::new();
                self.skip_ws();
                if self.peek()? == b'}' {
                    self.i += 1;
                } else {
                    loop {
                        self.skip_ws();
                        let key = self.string()?;
                        self.skip_ws();
                        if self.peek()? != b':' {
                            return None;
                        }
                        self.i += 1;
                        let child = self.value(depth + 1)?;
                        map.insert(key, child);
                        self.skip_ws();
                        match self.peek()? {
                            b',' => self.i += 1,
                            b'}' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                Kids::Object(map)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek()? == b']' {
                    self.i += 1;
                } else {
                    loop {
                        items.push(self.value(depth + 1)?);
                        self.skip_ws();
                        match self.peek()? {
                            b',' => self.i += 1,
                            b']' => {
                                self.i += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                Kids::Array(items)
            }
            b'"' => {
                self.string()?;
                Kids::Leaf
            }
            _ => {
                while let Some(b) = self.peek() {
                    if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.i += 1;
                }
                Kids::Leaf
            }
        };
        Some(Node { line, kids })
    }

    /// A string literal at the cursor, decoded.
    fn string(&mut self) -> Option<String> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.i;
        self.i += 1;
        let mut escaped = false;
        loop {
            match self.peek()? {
                b'\\' => {
                    escaped = true;
                    self.i += 2;
                }
                b'"' => {
                    self.i += 1;
                    break;
                }
                _ => self.i += 1,
            }
        }
        let raw = self.text.get(start..self.i)?;
        if escaped {
            serde_json::from_str(raw).ok()
        } else {
            raw.get(1..raw.len() - 1).map(str::to_string)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Export

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimReviewOut<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@id")]
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    claim_reviewed: &'a str,
    in_language: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_published: Option<PartialDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    headline: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    keywords: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<OrganizationOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    review_rating: Option<RatingOut<'a>>,
    item_reviewed: ClaimOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrganizationOut<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PersonOut<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_title: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreativeWorkOut<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimOut<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<PersonOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_published: Option<PartialDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_appearance: Option<CreativeWorkOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    appearance: Vec<CreativeWorkOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RatingOut<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    alternate_name: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rating_value: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    best_rating: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    worst_rating: Option<u8>,
}

/// The `reviewRating` of a verdict. The label goes in `alternateName`; the five-point ratings
/// also get a 1-5 `ratingValue`, and when the label alone would not give the rating back,
/// `name` carries the rating's own name.
fn rating_out(v: &Verdict) -> RatingOut<'_> {
    let value = NUMERIC_SCALE.iter().position(|r| *r == v.rating).and_then(|i| u8::try_from(i + 1).ok());
    let name = if Rating::from_label(&v.label) == v.rating { v.label.as_str() } else { v.rating.as_str() };
    RatingOut {
        kind: "Rating",
        alternate_name: &v.label,
        name,
        rating_value: value,
        best_rating: value.map(|_| 5),
        worst_rating: value.map(|_| 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/claimreview/");

    fn fixture(name: &str) -> crate::Result<String> {
        let path = format!("{DIR}{name}");
        std::fs::read_to_string(&path).map_err(|e| Error::io(path, e))
    }

    /// Parses a fixture; every item must be a claim.
    fn claims(name: &str) -> crate::Result<Vec<Claim>> {
        parse_document(&fixture(name)?, Path::new(name)).into_iter().collect()
    }

    fn parse(text: &str) -> Vec<Result<Claim>> {
        parse_document(text, Path::new("test.json"))
    }

    fn verdict_of(c: &Claim) -> (&str, Rating) {
        let v = c.verdict.as_ref().expect("a verdict");
        (v.label.as_str(), v.rating)
    }

    fn review_of(c: &Claim) -> &Review {
        c.review.as_ref().expect("a review")
    }

    fn site_of(c: &Claim) -> Option<&str> {
        review_of(c).publisher.as_ref().and_then(|p| p.site.as_deref())
    }

    fn d(s: &str) -> Option<PartialDate> {
        s.parse().ok()
    }

    fn ingest_error(r: &Result<Claim>) -> (u64, &str, &str) {
        match r {
            Err(Error::Ingest { line, field, message, .. }) => (*line, field.as_str(), message.as_str()),
            other => panic!("expected an ingest error, got {other:?}"),
        }
    }

    #[test]
    fn single_object() -> crate::Result<()> {
        let cs = claims("single.json")?;
        assert_eq!(cs.len(), 1);
        let c = &cs[0];
        assert_eq!(c.text, "Says the state \"cut school funding by 40 percent\" since 2015.");
        assert_eq!(c.speaker.as_deref(), Some("Dana Whitfield"));
        assert_eq!(c.speaker_role.as_deref(), Some("Candidate for governor"));
        assert_eq!(c.date, d("2019-10-22"));
        assert_eq!(c.language, "en");
        assert_eq!(
            c.appearances,
            [
                "https://whitfieldforgovernor.example/mailers/schools",
                "https://www.facebook.com/WhitfieldForGovernor/posts/1029384756"
            ]
        );
        assert_eq!(verdict_of(c), ("Pants on Fire", Rating::False));
        let r = review_of(c);
        assert_eq!(r.publisher, Some(Publisher { name: "PolitiFact".into(), site: Some("politifact.com".into()) }));
        assert!(r.url.as_deref().is_some_and(|u| u.starts_with("https://www.politifact.com/factchecks/2019/oct/25/")));
        assert_eq!(r.title.as_deref(), Some("No, the state did not cut school funding by 40 percent"));
        assert_eq!(r.date, d("2019-10-25"));
        assert!(r.summary.as_deref().is_some_and(|s| s.starts_with("State K-12")));
        assert_eq!(c.tags, ["Education", "State Budget", "Facebook posts"]);
        assert!(c.id.starts_with("cr-") && c.id.len() == 19, "{}", c.id);
        Ok(())
    }

    #[test]
    fn array_skips_other_types() -> crate::Result<()> {
        let cs = claims("array.json")?;
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].text, "Taking vitamin D cures the flu within 48 hours.");
        assert_eq!(cs[0].speaker.as_deref(), Some("Viral social media post"));
        assert_eq!(cs[0].appearances.len(), 2);
        assert_eq!(review_of(&cs[0]).date, d("2020-04-09"));
        assert_eq!(site_of(&cs[0]), Some("fullfact.org"));
        assert_eq!(verdict_of(&cs[0]).1, Rating::False);
        // A CreativeWork as itemReviewed, a single appearance object.
        assert_eq!(cs[1].appearances, ["https://www.facebook.com/photo/?fbid=4471"]);
        assert_eq!(cs[1].date, d("2021-07-17"));
        assert_eq!(site_of(&cs[1]), Some("factcheck.afp.com"));
        assert_eq!(verdict_of(&cs[1]), ("Missing context", Rating::Misleading));
        Ok(())
    }

    #[test]
    fn graph_uses_at_id() -> crate::Result<()> {
        let cs = claims("graph.json")?;
        assert_eq!(cs.len(), 1);
        let c = &cs[0];
        assert_eq!(c.id, "https://checkyourfact.example/2022/03/01/fact-check-wind-turbines-whales/#claimreview");
        assert_eq!(c.speaker.as_deref(), Some("Jordan Reyes"));
        assert_eq!(c.speaker_role.as_deref(), Some("State representative"));
        assert_eq!(c.date, d("2022-02-24"));
        assert_eq!(c.appearances.len(), 1);
        assert_eq!(review_of(c).title.as_deref(), Some("FACT CHECK: Did Offshore Wind Turbines Kill 23 Whales?"));
        assert_eq!(verdict_of(c), ("Unsupported", Rating::Unproven));
        assert_eq!(c.language, "en");
        assert_eq!(c.tags, ["energy", "wildlife"]);
        Ok(())
    }

    #[test]
    fn datafeed_with_items() -> crate::Result<()> {
        let cs = claims("datafeed.json")?;
        let texts: Vec<&str> = cs.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "El salario mínimo subió un 50% en un año.",
                "El desempleo está en su nivel más bajo desde 2008.",
                "Las vacunas contienen microchips de rastreo.",
                "Video shows the collapse of the new river bridge."
            ]
        );
        assert_eq!(cs[0].language, "es");
        // An unknown label is refined by `name`, then by the numbers.
        assert_eq!(verdict_of(&cs[0]), ("Engañoso", Rating::Misleading));
        assert_eq!(verdict_of(&cs[1]), ("Verdadero", Rating::True));
        assert_eq!(cs[1].speaker_role.as_deref(), Some("Ministro de Trabajo"));
        // A person as author: the publisher organisation is the fact-checker.
        assert_eq!(review_of(&cs[2]).publisher.as_ref().map(|p| p.name.as_str()), Some("Verificado"));
        assert_eq!(site_of(&cs[2]), Some("verificado.example"));
        assert_eq!(cs[2].speaker.as_deref(), Some("Cadena de WhatsApp"));
        assert_eq!(verdict_of(&cs[3]).1, Rating::Misleading);
        Ok(())
    }

    #[test]
    fn seed_polygraph_review() -> crate::Result<()> {
        let cs = claims("polygraph-taliban-amnesty.json")?;
        assert_eq!(cs.len(), 1);
        let c = &cs[0];
        assert_eq!(c.id, "polygraph-balki-2021-12-05");
        assert!(c.text.starts_with("The Mojahedin are fully committed"));
        assert_eq!(c.speaker.as_deref(), Some("Abdul Qahar Balki"));
        assert_eq!(c.speaker_role.as_deref(), Some("Spokesperson, Foreign Affairs Ministry, Afghan Taliban"));
        assert_eq!(c.date, d("2021-12-05"));
        assert_eq!(verdict_of(c), ("Misleading", Rating::Misleading));
        let r = review_of(c);
        assert_eq!(r.title.as_deref(), Some("Taliban Did Not ‘Fully Commit’ to Amnesty for Afghan Security Officers"));
        assert_eq!(r.url.as_deref(), Some("https://www.polygraph.info/a/fact-check-taliban-amnesty/31600413.html"));
        assert_eq!(site_of(c), Some("polygraph.info"));
        assert_eq!(c.tags, ["Afghanistan", "Taliban", "amnesty", "human rights"]);
        Ok(())
    }

    #[test]
    fn messy_markup() {
        let items = parse_document(&fixture("messy.json").expect("fixture"), Path::new("messy.json"));
        assert_eq!(items.len(), 6, "the WebPage is skipped");

        // Author as a string, numeric rating as strings, unparseable dates, nulls.
        let c = items[0].as_ref().expect("claim 0");
        assert_eq!(c.text, "Lightning never strikes the same place twice.");
        assert_eq!(c.speaker.as_deref(), Some("Folk wisdom"));
        assert_eq!(c.date, None);
        assert!(c.appearances.is_empty());
        assert_eq!(verdict_of(c), ("2/5", Rating::MostlyFalse));
        let r = review_of(c);
        assert_eq!(r.publisher, Some(Publisher { name: "Snopes".into(), site: None }));
        assert_eq!((r.date, r.title.as_deref()), (None, None));

        // Authors as arrays, impossible dates, mixed and repeated appearances, null rating.
        let c = items[1].as_ref().expect("claim 1");
        assert_eq!(c.speaker.as_deref(), Some("Sam Ortiz"));
        assert_eq!(c.speaker_role.as_deref(), Some("Mayor"));
        assert_eq!(c.date, None);
        assert_eq!(c.appearances, ["https://example.net/news/bridge", "https://video.example.net/watch?v=abc"]);
        assert_eq!(c.verdict, None);
        let r = review_of(c);
        assert_eq!(r.publisher.as_ref().map(|p| p.name.as_str()), Some("Lead Stories"));
        assert_eq!(site_of(c), Some("leadstories.com"));
        assert_eq!(r.url, None);
        assert_eq!(r.title.as_deref(), Some("Fact Check: Bridge Did NOT Cost $2 Billion"));
        assert_eq!(r.date, None);
        assert_eq!(c.language, "es");
        assert_eq!(c.tags, ["bridges", "budget", "infrastructure"]);

        // No claimReviewed: an error naming the field and the line the object starts on.
        let (line, field, message) = ingest_error(&items[2]);
        assert_eq!(field, "[2].claimReviewed");
        assert_eq!(line, 47, "the line of its opening brace");
        assert!(message.contains("missing"), "{message}");

        // Objects and numbers where strings belong.
        let c = items[3].as_ref().expect("claim 3");
        assert_eq!(c.text, "Drinking hot water kills the virus.");
        assert!(c.id.starts_with("cr-"), "a blank-node @id is not an id");
        assert_eq!(
            review_of(c).publisher,
            Some(Publisher { name: "Fact Crescendo".into(), site: Some("factcrescendo.com".into()) })
        );
        assert_eq!(review_of(c).title.as_deref(), Some("2020"));
        assert_eq!(c.speaker.as_deref(), Some("Ravi Kumar"));
        assert_eq!(c.speaker_role.as_deref(), Some("Blogger"));
        assert_eq!(c.date, None);
        assert_eq!(verdict_of(c), ("1/5", Rating::False));
        assert_eq!(c.tags, ["health", "19"]);
        assert_eq!(c.language, "en-IN");

        // Blank claimReviewed.
        let (_, field, message) = ingest_error(&items[4]);
        assert_eq!(field, "[4].claimReviewed");
        assert!(message.contains("empty"), "{message}");

        // Wrong types everywhere: still a claim, with what could be salvaged.
        let c = items[5].as_ref().expect("claim 5");
        assert_eq!(review_of(c).url.as_deref(), Some("https://factcheck.example/wrong-types"));
        assert_eq!(review_of(c).date, d("2024-01-15"));
        assert_eq!(review_of(c).publisher.as_ref().map(|p| p.name.as_str()), Some("7"));
        assert_eq!(c.verdict, None);
        assert_eq!(c.tags, ["3"]);
        assert_eq!(c.language, "en");
        assert_eq!(c.speaker, None);
    }

    #[test]
    fn errors_in_feeds_name_their_path_and_line() {
        let doc = "{\"@type\": \"DataFeed\", \"dataFeedElement\": [\n  {\"@type\": \"ClaimReview\", \"claimReviewed\": \"ok\"},\n  {\"@type\": \"DataFeedItem\", \"item\": [\n    {\"@type\": \"ClaimReview\", \"claimReviewed\": null}\n  ]}\n]}";
        let items = parse(doc);
        assert_eq!(items.len(), 2);
        assert!(items[0].is_ok());
        let (line, field, _) = ingest_error(&items[1]);
        assert_eq!((line, field), (4, "dataFeedElement[1].item[0].claimReviewed"));
        let single = parse("\n\n{\"@type\": \"ClaimReview\"}");
        assert_eq!(ingest_error(&single[0]).0, 3);
        assert_eq!(ingest_error(&single[0]).1, "claimReviewed");
    }

    #[test]
    fn ids_are_stable() -> crate::Result<()> {
        // FNV-1a test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
        let a = claims("single.json")?;
        let b = claims("single.json")?;
        assert_eq!(a[0].id, b[0].id);
        assert_eq!(a[0].id, derive_id(review_of(&a[0]).url.as_deref(), &a[0].text));
        let other = parse(r#"{"@type": "ClaimReview", "claimReviewed": "Another claim."}"#);
        assert_ne!(other[0].as_ref().map(|c| &c.id).ok(), Some(&a[0].id));
        Ok(())
    }

    #[test]
    fn ratings_from_numbers() {
        let rate = |json: &str| -> Option<(String, Rating)> {
            let doc = format!(r#"{{"@type": "ClaimReview", "claimReviewed": "x", "reviewRating": {json}}}"#);
            let claim = parse(&doc).pop()?.ok()?;
            claim.verdict.map(|v| (v.label, v.rating))
        };
        let r = |label: &str, rating| Some((label.to_string(), rating));
        for (value, rating) in [
            (1, Rating::False),
            (2, Rating::MostlyFalse),
            (3, Rating::Mixed),
            (4, Rating::MostlyTrue),
            (5, Rating::True),
        ] {
            let json = format!(r#"{{"ratingValue": {value}, "bestRating": 5, "worstRating": 1}}"#);
            assert_eq!(rate(&json), r(&format!("{value}/5"), rating));
        }
        // Defaults: best 5, worst 1.
        assert_eq!(rate(r#"{"ratingValue": "4"}"#), r("4/5", Rating::MostlyTrue));
        // PolitiFact-style 0-6 scale, numeric strings.
        assert_eq!(rate(r#"{"ratingValue": "0", "bestRating": "6", "worstRating": "0"}"#), r("0/6", Rating::False));
        assert_eq!(rate(r#"{"ratingValue": " 3 ", "bestRating": "6", "worstRating": "0"}"#), r("3/6", Rating::Mixed));
        assert_eq!(
            rate(r#"{"ratingValue": 7.5, "bestRating": 10, "worstRating": 0}"#),
            r("7.5/10", Rating::MostlyTrue)
        );
        // An inverted scale (1 = true).
        assert_eq!(rate(r#"{"ratingValue": 1, "bestRating": 1, "worstRating": 5}"#), r("1/1", Rating::True));
        // alternateName wins; name is the fallback label.
        assert_eq!(
            rate(r#"{"ratingValue": 5, "alternateName": "Four Pinocchios"}"#),
            r("Four Pinocchios", Rating::False)
        );
        assert_eq!(rate(r#"{"name": "Half True"}"#), r("Half True", Rating::Mixed));
        assert_eq!(rate(r#"{"ratingValue": "Mostly False"}"#), r("Mostly False", Rating::MostlyFalse));
        // Unusable numbers: off the scale, a zero-width scale, NaN, infinities.
        assert_eq!(rate(r#"{"ratingValue": -1, "bestRating": 5, "worstRating": 1}"#), None);
        assert_eq!(
            rate(r#"{"ratingValue": -1, "bestRating": 5, "worstRating": 1, "name": "Satire"}"#),
            r("Satire", Rating::Other)
        );
        assert_eq!(rate(r#"{"ratingValue": 3, "bestRating": 3, "worstRating": 3}"#), None);
        assert_eq!(rate(r#"{"ratingValue": "NaN"}"#), None);
        assert_eq!(rate(r#"{"ratingValue": "1e999", "bestRating": "inf"}"#), None);
        assert_eq!(rate("null"), None);
        assert_eq!(rate("[]"), None);
    }

    #[test]
    fn round_trip() -> crate::Result<()> {
        let mut all = Vec::new();
        for name in ["single.json", "array.json", "graph.json", "datafeed.json", "polygraph-taliban-amnesty.json"] {
            all.extend(claims(name)?);
        }
        all.extend(parse_document(&fixture("messy.json")?, Path::new("messy.json")).into_iter().filter_map(|r| r.ok()));
        // Fields that only the exporter's extra hints can carry back.
        all.push(Claim {
            id: "hand-made".into(),
            text: "A claim with a role but no speaker.".into(),
            speaker: None,
            speaker_role: Some("Anonymous official".into()),
            date: d("2020-07"),
            language: "fr".into(),
            appearances: vec!["https://a.example/1".into(), "https://b.example/2".into()],
            verdict: Some(Verdict { label: "Fake news alert".into(), rating: Rating::Misleading }),
            review: Some(Review {
                publisher: Some(Publisher { name: "Désintox".into(), site: Some("liberation.fr".into()) }),
                url: None,
                title: None,
                date: d("2020"),
                summary: None,
            }),
            tags: vec!["tag, with comma".into(), "second".into()],
        });
        all.push(Claim {
            id: "bare".into(),
            text: "Only text.".into(),
            speaker: None,
            speaker_role: None,
            date: None,
            language: "en".into(),
            appearances: Vec::new(),
            verdict: None,
            review: None,
            tags: Vec::new(),
        });
        assert!(all.len() >= 12);
        for claim in &all {
            let value = to_claimreview(claim);
            assert_eq!(value["@context"], "https://schema.org");
            assert_eq!(value["@type"], "ClaimReview");
            let text =
                serde_json::to_string_pretty(&value).map_err(|e| Error::ingest("round trip", 1, "-", e.to_string()))?;
            let back: Vec<Claim> = parse(&text).into_iter().collect::<crate::Result<_>>()?;
            assert_eq!(back, std::slice::from_ref(claim), "{text}");
        }
        // All claims at once, as an array and as a DataFeed.
        let values: Vec<Value> = all.iter().map(to_claimreview).collect();
        let array = Value::Array(values.clone()).to_string();
        let back: Vec<Claim> = parse(&array).into_iter().collect::<crate::Result<_>>()?;
        assert_eq!(back, all);
        let feed = serde_json::json!({
            "@context": "https://schema.org",
            "@type": "DataFeed",
            "dataFeedElement": [{"@type": "DataFeedItem", "item": values}],
        })
        .to_string();
        let back: Vec<Claim> = parse(&feed).into_iter().collect::<crate::Result<_>>()?;
        assert_eq!(back, all);
        Ok(())
    }

    #[test]
    fn garbage_never_panics() {
        // Not JSON: one whole-document error.
        for text in ["", "   ", "not json", "{", "[1,", "<html><body>hi</body></html>", "{\"a\": }", "\u{feff}"] {
            let items = parse(text);
            assert_eq!(items.len(), 1, "{text:?}");
            let (line, field, _) = ingest_error(&items[0]);
            assert!(line >= 1);
            assert_eq!(field, "-");
        }
        assert!(ingest_error(&parse("<!doctype html>")[0]).2.contains("HTML"));
        // JSON without reviews: nothing.
        for text in [
            "null",
            "42",
            "\"ClaimReview\"",
            "true",
            "[]",
            "{}",
            "[null, 1, [], {}]",
            "{\"@graph\": 5}",
            "{\"@type\": 5}",
        ] {
            assert!(parse(text).is_empty(), "{text:?}");
        }
        // Deep nesting: serde_json's recursion limit yields an error, not a stack overflow.
        for depth in [100, 127, 128, 129, 1000, 100_000] {
            let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let items = parse(&text);
            assert!(items.len() <= 1);
            let open = "[".repeat(depth);
            assert_eq!(parse(&open).len(), 1);
            let objects =
                format!("{}{{\"@type\": \"ClaimReview\"}}{}", "{\"@graph\": ".repeat(depth), "}".repeat(depth));
            assert!(parse(&objects).len() <= 1);
        }
        // Every prefix of a real document.
        let doc = fixture("messy.json").expect("fixture");
        for (i, _) in doc.char_indices() {
            let _ = parse(&doc[..i]);
        }
    }

    #[test]
    fn wrong_types_in_every_field_never_panic() -> crate::Result<()> {
        let base: Value = serde_json::from_str(&fixture("single.json")?)
            .map_err(|e| Error::ingest("single.json", 1, "-", e.to_string()))?;
        let junk: Vec<Value> = serde_json::from_str(
            r#"[null, 42, -1.5, true, "", "x", "2021-02-30", [], {}, [null, {"name": 3}],
                {"name": {"@value": ["deep"]}, "url": 9}, "99999-99-99", "1e999", "NaN"]"#,
        )
        .map_err(|e| Error::ingest("junk", 1, "-", e.to_string()))?;
        let Value::Object(obj) = &base else { panic!("single.json is an object") };
        let mut paths: Vec<Vec<String>> = Vec::new();
        for (k, v) in obj {
            paths.push(vec![k.clone()]);
            if let Value::Object(inner) = v {
                paths.extend(inner.keys().map(|k2| vec![k.clone(), k2.clone()]));
            }
        }
        for path in &paths {
            for j in &junk {
                let mut doc = base.clone();
                let mut slot = &mut doc;
                for key in path {
                    slot = &mut slot[key.as_str()];
                }
                *slot = j.clone();
                let items = parse(&doc.to_string());
                let expected = if path == &["@type"] { 0..=1 } else { 1..=1 };
                assert!(expected.contains(&items.len()), "{path:?} = {j}");
                if let Some(Ok(c)) = items.first() {
                    let again = parse(&to_claimreview(c).to_string());
                    assert_eq!(again.len(), 1);
                }
            }
        }
        Ok(())
    }

    #[test]
    fn hosts() {
        assert_eq!(host("https://www.PolitiFact.com/x?y#z").as_deref(), Some("politifact.com"));
        assert_eq!(host("http://user@fullfact.org:8080/a").as_deref(), Some("fullfact.org"));
        assert_eq!(host("//factcheck.afp.com").as_deref(), Some("factcheck.afp.com"));
        assert_eq!(host("snopes.com/fact-check").as_deref(), Some("snopes.com"));
        assert_eq!(host("https://").as_deref(), None);
        assert_eq!(host("").as_deref(), None);
        assert_eq!(host("https://ünïcode.example/").as_deref(), Some("ünïcode.example"));
        assert_eq!(host("http://[::1]:8080/a").as_deref(), Some("[::1]"));
    }

    /// Found by cargo-fuzz (fuzz/regressions/claimreview/): a host that `https://{host}` does not
    /// read back as itself broke the ClaimReview round trip.
    #[test]
    fn hosts_read_back_as_themselves() {
        assert_eq!(host("http://a::").as_deref(), None);
        assert_eq!(host("https://a:b/").as_deref(), None);
        assert_eq!(host("https://www.www.Example.org").as_deref(), Some("example.org"));
        for url in ["http://a::", "https://::::", "www.www.a", "http://x:1:2", "https://[::1]:80", "a.b:", "WWW.a"] {
            if let Some(h) = host(url) {
                assert_eq!(host(&format!("https://{h}")).as_deref(), Some(h.as_str()), "{url}");
            }
        }
    }
}
