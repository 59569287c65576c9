//! Claims, evidence, verdicts and the result types that the CLI and HTTP layers share.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::date::PartialDate;

/// A checked statement: what was said, by whom, when, and what the fact-check concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// Stable id, unique across claims and evidence ("vclaim-pol-00001", "polygraph-balki-2021-12-05").
    pub id: String,
    /// The statement as it was said or written.
    pub text: String,
    /// Who said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    /// The speaker's role when the statement was made ("Spokesperson, Foreign Affairs Ministry, Afghan Taliban").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker_role: Option<String>,
    /// When it was said: a full or partial date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    /// BCP-47 language tag of `text`.
    #[serde(default = "default_language")]
    pub language: String,
    /// Where the statement appeared (URLs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub appearances: Vec<String>,
    /// The fact-check's verdict, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The fact-check article that reviewed the claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Review>,
    /// Free tags ("afghanistan", "amnesty").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// The default language of records that do not name one.
pub fn default_language() -> String {
    "en".to_string()
}

/// A verdict as the publisher wrote it, with its place on claimdex's common scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The publisher's own label, verbatim ("Pants on Fire", "Four Pinocchios", "Misleading").
    pub label: String,
    /// The label normalized to the common scale, so that filters work across publishers.
    pub rating: Rating,
}

impl Verdict {
    /// A verdict from the publisher's label, normalized with [`Rating::from_label`].
    pub fn from_label(label: impl Into<String>) -> Self {
        let label = label.into();
        let rating = Rating::from_label(&label);
        Verdict { label, rating }
    }
}

/// The common verdict scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rating {
    /// The claim is false (incl. "pants on fire", "fake", "four pinocchios").
    False,
    /// Mostly false ("barely true", "three pinocchios").
    MostlyFalse,
    /// Partly true, partly false ("half true", "mixture").
    Mixed,
    /// Mostly true.
    MostlyTrue,
    /// True.
    True,
    /// Accurate pieces that leave a false impression ("misleading", "missing context", "out of context").
    Misleading,
    /// Cannot be established ("unproven", "unsupported").
    Unproven,
    /// Anything else ("satire", "flip-flop", "legend").
    Other,
}

impl Rating {
    /// All values, in scale order.
    pub const ALL: [Rating; 8] = [
        Rating::False,
        Rating::MostlyFalse,
        Rating::Mixed,
        Rating::MostlyTrue,
        Rating::True,
        Rating::Misleading,
        Rating::Unproven,
        Rating::Other,
    ];

