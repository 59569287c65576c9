//! Text analysis: the supported languages and their tantivy analyzers (lowercasing, stopwords, rust-stemmers).

use std::borrow::Cow;
use std::mem;

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
            stemmer: rust_stemmers::Stemmer::create(self.algorithm),
            buffer: String::new(),
        }
    }
}

/// The token stream of a [`StemTokenizer`].
pub struct StemStream<S> {
    tail: S,
    stemmer: rust_stemmers::Stemmer,
    buffer: String,
}

impl<S: TokenStream> TokenStream for StemStream<S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        match self.stemmer.stem(&token.text) {
            Cow::Owned(s) => token.text = s,
            Cow::Borrowed(s) => {
                self.buffer.clear();
                self.buffer.push_str(s);
                mem::swap(&mut token.text, &mut self.buffer);
            }
        }
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
    fn other_languages_use_their_stemmer() {
        let fr = Lang::of_tag("fr-FR").expect("french is supported");
        assert_eq!(fr.code, "fr");
        let mut a = fr.analyzer();
        assert_eq!(tokens(&mut a, "les élections présidentielles"), ["elect", "presidentiel"]);
        assert!(Lang::of_tag("xx").is_none());
        assert_eq!(Lang::of_tag("nb").map(|l| l.code), Some("no"));
    }
}
