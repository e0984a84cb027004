//! The outgoing webhook endpoints admins manage beside `[[http.webhooks]]`: listed together
//! with the configured ones (marked [`ListSource::Config`], read-only, with their key), added,
//! changed and deleted by admins only. An endpoint is checked by the configuration's own
//! rules (`WebhookConfig::problems`): a refused one is [`ChatError::Invalid`] with a message
//! starting with its field (`url: …`); a name taken — by another endpoint or by the
//! configuration — is a [`ChatError::Conflict`], as is any change to a configured endpoint.
//!
//! Each change raises the `webhooks` revision in its transaction, which is how every
//! process's copy (`Ctx::hook_endpoints`) learns of it; deleting or disabling an endpoint
//! gives up its deliveries still waiting in that same transaction, and renaming it moves
//! them. The signing secret is stored as the configuration file holds it, and never shown
//! nor logged: a listed endpoint only says whether it has one.

use crate::context::Ctx;
use crate::model::{
    ChatError, ListSource, MAX_WEBHOOK_ENDPOINTS, NewWebhookEndpoint, StoreError, Viewer,
    WebhookEndpoint, WebhookEndpointChange,
};
use crate::repo;
use crate::repo::list_revisions::WEBHOOKS;
use crate::repo::webhook_endpoints::StoredEndpoint;
use deflect_config::WebhookConfig;
use std::time::Duration;

fn admin(viewer: &Viewer) -> Result<(), ChatError> {
    viewer.admin_only("see and change the webhook endpoints")
}

/// A refused value of `field`.
fn invalid(field: &str, message: impl std::fmt::Display) -> ChatError {
    ChatError::Invalid(format!("{field}: {message}"))
}

/// An endpoint as listed (never its secret).
fn listed(
    e: &WebhookConfig,
    source: ListSource,
    key: Option<String>,
    stored: Option<&StoredEndpoint>,
) -> WebhookEndpoint {
    WebhookEndpoint {
        id: stored.map(|s| s.id),
        name: e.name.clone(),
        url: e.url.as_ref().map(url::Url::to_string).unwrap_or_default(),
        events: e.events.clone(),
        max_attempts: e.max_attempts,
        timeout_seconds: e.timeout.as_secs(),
        enabled: stored.is_none_or(|s| s.enabled),
        source,
        key,
        secret_set: e.signing_secret.as_ref().is_some_and(|s| !s.is_empty()),
        created_at: stored.map(|s| s.created_at),
        updated_at: stored.map(|s| s.updated_at),
    }
}

fn from_api(s: &StoredEndpoint) -> WebhookEndpoint {
    listed(&s.endpoint, ListSource::Api, None, Some(s))
}

/// Every endpoint (admins): the configured ones with their keys, then the API's, oldest
/// first.
pub(crate) async fn list(ctx: &Ctx, viewer: &Viewer) -> Result<Vec<WebhookEndpoint>, ChatError> {
    admin(viewer)?;
    let configured = ctx.hook_endpoints().configured().iter().enumerate();
    let mut all: Vec<WebhookEndpoint> = configured
        .map(|(i, e)| {
            let key = Some(format!("http.webhooks[{i}]"));
            listed(e, ListSource::Config, key, None)
        })
        .collect();
    let added = repo::webhook_endpoints::all(ctx.store().pool()).await?;
    all.extend(added.iter().map(from_api));
    Ok(all)
}

/// Every endpoint's name, configured and added, enabled or not (for the metrics).
pub(crate) async fn names(ctx: &Ctx) -> Result<Vec<String>, ChatError> {
    let configured = ctx.hook_endpoints().configured().iter();
    let mut all: Vec<String> = configured.map(|e| e.name.clone()).collect();
    let added = repo::webhook_endpoints::all(ctx.store().pool()).await?;
    all.extend(added.into_iter().map(|s| s.endpoint.name));
    all.dedup();
    Ok(all)
}

