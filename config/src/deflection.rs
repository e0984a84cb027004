//! The record of a deflected call, defined once here: the IVR makes it, journals it and
//! hands it off; the inbox takes it, stores it and shows it. Both crates depend on this
//! one and not on each other, so neither converts the other's copy.
//!
//! Its JSON (serde) form is the inbox's: a [`Deflection`] is flat, the call's fields then
//! `account` and `queue`, as the `deflection.created` event carries it; a [`CallContext`]
//! is the conversation API's `call` object. Times are milliseconds since the Unix epoch.
//! The IVR's journal keeps its own on-disk form (`deflect_ivr::deflection`).

use serde::{Deserialize, Serialize};

/// A finished IVR call asking for a WhatsApp callback: the caller confirmed a callback
/// number, heard that a message is on its way, and the call ended. The call, as its
/// conversation will show it, and where it goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deflection {
    /// The call; its id (SIP Call-ID) is the deflection's: one deflection per call id.
    #[serde(flatten)]
    pub call: CallContext,
    /// WhatsApp account to use (the flow's); `None`: the default account.
    pub account: Option<String>,
    /// Queue for the conversation (the flow's); `None`: the default queue.
    pub queue: Option<String>,
}

/// What the IVR knew about a deflected call, shown at the top of its conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallContext {
    /// SIP Call-ID; the deflection's idempotency key.
    pub call_id: String,
    /// The calling number (P-Asserted-Identity, else From) in E.164 where it is one;
    /// `None` when withheld.
    pub caller: Option<String>,
    /// Where the WhatsApp message goes (E.164).
    pub callback_number: String,
    /// The number called (Request-URI or To user part), as received; `None` when empty.
    pub dialled_number: Option<String>,
    /// The IVR flow's name.
    pub flow: Option<String>,
    /// The flow's language.
    pub language: Option<String>,
    /// When the call was answered (ms since the Unix epoch).
    pub started_at: i64,
    /// When it ended (ms since the Unix epoch).
    pub ended_at: i64,
    /// How the number was given.
    pub input_method: InputMethod,
    /// What the caller typed (`0612345678#`) or said (the recognised words); `None` when
    /// they chose their own number.
    pub transcript: Option<String>,
    /// The flow's steps the caller went through, in order (see [`PathStep`]); empty for a
    /// call recorded before paths were (`default`, so older records still read).
    #[serde(default)]
    pub path: Vec<PathStep>,
}

/// Most entries a [`CallContext::path`] has: a longer walk (a loop) keeps its first and
/// last steps, with one [`PathStep::skipped`] marker between them.
pub const MAX_PATH: usize = 50;

/// One step of an IVR flow a caller went through, and what chose the way out of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStep {
    /// The step's `id`, else its kind (`play`, `gather`, `confirm`, `branch`, `deflect`,
    /// `hangup`); [`PathStep::SKIPPED`] for the marker standing for steps left out.
    pub step: String,
    /// What chose the exit, where that is meaningful: a branch's `open` or `closed`; a
    /// gather's or confirm's failed attempts (`retry 2`), a confirm's answer (`confirmed`,
    /// `reenter`), `failed` when the attempts ran out — joined with `, `; for the marker,
    /// how many steps it stands for (`12 steps`). `None`: the step simply went on.
    pub exit: Option<String>,
}

impl PathStep {
    /// The `step` of the marker standing for steps left out of a long path.
    pub const SKIPPED: &'static str = "…";

    /// A step `step` with no exit (yet).
    pub fn new(step: impl Into<String>) -> Self {
        Self {
            step: step.into(),
            exit: None,
        }
    }

    /// The marker standing for `count` steps left out of a long path.
    pub fn skipped(count: usize) -> Self {
        Self {
            step: Self::SKIPPED.into(),
            exit: Some(format!("{count} steps")),
        }
    }

    /// The step as the contact panel shows it: `menu`, or `confirm (retry 1, confirmed)`.
    pub fn label(&self) -> String {
        match &self.exit {
            Some(exit) => format!("{} ({exit})", self.step),
            None => self.step.clone(),
        }
    }
}

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

    /// The flat form the inbox's `deflection.created` event carries: the call's fields,
    /// then where it goes.
    #[test]
    fn a_deflection_serialises_flat_and_reads_back() {
        let d = Deflection {
            call: CallContext {
                call_id: "c1".into(),
                caller: None,
                callback_number: "+31687654321".into(),
                dialled_number: None,
                flow: Some("support".into()),
                language: Some("nl".into()),
                started_at: 1_000,
                ended_at: 2_000,
                input_method: InputMethod::Dtmf,
                transcript: Some("0687654321".into()),
                path: vec![
                    PathStep::new("welcome"),
                    PathStep {
                        step: "confirm".into(),
                        exit: Some("confirmed".into()),
                    },
                ],
            },
            account: None,
            queue: Some("callbacks".into()),
        };
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(
            json,
            r#"{"call_id":"c1","caller":null,"callback_number":"+31687654321","dialled_number":null,"flow":"support","language":"nl","started_at":1000,"ended_at":2000,"input_method":"dtmf","transcript":"0687654321","path":[{"step":"welcome","exit":null},{"step":"confirm","exit":"confirmed"}],"account":null,"queue":"callbacks"}"#
        );
        assert_eq!(serde_json::from_str::<Deflection>(&json).unwrap(), d);
    }

    /// A deflection recorded before paths were (an older journal, event or row) reads with
    /// an empty path.
    #[test]
    fn a_deflection_without_a_path_reads_with_an_empty_one() {
        let json = r#"{"call_id":"c1","caller":null,"callback_number":"+31687654321","dialled_number":null,"flow":"support","language":"nl","started_at":1000,"ended_at":2000,"input_method":"dtmf","transcript":"0687654321","account":null,"queue":"callbacks"}"#;
        let d: Deflection = serde_json::from_str(json).unwrap();
        assert!(d.call.path.is_empty());
        assert_eq!(d.queue.as_deref(), Some("callbacks"));
    }

    #[test]
    fn a_step_shows_its_exit_in_brackets() {
        assert_eq!(PathStep::new("menu").label(), "menu");
        let confirm = PathStep {
            step: "confirm".into(),
            exit: Some("retry 1, confirmed".into()),
        };
        assert_eq!(confirm.label(), "confirm (retry 1, confirmed)");
        assert_eq!(PathStep::skipped(12).label(), "… (12 steps)");
    }
}
