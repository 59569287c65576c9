//! Text analysis: the supported languages and their tantivy analyzers (lowercasing, stopwords, rust-stemmers).

use std::cell::RefCell;
use std::collections::HashMap;

use rust_stemmers::Algorithm;
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language as StopLanguage, LowerCaser, RemoveLongFilter, SimpleTokenizer, StopWordFilter,
    TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer, TokenizerManager,
};

/// A language that claimdex stems: its BCP-47 primary subtag, its stemmer and its stopword list.
#[derive(Debug, Clone, Copy)]
pub struct Lang {
    /// BCP-47 primary language subtag ("en").
    pub code: &'static str,
    algorithm: Algorithm,
    stopwords: Option<StopLanguage>,
}

/// Every language rust-stemmers supports. The first is the default.
pub const LANGS: [Lang; 18] = [
    lang("en", Algorithm::English, Some(StopLanguage::English)),
    lang("ar", Algorithm::Arabic, None),
    lang("da", Algorithm::Danish, Some(StopLanguage::Danish)),
    lang("nl", Algorithm::Dutch, Some(StopLanguage::Dutch)),
    lang("fi", Algorithm::Finnish, Some(StopLanguage::Finnish)),
    lang("fr", Algorithm::French, Some(StopLanguage::French)),
    lang("de", Algorithm::German, Some(StopLanguage::German)),
    lang("el", Algorithm::Greek, None),
    lang("hu", Algorithm::Hungarian, Some(StopLanguage::Hungarian)),
    lang("it", Algorithm::Italian, Some(StopLanguage::Italian)),
    lang("no", Algorithm::Norwegian, Some(StopLanguage::Norwegian)),
    lang("pt", Algorithm::Portuguese, Some(StopLanguage::Portuguese)),
    lang("ro", Algorithm::Romanian, None),
    lang("ru", Algorithm::Russian, Some(StopLanguage::Russian)),
    lang("es", Algorithm::Spanish, Some(StopLanguage::Spanish)),
    lang("sv", Algorithm::Swedish, Some(StopLanguage::Swedish)),
    lang("ta", Algorithm::Tamil, None),
    lang("tr", Algorithm::Turkish, None),
];

const fn lang(code: &'static str, algorithm: Algorithm, stopwords: Option<StopLanguage>) -> Lang {
    Lang { code, algorithm, stopwords }
}

/// The analyzer name of text in no stemmed language: lowercased and folded only.
pub const PLAIN: &str = "plain";

impl Lang {
    /// The language of a BCP-47 tag ("en-GB" → en, "nb" → no); `None` when it is not stemmed.
    pub fn of_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        let primary = match primary.as_str() {
            "nb" | "nn" => "no",
            "" => "en",
            p => p,
        };
        LANGS.iter().copied().find(|l| l.code == primary)
    }

    /// The default language, English.
    pub fn default_lang() -> Lang {
        LANGS[0]
    }

    /// The name under which this language's analyzer is registered ("en_claimdex").
    pub fn analyzer_name(&self) -> String {
        format!("{}_claimdex", self.code)
    }

    /// Builds the analyzer: simple tokenizer, long-token removal, lowercasing, ASCII folding,
    /// stopwords (where tantivy has a list) and stemming.
    pub fn analyzer(&self) -> TextAnalyzer {
        let base = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter);
        match self.stopwords.and_then(StopWordFilter::new) {
            Some(stop) => base.filter(stop).filter(StemFilter(self.algorithm)).build(),
            None => base.filter(StemFilter(self.algorithm)).build(),
        }
    }
}

/// The analyzer for text in languages without a stemmer.
pub fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Registers every claimdex analyzer with a tokenizer manager.
pub fn register(manager: &TokenizerManager) {
    for l in LANGS {
        manager.register(&l.analyzer_name(), l.analyzer());
    }
    manager.register(PLAIN, plain_analyzer());
}

/// Runs an analyzer over text and returns its tokens' texts.
pub fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// A token filter that stems with rust-stemmers.
#[derive(Clone, Copy)]
pub struct StemFilter(Algorithm);

impl TokenFilter for StemFilter {
    type Tokenizer<T: Tokenizer> = StemTokenizer<T>;
    fn transform<T: Tokenizer>(self, inner: T) -> StemTokenizer<T> {
        StemTokenizer { algorithm: self.0, inner }
    }
}

