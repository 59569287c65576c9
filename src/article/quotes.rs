//! Finding quotations in paragraphs and attributing them to speakers.
//!
//! The rules, in the order they are tried for each quote:
//!
//! 1. **After the quote**, in the rest of its sentence: `”, said X`, `”, X said`, `”, he said`,
//!    `”, according to X`, `”, X told reporters`, `”, the statement said`.
//! 2. **Before the quote**, in its sentence: `According to X, “`, `X said that “`, `X told Y: “`,
//!    `In a statement, X said: “`. Up to ten words may sit between the verb and the quote when
//!    they end in `:`, `,` or `that`.
//! 3. **Continuation**: a quote that follows an attributed quote in the same paragraph with nothing
//!    in between belongs to the same speaker.
//! 4. **Title block**: a paragraph that is nothing but a quote, under a name line (and
//!    optionally a role line), as in the header boxes of Polygraph.info.
//!
//! Pronouns ("he said") resolve to the one person named in the nearest earlier sentence that names
//! anyone; when that sentence names two people or more, the quote stays unattributed. "The
//! statement said" resolves to whoever issued the statement in the paragraph or the three before.
//! Surnames and possessives ("Balki’s") resolve to the full name the article gave earlier, and
//! acronyms ("HRW") to the capitalised name whose initials they are ("Human Rights Watch").
//!
//! A quotation counts as a statement when it has at least five words, or at least three words and
//! ends a sentence, and is not Title Case without final punctuation (report and book titles).
//! Everything shorter is a scare quote ("proof", "door-to-door") and is skipped.

use std::collections::HashMap;

use super::format::Para;
use super::Quote;
use crate::date::PartialDate;
use crate::date::MONTHS;

/// Where a quotation sits in its paragraph (byte offsets).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    /// The opening mark.
    pub open: usize,
    /// The first byte of the quoted text.
    pub start: usize,
    /// One past the quoted text (the closing mark, or the paragraph's end when unclosed).
    pub end: usize,
    /// One past the closing mark.
    pub close: usize,
}

/// Finds quotations: curly “…”, guillemets «…» and straight "…". Single quotes are left alone,
/// since they double as apostrophes and mark quotes inside quotes. An unclosed quote runs to the
/// end of the paragraph.
pub(crate) fn find_spans(text: &str) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut cur: Option<(usize, usize, char)> = None;
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        let after = i + c.len_utf8();
        match cur {
            None => {
                let closer = match c {
                    '“' => Some('”'),
                    '«' => Some('»'),
                    '"' if prev.is_none_or(|p| !p.is_alphanumeric()) => Some('"'),
                    _ => None,
                };
                if let Some(cl) = closer {
                    cur = Some((i, after, cl));
                }
            }
            Some((open, start, cl)) => {
                if c == cl {
                    spans.push(Span { open, start, end: i, close: after });
                    cur = None;
                } else if c == '“' && cl == '”' {
                    // Unbalanced: a new quote opens before the old one closed. Keep the new one.
                    cur = Some((i, after, cl));
                }
            }
        }
        prev = Some(c);
    }
    if let Some((open, start, _)) = cur {
        spans.push(Span { open, start, end: text.len(), close: text.len() });
    }
    spans
}

/// True when a quotation is a statement rather than a scare quote or a title.
pub(crate) fn is_statement(inner: &str) -> bool {
    let words: Vec<&str> = inner.split_whitespace().filter(|w| w.chars().any(char::is_alphanumeric)).collect();
    let t = inner.trim_end_matches(|c: char| c.is_whitespace() || "’'\")]".contains(c));
    let ends = t.ends_with(['.', '!', '?', '…']);
    let long: Vec<&&str> = words.iter().filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 4).collect();
    let title_case = long.len() >= 2
        && long.iter().all(|w| w.trim_start_matches(|c: char| !c.is_alphanumeric()).starts_with(char::is_uppercase));
    if title_case && !ends {
        return false;
    }
    words.len() >= 5 || (words.len() >= 3 && ends)
}

