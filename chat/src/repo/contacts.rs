//! The SQL of contacts (the customers) and their identities on each channel: a WhatsApp id,
//! a web visitor's token hash.

use crate::clock::Millis;
use crate::model::{ContactIdentity, ContactProfile, StoreError};
use crate::store::{Tx, opt_str};
use sqlx::Row;

/// The channel name of WhatsApp identities.
pub(crate) const WHATSAPP: &str = "whatsapp";

/// A contact identity as found: its id, its contact, and the contact's name.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    pub(crate) id: i64,
    pub(crate) contact: i64,
    pub(crate) name: Option<String>,
}

/// The identity of WhatsApp id `wa_id`.
pub(crate) async fn whatsapp_identity(
    tx: &mut Tx,
    wa_id: &str,
) -> Result<Option<Identity>, StoreError> {
    let row = sqlx::query(
        "SELECT i.id, i.contact_id, k.name FROM contact_identities i \
         JOIN contacts k ON k.id = i.contact_id WHERE i.channel = $1 AND i.external_id = $2",
    )
    .bind(WHATSAPP)
    .bind(wa_id)
    .fetch_optional(tx.conn())
    .await?;
    Ok(row.map(|r| Identity {
        id: r.get("id"),
        contact: r.get("contact_id"),
        name: opt_str(&r, "name"),
    }))
}

/// A new contact.
pub(crate) async fn insert(
    tx: &mut Tx,
    name: Option<&str>,
    phone: Option<&str>,
    now: Millis,
) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO contacts (name, phone, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(phone)
    .bind(now)
    .fetch_one(tx.conn())
    .await?
    .get(0))
}

/// A new identity of `contact` on `channel`; `None` when the channel's id is taken already
/// (another process created it first).
pub(crate) async fn insert_identity(
    tx: &mut Tx,
    contact: i64,
    channel: &str,
    external_id: &str,
    now: Millis,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO contact_identities (contact_id, channel, external_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
    )
    .bind(contact)
    .bind(channel)
    .bind(external_id)
    .bind(now)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.get(0)))
}

/// Deletes contact `id` (one that turned out not to be needed).
pub(crate) async fn delete(tx: &mut Tx, id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM contacts WHERE id = $1")
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Gives contact `id` the name `name` unless it has one.
pub(crate) async fn name_if_unnamed(tx: &mut Tx, id: i64, name: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE contacts SET name = $1 WHERE id = $2 AND name IS NULL")
        .bind(name)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Contact `id` speaks `language` (an ISO 639-1 code, `deflect_config::language_code`).
pub(crate) async fn set_language(tx: &mut Tx, id: i64, language: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE contacts SET language = $1 WHERE id = $2")
        .bind(language)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Records that contact `id` is welcomed now, unless they were welcomed after `since`;
/// returns whether to welcome them.
pub(crate) async fn welcome(
    tx: &mut Tx,
    id: i64,
    since: Millis,
    now: Millis,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE contacts SET welcomed_at = $1 WHERE id = $2 \
         AND (welcomed_at IS NULL OR welcomed_at <= $3)",
    )
    .bind(now)
    .bind(id)
    .bind(since)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The WhatsApp id conversation `conversation` is reached on.
pub(crate) async fn whatsapp_id_of(
    tx: &mut Tx,
    conversation: i64,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query(
        "SELECT i.external_id FROM conversations c JOIN contact_identities i \
         ON i.id = c.identity_id WHERE c.id = $1",
    )
    .bind(conversation)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.get::<String, _>(0)))
}

/// Contact identity `identity` now belongs to contact `contact`.
pub(crate) async fn move_identity(
    tx: &mut Tx,
    identity: i64,
    contact: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE contact_identities SET contact_id = $1 WHERE id = $2")
        .bind(contact)
        .bind(identity)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Contact `id`'s phone becomes its WhatsApp number `phone` (replies go there); a different
/// number the customer typed into a form is kept beside it.
pub(crate) async fn set_whatsapp_phone(
    tx: &mut Tx,
    id: i64,
    phone: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE contacts SET form_phone = CASE WHEN phone IS NOT NULL AND phone <> $1 \
         THEN phone ELSE form_phone END, phone = $1 WHERE id = $2",
    )
    .bind(phone)
    .bind(id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A new web identity (the visitor token's hash `token_hash`) of contact `contact`.
pub(crate) async fn insert_web_identity(
    tx: &mut Tx,
    contact: i64,
    token_hash: &str,
    now: Millis,
) -> Result<i64, StoreError> {
    Ok(sqlx::query(
        "INSERT INTO contact_identities (contact_id, channel, external_id, created_at) \
         VALUES ($1, 'web', $2, $3) RETURNING id",
    )
    .bind(contact)
    .bind(token_hash)
    .bind(now)
    .fetch_one(tx.conn())
    .await?
    .get(0))
}

/// Contact `id` is named `name`.
pub(crate) async fn rename(tx: &mut Tx, id: i64, name: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE contacts SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(id)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Contact `id` as the contact panel shows it: profile and identities (WhatsApp ids, widget
/// visits by site — never a visitor's token hash).
pub(crate) async fn profile(
    store: &crate::store::Store,
    id: i64,
) -> Result<Option<ContactProfile>, StoreError> {
    let Some(r) = sqlx::query(
        "SELECT id, name, phone, form_phone, language, created_at FROM contacts WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(store.pool())
    .await?
    else {
        return Ok(None);
    };
    let rows = sqlx::query(
        "SELECT i.channel, i.external_id, i.created_at, v.site FROM contact_identities i \
         LEFT JOIN web_visitors v ON v.identity_id = i.id AND i.channel = 'web' \
         WHERE i.contact_id = $1 ORDER BY i.id",
    )
    .bind(id)
    .fetch_all(store.pool())
    .await?;
    let identities = rows
        .iter()
        .filter_map(|i| {
            let since: Millis = i.get("created_at");
            match i.get::<String, _>("channel").as_str() {
                WHATSAPP => Some(ContactIdentity::Whatsapp {
                    wa_id: i.get("external_id"),
                    since,
                }),
                "web" => opt_str(i, "site").map(|site| ContactIdentity::Web { site, since }),
                _ => None,
            }
        })
        .collect();
    Ok(Some(ContactProfile {
        id: r.get("id"),
        name: opt_str(&r, "name"),
        phone: opt_str(&r, "phone"),
        form_phone: opt_str(&r, "form_phone"),
        language: opt_str(&r, "language"),
        created_at: r.get("created_at"),
        identities,
    }))
}
