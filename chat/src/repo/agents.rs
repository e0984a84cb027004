//! The agent aggregate's SQL: agents, their memberships of queues and WhatsApp accounts, and
//! their presence.

use crate::routing::Presence;

/// The SQL condition "agent `agent` works for the account `account`" (both SQL
/// expressions) — [`crate::Viewer::may_use_account`] in a query: a conversation without an
/// account is open to its queue's agents; one with an account to supervisors and admins, and
/// to the plain agents given that account.
pub(crate) fn agent_works_account_sql(agent: &str, account: &str) -> String {
    format!(
        "({account} IS NULL \
         OR EXISTS (SELECT 1 FROM agents r WHERE r.id = {agent} AND r.role <> 'agent') \
         OR EXISTS (SELECT 1 FROM agent_accounts x WHERE x.agent_id = {agent} AND x.account = {account}))"
    )
}

/// A stored presence (offline when unreadable).
pub(crate) fn presence_of(s: &str) -> Presence {
    Presence::parse(s).unwrap_or(Presence::Offline)
}
