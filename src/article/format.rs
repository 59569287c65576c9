//! Turning plain text, Markdown and HTML into paragraphs, and finding the headline.

use super::ArticleFormat;

/// One paragraph of the article, as plain text.
#[derive(Debug, Clone)]
pub(crate) struct Para {
    /// The text, whitespace collapsed.
    pub text: String,
    /// True for headings (`# ...`, `<h2>`), which never hold quotes worth extracting.
    pub heading: bool,
}

/// Lines that sit on top of pasted articles and are never the headline.
const BOILERPLATE: &[&str] = &[
    "accessibility links",
    "breaking news",
    "skip to content",
    "skip to main content",
    "menu",
    "search",
    "share",
    "share this",
    "advertisement",
    "subscribe",
    "sign in",
    "log in",
    "home",
    "fact check",
    "fact-check",
    "close",
];

/// Splits the article into paragraphs; for HTML and Markdown also returns the `<h1>`/`<title>` or `# ` headline.
pub(crate) fn paragraphs(text: &str, format: ArticleFormat) -> (Vec<Para>, Option<String>) {
    match format {
        ArticleFormat::Text => (text_paragraphs(text), None),
        ArticleFormat::Markdown => markdown_paragraphs(text),
        ArticleFormat::Html => html_paragraphs(text),
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn push(out: &mut Vec<Para>, text: &str, heading: bool) {
    let t = collapse(text);
    if !t.is_empty() {
        out.push(Para { text: t, heading });
    }
}

/// Plain text: one paragraph per line, unless the text is hard-wrapped (blank-line separated blocks
/// of several short lines), in which case the lines of a block are joined.
fn text_paragraphs(text: &str) -> Vec<Para> {
    let blocks: Vec<Vec<&str>> = text
        .split("\n\n")
        .map(|b| b.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>())
        .filter(|b| !b.is_empty())
        .collect();
    let wrapped = blocks.iter().any(|b| b.len() >= 3)
        && blocks.iter().flatten().all(|l| l.chars().count() <= 90)
        && blocks.iter().filter(|b| b.len() >= 2).count() * 2 >= blocks.len();
    let mut out = Vec::new();
    for b in &blocks {
        if wrapped {
            push(&mut out, &b.join(" "), false);
        } else {
            for l in b {
                push(&mut out, l, false);
            }
        }
    }
    out
}

/// Markdown: blocks separated by blank lines; headings, list items and blockquotes are their own
/// paragraphs; emphasis, links and images are reduced to their text. A blockquote without quotation
/// marks is wrapped in “ ” so that it is found as a quote.
fn markdown_paragraphs(text: &str) -> (Vec<Para>, Option<String>) {
    let mut out = Vec::new();
    let mut headline = None;
    let mut cur: Vec<String> = Vec::new();
    let mut cur_quote = false;
    let flush = |out: &mut Vec<Para>, cur: &mut Vec<String>, quote: bool| {
        if cur.is_empty() {
            return;
        }
        let mut t = collapse(&cur.join(" "));
        if quote && !t.contains(['“', '"']) && !t.is_empty() {
            t = format!("“{t}”");
        }
        push(out, &t, false);
        cur.clear();
    };
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() {
            flush(&mut out, &mut cur, cur_quote);
            cur_quote = false;
            continue;
        }
        if let Some(h) = heading_text(line) {
            flush(&mut out, &mut cur, cur_quote);
            cur_quote = false;
            let h = md_inline(h);
            if headline.is_none() && line.starts_with("# ") {
                headline = Some(collapse(&h));
            }
            push(&mut out, &h, true);
            continue;
        }
        if line.chars().all(|c| matches!(c, '-' | '*' | '_' | '=')) {
            flush(&mut out, &mut cur, cur_quote);
            continue;
        }
        if let Some(q) = line.strip_prefix('>') {
            if !cur_quote {
                flush(&mut out, &mut cur, false);
            }
            cur_quote = true;
            let q = q.trim_start_matches('>').trim();
            if q.is_empty() {
                flush(&mut out, &mut cur, true);
                cur_quote = true;
            } else {
                cur.push(md_inline(q));
            }
            continue;
        }
        if cur_quote {
            flush(&mut out, &mut cur, true);
            cur_quote = false;
        }
        let item = ["- ", "* ", "+ "].iter().find_map(|p| line.strip_prefix(p)).or_else(|| {
            let digits = line.chars().take_while(char::is_ascii_digit).count();
            (digits > 0).then(|| line[digits..].strip_prefix(". ")).flatten()
        });
        if let Some(item) = item {
            flush(&mut out, &mut cur, false);
            cur.push(md_inline(item));
            flush(&mut out, &mut cur, false);
            continue;
        }
        cur.push(md_inline(line));
    }
    flush(&mut out, &mut cur, cur_quote);
    (out, headline)
}

fn heading_text(line: &str) -> Option<&str> {
    let hashes = line.chars().take_while(|&c| c == '#').count();
    if (1..=6).contains(&hashes) {
        let rest = &line[hashes..];
        if rest.starts_with(' ') {
            return Some(rest.trim().trim_end_matches('#').trim());
        }
    }
    None
}

/// Reduces inline Markdown to text: `![alt](url)` is dropped, `[text](url)` becomes `text`,
/// `**`, `__`, backticks and lone `*` emphasis markers go.
fn md_inline(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let image = c == '!' && chars.get(i + 1) == Some(&'[');
        if c == '[' || image {
            let start = if image { i + 2 } else { i + 1 };
            if let Some(close) = (start..chars.len()).find(|&j| chars[j] == ']') {
                if chars.get(close + 1) == Some(&'(') {
                    if let Some(end) = (close + 2..chars.len()).find(|&j| chars[j] == ')') {
                        if !image {
                            out.extend(&chars[start..close]);
                        }
                        i = end + 1;
                        continue;
                    }
                }
            }
        }
        match c {
            '`' => {}
            '*' => {}
            '_' if chars.get(i + 1) == Some(&'_') => i += 1,
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "br",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "li",
    "ul",
    "ol",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "tr",
    "td",
    "th",
    "table",
    "figure",
    "figcaption",
    "hr",
    "main",
    "aside",
    "nav",
    "dd",
    "dt",
    "pre",
    "title",
    "body",
    "html",
    "head",
];
const DROP_TAGS: &[&str] = &["script", "style", "noscript", "template", "svg", "iframe"];

/// HTML: tags stripped by hand, script/style dropped, block tags end paragraphs, entities decoded.
/// The headline is the first `<h1>`, else `<title>`.
fn html_paragraphs(html: &str) -> (Vec<Para>, Option<String>) {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut h1: Option<String> = None;
    let mut title: Option<String> = None;
    // Which heading or title we are inside, and its text so far.
    let mut capture: Option<(String, String)> = None;
    let lower = html.to_ascii_lowercase();
    let bytes = html.as_bytes();
    let mut i = 0;
    let flush = |out: &mut Vec<Para>, buf: &mut String, heading: bool| {
        push(out, &decode_entities(buf), heading);
        buf.clear();
    };
    while i < bytes.len() {
        if bytes[i] != b'<' {
            let next = html[i..].find('<').map_or(html.len(), |n| i + n);
            buf.push_str(&html[i..next]);
            if let Some((_, t)) = capture.as_mut() {
                t.push_str(&html[i..next]);
            }
            i = next;
            continue;
        }
        if lower[i..].starts_with("<!--") {
            i = lower[i..].find("-->").map_or(html.len(), |n| i + n + 3);
            continue;
        }
        // Find the end of the tag, skipping quoted attribute values.
        let mut j = i + 1;
        let mut q: Option<u8> = None;
        while j < bytes.len() {
            let b = bytes[j];
            match q {
                Some(qc) if b == qc => q = None,
                Some(_) => {}
                None if b == b'"' || b == b'\'' => q = Some(b),
                None if b == b'>' => break,
                None => {}
            }
            j += 1;
        }
        let start = i;
        let tag_end = (j + 1).min(html.len());
        let inner = &lower[i + 1..j.min(lower.len())];
        let closing = inner.starts_with('/');
        let name: String = inner.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        i = tag_end;
        if name.is_empty() {
            if inner.starts_with('!') || inner.starts_with('?') {
                continue;
            }
            // A stray '<' in text: keep it and go on right after it.
            buf.push('<');
            i = start + 1;
            continue;
        }
        if !closing && DROP_TAGS.contains(&name.as_str()) {
            let close = format!("</{name}");
            i = lower[i..].find(&close).map_or(html.len(), |n| {
                let k = i + n;
                lower[k..].find('>').map_or(html.len(), |m| k + m + 1)
            });
            continue;
        }
        if BLOCK_TAGS.contains(&name.as_str()) {
            let heading = capture.as_ref().is_some_and(|(n, _)| n.starts_with('h'));
            if closing {
                if let Some((n, t)) = capture.take() {
                    let t = collapse(&decode_entities(&t));
                    if n == "h1" && h1.is_none() && !t.is_empty() {
                        h1 = Some(t);
                    } else if n == "title" && title.is_none() && !t.is_empty() {
                        title = Some(t);
                    }
                }
            }
            if name == "title" {
                // The <title> is metadata, not a paragraph.
                if closing {
                    buf.clear();
                } else {
                    flush(&mut out, &mut buf, false);
                    capture = Some((name.clone(), String::new()));
                }
                continue;
            }
            flush(&mut out, &mut buf, heading);
            if !closing && matches!(name.as_str(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6") {
                capture = Some((name, String::new()));
            }
        }
    }
    flush(&mut out, &mut buf, false);
    (out, h1.or(title))
}

/// Decodes the common named entities and numeric ones (`&#8220;`, `&#x201C;`).
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        rest = &rest[p..];
        let end = rest[1..].find(|c: char| !(c.is_ascii_alphanumeric() || c == '#')).map(|e| e + 1);
        let decoded = match end {
            Some(e) if e <= 10 && rest[e..].starts_with(';') => {
                let name = &rest[1..e];
                let c = match name {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some(' '),
                    "rsquo" => Some('’'),
                    "lsquo" => Some('‘'),
                    "ldquo" => Some('“'),
                    "rdquo" => Some('”'),
                    "mdash" => Some('—'),
                    "ndash" => Some('–'),
                    "hellip" => Some('…'),
                    _ => name.strip_prefix('#').and_then(|n| {
                        let v = match n.strip_prefix(['x', 'X']) {
                            Some(h) => u32::from_str_radix(h, 16).ok(),
                            None => n.parse::<u32>().ok(),
                        };
                        v.and_then(char::from_u32)
                    }),
                };
                c.map(|c| (c, e + 1))
            }
            _ => None,
        };
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The first substantial paragraph: not boilerplate, at least four words, not a quote.
pub(crate) fn text_headline(paras: &[Para]) -> Option<String> {
    paras
        .iter()
        .map(|p| p.text.trim())
        .find(|t| {
            let lower = t.to_lowercase();
            !BOILERPLATE.contains(&lower.trim_end_matches(':'))
                && t.split_whitespace().count() >= 4
                && !t.starts_with(['“', '"', '‘'])
                && !lower.starts_with("by ")
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_stripped_into_paragraphs() {
        let html = "<html><head><title>T &amp; U</title><style>p{}</style><script>var a='<p>';</script></head>\
            <body><h1>Head&rsquo;s line</h1><p>One <b>bold</b> &ldquo;quote&rdquo; &#8212; &#x41;&nbsp;x</p><!-- c --><div>Two<br>Three</div></body></html>";
        let (paras, headline) = html_paragraphs(html);
        let texts: Vec<&str> = paras.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, ["Head’s line", "One bold “quote” — A x", "Two", "Three"]);
        assert!(paras[0].heading);
        assert_eq!(headline.as_deref(), Some("Head’s line"));
    }

    #[test]
    fn markdown_is_reduced_to_text() {
        let md = "# The **title**\n\nSome [link](http://x) and ![img](y.png) text\nwrapped.\n\n> A blockquote\n> on two lines\n\n- item one\n";
        let (paras, headline) = markdown_paragraphs(md);
        let texts: Vec<&str> = paras.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(texts, ["The title", "Some link and text wrapped.", "“A blockquote on two lines”", "item one"]);
        assert_eq!(headline.as_deref(), Some("The title"));
    }

    #[test]
    fn entities_decode_and_junk_survives() {
        assert_eq!(decode_entities("a &amp; b &bogus; &#39;c&#39; &"), "a & b &bogus; 'c' &");
        assert_eq!(decode_entities("&#xD800; &#99999999;"), "&#xD800; &#99999999;");
        let (p, _) = html_paragraphs("<<<>>> <a href=\"x>y\">t</a> <p");
        assert!(!p.is_empty());
    }
}
