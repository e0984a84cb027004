//! Interactive messages, the `interactive` of a message in the API: reply buttons, a list or
//! a link button the inbox sends, and the customer's choice coming back (which button or row,
//! by its id and title).
//!
//! What may be sent follows WhatsApp's limits (Meta's Cloud API reference for interactive
//! reply buttons, list and call-to-action URL messages), so that whatever the API accepts
//! Meta accepts too: at most 3 reply buttons with unique titles of at most 20 characters
//! and unique ids of at most 256; a list's button label of at most 20 characters, 1 to 10
//! sections (titled, at most 24 characters) holding at most 10 rows in all, each row a
//! unique id of at most 200 characters, a title of at most 24 and an optional description of
//! at most 72; a link button's label of at most 20 characters and an `http(s)` URL; a
//! WhatsApp call button's label of at most 20 characters and its life of 1 to 43,200 minutes;
//! a call permission request's body (it has no other part); and a body of at most 1024
//! characters. A refusal names the field (`interactive.buttons[1].title`).

use crate::model::ChatError;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// At most this many reply buttons.
pub const MAX_BUTTONS: usize = 3;
/// Longest reply button title.
pub const MAX_BUTTON_TITLE: usize = 20;
/// Longest reply button id.
pub const MAX_BUTTON_ID: usize = 256;
/// Longest label of the button that opens a list.
pub const MAX_LIST_BUTTON: usize = 20;
/// At most this many sections in a list.
pub const MAX_SECTIONS: usize = 10;
/// At most this many rows in a list, all sections together.
pub const MAX_ROWS: usize = 10;
/// Longest section title.
pub const MAX_SECTION_TITLE: usize = 24;
/// Longest row title.
pub const MAX_ROW_TITLE: usize = 24;
/// Longest row id.
pub const MAX_ROW_ID: usize = 200;
/// Longest row description.
pub const MAX_ROW_DESCRIPTION: usize = 72;
/// Longest body of an interactive message.
pub const MAX_BODY: usize = 1024;
/// Longest label of a link button.
pub const MAX_LINK_TEXT: usize = 20;
/// Longest link.
pub const MAX_URL: usize = 2048;
/// Longest label of a WhatsApp call button.
pub const MAX_CALL_TEXT: usize = 20;
/// Longest life of a WhatsApp call button, in minutes (30 days).
pub const MAX_CALL_TTL_MINUTES: u32 = 43_200;

/// A reply button: its `id` comes back when the customer taps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// Returned when tapped (at most 256 characters, unique in the message).
    pub id: String,
    /// Shown (at most 20 characters, unique in the message).
    pub title: String,
}

/// A list's choice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// Returned when chosen (at most 200 characters, unique in the list).
    pub id: String,
    /// Shown (at most 24 characters).
    pub title: String,
    /// Shown under the title (at most 72 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A titled group of a list's rows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// Shown above its rows (at most 24 characters).
    pub title: String,
    /// Its rows.
    pub rows: Vec<Row>,
}