/// The verbs that attribute a quote.
const VERBS: &[&str] = &[
    "said",
    "says",
    "say",
    "told",
    "tells",
    "declared",
    "declares",
    "added",
    "adds",
    "stated",
    "states",
    "wrote",
    "writes",
    "reported",
    "reports",
    "claimed",
    "claims",
    "tweeted",
    "tweets",
    "noted",
    "notes",
    "vowed",
    "insisted",
    "insists",
    "explained",
    "argued",
    "argues",
    "warned",
    "warns",
    "asked",
    "asks",
    "posted",
    "responded",
];
/// Adverbs that may sit between a speaker and the verb ("Mujahid, however, later told").
const ADVERBS: &[&str] = &[
    "however",
    "later",
    "also",
    "then",
    "again",
    "previously",
    "recently",
    "once",
    "repeatedly",
    "has",
    "had",
    "have",
    "earlier",
    "further",
    "publicly",
    "separately",
    "similarly",
    "first",
    "last",
    "once",
    "subsequently",
    "additionally",
    "still",
    "often",
    "has",
    "even",
    "then",
    "had",
    "ultimately",
    "simply",
];
/// Words that end a role before a name ("Taliban spokesperson Zabihullah Mujahid").
const ROLE_NOUNS: &[&str] = &[
    "spokesperson",
    "spokesman",
    "spokeswoman",
    "president",
    "minister",
    "senator",
    "representative",
    "governor",
    "mayor",
    "secretary",
    "director",
    "chief",
    "official",
    "officials",
    "negotiator",
    "commissioner",
    "chairman",
    "chairwoman",
    "chair",
    "leader",
    "ceo",
    "founder",
    "professor",
    "economist",
    "analyst",
    "researcher",
    "lawmaker",
    "candidate",
    "adviser",
    "advisor",
    "ambassador",
    "general",
    "judge",
    "attorney",
    "reporter",
    "expert",
    "doctor",
    "manager",
    "head",
    "member",
    "congressman",
    "congresswoman",
    "speaker",
    "strategist",
    "executive",
    "author",
    "writer",
    "editor",
    "activist",
    "host",
    "commentator",
    "sheriff",
    "deputy",
    "scientist",
    "epidemiologist",
    "officer",
    "coordinator",
    "nominee",
    "administrator",
    "superintendent",
    "councilman",
    "councilwoman",
    "delegate",
    "historian",
    "physician",
    "lawyer",
    "mp",
    "minister",
    "premier",
    "chancellor",
    "aide",
    "staffer",
    "engineer",
    "ornithologist",
    "biologist",
    "economist",
    "nurse",
    "consultant",
    "pollster",
    "investigator",
    "inspector",
    "prosecutor",
];
/// Lowercase words allowed inside a role before a name.
const ROLE_FILLERS: &[&str] = &[
    "and",
    "former",
    "deputy",
    "senior",
    "top",
    "acting",
    "press",
    "campaign",
    "state",
    "of",
    "interim",
    "council",
    "city",
    "county",
    "board",
    "school",
    "transportation",
    "communications",
];
/// Titles that may open a name; they move to the role ("Sen. John Smith").
const TITLES: &[&str] = &[
    "president",
    "sen",
    "senator",
    "rep",
    "representative",
    "gov",
    "governor",
    "mayor",
    "former",
    "vice",
    "prime",
    "minister",
    "secretary",
    "dr",
    "mr",
    "mrs",
    "ms",
    "gen",
    "general",
    "judge",
    "justice",
    "chief",
    "speaker",
    "sheriff",
    "commissioner",
    "lt",
    "col",
    "prof",
    "professor",
    "rev",
    "ambassador",
    "chairman",
    "councilman",
    "councilwoman",
    "congressman",
    "congresswoman",
    "del",
    "delegate",
    "sheikh",
    "president-elect",
    "pope",
    "king",
    "queen",
    "prince",
    "attorney",
    "u.s",
    "state",
    "labour",
    "conservative",
    "democratic",
    "republican",
    "mp",
    "premier",
    "chancellor",
    "health",
    "foreign",
    "defense",
    "defence",
    "interior",
];
/// Capitalised words that open a sentence and are not part of a name.
const STARTERS: &[&str] = &[
    "the",
    "on",
    "in",
    "but",
    "and",
    "however",
    "indeed",
    "after",
    "when",
    "as",
    "a",
    "an",
    "this",
    "that",
    "it",
    "then",
    "also",
    "so",
    "yet",
    "meanwhile",
    "at",
    "by",
    "for",
    "from",
    "with",
    "while",
    "during",
    "since",
    "although",
    "though",
    "if",
    "according",
    "last",
    "earlier",
    "later",
    "now",
    "here",
    "there",
    "his",
    "her",
    "their",
    "our",
    "its",
    "we",
    "i",
    "he",
    "she",
    "they",
    "you",
    "these",
    "those",
    "some",
    "many",
    "most",
    "all",
    "both",
    "other",
    "former",
    "new",
    "like",
    "what",
    "why",
    "how",
    "where",
    "who",
    "one",
    "two",
    "to",
    "no",
    "not",
    "yes",
    "of",
    "or",
    "before",
    "because",
    "instead",
    "still",
    "even",
    "just",
    "only",
    "over",
    "under",
    "about",
    "among",
    "into",
    "until",
];
/// Words that make a capitalised run an organisation rather than a person.
const ORG_WORDS: &[&str] = &[
    "watch",
    "office",
    "ministry",
    "department",
    "council",
    "news",
    "nations",
    "center",
    "centre",
    "times",
    "post",
    "party",
    "committee",
    "association",
    "organization",
    "organisation",
    "university",
    "institute",
    "agency",
    "house",
    "group",
    "foundation",
    "commission",
    "fund",
    "bank",
    "union",
    "court",
    "congress",
    "senate",
    "forces",
    "force",
    "army",
    "police",
    "government",
    "republic",
    "states",
    "kingdom",
    "emirate",
    "network",
    "press",
    "service",
    "services",
    "company",
    "corporation",
    "inc",
    "ltd",
    "board",
    "bureau",
    "administration",
    "project",
    "network",
    "journal",
    "tribune",
    "herald",
    "review",
    "magazine",
    "radio",
    "television",
    "tv",
    "report",
    "analyses",
    "affairs",
    "security",
    "rights",
    "health",
    "international",
    "global",
    "national",
    "federal",
    "county",
    "city",
    "school",
    "college",
    "church",
    "club",
    "facebook",
    "twitter",
    "instagram",
    "youtube",
    "tiktok",
    "google",
    "politifact",
    "reuters",
    "afp",
    "media",
    "daily",
    "weekly",
    "gazette",
    "hospital",
    "clinic",
    "program",
    "programme",
    "act",
    "bill",
    "law",
    "amendment",
    "street",
    "avenue",
    "road",
    "district",
    "province",
    "river",
    "island",
    "islands",
    "mountains",
    "war",
    "day",
    "week",
    "year",
    "museum",
    "library",
    "prize",
    "award",
    "census",
    "survey",
    "index",
    "system",
];
const WEEKDAYS: &[&str] = &["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
/// Connectors allowed inside a capitalised name ("Center for Global Analyses", "bin Laden").
const CONNECTORS: &[&str] = &["of", "for", "al", "bin", "de", "van", "von", "der", "la", "du", "del", "da", "y", "on"];
/// Lowercase particles that may sit inside a person's name ("Osama bin Laden").
const PARTICLES: &[&str] = &["al", "bin", "de", "van", "von", "der", "la", "du", "del", "da", "y"];
/// Nouns that "the ___ said" may refer to, whose issuer is named elsewhere.
const DOCUMENTS: &[&str] =
    &["statement", "report", "letter", "release", "memo", "declaration", "communique", "post", "ad", "mailer", "tweet"];

fn lower_in(word: &str, list: &[&str]) -> bool {
    let w = word.to_lowercase();
    list.contains(&w.as_str())
}

/// A token without surrounding punctuation and without a possessive `’s`.
fn core(tok: &str) -> &str {
    let t = tok.trim_matches(|c: char| !c.is_alphanumeric());
    let t = t.strip_suffix("’s").or_else(|| t.strip_suffix("'s")).unwrap_or(t);
    t.strip_suffix('’').or_else(|| t.strip_suffix('\'')).unwrap_or(t)
}

fn is_cap(tok: &str) -> bool {
    core(tok).starts_with(char::is_uppercase)
}

/// True when a token ends a clause (`Smith,` `office:`).
fn ends_clause(tok: &str) -> bool {
    tok.trim_end_matches(['”', '’', '"', '\'', ')']).ends_with([',', ';', ':', '(', '—', '–'])
}

fn is_verb(tok: &str) -> bool {
    lower_in(core(tok), VERBS)
}

fn is_acronym(w: &str) -> bool {
    let letters: String = w.chars().filter(|c| *c != '.').collect();
    (2..=6).contains(&letters.chars().count()) && letters.chars().all(|c| c.is_ascii_uppercase())
}

/// How a quote was attributed before names are resolved.
#[derive(Debug, Clone)]
enum Attr {
    Name { name: String, role: Option<String>, pattern: &'static str },
    Pronoun,
    Document { noun: String },
}

/// A quotation found in a paragraph, attributed and resolved.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub quote: Quote,
    /// The speaker is a person the article names (not an organisation or a statement's issuers).
    pub person: bool,
}

/// A name the article gives a person, with the role it gives them.
#[derive(Debug, Clone)]
struct Person {
    name: String,
    role: Option<String>,
    /// The role came only from a header block (prose roles win).
    role_from_header: bool,
}

/// One sentence of the article (outside quotes), with its date and the names it mentions.
#[derive(Debug, Clone)]
struct Sent {
    para: usize,
    start: usize,
    end: usize,
    date: Option<PartialDate>,
    /// Every resolved name (people and organisations).
    names: Vec<String>,
    /// Resolved names of people.
    persons: Vec<String>,
}

/// The article after the first pass: quotes located, sentences split, people registered.
pub(crate) struct Doc<'a> {
    paras: &'a [Para],
    spans: Vec<Vec<Span>>,
    masked: Vec<String>,
    sents: Vec<Sent>,
    persons: Vec<Person>,
    by_surname: HashMap<String, Option<usize>>,
    acronyms: HashMap<String, String>,
    years: Vec<(usize, i32)>,
    article_date: Option<PartialDate>,
}

