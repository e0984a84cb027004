//! The short strings that tie a customer's message to a conversation: references and one-time
//! hand-off codes (from an alphabet without lookalikes), the quick-reply payload of a
//! deflection template, and the hashes under which visitors' and agents' bearer tokens are
//! stored.

use crate::clock::Millis;
use serde::{Deserialize, Serialize};
use sha2::Digest;

/// Characters of hand-off codes and references: no 0/O, 1/I/L lookalikes.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Length of a hand-off code.
pub const CODE_LEN: usize = 6;
const PAYLOAD_PREFIX: &str = "deflect:";

/// A random string of `len` characters from an alphabet without lookalikes.
pub(crate) fn random_token(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()]))
        .collect()
}

/// The stored form of a bearer token (a visitor's, a session's, an API token): its SHA-256.
pub(crate) fn hash_token(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// Words of a text that could be hand-off codes.
pub(crate) fn candidate_codes(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() == CODE_LEN)
        .map(str::to_ascii_uppercase)
        .filter(|w| w.bytes().all(|b| CODE_ALPHABET.contains(&b)))
        .take(8)
        .collect()
}

/// The prefilled WhatsApp text that carries a hand-off code.
pub fn handoff_text(code: &str) -> String {
    format!("Continue my chat (ref {code})")
}

/// The quick-reply payload that links an answer to a conversation.
pub fn payload_for(reference: &str) -> String {
    format!("{PAYLOAD_PREFIX}{reference}")
}

/// The conversation reference in a quick-reply payload, if it is one of ours.
pub fn reference_in_payload(payload: &str) -> Option<&str> {
    payload
        .strip_prefix(PAYLOAD_PREFIX)
        .filter(|r| !r.is_empty() && r.len() <= 16)
}

/// A one-time code that continues a web conversation on WhatsApp.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    /// The code.
    pub code: String,
    /// The prefilled message carrying it.
    pub text: String,
    /// `https://wa.me/<business number digits>?text=<text>`.
    pub url: String,
    /// When it stops working (ms).
    pub expires_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_in_text_and_payloads_name_references() {
        let code = random_token(CODE_LEN);
        assert_eq!(code.len(), CODE_LEN);
        let text = handoff_text(&code.to_lowercase());
        assert_eq!(candidate_codes(&text), vec![code]);
        assert!(candidate_codes("no code in here, 0OI1L5").is_empty());
        assert_eq!(reference_in_payload(&payload_for("K7Q2MX")), Some("K7Q2MX"));
        assert_eq!(reference_in_payload("deflect:"), None);
        assert_eq!(reference_in_payload("other:K7Q2MX"), None);
    }
}
