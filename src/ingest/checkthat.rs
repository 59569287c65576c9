//! The CLEF CheckThat! sets: 2020's Snopes `verified_claims.docs.tsv` and 2021-2B's PolitiFact `vclaims.jsonl`.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::jsonl::Lines;
use crate::model::{Claim, ClaimLink, Evidence, Publisher, Record, Review, Stance, Verdict};
use crate::{Error, PartialDate, Result};

/// Reads the 2020 `verified_claims.docs.tsv`: `vclaim_id <TAB> vclaim <TAB> title`, CSV-quoted
/// (some claims span lines), header first. Ids are kept as they are, as the qrels use them.
pub fn read_2020<R: Read>(reader: R, path: &Path) -> impl Iterator<Item = Result<Record>> {
    let path = path.to_path_buf();
    let mut rdr = csv::ReaderBuilder::new().delimiter(b'\t').has_headers(true).flexible(true).from_reader(reader);
    let header_ok = match rdr.headers() {
        Ok(h) => {
            let h: Vec<&str> = h.iter().collect();
            if h.first().map(|s| s.trim()) == Some("vclaim_id") || h.get(1).map(|s| s.trim()) == Some("vclaim") {
                Ok(())
            } else {
                Err(Error::ingest(
                    &path,
                    1,
                    "-",
                    format!("expected header `vclaim_id<TAB>vclaim<TAB>title`, found {h:?}"),
                ))
            }
        }
        Err(e) => Err(Error::ingest(&path, 1, "-", e.to_string())),
    };
    let first = header_ok.err().map(Err);
    let rows = rdr.into_records().map(move |row| {
        let row = row.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            Error::ingest(&path, line, "-", e.to_string())
        })?;
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        let col = |i: usize, name: &str| -> Result<String> {
            match row.get(i).map(|s| s.trim()) {
                Some(s) if !s.is_empty() => Ok(s.to_string()),
                _ => Err(Error::ingest(&path, line, name, "missing")),
            }
        };
        let id = col(0, "vclaim_id")?;
        let text = col(1, "vclaim")?;
        let title = row.get(2).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        Ok(Record::Claim(Claim {
            id,
            text,
            speaker: None,
            speaker_role: None,
            date: None,
            language: "en".into(),
            appearances: vec![],
            verdict: None,
            review: Some(Review {
                publisher: Some(Publisher { name: "Snopes".into(), site: Some("snopes.com".into()) }),
                title,
                ..Default::default()
            }),
            tags: vec![],
        }))
    });
    first.into_iter().chain(rows)
}

#[derive(Deserialize)]
struct VClaim {
    vclaim_id: String,
    vclaim: String,
    #[serde(default)]
    speaker: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    truth_label: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

/// Most characters in one evidence passage cut from a fact-check article.
pub const PASSAGE_CHARS: usize = 600;

/// Reads 2021-2B `vclaims.jsonl` lines: each gives a PolitiFact claim and, from its article
/// text, evidence passages of a few sentences linked to it as context.
pub fn read_2021<R: BufRead>(reader: R, path: &Path) -> impl Iterator<Item = Result<Record>> {
    let path: PathBuf = path.to_path_buf();
    Lines::new(reader, &path).flat_map(move |item| -> Vec<Result<Record>> {
        match item {
            Err(e) => vec![Err(e)],
            Ok((_, l)) if l.trim().is_empty() => vec![],
            Ok((n, l)) => match parse_2021(&l, &path, n) {
                Ok(recs) => recs.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            },
        }
    })
}

fn parse_2021(line: &str, path: &Path, n: u64) -> Result<Vec<Record>> {
    let mut de = serde_json::Deserializer::from_str(line);
    let v: VClaim = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| Error::ingest(path, n, e.path().to_string(), e.inner().to_string()))?;
    if v.vclaim_id.trim().is_empty() {
        return Err(Error::ingest(path, n, "vclaim_id", "empty"));
    }
    if v.vclaim.trim().is_empty() {
        return Err(Error::ingest(path, n, "vclaim", "empty"));
    }
    let url = v.url.filter(|u| !u.is_empty()).map(|u| {
        if u.starts_with('/') {
            format!("https://www.politifact.com{u}")
        } else {
            u
        }
    });
    let review_date = url.as_deref().and_then(date_from_politifact_url);
    let claim = Claim {
        id: v.vclaim_id.clone(),
        text: v.vclaim.trim().to_string(),
        speaker: v.speaker.filter(|s| !s.trim().is_empty()),
        speaker_role: None,
        date: v.date.as_deref().and_then(|d| d.parse::<PartialDate>().ok()),
        language: "en".into(),
        appearances: vec![],
        verdict: v.truth_label.filter(|l| !l.is_empty()).map(Verdict::from_label),
        review: Some(Review {
            publisher: Some(Publisher { name: "PolitiFact".into(), site: Some("politifact.com".into()) }),
            url: url.clone(),
            title: v.title.filter(|t| !t.is_empty()),
            date: review_date,
            summary: None,
        }),
        tags: vec![],
    };
    let mut out = vec![Record::Claim(claim)];
    for (i, passage) in passages(v.text.as_deref().unwrap_or(""), PASSAGE_CHARS).into_iter().enumerate() {
        out.push(Record::Evidence(Evidence {
            id: format!("{}-p{}", v.vclaim_id, i + 1),
            text: passage,
            source: Some("PolitiFact".into()),
            url: url.clone(),
            date: review_date,
            language: "en".into(),
            claims: vec![ClaimLink { claim_id: v.vclaim_id.clone(), stance: Stance::Context }],
        }));
    }
    Ok(out)
}

