//! Configuration problems: every one found, each with its key path, the bad value where it
//! is not secret, and what would be valid.

use std::fmt;

/// One problem in the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Key path such as `whatsapp.accounts[0].provider`, or the file for syntax errors.
    pub path: String,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// The configuration could not be used. Holds every problem found, in file order where
/// known. The process should print them all and exit with [`ConfigError::EXIT_CODE`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// All problems, never empty.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// Exit status for a configuration that cannot be used (EX_USAGE).
    pub const EXIT_CODE: i32 = 64;

    pub(crate) fn single(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                path: path.into(),
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "the configuration has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// Collects problems during validation. Paths are written the way operators read them:
/// `section.key`, `list[index].key`.
#[derive(Debug, Default)]
pub struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    /// Records a problem at `path`.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.list.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub(crate) fn into_vec(self) -> Vec<Problem> {
        self.list
    }

    /// Records a problem for every name that occurs more than once in `names`
    /// (`list[i].name`), so list entries can be referred to by name.
    pub fn unique_names<'a>(&mut self, list: &str, names: impl IntoIterator<Item = &'a str>) {
        let mut seen: Vec<&str> = Vec::new();
        for (i, name) in names.into_iter().enumerate() {
            if seen.contains(&name) {
                self.push(
                    format!("{list}[{i}].name"),
                    format!("{name:?} is used by an earlier entry; names must be unique"),
                );
            }
            seen.push(name);
        }
    }

    /// Records a problem unless `name` is a usable identifier: it appears in URLs, metrics
    /// labels and environment variable names.
    pub fn identifier(&mut self, path: impl Into<String>, name: &str) {
        if name.is_empty() {
            self.push(
                path,
                "required: a name of 1–64 characters a-z, 0-9, '-' and '_'",
            );
            return;
        }
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && name.as_bytes()[0].is_ascii_alphanumeric();
        if !ok {
            self.push(
                path,
                format!(
                    "{name:?} is not a valid name; use 1–64 characters a-z, 0-9, '-' and '_', \
                     starting with a letter or digit"
                ),
            );
        }
    }

    /// Records a problem unless `reference` names one of `names` (`what` is the kind of
    /// thing named, for the message).
    pub fn reference<'a>(
        &mut self,
        path: impl Into<String>,
        reference: &str,
        what: &str,
        names: impl IntoIterator<Item = &'a str>,
    ) {
        let names: Vec<&str> = names.into_iter().collect();
        if !names.contains(&reference) {
            self.unknown_reference(path, reference, what, &names);
        }
    }

    /// Records that `reference` names nothing: the valid `names` of the `what` it should
    /// name are listed.
    pub fn unknown_reference(
        &mut self,
        path: impl Into<String>,
        reference: &str,
        what: &str,
        names: &[&str],
    ) {
        self.push(
            path,
            format!(
                "no {what} is named {reference:?}; valid: {}",
                if names.is_empty() {
                    "(none configured)".to_string()
                } else {
                    names.join(", ")
                }
            ),
        );
    }
}
