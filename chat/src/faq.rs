//! Questions answered automatically: which `[[inbox.faq]]` entry a customer's message asks,
//! and how well ([`Faq::best`]); and whether the message asks for a person instead
//! ([`wants_person`]). Pure: no database, no clock; the caller decides what to send.
//!
//! # Matching
//!
//! Each entry's question is a document of a BM25 index. There is one index per language
//! and per WhatsApp account: an account's index holds its own entries and the entries for
//! every account, so a word's weight (its rarity, BM25's idf) is measured among the
//! questions that account's customers can get; an account no entry names uses the index
//! of the entries for every account.
//!
//! Questions and messages go through the same analysis, chosen by the entry's language
//! (`FaqEntry::language`, one of `deflect_config::FAQ_LANGUAGES`): the text is split into
//! words at anything that is not a letter, digit or combining mark (so `l'heure` gives
//! `l`, `heure`), lower-cased, the language's stop words dropped (NLTK's lists, compared
//! without accents) unless nothing else is left — so a question made only of common words
//! ("Who are you?") still matches itself —, each word reduced to its stem by the
//! language's Snowball stemmer ("opening", "opened", "opens" → `open`; "Rechnungen" →
//! `rechnung`), and the stem's accents removed (NFKD without combining marks), so "cafe"
//! and "café" are one word. Only the first [`MAX_ANALYSED`] characters of a message count.
//!
//! What stemming does not do: split compounds or strip prefixes (German "Öffnungszeiten"
//! and "geöffnet" share no stem), know synonyms ("price" and "cost"), or correct typos.
//! Write the question with the words customers use — several phrasings in one question are
//! fine ("When are you open? Opening hours") — and repeat a word that matters most.
//!
//! # The score
//!
//! [`FaqMatch::score`] is the share of the question's BM25 weight that the message
//! carries: the BM25 score of the question for the message, divided by the BM25 score the
//! question gets for itself as the message, clamped to `0..=1`. Every question is scored
//! on the same scale, so one threshold works for all of them:
//!
//! - `1.0`: every word of the question that counts is in the message (other words around
//!   them do not lower it: "Hi! what are your opening hours on Saturday?" is `1.0` for
//!   "What are your opening hours?").
//! - `0.5`: the message has words carrying half of the question's weight — typically one
//!   of its two distinctive words ("when do you open" for "What are your opening hours?").
//! - A word shared by many questions weighs little, a rare one much; a word written twice
//!   in a question weighs more (BM25's term frequency, saturating).
//!
//! The caller answers at or above its threshold; [`DEFAULT_MIN_SCORE`] is what the tests
//! below show separates paraphrases from unrelated messages. When scores tie, the entry
//! with more matching weight wins, then the one written first.
//!
//! # Why these crates
//!
//! - [`bm25`](https://docs.rs/bm25) (MIT): BM25 embeddings and a scorer with an inverted
//!   index, nothing else — with its default features off it adds `fxhash` and nothing
//!   more; released steadily (2.3.2, September 2025, after a fix to idf for frequent
//!   terms). Its own tokenizer is left out: it memoises with `cached` (a proc-macro chain)
//!   and transliterates text to ASCII before stemming, so Russian, Greek or Arabic reach
//!   their stemmers in Latin letters and French or Spanish without the accents their
//!   suffixes carry. Tantivy would bring a whole search engine for a few hundred short
//!   questions; `probly-search` brings no analysis either.
//! - [`rust-stemmers`](https://docs.rs/rust-stemmers) (MIT/BSD-3): the Snowball project's
//!   stemmers compiled to Rust (the algorithms are stable; tantivy and bm25 use it), no
//!   dependencies but serde.
//! - [`stop-words`](https://docs.rs/stop-words) (MIT/Apache-2.0): NLTK's stop word lists
//!   only (feature `nltk`: short lists of function words — 198 in English — where the
//!   ISO lists, 1,298 in English, also drop "open", "order", "help" or "problem"), built in
//!   at compile time, no dependencies.
//! - `unicode-normalization` for the accents, already in the tree (sqlx's PostgreSQL driver).
//!
//! Together they add four crates to deflect-chat's tree (bm25, fxhash, rust-stemmers,
//! stop-words; `cargo tree -p deflect-chat -e normal`: 532 → 540 lines).

