//! Canned answers: texts agents insert into a reply, with placeholders filled from the
//! conversation (the canned-answer service, [`crate::canned`], stores them).

use crate::clock::Millis;
use serde::{Deserialize, Serialize};

/// Placeholders a canned answer may use.
pub const PLACEHOLDERS: &[&str] = &["customer_name", "customer_phone", "agent_name", "reference"];

/// A canned answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedAnswer {
    /// Id.
    pub id: i64,
    /// WhatsApp account it is for; `None`: every conversation.
    pub account: Option<String>,
    /// Short title agents pick it by.
    pub title: String,
    /// Text, with placeholders.
    pub body: String,
    /// Last change (ms).
    pub updated_at: Millis,
}

/// A canned answer to create or replace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCannedAnswer {
    /// WhatsApp account; `None`: global.
    #[serde(default)]
    pub account: Option<String>,
    /// Title (1 to 100 characters).
    pub title: String,
    /// Text (1 to 4096 characters).
    pub body: String,
}

/// The placeholder names used in `body`.
pub(crate) fn placeholders(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                out.push(after[..end].trim());
                rest = &after[end + 2..];
            }
            None => break,
        }
    }
    out
}

/// Fills `body`'s placeholders from `values` (name → value).
pub fn fill(body: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.iter().find(|(n, _)| *n == name) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[start..start + end + 4]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        let v = [("customer_name", "Ann"), ("reference", "K7Q2MX")];
        assert_eq!(
            fill("Hi {{customer_name}}, ref {{ reference }}.", &v),
            "Hi Ann, ref K7Q2MX."
        );
        assert_eq!(fill("{{x}} and {{", &v), "{{x}} and {{");
        assert_eq!(
            placeholders("a {{ agent_name }} b {{reference}}"),
            vec!["agent_name", "reference"]
        );
    }
}
