//! Claims and evidence from fact-check articles published as plain text, Markdown or HTML.
//!
//! [`extract`] splits the article into paragraphs, finds every quoted statement and who made it
//! (see the rules in `quotes.rs`), then decides what each quote is:
//!
//! - the **subject claim**, the one the verdict is about (a header-block quote, a Full Fact
//!   "Claim" block, or the first quote by someone the headline names), becomes a [`Claim`] with
//!   the article's verdict and a [`Review`];
//! - other quotes by the same speaker, or by people whose role names the same group ("Taliban
//!   spokesperson"), become claims without a verdict;
//! - quotes by anyone else become [`Evidence`] linked to the subject claim, `Refutes` when the
//!   article calls the claim false or misleading near or before the quote, `Context` otherwise.
//!
//! Unattributed quotes are listed in [`Extraction::quotes`] but become no record: without a
//! speaker there is no telling which side they are on.
//!
//! ```
//! use claimdex::article::{extract, ArticleFormat, ArticleMeta};
//! let text = "Smith Says Taxes Doubled\n\nSen. John Smith said, “Taxes have doubled since 2019 for every family.”\n\n\
//!     “Taxes rose by 3% since 2019, not 100%,” said Jane Roe, an economist at the Tax Institute. We rate this claim False.";
//! let x = extract(text, ArticleFormat::Text, &ArticleMeta::default()).unwrap();
//! assert_eq!(x.claims[0].speaker.as_deref(), Some("John Smith"));
//! assert_eq!(x.claims[0].verdict.as_ref().map(|v| v.label.as_str()), Some("False"));
//! assert_eq!(x.evidence[0].source.as_deref(), Some("Jane Roe"));
//! ```

mod format;
mod quotes;

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::date::PartialDate;
use crate::error::{Error, Result};
use crate::model::{default_language, Claim, ClaimLink, Evidence, Publisher, Rating, Review, Stance, Verdict};

use self::format::{paragraphs, text_headline, Para};
use self::quotes::{Doc, Found};

/// What the text does not say: from YAML-ish front matter (`---\nkey: value\n---` at the top,
/// simple `key: value` lines only) or a sidecar given by the caller.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ArticleMeta {
    /// The fact-checker's name ("Polygraph.info").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
    /// The fact-checker's site ("polygraph.info").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// The article's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The verdict label, when the text does not state it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// The headline, overriding the one found in the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The publication date; also resolves years the text leaves out ("On December 5").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// BCP-47 language tag of the article (default "en").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The prefix of record ids (default: the file stem, else a slug of the headline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_prefix: Option<String>,
}

impl ArticleMeta {
    /// Fields of `other` that are set replace those of `self`.
    pub fn merge(mut self, other: &ArticleMeta) -> ArticleMeta {
        let pick = |a: &mut Option<String>, b: &Option<String>| {
            if b.is_some() {
                a.clone_from(b);
            }
        };
        pick(&mut self.publisher, &other.publisher);
        pick(&mut self.site, &other.site);
        pick(&mut self.url, &other.url);
        pick(&mut self.verdict, &other.verdict);
        pick(&mut self.title, &other.title);
        pick(&mut self.date, &other.date);
        pick(&mut self.language, &other.language);
        pick(&mut self.id_prefix, &other.id_prefix);
        self
    }
}

/// How an article is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArticleFormat {
    /// Plain text, as pasted from a browser: one paragraph per line or per blank-line block.
    Text,
    /// Markdown, optionally with front matter.
    Markdown,
    /// HTML; tags are stripped, block tags end paragraphs.
    Html,
}

impl ArticleFormat {
    /// The format a file name's extension implies (`.txt`, `.md`/`.markdown`, `.html`/`.htm`).
    pub fn from_path(path: &Path) -> Option<ArticleFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "txt" | "text" => Some(ArticleFormat::Text),
            "md" | "markdown" => Some(ArticleFormat::Markdown),
            "html" | "htm" | "xhtml" => Some(ArticleFormat::Html),
            _ => None,
        }
    }
}