    /// The kebab-case name used in JSON, filters and the index ("mostly-false").
    pub fn as_str(self) -> &'static str {
        match self {
            Rating::False => "false",
            Rating::MostlyFalse => "mostly-false",
            Rating::Mixed => "mixed",
            Rating::MostlyTrue => "mostly-true",
            Rating::True => "true",
            Rating::Misleading => "misleading",
            Rating::Unproven => "unproven",
            Rating::Other => "other",
        }
    }

    /// Parses a scale name ("mostly-false", "mostly false", "Mostly_False").
    pub fn parse(name: &str) -> Option<Rating> {
        let n = name.trim().to_ascii_lowercase().replace([' ', '_'], "-");
        Rating::ALL.into_iter().find(|r| r.as_str() == n)
    }

    /// Normalizes a publisher's label to the common scale.
    ///
    /// Knows the labels of PolitiFact, Snopes, Full Fact, AFP, the Washington Post and
    /// schema.org-style free text; anything unrecognised is [`Rating::Other`].
    pub fn from_label(label: &str) -> Rating {
        let l: String =
            label.trim().to_lowercase().chars().map(|c| if c.is_alphanumeric() { c } else { ' ' }).collect();
        let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(r) = Rating::parse(&l) {
            return r;
        }
        let has = |s: &str| l.contains(s);
        if l.is_empty() {
            Rating::Other
        } else if has("pants on fire")
            || has("pants fire")
            || has("four pinocchio")
            || has("4 pinocchio")
            || l == "fake"
            || has("incorrect")
            || has("fabricated")
            || has("wrong")
            || l == "no"
            || l == "false"
            || has("totally false")
            || has("hoax")
            || has("scam")
        {
            Rating::False
        } else if has("barely true")
            || has("mostly false")
            || has("three pinocchio")
            || has("3 pinocchio")
            || has("largely false")
            || has("mostly inaccurate")
        {
            Rating::MostlyFalse
        } else if has("half true")
            || has("half truth")
            || has("mixture")
            || has("mixed")
            || has("partly")
            || has("partially")
            || has("two pinocchio")
            || has("2 pinocchio")
            || has("half flip")
        {
            Rating::Mixed
        } else if has("mostly true")
            || has("mostly accurate")
            || has("largely true")
            || has("one pinocchio")
            || has("1 pinocchio")
            || has("mostly correct")
        {
            Rating::MostlyTrue
        } else if has("misleading")
            || has("missing context")
            || has("out of context")
            || has("miscaptioned")
            || has("misattributed")
            || has("exaggerat")
            || has("distort")
            || has("cherry pick")
            || has("spin")
        {
            Rating::Misleading
        } else if has("unproven")
            || has("unsupported")
            || has("unverified")
            || has("no evidence")
            || has("unsubstantiated")
            || has("not proven")
            || has("research in progress")
        {
            Rating::Unproven
        } else if l == "true" || has("correct") || has("accurate") || has("geppetto") || l == "yes" {
            Rating::True
        } else if has("false") || has("inaccurate") {
            Rating::False
        } else {
            Rating::Other
        }
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fact-check article that reviewed a claim.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Review {
    /// Who published the fact-check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<Publisher>,
    /// The fact-check's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The fact-check's headline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// When the fact-check was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    /// A short summary of the finding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// A fact-checking organisation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Publisher {
    /// Its name ("PolitiFact", "Polygraph.info").
    pub name: String,
    /// Its web site ("politifact.com").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

/// An excerpt from a report, statement or article that bears on one or more claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Stable id, unique across claims and evidence.
    pub id: String,
    /// The excerpt.
    pub text: String,
    /// The organisation or person it comes from ("Human Rights Watch").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Where it can be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// When it was published or said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDate>,
    /// BCP-47 language tag of `text`.
    #[serde(default = "default_language")]
    pub language: String,
    /// The claims it bears on, and how.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<ClaimLink>,
}

/// How a piece of evidence bears on one claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimLink {
    /// The claim's id.
    pub claim_id: String,
    /// Whether the evidence refutes, supports or gives context to it.
    pub stance: Stance,
}

/// The stance of a piece of evidence towards a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stance {
    /// The evidence contradicts the claim.
    Refutes,
    /// The evidence supports the claim.
    Supports,
    /// Background that neither supports nor refutes.
    Context,
}

impl Stance {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Stance::Refutes => "refutes",
            Stance::Supports => "supports",
            Stance::Context => "context",
        }
    }
}

/// One record of the native JSON Lines format: a claim or a piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Record {
    /// A checked claim.
    Claim(Claim),
    /// An evidence excerpt.
    Evidence(Evidence),
}

impl Record {
    /// The record's id.
    pub fn id(&self) -> &str {
        match self {
            Record::Claim(c) => &c.id,
            Record::Evidence(e) => &e.id,
        }
    }

    /// The record's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Record::Claim(_) => Kind::Claim,
            Record::Evidence(_) => Kind::Evidence,
        }
    }
}

/// The two kinds of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A claim.
    Claim,
    /// An evidence excerpt.
    Evidence,
}

impl Kind {
    /// "claim" or "evidence".
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Claim => "claim",
            Kind::Evidence => "evidence",
        }
    }

    /// Parses "claim"/"claims" or "evidence".
    pub fn parse(s: &str) -> Option<Kind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "claim" | "claims" => Some(Kind::Claim),
            "evidence" => Some(Kind::Evidence),
            _ => None,
        }
    }
}