/// What makes a message interactive, either way (`type` on the wire).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Interactive {
    /// `button`: up to three reply buttons under the body.
    Button {
        /// The text above the buttons (a sent message's body; on the API's input, the
        /// request's `text` is the body).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// The buttons.
        buttons: Vec<Button>,
    },
    /// `list`: a button that opens a list of choices in sections.
    List {
        /// The text above the button.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// The label of the button that opens the list.
        button: String,
        /// The sections.
        sections: Vec<Section>,
    },
    /// `cta_url`: a button that opens a web page.
    CtaUrl {
        /// The text above the button.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// The button's label.
        display_text: String,
        /// The page (`http` or `https`).
        url: String,
    },
    /// `voice_call`: a button that calls the business on WhatsApp (an account with
    /// `calling`).
    VoiceCall {
        /// The text above the button.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        /// The button's label (WhatsApp shows "Call Now" without one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_text: Option<String>,
        /// How long the button calls, in minutes (WhatsApp's default: 7 days).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_minutes: Option<u32>,
    },
    /// `call_permission_request`: asks the customer whether the business may call them on
    /// WhatsApp (an account with `calling`); the answer is a `call_permission_reply`.
    CallPermissionRequest {
        /// The text above the question.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// `call_permission_reply`: the customer's answer to a call permission request.
    CallPermissionReply {
        /// `accept` or `reject`.
        response: String,
        /// The permission does not expire.
        #[serde(default)]
        is_permanent: bool,
        /// When a temporary permission ends (seconds since the epoch).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expiration_timestamp: Option<i64>,
    },
    /// `button_reply`: the customer tapped a reply button (or a template's quick reply).
    ButtonReply {
        /// The button's id (a quick reply's payload).
        id: String,
        /// Its title.
        title: String,
    },
    /// `list_reply`: the customer chose a row of a list.
    ListReply {
        /// The row's id.
        id: String,
        /// Its title.
        title: String,
        /// Its description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}

impl Interactive {
    /// The customer's choice (`button_reply`, `list_reply`), as opposed to what is sent.
    pub fn is_reply(&self) -> bool {
        matches!(self, Self::ButtonReply { .. } | Self::ListReply { .. })
    }

    /// The id of the customer's choice.
    pub fn reply_id(&self) -> Option<&str> {
        match self {
            Self::ButtonReply { id, .. } | Self::ListReply { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The title of the customer's choice.
    pub fn reply_title(&self) -> Option<&str> {
        match self {
            Self::ButtonReply { title, .. } | Self::ListReply { title, .. } => Some(title),
            _ => None,
        }
    }

    /// The text above a sent message's buttons.
    pub fn body(&self) -> Option<&str> {
        match self {
            Self::Button { body, .. }
            | Self::List { body, .. }
            | Self::CtaUrl { body, .. }
            | Self::VoiceCall { body, .. }
            | Self::CallPermissionRequest { body } => body.as_deref(),
            Self::ButtonReply { .. }
            | Self::ListReply { .. }
            | Self::CallPermissionReply { .. } => None,
        }
    }

    /// The same with `body` as the text above the buttons (a reply has none).
    pub fn with_body(mut self, text: &str) -> Self {
        match &mut self {
            Self::Button { body, .. }
            | Self::List { body, .. }
            | Self::CtaUrl { body, .. }
            | Self::VoiceCall { body, .. }
            | Self::CallPermissionRequest { body } => {
                *body = Some(text.to_string());
            }
            Self::ButtonReply { .. }
            | Self::ListReply { .. }
            | Self::CallPermissionReply { .. } => {}
        }
        self
    }

    /// The same with every text trimmed (WhatsApp refuses ids with surrounding spaces; a
    /// title of spaces is empty).
    pub fn trimmed(self) -> Self {
        let t = |s: String| s.trim().to_string();
        let o = |s: Option<String>| s.map(t).filter(|s| !s.is_empty());
        match self {
            Self::Button { body, buttons } => Self::Button {
                body: o(body),
                buttons: (buttons.into_iter())
                    .map(|b| Button {
                        id: t(b.id),
                        title: t(b.title),
                    })
                    .collect(),
            },
            Self::List {
                body,
                button,
                sections,
            } => Self::List {
                body: o(body),
                button: t(button),
                sections: (sections.into_iter())
                    .map(|s| Section {
                        title: t(s.title),
                        rows: (s.rows.into_iter())
                            .map(|r| Row {
                                id: t(r.id),
                                title: t(r.title),
                                description: o(r.description),
                            })
                            .collect(),
                    })
                    .collect(),
            },
            Self::CtaUrl {
                body,
                display_text,
                url,
            } => Self::CtaUrl {
                body: o(body),
                display_text: t(display_text),
                url: t(url),
            },
            Self::VoiceCall {
                body,
                display_text,
                ttl_minutes,
            } => Self::VoiceCall {
                body: o(body),
                display_text: o(display_text),
                ttl_minutes,
            },
            Self::CallPermissionRequest { body } => Self::CallPermissionRequest { body: o(body) },
            reply => reply,
        }
    }

    /// Whether this can be sent with body `body` (see the module documentation); the error
    /// names the field (`text` for the body, `interactive.…` for the rest).
    pub fn check_sendable(&self, body: &str) -> Result<(), ChatError> {
        let mut c = Check::default();
        c.text("text", body, MAX_BODY);
        match self {
            Self::Button { buttons, .. } => {
                c.count("interactive.buttons", buttons.len(), MAX_BUTTONS);
                let (mut ids, mut titles) = (HashSet::new(), HashSet::new());
                for (i, b) in buttons.iter().enumerate() {
                    let at = format!("interactive.buttons[{i}]");
                    c.text(&format!("{at}.id"), &b.id, MAX_BUTTON_ID);
                    c.text(&format!("{at}.title"), &b.title, MAX_BUTTON_TITLE);
                    c.unique(&format!("{at}.id"), &mut ids, &b.id);
                    c.unique(&format!("{at}.title"), &mut titles, &b.title);
                }
            }
            Self::List {
                button, sections, ..
            } => {
                c.text("interactive.button", button, MAX_LIST_BUTTON);
                c.count("interactive.sections", sections.len(), MAX_SECTIONS);
                let rows: usize = sections.iter().map(|s| s.rows.len()).sum();
                if sections.len() <= MAX_SECTIONS {
                    c.count("interactive.sections[].rows", rows, MAX_ROWS);
                }
                let mut ids = HashSet::new();
                for (i, s) in sections.iter().enumerate() {
                    let at = format!("interactive.sections[{i}]");
                    c.text(&format!("{at}.title"), &s.title, MAX_SECTION_TITLE);
                    if s.rows.is_empty() {
                        c.fail(&format!("{at}.rows"), "needs at least one row".into());
                    }
                    for (j, r) in s.rows.iter().enumerate() {
                        let at = format!("{at}.rows[{j}]");
                        c.text(&format!("{at}.id"), &r.id, MAX_ROW_ID);
                        c.text(&format!("{at}.title"), &r.title, MAX_ROW_TITLE);
                        if let Some(d) = &r.description {
                            c.text(&format!("{at}.description"), d, MAX_ROW_DESCRIPTION);
                        }
                        c.unique(&format!("{at}.id"), &mut ids, &r.id);
                    }
                }
            }
            Self::CtaUrl {
                display_text, url, ..
            } => {
                c.text("interactive.display_text", display_text, MAX_LINK_TEXT);
                c.url("interactive.url", url);
            }
            Self::VoiceCall {
                display_text,
                ttl_minutes,
                ..
            } => {
                if let Some(text) = display_text {
                    c.text("interactive.display_text", text, MAX_CALL_TEXT);
                }
                if ttl_minutes.is_some_and(|m| !(1..=MAX_CALL_TTL_MINUTES).contains(&m)) {
                    c.fail(
                        "interactive.ttl_minutes",
                        format!("1 to {MAX_CALL_TTL_MINUTES} minutes (30 days)"),
                    );
                }
            }
            Self::CallPermissionRequest { .. } => {}
            Self::ButtonReply { .. }
            | Self::ListReply { .. }
            | Self::CallPermissionReply { .. } => c.fail(
                "interactive.type",
                "button_reply, list_reply and call_permission_reply are the customer's answers; \
                 send button, list, cta_url, voice_call or call_permission_request"
                    .into(),
            ),
        }
        c.result()
    }

    /// Whether this is a reply a web visitor may send: `button_reply` or `list_reply` with
    /// an id and title within the limits.
    pub fn check_reply(&self) -> Result<(), ChatError> {
        let mut c = Check::default();
        match self {
            Self::ButtonReply { id, title } => {
                c.text("reply.id", id, MAX_BUTTON_ID);
                c.text("reply.title", title, MAX_ROW_TITLE);
            }
            Self::ListReply {
                id,
                title,
                description,
            } => {
                c.text("reply.id", id, MAX_BUTTON_ID);
                c.text("reply.title", title, MAX_ROW_TITLE);
                if let Some(d) = description {
                    c.text("reply.description", d, MAX_ROW_DESCRIPTION);
                }
            }
            _ => c.fail("reply.type", "must be button_reply or list_reply".into()),
        }
        c.result()
    }
}

/// The first problem found, named by its field.
#[derive(Default)]
struct Check(Option<String>);

impl Check {
    fn fail(&mut self, field: &str, problem: String) {
        if self.0.is_none() {
            self.0 = Some(format!("{field}: {problem}"));
        }
    }

    fn text(&mut self, field: &str, value: &str, max: usize) {
        let n = value.chars().count();
        if n == 0 {
            self.fail(field, "must not be empty".into());
        } else if n > max {
            self.fail(field, format!("at most {max} characters (has {n})"));
        }
    }

    fn count(&mut self, field: &str, n: usize, max: usize) {
        if n == 0 {
            self.fail(field, format!("needs 1 to {max} (has none)"));
        } else if n > max {
            self.fail(field, format!("at most {max} (has {n})"));
        }
    }

    fn unique<'a>(&mut self, field: &str, seen: &mut HashSet<&'a str>, value: &'a str) {
        if !seen.insert(value) {
            self.fail(
                field,
                format!("{value:?} is used twice; each must be unique"),
            );
        }
    }

    fn url(&mut self, field: &str, value: &str) {
        if value.chars().count() > MAX_URL {
            return self.fail(field, format!("at most {MAX_URL} characters"));
        }
        match url::Url::parse(value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            Ok(_) => self.fail(field, "must be an http or https address".into()),
            Err(e) => self.fail(field, format!("not an address ({e})")),
        }
    }

    fn result(self) -> Result<(), ChatError> {
        match self.0 {
            Some(problem) => Err(ChatError::Invalid(problem)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Interactive {
        serde_json::from_value::<Interactive>(v).unwrap().trimmed()
    }

    /// The message of the refusal of `v` sent with `body`.
    fn refusal(v: serde_json::Value, body: &str) -> String {
        match parse(v).check_sendable(body) {
            Err(ChatError::Invalid(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    /// Whether `v` may be sent with `body`.
    fn passes(v: serde_json::Value, body: &str) -> bool {
        parse(v).check_sendable(body).is_ok()
    }

    fn buttons(n: usize) -> serde_json::Value {
        let b: Vec<_> = (0..n)
            .map(|i| json!({"id": format!("b{i}"), "title": format!("Button {i}")}))
            .collect();
        json!({"type": "button", "buttons": b})
    }

    fn rows(n: usize) -> Vec<serde_json::Value> {
        (0..n)
            .map(|i| json!({"id": format!("r{i}"), "title": format!("Row {i}")}))
            .collect()
    }

    fn list(sections: serde_json::Value) -> serde_json::Value {
        json!({"type": "list", "button": "Choose", "sections": sections})
    }

    #[test]
    fn the_three_kinds_that_are_sent_read_and_pass_within_the_limits() {
        assert!(passes(buttons(3), "Pick one"));
        let l = list(json!([
            {"title": "Fast", "rows": [{"id": "x", "title": "Express", "description": "Next day"}]},
            {"title": "Slow", "rows": rows(9)}
        ]));
        assert!(passes(l, "How?"));
        let cta = json!({"type": "cta_url", "display_text": "See dates", "url": "https://example.com/d?x=1"});
        assert!(passes(cta, "Tap below"));
    }

    #[test]
    fn a_call_button_has_an_optional_short_label_and_a_life_of_up_to_30_days() {
        assert!(passes(json!({"type": "voice_call"}), "Call us"));
        let full = json!({"type": "voice_call", "display_text": "Call us", "ttl_minutes": 43_200});
        assert!(passes(full, "Call us"));
        assert_eq!(
            refusal(
                json!({"type": "voice_call", "display_text": "x".repeat(21)}),
                "Call"
            ),
            "interactive.display_text: at most 20 characters (has 21)"
        );
        for minutes in [0, 43_201] {
            let v = json!({"type": "voice_call", "ttl_minutes": minutes});
            assert_eq!(
                refusal(v, "Call"),
                "interactive.ttl_minutes: 1 to 43200 minutes (30 days)"
            );
        }
        // A label of spaces is no label: WhatsApp's own is shown.
        assert_eq!(
            parse(json!({"type": "voice_call", "display_text": "  "})),
            Interactive::VoiceCall {
                body: None,
                display_text: None,
                ttl_minutes: None
            }
        );
    }

    #[test]
    fn a_call_permission_request_is_sent_and_its_reply_only_received() {
        assert!(passes(
            json!({"type": "call_permission_request"}),
            "May we call you?"
        ));
        assert!(
            !passes(json!({"type": "call_permission_request"}), ""),
            "needs its text"
        );
        let reply = json!({"type": "call_permission_reply", "response": "accept"});
        assert!(refusal(reply, "ok").starts_with("interactive.type:"));
    }

    #[test]
    fn reply_buttons_are_one_to_three_with_unique_short_titles_and_ids() {
        assert_eq!(
            refusal(buttons(4), "Pick"),
            "interactive.buttons: at most 3 (has 4)"
        );
        assert_eq!(
            refusal(buttons(0), "Pick"),
            "interactive.buttons: needs 1 to 3 (has none)"
        );
        let long = json!({"type": "button", "buttons": [{"id": "a", "title": "x".repeat(21)}]});
        assert_eq!(
            refusal(long, "Pick"),
            "interactive.buttons[0].title: at most 20 characters (has 21)"
        );
        let twenty = json!({"type": "button", "buttons": [{"id": "a", "title": "é".repeat(20)}]});
        assert!(passes(twenty, "Pick"));
        let long_id = json!({"type": "button", "buttons": [{"id": "i".repeat(257), "title": "A"}]});
        assert_eq!(
            refusal(long_id, "Pick"),
            "interactive.buttons[0].id: at most 256 characters (has 257)"
        );
        let empty = json!({"type": "button", "buttons": [{"id": "a", "title": "  "}]});
        assert_eq!(
            refusal(empty, "Pick"),
            "interactive.buttons[0].title: must not be empty"
        );
        let same_id = json!({"type": "button", "buttons": [{"id": "a", "title": "A"}, {"id": "a", "title": "B"}]});
        assert!(
            refusal(same_id, "Pick").starts_with("interactive.buttons[1].id: \"a\" is used twice")
        );
        let same_title = json!({"type": "button", "buttons": [{"id": "a", "title": "A"}, {"id": "b", "title": "A"}]});
        assert!(refusal(same_title, "Pick").starts_with("interactive.buttons[1].title:"));
    }

    #[test]
    fn the_body_is_required_and_at_most_1024_characters() {
        assert_eq!(refusal(buttons(1), ""), "text: must not be empty");
        assert_eq!(
            refusal(buttons(1), &"b".repeat(1025)),
            "text: at most 1024 characters (has 1025)"
        );
        assert!(passes(buttons(1), &"b".repeat(1024)));
    }

    #[test]
    fn lists_hold_ten_rows_in_up_to_ten_titled_sections() {
        let eleven =
            list(json!([{"title": "A", "rows": rows(6)}, {"title": "B", "rows": rows(5)}]));
        assert_eq!(
            refusal(eleven, "Pick"),
            "interactive.sections[].rows: at most 10 (has 11)"
        );
        let sections: Vec<_> = (0..11)
            .map(|i| json!({"title": format!("S{i}"), "rows": [{"id": format!("r{i}"), "title": "R"}]}))
            .collect();
        assert_eq!(
            refusal(list(json!(sections)), "Pick"),
            "interactive.sections: at most 10 (has 11)"
        );
        assert_eq!(
            refusal(list(json!([])), "Pick"),
            "interactive.sections: needs 1 to 10 (has none)"
        );
        let no_rows = list(json!([{"title": "A", "rows": rows(1)}, {"title": "B", "rows": []}]));
        assert_eq!(
            refusal(no_rows, "Pick"),
            "interactive.sections[1].rows: needs at least one row"
        );
        let label = json!({"type": "list", "button": "b".repeat(21), "sections": [{"title": "A", "rows": rows(1)}]});
        assert_eq!(
            refusal(label, "Pick"),
            "interactive.button: at most 20 characters (has 21)"
        );
        let section = list(json!([{"title": "s".repeat(25), "rows": rows(1)}]));
        assert_eq!(
            refusal(section, "Pick"),
            "interactive.sections[0].title: at most 24 characters (has 25)"
        );
        let untitled = list(json!([{"title": "", "rows": rows(1)}]));
        assert_eq!(
            refusal(untitled, "Pick"),
            "interactive.sections[0].title: must not be empty"
        );
        let title = list(json!([{"title": "A", "rows": [{"id": "a", "title": "t".repeat(25)}]}]));
        assert_eq!(
            refusal(title, "Pick"),
            "interactive.sections[0].rows[0].title: at most 24 characters (has 25)"
        );
        let description = list(
            json!([{"title": "A", "rows": [{"id": "a", "title": "T", "description": "d".repeat(73)}]}]),
        );
        assert_eq!(
            refusal(description, "Pick"),
            "interactive.sections[0].rows[0].description: at most 72 characters (has 73)"
        );
        let id = list(json!([{"title": "A", "rows": [{"id": "i".repeat(201), "title": "T"}]}]));
        assert_eq!(
            refusal(id, "Pick"),
            "interactive.sections[0].rows[0].id: at most 200 characters (has 201)"
        );
        let twice = list(json!([{"title": "A", "rows": rows(2)}, {"title": "B", "rows": rows(1)}]));
        assert!(refusal(twice, "Pick").starts_with("interactive.sections[1].rows[0].id: \"r0\""));
    }

    #[test]
    fn a_link_button_has_a_short_label_and_a_web_address() {
        let cta =
            |text: &str, url: &str| json!({"type": "cta_url", "display_text": text, "url": url});
        assert_eq!(
            refusal(cta(&"l".repeat(21), "https://example.com"), "Go"),
            "interactive.display_text: at most 20 characters (has 21)"
        );
        assert_eq!(
            refusal(cta("Open", "javascript:alert(1)"), "Go"),
            "interactive.url: must be an http or https address"
        );
        assert!(
            refusal(cta("Open", "example.com"), "Go")
                .starts_with("interactive.url: not an address")
        );
        assert_eq!(
            refusal(cta("Open", ""), "Go"),
            "interactive.url: not an address (relative URL without a base)"
        );
        assert!(passes(cta("Open", "http://example.com"), "Go"));
    }

    #[test]
    fn replies_are_the_customers_never_sent() {
        let reply = json!({"type": "button_reply", "id": "yes", "title": "Yes"});
        assert!(refusal(reply.clone(), "Yes").starts_with("interactive.type:"));
        let reply = parse(reply);
        assert!(reply.is_reply());
        assert_eq!(reply.reply_id(), Some("yes"));
        assert!(reply.check_reply().is_ok());
        assert!(parse(buttons(1)).check_reply().is_err());
        let long = parse(json!({"type": "list_reply", "id": "", "title": "T"}));
        assert!(matches!(
            long.check_reply(),
            Err(ChatError::Invalid(m)) if m == "reply.id: must not be empty"
        ));
    }

    #[test]
    fn the_wire_shape_is_the_apis() {
        let sent = parse(buttons(1)).with_body("Pick one");
        assert_eq!(
            serde_json::to_value(&sent).unwrap(),
            json!({"type": "button", "body": "Pick one", "buttons": [{"id": "b0", "title": "Button 0"}]})
        );
        let reply = Interactive::ListReply {
            id: "r1".into(),
            title: "Row 1".into(),
            description: None,
        };
        assert_eq!(
            serde_json::to_value(&reply).unwrap(),
            json!({"type": "list_reply", "id": "r1", "title": "Row 1"})
        );
    }
}
