//! The native JSON Lines format: one claim or evidence record per line, tagged by `kind`.
//!
//! ```json
//! {"kind":"claim","id":"c1","text":"...","speaker":"...","date":"2021-12-05","verdict":{"label":"Misleading","rating":"misleading"}}
//! {"kind":"evidence","id":"e1","text":"...","source":"Human Rights Watch","claims":[{"claim_id":"c1","stance":"refutes"}]}
//! ```

use std::io::BufRead;
use std::path::{Path, PathBuf};

use crate::model::{Kind, Record};
use crate::{Error, Result};

/// Longest line accepted, in bytes.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Reads lines as bytes, so that invalid UTF-8 and overlong lines become errors naming the line.
pub struct Lines<R> {
    reader: R,
    path: PathBuf,
    line: u64,
    done: bool,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `reader`, which was opened from `path`.
    pub fn new(reader: R, path: &Path) -> Self {
        Lines { reader, path: path.to_path_buf(), line: 0, done: false }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    /// (1-based line number, the line without its end) or an error naming the line.
    type Item = Result<(u64, String)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut buf = Vec::new();
        self.line += 1;
        let read = std::io::Read::take(&mut self.reader, MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buf);
        match read {
            Err(e) => {
                self.done = true;
                Some(Err(Error::ingest(&self.path, self.line, "-", format!("cannot read: {e}"))))
            }
            Ok(0) => {
                self.done = true;
                None
            }
            Ok(_) => {
                if buf.len() > MAX_LINE_BYTES {
                    // Skip the rest of the overlong line.
                    let mut sink = Vec::new();
                    loop {
                        sink.clear();
                        match std::io::Read::take(&mut self.reader, 1 << 20).read_until(b'\n', &mut sink) {
                            Ok(0) => break,
                            Ok(_) if sink.ends_with(b"\n") => break,
                            Ok(_) => continue,
                            Err(_) => break,
                        }
                    }
                    return Some(Err(Error::ingest(
                        &self.path,
                        self.line,
                        "-",
                        format!("line longer than {MAX_LINE_BYTES} bytes"),
                    )));
                }
                while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buf.pop();
                }
                match String::from_utf8(buf) {
                    Ok(s) => Some(Ok((self.line, s))),
                    Err(e) => Some(Err(Error::ingest(
                        &self.path,
                        self.line,
                        "-",
                        format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
                    ))),
                }
            }
        }
    }
}

/// Parses one native line into a record, naming the faulty field on error.
pub fn parse_line(text: &str, path: &Path, line: u64) -> Result<Record> {
    let err = |field: &str, msg: String| Error::ingest(path, line, field, msg);
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| err("-", format!("not JSON: {e}")))?;
    let serde_json::Value::Object(mut map) = value else {
        return Err(err("-", "a record must be a JSON object".into()));
    };
    let kind = map.remove("kind");
    let kind = kind.as_ref().and_then(|k| k.as_str()).and_then(Kind::parse);
    let value = serde_json::Value::Object(map);
    let record = match kind {
        Some(Kind::Claim) => serde_path_to_error::deserialize(value).map(Record::Claim),
        Some(Kind::Evidence) => serde_path_to_error::deserialize(value).map(Record::Evidence),
        None => return Err(err("kind", "must be \"claim\" or \"evidence\"".into())),
    }
    .map_err(|e| {
        let msg = e.inner().to_string();
        let mut field = e.path().to_string();
        if let Some(missing) = msg.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
            field = if field == "." { missing.to_string() } else { format!("{field}.{missing}") };
        }
        err(&field, msg)
    })?;
    crate::index::validate(&record).map_err(|e| err(&field_of(&e), e.to_string()))?;
    Ok(record)
}

fn field_of(e: &Error) -> String {
    let s = e.to_string();
    s.split("field `").nth(1).and_then(|r| r.split('`').next()).unwrap_or("-").to_string()
}

/// Reads native records from a reader: blank lines are skipped.
pub fn read<R: BufRead>(reader: R, path: &Path) -> impl Iterator<Item = Result<Record>> {
    let path = path.to_path_buf();
    Lines::new(reader, &path).filter_map(move |item| match item {
        Err(e) => Some(Err(e)),
        Ok((_, l)) if l.trim().is_empty() => None,
        Ok((n, l)) => Some(parse_line(&l, &path, n)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(input: &[u8]) -> Vec<String> {
        read(input, Path::new("x.jsonl")).filter_map(|r| r.err()).map(|e| e.to_string()).collect()
    }

    #[test]
    fn reads_claims_and_evidence() {
        let input = br#"{"kind":"claim","id":"c1","text":"The sky is green.","date":"2021-12-05","verdict":{"label":"Pants on Fire","rating":"false"}}

{"kind":"evidence","id":"e1","text":"It is blue.","claims":[{"claim_id":"c1","stance":"refutes"}]}
"#;
        let recs: Vec<Record> = read(&input[..], Path::new("x.jsonl")).collect::<Result<_>>().unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].id(), "c1");
        match &recs[0] {
            Record::Claim(c) => {
                assert_eq!(c.language, "en");
                assert_eq!(c.date.map(|d| d.to_string()).as_deref(), Some("2021-12-05"));
            }
            _ => panic!("expected a claim"),
        }
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = errors(b"{\"kind\":\"claim\",\"id\":\"c1\",\"text\":\"ok\"}\n{\"kind\":\"claim\",\"id\":\"c2\",\"text\":\"x\",\"date\":\"2021-02-30\"}\n");
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("x.jsonl:2: field `date`"), "{}", e[0]);
        let e = errors(b"{\"kind\":\"claim\",\"id\":\"c1\"}\n");
        assert!(e[0].contains(":1:") && e[0].contains("text"), "{}", e[0]);
        let e = errors(b"{\"id\":\"c1\",\"text\":\"t\"}\n");
        assert!(e[0].contains("field `kind`"), "{}", e[0]);
        let e = errors(b"{\"kind\":\"claim\",\"id\":\"c1\",\"text\":\"  \"}\n");
        assert!(e[0].contains("field `text`"), "{}", e[0]);
        let e = errors(b"{\"kind\":\"claim\",\"id\":\"c1\",\"text\":\"t\",\"speaker\":42}\n");
        assert!(e[0].contains("field `speaker`"), "{}", e[0]);
    }

    #[test]
    fn hostile_lines_are_errors_not_panics() {
        let e = errors(b"\xff\xfe{}\n");
        assert!(e[0].contains("invalid UTF-8"), "{}", e[0]);
        let deep = "[".repeat(100_000);
        assert_eq!(errors(deep.as_bytes()).len(), 1);
        assert_eq!(errors(b"null\n42\n\"s\"\n{}\n").len(), 4);
        assert_eq!(
            errors(b"{\"kind\":\"claim\",\"id\":\"c1\",\"text\":\"a\",\"text\":\"b\"}\n").len(),
            0,
            "duplicate keys: the last wins"
        );
    }
}