/// One quote found in the article, before it becomes a record (for `--dry-run` display and tests).
#[derive(Debug, Clone, Serialize)]
pub struct Quote {
    /// The quoted words, whitespace collapsed, a trailing comma dropped.
    pub text: String,
    /// Who said it, when the article says so.
    pub speaker: Option<String>,
    /// The speaker's role as the article gives it.
    pub role: Option<String>,
    /// When it was said, when the article ties the quote to a date.
    pub date: Option<PartialDate>,
    /// Which attribution rule matched: "said X", "X said", "according to", "told", "title block",
    /// "pronoun", "statement said", "continuation", "claim block", or "none".
    pub pattern: &'static str,
    /// 0-based index of the paragraph it sits in.
    pub paragraph: usize,
}

/// Everything taken from one article.
#[derive(Debug, Clone, Serialize)]
pub struct Extraction {
    /// The headline.
    pub title: Option<String>,
    /// Every statement quote found, attributed or not, in reading order.
    pub quotes: Vec<Quote>,
    /// The subject claim first (when there is one), then other claims by the same side.
    pub claims: Vec<Claim>,
    /// Quotes by others that bear on the subject claim.
    pub evidence: Vec<Evidence>,
}

/// Splits `---` front matter off the top of `text`; returns the metadata and the rest.
pub fn split_front_matter(text: &str) -> (ArticleMeta, &str) {
    let t = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = t.strip_prefix("---").filter(|r| r.starts_with('\n') || r.starts_with("\r\n")) else {
        return (ArticleMeta::default(), text);
    };
    let mut meta = ArticleMeta::default();
    let mut offset = t.len() - rest.len();
    for (i, line) in rest.split_inclusive('\n').enumerate() {
        offset += line.len();
        if i == 0 {
            // The rest of the opening `---` line.
            continue;
        }
        let l = line.trim();
        if l == "---" || l == "..." {
            return (meta, &t[offset..]);
        }
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let v = v.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        if v.is_empty() {
            continue;
        }
        let v = Some(v.to_string());
        match k.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "publisher" => meta.publisher = v,
            "site" => meta.site = v,
            "url" => meta.url = v,
            "verdict" | "rating" => meta.verdict = v,
            "title" | "headline" => meta.title = v,
            "date" | "published" => meta.date = v,
            "language" | "lang" => meta.language = v,
            "id_prefix" | "id" => meta.id_prefix = v,
            _ => {}
        }
    }
    // No closing fence: not front matter after all.
    (ArticleMeta::default(), text)
}

/// Extracts quotes, claims and evidence from an article's text.
///
/// Front matter at the top of `text` is read; fields set in `meta` win over it. Never panics on
/// malformed input; an article without quotes gives an empty extraction.
pub fn extract(text: &str, format: ArticleFormat, meta: &ArticleMeta) -> Result<Extraction> {
    extract_with_default_prefix(text, format, meta, None)
}