/// Replaces quoted text with spaces (same byte length), keeping the marks and a final `.`/`?`/`!`
/// so that sentence ends after quotes are still seen.
fn mask(text: &str, spans: &[Span]) -> String {
    let mut b = text.as_bytes().to_vec();
    for s in spans {
        let inner = &text[s.start..s.end];
        let keep = inner.trim_end().char_indices().last().filter(|(_, c)| ".?!".contains(*c)).map(|(i, _)| s.start + i);
        for (k, x) in b.iter_mut().enumerate().take(s.end).skip(s.start) {
            if Some(k) != keep {
                *x = b' ';
            }
        }
    }
    // Every replaced range is char-aligned (quote marks are whole chars), so this stays UTF-8.
    String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Abbreviations after which a period does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "sen", "rep", "gov", "gen", "lt", "col", "st", "jr", "sr", "prof", "rev", "no", "vs",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "inc", "ltd", "co", "corp",
    "dept", "est", "approx", "fig", "del", "ft", "mt", "pres", "e.g", "i.e", "etc",
];

/// Start offsets of the sentences in a masked paragraph (always begins with 0).
fn sentence_starts(masked: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let b = masked.as_bytes();
    for (i, c) in masked.char_indices() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        if c == '.' {
            let word_start = masked[..i].rfind(|ch: char| ch.is_whitespace() || ch == '(').map_or(0, |k| k + 1);
            let word = &masked[word_start..i];
            let bare = word.trim_start_matches(|ch: char| !ch.is_alphanumeric());
            if bare.chars().count() == 1 && bare.starts_with(char::is_uppercase)
                || bare.contains('.')
                || lower_in(bare, ABBREVIATIONS)
            {
                continue;
            }
        }
        let mut k = i + 1;
        while k < b.len() && matches!(masked[k..].chars().next(), Some('”' | '’' | '"' | '\'' | ')' | '»')) {
            k += masked[k..].chars().next().map_or(1, char::len_utf8);
        }
        let rest = &masked[k..];
        let trimmed = rest.trim_start();
        if trimmed.len() == rest.len() || trimmed.is_empty() {
            continue;
        }
        if trimmed.starts_with(|ch: char| ch.is_uppercase() || ch.is_ascii_digit() || "“\"‘(«".contains(ch)) {
            starts.push(masked.len() - trimmed.len());
        }
    }
    starts
}

/// Capitalised runs in a stretch of text: (first token, one past last token) indexes into `toks`.
fn cap_runs(toks: &[&str]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if !is_cap(toks[i]) || core(toks[i]).is_empty() {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = i + 1;
        let mut j = i;
        while !ends_clause(toks[j]) && !ends_possessive(toks[j]) && !ends_sentence(toks[j]) {
            let next = j + 1;
            if next >= toks.len() {
                break;
            }
            if is_cap(toks[next]) && !core(toks[next]).is_empty() {
                end = next + 1;
                j = next;
            } else if lower_in(core(toks[next]), CONNECTORS)
                && !ends_clause(toks[next])
                && toks.get(next + 1).is_some_and(|t| is_cap(t))
            {
                j = next;
            } else {
                break;
            }
        }
        runs.push((start, end));
        i = end;
    }
    runs
}

fn ends_possessive(tok: &str) -> bool {
    let t = tok.trim_end_matches(|c: char| !c.is_alphanumeric());
    t.ends_with("’s") || t.ends_with("'s") || tok.trim_end_matches([',', '.']).ends_with('’')
}

fn ends_sentence(tok: &str) -> bool {
    let t = tok.trim_end_matches(['”', '’', '"', ')']);
    (t.ends_with(['!', '?']) || t.ends_with('.'))
        && !core(tok).contains('.')
        && !lower_in(core(tok), ABBREVIATIONS)
        && core(tok).chars().count() != 1
}

