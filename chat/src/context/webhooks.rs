//! The outgoing webhook endpoints events are delivered to: the configured ones
//! (`[[http.webhooks]]`) and the enabled ones admins added through the API. Each process
//! keeps them in memory with the `webhooks` revision, which the transaction of every change
//! raises (as the managed lists do): the event log's sink and the webhook worker read that
//! one row inside their own transaction and reload the endpoints when it moved, so an
//! endpoint added, changed or deleted counts at once in every process sharing the database.

use super::lists::Cached;
use crate::model::StoreError;
use crate::repo;
use deflect_config::WebhookConfig;
use std::sync::Arc;

/// The effective endpoints, cached by revision (one per process, shared by the sink that
/// writes deliveries and the worker that sends them).
#[derive(Debug)]
pub(crate) struct HookEndpoints {
    configured: Vec<WebhookConfig>,
    cached: Cached<Vec<WebhookConfig>>,
}

impl HookEndpoints {
    /// Before any API endpoint: the configured ones.
    pub(crate) fn new(configured: &[WebhookConfig]) -> Self {
        Self {
            configured: configured.to_vec(),
            cached: Cached::new(configured.to_vec()),
        }
    }

    /// The configured endpoints.
    pub(crate) fn configured(&self) -> &[WebhookConfig] {
        &self.configured
    }

    /// The endpoints as of `conn`'s transaction: the configured ones, then the enabled API
    /// ones, oldest first (one row read when they have not changed).
    pub(crate) async fn current(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<Arc<Vec<WebhookConfig>>, StoreError> {
        let revision =
            repo::list_revisions::get(&mut *conn, repo::list_revisions::WEBHOOKS).await?;
        if let Some(endpoints) = self.cached.at(revision) {
            return Ok(endpoints);
        }
        // Read after the revision: at least as new as it (a later change raises it again).
        let mut all = self.configured.clone();
        for e in repo::webhook_endpoints::enabled(conn).await? {
            if all.iter().any(|c| c.name == e.name) {
                // A configuration changed since: the file's endpoint of that name wins.
                tracing::warn!(endpoint = %e.name, "a webhook endpoint added in Settings has the name of a configured one; it is not used");
                continue;
            }
            all.push(e);
        }
        let all = Arc::new(all);
        tracing::debug!(revision, endpoints = all.len(), "webhook endpoints loaded");
        self.cached.keep(revision, all.clone());
        Ok(all)
    }

    /// The endpoints as last loaded, without reading anything.
    pub(crate) fn newest(&self) -> Arc<Vec<WebhookConfig>> {
        self.cached.newest()
    }
}