/// Reads an article file and extracts from it.
///
/// The format follows the extension (`.txt`, `.md`, `.markdown`, `.html`, `.htm`; anything else is
/// read as text). Front matter is merged with an optional sidecar `<file>.meta.json` holding an
/// [`ArticleMeta`] (the sidecar wins). Record ids start with `id_prefix`, else the file stem, so
/// re-ingesting the same file gives the same ids.
pub fn extract_file(path: &Path) -> Result<Extraction> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8_lossy(&bytes);
    let format = ArticleFormat::from_path(path).unwrap_or(ArticleFormat::Text);
    let mut sidecar_path = path.as_os_str().to_owned();
    sidecar_path.push(".meta.json");
    let sidecar_path = std::path::PathBuf::from(sidecar_path);
    let meta = match std::fs::read(&sidecar_path) {
        Ok(b) => serde_json::from_slice::<ArticleMeta>(&b)
            .map_err(|e| Error::ingest(&sidecar_path, e.line() as u64, "-", e.to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => ArticleMeta::default(),
        Err(e) => return Err(Error::io(&sidecar_path, e)),
    };
    let stem = path.file_stem().and_then(|s| s.to_str()).map(slug);
    extract_with_default_prefix(&text, format, &meta, stem.filter(|s| !s.is_empty()))
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Lowercase words of a quote, for finding repeats of it.
fn norm_key(s: &str) -> String {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn same_text(a: &str, b: &str) -> bool {
    let (ka, kb) = (norm_key(a), norm_key(b));
    if ka.is_empty() || kb.is_empty() {
        return false;
    }
    let (short, long) = if ka.len() <= kb.len() { (&ka, &kb) } else { (&kb, &ka) };
    ka == kb || (short.split(' ').count() >= 6 && long.contains(short.as_str()))
}

/// Labels the text states: "Rating: Mostly False", "We rate this claim False", "rated False",
/// a Full Fact "Conclusion", "Pants on Fire", "… is misleading".
fn find_verdict(paras: &[Para]) -> Option<String> {
    let clean = |s: &str| -> Option<String> {
        let s = s.trim().trim_end_matches(['.', '!', ',', ';']).trim().trim_matches(['“', '”', '"', '*', '_']).trim();
        let n = s.split_whitespace().count();
        ((1..=6).contains(&n)).then(|| s.to_string())
    };
    let texts: Vec<&str> = paras.iter().map(|p| p.text.as_str()).collect();
    for t in &texts {
        let l = t.to_ascii_lowercase();
        for key in ["rating:", "verdict:", "our rating:", "our ruling:"] {
            if let Some(rest) = l.strip_prefix(key) {
                if let Some(v) = clean(&t[t.len() - rest.len()..]) {
                    return Some(v);
                }
            }
        }
    }
    for t in &texts {
        let l = t.to_ascii_lowercase();
        if let Some(p) = l.find("we rate ") {
            let rest = &t[p + "we rate ".len()..];
            let mut words: Vec<&str> = rest.split_whitespace().collect();
            let skip =
                ["this", "that", "the", "these", "it", "claim", "claims", "statement", "post", "posts", "as", "them"];
            while words.first().is_some_and(|w| skip.contains(&w.to_ascii_lowercase().trim_end_matches(','))) {
                words.remove(0);
            }
            let label: Vec<&str> = words.iter().take(4).copied().collect();
            let label = label.join(" ");
            let end = label.find(['.', ',', ';', '!']).map_or(label.len(), |e| e + 1);
            if let Some(v) = clean(&label[..end]) {
                return Some(v);
            }
        }
    }
    for (i, t) in texts.iter().enumerate() {
        let l = t.trim().to_ascii_lowercase();
        let body = if l == "conclusion" || l == "verdict" {
            texts.get(i + 1).copied()
        } else {
            l.strip_prefix("conclusion:").map(|r| &t[t.len() - r.len()..])
        };
        if let Some(b) = body {
            let first = b.split(['.', '!']).next().unwrap_or("");
            if let Some(v) = clean(first) {
                return Some(v);
            }
        }
    }
    for t in &texts {
        let l = t.to_ascii_lowercase();
        if let Some(p) = l.find(" rated ") {
            let rest = &t[p + " rated ".len()..];
            let rest = rest.trim_start_matches(|c: char| c.is_lowercase() || c.is_whitespace());
            let words: Vec<&str> = rest
                .split_whitespace()
                .take_while(|w| w.starts_with(char::is_uppercase) || *w == "on")
                .take(4)
                .collect();
            if !words.is_empty() {
                if let Some(v) = clean(&words.join(" ")) {
                    return Some(v);
                }
            }
        }
    }
    let all = texts.join("\n").to_ascii_lowercase();
    if all.contains("pants on fire") {
        return Some("Pants on Fire".to_string());
    }
    for (phrase, label) in [
        (" is mostly false", "Mostly False"),
        (" is misleading", "Misleading"),
        (" are misleading", "Misleading"),
        (" is false", "False"),
        (" are false", "False"),
        (" is inaccurate", "Inaccurate"),
        (" is unsupported", "Unsupported"),
    ] {
        if all.contains(phrase) {
            return Some(label.to_string());
        }
    }
    None
}

/// Words that say the article finds the claim wrong.
const REFUTATION_CUES: &[&str] = &[
    "misleading",
    "contradict",
    "false",
    "not true",
    "untrue",
    "no evidence",
    "inaccurate",
    "incorrect",
    "wrong",
    "debunk",
    "refute",
    "not accurate",
    "exaggerat",
    "doesn't hold up",
    "does not hold up",
    "falsely",
    "never said",
    "did not say",
    "didn't say",
    "didn’t say",
];

fn has_cue(text: &str) -> bool {
    let l = text.to_lowercase();
    // Quoted words are the speaker's, not the article's: drop them.
    let mut outside = String::with_capacity(l.len());
    let mut inside = false;
    for c in l.chars() {
        match c {
            '“' => inside = true,
            '”' => inside = false,
            _ if !inside => outside.push(c),
            _ => {}
        }
    }
    REFUTATION_CUES.iter().any(|c| outside.contains(c))
}

/// The "Claim" block of Full Fact-style articles: `(paragraph, text)`.
fn claim_block(paras: &[Para]) -> Option<(usize, String)> {
    for (i, p) in paras.iter().enumerate() {
        let t = p.text.trim();
        let l = t.to_ascii_lowercase();
        if l == "claim" || l == "the claim" {
            if let Some(next) = paras.get(i + 1) {
                return Some((i + 1, next.text.clone()));
            }
        }
        if let Some(rest) = l.strip_prefix("claim:") {
            let body = t[t.len() - rest.len()..].trim();
            if !body.is_empty() {
                return Some((i, body.to_string()));
            }
        }
    }
    None
}

/// Capitalised words of a role that name a group ("Taliban" in "Afghan Taliban’s foreign affairs
/// office"): the last capitalised word that is not a generic office word.
fn group_word(role: &str) -> Option<String> {
    const GENERIC: &[&str] = &[
        "spokesperson",
        "spokesman",
        "spokeswoman",
        "foreign",
        "affairs",
        "ministry",
        "office",
        "minister",
        "department",
        "president",
        "the",
        "of",
        "for",
        "and",
        "official",
        "senior",
        "deputy",
        "chief",
        "director",
    ];
    role.rsplit(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’' || c == '-'))
        .map(|w| w.strip_suffix("’s").or_else(|| w.strip_suffix("'s")).unwrap_or(w))
        .find(|w| w.starts_with(char::is_uppercase) && !GENERIC.contains(&w.to_lowercase().as_str()))
        .map(str::to_string)
}

fn contains_word(hay: &str, word: &str) -> bool {
    hay.split(|c: char| !c.is_alphanumeric()).any(|w| w.eq_ignore_ascii_case(word))
}

fn extract_with_default_prefix(
    text: &str,
    format: ArticleFormat,
    caller_meta: &ArticleMeta,
    default_prefix: Option<String>,
) -> Result<Extraction> {
    let (front, body) = split_front_matter(text);
    let meta = front.merge(caller_meta);
    let (paras, format_headline) = paragraphs(body, format);
    let title = meta
        .title
        .clone()
        .or(format_headline)
        .or_else(|| if format == ArticleFormat::Html { None } else { text_headline(&paras) })
        .or_else(|| text_headline(&paras));
    let article_date = match meta.date.as_deref() {
        Some(d) => {
            Some(PartialDate::parse_text(d).map_err(|e| Error::InvalidRequest(format!("article date {d:?}: {e}")))?)
        }
        None => None,
    };
    let doc = Doc::new(&paras, article_date);
    let mut found = doc.quotes();

    // The subject claim: a header-block quote, a claim block, or the first quote by someone the
    // headline names.
    let mut subject: Option<usize> = found.iter().position(|f| f.quote.pattern == "title block");
    if subject.is_none() {
        if let Some((para, ctext)) = claim_block(&paras) {
            subject = found.iter().position(|f| f.quote.paragraph == para || same_text(&f.quote.text, &ctext));
            if subject.is_none() {
                let t = ctext.trim().trim_matches(['“', '”', '"']).trim().to_string();
                found.insert(
                    0,
                    Found {
                        quote: Quote {
                            text: t,
                            speaker: None,
                            role: None,
                            date: None,
                            pattern: "claim block",
                            paragraph: para,
                        },
                        person: false,
                    },
                );
                subject = Some(0);
            }
        }
    }
    if subject.is_none() {
        if let Some(h) = &title {
            subject = found.iter().position(|f| {
                f.quote.speaker.as_deref().is_some_and(|s| {
                    s.split_whitespace().last().is_some_and(|last| last.len() > 2 && contains_word(h, last))
                        || h.contains(s)
                })
            });
        }
    }

    let verdict_label = meta.verdict.clone().or_else(|| find_verdict(&paras));
    let verdict = verdict_label.map(Verdict::from_label);
    let refuting = match verdict.as_ref().map(|v| v.rating) {
        Some(Rating::False | Rating::MostlyFalse | Rating::Misleading) => true,
        Some(_) => false,
        None => paras.iter().any(|p| has_cue(&p.text)),
    };
    let first_cue = paras.iter().position(|p| has_cue(&p.text));
    let cue_near = |p: usize| (p.saturating_sub(1)..=p + 1).any(|i| paras.get(i).is_some_and(|x| has_cue(&x.text)));

    let language = meta.language.clone().unwrap_or_else(default_language);
    let prefix = meta
        .id_prefix
        .clone()
        .or(default_prefix)
        .or_else(|| title.as_deref().map(slug).filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "article".to_string());
    let review = Review {
        publisher: meta.publisher.clone().map(|name| Publisher { name, site: meta.site.clone() }),
        url: meta.url.clone(),
        title: title.clone(),
        date: article_date,
        summary: None,
    };

    // Merge repeats of the same quote (a header block repeated in the body): text from the copy
    // that ends a sentence, speaker, role and date from the body copy.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, f) in found.iter().enumerate() {
        match groups.iter_mut().find(|g| same_text(&found[g[0]].quote.text, &f.quote.text)) {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    let merged = |g: &[usize]| -> Found {
        let body: Vec<&Found> = g
            .iter()
            .map(|&i| &found[i])
            .filter(|f| f.quote.pattern != "title block" && f.quote.pattern != "claim block")
            .collect();
        let text = g
            .iter()
            .map(|&i| &found[i].quote.text)
            .find(|t| t.trim_end_matches(['’', '\'']).ends_with(['.', '!', '?']))
            .unwrap_or(&found[g[0]].quote.text)
            .clone();
        let mut f = found[g[0]].clone();
        f.quote.text = text;
        for b in body.iter().filter(|b| b.quote.speaker.is_some()) {
            if f.quote.speaker.is_none()
                || b.quote.speaker.as_ref().is_some_and(|s| {
                    f.quote
                        .speaker
                        .as_ref()
                        .is_some_and(|t| t == s || t.ends_with(s.as_str()) || s.ends_with(t.as_str()))
                })
            {
                f.quote.speaker.clone_from(&b.quote.speaker);
                f.person = b.person;
                if b.quote.role.is_some() {
                    f.quote.role.clone_from(&b.quote.role);
                }
                if b.quote.date.is_some() {
                    f.quote.date = b.quote.date;
                }
                break;
            }
        }
        f
    };

    let subject_group = subject.and_then(|s| groups.iter().position(|g| g.contains(&s)));
    let subject_found = subject_group.map(|g| merged(&groups[g]));
    let mut claims = Vec::new();
    let mut evidence = Vec::new();
    let mut group_words: Vec<String> = Vec::new();
    let subject_id = format!("{prefix}-claim-1");
    if let Some(sf) = &subject_found {
        for g in &groups[subject_group.unwrap_or(0)] {
            if let Some(w) = found[*g].quote.role.as_deref().and_then(group_word) {
                group_words.push(w);
            }
        }
        if let Some(w) = sf.quote.role.as_deref().and_then(group_word) {
            group_words.push(w);
        }
        claims.push(Claim {
            id: subject_id.clone(),
            text: sf.quote.text.clone(),
            speaker: sf.quote.speaker.clone(),
            speaker_role: sf.quote.role.clone(),
            date: sf.quote.date,
            language: language.clone(),
            appearances: Vec::new(),
            verdict: verdict.clone(),
            review: Some(review.clone()),
            tags: Vec::new(),
        });
    }
    let subject_speaker = subject_found.as_ref().and_then(|f| f.quote.speaker.clone());
    for (gi, g) in groups.iter().enumerate() {
        if Some(gi) == subject_group {
            continue;
        }
        let f = merged(g);
        let Some(speaker) = f.quote.speaker.clone() else {
            continue;
        };
        let same_side = subject_speaker.as_deref() == Some(speaker.as_str())
            || group_words
                .iter()
                .any(|w| contains_word(&speaker, w) || f.quote.role.as_deref().is_some_and(|r| contains_word(r, w)));
        if same_side && subject_found.is_some() {
            claims.push(Claim {
                id: format!("{prefix}-claim-{}", claims.len() + 1),
                text: f.quote.text.clone(),
                speaker: Some(speaker),
                speaker_role: f.quote.role.clone(),
                date: f.quote.date,
                language: language.clone(),
                appearances: Vec::new(),
                verdict: None,
                review: Some(review.clone()),
                tags: Vec::new(),
            });
        } else {
            let p = f.quote.paragraph;
            let stance = if refuting && (first_cue.is_some_and(|c| c <= p) || cue_near(p)) {
                Stance::Refutes
            } else {
                Stance::Context
            };
            let links = if subject_found.is_some() {
                vec![ClaimLink { claim_id: subject_id.clone(), stance }]
            } else {
                Vec::new()
            };
            evidence.push(Evidence {
                id: format!("{prefix}-evidence-{}", evidence.len() + 1),
                text: f.quote.text.clone(),
                source: Some(speaker),
                url: meta.url.clone(),
                date: f.quote.date,
                language: language.clone(),
                claims: links,
            });
        }
    }
    let quotes = found.into_iter().map(|f| f.quote).collect();
    Ok(Extraction { title, quotes, claims, evidence })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_parsed_and_stripped() {
        let (m, rest) = split_front_matter("---\npublisher: Full Fact\ndate: \"2021-12-08\"\nfoo: bar\n---\n# Hi\n");
        assert_eq!(m.publisher.as_deref(), Some("Full Fact"));
        assert_eq!(m.date.as_deref(), Some("2021-12-08"));
        assert_eq!(rest, "# Hi\n");
        let (m, rest) = split_front_matter("---\nno closing fence");
        assert_eq!(m, ArticleMeta::default());
        assert_eq!(rest, "---\nno closing fence");
    }

    #[test]
    fn verdict_phrases() {
        let p = |s: &str| vec![Para { text: s.to_string(), heading: false }];
        assert_eq!(find_verdict(&p("We rate this claim False.")).as_deref(), Some("False"));
        assert_eq!(find_verdict(&p("Rating: Mostly False")).as_deref(), Some("Mostly False"));
        assert_eq!(find_verdict(&p("We rate it Pants on Fire!")).as_deref(), Some("Pants on Fire"));
        assert_eq!(find_verdict(&p("Reports suggest his statement is misleading.")).as_deref(), Some("Misleading"));
        assert_eq!(find_verdict(&p("Nothing to see.")), None);
    }

    #[test]
    fn no_panic_on_garbage() -> crate::Result<()> {
        let big = "word “quote ".repeat(90_000);
        let garbage: String = (0..20_000u32).map(|i| char::from_u32((i * 7919) % 0x3000).unwrap_or('x')).collect();
        for t in [
            "",
            "\"",
            "“",
            "”“”“",
            "\"\"\"\"\"",
            "“unbalanced quote that never ends and has many words",
            "---\n---\n",
            "---",
            big.as_str(),
            "“a b c d e” “f g h i j” “k l m n o”",
            garbage.as_str(),
            "he said. she said. “It is what it is, he said,” he said.",
            "<<<<>>>>&&&;;;&#;&#x;&#99999999999;",
        ] {
            for f in [ArticleFormat::Text, ArticleFormat::Markdown, ArticleFormat::Html] {
                extract(t, f, &ArticleMeta::default())?;
            }
        }
        Ok(())
    }
}