/// "/factchecks/2019/oct/30/..." → 2019-10-30.
fn date_from_politifact_url(url: &str) -> Option<PartialDate> {
    let parts: Vec<&str> = url.split('/').collect();
    let i = parts.iter().position(|p| *p == "factchecks")?;
    let y: i32 = parts.get(i + 1)?.parse().ok()?;
    let m = parts.get(i + 2)?;
    let d: u8 = parts.get(i + 3)?.parse().ok()?;
    format!("{m} {d}, {y}").parse().ok()
}

/// Splits text into passages of whole sentences, each at most about `max_chars` long.
pub fn passages(text: &str, max_chars: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for sentence in sentences(text) {
        if !cur.is_empty() && cur.chars().count() + sentence.chars().count() > max_chars {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&sentence);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Splits text into sentences at `.`, `!` or `?` followed by a space and a capital, a quote or a digit, and at line breaks.
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.split('\n') {
        let chars: Vec<char> = para.chars().collect();
        let mut start = 0;
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if matches!(c, '.' | '!' | '?') {
                let mut j = i + 1;
                while j < chars.len() && matches!(chars[j], '"' | '”' | '’' | '\'' | ')') {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ' ' {
                    let next = chars.get(j + 1).copied().unwrap_or(' ');
                    let prev_word: String = chars[start..i].iter().rev().take_while(|c| !c.is_whitespace()).collect();
                    let abbrev = prev_word.chars().count() == 1 && prev_word.chars().all(|c| c.is_uppercase())
                        || matches!(
                            prev_word.chars().rev().collect::<String>().as_str(),
                            "Mr" | "Mrs"
                                | "Ms"
                                | "Dr"
                                | "Sen"
                                | "Rep"
                                | "Gov"
                                | "Supt"
                                | "Jan"
                                | "Feb"
                                | "Aug"
                                | "Sept"
                                | "Oct"
                                | "Nov"
                                | "Dec"
                                | "St"
                                | "Del"
                                | "vs"
                        );
                    if !abbrev && (next.is_uppercase() || next.is_ascii_digit() || matches!(next, '"' | '“' | '‘'))
                    {
                        let s: String = chars[start..j].iter().collect();
                        if !s.trim().is_empty() {
                            out.push(s.trim().to_string());
                        }
                        start = j + 1;
                        i = j;
                    }
                }
            }
            i += 1;
        }
        let s: String = chars[start.min(chars.len())..].iter().collect();
        if !s.trim().is_empty() {
            out.push(s.trim().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_2020_tsv_is_csv_quoted() {
        let tsv = "vclaim_id\tvclaim\ttitle\n0\tA plain claim.\tA title\n1\t\"A claim \"\"quoted\"\"\nover two lines.\"\tT2\n2\tThird.\tT3\n";
        let recs: Vec<Record> = read_2020(tsv.as_bytes(), Path::new("v.tsv")).collect::<Result<_>>().unwrap();
        assert_eq!(recs.len(), 3);
        match &recs[1] {
            Record::Claim(c) => assert_eq!(c.text, "A claim \"quoted\"\nover two lines."),
            _ => panic!(),
        }
        let bad = "vclaim_id\tvclaim\ttitle\n0\t\tT\n";
        let e: Vec<_> = read_2020(bad.as_bytes(), Path::new("v.tsv")).collect();
        assert!(e[0].as_ref().unwrap_err().to_string().contains("v.tsv:2: field `vclaim`"));
    }

    #[test]
    fn the_2021_jsonl_gives_claims_and_passages() {
        let line = r#"{"vclaim_id": "vclaim-pol-00001", "vclaim": "Murders dropped by 10%.", "speaker": "Donald Trump", "date": "stated on October 28, 2019 in a speech:", "truth_label": "pants-fire", "title": "Trump dead wrong", "url": "/factchecks/2019/oct/29/donald-trump/x/", "text": "First sentence here. Second one follows! Third? Yes.\nNew paragraph."}"#;
        let recs: Vec<Record> = read_2021(line.as_bytes(), Path::new("v.jsonl")).collect::<Result<_>>().unwrap();
        let Record::Claim(c) = &recs[0] else { panic!() };
        assert_eq!(c.date.unwrap().to_string(), "2019-10-28");
        assert_eq!(c.verdict.as_ref().unwrap().rating, crate::Rating::False);
        assert_eq!(c.verdict.as_ref().unwrap().label, "pants-fire");
        let r = c.review.as_ref().unwrap();
        assert_eq!(r.date.unwrap().to_string(), "2019-10-29");
        assert_eq!(r.url.as_deref(), Some("https://www.politifact.com/factchecks/2019/oct/29/donald-trump/x/"));
        assert_eq!(recs.len(), 2);
        let Record::Evidence(e) = &recs[1] else { panic!() };
        assert_eq!(e.id, "vclaim-pol-00001-p1");
        assert_eq!(e.claims[0].claim_id, "vclaim-pol-00001");
    }

    #[test]
    fn sentences_split_sensibly() {
        let s =
            sentences("Sen. Smith said it. Then Mr. Jones left. The U.S. economy grew 2.5% in 2019. \"Quote.\" Done");
        assert_eq!(
            s,
            [
                "Sen. Smith said it.",
                "Then Mr. Jones left.",
                "The U.S. economy grew 2.5% in 2019.",
                "\"Quote.\"",
                "Done"
            ]
        );
        let p = passages("One two. Three four. Five six.", 12);
        assert_eq!(p, ["One two.", "Three four.", "Five six."]);
    }
}