/// Attempts or seconds as given to the API; out of range (negative, huge) stays out of
/// range for the check.
fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// `e` checked by the configuration's rules, with the API's field names; a name the
/// configuration has is a conflict.
fn check(ctx: &Ctx, e: &WebhookConfig) -> Result<(), ChatError> {
    let problems = e.problems();
    if !problems.is_empty() {
        let all: Vec<String> = (problems.iter())
            .map(|(field, message)| match field.as_str() {
                "timeout" => "timeout_seconds: must be between 1 and 60 (seconds)".to_string(),
                _ => format!("{field}: {message}"),
            })
            .collect();
        return Err(ChatError::Invalid(all.join("; ")));
    }
    let configured = ctx.hook_endpoints().configured();
    if let Some(i) = configured.iter().position(|c| c.name == e.name) {
        return Err(ChatError::Conflict(format!(
            "the name {:?} is taken by an endpoint from the configuration file (http.webhooks[{i}])",
            e.name
        )));
    }
    Ok(())
}

/// `url` as a URL, or the field's problem.
fn parse_url(url: &str) -> Result<url::Url, ChatError> {
    url::Url::parse(url.trim()).map_err(|_| {
        invalid(
            "url",
            format!("{url:?} is not a URL; e.g. \"https://crm.example.com/hooks/deflect\""),
        )
    })
}

/// A unique violation as the conflict it is; other errors as they are.
fn duplicate(e: StoreError, name: &str) -> ChatError {
    if e.is_unique_violation() {
        ChatError::Conflict(format!("an endpoint named {name:?} is there already"))
    } else {
        e.into()
    }
}

/// Adds an endpoint (admins); the next event it takes is delivered to it, in every process.
pub(crate) async fn add(
    ctx: &Ctx,
    viewer: &Viewer,
    new: &NewWebhookEndpoint,
) -> Result<WebhookEndpoint, ChatError> {
    admin(viewer)?;
    let defaults = WebhookConfig::default();
    let e = WebhookConfig {
        name: new.name.trim().into(),
        url: Some(parse_url(&new.url)?),
        signing_secret: Some(new.signing_secret.clone()),
        events: new.events.clone(),
        max_attempts: new.max_attempts.map_or(defaults.max_attempts, count),
        timeout: new.timeout_seconds.map_or(defaults.timeout, |s| {
            Duration::from_secs(u64::from(count(s)))
        }),
    };
    check(ctx, &e)?;
    let enabled = new.enabled.unwrap_or(true);
    let now = ctx.now();
    let mut tx = ctx.write().await?;
    if repo::webhook_endpoints::count(&mut tx).await? >= MAX_WEBHOOK_ENDPOINTS as i64 {
        return Err(ChatError::Conflict(format!(
            "there are {MAX_WEBHOOK_ENDPOINTS} endpoints added here, the most kept; delete one"
        )));
    }
    let id = repo::webhook_endpoints::insert(&mut tx, &e, enabled, now)
        .await
        .map_err(|err| duplicate(err, &e.name))?;
    repo::list_revisions::raise(tx.conn(), WEBHOOKS).await?;
    tx.commit().await?;
    tracing::info!(by = viewer.agent_id, id, endpoint = %e.name, url = %url_origin(&e), enabled, "webhook endpoint added");
    Ok(from_api(&StoredEndpoint {
        id,
        endpoint: e,
        enabled,
        created_at: now,
        updated_at: now,
    }))
}

