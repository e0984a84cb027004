//! `[database]`: where conversations live — SQLite (embedded default) or PostgreSQL.

use crate::Problems;
use crate::secret::REDACTED;
use crate::value::string_serde;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// `[database]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`. Defaults to
    /// `sqlite://<data_dir>/deflect.db`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<DatabaseUrl>,
    /// Connections in the pool.
    pub max_connections: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 8,
        }
    }
}

impl DatabaseConfig {
    pub(crate) fn validate(&self, p: &mut Problems) {
        if self.max_connections == 0 {
            p.push("database.max_connections", "must be at least 1");
        }
    }
}

/// Database kind, from the URL scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatabaseKind {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// A database URL. Its password is shown as `<redacted>` everywhere but
/// [`DatabaseUrl::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    url: String,
    kind: DatabaseKind,
}

impl DatabaseUrl {
    /// The database kind.
    pub fn kind(&self) -> DatabaseKind {
        self.kind
    }

    /// The URL with its password, for the database driver only.
    pub fn expose(&self) -> &str {
        &self.url
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let scheme = s.split_once(':').map(|(a, _)| a).unwrap_or_default();
        let kind = match scheme {
            "sqlite" => DatabaseKind::Sqlite,
            "postgres" | "postgresql" => DatabaseKind::Postgres,
            _ => {
                return Err(
                    "unsupported database URL; valid: \"sqlite://PATH\" or \"postgres://USER@HOST/DATABASE\""
                        .into(),
                );
            }
        };
        if kind == DatabaseKind::Postgres && url::Url::parse(s).is_err() {
            return Err(
                "not a valid postgres:// URL (percent-encode special characters in the password)"
                    .into(),
            );
        }
        Ok(Self {
            url: s.to_string(),
            kind,
        })
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match url::Url::parse(&self.url) {
            Ok(mut u) if u.password().is_some() => {
                // Only fails for URLs that cannot have a password, which this one has.
                let _ = u.set_password(Some(REDACTED));
                f.write_str(u.as_str())
            }
            _ => f.write_str(&self.url),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}
string_serde!(
    DatabaseUrl,
    "a database URL such as \"sqlite://data/deflect.db\""
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_redacted_when_shown() {
        let u: DatabaseUrl = "postgres://deflect:s3cret@db.internal:5432/deflect"
            .parse()
            .unwrap();
        assert_eq!(u.kind(), DatabaseKind::Postgres);
        assert!(!u.to_string().contains("s3cret"));
        assert!(!format!("{u:?}").contains("s3cret"));
        assert!(u.expose().contains("s3cret"));
        assert!("mysql://x".parse::<DatabaseUrl>().is_err());
    }
}
