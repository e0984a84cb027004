//! The lists admins manage beside the configuration: whitelist entries (who may open a
//! conversation by writing) and FAQ entries (what the FAQ bot answers). Supervisors and
//! admins read them — the configured entries too, marked [`ListSource::Config`], so the
//! whole effective list is in one place; admins add, change and delete the API's.
//!
//! An entry is checked by the configuration's own rules (`deflect_config::
//! check_whitelist_entry`, `FaqEntry::problems`): one owner of the syntax. A refused entry
//! is [`ChatError::Invalid`] with a message starting with the field it is about
//! (`pattern: …`); an entry that is there already, in the API's list or the configuration,
//! is a [`ChatError::Conflict`]. Each change raises its list's revision in the same
//! transaction, which is how every process's copy (`Ctx::listed_numbers`, `Ctx::faq`)
//! learns of it, and is logged with who made it.

use crate::context::Ctx;
use crate::model::{
    ChatError, FaqListEntry, ListSource, MAX_FAQ_ENTRIES, MAX_WHITELIST_ENTRIES, NewFaqEntry,
    NewWhitelistEntry, StoreError, Viewer, WhitelistEntry,
};
use crate::repo;
use crate::repo::list_revisions::{FAQ, WHITELIST};
use deflect_config::{DEFAULT_FAQ_LANGUAGE, FaqEntry, check_whitelist_entry};

fn reader(viewer: &Viewer) -> Result<(), ChatError> {
    if viewer.role.sees_everything() {
        Ok(())
    } else {
        Err(ChatError::Forbidden(
            "only supervisors and admins see the whitelist and the FAQ".into(),
        ))
    }
}

fn admin(viewer: &Viewer) -> Result<(), ChatError> {
    viewer.admin_only("change the whitelist and the FAQ")
}

/// A refused value of `field`.
fn invalid(field: &str, message: impl std::fmt::Display) -> ChatError {
    ChatError::Invalid(format!("{field}: {message}"))
}

/// Checks that `account`, when named, is a configured WhatsApp account.
fn check_account(ctx: &Ctx, account: Option<&str>) -> Result<(), ChatError> {
    match account {
        Some(a) if ctx.account(a).is_none() => {
            let names = &ctx.file_settings().whatsapp.accounts;
            let names: Vec<&str> = names.iter().map(|a| a.name.as_str()).collect();
            Err(invalid(
                "account",
                format!(
                    "{a:?} is not a WhatsApp account; valid: {}, or null for every account",
                    names.join(", ")
                ),
            ))
        }
        _ => Ok(()),
    }
}

/// A unique violation as the conflict it is; other errors as they are.
fn duplicate(e: StoreError, what: &str) -> ChatError {
    if e.is_unique_violation() {
        ChatError::Conflict(format!("{what} is there already"))
    } else {
        e.into()
    }
}

// ---------------------------------------------------------------- whitelist

/// Every account's configured whitelist, entry by entry (an account without its own list
/// has the inbox-wide one), with each entry's key.
fn configured_whitelist(ctx: &Ctx) -> Vec<WhitelistEntry> {
    let s = ctx.file_settings();
    let mut out = Vec::new();
    for (i, a) in s.whatsapp.accounts.iter().enumerate() {
        let (list, at) = match &a.automations.whitelist {
            Some(own) => (own, format!("whatsapp.accounts[{i}].automations.whitelist")),
            None => (
                &s.inbox.automations.whitelist,
                "inbox.automations.whitelist".to_string(),
            ),
        };
        out.extend(list.iter().enumerate().map(|(j, p)| WhitelistEntry {
            id: None,
            account: Some(a.name.clone()),
            pattern: p.clone(),
            source: ListSource::Config,
            key: Some(format!("{at}[{j}]")),
            created_at: None,
        }));
    }
    out
}

/// The whitelist (supervisors and admins): every account's configured entries, then the
/// API's.
pub(crate) async fn whitelist(
    ctx: &Ctx,
    viewer: &Viewer,
) -> Result<Vec<WhitelistEntry>, ChatError> {
    reader(viewer)?;
    let mut all = configured_whitelist(ctx);
    all.extend(repo::whitelist::all(ctx.store().pool()).await?);
    Ok(all)
}