/// The scheme, host and port of `e`'s URL, for the logs (its path or query may hold a
/// token).
fn url_origin(e: &WebhookConfig) -> String {
    e.url
        .as_ref()
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// The id of the API endpoint `reference` names (its name, else its id); a configured one
/// is a conflict.
async fn resolve(ctx: &Ctx, tx: &mut crate::store::Tx, reference: &str) -> Result<i64, ChatError> {
    if let Some(i) = (ctx.hook_endpoints().configured().iter()).position(|c| c.name == reference) {
        return Err(ChatError::Conflict(format!(
            "{reference:?} is from the configuration file (http.webhooks[{i}]); change it there"
        )));
    }
    if let Some(id) = repo::webhook_endpoints::id_of(tx, reference).await? {
        return Ok(id);
    }
    reference
        .parse::<i64>()
        .map_err(|_| ChatError::NotFound("webhook endpoint"))
}

/// Changes an API endpoint (admins): each field given; the secret only when given.
pub(crate) async fn change(
    ctx: &Ctx,
    viewer: &Viewer,
    reference: &str,
    change: &WebhookEndpointChange,
) -> Result<WebhookEndpoint, ChatError> {
    admin(viewer)?;
    let url = change.url.as_deref().map(parse_url).transpose()?;
    let now = ctx.now();
    let mut tx = ctx.write().await?;
    let id = resolve(ctx, &mut tx, reference).await?;
    let Some(mut s) = repo::webhook_endpoints::get(&mut tx, id).await? else {
        return Err(ChatError::NotFound("webhook endpoint"));
    };
    let before = s.endpoint.name.clone();
    let was_enabled = s.enabled;
    let e = &mut s.endpoint;
    if let Some(name) = &change.name {
        e.name = name.trim().into();
    }
    if url.is_some() {
        e.url = url;
    }
    if let Some(secret) = &change.signing_secret {
        e.signing_secret = Some(secret.clone());
    }
    if let Some(events) = &change.events {
        e.events = events.clone();
    }
    if let Some(n) = change.max_attempts {
        e.max_attempts = count(n);
    }
    if let Some(n) = change.timeout_seconds {
        e.timeout = Duration::from_secs(u64::from(count(n)));
    }
    if let Some(enabled) = change.enabled {
        s.enabled = enabled;
    }
    check(ctx, &s.endpoint)?;
    repo::webhook_endpoints::update(&mut tx, id, &s.endpoint, s.enabled, now)
        .await
        .map_err(|err| duplicate(err, &s.endpoint.name))?;
    if was_enabled && !s.enabled {
        let n =
            repo::hook_deliveries::give_up_waiting(&mut tx, &before, "the endpoint was disabled")
                .await?;
        tracing::info!(endpoint = %before, deliveries = n, "waiting webhook deliveries given up: the endpoint was disabled");
    } else if before != s.endpoint.name {
        repo::hook_deliveries::rename_waiting(&mut tx, &before, &s.endpoint.name).await?;
    }
    repo::list_revisions::raise(tx.conn(), WEBHOOKS).await?;
    tx.commit().await?;
    s.updated_at = now;
    tracing::info!(
        by = viewer.agent_id,
        id,
        endpoint = %s.endpoint.name,
        url = %url_origin(&s.endpoint),
        enabled = s.enabled,
        secret_replaced = change.signing_secret.is_some(),
        "webhook endpoint changed"
    );
    Ok(from_api(&s))
}

/// Deletes an API endpoint (admins); its deliveries still waiting are given up.
pub(crate) async fn remove(ctx: &Ctx, viewer: &Viewer, reference: &str) -> Result<(), ChatError> {
    admin(viewer)?;
    let mut tx = ctx.write().await?;
    let id = resolve(ctx, &mut tx, reference).await?;
    let Some(gone) = repo::webhook_endpoints::delete(&mut tx, id).await? else {
        return Err(ChatError::NotFound("webhook endpoint"));
    };
    let name = &gone.endpoint.name;
    let given_up =
        repo::hook_deliveries::give_up_waiting(&mut tx, name, "the endpoint was deleted").await?;
    repo::list_revisions::raise(tx.conn(), WEBHOOKS).await?;
    tx.commit().await?;
    tracing::info!(
        by = viewer.agent_id,
        id,
        endpoint = %name,
        deliveries_given_up = given_up,
        "webhook endpoint deleted"
    );
    Ok(())
}