/// Splits a run's words into title words (moved to the role) and the name proper, dropping
/// sentence starters. None when nothing name-like is left.
fn split_title(words: &[&str]) -> Option<(Vec<String>, Vec<String>)> {
    let mut w: Vec<&str> = words.iter().map(|t| core(t)).filter(|t| !t.is_empty()).collect();
    while w.len() > 1 && lower_in(w[0], STARTERS) {
        w.remove(0);
    }
    // A lone starter is no name ("The", "In").
    if w.len() == 1 && (lower_in(w[0], STARTERS) || lower_in(w[0], &MONTHS) || lower_in(w[0], WEEKDAYS)) {
        return None;
    }
    let mut titles = Vec::new();
    while w.len() > 1 && (lower_in(w[0].trim_end_matches('.'), TITLES)) {
        titles.push(w.remove(0).to_string());
    }
    if w.iter().any(|t| lower_in(t, &MONTHS) && w.len() <= 2) || w.iter().all(|t| t.chars().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    Some((titles, w.into_iter().map(str::to_string).collect()))
}

/// A run of name words is a person when it has two to five words, none of them an organisation
/// word, month or weekday, and none an acronym.
fn looks_like_person(name: &[String]) -> bool {
    (2..=5).contains(&name.len())
        && name.iter().all(|w| {
            !lower_in(w, ORG_WORDS)
                && !lower_in(w, &MONTHS)
                && !lower_in(w, WEEKDAYS)
                && (!is_acronym(w) || w.len() <= 1)
                && !w.chars().any(|c| c.is_ascii_digit())
                && !lower_in(w, STARTERS)
                && !lower_in(w, &["did", "does", "do", "is", "are", "was", "were", "will", "has", "have", "can", "be"])
                && (w.starts_with(char::is_uppercase) || lower_in(w, PARTICLES))
        })
}

/// A phrase reads as a role ("spokesperson for …", "the United Nations High Commissioner …").
fn role_like(s: &str) -> bool {
    let s = s.trim();
    let n = s.split_whitespace().count();
    if n == 0 || n > 16 || s.contains(['“', '”', '"']) {
        return false;
    }
    let first = s.split_whitespace().next().unwrap_or("");
    let lower_first = first.to_lowercase();
    let stop = [
        "who", "which", "that", "he", "she", "they", "it", "but", "and", "however", "later", "also", "whose", "where",
        "when", "in", "on", "at", "after", "before",
    ];
    (s.starts_with(char::is_lowercase) && !lower_in(core(first), VERBS) && !stop.contains(&lower_first.as_str()))
        || s.split_whitespace().any(|w| lower_in(core(w), ROLE_NOUNS))
}

/// The role words right before position `at` in `toks` ("Taliban official negotiator and spokesperson").
fn role_before(toks: &[&str], at: usize) -> Option<String> {
    let mut i = at;
    while i > 0 {
        let t = toks[i - 1];
        if ends_clause(t) || ends_sentence(t) {
            break;
        }
        let c = core(t);
        if lower_in(c, ROLE_NOUNS) || lower_in(c, ROLE_FILLERS) || (is_cap(t) && !lower_in(c, STARTERS)) {
            i -= 1;
        } else {
            break;
        }
    }
    let mut words: Vec<&str> = toks[i..at].iter().map(|t| core(t)).collect();
    while words.first().is_some_and(|w| lower_in(w, &["and", "of"])) {
        words.remove(0);
    }
    match words.last() {
        Some(last) if lower_in(last, ROLE_NOUNS) => Some(words.join(" ")),
        _ => None,
    }
}

/// The name that ends `s` (the subject right before a verb), with any role before it.
fn trailing_name(s: &str) -> Option<(String, Option<String>)> {
    let toks: Vec<&str> = s.split_whitespace().collect();
    let runs = cap_runs(&toks);
    let &(start, end) = runs.last()?;
    if end != toks.len() {
        return None;
    }
    name_from_run(&toks, start, end)
}

/// The first name in `s` (after a verb: "said Taliban spokesperson Zabihullah Mujahid"), with its role.
fn leading_name(s: &str) -> Option<(String, Option<String>)> {
    let toks: Vec<&str> = s.split_whitespace().collect();
    let runs = cap_runs(&toks);
    let &(start, end) = runs.first()?;
    // Only role words may come before the name.
    if toks[..start].iter().any(|t| {
        let c = core(t);
        !(lower_in(c, ROLE_NOUNS) || lower_in(c, ROLE_FILLERS) || lower_in(c, &["the", "a", "an"]) || is_cap(t))
    }) {
        return None;
    }
    name_from_run(&toks, start, end)
}

fn name_from_run(toks: &[&str], start: usize, end: usize) -> Option<(String, Option<String>)> {
    let (titles, name) = split_title(&toks[start..end])?;
    if name.is_empty() || name.len() > 8 {
        return None;
    }
    if name.len() == 1 && (lower_in(&name[0], STARTERS) || lower_in(&name[0], &MONTHS) || lower_in(&name[0], WEEKDAYS))
    {
        return None;
    }
    // "a Sept. 27 Facebook post": a date, not a name.
    if toks[start..end].first().is_some_and(|t| month_number(t).is_some()) {
        return None;
    }
    let mut role = role_before(toks, start);
    if !titles.is_empty() {
        let t = titles.join(" ");
        role = Some(match role {
            Some(r) => format!("{r} {t}"),
            None => t,
        });
    }
    Some((name.join(" "), role))
}

/// "the statement", "a joint statement", "the report": the document's noun.
fn document_noun(subject: &str) -> Option<String> {
    let words: Vec<String> = subject.split_whitespace().map(|w| core(w).to_lowercase()).collect();
    let last = words.last()?;
    if words.len() <= 4
        && DOCUMENTS.contains(&last.as_str())
        && words.iter().take(1).all(|w| ["the", "a", "an", "that", "this", "its", "their"].contains(&w.as_str()))
    {
        return Some(last.clone());
    }
    None
}

fn pronoun(word: &str) -> bool {
    matches!(core(word).to_lowercase().as_str(), "he" | "she")
}

/// The subject that stands right before a reporting verb, with appositive and adverbs handled.
fn subject_attr(pre: &str, pattern: &'static str) -> Option<Attr> {
    let mut s = pre.trim_end();
    loop {
        let last = s.rsplit(char::is_whitespace).next().unwrap_or("");
        let c = last.trim_end_matches(',');
        if !c.is_empty() && lower_in(c, ADVERBS) {
            s = s[..s.len() - last.len()].trim_end();
        } else {
            break;
        }
    }
    let ends_comma = s.ends_with(',');
    let s = s.trim_end_matches(',').trim_end();
    if s.is_empty() {
        return None;
    }
    let last = s.rsplit(char::is_whitespace).next().unwrap_or("");
    if pronoun(last) && core(last).len() == last.trim_end_matches(',').len() {
        return Some(Attr::Pronoun);
    }
    let tail: String =
        s.split_whitespace().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(" ");
    for n in (1..=4).rev() {
        let words: Vec<&str> = tail.split_whitespace().collect();
        if words.len() >= n {
            if let Some(noun) = document_noun(&words[words.len() - n..].join(" ")) {
                return Some(Attr::Document { noun });
            }
        }
    }
    let mut s = s;
    if ends_comma {
        // "The Royal College of Nursing, which represents nurses, told": drop the relative clause.
        if let Some(lc) = s.rfind(',') {
            let first = s[lc + 1..].split_whitespace().next().unwrap_or("").to_lowercase();
            if ["who", "which", "whose", "where"].contains(&first.as_str()) {
                s = s[..lc].trim_end();
            }
        }
    }
    if ends_comma {
        if let Some(lc) = s.rfind(',') {
            let role = s[lc + 1..].trim();
            if role_like(role) {
                if let Some((name, _)) = trailing_name(&s[..lc]) {
                    return Some(Attr::Name { name, role: Some(role.to_string()), pattern });
                }
            }
        }
    }
    // "Smith and Jones said": two people, no single speaker.
    let toks: Vec<&str> = s.split_whitespace().collect();
    if toks.len() >= 3 && toks.iter().rev().skip(1).take(4).any(|t| *t == "and") && cap_runs(&toks).len() >= 2 {
        let runs = cap_runs(&toks);
        let (a, _) = runs[runs.len() - 1];
        if a >= 2 && toks[a - 1] == "and" {
            return None;
        }
    }
    let (name, role) = trailing_name(s)?;
    // "a spokesperson for Ms Roe said": the name is the object of a preposition, not the speaker;
    // the speaker is the whole phrase.
    let name_start = cap_runs(&toks).last().map_or(0, |r| r.0);
    if let Some(prep) = name_start.checked_sub(1).map(|i| toks[i]) {
        if lower_in(prep, &["for", "of", "to", "from", "with", "at", "by"]) && !ends_clause(prep) {
            let start =
                toks[..name_start - 1].iter().rposition(|t| ends_clause(t) || ends_sentence(t)).map_or(0, |i| i + 1);
            let phrase = toks[start..].join(" ");
            if toks[start..].len() <= 8
                && phrase.split_whitespace().next().is_some_and(|w| lower_in(w, &["a", "an", "the"]))
            {
                return Some(Attr::Name { name: phrase, role: None, pattern });
            }
            return None;
        }
    }
    Some(Attr::Name { name, role, pattern })
}

/// Attribution from the rest of the sentence after the quote.
fn parse_after(after: &str) -> Option<Attr> {
    let a = after.trim_start_matches(|c: char| c.is_whitespace() || ",;:—–-".contains(c));
    let toks: Vec<&str> = a.split_whitespace().take(30).collect();
    let first = *toks.first()?;
    if first.to_lowercase() == "according" && toks.get(1).is_some_and(|t| t.to_lowercase().starts_with("to")) {
        let rest = a.splitn(3, char::is_whitespace).nth(2).unwrap_or("");
        let phrase = rest.split([',', ';']).next().unwrap_or("");
        let phrase = phrase.trim_end_matches(['.', ' ']);
        return leading_name(phrase).map(|(name, role)| Attr::Name { name, role, pattern: "according to" });
    }
    if ends_clause(first) && !is_verb(first) {
        return None;
    }
    if is_verb(first) {
        if core(first).eq_ignore_ascii_case("told") {
            return None;
        }
        let rest = a[first.len()..].trim_start();
        let next = rest.split_whitespace().next().unwrap_or("");
        if pronoun(next) {
            return Some(Attr::Pronoun);
        }
        let clause = rest.split(';').next().unwrap_or("");
        let segs: Vec<&str> = clause.split(',').collect();
        let seg0 = segs[0].trim().trim_end_matches('.');
        if let Some(noun) = document_noun(seg0) {
            return Some(Attr::Document { noun });
        }
        if let Some((name, role)) = leading_name(seg0) {
            let role = role.or_else(|| {
                segs.get(1).map(|r| r.trim().trim_end_matches('.')).filter(|r| role_like(r)).map(str::to_string)
            });
            return Some(Attr::Name { name, role, pattern: "said X" });
        }
        // "said the group's director, Jane Doe."
        if let Some(seg1) = segs.get(1) {
            if role_like(seg0) {
                if let Some((name, _)) = leading_name(seg1.trim().trim_end_matches('.')) {
                    return Some(Attr::Name { name, role: Some(seg0.to_string()), pattern: "said X" });
                }
            }
        }
        return None;
    }
    let vi = toks.iter().take(12).position(|t| is_verb(t))?;
    if toks[..vi].iter().any(|t| ends_sentence(t)) {
        return None;
    }
    let mut idx = 0;
    let mut pos = 0;
    // Find the byte offset of token `vi` exactly.
    for (k, t) in a.split_whitespace().enumerate() {
        let at = a[pos..].find(t).map_or(pos, |p| pos + p);
        if k == vi {
            idx = at;
            break;
        }
        pos = at + t.len();
    }
    let pattern = if core(toks[vi]).eq_ignore_ascii_case("told") { "told" } else { "X said" };
    subject_attr(&a[..idx], pattern)
}

/// Attribution from the sentence before the quote.
fn parse_before(before: &str) -> Option<Attr> {
    let b = before.trim_end();
    if b.is_empty() {
        return None;
    }
    let lower = b.to_ascii_lowercase();
    if let Some(p) = lower.rfind("according to ") {
        let rest = &b[p + "according to ".len()..];
        if let Some(comma) = rest.find(',') {
            if rest[comma + 1..].trim().is_empty() {
                return leading_name(&rest[..comma]).map(|(name, role)| Attr::Name {
                    name,
                    role,
                    pattern: "according to",
                });
            }
        }
    }
    // Tokens with their byte offsets.
    let mut toks: Vec<(usize, &str)> = Vec::new();
    let mut pos = 0;
    for t in b.split_whitespace() {
        let at = b[pos..].find(t).map_or(pos, |p| pos + p);
        toks.push((at, t));
        pos = at + t.len();
    }
    let vi = toks.iter().rposition(|(_, t)| is_verb(t))?;
    let (verb_at, verb) = toks[vi];
    let gap: Vec<&str> = toks[vi + 1..].iter().map(|(_, t)| *t).collect();
    let gap_ok = if gap.is_empty() {
        true
    } else {
        let last = gap[gap.len() - 1];
        gap.len() <= 10 && (last.ends_with([':', ',']) || core(last).eq_ignore_ascii_case("that"))
    };
    if !gap_ok || gap.iter().any(|t| ends_sentence(t)) {
        return None;
    }
    let told = core(verb).eq_ignore_ascii_case("told") || core(verb).eq_ignore_ascii_case("tells");
    let pre = &b[..verb_at];
    let statement = lower[..verb_at].contains("in a statement") || lower[verb_at..].contains("in a statement");
    let pattern = if told {
        "told"
    } else if statement {
        "statement said"
    } else {
        "X said"
    };
    subject_attr(pre, pattern)
}

fn month_number(word: &str) -> Option<u8> {
    let c = word.trim_matches(|c: char| !c.is_alphanumeric());
    if !c.starts_with(char::is_uppercase) {
        return None;
    }
    let l = c.to_lowercase();
    if let Some(i) = MONTHS.iter().position(|m| *m == l) {
        return Some(i as u8 + 1);
    }
    // Abbreviations need their period: "Dec. 5", "Sept. 13".
    if word.trim_end_matches(',').ends_with('.') && l.len() >= 3 {
        if l == "sept" {
            return Some(9);
        }
        return MONTHS.iter().position(|m| m.starts_with(&l)).map(|i| i as u8 + 1);
    }
    None
}

fn day_number(word: &str) -> Option<u8> {
    let w = word.trim_end_matches([',', '.', ';', ':']);
    let w = w.trim_end_matches("st").trim_end_matches("nd").trim_end_matches("rd").trim_end_matches("th");
    if (1..=2).contains(&w.len()) && w.chars().all(|c| c.is_ascii_digit()) {
        w.parse().ok().filter(|d| (1..=31).contains(d))
    } else {
        None
    }
}

fn year_number(word: &str) -> Option<i32> {
    let w = word.trim_matches(|c: char| !c.is_ascii_digit());
    if w.len() == 4 && word.trim_matches(|c: char| !c.is_alphanumeric()).len() == 4 {
        w.parse().ok().filter(|y| (1900..=2099).contains(y))
    } else {
        None
    }
}

impl<'a> Doc<'a> {
    /// The first pass: quotes, masks, sentences, people, acronyms, years.
    pub(crate) fn new(paras: &'a [Para], article_date: Option<PartialDate>) -> Self {
        let spans: Vec<Vec<Span>> = paras.iter().map(|p| find_spans(&p.text)).collect();
        let masked: Vec<String> = paras.iter().zip(&spans).map(|(p, s)| mask(&p.text, s)).collect();
        let mut doc = Doc {
            paras,
            spans,
            masked,
            sents: Vec::new(),
            persons: Vec::new(),
            by_surname: HashMap::new(),
            acronyms: HashMap::new(),
            years: Vec::new(),
            article_date,
        };
        doc.register();
        doc.drop_groups();
        doc.split_sentences();
        doc
    }

    fn add_person(&mut self, name: String, role: Option<String>, from_header: bool) {
        if let Some(p) = self.persons.iter_mut().find(|p| p.name == name) {
            if role.is_some() && (p.role.is_none() || (p.role_from_header && !from_header)) {
                p.role = role;
                p.role_from_header = from_header;
            }
            return;
        }
        let idx = self.persons.len();
        if let Some(last) = name.split_whitespace().last() {
            let e = self.by_surname.entry(last.to_lowercase()).or_insert(Some(idx));
            if e.is_some_and(|i| i != idx) {
                *e = None;
            }
        }
        self.persons.push(Person { name, role, role_from_header: from_header });
    }

    /// Registers people (with roles), acronyms and years from the text outside quotes.
    fn register(&mut self) {
        for p in 0..self.paras.len() {
            // Header blocks: a name line over an optional role line over a quote paragraph.
            if let Some((name, role)) = self.header_block(p) {
                self.add_person(name, role, true);
            }
            let masked = self.masked[p].clone();
            let toks: Vec<&str> = masked.split_whitespace().collect();
            for t in &toks {
                if let Some(y) = year_number(t) {
                    self.years.push((p, y));
                }
            }
            for (start, end) in cap_runs(&toks) {
                let words: Vec<String> = toks[start..end].iter().map(|t| core(t).to_string()).collect();
                // Acronyms of multi-word names: "Human Rights Watch" → HRW.
                let sig: Vec<&String> =
                    words.iter().filter(|w| !lower_in(w, CONNECTORS) && !lower_in(w, &["the", "and"])).collect();
                if sig.len() >= 2 {
                    let initials: String = sig.iter().filter_map(|w| w.chars().next()).collect();
                    let mut full: Vec<&str> = words.iter().map(String::as_str).collect();
                    while full.first().is_some_and(|w| lower_in(w, STARTERS)) {
                        full.remove(0);
                    }
                    let full_sig = full.iter().filter(|w| !lower_in(w, CONNECTORS)).count();
                    if full_sig == initials.chars().count() {
                        self.acronyms.entry(initials.to_uppercase()).or_insert_with(|| full.join(" "));
                    }
                }
                let Some((_, name)) = split_title(&toks[start..end]) else {
                    continue;
                };
                if !looks_like_person(&name) {
                    continue;
                }
                let mut role = None;
                if ends_clause(toks[end - 1]) && toks[end - 1].ends_with(',') {
                    // An appositive: "Abdul Qahar Balki, spokesperson for …, denied".
                    let mut k = end;
                    let mut words = Vec::new();
                    while k < toks.len() && k < end + 16 {
                        words.push(toks[k]);
                        if ends_clause(toks[k]) || ends_sentence(toks[k]) {
                            break;
                        }
                        k += 1;
                    }
                    let phrase = words.join(" ");
                    let phrase = phrase.trim_end_matches([',', '.', ';', ':']);
                    if role_like(phrase) && !phrase.contains(" said") {
                        role = Some(phrase.to_string());
                    }
                }
                if role.is_none() {
                    role = name_from_run(&toks, start, end).and_then(|(_, r)| r);
                }
                self.add_person(name.join(" "), role, false);
            }
        }
    }

    /// Drops "people" whose last word the article also writes as "the X" at least twice ("the
    /// Afghan Taliban" / "the Taliban"): those are groups.
    fn drop_groups(&mut self) {
        let groups: Vec<bool> = self
            .persons
            .iter()
            .map(|p| {
                let last = p.name.split_whitespace().last().unwrap_or("");
                let needle = format!("the {last}");
                let needle_cap = format!("The {last}");
                let uses: usize = self
                    .masked
                    .iter()
                    .map(|m| {
                        m.match_indices(&needle)
                            .chain(m.match_indices(&needle_cap))
                            .filter(|(i, _)| !m[i + needle.len()..].starts_with(|c: char| c.is_alphanumeric()))
                            .count()
                    })
                    .sum();
                !p.role_from_header && uses >= 2
            })
            .collect();
        let mut keep = groups.iter().map(|g| !g);
        self.persons.retain(|_| keep.next().unwrap_or(true));
        self.by_surname.clear();
        for (idx, p) in self.persons.iter().enumerate() {
            if let Some(last) = p.name.split_whitespace().last() {
                let e = self.by_surname.entry(last.to_lowercase()).or_insert(Some(idx));
                if e.is_some_and(|i| i != idx) {
                    *e = None;
                }
            }
        }
    }

    /// `(name, role)` when paragraph `p` is a quote alone under a name line (and a role line).
    fn header_block(&self, p: usize) -> Option<(String, Option<String>)> {
        let text = self.paras[p].text.trim();
        let spans = &self.spans[p];
        if spans.len() != 1 || spans[0].open != 0 || spans[0].close + 1 < text.len() {
            return None;
        }
        let short = |t: &str| {
            let n = t.split_whitespace().count();
            (1..=12).contains(&n) && !t.ends_with(['.', '!', '?', ':']) && !t.contains(['“', '”', '"'])
        };
        let name_like = |t: &str| {
            let w: Vec<&str> = t.split_whitespace().collect();
            short(t)
                && (2..=5).contains(&w.len())
                && !t.contains(',')
                && w.iter().all(|x| x.starts_with(char::is_uppercase) && !x.chars().any(|c| c.is_ascii_digit()))
                && !w.iter().any(|x| lower_in(core(x), ORG_WORDS))
        };
        let person = |t: &str| -> String {
            let w: Vec<&str> = t.split_whitespace().collect();
            split_title(&w).map_or_else(|| t.to_string(), |(_, n)| n.join(" "))
        };
        let prev = p.checked_sub(1).map(|i| self.paras[i].text.trim())?;
        let prev2 = p.checked_sub(2).map(|i| self.paras[i].text.trim());
        if let Some(p2) = prev2 {
            if name_like(p2) && short(prev) && !name_like(prev) {
                return Some((person(p2), Some(prev.to_string())));
            }
        }
        if name_like(prev) {
            return Some((person(prev), None));
        }
        None
    }

    /// Resolves a name as the article uses it to the fullest form it gives.
    fn resolve(&self, name: &str) -> String {
        let n = name.trim();
        let n = n.strip_suffix("’s").or_else(|| n.strip_suffix("'s")).unwrap_or(n).trim();
        if self.persons.iter().any(|p| p.name == n) {
            return n.to_string();
        }
        if let Some(last) = n.split_whitespace().last() {
            if let Some(Some(i)) = self.by_surname.get(&last.to_lowercase()) {
                let full = &self.persons[*i].name;
                let tokens = n.split_whitespace().count();
                if tokens == 1 || full.ends_with(n) {
                    return full.clone();
                }
            }
        }
        if is_acronym(n) {
            let key: String = n.chars().filter(|c| *c != '.').collect();
            if let Some(full) = self.acronyms.get(&key) {
                return full.clone();
            }
        }
        n.to_string()
    }

    fn is_person(&self, resolved: &str) -> bool {
        self.persons.iter().any(|p| p.name == resolved)
    }

    fn role_of(&self, resolved: &str) -> Option<String> {
        self.persons.iter().find(|p| p.name == resolved).and_then(|p| p.role.clone())
    }

    fn resolve_year(&self, para: usize, month: u8, day: u8) -> Option<i32> {
        if let Some(d) = self.article_date {
            let after = match d.month {
                Some(m) => (month, day) > (m, d.day.unwrap_or(31)),
                None => false,
            };
            return Some(if after { d.year - 1 } else { d.year });
        }
        self.years.iter().min_by_key(|(p, _)| (p.abs_diff(para), *p > para)).map(|(_, y)| *y)
    }

    fn date_in(&self, para: usize, text: &str) -> Option<PartialDate> {
        let toks: Vec<&str> = text.split_whitespace().collect();
        for (i, t) in toks.iter().enumerate() {
            let Some(m) = month_number(t) else { continue };
            let Some(d) = toks.get(i + 1).and_then(|w| day_number(w)) else {
                continue;
            };
            let year = toks.get(i + 2).and_then(|w| year_number(w)).or_else(|| self.resolve_year(para, m, d));
            if let Some(y) = year {
                if let Ok(date) = PartialDate::new(y, Some(m), Some(d)) {
                    return Some(date);
                }
            }
            return None;
        }
        None
    }

    /// Splits every paragraph into sentences and records their dates and the names they mention.
    fn split_sentences(&mut self) {
        let mut sents = Vec::new();
        for p in 0..self.paras.len() {
            let masked = &self.masked[p];
            let mut starts = sentence_starts(masked);
            starts.push(masked.len());
            for w in starts.windows(2) {
                let (start, end) = (w[0], w[1]);
                let text = &masked[start..end];
                let toks: Vec<&str> = text.split_whitespace().collect();
                let mut names = Vec::new();
                let mut persons = Vec::new();
                for (a, b) in cap_runs(&toks) {
                    let Some((_, name)) = split_title(&toks[a..b]) else {
                        continue;
                    };
                    if name.len() == 1 && (lower_in(&name[0], STARTERS) || lower_in(&name[0], &MONTHS)) {
                        continue;
                    }
                    let resolved = self.resolve(&name.join(" "));
                    if self.is_person(&resolved) {
                        if !persons.contains(&resolved) {
                            persons.push(resolved.clone());
                        }
                    } else if name.len() == 1 {
                        // A surname the article gave in full somewhere else.
                        let r = self.resolve(&name[0]);
                        if self.is_person(&r) && !persons.contains(&r) {
                            persons.push(r.clone());
                        }
                    }
                    if !names.contains(&resolved) {
                        names.push(resolved);
                    }
                }
                let date = self.date_in(p, text);
                sents.push(Sent { para: p, start, end, date, names, persons });
            }
        }
        self.sents = sents;
    }

    fn sentence_at(&self, para: usize, pos: usize) -> usize {
        let idx = self.sents.partition_point(|s| (s.para, s.start) <= (para, pos));
        idx.saturating_sub(1)
    }

    /// Finds, attributes and resolves every statement quote.
    pub(crate) fn quotes(&self) -> Vec<Found> {
        let mut out: Vec<Found> = Vec::new();
        for p in 0..self.paras.len() {
            if self.paras[p].heading {
                continue;
            }
            let text = &self.paras[p].text;
            let spans = &self.spans[p];
            let mut prev_in_para: Option<(usize, Option<Found>)> = None;
            for (qi, s) in spans.iter().enumerate() {
                let inner = &text[s.start..s.end];
                if !is_statement(inner)
                    || (s.close == text.len() && s.end == text.len() && inner.split_whitespace().count() < 5)
                {
                    continue;
                }
                let si = self.sentence_at(p, s.open);
                let sent = &self.sents[si];
                let prev_close = if qi > 0 { spans[qi - 1].close } else { 0 };
                let next_open = spans.get(qi + 1).map_or(text.len(), |n| n.open);
                let sent_end = self.sents[si..]
                    .iter()
                    .find(|x| x.para == p && x.start > s.end.min(text.len().saturating_sub(1)) && x.start >= s.close)
                    .map_or(text.len(), |x| x.start);
                let before = &text[sent.start.max(prev_close).min(s.open)..s.open];
                let after = &text[s.close..sent_end.min(next_open).max(s.close)];
                let mut attr = parse_after(after).or_else(|| parse_before(before));
                let mut pattern_override = None;
                if attr.is_none() && before.trim().is_empty() && qi > 0 {
                    if let Some((pq, Some(f))) = &prev_in_para {
                        if *pq + 1 == qi && f.quote.speaker.is_some() {
                            attr = Some(Attr::Name {
                                name: f.quote.speaker.clone().unwrap_or_default(),
                                role: f.quote.role.clone(),
                                pattern: "continuation",
                            });
                            pattern_override = Some("continuation");
                        }
                    }
                }
                let mut header = None;
                if attr.is_none() {
                    if let Some((name, role)) = self.header_block(p) {
                        header = Some(role.clone());
                        attr = Some(Attr::Name { name, role, pattern: "title block" });
                    }
                }
                let own_sentence = &self.masked[p][sent.start..sent.end];
                let mut date = sent.date;
                let (speaker, role, pattern, person) = match attr {
                    Some(Attr::Name { name, role, pattern }) => {
                        let resolved = self.resolve(&name);
                        let person = self.is_person(&resolved);
                        let role = match (&header, role) {
                            (Some(_), r) => r,
                            (None, Some(r)) => Some(r),
                            (None, None) => self.role_of(&resolved),
                        };
                        (Some(resolved), role, pattern_override.unwrap_or(pattern), person)
                    }
                    Some(Attr::Pronoun) => match self.resolve_pronoun(si, p, s.open) {
                        Some(name) => {
                            let role = self.role_of(&name);
                            (Some(name), role, "pronoun", true)
                        }
                        None => (None, None, "pronoun", false),
                    },
                    Some(Attr::Document { noun }) => match self.issuer(si, &noun) {
                        Some((issuer, d)) => {
                            date = date.or(d);
                            (Some(issuer), None, "statement said", false)
                        }
                        None => (None, None, "statement said", false),
                    },
                    None => (None, None, "none", false),
                };
                if date.is_none() && header.is_none() {
                    if let Some(sp) = &speaker {
                        let lower = own_sentence.to_lowercase();
                        let relative =
                            ["later", "earlier", "previously", "since", " ago", "last year", "last week", "before"]
                                .iter()
                                .any(|w| lower.contains(w))
                                || own_sentence.split_whitespace().any(|w| year_number(w).is_some());
                        if !relative {
                            date = self.last_dated_mention(si, p, sp);
                        }
                    }
                }
                let mut qtext = inner.split_whitespace().collect::<Vec<_>>().join(" ");
                while qtext.ends_with([',', ' ']) {
                    qtext.pop();
                }
                let found = Found { quote: Quote { text: qtext, speaker, role, date, pattern, paragraph: p }, person };
                prev_in_para = Some((qi, Some(found.clone())));
                out.push(found);
            }
        }
        out
    }

    /// The one person the nearest earlier sentence names; None when it names two or more.
    fn resolve_pronoun(&self, si: usize, para: usize, pos: usize) -> Option<String> {
        let sent = &self.sents[si];
        // Names in the quote's own sentence, before the quote.
        let own = &self.masked[para][sent.start..pos.max(sent.start)];
        let toks: Vec<&str> = own.split_whitespace().collect();
        let mut persons: Vec<String> = Vec::new();
        for (a, b) in cap_runs(&toks) {
            if let Some((_, name)) = split_title(&toks[a..b]) {
                let r = self.resolve(&name.join(" "));
                if self.is_person(&r) && !persons.contains(&r) {
                    persons.push(r);
                }
            }
        }
        if persons.is_empty() {
            for s in self.sents[..si].iter().rev().take(6) {
                if s.para + 2 < para {
                    break;
                }
                if !s.persons.is_empty() {
                    persons = s.persons.clone();
                    break;
                }
            }
        }
        if persons.len() == 1 {
            persons.pop()
        } else {
            None
        }
    }

    /// The date of the latest sentence, up to three paragraphs back, that mentions `speaker`.
    fn last_dated_mention(&self, si: usize, para: usize, speaker: &str) -> Option<PartialDate> {
        for s in self.sents[..=si].iter().rev().take(20) {
            if s.para + 3 < para {
                break;
            }
            if s.date.is_some() && s.names.iter().chain(&s.persons).any(|n| n == speaker) {
                return s.date;
            }
        }
        None
    }

    /// Who issued "the statement": "X issued a joint statement", "a statement from X", "X's statement".
    fn issuer(&self, si: usize, noun: &str) -> Option<(String, Option<PartialDate>)> {
        let para = self.sents[si].para;
        for s in self.sents[..=si].iter().rev().take(20) {
            if s.para + 3 < para {
                break;
            }
            let text = &self.masked[s.para][s.start..s.end];
            let lower = text.to_ascii_lowercase();
            let Some(at) = lower.find(noun) else { continue };
            let head = &lower[..at];
            let verbs = ["issued", "released", "published", "put out", "signed", "sent", "posted"];
            if let Some((vpos, _)) = verbs.iter().filter_map(|v| head.rfind(&format!(" {v} ")).map(|p| (p, v))).max() {
                let subject = &text[..vpos];
                let subject = subject.rsplit(',').next().unwrap_or(subject).trim();
                if !subject.is_empty() && subject.split_whitespace().count() <= 12 {
                    return Some((self.resolve(subject), s.date));
                }
            }
            let tail = &text[at + noun.len()..];
            let tl = tail.trim_start().to_ascii_lowercase();
            if tl.starts_with("from ") || tl.starts_with("by ") {
                let rest = tail.trim_start().split_once(' ').map_or("", |x| x.1);
                if let Some((name, _)) = leading_name(rest.split([',', '.']).next().unwrap_or("")) {
                    return Some((self.resolve(&name), s.date));
                }
            }
            let head_text = text[..at].trim_end();
            for w in head_text.rsplit(char::is_whitespace).take(3) {
                if w.ends_with("’s") || w.ends_with("'s") {
                    if let Some((name, _)) = trailing_name(&head_text[..head_text.len() - w.len() + core(w).len()]) {
                        return Some((self.resolve(&name), s.date));
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_handle_curly_straight_nested_and_unclosed() {
        let t = "A “one ‘two’ three” and \"four\" then “open";
        let s = find_spans(t);
        let inner: Vec<&str> = s.iter().map(|s| &t[s.start..s.end]).collect();
        assert_eq!(inner, ["one ‘two’ three", "four", "open"]);
        assert!(find_spans("5'11\" tall").is_empty());
    }

    #[test]
    fn statements_and_scare_quotes() {
        assert!(!is_statement("proof"));
        assert!(!is_statement("door-to-door"));
        assert!(!is_statement("No Forgiveness for People Like You,"));
        assert!(is_statement("We don’t hold grudges against anyone,"));
        assert!(is_statement("It is false."));
        assert!(!is_statement("too extreme"));
    }

    #[test]
    fn sentences_skip_abbreviations() {
        let m = "On December 4, the U.S. several countries met. Dr. Smith left. Then Sen. Doe spoke.";
        let s = sentence_starts(m);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn subjects_and_names() {
        let a = subject_attr("Mujahid, however, later", "told");
        assert!(matches!(a, Some(Attr::Name { ref name, .. }) if name == "Mujahid"), "{a:?}");
        let a = subject_attr(
            "On August 17, during their first news conference, Taliban spokesperson Zabihullah Mujahid",
            "X said",
        );
        match a {
            Some(Attr::Name { name, role, .. }) => {
                assert_eq!(name, "Zabihullah Mujahid");
                assert_eq!(role.as_deref(), Some("Taliban spokesperson"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse_after(" he said."), Some(Attr::Pronoun)));
        assert!(matches!(parse_after(" the statement said."), Some(Attr::Document { .. })));
        match parse_after(", said Jane Roe, a spokeswoman for the agency.") {
            Some(Attr::Name { name, role, pattern }) => {
                assert_eq!(
                    (name.as_str(), role.as_deref(), pattern),
                    ("Jane Roe", Some("a spokeswoman for the agency"), "said X")
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
