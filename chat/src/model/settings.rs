//! The settings of one scope as an admin sees them.

use crate::clock::Millis;
use crate::routing::AgentId;
use serde::Serialize;

/// One scope's settings (`GET /api/v1/settings`): where they are in the configuration, the
/// keys the file sets (read-only here), the overrides stored, and the values as they apply.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ScopeSettings {
    /// `inbox`, `account:NAME`, `site:NAME`, `flow:NAME` or `queue:NAME`.
    pub scope: String,
    /// `inbox`, `account`, `site`, `flow` or `queue`.
    pub kind: &'static str,
    /// The account's, site's, flow's or queue's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where they are in the configuration (`widget.sites[0]`).
    pub key: String,
    /// The keys the configuration file sets (dotted: `automations.csat`): read-only here.
    pub configured: Vec<String>,
    /// The keys admins override, with their values (a JSON object).
    pub overrides: serde_json::Value,
    /// The scope's own values as they apply: `[inbox.automations]`; an account's or flow's
    /// automation overrides; a site's or queue's table.
    pub values: serde_json::Value,
    /// The automations its conversations follow, everything inherited and overridden
    /// applied (not for queues).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automations: Option<serde_json::Value>,
    /// Who last changed the overrides, and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<AgentId>,
    /// When.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Millis>,
}
