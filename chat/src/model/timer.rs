//! What a conversation's durable timers do when they fire (see the timer service,
//! [`crate::timers`]): one row per conversation and kind, stored under these names.

/// What a timer does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// The offer to an agent lapses; the next agent is tried.
    Offer,
    /// The queue's wait timeout: its fallback.
    Wait,
    /// A transfer nobody accepted returns to the agent who made it.
    Transfer,
    /// The customer of an assigned conversation, answered by its agent, has not written for
    /// `inbox.inactivity_close`: the conversation closes.
    Inactivity,
    /// A web conversation still without an agent after its site's escalation timeout: the
    /// widget offers to continue on WhatsApp.
    Escalation,
    /// A conversation with its bot has been silent for the bot's `silence_close`: it closes.
    BotSilence,
    /// The assigned agent has not answered the customer within `reminder_after`: a
    /// reminder.
    Reminder,
    /// The assigned agent has not answered the customer within `reoffer_after`: the
    /// conversation is offered to another agent of its queue.
    Reoffer,
    /// Conversations left a queue (its conversation was the one to leave): customers told
    /// their position hear the better one (`queue_message_step`).
    QueueNotice,
    /// An agent offered a relayed conversation neither accepted nor rejected it within
    /// `inbox.relay.offer_timeout`: the next agent of its list is offered it.
    RelayOffer,
    /// Nobody wrote in a relayed conversation for `inbox.relay.inactivity_close`: it closes.
    RelayIdle,
}

impl TimerKind {
    /// Every kind.
    pub const ALL: [Self; 11] = [
        Self::Offer,
        Self::Wait,
        Self::Transfer,
        Self::Inactivity,
        Self::Escalation,
        Self::BotSilence,
        Self::Reminder,
        Self::Reoffer,
        Self::QueueNotice,
        Self::RelayOffer,
        Self::RelayIdle,
    ];

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offer => "offer",
            Self::Wait => "wait",
            Self::Transfer => "transfer",
            Self::Inactivity => "inactivity",
            Self::Escalation => "escalation",
            Self::BotSilence => "bot_silence",
            Self::Reminder => "reminder",
            Self::Reoffer => "reoffer",
            Self::QueueNotice => "queue_notice",
            Self::RelayOffer => "relay_offer",
            Self::RelayIdle => "relay_idle",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Disposition of conversations closed for the customer's inactivity. (Conversations closed
/// by earlier versions, which closed any conversation without activity, keep `inactive`.)
pub const INACTIVE: &str = "closed for inactivity";

/// Disposition of a conversation closed because its number is not on the account's
/// whitelist (`[inbox.automations] whitelist`).
pub const NOT_WHITELISTED: &str = "not whitelisted";

/// Disposition of a conversation its bot ended (or that fell silent with its bot).
pub const BOT_ENDED: &str = "bot ended";
/// Disposition of a conversation closed because its customer wrote outside the account's
/// opening hours for chat and conversations do not queue then (`closed_queue = false`).
pub const OUTSIDE_HOURS: &str = "outside hours";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_read_back() {
        for k in TimerKind::ALL {
            assert_eq!(TimerKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(TimerKind::parse("snooze"), None);
    }
}
