//! `[[inbox.faq]]`: questions and their answers, sent automatically when a customer's
//! message matches a question well enough (the matching is deflect-chat's `faq` module).

use crate::Problems;
use crate::text::{CONVERSATION_VARIABLES, check_text};
use serde::{Deserialize, Serialize};

/// The languages a question can be written in: each has its own stop words and stemmer
/// (ISO 639-1 codes). deflect-chat analyses every one of them.
pub const FAQ_LANGUAGES: &[&str] = &[
    "ar", "da", "de", "el", "en", "es", "fi", "fr", "hu", "it", "nl", "no", "pt", "ro", "ru", "sv",
    "tr",
];

/// The language of an entry that names none.
pub const DEFAULT_FAQ_LANGUAGE: &str = "en";

/// The longest answer, in characters: WhatsApp's limit for a text message.
pub const MAX_FAQ_ANSWER: usize = 4096;

/// The longest question, in characters: a question is what customers would write, several
/// phrasings at most; longer texts only dilute its words' weight.
pub const MAX_FAQ_QUESTION: usize = 500;

/// `[[inbox.faq]]`: one question and the answer sent when a message matches it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaqEntry {
    /// The question as customers would ask it; its words are what a message is matched on.
    pub question: String,
    /// The answer sent; may use the conversation's variables (`{{customer_name}}`, …).
    pub answer: String,
    /// The language the question is written in, which picks its stop words and stemmer
    /// (one of [`FAQ_LANGUAGES`]); none is [`DEFAULT_FAQ_LANGUAGE`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The WhatsApp account whose customers get this answer; none is every account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
}

impl FaqEntry {
    /// The entry's language: `language`, or [`DEFAULT_FAQ_LANGUAGE`].
    pub fn language(&self) -> &str {
        self.language.as_deref().unwrap_or(DEFAULT_FAQ_LANGUAGE)
    }

    /// Checks what the entry says by itself; `at` is its key (`inbox.faq[2]`). The account
    /// is checked against the WhatsApp accounts where the whole configuration is.
    pub(crate) fn validate(&self, p: &mut Problems, at: &str) {
        for (field, message) in self.problems() {
            p.push(format!("{at}.{field}"), message);
        }
    }

    /// What is wrong with the entry by itself, as (field, message) — `question`, `answer`
    /// or `language` — for the configuration and for entries added through the inbox's API
    /// alike (the account is the caller's to check). Empty: nothing.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut found = Vec::new();
        let question = self.question.chars().count();
        if self.question.trim().is_empty() {
            found.push((
                "question",
                "required: the question as customers would ask it".to_string(),
            ));
        } else if question > MAX_FAQ_QUESTION {
            found.push((
                "question",
                format!("is {question} characters long; at most {MAX_FAQ_QUESTION}"),
            ));
        }
        let answer = self.answer.chars().count();
        if self.answer.trim().is_empty() {
            found.push((
                "answer",
                "required: the text sent as the answer".to_string(),
            ));
        } else if answer > MAX_FAQ_ANSWER {
            found.push((
                "answer",
                format!(
                    "is {answer} characters long; at most {MAX_FAQ_ANSWER} (WhatsApp's limit for a text)"
                ),
            ));
        } else if let Err(e) = check_text(&self.answer, CONVERSATION_VARIABLES) {
            found.push(("answer", e.to_string()));
        }
        if let Some(language) = &self.language
            && !FAQ_LANGUAGES.contains(&language.as_str())
        {
            found.push((
                "language",
                format!(
                    "{language:?} is not a supported language; valid: {}",
                    FAQ_LANGUAGES.join(", ")
                ),
            ));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(entry: &FaqEntry) -> Vec<String> {
        let mut p = Problems::default();
        entry.validate(&mut p, "inbox.faq[0]");
        p.into_vec().into_iter().map(|p| p.to_string()).collect()
    }

    fn entry(question: &str, answer: &str) -> FaqEntry {
        FaqEntry {
            question: question.into(),
            answer: answer.into(),
            ..FaqEntry::default()
        }
    }

    #[test]
    fn a_complete_entry_has_no_problems() {
        let mut e = entry("What are your opening hours?", "9 to 5, {{customer_name}}.");
        e.language = Some("de".into());
        assert_eq!(problems(&e), Vec::<String>::new());
        assert_eq!(e.language(), "de");
        assert_eq!(entry("q", "a").language(), "en");
    }

    #[test]
    fn blank_question_and_answer_are_required() {
        let p = problems(&entry("  ", "\n"));
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("inbox.faq[0].question: required"), "{p:?}");
        assert!(p[1].starts_with("inbox.faq[0].answer: required"), "{p:?}");
    }

    #[test]
    fn an_answer_longer_than_a_whatsapp_text_is_refused() {
        let fits = "ü".repeat(MAX_FAQ_ANSWER);
        assert_eq!(problems(&entry("q", &fits)), Vec::<String>::new());
        let p = problems(&entry("q", &format!("{fits}!")));
        assert_eq!(
            p,
            [
                "inbox.faq[0].answer: is 4097 characters long; at most 4096 (WhatsApp's limit for a text)"
            ]
        );
    }

    #[test]
    fn a_question_longer_than_500_characters_is_refused() {
        let fits = "é".repeat(MAX_FAQ_QUESTION);
        assert_eq!(problems(&entry(&fits, "a")), Vec::<String>::new());
        let p = problems(&entry(&format!("{fits}?"), "a"));
        assert_eq!(
            p,
            ["inbox.faq[0].question: is 501 characters long; at most 500"]
        );
    }

    #[test]
    fn problems_name_the_field_without_a_key() {
        let mut e = entry("", "Ask {{agent_name}}");
        e.language = Some("xx".into());
        let fields: Vec<&str> = e.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["question", "answer", "language"]);
    }

    #[test]
    fn an_answer_with_an_unknown_variable_is_refused() {
        let p = problems(&entry("q", "Ask {{agent_name}}"));
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("inbox.faq[0].answer: unknown variable {{agent_name}}"),
            "{p:?}"
        );
    }

    #[test]
    fn an_unsupported_language_names_the_valid_ones() {
        let mut e = entry("q", "a");
        e.language = Some("EN".into());
        let p = problems(&e);
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("inbox.faq[0].language: \"EN\" is not"),
            "{p:?}"
        );
        assert!(p[0].contains("valid: ar, da, de, el, en, es,"), "{p:?}");
    }
}
