//! The message templates agents can send: each account's list, fetched from its provider
//! ([`crate::provider::templates`]) and cached in the database, so that every process and
//! every request reads it without calling out.
//!
//! A listing runs when the inbox starts, every `whatsapp.templates_refresh_interval`
//! (default an hour) and when a supervisor or admin asks ([`crate::Inbox::refresh_templates`]).
//! One that succeeds replaces its account's templates in one transaction; one that fails
//! keeps the last good list and records why, which the API shows
//! ([`crate::Inbox::template_refreshes`]), the log says (`warn`) and the metric
//! `deflect_whatsapp_template_refreshes_total{account, outcome}` counts. Accounts without
//! a source (the sandbox; a Meta account without `business_account_id`) have no listing.
//!
//! Agents see the templates of their accounts; supervisors and admins every account's. By
//! default only `APPROVED` ones are listed, the only ones WhatsApp delivers.

use crate::context::Ctx;
use crate::model::{APPROVED, ChatError, Template, TemplateRefresh, Viewer};
use crate::provider::templates::TemplateSource;
use crate::repo;
use std::sync::Arc;
use std::time::Duration;

/// The accounts `viewer` may read templates of, of those asked for (`account`, or all).
fn readable(ctx: &Ctx, viewer: &Viewer, account: Option<&str>) -> Result<Vec<String>, ChatError> {
    let configured = ctx
        .file_settings()
        .whatsapp
        .accounts
        .iter()
        .map(|a| &a.name);
    if let Some(a) = account {
        if ctx.account(a).is_none() || !viewer.may_use_account(a) {
            return Err(ChatError::NotFound("account"));
        }
        return Ok(vec![a.to_string()]);
    }
    Ok(configured
        .filter(|a| viewer.may_use_account(a))
        .cloned()
        .collect())
}

/// The templates `viewer` may send: of `account` (or of all their accounts), only approved
/// ones unless `all`.
pub(crate) async fn list(
    ctx: &Ctx,
    viewer: &Viewer,
    account: Option<&str>,
    all: bool,
) -> Result<Vec<Template>, ChatError> {
    let accounts = readable(ctx, viewer, account)?;
    let templates = repo::templates::of_accounts(ctx.store().pool(), &accounts).await?;
    Ok(templates
        .into_iter()
        .filter(|t| all || t.status == APPROVED)
        .collect())
}

/// How the last listing of each account `viewer` may read went.
pub(crate) async fn refreshes(
    ctx: &Ctx,
    viewer: &Viewer,
    account: Option<&str>,
) -> Result<Vec<TemplateRefresh>, ChatError> {
    let accounts = readable(ctx, viewer, account)?;
    let all = repo::templates::refreshes(ctx.store().pool()).await?;
    Ok(all
        .into_iter()
        .filter(|r| accounts.contains(&r.account))
        .collect())
}

/// Lists the templates of `account` (or of every account with a source) now, on a
/// supervisor's or admin's request; returns how each listing went.
pub(crate) async fn refresh_for(
    ctx: &Ctx,
    http: &reqwest::Client,
    viewer: &Viewer,
    account: Option<&str>,
) -> Result<Vec<TemplateRefresh>, ChatError> {
    if !viewer.role.sees_everything() {
        return Err(ChatError::Forbidden(
            "only supervisors and admins refresh the templates".into(),
        ));
    }
    if let Some(a) = account
        && ctx.account(a).is_none()
    {
        return Err(ChatError::NotFound("account"));
    }
    refresh(ctx, http, account).await?;
    refreshes(ctx, viewer, account).await
}

/// Lists the templates of `account` (or of every account with a source) and caches them; a
/// failed listing is recorded, logged and counted, and the last list kept.
pub(crate) async fn refresh(
    ctx: &Ctx,
    http: &reqwest::Client,
    account: Option<&str>,
) -> Result<(), ChatError> {
    let sources: Vec<TemplateSource> = (ctx.file_settings().whatsapp.accounts.iter())
        .filter(|a| account.is_none_or(|n| n == a.name))
        .filter_map(|a| TemplateSource::for_account(a, http.clone()))
        .collect();
    for source in sources {
        let name = source.account().to_string();
        let fetched = source.fetch().await;
        let now = ctx.now();
        let mut tx = ctx.store().write().await?;
        match fetched {
            Ok(templates) => {
                repo::templates::replace(&mut tx, &name, &templates, now).await?;
                tx.commit().await?;
                tracing::info!(account = %name, templates = templates.len(), "message templates listed");
                count(&name, "ok");
            }
            Err(e) => {
                repo::templates::failed(&mut tx, &name, &e.to_string(), now).await?;
                tx.commit().await?;
                tracing::warn!(account = %name, cause = %e, "message templates not listed; the last list is kept");
                count(&name, "failed");
            }
        }
    }
    Ok(())
}

fn count(account: &str, outcome: &'static str) {
    metrics::counter!(
        "deflect_whatsapp_template_refreshes_total",
        "account" => account.to_string(),
        "outcome" => outcome
    )
    .increment(1);
}

/// Lists every account's templates at once and then every `interval`, until `stop`.
pub(crate) async fn run(
    ctx: Arc<Ctx>,
    http: reqwest::Client,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let interval: Duration = ctx.file_settings().whatsapp.templates_refresh_interval;
    loop {
        if let Err(e) = refresh(&ctx, &http, None).await {
            tracing::warn!(cause = %e, "message templates could not be stored");
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}
