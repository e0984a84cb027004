//! Digit words: what a caller may say for each digit, per language, and how a recognised
//! utterance becomes digits. The recogniser's grammar is made of exactly these words, so it
//! cannot hear anything else.
//!
//! Built in: English (`zero`/`oh`, `one` … `nine`, `double`, `triple`), Korean
//! (Sino-Korean digits as phone numbers are read: `공`/`영` … `구`), Dutch, German (with
//! `zwo`), French, Spanish and Portuguese (with Brazil's `meia` for 6) — the languages
//! deflect has prompts for. `ivr.speech.digit_words` adds languages and overrides words.

use deflect_config::SpeechConfig;
use std::collections::BTreeMap;

/// What one word means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Meaning {
    Digit(char),
    /// "double", "triple": the next digit said that many times.
    Repeat(usize),
}

const EN: &[(&str, &str)] = &[
    ("zero", "0"),
    ("oh", "0"),
    ("one", "1"),
    ("two", "2"),
    ("three", "3"),
    ("four", "4"),
    ("five", "5"),
    ("six", "6"),
    ("seven", "7"),
    ("eight", "8"),
    ("nine", "9"),
    ("double", "double"),
    ("triple", "triple"),
];

const KO: &[(&str, &str)] = &[
    ("공", "0"),
    ("영", "0"),
    ("일", "1"),
    ("이", "2"),
    ("삼", "3"),
    ("사", "4"),
    ("오", "5"),
    ("육", "6"),
    ("륙", "6"),
    ("칠", "7"),
    ("팔", "8"),
    ("구", "9"),
];

const NL: &[(&str, &str)] = &[
    ("nul", "0"),
    ("een", "1"),
    ("twee", "2"),
    ("drie", "3"),
    ("vier", "4"),
    ("vijf", "5"),
    ("zes", "6"),
    ("zeven", "7"),
    ("acht", "8"),
    ("negen", "9"),
];

/// German, with "zwo" (said for 2 on the phone, apart from "drei").
const DE: &[(&str, &str)] = &[
    ("null", "0"),
    ("eins", "1"),
    ("zwei", "2"),
    ("zwo", "2"),
    ("drei", "3"),
    ("vier", "4"),
    ("fünf", "5"),
    ("sechs", "6"),
    ("sieben", "7"),
    ("acht", "8"),
    ("neun", "9"),
];

const FR: &[(&str, &str)] = &[
    ("zéro", "0"),
    ("un", "1"),
    ("deux", "2"),
    ("trois", "3"),
    ("quatre", "4"),
    ("cinq", "5"),
    ("six", "6"),
    ("sept", "7"),
    ("huit", "8"),
    ("neuf", "9"),
];

const ES: &[(&str, &str)] = &[
    ("cero", "0"),
    ("uno", "1"),
    ("dos", "2"),
    ("tres", "3"),
    ("cuatro", "4"),
    ("cinco", "5"),
    ("seis", "6"),
    ("siete", "7"),
    ("ocho", "8"),
    ("nueve", "9"),
];

/// Portuguese, with Brazil's "meia" (half a dozen: 6 on the phone) and the feminine forms.
const PT: &[(&str, &str)] = &[
    ("zero", "0"),
    ("um", "1"),
    ("uma", "1"),
    ("dois", "2"),
    ("duas", "2"),
    ("três", "3"),
    ("quatro", "4"),
    ("cinco", "5"),
    ("seis", "6"),
    ("meia", "6"),
    ("sete", "7"),
    ("oito", "8"),
    ("nove", "9"),
];

/// Tokens recognisers use for sounds outside the grammar (Vosk: `[unk]`; the Korean model:
/// `<UNK>`). They are dropped from an utterance.
const UNKNOWN_TOKENS: &[&str] = &["[unk]", "<UNK>", "<unk>"];

/// The digit words of one language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitWords {
    words: BTreeMap<String, Meaning>,
}

/// An utterance that is not a digit sequence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotDigits {
    /// A word outside the language's digit words.
    #[error("{0:?} is not a digit word")]
    Word(String),
    /// "double" or "triple" with no digit after it.
    #[error("a repeat word without a digit after it")]
    DanglingRepeat,
    /// Nothing but silence or unknown sounds.
    #[error("no digits")]
    Empty,
}