/// Adds a whitelist entry (admins).
pub(crate) async fn add_to_whitelist(
    ctx: &Ctx,
    viewer: &Viewer,
    new: &NewWhitelistEntry,
) -> Result<WhitelistEntry, ChatError> {
    admin(viewer)?;
    let pattern = new.pattern.trim();
    check_whitelist_entry(pattern).map_err(|why| invalid("pattern", why))?;
    let account = new.account.as_deref();
    check_account(ctx, account)?;
    // Configured already where it would apply: it would change nothing.
    let configured = configured_whitelist(ctx);
    let accounts = &ctx.file_settings().whatsapp.accounts;
    let covered = |name: &str| {
        (configured.iter()).any(|e| e.account.as_deref() == Some(name) && e.pattern == pattern)
    };
    let redundant = match account {
        Some(a) => covered(a),
        None => !accounts.is_empty() && accounts.iter().all(|a| covered(&a.name)),
    };
    if redundant {
        return Err(ChatError::Conflict(format!(
            "{pattern} is on that whitelist in the configuration already"
        )));
    }
    let now = ctx.now();
    let mut tx = ctx.write().await?;
    if repo::whitelist::count(&mut tx).await? >= MAX_WHITELIST_ENTRIES as i64 {
        return Err(ChatError::Conflict(format!(
            "the whitelist holds {MAX_WHITELIST_ENTRIES} entries added here, the most it keeps; \
             delete some, or use prefixes (\"+3120*\")"
        )));
    }
    let id = repo::whitelist::insert(&mut tx, account, pattern, now)
        .await
        .map_err(|e| duplicate(e, "that whitelist entry"))?;
    repo::list_revisions::raise(tx.conn(), WHITELIST).await?;
    tx.commit().await?;
    tracing::info!(
        by = viewer.agent_id,
        id,
        account,
        pattern,
        "whitelist entry added"
    );
    Ok(WhitelistEntry {
        id: Some(id),
        account: new.account.clone(),
        pattern: pattern.into(),
        source: ListSource::Api,
        key: None,
        created_at: Some(now),
    })
}

/// Deletes a whitelist entry added through the API (admins).
pub(crate) async fn remove_from_whitelist(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
) -> Result<(), ChatError> {
    admin(viewer)?;
    let mut tx = ctx.write().await?;
    let Some(gone) = repo::whitelist::delete(&mut tx, id).await? else {
        return Err(ChatError::NotFound("whitelist entry"));
    };
    repo::list_revisions::raise(tx.conn(), WHITELIST).await?;
    tx.commit().await?;
    tracing::info!(
        by = viewer.agent_id,
        id,
        account = gone.account.as_deref(),
        pattern = %gone.pattern,
        "whitelist entry deleted"
    );
    Ok(())
}

// ---------------------------------------------------------------- FAQ

/// The FAQ (supervisors and admins): `[[inbox.faq]]`, then the API's entries, oldest first
/// (the order the FAQ bot prefers when two match equally well).
pub(crate) async fn faq(ctx: &Ctx, viewer: &Viewer) -> Result<Vec<FaqListEntry>, ChatError> {
    reader(viewer)?;
    let configured = ctx.file_settings().inbox.faq.iter().enumerate();
    let mut all: Vec<FaqListEntry> = configured
        .map(|(i, e)| FaqListEntry {
            id: None,
            account: e.account.clone(),
            question: e.question.clone(),
            answer: e.answer.clone(),
            language: e.language().into(),
            source: ListSource::Config,
            key: Some(format!("inbox.faq[{i}]")),
            created_at: None,
            updated_at: None,
        })
        .collect();
    all.extend(repo::faq_entries::all(ctx.store().pool()).await?);
    Ok(all)
}