use bm25::{Embedder, EmbedderBuilder, Embedding, Scorer, Tokenizer};
use deflect_config::{DEFAULT_FAQ_LANGUAGE, FaqEntry};
use rust_stemmers::{Algorithm, Stemmer};
use std::collections::HashSet;
use std::fmt;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The score at or above which a match is good enough to answer by default: a message
/// that carries about half of a question's weight or more (see the module documentation).
/// Just below `0.5`, so that one of a question's two distinctive words is enough while a
/// word that other questions share too is not: in the tests, paraphrases of a support
/// desk's questions score 0.5 and above, messages about something else 0.42 and below.
pub const DEFAULT_MIN_SCORE: f32 = deflect_config::DEFAULT_FAQ_MIN_SCORE;

/// Words and phrases that ask for a person, in English, German, French, Spanish,
/// Portuguese, Italian and Dutch; [`wants_person`] matches them as whole words, ignoring
/// case and accents. They err towards a person: "person" is also in "can I pay in person?".
pub const DEFAULT_HANDOVER_WORDS: &[&str] = &[
    // English
    "agent",
    "human",
    "person",
    "operator",
    "representative",
    "talk to someone",
    "speak to someone",
    // German
    "mitarbeiter",
    "mitarbeiterin",
    "mensch",
    "menschen",
    "berater",
    "beraterin",
    // French
    "conseiller",
    "conseillère",
    "humain",
    "opérateur",
    "opératrice",
    // Spanish
    "agente",
    "humano",
    "persona",
    "operador",
    "asesor",
    // Portuguese
    "atendente",
    "pessoa",
    // Italian
    "operatore",
    "operatrice",
    "umano",
    // Dutch
    "medewerker",
    "mens",
    "persoon",
];

/// How much of a message is analysed, in characters: questions are short, and a long
/// message costs no more than this.
pub const MAX_ANALYSED: usize = 4096;

/// The entry a message matched, and how well.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FaqMatch {
    /// The entry's index in the list given to [`Faq::new`] (`inbox.faq[entry]`).
    pub entry: usize,
    /// How much of the question the message carries, `0.0..=1.0` (see the module
    /// documentation); compare it with a threshold such as [`DEFAULT_MIN_SCORE`].
    pub score: f32,
}

/// The questions of `[[inbox.faq]]`, indexed for matching messages against them. Built once
/// from the configuration; matching takes `&self`, so one `Faq` serves every task.
pub struct Faq {
    indexes: Vec<Index>,
}

/// One BM25 index: the questions of one language for one account (or for every account).
struct Index {
    /// The account whose customers it serves; none: accounts no entry names.
    account: Option<String>,
    /// Its language (one of `deflect_config::FAQ_LANGUAGES`).
    language: String,
    embedder: Embedder<u64, Analyser>,
    scorer: Scorer<usize, u64>,
    /// Every word of its questions (as the embedder hashes them).
    words: HashSet<u64>,
    /// Entry index → the BM25 score of its question for itself (its whole weight), in
    /// the order of the entries.
    full: Vec<(usize, f32)>,
}

impl Faq {
    /// Indexes `entries` (the configuration's `inbox.faq`, in order). An entry whose
    /// language has no analyser — the configuration refuses those — is left out.
    pub fn new(entries: &[FaqEntry]) -> Faq {
        let mut languages: Vec<&str> = entries.iter().map(FaqEntry::language).collect();
        languages.sort_unstable();
        languages.dedup();
        let mut accounts: Vec<Option<&str>> =
            entries.iter().map(|e| e.account.as_deref()).collect();
        accounts.push(None);
        accounts.sort_unstable();
        accounts.dedup();
        let mut indexes = Vec::new();
        for language in languages {
            for &account in &accounts {
                let members: Vec<usize> = entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| {
                        e.language() == language
                            && (e.account.is_none() || e.account.as_deref() == account)
                    })
                    .map(|(i, _)| i)
                    .collect();
                // An account's own index only where it has entries of its own.
                let own = members
                    .iter()
                    .any(|&i| entries[i].account.as_deref() == account);
                if members.is_empty() || !own {
                    continue;
                }
                if let Some(index) = Index::new(account, language, entries, &members) {
                    indexes.push(index);
                }
            }
        }
        Faq { indexes }
    }

    /// The entry that `text`, a message from a customer of WhatsApp account `account`
    /// written in `language` (an ISO 639-1 code; a region such as `pt-BR` is ignored; none
    /// is `en`), asks best: among that account's entries and those for every account in
    /// that language. `None` when no question shares a word with it (an empty message, only
    /// punctuation, or no entries in that language).
    pub fn best(&self, account: &str, language: Option<&str>, text: &str) -> Option<FaqMatch> {
        let language = primary_language(language.unwrap_or(DEFAULT_FAQ_LANGUAGE));
        let index = self
            .indexes
            .iter()
            .find(|i| i.language == language && i.account.as_deref() == Some(account))
            .or_else(|| {
                self.indexes
                    .iter()
                    .find(|i| i.language == language && i.account.is_none())
            })?;
        index.best(text)
    }
}

