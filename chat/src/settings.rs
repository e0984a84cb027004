//! The settings admins change while the gateway runs (`deflect_config::SettingScope`): the
//! automations' texts and times, widget sites' texts, queues' timeouts and dispositions.
//! Admins read every scope — where it is in the configuration, the keys the file sets
//! (read-only: the file stays the operator's), the overrides stored and the values as they
//! apply — and replace or delete a scope's overrides.
//!
//! Overrides are checked by the configuration's own rules, with every other scope's stored
//! overrides applied: a key the file sets, or one no override may set, is a
//! [`ChatError::Conflict`]; a value the check refuses is [`ChatError::Invalid`] naming its
//! key (`widget.sites[0].escalation_timeout: must be at least 5s`). A change raises the
//! `settings` revision in its transaction and is applied at once in this process (and
//! within a second in the others, `Ctx::refresh_settings`); it is logged with who made it.

use crate::context::{Ctx, SettingProblem};
use crate::model::{ChatError, ScopeSettings, Viewer};
use crate::repo;
use crate::repo::list_revisions::SETTINGS;
use crate::repo::setting_overrides::StoredOverrides;
use deflect_config::{Config, Problem, SettingScope};
use serde_json::{Value, json};

fn admin(viewer: &Viewer) -> Result<(), ChatError> {
    viewer.admin_only("see and change the settings")
}

fn scope_of(scope: &str) -> Result<SettingScope, ChatError> {
    SettingScope::parse(scope).ok_or(ChatError::NotFound("settings scope"))
}

/// Every scope's settings, the inbox first, then accounts, sites, flows and queues in the
/// configuration's order.
pub(crate) async fn all(ctx: &Ctx, viewer: &Viewer) -> Result<Vec<ScopeSettings>, ChatError> {
    admin(viewer)?;
    ctx.refresh_settings().await?;
    let file = ctx.file_settings().to_config();
    let applied = ctx.settings().to_config();
    let stored = ctx.stored_overrides();
    Ok((SettingScope::all(&file).iter())
        .map(|scope| view(ctx, &file, &applied, &stored, scope))
        .collect())
}

/// Scope `scope`'s settings.
pub(crate) async fn one(
    ctx: &Ctx,
    viewer: &Viewer,
    scope: &str,
) -> Result<ScopeSettings, ChatError> {
    admin(viewer)?;
    let parsed = scope_of(scope)?;
    ctx.refresh_settings().await?;
    let file = ctx.file_settings().to_config();
    if parsed.path(&file).is_none() {
        return Err(ChatError::NotFound("settings scope"));
    }
    let applied = ctx.settings().to_config();
    Ok(view(ctx, &file, &applied, &ctx.stored_overrides(), &parsed))
}

/// Replaces scope `scope`'s overrides with `value` (a JSON object of the keys to override;
/// an empty one deletes them); answers the scope as it applies now.
pub(crate) async fn put(
    ctx: &Ctx,
    viewer: &Viewer,
    scope: &str,
    value: &Value,
) -> Result<ScopeSettings, ChatError> {
    admin(viewer)?;
    let parsed = scope_of(scope)?;
    let o = parsed
        .read(value)
        .map_err(|e| ChatError::Invalid(e.to_string()))?;
    let mut tx = ctx.write().await?;
    let others: Vec<StoredOverrides> = (repo::setting_overrides::all(tx.conn()).await?)
        .into_iter()
        .filter(|s| s.scope != parsed.to_string())
        .collect();
    ctx.check_overrides(&others, &parsed, &o)
        .map_err(|p| match p {
            SettingProblem::NoSuchScope => ChatError::NotFound("settings scope"),
            SettingProblem::Refused(p) => ChatError::Conflict(joined(&p)),
            SettingProblem::Invalid(p) => ChatError::Invalid(joined(&p)),
        })?;
    if o.is_empty() {
        repo::setting_overrides::delete(&mut tx, &parsed.to_string()).await?;
    } else {
        let stored = StoredOverrides {
            scope: parsed.to_string(),
            value: serde_json::to_string(&o).map_err(|e| ChatError::Invalid(e.to_string()))?,
            updated_by: Some(viewer.agent_id),
            updated_at: ctx.now(),
        };
        repo::setting_overrides::put(&mut tx, &stored).await?;
    }
    repo::list_revisions::raise(tx.conn(), SETTINGS).await?;
    tx.commit().await?;
    let keys: Vec<String> = o.keys().into_iter().collect();
    tracing::info!(by = viewer.agent_id, %parsed, ?keys, "settings changed");
    one(ctx, viewer, scope).await
}

