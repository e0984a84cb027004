//! What the IVR and the inbox both say about a deflected call, defined once here: both
//! crates depend on this one and not on each other.

use serde::{Deserialize, Serialize};

/// How the caller gave the callback number. Its names (`caller_number`, `dtmf`, `speech`)
/// are those of the IVR's deflection journal, the inbox's database and its API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputMethod {
    /// Chose the number they called from.
    CallerNumber,
    /// Typed it on the keypad.
    Dtmf,
    /// Said it.
    Speech,
}

impl InputMethod {
    /// Its stable name (as stored, and as a metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallerNumber => "caller_number",
            Self::Dtmf => "dtmf",
            Self::Speech => "speech",
        }
    }

    /// The method of a stable name, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::CallerNumber, Self::Dtmf, Self::Speech]
            .into_iter()
            .find(|m| m.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialised_forms_and_parse_back() {
        for m in [
            InputMethod::CallerNumber,
            InputMethod::Dtmf,
            InputMethod::Speech,
        ] {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
            assert_eq!(InputMethod::parse(m.as_str()), Some(m));
        }
        assert_eq!(InputMethod::parse("keypad"), None);
    }
}
