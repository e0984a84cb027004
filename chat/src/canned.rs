//! Canned answers: texts agents insert into a reply, global or for one WhatsApp account,
//! with placeholders filled from the conversation.
//!
//! Placeholders: `{{customer_name}}`, `{{customer_phone}}`, `{{agent_name}}`,
//! `{{reference}}`. A value that is not known (a web visitor without a name) becomes empty
//! text. Supervisors and admins manage the answers; agents see the global ones and those of
//! their accounts.

use crate::Inbox;
use crate::clock::Millis;
use crate::model::{ChatError, Viewer};
use serde::{Deserialize, Serialize};
use sqlx::Row;

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
fn placeholders(body: &str) -> Vec<&str> {
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

fn manager(viewer: &Viewer) -> Result<(), ChatError> {
    if viewer.role.sees_everything() {
        Ok(())
    } else {
        Err(ChatError::Forbidden(
            "only supervisors and admins manage canned answers".into(),
        ))
    }
}

impl Inbox {
    fn check_canned(&self, new: &NewCannedAnswer) -> Result<(), ChatError> {
        let title = new.title.trim();
        if title.is_empty() || title.chars().count() > 100 {
            return Err(ChatError::Invalid(
                "a canned answer needs a title of 1 to 100 characters".into(),
            ));
        }
        if new.body.trim().is_empty() || new.body.chars().count() > crate::MAX_TEXT {
            return Err(ChatError::Invalid(
                "a canned answer needs a text of 1 to 4096 characters".into(),
            ));
        }
        if let Some(a) = &new.account
            && self.account(a).is_none()
        {
            return Err(ChatError::Invalid(format!(
                "unknown WhatsApp account {a:?}"
            )));
        }
        for p in placeholders(&new.body) {
            if !PLACEHOLDERS.contains(&p) {
                return Err(ChatError::Invalid(format!(
                    "unknown placeholder {{{{{p}}}}}; valid: {}",
                    PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{{{p}}}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Creates a canned answer (supervisors and admins).
    pub async fn create_canned_answer(
        &self,
        viewer: &Viewer,
        new: &NewCannedAnswer,
    ) -> Result<CannedAnswer, ChatError> {
        manager(viewer)?;
        self.check_canned(new)?;
        let now = self.now();
        let id: i64 = sqlx::query(
            "INSERT INTO canned_answers (account, title, body, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(new.account.as_deref())
        .bind(new.title.trim())
        .bind(new.body.trim())
        .bind(viewer.agent_id)
        .bind(now)
        .fetch_one(self.store().pool())
        .await?
        .get(0);
        Ok(CannedAnswer {
            id,
            account: new.account.clone(),
            title: new.title.trim().into(),
            body: new.body.trim().into(),
            updated_at: now,
        })
    }

    /// Replaces a canned answer (supervisors and admins).
    pub async fn update_canned_answer(
        &self,
        viewer: &Viewer,
        id: i64,
        new: &NewCannedAnswer,
    ) -> Result<CannedAnswer, ChatError> {
        manager(viewer)?;
        self.check_canned(new)?;
        let now = self.now();
        let done = sqlx::query(
            "UPDATE canned_answers SET account = $1, title = $2, body = $3, updated_at = $4 WHERE id = $5",
        )
        .bind(new.account.as_deref())
        .bind(new.title.trim())
        .bind(new.body.trim())
        .bind(now)
        .bind(id)
        .execute(self.store().pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(ChatError::NotFound("canned answer"));
        }
        Ok(CannedAnswer {
            id,
            account: new.account.clone(),
            title: new.title.trim().into(),
            body: new.body.trim().into(),
            updated_at: now,
        })
    }

    /// Deletes a canned answer (supervisors and admins).
    pub async fn delete_canned_answer(&self, viewer: &Viewer, id: i64) -> Result<(), ChatError> {
        manager(viewer)?;
        let done = sqlx::query("DELETE FROM canned_answers WHERE id = $1")
            .bind(id)
            .execute(self.store().pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(ChatError::NotFound("canned answer"));
        }
        Ok(())
    }

    /// The canned answers the viewer may use, by title: global ones and those of their
    /// accounts; with `account`, only global ones and that account's.
    pub async fn canned_answers(
        &self,
        viewer: &Viewer,
        account: Option<&str>,
    ) -> Result<Vec<CannedAnswer>, ChatError> {
        let rows = sqlx::query(
            "SELECT id, account, title, body, updated_at FROM canned_answers ORDER BY title, id",
        )
        .fetch_all(self.store().pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| CannedAnswer {
                id: r.get("id"),
                account: crate::store::opt_str(r, "account"),
                title: r.get("title"),
                body: r.get("body"),
                updated_at: r.get("updated_at"),
            })
            .filter(|c| match &c.account {
                None => true,
                Some(a) => account.is_none_or(|x| x == a) && viewer.may_use_account(a),
            })
            .collect())
    }

    /// A canned answer's text with its placeholders filled for conversation `id`.
    pub async fn render_canned_answer(
        &self,
        viewer: &Viewer,
        canned: i64,
        id: i64,
    ) -> Result<String, ChatError> {
        let c = self.conversation(viewer, id).await?.conversation;
        let answer = self
            .canned_answers(viewer, c.account.as_deref())
            .await?
            .into_iter()
            .find(|a| a.id == canned)
            .ok_or(ChatError::NotFound("canned answer"))?;
        let agent = self.agent(viewer.agent_id).await?;
        let values = [
            ("customer_name", c.contact_name.as_deref().unwrap_or("")),
            ("customer_phone", c.contact_phone.as_deref().unwrap_or("")),
            ("agent_name", agent.display_name.as_str()),
            ("reference", c.reference.as_str()),
        ];
        Ok(fill(&answer.body, &values))
    }
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