impl fmt::Debug for Faq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for i in &self.indexes {
            let entries: Vec<usize> = i.full.iter().map(|(e, _)| *e).collect();
            list.entry(&(&i.account, &i.language, entries));
        }
        list.finish()
    }
}

impl Index {
    fn new(
        account: Option<&str>,
        language: &str,
        entries: &[FaqEntry],
        members: &[usize],
    ) -> Option<Index> {
        let analyser = Analyser::new(language)?;
        let questions: Vec<&str> = members
            .iter()
            .map(|&i| entries[i].question.as_str())
            .collect();
        let embedder = EmbedderBuilder::<u64, Analyser>::with_tokenizer_and_fit_to_corpus(
            analyser, &questions,
        )
        .build();
        let mut scorer = Scorer::new();
        let mut words = HashSet::new();
        for (&i, question) in members.iter().zip(&questions) {
            let embedding = embedder.embed(question);
            words.extend(embedding.indices().copied());
            scorer.upsert(&i, embedding);
        }
        // Every question is in before any is weighed: a word's idf counts all of them.
        let full = members
            .iter()
            .zip(&questions)
            .map(|(&i, question)| {
                let own = distinct(embedder.embed(question));
                (i, scorer.score(&i, &own).unwrap_or(0.0))
            })
            .collect();
        Some(Index {
            account: account.map(str::to_owned),
            language: language.to_owned(),
            embedder,
            scorer,
            words,
            full,
        })
    }

    fn best(&self, text: &str) -> Option<FaqMatch> {
        let text = match text.char_indices().nth(MAX_ANALYSED) {
            Some((end, _)) => &text[..end],
            None => text,
        };
        // Words no question has add nothing to any score; the scorer would still weigh
        // each of them for every candidate.
        let mut query = distinct(self.embedder.embed(text));
        query.0.retain(|t| self.words.contains(&t.index));
        if query.is_empty() {
            return None;
        }
        let mut best: Option<(FaqMatch, f32)> = None;
        for found in self.scorer.matches(&query) {
            let Ok(at) = self.full.binary_search_by_key(&found.id, |(i, _)| *i) else {
                continue;
            };
            let full = self.full[at].1;
            if full <= 0.0 {
                continue;
            }
            let candidate = FaqMatch {
                entry: found.id,
                score: (found.score / full).clamp(0.0, 1.0),
            };
            let better = match &best {
                None => true,
                Some((b, raw)) => {
                    (
                        candidate.score,
                        found.score,
                        std::cmp::Reverse(candidate.entry),
                    ) > (b.score, *raw, std::cmp::Reverse(b.entry))
                }
            };
            if better {
                best = Some((candidate, found.score));
            }
        }
        best.map(|(m, _)| m)
    }
}

/// An embedding with each word once: a word repeated in a message counts once, so a
/// message can never carry more than the question's whole weight.
fn distinct(embedding: Embedding<u64>) -> Embedding<u64> {
    let mut seen = HashSet::new();
    Embedding(
        embedding
            .0
            .into_iter()
            .filter(|t| seen.insert(t.index))
            .collect(),
    )
}

