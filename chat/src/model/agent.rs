//! Agents, their roles, and the viewer every access decision takes.

use crate::clock::Millis;
use crate::model::{ChatError, Conversation};
use crate::routing::{AgentId, Presence};
use serde::{Deserialize, Serialize};

/// An agent's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Works the conversations of their queues and accounts.
    Agent,
    /// Also reads every conversation and watches the queues.
    Supervisor,
    /// Also manages agents and settings.
    Admin,
}

impl Role {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
        }
    }
    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "agent" => Self::Agent,
            "supervisor" => Self::Supervisor,
            "admin" => Self::Admin,
            _ => return None,
        })
    }
    /// Supervisors and admins see every conversation.
    pub fn sees_everything(self) -> bool {
        matches!(self, Self::Supervisor | Self::Admin)
    }
}

/// An agent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// Id.
    pub id: AgentId,
    /// Login name.
    pub username: String,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Presence.
    pub presence: Presence,
    /// Queues they work.
    pub queues: Vec<String>,
    /// WhatsApp accounts whose conversations they work (plain agents see no account's
    /// conversations without one; supervisors and admins see every account's).
    pub accounts: Vec<String>,
    /// Disabled agents cannot log in and get no offers.
    pub disabled: bool,
    /// Offers to them are accepted at once (their own choice).
    #[serde(default)]
    pub auto_accept: bool,
    /// The inbox's language they chose (none: their browser's).
    #[serde(default)]
    pub language: Option<String>,
}

/// What an agent chooses for themselves (`PUT /api/v1/me/preferences`); absent fields stay.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// Take offers at once.
    #[serde(default)]
    pub auto_accept: Option<bool>,
    /// The inbox's language (a language tag such as `nl` or `pt-BR`); `null` clears it.
    #[serde(default, with = "double_option")]
    pub language: Option<Option<String>>,
}

/// `Option<Option<T>>` that tells an absent field (`None`) from `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub(super) fn serialize<S: Serializer, T: Serialize>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Who is asking: the input of every access decision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    /// The agent.
    pub agent_id: AgentId,
    /// Their role.
    pub role: Role,
    /// Their queues.
    pub queues: Vec<String>,
    /// Their accounts (plain agents: none given, none seen).
    pub accounts: Vec<String>,
}

impl Viewer {
    /// Nothing when this viewer is an admin, else [`ChatError::Forbidden`] saying that only
    /// admins `what` ("change the whitelist and the FAQ").
    pub(crate) fn admin_only(&self, what: &str) -> Result<(), ChatError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ChatError::Forbidden(format!("only admins {what}")))
        }
    }

    /// The access of `agent`.
    pub fn of(agent: &Agent) -> Self {
        Self {
            agent_id: agent.id,
            role: agent.role,
            queues: agent.queues.clone(),
            accounts: agent.accounts.clone(),
        }
    }

    /// Whether they may see `c`: supervisors and admins see everything; agents see the
    /// conversations of their queues (within their accounts) and those offered to or held by
    /// them.
    pub fn can_see(&self, c: &Conversation) -> bool {
        if self.role.sees_everything() || c.agent_id == Some(self.agent_id) {
            return true;
        }
        let account_ok = c.account.as_deref().is_none_or(|a| self.may_use_account(a));
        account_ok && self.queues.contains(&c.queue)
    }

    /// Whether a call for the softphones of `queue` on `account` (none: a telephone
    /// caller's) rings for them: supervisors and admins every call; agents those of their
    /// queues within their accounts.
    pub fn may_take_call(&self, queue: &str, account: Option<&str>) -> bool {
        self.role.sees_everything()
            || (self.queues.iter().any(|q| q == queue)
                && account.is_none_or(|a| self.may_use_account(a)))
    }

    /// Whether they work for WhatsApp account `account`: supervisors and admins for every
    /// one; agents only for those they are given — none given, none (access fails closed).
    pub fn may_use_account(&self, account: &str) -> bool {
        self.role.sees_everything() || self.accounts.iter().any(|a| a == account)
    }
}

/// Another agent as a plain agent sees them: enough to show who wrote and to transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Colleague {
    /// Id.
    pub id: AgentId,
    /// Name shown to colleagues.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Presence.
    pub presence: Presence,
}

/// The agents a viewer may list ([`crate::Inbox::colleagues`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Colleagues {
    /// Supervisors and admins: every agent, in full.
    All(Vec<Agent>),
    /// Plain agents: the colleagues they share a queue or an account with.
    Shared(Vec<Colleague>),
}

/// An API token as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Id.
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// The agent it acts as.
    pub agent_id: AgentId,
    /// When it was made (ms).
    pub created_at: Millis,
    /// When it was last used (ms).
    pub last_used_at: Option<Millis>,
    /// When it was revoked (ms).
    pub revoked_at: Option<Millis>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_use_their_accounts_supervisors_every_one() {
        let agent = |accounts: &[&str]| Viewer {
            agent_id: 1,
            role: Role::Agent,
            queues: vec!["support".into()],
            accounts: accounts.iter().map(|a| a.to_string()).collect(),
        };
        assert!(
            !agent(&[]).may_use_account("sandbox"),
            "none given: none (fails closed)"
        );
        assert!(agent(&["meta", "sandbox"]).may_use_account("sandbox"));
        assert!(!agent(&["meta"]).may_use_account("sandbox"));
        let sup = Viewer {
            role: Role::Supervisor,
            ..agent(&["meta"])
        };
        assert!(sup.may_use_account("sandbox"));
    }
}
