//! The event log's entries and their kinds. Every state change appends an [`Event`] in its
//! own transaction; subscribers, the live feeds, the widget and outgoing webhooks read them.
//! The kinds' names are a stable contract: they are stored in the `events` table and sent to
//! browsers and integrations as they are.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One entry of the append-only event log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Log position; resume from it after a reconnect.
    pub id: i64,
    /// The conversation it concerns (none for agent presence and the like).
    pub conversation_id: Option<i64>,
    /// Position within the conversation's events (1, 2, …); 0 without a conversation.
    pub seq: i64,
    /// What happened.
    pub kind: EventKind,
    /// Details; for `message.created` the [`crate::Message`], for conversation changes the
    /// [`crate::Conversation`].
    pub data: serde_json::Value,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
}

/// What an [`Event`] records, serialised to its stable wire name (`conversation.created`, …).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `conversation.created`: a conversation began (`conversation`).
    ConversationCreated,
    /// `conversation.queued`: it waits in its queue (`conversation`; `declined_by` when an
    /// offer was declined).
    ConversationQueued,
    /// `conversation.offered`: offered to an agent (`conversation`, `agent_id`, `expires_at`).
    ConversationOffered,
    /// `conversation.assigned`: an agent holds it (`conversation`, `agent_id`; `claimed` or
    /// `returned`).
    ConversationAssigned,
    /// `conversation.transferred`: to an agent or a queue (`to_agent` or `to_queue`, `by`).
    ConversationTransferred,
    /// `conversation.closed` (`disposition`, `by`, `agent_id`: who handled it).
    ConversationClosed,
    /// `conversation.unreachable`: WhatsApp cannot deliver to the customer's number.
    ConversationUnreachable,
    /// `conversation.window_closed`: free text was refused outside the 24 h window
    /// (`recontact_template`).
    ConversationWindowClosed,
    /// `conversation.channel_changed`: a web conversation continues on WhatsApp (`channel`,
    /// `code`).
    ConversationChannelChanged,
    /// `conversation.escalation_offered`: the widget offers WhatsApp (`reason`).
    ConversationEscalationOffered,
    /// `conversation.handoff_offered`: a one-time hand-off code was issued (`account`,
    /// `expires_at`).
    ConversationHandoffOffered,
    /// `conversation.handed_over`: its bot handed it to a queue (`conversation`, `reason`:
    /// the bot asked, the customer asked for a person, the bot had no answer or failed).
    ConversationHandedOver,
    /// `conversation.bot_started`: the conversation is with its bot (`conversation`).
    ConversationBotStarted,
    /// `message.created`: a message or note was stored (`message`).
    MessageCreated,
    /// `message.status`: an outgoing message's delivery status moved on (`message_id`,
    /// `status`, `error_code`, `error_title`, `error_meaning`; `message` when the provider
    /// accepted it), or a queued one waits to be sent again (`queued`, with the provider's
    /// error and `retry_at`).
    MessageStatus,
    /// `deflection.created`: a deflected call was recorded (`call`, `message_id`).
    DeflectionCreated,
    /// `deflection.sent`: the provider accepted its template (`call_id`, `message_id`,
    /// `external_id`).
    DeflectionSent,
    /// `call.finished`: a call ended and its record was kept (`call`: the record with its
    /// `id`).
    CallFinished,
    /// `agent.created` (the agent).
    AgentCreated,
    /// `agent.presence` (`agent_id`, `presence`).
    AgentPresence,
    /// `agent.role_changed` (`agent_id`, `role`, `previous`, `by`).
    AgentRoleChanged,
    /// `typing`: someone is typing (`by`, `agent_id`); never logged (id 0).
    Typing,
    /// `conversation.reminder`: the assigned agent has not answered the customer within
    /// `reminder_after` (`conversation`, `agent_id`, `waiting_since`: when the customer's
    /// first unanswered message came).
    ConversationReminder,
    /// `conversation.rated`: the customer answered its satisfaction survey (`conversation`,
    /// `score`: 1–5).
    ConversationRated,
    /// `message.attachments`: a file of a customer's message was stored, could not be, or
    /// is tried again (`message_id`, `attachments`: all of the message's, as
    /// [`crate::Message`] carries them).
    MessageAttachments,
    /// `conversation.labelled`: a label was put on it or taken off (`conversation`, `label`,
    /// `added`: true or false, `by`: the agent).
    ConversationLabelled,
    /// `conversation.relay`: a relayed conversation moved on (`state`: offered, accepted,
    /// rejected, expired, unanswered, transferred or ended; `agent`: `{name, number}`).
    ConversationRelay,
    /// `phone.call`: a call rings for the agents of a queue on their inbox softphones, was
    /// answered by one or ended (`call`: `id`, `state` ringing, answered or ended, `queue`,
    /// `account`, `caller`, `channel`, `flow`, `conversation_id`, `agent_id`); never logged
    /// (id 0).
    PhoneCall,
    /// A kind this version does not know (logged by a newer one): passed on as it is.
    Other(String),
}