/// The tokenizer [`StemFilter`] wraps around another.
#[derive(Clone)]
pub struct StemTokenizer<T> {
    algorithm: Algorithm,
    inner: T,
}

impl<T: Tokenizer> Tokenizer for StemTokenizer<T> {
    type TokenStream<'a> = StemStream<T::TokenStream<'a>>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        StemStream {
            tail: self.inner.token_stream(text),
            algorithm: self.algorithm,
            stemmer: rust_stemmers::Stemmer::create(self.algorithm),
        }
    }
}

/// The token stream of a [`StemTokenizer`].
pub struct StemStream<S> {
    tail: S,
    algorithm: Algorithm,
    stemmer: rust_stemmers::Stemmer,
}

/// Most words a thread keeps the stems of, per language; the cache starts over when it is full.
const STEM_CACHE_WORDS: usize = 1 << 16;

thread_local! {
    /// Stems already computed on this thread, per algorithm (by its discriminant). Snowball
    /// stemming was the largest part of analysing a statement and re-analysing its best claims,
    /// and the words of a corpus repeat; a lookup costs a hash of the word.
    static STEMS: RefCell<Vec<HashMap<String, String>>> = const { RefCell::new(Vec::new()) };
}

impl<S: TokenStream> TokenStream for StemStream<S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        let slot = self.algorithm as usize;
        STEMS.with_borrow_mut(|maps| {
            if maps.len() <= slot {
                maps.resize_with(slot + 1, HashMap::new);
            }
            let map = &mut maps[slot];
            if let Some(stem) = map.get(token.text.as_str()) {
                token.text.clear();
                token.text.push_str(stem);
                return;
            }
            let stem = self.stemmer.stem(&token.text).into_owned();
            if map.len() >= STEM_CACHE_WORDS {
                map.clear();
            }
            map.insert(std::mem::replace(&mut token.text, stem.clone()), stem);
        });
        true
    }
    fn token(&self) -> &Token {
        self.tail.token()
    }
    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_is_stemmed_lowercased_and_stopworded() {
        let mut a = Lang::default_lang().analyzer();
        assert_eq!(
            tokens(&mut a, "The Mojahedin are Fully COMMITTED to the amnesty"),
            ["mojahedin", "fulli", "commit", "amnesti"]
        );
    }

    #[test]
    fn cached_stems_are_the_stemmers_own_before_and_after_the_cache_starts_over() {
        let stemmer = rust_stemmers::Stemmer::create(Algorithm::English);
        let mut a = Lang::default_lang().analyzer();
        let words = "committed generously running amnesties amnesty decree decrees ponies";
        let expected: Vec<String> = words.split(' ').map(|w| stemmer.stem(w).into_owned()).collect();
        // Once to fill the cache, once from it.
        assert_eq!(tokens(&mut a, words), expected);
        assert_eq!(tokens(&mut a, words), expected);
        // More distinct words than the cache holds: it starts over and still stems right.
        let many: Vec<String> = (0..STEM_CACHE_WORDS + 10).map(|i| format!("x{i}ing")).collect();
        let got = tokens(&mut a, &many.join(" "));
        assert_eq!(got.len(), many.len());
        assert!(got.iter().zip(&many).all(|(g, w)| *g == stemmer.stem(w)));
        assert_eq!(tokens(&mut a, words), expected);
        // Another language's stems are kept apart from English ones.
        let mut fr = Lang::of_tag("fr").expect("french is supported").analyzer();
        let (en_stem, fr_stem) = (
            stemmer.stem("presidentielles"),
            rust_stemmers::Stemmer::create(Algorithm::French).stem("presidentielles"),
        );
        assert_ne!(en_stem, fr_stem);
        assert_eq!(tokens(&mut a, "presidentielles"), [en_stem.as_ref()]);
        assert_eq!(tokens(&mut fr, "présidentielles"), [fr_stem.as_ref()]);
        assert_eq!(tokens(&mut a, "presidentielles"), [en_stem.as_ref()]);
    }

    #[test]
    fn other_languages_use_their_stemmer() {
        let fr = Lang::of_tag("fr-FR").expect("french is supported");
        assert_eq!(fr.code, "fr");
        let mut a = fr.analyzer();
        assert_eq!(tokens(&mut a, "les élections présidentielles"), ["elect", "presidentiel"]);
        assert!(Lang::of_tag("xx").is_none());
        assert_eq!(Lang::of_tag("nb").map(|l| l.code), Some("no"));
    }
}