/// `new` checked by the configuration's rules, as it is stored (trimmed, its language
/// filled in).
fn checked(ctx: &Ctx, new: &NewFaqEntry) -> Result<FaqListEntry, ChatError> {
    let entry = FaqEntry {
        question: new.question.trim().into(),
        answer: new.answer.trim().into(),
        language: Some(
            new.language
                .clone()
                .unwrap_or_else(|| DEFAULT_FAQ_LANGUAGE.into()),
        ),
        account: new.account.clone(),
    };
    let problems = entry.problems();
    if !problems.is_empty() {
        let all: Vec<String> = (problems.iter())
            .map(|(field, message)| format!("{field}: {message}"))
            .collect();
        return Err(ChatError::Invalid(all.join("; ")));
    }
    check_account(ctx, entry.account.as_deref())?;
    let language = entry.language().to_string();
    let same = |e: &FaqEntry| {
        e.account == entry.account
            && e.language() == language
            && e.question.trim() == entry.question
    };
    if let Some(i) = ctx.file_settings().inbox.faq.iter().position(same) {
        return Err(ChatError::Conflict(format!(
            "that question is in the configuration already (inbox.faq[{i}])"
        )));
    }
    Ok(FaqListEntry {
        id: None,
        account: entry.account,
        question: entry.question,
        answer: entry.answer,
        language,
        source: ListSource::Api,
        key: None,
        created_at: None,
        updated_at: None,
    })
}

/// Adds an FAQ entry (admins); the FAQ bot answers with it from now on.
pub(crate) async fn add_faq_entry(
    ctx: &Ctx,
    viewer: &Viewer,
    new: &NewFaqEntry,
) -> Result<FaqListEntry, ChatError> {
    admin(viewer)?;
    let entry = checked(ctx, new)?;
    let now = ctx.now();
    let mut tx = ctx.write().await?;
    if repo::faq_entries::count(&mut tx).await? >= MAX_FAQ_ENTRIES as i64 {
        return Err(ChatError::Conflict(format!(
            "the FAQ holds {MAX_FAQ_ENTRIES} entries added here, the most it keeps; delete some"
        )));
    }
    let id = repo::faq_entries::insert(&mut tx, &entry, now)
        .await
        .map_err(|e| duplicate(e, "an entry with that question, language and account"))?;
    repo::list_revisions::raise(tx.conn(), FAQ).await?;
    tx.commit().await?;
    tracing::info!(
        by = viewer.agent_id,
        id,
        account = entry.account.as_deref(),
        language = %entry.language,
        question = %entry.question,
        "FAQ entry added"
    );
    Ok(FaqListEntry {
        id: Some(id),
        created_at: Some(now),
        updated_at: Some(now),
        ..entry
    })
}

/// Replaces an FAQ entry added through the API (admins).
pub(crate) async fn update_faq_entry(
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    new: &NewFaqEntry,
) -> Result<FaqListEntry, ChatError> {
    admin(viewer)?;
    let entry = checked(ctx, new)?;
    let mut tx = ctx.write().await?;
    let stored = repo::faq_entries::update(&mut tx, id, &entry, ctx.now())
        .await
        .map_err(|e| duplicate(e, "an entry with that question, language and account"))?
        .ok_or(ChatError::NotFound("FAQ entry"))?;
    repo::list_revisions::raise(tx.conn(), FAQ).await?;
    tx.commit().await?;
    tracing::info!(
        by = viewer.agent_id,
        id,
        account = stored.account.as_deref(),
        language = %stored.language,
        question = %stored.question,
        "FAQ entry changed"
    );
    Ok(stored)
}

/// Deletes an FAQ entry added through the API (admins).
pub(crate) async fn delete_faq_entry(ctx: &Ctx, viewer: &Viewer, id: i64) -> Result<(), ChatError> {
    admin(viewer)?;
    let mut tx = ctx.write().await?;
    let Some(gone) = repo::faq_entries::delete(&mut tx, id).await? else {
        return Err(ChatError::NotFound("FAQ entry"));
    };
    repo::list_revisions::raise(tx.conn(), FAQ).await?;
    tx.commit().await?;
    tracing::info!(
        by = viewer.agent_id,
        id,
        account = gone.account.as_deref(),
        question = %gone.question,
        "FAQ entry deleted"
    );
    Ok(())
}