/// Deletes scope `scope`'s overrides: the configuration's values apply again.
pub(crate) async fn delete(ctx: &Ctx, viewer: &Viewer, scope: &str) -> Result<(), ChatError> {
    admin(viewer)?;
    let parsed = scope_of(scope)?;
    let mut tx = ctx.write().await?;
    if !repo::setting_overrides::delete(&mut tx, &parsed.to_string()).await? {
        return Err(ChatError::NotFound("settings override"));
    }
    repo::list_revisions::raise(tx.conn(), SETTINGS).await?;
    tx.commit().await?;
    tracing::info!(by = viewer.agent_id, %parsed, "settings reset to the configuration's");
    ctx.refresh_settings().await?;
    Ok(())
}

fn joined(problems: &[Problem]) -> String {
    let all: Vec<String> = problems.iter().map(Problem::to_string).collect();
    all.join("; ")
}

/// Scope `scope` as the file says (`file`) and as it applies (`applied`).
fn view(
    ctx: &Ctx,
    file: &Config,
    applied: &Config,
    stored: &[StoredOverrides],
    scope: &SettingScope,
) -> ScopeSettings {
    let own = stored.iter().find(|s| s.scope == scope.to_string());
    let overrides = own
        .and_then(|s| serde_json::from_str(&s.value).ok())
        .unwrap_or_else(|| json!({}));
    let value = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
    let (name, values) = match scope {
        SettingScope::Inbox => (
            None,
            value(serde_json::to_value(&applied.inbox.automations)),
        ),
        SettingScope::Account(n) => {
            let a = applied.whatsapp.accounts.iter().find(|a| &a.name == n);
            (
                Some(n),
                value(serde_json::to_value(a.map(|a| &a.automations))),
            )
        }
        SettingScope::Flow(n) => {
            let f = applied.ivr.flows.iter().find(|f| &f.name == n);
            (
                Some(n),
                value(serde_json::to_value(f.map(|f| &f.automations))),
            )
        }
        SettingScope::Site(n) => {
            let s = applied.widget.sites.iter().find(|s| &s.name == n);
            (Some(n), value(serde_json::to_value(s)))
        }
        SettingScope::Queue(n) => {
            let q = applied.inbox.queues.iter().find(|q| &q.name == n);
            (Some(n), value(serde_json::to_value(q)))
        }
    };
    let automations = match scope {
        SettingScope::Inbox => Some(ctx.automations(None)),
        SettingScope::Account(n) => Some(ctx.automations(Some(n))),
        SettingScope::Site(n) => Some(ctx.automations_in(crate::context::Scope {
            site: Some(n),
            ..Default::default()
        })),
        SettingScope::Flow(n) => Some(ctx.automations_in(crate::context::Scope {
            flow: Some(n),
            ..Default::default()
        })),
        SettingScope::Queue(_) => None,
    };
    ScopeSettings {
        scope: scope.to_string(),
        kind: scope.kind(),
        name: name.cloned(),
        key: scope.path(file).unwrap_or_default(),
        configured: file.configured_keys(scope).into_iter().collect(),
        overrides,
        values,
        automations: automations.map(|r| value(serde_json::to_value(&**r))),
        updated_by: own.and_then(|s| s.updated_by),
        updated_at: own.map(|s| s.updated_at),
    }
}