/// `pt-BR`, `PT_br` → `pt`.
fn primary_language(language: &str) -> String {
    language
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// One language's analysis: words, stop words, stems (see the module documentation).
struct Analyser {
    stemmer: Stemmer,
    /// The language's stop words, without accents.
    stop_words: HashSet<String>,
}

impl Analyser {
    /// The analyser for `language` (an ISO 639-1 code of `deflect_config::FAQ_LANGUAGES`).
    fn new(language: &str) -> Option<Analyser> {
        let algorithm = match language {
            "ar" => Algorithm::Arabic,
            "da" => Algorithm::Danish,
            "de" => Algorithm::German,
            "el" => Algorithm::Greek,
            "en" => Algorithm::English,
            "es" => Algorithm::Spanish,
            "fi" => Algorithm::Finnish,
            "fr" => Algorithm::French,
            "hu" => Algorithm::Hungarian,
            "it" => Algorithm::Italian,
            "nl" => Algorithm::Dutch,
            "no" => Algorithm::Norwegian,
            "pt" => Algorithm::Portuguese,
            "ro" => Algorithm::Romanian,
            "ru" => Algorithm::Russian,
            "sv" => Algorithm::Swedish,
            "tr" => Algorithm::Turkish,
            _ => return None,
        };
        let stop_words = stop_words::lookup(language)?
            .iter()
            .map(|w| fold(&w.to_lowercase()))
            .collect();
        Some(Analyser {
            stemmer: Stemmer::create(algorithm),
            stop_words,
        })
    }
}

impl Tokenizer for Analyser {
    fn tokenize(&self, text: &str) -> Vec<String> {
        let text: String = if text.is_ascii() {
            text.to_owned()
        } else {
            text.nfc().collect()
        };
        let words: Vec<String> = words(&text).map(str::to_lowercase).collect();
        let content: Vec<&String> = words
            .iter()
            .filter(|w| !self.stop_words.contains(&fold(w)))
            .collect();
        let kept = if content.is_empty() {
            words.iter().collect()
        } else {
            content
        };
        kept.into_iter()
            .map(|w| fold(&self.stemmer.stem(w)))
            .collect()
    }
}

/// The words of `text`: runs of letters, digits and combining marks.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || is_combining_mark(c)))
        .filter(|w| !w.is_empty())
}

/// `text` without accents and in compatibility form (`ﬁ` → `fi`, full-width → ASCII).
fn fold(text: &str) -> String {
    if text.is_ascii() {
        return text.to_owned();
    }
    text.nfkd().filter(|c| !is_combining_mark(*c)).collect()
}

/// The words of `text` lower-cased and without accents, for comparing words as people
/// type them.
fn plain_words(text: &str) -> Vec<String> {
    let folded = fold(text).to_lowercase();
    words(&folded).map(str::to_owned).collect()
}

