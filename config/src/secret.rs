//! Secrets: values that are never printed, logged or echoed in an error.
//!
//! A secret key `K` can be set in the file (`K = "…"`), from the environment
//! (`DEFLECT_…__K`), or read from a file (`K_file = "/run/secrets/…"`, also from the
//! environment). The loader resolves `K_file` before deserialization, so the typed tree only
//! holds [`Secret`] values.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// What a secret looks like wherever it would otherwise be shown.
pub const REDACTED: &str = "<redacted>";

/// Keys whose values are secrets, wherever they appear in the tree. Each also accepts a
/// `<key>_file` variant holding a path to read the secret from.
pub const SECRET_KEYS: &[&str] = &[
    "access_token",
    "app_secret",
    "verify_token",
    "auth_token",
    "password",
    "signing_secret",
    "url_password",
    "secret_access_key",
    "auth_secret",
];

/// Whether a key holds a secret (so its value must never be echoed).
pub fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.contains(&key) || key == "url"
}

/// A secret string. `Debug`, `Display` and `Serialize` show [`REDACTED`]; only
/// [`Secret::expose`] gives the value, to the one place that must send it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call it only where the value leaves the process for the party
    /// that should receive it (an `Authorization` header, an HMAC key).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True for an empty secret.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.to_string(), REDACTED);
        assert_eq!(s.expose(), "hunter2");
    }
}
