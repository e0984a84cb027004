//! A contact's language as the inbox keeps it: the primary subtag of a language tag, an
//! ISO 639-1 code in lower case (`de-DE` → `de`). It comes from a deflected call's flow
//! (`[[ivr.flows]] language`) and from a widget visitor's browser (`navigator.language`),
//! and picks the welcome's translation (`welcome_translations`).

/// The longest language tag read (BCP 47's practical limit); anything longer is junk.
const MAX_TAG: usize = 35;

/// The ISO 639-1 code of language tag `tag` (`de-DE`, `nl`, `en_GB`, `PT-br` → `de`, `nl`,
/// `en`, `pt`), or none when it is not a language tag: its primary subtag must be two
/// letters, each further subtag one to eight letters or digits.
pub fn language_code(tag: &str) -> Option<String> {
    let tag = tag.trim();
    if tag.is_empty() || tag.len() > MAX_TAG {
        return None;
    }
    let mut subtags = tag.split(['-', '_']);
    let primary = subtags.next()?;
    let letters = primary.len() == 2 && primary.bytes().all(|b| b.is_ascii_alphabetic());
    let rest_ok =
        subtags.all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()));
    (letters && rest_ok).then(|| primary.to_ascii_lowercase())
}

/// Whether `code` is a language code as configured: two lower-case letters (`nl`).
pub(crate) fn is_language_code(code: &str) -> bool {
    language_code(code).as_deref() == Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tags_primary_subtag_is_the_language_and_junk_is_none() {
        assert_eq!(language_code("de-DE").as_deref(), Some("de"));
        assert_eq!(language_code("nl").as_deref(), Some("nl"));
        assert_eq!(language_code(" en_GB ").as_deref(), Some("en"));
        assert_eq!(language_code("PT-br").as_deref(), Some("pt"));
        assert_eq!(language_code("zh-Hant-TW").as_deref(), Some("zh"));
        for junk in [
            "",
            "deu",
            "d",
            "x-klingon",
            "12",
            "de-",
            "de--DE",
            "de-DE!",
            "<script>",
        ] {
            assert_eq!(language_code(junk), None, "{junk:?}");
        }
        assert_eq!(language_code(&format!("de-{}", "a".repeat(40))), None);
        assert!(is_language_code("nl"));
        assert!(!is_language_code("NL"));
        assert!(!is_language_code("nl-NL"));
    }
}