/// Whether `text` asks for a person: one of `words` (words or phrases, such as
/// [`DEFAULT_HANDOVER_WORDS`]) occurs in it as whole words, ignoring case and accents —
/// "Agent please" and "talk to a PERSON" do for `agent` and `person`, "Agentur" does not for
/// `agent`. A phrase's words must follow each other ("talk to someone"); punctuation between
/// them does not matter.
pub fn wants_person(text: &str, words: &[String]) -> bool {
    let said = plain_words(text);
    words.iter().any(|phrase| {
        let phrase = plain_words(phrase);
        !phrase.is_empty() && said.windows(phrase.len()).any(|w| w == phrase.as_slice())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(question: &str) -> FaqEntry {
        FaqEntry {
            question: question.into(),
            answer: format!("answer to {question}"),
            ..FaqEntry::default()
        }
    }

    fn in_language(question: &str, language: &str) -> FaqEntry {
        FaqEntry {
            language: Some(language.into()),
            ..entry(question)
        }
    }

    fn for_account(question: &str, account: &str) -> FaqEntry {
        FaqEntry {
            account: Some(account.into()),
            ..entry(question)
        }
    }

    /// A support desk's questions, as an operator would write them.
    fn shop() -> Vec<FaqEntry> {
        vec![
            entry("What are your opening hours? When are you open?"),
            entry("How can I track my order?"),
            entry("How long does delivery take?"),
            entry("How do I return an item and get a refund?"),
            entry("Which payment methods do you accept?"),
            entry("How do I reset my password?"),
            entry("Do you ship internationally?"),
            entry("How can I change my delivery address?"),
        ]
    }

    /// Every message with the entry it asks for (an index into [`shop`]).
    const PARAPHRASES: &[(&str, usize)] = &[
        ("when do you open", 0),
        ("What time do you open tomorrow?", 0),
        ("Hi! are you open on Saturday?", 0),
        ("opening hours please", 0),
        ("where is my order? I want to track it", 1),
        ("Tracking my orders", 1),
        ("how long will the delivery take", 2),
        ("I want to return the shoes and get my money back", 3),
        ("Can I pay with PayPal? Which payments are accepted?", 4),
        ("i forgot my password", 5),
        ("Do you ship to Germany?", 6),
        ("I moved and need to change the address for delivery", 7),
    ];

    /// Messages about something none of [`shop`]'s questions is about, some sharing a word
    /// with one.
    const UNRELATED: &[&str] = &[
        "I waited two hours for my delivery",
        "hours",
        "The weather is nice today",
        "my cat is sick",
        "I love your products, thank you",
        "Can I speak to your manager",
        "Ich möchte eine Rechnung",
    ];

    #[test]
    fn a_paraphrase_matches_its_question_and_an_unrelated_message_stays_below() {
        let faq = Faq::new(&shop());
        for &(text, expected) in PARAPHRASES {
            let m = faq.best("main", None, text);
            assert_eq!(m.map(|m| m.entry), Some(expected), "{text:?}: {m:?}");
            let score = m.map_or(0.0, |m| m.score);
            assert!(score >= DEFAULT_MIN_SCORE, "{text:?}: {score}");
            assert!(score <= 1.0, "{text:?}: {score}");
        }
        for text in UNRELATED {
            let m = faq.best("main", None, text);
            let score = m.map_or(0.0, |m| m.score);
            assert!(score < DEFAULT_MIN_SCORE, "{text:?}: {m:?}");
        }
    }

    #[test]
    fn the_score_is_the_share_of_the_question_the_message_carries() {
        let faq = Faq::new(&[
            entry("Where is my parcel?"),
            entry("How do I cancel my subscription?"),
            entry("What does shipping cost?"),
        ]);
        let score = |text| faq.best("main", None, text).map(|m| (m.entry, m.score));
        // The whole question, with more around it, or repeated: all of it.
        assert_eq!(score("where is my parcel"), Some((0, 1.0)));
        assert_eq!(
            score("Hello, my parcel, where is it? Parcel!!"),
            Some((0, 1.0))
        );
        // One of its two words, equally rare: half.
        assert_eq!(score("cancel it"), Some((1, 0.5)));
        // A word written twice in a question weighs more.
        let weighted = Faq::new(&[entry(
            "subscription: cancel, cancel a subscription or cancel",
        )]);
        let cancel = weighted.best("main", None, "cancel").map(|m| m.score);
        assert!(cancel.is_some_and(|s| s > 0.5 && s < 1.0), "{cancel:?}");
    }

    #[test]
    fn stemming_matches_other_forms_of_a_word() {
        let faq = Faq::new(&[
            entry("What are your opening hours?"),
            entry("How do I update my billing details?"),
            in_language("Wo finde ich meine Rechnung?", "de"),
            in_language("Wann haben Sie geöffnet?", "de"),
            in_language("Comment changer mon adresse de livraison ?", "fr"),
            in_language("¿Cuánto cuesta el envío?", "es"),
            in_language("Hoe kan ik mijn bestelling annuleren?", "nl"),
        ]);
        let best = |language, text| faq.best("main", language, text).map(|m| m.entry);
        assert_eq!(best(None, "When do you open?"), Some(0));
        assert_eq!(best(None, "what hour is it"), Some(0));
        assert_eq!(best(Some("en"), "updating the bill detail"), Some(1));
        assert_eq!(best(Some("de"), "Ich brauche die Rechnungen"), Some(2));
        // Typed without the umlaut, the stem is the same.
        assert_eq!(best(Some("de"), "Ist heute geoffnet?"), Some(3));
        assert_eq!(best(Some("de-AT"), "GEÖFFNET"), Some(3));
        // French elision: "l'adresse" is "adresse".
        assert_eq!(best(Some("fr"), "je veux modifier l'adresse"), Some(4));
        assert_eq!(best(Some("es"), "cuanto cuestan los envios"), Some(5));
        assert_eq!(best(Some("nl"), "bestellingen annuleer"), Some(6));
        // A question is only found in its own language.
        assert_eq!(best(Some("de"), "opening hours"), None);
        assert_eq!(best(Some("it"), "opening hours"), None);
        for (text, language) in [
            ("When do you open?", None),
            ("Ich brauche die Rechnungen", Some("de")),
        ] {
            let score = faq.best("main", language, text).map_or(0.0, |m| m.score);
            assert!(score >= DEFAULT_MIN_SCORE, "{text:?}: {score}");
        }
    }

    #[test]
    fn stop_words_are_dropped_unless_nothing_else_is_left() {
        let faq = Faq::new(&[entry("Who are you?"), entry("What are your opening hours?")]);
        let best = |text| faq.best("main", None, text).map(|m| m.entry);
        assert_eq!(best("who are you"), Some(0));
        assert_eq!(best("What are your prices?"), None);
        assert_eq!(best("what are your opening hours"), Some(1));
    }

    #[test]
    fn an_accounts_entries_are_found_only_for_that_account() {
        let faq = Faq::new(&[
            for_account("Where can I park?", "amsterdam"),
            for_account("Where can I park?", "berlin"),
            entry("Do you have wifi?"),
        ]);
        let best = |account, text| faq.best(account, None, text).map(|m| m.entry);
        assert_eq!(best("amsterdam", "parking?"), Some(0));
        assert_eq!(best("berlin", "parking?"), Some(1));
        assert_eq!(best("paris", "parking?"), None);
        for account in ["amsterdam", "berlin", "paris"] {
            assert_eq!(best(account, "is there wifi"), Some(2), "{account}");
        }
    }

    #[test]
    fn an_empty_message_or_only_punctuation_matches_nothing() {
        let faq = Faq::new(&shop());
        for text in ["", "   ", "?!...", "🙂👍", "\u{301}"] {
            assert_eq!(faq.best("main", None, text), None, "{text:?}");
        }
        assert_eq!(Faq::new(&[]).best("main", None, "opening hours"), None);
        // A question that analyses to nothing is never matched.
        let faq = Faq::new(&[entry("???"), entry("opening hours")]);
        assert_eq!(
            faq.best("main", None, "??? opening").map(|m| m.entry),
            Some(1)
        );
    }

    #[test]
    fn ties_go_to_the_entry_written_first() {
        let faq = Faq::new(&[entry("refund policy"), entry("refund policy")]);
        assert_eq!(faq.best("main", None, "refund").map(|m| m.entry), Some(0));
    }

    #[test]
    fn every_configured_language_has_an_analyser_that_survives_any_text() {
        for language in deflect_config::FAQ_LANGUAGES {
            assert!(Analyser::new(language).is_some(), "{language}");
        }
        assert!(Analyser::new("xx").is_none());
        // Odd input in every language: nothing panics, the same text gives the same words.
        let pool: Vec<char> =
            "aeiouyßäöüéèçñåøæıİğşœ ﬁ　ＡＢ1٣ا ل ءπσςжйё\u{301}\u{308}'-.,?!🙂\u{200d}\n"
                .chars()
                .collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for language in deflect_config::FAQ_LANGUAGES {
            let analyser = Analyser::new(language).expect("every language has an analyser");
            for _ in 0..300 {
                let len = (next() % 40) as usize;
                let text: String = (0..len)
                    .map(|_| pool[(next() % pool.len() as u64) as usize])
                    .collect();
                assert_eq!(analyser.tokenize(&text), analyser.tokenize(&text));
            }
        }
    }

    #[test]
    fn a_faq_is_shared_between_tasks() {
        fn shared<T: Send + Sync>() {}
        shared::<Faq>();
    }

    fn handover() -> Vec<String> {
        DEFAULT_HANDOVER_WORDS
            .iter()
            .map(|w| w.to_string())
            .collect()
    }

    #[test]
    fn asking_for_a_person_is_recognised_as_whole_words() {
        let words = handover();
        for text in [
            "Agent please",
            "talk to a PERSON",
            "I want a human!",
            "Can I talk to someone?",
            "Ich möchte einen Mitarbeiter sprechen",
            "je veux parler à un conseiller",
            "Je veux un CONSEILLERE",
            "quiero hablar con un agente",
            "operatore, per favore",
            "mag ik een medewerker?",
        ] {
            assert!(wants_person(text, &words), "{text:?}");
        }
        for text in [
            "Die Agentur hat angerufen",
            "agents of change",
            "personally I think it is fine",
            "What are your opening hours?",
            "",
        ] {
            assert!(!wants_person(text, &words), "{text:?}");
        }
    }

    #[test]
    fn configured_phrases_match_their_words_in_order() {
        let words = vec![
            "real person".to_string(),
            "  ".to_string(),
            "Ça va".to_string(),
        ];
        assert!(wants_person("a REAL, person please", &words));
        assert!(!wants_person("a person who is real", &words));
        assert!(wants_person("ca va?", &words));
        assert!(!wants_person("anything", &words));
        assert!(!wants_person("agent", &[]));
    }
}