impl DigitWords {
    /// The words for `language`: built-in ones (en, ko, nl, de, fr, es, pt) with `config`'s
    /// additions, or
    /// `None` when neither has any.
    pub fn for_language(language: &str, config: &SpeechConfig) -> Option<Self> {
        let primary = language.split('-').next().unwrap_or(language);
        let builtin: &[(&str, &str)] = match primary {
            "en" => EN,
            "ko" => KO,
            "nl" => NL,
            "de" => DE,
            "fr" => FR,
            "es" => ES,
            "pt" => PT,
            _ => &[],
        };
        let mut words = BTreeMap::new();
        let extra = config
            .digit_words
            .get(language)
            .or_else(|| config.digit_words.get(primary));
        let pairs = builtin.iter().map(|(w, v)| (w.to_string(), *v)).chain(
            extra
                .into_iter()
                .flatten()
                .map(|(w, v)| (w.clone(), v.as_str())),
        );
        for (word, value) in pairs {
            let meaning = match value {
                "double" => Meaning::Repeat(2),
                "triple" => Meaning::Repeat(3),
                // Validated by the configuration: one ASCII digit.
                v => Meaning::Digit(v.chars().next().filter(char::is_ascii_digit)?),
            };
            words.insert(word.to_lowercase(), meaning);
        }
        (!words.is_empty()).then_some(Self { words })
    }

    /// The words, for a recogniser grammar.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.words.keys().map(String::as_str)
    }

    /// The digits `utterance` says: `"oh six double one"` → `"0611"`.
    pub fn digits(&self, utterance: &str) -> Result<String, NotDigits> {
        let mut out = String::new();
        let mut repeat = 1;
        for word in utterance.split_whitespace() {
            if UNKNOWN_TOKENS.contains(&word) {
                continue;
            }
            match self.words.get(&word.to_lowercase()) {
                Some(Meaning::Digit(d)) => {
                    for _ in 0..repeat {
                        out.push(*d);
                    }
                    repeat = 1;
                }
                Some(Meaning::Repeat(n)) => repeat = *n,
                None => return Err(NotDigits::Word(word.to_string())),
            }
        }
        if repeat != 1 {
            return Err(NotDigits::DanglingRepeat);
        }
        if out.is_empty() {
            return Err(NotDigits::Empty);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_digits_with_oh_double_and_triple() {
        let en = DigitWords::for_language("en", &SpeechConfig::default()).unwrap();
        assert_eq!(
            en.digits("oh six one two three four five six seven eight"),
            Ok("0612345678".into())
        );
        assert_eq!(
            en.digits("zero six double one triple nine"),
            Ok("0611999".into())
        );
        assert_eq!(en.digits("[unk] oh six [unk]"), Ok("06".into()));
        assert_eq!(en.digits("six double"), Err(NotDigits::DanglingRepeat));
        assert_eq!(en.digits("[unk]"), Err(NotDigits::Empty));
        assert_eq!(
            en.digits("six apples"),
            Err(NotDigits::Word("apples".into()))
        );
        assert_eq!(
            DigitWords::for_language("en-GB", &SpeechConfig::default()),
            Some(en)
        );
    }

    #[test]
    fn korean_digits() {
        let ko = DigitWords::for_language("ko", &SpeechConfig::default()).unwrap();
        assert_eq!(
            ko.digits("공 일 공 일 이 삼 사 오 육 칠 팔"),
            Ok("01012345678".into())
        );
        assert_eq!(ko.digits("영 구 <UNK>"), Ok("09".into()));
        assert!(ko.words().any(|w| w == "공"));
    }

    #[test]
    fn configured_languages_add_and_override_words() {
        let mut config = SpeechConfig::default();
        config.digit_words.insert(
            "nl".into(),
            [("nul", "0"), ("een", "1"), ("dubbel", "double")]
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        );
        config.digit_words.insert(
            "en".into(),
            [("nought".to_string(), "0".to_string())].into(),
        );
        let nl = DigitWords::for_language("nl", &config).unwrap();
        assert_eq!(nl.digits("nul dubbel een zes"), Ok("0116".into()));
        let en = DigitWords::for_language("en", &config).unwrap();
        assert_eq!(en.digits("nought one"), Ok("01".into()));
        assert_eq!(DigitWords::for_language("it", &config), None);
    }

    #[test]
    fn the_prompt_languages_have_their_digit_words() {
        let none = SpeechConfig::default();
        let cases = [
            ("nl", "nul zes een twee", "0612"),
            ("de", "null eins fünf zwo", "0152"),
            ("fr", "zéro six un deux", "0612"),
            ("es", "seis uno dos nueve", "6129"),
            ("pt-BR", "um um meia três", "1163"),
        ];
        for (language, said, digits) in cases {
            let words = DigitWords::for_language(language, &none).unwrap();
            assert_eq!(words.digits(said), Ok(digits.into()), "{language}");
        }
    }
}
