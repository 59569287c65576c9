//! ClaimReview export: a claim as schema.org `ClaimReview` JSON-LD.

use serde_json::{json, Map, Value};

use crate::Claim;

/// The claim as schema.org ClaimReview JSON-LD.
// TODO(merge): use ingest::claimreview::to_claimreview
pub fn claimreview_json(c: &Claim) -> Value {
    let mut item = Map::new();
    item.insert("@type".into(), json!("Claim"));
    if c.speaker.is_some() || c.speaker_role.is_some() {
        let mut author = Map::new();
        author.insert("@type".into(), json!("Person"));
        if let Some(s) = &c.speaker {
            author.insert("name".into(), json!(s));
        }
        if let Some(r) = &c.speaker_role {
            author.insert("jobTitle".into(), json!(r));
        }
        item.insert("author".into(), Value::Object(author));
    }
    if let Some(d) = c.date {
        item.insert("datePublished".into(), json!(d.to_string()));
    }
    if !c.appearances.is_empty() {
        item.insert(
            "appearance".into(),
            json!(c
                .appearances
                .iter()
                .map(|u| json!({"@type": "CreativeWork", "url": u}))
                .collect::<Vec<_>>()),
        );
    }
    let mut out = Map::new();
    out.insert("@context".into(), json!("https://schema.org"));
    out.insert("@type".into(), json!("ClaimReview"));
    out.insert("claimReviewed".into(), json!(c.text));
    out.insert("itemReviewed".into(), Value::Object(item));
    if let Some(v) = &c.verdict {
        out.insert(
            "reviewRating".into(),
            json!({"@type": "Rating", "alternateName": v.label}),
        );
    }
    if let Some(r) = &c.review {
        if let Some(p) = &r.publisher {
            let mut org = Map::new();
            org.insert("@type".into(), json!("Organization"));
            org.insert("name".into(), json!(p.name));
            if let Some(site) = &p.site {
                let url = if site.starts_with("http://") || site.starts_with("https://") {
                    site.clone()
                } else {
                    format!("https://{site}")
                };
                org.insert("url".into(), json!(url));
            }
            out.insert("author".into(), Value::Object(org));
        }
        if let Some(u) = &r.url {
            out.insert("url".into(), json!(u));
        }
        if let Some(t) = &r.title {
            out.insert("headline".into(), json!(t));
        }
        if let Some(d) = r.date {
            out.insert("datePublished".into(), json!(d.to_string()));
        }
    }
    out.insert("inLanguage".into(), json!(c.language));
    Value::Object(out)
}
