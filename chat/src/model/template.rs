//! Message templates as the inbox knows them, whichever provider they come from (Meta's
//! WhatsApp Business Account, Twilio's Content API): their text with its parameters, header
//! and buttons ([`Template`]); what an agent fills in to send one ([`TemplateValues`]); and
//! the check that turns both into the text the customer reads ([`Template::fill`]).
//!
//! A parameter is a placeholder in the text: positional `{{1}}`, `{{2}}`, … or named
//! `{{first_name}}` (letters, digits and underscores).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The status a template must have to be sent.
pub const APPROVED: &str = "APPROVED";

/// The most characters a parameter's value may have (Meta's limit for a body parameter).
pub const MAX_PARAMETER: usize = 1024;

/// One approved (or pending, rejected, …) message template of an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// The WhatsApp account it belongs to.
    pub account: String,
    /// Its name (Meta's template name; Twilio's approval name, else its friendly name).
    pub name: String,
    /// Its language code (`en`, `en_US`, …).
    pub language: String,
    /// Upper case: `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, `UNSUBMITTED`, ….
    pub status: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`, when known.
    pub category: Option<String>,
    /// Its header, if it has one.
    pub header: Option<TemplateHeader>,
    /// The body text with its placeholders.
    pub body: String,
    /// The body's parameters in the order they first appear (`1`, `2` or names).
    pub parameters: Vec<String>,
    /// Its footer, if it has one.
    pub footer: Option<String>,
    /// Its buttons, in order (their index is their position).
    pub buttons: Vec<TemplateButton>,
    /// Twilio: the Content SID (`HX…`) it is sent by.
    pub content_sid: Option<String>,
    /// Example or default values of its parameters, as the provider gives them.
    pub examples: BTreeMap<String, String>,
}

/// A template's header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TemplateHeader {
    /// A line of text, with at most one parameter.
    Text {
        /// The text with its placeholder.
        text: String,
        /// Its parameter, if it has one.
        parameter: Option<String>,
    },
    /// A picture, video or document, given by link when sending.
    Media {
        /// Which.
        format: HeaderMedia,
    },
}

/// The kind of a media header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeaderMedia {
    /// A picture.
    Image,
    /// A video.
    Video,
    /// A document (PDF).
    Document,
}

impl HeaderMedia {
    /// Its name in Meta's send format (`image`, `video`, `document`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Document => "document",
        }
    }
}

/// A template's button.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TemplateButton {
    /// A reply the customer taps.
    QuickReply {
        /// Its label.
        text: String,
    },
    /// Opens a web page; its URL may end in a parameter.
    Url {
        /// Its label.
        text: String,
        /// The URL with its placeholder.
        url: String,
        /// Its parameter, if the URL has one.
        parameter: Option<String>,
    },
    /// Calls a number.
    PhoneNumber {
        /// Its label.
        text: String,
        /// The number.
        phone_number: String,
    },
    /// A kind this version does not send (copy code, one-time password, flow, …).
    Other {
        /// Its label.
        text: String,
    },
}

/// How an account's last template listing went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRefresh {
    /// The account.
    pub account: String,
    /// When the last listing was tried (ms).
    pub attempted_at: i64,
    /// When a listing last succeeded (ms): the cached templates are from then.
    pub succeeded_at: Option<i64>,
    /// Why the last listing failed; `None` when it succeeded. The templates of the last
    /// success are kept.
    pub error: Option<String>,
}

/// What an agent fills in to send a template (the API's `template`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateValues {
    /// The template's name.
    pub name: String,
    /// Its language.
    pub language: String,
    /// The body's parameters: a list for positional ones (`{{1}}` first), or an object by
    /// parameter name (named, or positional as `"1"`).
    #[serde(default)]
    pub parameters: Parameters,
    /// The header's value: its text parameter, or its media's link.
    #[serde(default)]
    pub header: Option<HeaderValue>,
    /// The values of URL buttons' parameters.
    #[serde(default)]
    pub buttons: Vec<ButtonValue>,
}

/// Body parameters, positional or by name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Parameters {
    /// `{{1}}`, `{{2}}`, … in order.
    List(Vec<String>),
    /// By parameter name (`"1"` for `{{1}}`).
    Named(BTreeMap<String, String>),
}

impl Default for Parameters {
    fn default() -> Self {
        Self::List(Vec::new())
    }
}

/// The value of a template's header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderValue {
    /// A text header's parameter.
    #[serde(default)]
    pub text: Option<String>,
    /// A media header's link (https).
    #[serde(default)]
    pub link: Option<String>,
}

/// The value of a URL button's parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ButtonValue {
    /// The button's index (its position among the template's buttons, from 0).
    pub index: usize,
    /// The value that completes its URL.
    pub text: String,
}

/// A template filled in: what the provider is sent and what the customer reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filled {
    /// Positional body values (`{{1}}` first), for a positional template.
    pub positional: Vec<String>,
    /// Named body values in the template's order, for a named one.
    pub named: Vec<(String, String)>,
    /// The header's value.
    pub header: Option<FilledHeader>,
    /// URL buttons' values by index.
    pub url_buttons: Vec<(usize, String)>,
    /// Every value by parameter name (Twilio's `ContentVariables`).
    pub variables: BTreeMap<String, String>,
    /// The text the customer reads: header, body and footer, each on its own lines.
    pub text: String,
}

/// A filled header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilledHeader {
    /// A text header's parameter, with its name.
    Text {
        /// The parameter's name.
        name: String,
        /// Its value.
        value: String,
    },
    /// A media header's link.
    Media {
        /// Which media.
        format: HeaderMedia,
        /// Its link.
        link: String,
    },
}

/// The placeholders of `text` in the order they first appear, each once.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, _, name) in scan(text) {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// `text` with each placeholder replaced by its value (a placeholder without one stays).
pub fn render(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, name) in scan(text) {
        out.push_str(&text[at..start]);
        match value(name) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&text[start..end]),
        }
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// The placeholders of `text`: start, end and trimmed name of each `{{ name }}`.
fn scan(text: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| from + i) {
        let Some(close) = text[open + 2..].find("}}").map(|i| open + 2 + i) else {
            break;
        };
        let name = text[open + 2..close].trim();
        let valid =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if valid {
            out.push((open, close + 2, name));
            from = close + 2;
        } else {
            from = open + 2;
        }
    }
    out
}

impl Template {
    /// Whether its parameters are positional (`{{1}}`) rather than named.
    pub fn positional(&self) -> bool {
        self.parameters
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    }

    /// The text the customer reads with `value` for each parameter: header, body and
    /// footer, separated by a blank line.
    pub fn text(
        &self,
        header: impl Fn(&str) -> Option<String>,
        body: impl Fn(&str) -> Option<String>,
    ) -> String {
        let mut parts = Vec::new();
        if let Some(TemplateHeader::Text { text, .. }) = &self.header {
            parts.push(render(text, header));
        }
        parts.push(render(&self.body, body));
        if let Some(f) = self.footer.as_ref().filter(|f| !f.is_empty()) {
            parts.push(f.clone());
        }
        parts.retain(|p| !p.trim().is_empty());
        parts.join("\n\n")
    }

    /// Checks `values` against the template and fills it in; a missing, empty, extra or
    /// too long value is [`super::ChatError::Invalid`] naming its field
    /// (`template.parameters.first_name`, `template.header.link`, `template.buttons[0]`).
    pub fn fill(&self, values: &TemplateValues) -> Result<Filled, super::ChatError> {
        let invalid =
            |field: String, why: &str| super::ChatError::Invalid(format!("{field}: {why}"));
        let given: BTreeMap<String, (String, String)> = match &values.parameters {
            Parameters::List(list) => {
                if !self.positional() && !list.is_empty() {
                    return Err(invalid(
                        "template.parameters".into(),
                        "this template's parameters are named: give an object by name",
                    ));
                }
                (list.iter().enumerate())
                    .map(|(i, v)| {
                        let name = (i + 1).to_string();
                        (name, (format!("template.parameters[{i}]"), v.clone()))
                    })
                    .collect()
            }
            Parameters::Named(map) => (map.iter())
                .map(|(k, v)| (k.clone(), (format!("template.parameters.{k}"), v.clone())))
                .collect(),
        };
        for (name, (field, _)) in &given {
            if !self.parameters.contains(name) {
                return Err(invalid(
                    field.clone(),
                    &format!(
                        "the template has no such parameter; its parameters: {}",
                        list_or_none(&self.parameters)
                    ),
                ));
            }
        }
        let mut variables = BTreeMap::new();
        for (i, name) in self.parameters.iter().enumerate() {
            let field = match &values.parameters {
                Parameters::List(_) if self.positional() => format!("template.parameters[{i}]"),
                _ => format!("template.parameters.{name}"),
            };
            let value = given.get(name).map(|(_, v)| v.trim()).unwrap_or_default();
            check_value(&field, value)?;
            variables.insert(name.clone(), value.to_string());
        }
        let header = self.fill_header(values.header.as_ref(), &mut variables)?;
        let url_buttons = self.fill_buttons(&values.buttons, &mut variables)?;
        let (positional, named) = if self.positional() {
            let mut p: Vec<(usize, String)> = (self.parameters.iter())
                .filter_map(|n| Some((n.parse::<usize>().ok()?, variables.get(n)?.clone())))
                .collect();
            p.sort();
            (p.into_iter().map(|(_, v)| v).collect(), Vec::new())
        } else {
            let n = (self.parameters.iter())
                .map(|n| (n.clone(), variables.get(n).cloned().unwrap_or_default()))
                .collect();
            (Vec::new(), n)
        };
        let header_value = match &header {
            Some(FilledHeader::Text { value, .. }) => Some(value.clone()),
            _ => None,
        };
        let text = self.text(|_| header_value.clone(), |n| variables.get(n).cloned());
        Ok(Filled {
            positional,
            named,
            header,
            url_buttons,
            variables,
            text,
        })
    }

    fn fill_header(
        &self,
        value: Option<&HeaderValue>,
        variables: &mut BTreeMap<String, String>,
    ) -> Result<Option<FilledHeader>, super::ChatError> {
        let invalid = |field: &str, why: &str| super::ChatError::Invalid(format!("{field}: {why}"));
        let text = value.and_then(|v| v.text.as_deref()).map(str::trim);
        let link = value.and_then(|v| v.link.as_deref()).map(str::trim);
        match &self.header {
            Some(TemplateHeader::Text {
                parameter: Some(name),
                ..
            }) => {
                if link.is_some() {
                    return Err(invalid(
                        "template.header.link",
                        "the template's header is text",
                    ));
                }
                let value = text.unwrap_or_default();
                check_value("template.header.text", value)?;
                if self.content_sid.is_some() {
                    variables.insert(name.clone(), value.to_string());
                }
                Ok(Some(FilledHeader::Text {
                    name: name.clone(),
                    value: value.to_string(),
                }))
            }
            Some(TemplateHeader::Media { format }) => {
                if text.is_some() {
                    return Err(invalid(
                        "template.header.text",
                        &format!("the template's header is a {}", format.as_str()),
                    ));
                }
                let link = link.unwrap_or_default();
                let ok = url::Url::parse(link)
                    .is_ok_and(|u| u.scheme() == "https" && u.host().is_some());
                if !ok {
                    return Err(invalid(
                        "template.header.link",
                        &format!(
                            "the {} of the header is required, as an https:// URL",
                            format.as_str()
                        ),
                    ));
                }
                Ok(Some(FilledHeader::Media {
                    format: *format,
                    link: link.to_string(),
                }))
            }
            Some(TemplateHeader::Text {
                parameter: None, ..
            })
            | None => {
                if text.is_some() || link.is_some() {
                    return Err(invalid(
                        "template.header",
                        "the template's header takes no value",
                    ));
                }
                Ok(None)
            }
        }
    }

    fn fill_buttons(
        &self,
        values: &[ButtonValue],
        variables: &mut BTreeMap<String, String>,
    ) -> Result<Vec<(usize, String)>, super::ChatError> {
        let mut out = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let takes = matches!(
                self.buttons.get(v.index),
                Some(TemplateButton::Url {
                    parameter: Some(_),
                    ..
                })
            );
            if !takes {
                return Err(super::ChatError::Invalid(format!(
                    "template.buttons[{i}].index: button {} of the template takes no value",
                    v.index
                )));
            }
            if values[..i].iter().any(|o| o.index == v.index) {
                return Err(super::ChatError::Invalid(format!(
                    "template.buttons[{i}].index: button {} is given twice",
                    v.index
                )));
            }
        }
        for (index, b) in self.buttons.iter().enumerate() {
            let TemplateButton::Url {
                parameter: Some(name),
                ..
            } = b
            else {
                continue;
            };
            let value = (values.iter().find(|v| v.index == index))
                .map(|v| v.text.trim())
                .unwrap_or_default();
            check_value(&format!("template.buttons[{index}]"), value)?;
            if self.content_sid.is_some() {
                variables.insert(name.clone(), value.to_string());
            }
            out.push((index, value.to_string()));
        }
        Ok(out)
    }
}

fn check_value(field: &str, value: &str) -> Result<(), super::ChatError> {
    if value.is_empty() {
        return Err(super::ChatError::Invalid(format!("{field}: missing")));
    }
    if value.chars().count() > MAX_PARAMETER {
        return Err(super::ChatError::Invalid(format!(
            "{field}: at most {MAX_PARAMETER} characters"
        )));
    }
    // WhatsApp refuses a parameter with a line break, a tab or more than four spaces in a
    // row: say so before sending.
    if value.contains(['\n', '\r', '\t']) || value.contains("     ") {
        return Err(super::ChatError::Invalid(format!(
            "{field}: WhatsApp takes no line breaks, tabs or more than four spaces in a row in a parameter"
        )));
    }
    Ok(())
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(body: &str) -> Template {
        Template {
            account: "main".into(),
            name: "order_update".into(),
            language: "en_US".into(),
            status: APPROVED.into(),
            category: Some("UTILITY".into()),
            header: None,
            parameters: placeholders(body),
            body: body.into(),
            footer: None,
            buttons: Vec::new(),
            content_sid: None,
            examples: BTreeMap::new(),
        }
    }

    fn values(parameters: Parameters) -> TemplateValues {
        TemplateValues {
            name: "order_update".into(),
            language: "en_US".into(),
            parameters,
            ..TemplateValues::default()
        }
    }

    #[test]
    fn placeholders_are_found_once_in_order_and_odd_braces_are_text() {
        assert_eq!(
            placeholders("Hi {{2}}, {{1}} and {{ 2 }} {{first_name}} {{not valid}} {{}} {{x"),
            ["2", "1", "first_name"]
        );
        assert_eq!(
            render("Hi {{1}}, {{x}}!", |n| (n == "1").then(|| "Ann".into())),
            "Hi Ann, {{x}}!"
        );
    }

    #[test]
    fn positional_values_fill_the_text_the_customer_reads() {
        let mut t = template("Your order {{1}} ships on {{2}}.");
        t.header = Some(TemplateHeader::Text {
            text: "Hello {{1}}".into(),
            parameter: Some("1".into()),
        });
        t.footer = Some("Example Shop".into());
        let mut v = values(Parameters::List(vec!["A-17".into(), "Monday".into()]));
        v.header = Some(HeaderValue {
            text: Some("Ann".into()),
            link: None,
        });
        let f = t.fill(&v).unwrap();
        assert_eq!(f.positional, ["A-17", "Monday"]);
        assert_eq!(
            f.text,
            "Hello Ann\n\nYour order A-17 ships on Monday.\n\nExample Shop"
        );
    }

    #[test]
    fn missing_extra_and_misplaced_values_name_their_field() {
        let t = template("Hi {{first_name}}, order {{order}}.");
        let named = |pairs: &[(&str, &str)]| {
            values(Parameters::Named(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ))
        };
        let err = |v: &TemplateValues| t.fill(v).unwrap_err().to_string();
        assert!(
            err(&named(&[("first_name", "Ann")])).contains("template.parameters.order: missing")
        );
        assert!(
            err(&named(&[("first_name", "Ann"), ("order", "1"), ("x", "2")]))
                .contains("template.parameters.x: the template has no such parameter")
        );
        assert!(
            err(&named(&[("first_name", " "), ("order", "1")]))
                .contains("template.parameters.first_name: missing")
        );
        assert!(err(&values(Parameters::List(vec!["a".into()]))).contains("template.parameters"));
        assert!(
            err(&named(&[("first_name", "Ann\nSmith"), ("order", "1")]))
                .contains("template.parameters.first_name: WhatsApp takes no line breaks")
        );
        let f = t
            .fill(&named(&[("order", "7"), ("first_name", "Ann")]))
            .unwrap();
        assert_eq!(
            f.named,
            [
                ("first_name".to_string(), "Ann".to_string()),
                ("order".into(), "7".into())
            ]
        );
        assert_eq!(f.text, "Hi Ann, order 7.");
        let p = template("{{1}} {{2}}");
        let e = p.fill(&values(Parameters::List(vec![
            "a".into(),
            "b".into(),
            "c".into(),
        ])));
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("template.parameters[2]")
        );
        let e = p.fill(&values(Parameters::List(vec!["a".into()])));
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("template.parameters[1]: missing")
        );
    }

    #[test]
    fn media_headers_need_an_https_link_and_url_buttons_their_value() {
        let mut t = template("Your photo");
        t.header = Some(TemplateHeader::Media {
            format: HeaderMedia::Image,
        });
        t.buttons = vec![
            TemplateButton::QuickReply {
                text: "Thanks".into(),
            },
            TemplateButton::Url {
                text: "Track".into(),
                url: "https://example.com/t/{{1}}".into(),
                parameter: Some("1".into()),
            },
        ];
        let mut v = values(Parameters::default());
        let err = |v: &TemplateValues| t.fill(v).unwrap_err().to_string();
        assert!(err(&v).contains("template.header.link"));
        v.header = Some(HeaderValue {
            text: None,
            link: Some("http://example.com/a.jpg".into()),
        });
        assert!(err(&v).contains("template.header.link"));
        v.header = Some(HeaderValue {
            text: None,
            link: Some("https://example.com/a.jpg".into()),
        });
        assert!(err(&v).contains("template.buttons[1]: missing"));
        v.buttons = vec![ButtonValue {
            index: 0,
            text: "x".into(),
        }];
        assert!(err(&v).contains("template.buttons[0].index"));
        v.buttons = vec![ButtonValue {
            index: 1,
            text: "A-17".into(),
        }];
        let f = t.fill(&v).unwrap();
        assert_eq!(f.url_buttons, [(1, "A-17".to_string())]);
        assert_eq!(
            f.header,
            Some(FilledHeader::Media {
                format: HeaderMedia::Image,
                link: "https://example.com/a.jpg".into()
            })
        );
        assert_eq!(f.text, "Your photo");
    }
}