impl EventKind {
    /// Every kind this version produces.
    pub const ALL: [Self; 28] = [
        Self::ConversationCreated,
        Self::ConversationQueued,
        Self::ConversationOffered,
        Self::ConversationAssigned,
        Self::ConversationTransferred,
        Self::ConversationClosed,
        Self::ConversationUnreachable,
        Self::ConversationWindowClosed,
        Self::ConversationChannelChanged,
        Self::ConversationEscalationOffered,
        Self::ConversationHandoffOffered,
        Self::ConversationHandedOver,
        Self::ConversationBotStarted,
        Self::MessageCreated,
        Self::MessageStatus,
        Self::DeflectionCreated,
        Self::DeflectionSent,
        Self::CallFinished,
        Self::AgentCreated,
        Self::AgentPresence,
        Self::AgentRoleChanged,
        Self::Typing,
        Self::ConversationReminder,
        Self::ConversationRated,
        Self::MessageAttachments,
        Self::ConversationLabelled,
        Self::ConversationRelay,
        Self::PhoneCall,
    ];

    /// The wire name, as stored and sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::ConversationCreated => "conversation.created",
            Self::ConversationQueued => "conversation.queued",
            Self::ConversationOffered => "conversation.offered",
            Self::ConversationAssigned => "conversation.assigned",
            Self::ConversationTransferred => "conversation.transferred",
            Self::ConversationClosed => "conversation.closed",
            Self::ConversationUnreachable => "conversation.unreachable",
            Self::ConversationWindowClosed => "conversation.window_closed",
            Self::ConversationChannelChanged => "conversation.channel_changed",
            Self::ConversationEscalationOffered => "conversation.escalation_offered",
            Self::ConversationHandoffOffered => "conversation.handoff_offered",
            Self::ConversationHandedOver => "conversation.handed_over",
            Self::ConversationBotStarted => "conversation.bot_started",
            Self::MessageCreated => "message.created",
            Self::MessageStatus => "message.status",
            Self::DeflectionCreated => "deflection.created",
            Self::DeflectionSent => "deflection.sent",
            Self::CallFinished => "call.finished",
            Self::AgentCreated => "agent.created",
            Self::AgentPresence => "agent.presence",
            Self::AgentRoleChanged => "agent.role_changed",
            Self::Typing => "typing",
            Self::ConversationReminder => "conversation.reminder",
            Self::ConversationRated => "conversation.rated",
            Self::MessageAttachments => "message.attachments",
            Self::ConversationLabelled => "conversation.labelled",
            Self::ConversationRelay => "conversation.relay",
            Self::PhoneCall => "phone.call",
            Self::Other(name) => name,
        }
    }

    /// The kind a wire name stands for ([`EventKind::Other`] for one this version does not
    /// know).
    pub fn parse(name: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap_or_else(|| Self::Other(name.to_string()))
    }

    /// Whether it is about an agent (`agent.*`) rather than a conversation.
    pub fn is_about_an_agent(&self) -> bool {
        matches!(
            self,
            Self::AgentCreated | Self::AgentPresence | Self::AgentRoleChanged
        ) || matches!(self, Self::Other(name) if name.starts_with("agent."))
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Self::parse(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_stable_and_read_back() {
        let names: Vec<&str> = EventKind::ALL.iter().map(EventKind::as_str).collect();
        assert_eq!(
            names,
            [
                "conversation.created",
                "conversation.queued",
                "conversation.offered",
                "conversation.assigned",
                "conversation.transferred",
                "conversation.closed",
                "conversation.unreachable",
                "conversation.window_closed",
                "conversation.channel_changed",
                "conversation.escalation_offered",
                "conversation.handoff_offered",
                "conversation.handed_over",
                "conversation.bot_started",
                "message.created",
                "message.status",
                "deflection.created",
                "deflection.sent",
                "call.finished",
                "agent.created",
                "agent.presence",
                "agent.role_changed",
                "typing",
                "conversation.reminder",
                "conversation.rated",
                "message.attachments",
                "conversation.labelled",
                "conversation.relay",
                "phone.call",
            ]
        );
        for k in EventKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<EventKind>(&json).unwrap(), k);
        }
        let newer: EventKind = serde_json::from_str("\"agent.renamed\"").unwrap();
        assert_eq!(newer, EventKind::Other("agent.renamed".into()));
        assert_eq!(serde_json::to_string(&newer).unwrap(), "\"agent.renamed\"");
        assert!(newer.is_about_an_agent());
        assert!(EventKind::AgentPresence.is_about_an_agent());
        assert!(!EventKind::MessageCreated.is_about_an_agent());
    }
}
