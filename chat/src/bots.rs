//! The bot worker: passes each customer message of a conversation with its bot to the bot
//! (`crate::bot`, the Rasa REST channel) and stores what the bot answers.
//!
//! A turn is a durable row written with the customer's message. The worker takes the first
//! turn of a conversation under a lease (so a conversation's messages reach its bot one at a
//! time, in order), calls the bot **outside** any transaction — the turns of different
//! conversations concurrently, up to a bound — then in one transaction removes the turn and
//! stores the outcome:
//!
//! - the bot's replies, as messages with sender `bot` sent like any other (buttons as
//!   WhatsApp reply buttons or a list, an image or attachment as its link);
//! - a hand-over (the bot asked for it, or failed — timeout, no connection, an error
//!   status, an answer that is not the REST channel's): the conversation goes to a queue,
//!   its transcript kept;
//! - a `{"close": true}` custom payload: the bot's flow ended, the conversation closes
//!   (`bot ended`).
//!
//! A worker that dies during a call leaves the turn leased; after the lease (twice the
//! bot's timeout) another takes it again, so a bot may see a message twice after a crash,
//! never lose one. A conversation that left its bot meanwhile (an agent claimed it, it
//! closed) drops the answer.

use crate::bot::{BotClient, BotReply, BotTurn, BotTurnRequest};
use crate::clock::{self, Millis};
use crate::context::Ctx;
use crate::lifecycle::{automation, dispatch, load, outgoing};
use crate::model::{BOT_ENDED, ChatError, Conversation, Message, Status};
use crate::provider::{Button, ListMessage, Outgoing, Row, Section};
use crate::repo::{self, bot_turns::Turn};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How many turns one process has with bots at once (each waits at most its bot's timeout).
const MAX_IN_FLIGHT: usize = 32;

/// A turn taken under its lease, with its conversation and the customer's message as they
/// were when taken.
struct Taken {
    turn: Turn,
    c: Conversation,
    message: Message,
}

/// The bot worker's state: the context and a client per configured bot. Cheap to clone.
#[derive(Clone)]
pub(crate) struct BotService {
    ctx: Arc<Ctx>,
    clients: Arc<HashMap<String, BotClient>>,
}

impl BotService {
    /// The worker of `ctx`'s configured bots.
    pub(crate) fn new(ctx: Arc<Ctx>) -> Self {
        let clients = (ctx.file_settings().inbox.bots.iter())
            .map(|b| (b.name.clone(), BotClient::new(b)))
            .collect();
        Self {
            ctx,
            clients: Arc::new(clients),
        }
    }

    /// Takes and completes every turn that is free now — up to [`MAX_IN_FLIGHT`] at once, so
    /// one slow bot answer holds up no other conversation — and those freed meanwhile;
    /// returns how many. A turn whose completion failed is logged and taken again after
    /// its lease.
    pub(crate) async fn run_due(&self) -> Result<usize, ChatError> {
        let mut running = JoinSet::new();
        let (mut done, mut failed) = (0, None);
        loop {
            // A failure to take stops taking; the turns in flight still finish.
            while failed.is_none() && running.len() < MAX_IN_FLIGHT {
                match self.take().await {
                    Ok(Some(taken)) => _ = running.spawn(self.clone().complete(taken)),
                    Ok(None) => break,
                    Err(e) => failed = Some(e),
                }
            }
            match running.join_next().await {
                None => return failed.map_or(Ok(done), Err),
                Some(Ok(Ok(()))) => done += 1,
                Some(Ok(Err(e))) => {
                    tracing::warn!(cause = %e, "bot worker: a turn's outcome was not stored");
                }
                Some(Err(e)) => tracing::error!(cause = %e, "bot worker: a turn panicked"),
            }
        }
    }

    /// Takes one free turn (under its lease) with its conversation and message; `None` when
    /// none is free.
    async fn take(&self) -> Result<Option<Taken>, ChatError> {
        let now = self.ctx.now();
        let mut tx = self.ctx.write().await?;
        let Some(turn) = repo::bot_turns::take(&mut tx, now, now + self.lease()).await? else {
            return Ok(None);
        };
        let c = load(&mut tx, turn.conversation).await?;
        let message = repo::messages::reload(&mut tx, turn.message).await?;
        tx.commit().await?;
        Ok(Some(Taken { turn, c, message }))
    }

    /// Asks the bot and stores the outcome of a taken turn.
    async fn complete(self, Taken { turn, c, message }: Taken) -> Result<(), ChatError> {
        let client = c.bot.as_deref().and_then(|b| self.clients.get(b));
        let outcome = match client {
            Some(client) if c.status == Status::Bot => Some(ask(client, &c, &message).await),
            _ => None,
        };
        let mut tx = self.ctx.write().await?;
        if !repo::bot_turns::finish(&mut tx, &turn).await? {
            // Taken again after the lease ran out: that attempt stores the answer.
            return Ok(());
        }
        let now = self.ctx.now();
        match (outcome, client) {
            (Some(Ok(answer)), _) => self.answered(&mut tx, &turn, answer, now).await?,
            (Some(Err(e)), Some(client)) => {
                let h = client.handover_after(&e);
                let c = load(&mut tx, turn.conversation).await?;
                let (queue, reason) = (h.queue.as_deref(), &h.reason);
                automation::hand_over(&self.ctx, &mut tx, &c, queue, reason, now).await?;
            }
            // Not with its bot any more (or its bot is no longer configured).
            _ if c.status == Status::Bot => {
                let reason = "the conversation's bot is not configured";
                let c = load(&mut tx, turn.conversation).await?;
                automation::hand_over(&self.ctx, &mut tx, &c, None, reason, now).await?;
            }
            _ => {}
        }
        tx.commit().await?;
        Ok(())
    }

    /// Stores the bot's answer to `turn`.
    async fn answered(
        &self,
        tx: &mut crate::store::Tx,
        turn: &Turn,
        answer: BotTurn,
        now: Millis,
    ) -> Result<(), ChatError> {
        let ctx = &self.ctx;
        let c = load(tx, turn.conversation).await?;
        if c.status != Status::Bot {
            return Ok(());
        }
        let mut ends = false;
        for reply in &answer.replies {
            match reply_message(reply) {
                Some((kind, request)) => {
                    let body = request.as_text();
                    let send = outgoing::Send {
                        kind,
                        body: &body,
                        request,
                        author: outgoing::Author::Bot,
                        client_key: None,
                    };
                    outgoing::queue(ctx, tx, &c, send, now).await?;
                }
                None => ends |= matches!(reply, BotReply::Custom(v) if v["close"] == json!(true)),
            }
        }
        if let Some(h) = &answer.handover {
            automation::hand_over(ctx, tx, &c, h.queue.as_deref(), &h.reason, now).await
        } else if ends {
            dispatch::close(ctx, tx, c.id, BOT_ENDED, None, now).await
        } else {
            automation::bot_still_talking(ctx, tx, &c, now).await
        }
    }

    /// How long a turn stays with the worker that took it: twice the longest bot timeout.
    fn lease(&self) -> Millis {
        let longest = (self.ctx.file_settings().inbox.bots.iter())
            .map(|b| b.timeout)
            .max()
            .unwrap_or(Duration::from_secs(5));
        clock::ms(longest * 2)
    }

    /// The worker: completes free turns, then waits for a new one (or a lease to end),
    /// until `stop`.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        if self.clients.is_empty() {
            return;
        }
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match self.run_due().await {
                Ok(_) => {
                    let due = repo::bot_turns::next_due(self.ctx.store()).await;
                    self.ctx.until_due(due.ok().flatten())
                }
                Err(e) => {
                    tracing::warn!(cause = %e, "bot worker: database error; retrying");
                    Duration::from_secs(1)
                }
            };
            tokio::select! {
                _ = self.ctx.bot_wake().notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// One turn of conversation `c`: customer message `m` to `client`.
async fn ask(
    client: &BotClient,
    c: &Conversation,
    m: &Message,
) -> Result<BotTurn, crate::bot::BotError> {
    let text = reply_payload(m).or(m.body.clone()).unwrap_or_default();
    let metadata = json!({
        "account": c.account,
        "channel": c.channel,
        "customer_name": c.contact_name,
        "customer_phone": c.contact_phone,
        "queue": c.queue,
        "reference": c.reference,
        "kind": m.kind,
    });
    let request = BotTurnRequest {
        sender: &c.reference,
        message: &text,
        metadata,
    };
    client.turn(request).await
}

/// The payload of a button the customer chose (its `interactive` reply's id: Meta's quick
/// reply or interactive reply, a widget visitor's tap; or, stored before replies were, Meta's
/// payload), which is what a bot's buttons expect back.
fn reply_payload(m: &Message) -> Option<String> {
    if let Some(id) = m.interactive.as_ref().and_then(|i| i.reply_id()) {
        return Some(id.to_string());
    }
    let p = m.payload.as_ref()?;
    let payload = p["button"]["payload"]
        .as_str()
        .or_else(|| p["interactive"]["button_reply"]["id"].as_str())
        .or_else(|| p["interactive"]["list_reply"]["id"].as_str())?;
    Some(payload.to_string())
}

/// How a bot reply goes to the customer (its message kind and request); none for custom
/// payloads. Buttons become WhatsApp reply buttons (up to 3, titles up to 20 characters) or
/// a list (up to 10, titles up to 24), tapping one sends the bot its payload; more, or
/// longer titles, are listed under the text. Text-only providers list them either way.
fn reply_message(reply: &BotReply) -> Option<(&'static str, Outgoing)> {
    let text = |body: String| Some(("text", Outgoing::Text { body }));
    match reply {
        BotReply::Text(t) => text(t.clone()),
        BotReply::Buttons {
            text: body,
            buttons,
        } => {
            let choices: Vec<Button> = (buttons.iter())
                .map(|b| Button {
                    id: b.payload.clone(),
                    title: b.title.clone(),
                })
                .collect();
            let fits = |n: usize, len: usize| {
                (1..=n).contains(&choices.len())
                    && choices
                        .iter()
                        .all(|c| (1..=len).contains(&c.title.chars().count()))
            };
            let body = body.clone();
            if fits(3, 20) {
                Some((
                    "interactive",
                    Outgoing::Buttons {
                        body,
                        buttons: choices,
                    },
                ))
            } else if fits(10, 24) {
                let rows = (choices.into_iter())
                    .map(|c| Row {
                        id: c.id,
                        title: c.title,
                        description: None,
                    })
                    .collect();
                let list = Outgoing::List(ListMessage {
                    body,
                    button: "Choose".into(),
                    sections: vec![Section {
                        title: "Options".into(),
                        rows,
                    }],
                });
                Some(("interactive", list))
            } else {
                let options: Vec<String> =
                    choices.iter().map(|c| format!("• {}", c.title)).collect();
                text(format!("{body}\n{}", options.join("\n")))
            }
        }
        BotReply::Image { url, caption } => text(match caption {
            Some(c) => format!("{c}\n{url}"),
            None => url.clone(),
        }),
        BotReply::Attachment(a) => text(a.clone()),
        BotReply::Custom(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::BotButton;

    fn buttons(titles: &[&str]) -> BotReply {
        BotReply::Buttons {
            text: "Pick one".into(),
            buttons: (titles.iter())
                .map(|t| BotButton {
                    title: t.to_string(),
                    payload: format!("/{}", t.to_lowercase()),
                })
                .collect(),
        }
    }

    #[test]
    fn a_bots_buttons_become_reply_buttons_a_list_or_a_listed_text() {
        let Some(("interactive", Outgoing::Buttons { buttons: b, .. })) =
            reply_message(&buttons(&["Track", "Agent"]))
        else {
            panic!("two short titles are reply buttons")
        };
        assert_eq!((b[0].id.as_str(), b[0].title.as_str()), ("/track", "Track"));
        let five = ["One", "Two", "Three", "Four", "Five"];
        assert!(matches!(
            reply_message(&buttons(&five)),
            Some(("interactive", Outgoing::List(l))) if l.sections[0].rows.len() == 5
        ));
        let long = ["Twenty-two characters!", "B"];
        assert!(matches!(
            reply_message(&buttons(&long)),
            Some(("interactive", Outgoing::List(_)))
        ));
        let eleven = ["x"; 11];
        let Some(("text", Outgoing::Text { body })) = reply_message(&buttons(&eleven)) else {
            panic!("more than ten choices are listed under the text")
        };
        assert!(body.starts_with("Pick one\n• x"), "{body}");
        assert_eq!(
            reply_message(&BotReply::Custom(json!({"close": true}))),
            None
        );
    }
}
