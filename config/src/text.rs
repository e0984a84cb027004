//! Texts with variables — `Hello {{customer_name}}, your reference is {{reference}}` — for
//! canned answers and every automatic message: one renderer, and one check that runs when
//! the text is configured or saved, so an unknown variable is reported with its key (or to
//! the user saving it), never sent to a customer.
//!
//! The syntax is Jinja's (`{{ name }}`; `{% … %}` and `{# … #}` are template syntax too),
//! rendered by [minijinja](https://docs.rs/minijinja) — well kept, no dependencies with
//! default features off, and it lists a template's variables (`undeclared_variables`),
//! which is the check. Texts are plain (never HTML-escaped) and kept exactly, trailing
//! newline included; a variable without a value (a web visitor without a name) renders as
//! empty text.

use minijinja::Environment;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::Value;

/// The variables an automatic message about a conversation may use (a queue's
/// `auto_reply`): the customer's name and number as known, the conversation's queue and
/// its reference.
pub const CONVERSATION_VARIABLES: &[&str] =
    &["customer_name", "customer_phone", "queue", "reference"];

/// The variables of a queue position notice (`[inbox.automations] queue_message`): the
/// conversation's ([`CONVERSATION_VARIABLES`]), the customer's position in the queue (1: next)
/// and the estimated wait (`about 5 minutes`).
pub const QUEUE_VARIABLES: &[&str] = &[
    "customer_name",
    "customer_phone",
    "queue",
    "reference",
    "position",
    "wait",
];

/// Why a text cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Not valid template syntax (an unclosed `{{`, say).
    #[error("{0}")]
    Syntax(String),
    /// A variable that is not offered where the text is used.
    #[error("unknown variable {{{{{name}}}}}; valid: {valid}")]
    UnknownVariable {
        /// The variable.
        name: String,
        /// The variables offered, as `{{a}}, {{b}}`.
        valid: String,
    },
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Texts are kept exactly: Jinja drops a template's last newline by default. (Building
    // fails only on custom delimiters, and these are the defaults.)
    let syntax = SyntaxConfig::builder().keep_trailing_newline(true).build();
    if let Ok(syntax) = syntax {
        env.set_syntax(syntax);
    }
    env
}

/// Checks that `text` is valid and uses only `variables`.
pub fn check_text(text: &str, variables: &[&str]) -> Result<(), TextError> {
    let env = environment();
    let template = env
        .template_from_str(text)
        .map_err(|e| TextError::Syntax(describe(&e)))?;
    let mut used: Vec<String> = template.undeclared_variables(false).into_iter().collect();
    used.sort();
    match used.into_iter().find(|v| !variables.contains(&v.as_str())) {
        None => Ok(()),
        Some(name) => Err(TextError::UnknownVariable {
            name,
            valid: variables
                .iter()
                .map(|v| format!("{{{{{v}}}}}"))
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// `text` with its variables filled from `values` (name → value); a variable without a
/// value is empty. A text that passed [`check_text`] always renders.
pub fn render_text(text: &str, values: &[(&str, &str)]) -> Result<String, TextError> {
    let values = Value::from_pairs(values.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    environment()
        .render_str(text, values)
        .map_err(|e| TextError::Syntax(describe(&e)))
}

/// The error's kind and detail, with its line when it has one.
fn describe(e: &minijinja::Error) -> String {
    let detail = e.detail().unwrap_or("");
    match e.line() {
        Some(line) => format!("{} on line {line}: {detail}", e.kind()),
        None => format!("{}: {detail}", e.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARS: &[&str] = &["customer_name", "reference"];

    #[test]
    fn variables_are_filled_and_missing_ones_are_empty() {
        let v = [("customer_name", "Ann"), ("reference", "K7Q2MX")];
        assert_eq!(
            render_text("Hi {{customer_name}}, ref {{ reference }}.", &v).unwrap(),
            "Hi Ann, ref K7Q2MX."
        );
        assert_eq!(render_text("Hi {{customer_name}}!", &[]).unwrap(), "Hi !");
    }

    #[test]
    fn an_unknown_name_can_fall_back_to_a_word() {
        let text = "Hi {{ customer_name or \"there\" }}!";
        assert_eq!(check_text(text, VARS), Ok(()));
        assert_eq!(
            render_text(text, &[("customer_name", "")]).unwrap(),
            "Hi there!"
        );
        assert_eq!(render_text(text, &[]).unwrap(), "Hi there!");
        let v = [("customer_name", "Ann")];
        assert_eq!(render_text(text, &v).unwrap(), "Hi Ann!");
    }

    #[test]
    fn text_is_kept_exactly_never_escaped() {
        let v = [("customer_name", "<Ann & Bob>")];
        assert_eq!(
            render_text("  {{customer_name}} \"ok\"\n\n", &v).unwrap(),
            "  <Ann & Bob> \"ok\"\n\n"
        );
    }

    #[test]
    fn an_unknown_variable_is_named_with_the_valid_ones() {
        let e = check_text("Hi {{customer_name}} from {{agent}}", VARS).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown variable {{agent}}; valid: {{customer_name}}, {{reference}}"
        );
        assert_eq!(check_text("Hi {{ customer_name }}", VARS), Ok(()));
        assert_eq!(check_text("No variables at all.", VARS), Ok(()));
    }

    #[test]
    fn bad_syntax_is_refused_with_its_line() {
        let e = check_text("Hi\n{{customer_name", VARS).unwrap_err();
        assert!(matches!(e, TextError::Syntax(_)), "{e:?}");
        assert!(e.to_string().contains("line 2"), "{e}");
    }
}
