//! The satisfaction survey (CSAT, `[inbox.automations] csat`, per account, site or flow):
//! when a conversation an agent answered closes, the customer is asked to rate it, and their
//! answer — and what they add after it — is kept on the conversation.
//!
//! - **Sending** ([`survey`]): only when the conversation's rules' `csat` is on (its
//!   account's, widget site's or IVR flow's: `Ctx::automations_of`), an agent wrote to the
//!   customer (never for conversations only bots or automations answered, never one merged
//!   into another or turned away by the whitelist), and the number is reachable. Inside the
//!   24 h window: `csat_question` with reply buttons (`good-neutral-bad`) or a list (`1-5`),
//!   each answer's id `csat:<reference>:<score>`; outside it, `csat_template` when set (its
//!   one body parameter the reference; on Twilio its Content SID), else nothing. Sender `automation`, rule `csat`.
//! - **Answers** ([`reply_to`], then [`record`]): a tapped answer (its payload names the
//!   conversation) or — on Twilio and the sandbox, where the survey is text, and for a
//!   template's quick replies — the customer's next words when they are an answer on the
//!   account's scale ([`crate::model::score_in_text`]), within 24 h of the survey, while they
//!   have no open conversation and the rated one is their last. The answer is stored in the
//!   rated (closed) conversation: nothing opens, reopens or queues. The score is kept
//!   (`conversation.rated`, `deflect_inbox_csat_answers_total{score}`), and
//!   `csat_follow_up`, when set, is asked.
//! - **Comment**: the customer's next text within an hour of their score, while they have no
//!   open conversation, is kept as the rating's comment (and stored in that conversation);
//!   `conversation.rated` is logged again with score and comment.
//! - **Web chat**: the widget is told in the `conversation.closed` event (`csat`: the
//!   question and the answers) and shows a rating; the visitor's score and comment come back
//!   through the widget ([`web_answer`]).

use super::{conversation_event, outgoing};
use crate::clock::Millis;
use crate::context::{Ctx, Scope};
use crate::model::{
    Channel, ChatError, Conversation, EventKind, NOT_WHITELISTED, WINDOW_MS, csat_in_payload,
    csat_payload, score_in_text,
};
use crate::provider::{Button, InboundMessage, ListMessage, Outgoing, Row, Section};
use crate::repo::{self, conversations::csat::Survey};
use crate::store::Tx;
use deflect_config::CsatScale;
use serde_json::json;

/// How long after a score the customer's next text is taken as their comment.
const COMMENT_WITHIN: Millis = 3600 * 1000;

/// Dispositions after which no survey goes out: the conversation goes on elsewhere.
const NO_SURVEY: &[&str] = &["merged", NOT_WHITELISTED];

/// Asks the customer of conversation `c` (as it was before it closes with `disposition`)
/// to rate it, when the rules above say so. On WhatsApp the survey is sent; for the web
/// channel the survey is returned, for the `conversation.closed` event that the widget
/// shows as a rating.
pub(crate) async fn survey(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    disposition: &str,
    now: Millis,
) -> Result<Option<serde_json::Value>, ChatError> {
    let rules = ctx.automations_of(c);
    if !rules.csat
        || c.unreachable
        || NO_SURVEY.contains(&disposition)
        || !repo::messages::agent_answered(tx, c.id).await?
    {
        return Ok(None);
    }
    let question = outgoing::conversation_text(&rules.csat_question, c, &[]);
    let account = match (c.channel, c.account.as_deref()) {
        (Channel::Web, _) => {
            repo::conversations::csat::set_sent(tx, c.id, now).await?;
            metrics::counter!("deflect_inbox_automations_total", "rule" => "csat").increment(1);
            let answers: Vec<_> = (rules.csat_scale.answers().iter())
                .map(|(score, title)| json!({ "score": score, "title": title }))
                .collect();
            return Ok(Some(json!({ "question": question, "answers": answers })));
        }
        (Channel::Whatsapp, Some(account)) => account,
        // No survey over SMS.
        (Channel::Whatsapp, None) | (Channel::Sms, _) => return Ok(None),
    };
    if c.window_open(now) {
        let request = request(rules.csat_scale, &c.reference, &question);
        let body = request.as_text();
        let send = outgoing::Send {
            kind: "interactive",
            body: &body,
            request,
            author: outgoing::Author::Automation,
            client_key: None,
        };
        outgoing::queue(ctx, tx, c, send, now).await?;
    } else if let Some(name) = &rules.csat_template {
        let account = ctx.account(account);
        let language = account
            .map(|a| a.templates.recontact.language.clone())
            .unwrap_or_else(|| "en".into());
        // Twilio addresses the template by its Content SID (the configuration checks it is one).
        let twilio = account.is_some_and(|a| a.provider == deflect_config::Provider::Twilio);
        let request = Outgoing::Template {
            name: name.clone(),
            language,
            body_params: vec![c.reference.clone()],
            button_payload: None,
            content_sid: twilio.then(|| name.clone()),
            named_params: Vec::new(),
            header: None,
            url_buttons: Vec::new(),
            more_payloads: Vec::new(),
            variables: None,
            text: None,
        };
        let body = format!("Template {name} (reference {})", c.reference);
        let send = outgoing::Send {
            kind: "template",
            body: &body,
            request,
            author: outgoing::Author::Automation,
            client_key: None,
        };
        outgoing::queue(ctx, tx, c, send, now).await?;
    } else {
        return Ok(None);
    }
    repo::conversations::csat::set_sent(tx, c.id, now).await?;
    metrics::counter!("deflect_inbox_automations_total", "rule" => "csat").increment(1);
    Ok(None)
}

/// The survey's interactive message: three reply buttons, or a list of five.
fn request(scale: CsatScale, reference: &str, question: &str) -> Outgoing {
    let answers = scale.answers().iter().map(|(score, title)| Button {
        id: csat_payload(reference, *score),
        title: (*title).to_string(),
    });
    match scale {
        CsatScale::GoodNeutralBad => Outgoing::Buttons {
            body: question.to_string(),
            buttons: answers.collect(),
        },
        CsatScale::OneToFive => Outgoing::List(ListMessage {
            body: question.to_string(),
            button: "Rate".into(),
            sections: vec![Section {
                title: "Your rating".into(),
                rows: answers
                    .map(|b| Row {
                        id: b.id,
                        title: b.title,
                        description: None,
                    })
                    .collect(),
            }],
        }),
    }
}

/// What a customer's message is to a survey.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// An answer: the message joins (closed) conversation `conversation`; `first` when it
    /// had no score yet (a later tap is stored, the first score kept).
    Score {
        /// The rated conversation.
        conversation: i64,
        /// 1–5.
        score: u8,
        /// Whether it is the conversation's first score.
        first: bool,
    },
    /// The comment on the rating of `conversation`.
    Comment {
        /// The rated conversation.
        conversation: i64,
    },
}

impl Reply {
    /// The conversation the message joins.
    pub(crate) fn conversation(&self) -> i64 {
        match self {
            Self::Score { conversation, .. } | Self::Comment { conversation } => *conversation,
        }
    }
}

/// Whether message `m` from contact identity `identity` on `account` answers a survey or
/// comments on a rating (see the module documentation); `open` is the identity's open
/// conversation on the account.
pub(crate) async fn reply_to(
    ctx: &Ctx,
    tx: &mut Tx,
    account: &str,
    identity: i64,
    open: Option<i64>,
    m: &InboundMessage,
    now: Millis,
) -> Result<Option<Reply>, ChatError> {
    if let Some((reference, score)) = m.button_payload.as_deref().and_then(csat_in_payload) {
        let s = repo::conversations::csat::by_reference(tx, reference, identity, account).await?;
        if let Some(s) = s.filter(|s| s.sent_at.is_some()) {
            return Ok(Some(Reply::Score {
                conversation: s.id,
                score,
                first: s.score.is_none(),
            }));
        }
        return Ok(None);
    }
    if open.is_some() {
        return Ok(None);
    }
    let Some(s) = repo::conversations::csat::latest_closed(tx, identity, account).await? else {
        return Ok(None);
    };
    // The rated conversation's rules (a deflected call's are its flow's, a widget's its
    // site's).
    let scope = Scope {
        account: Some(account),
        site: s.site.as_deref(),
        flow: s.flow.as_deref(),
    };
    let rules = ctx.automations_in(scope);
    if awaits_score(&s, now) {
        // A template's quick reply carries its own text as payload; a text its words.
        let words = [m.button_payload.as_deref(), m.body.as_deref()];
        let score = words
            .into_iter()
            .flatten()
            .find_map(|w| score_in_text(rules.csat_scale, w));
        return Ok(score.map(|score| Reply::Score {
            conversation: s.id,
            score,
            first: true,
        }));
    }
    let commenting = s.comment.is_none()
        && s.rated_at.is_some_and(|t| now - t < COMMENT_WITHIN)
        && !rules.csat_follow_up.is_empty()
        && m.kind == "text"
        && m.body.as_deref().is_some_and(|b| !b.trim().is_empty());
    Ok(commenting.then_some(Reply::Comment { conversation: s.id }))
}

/// Whether survey `s` waits for its score at `now`.
fn awaits_score(s: &Survey, now: Millis) -> bool {
    s.closed && s.score.is_none() && s.sent_at.is_some_and(|t| now - t < WINDOW_MS)
}

/// Records reply `r`, message `m` being stored in its conversation: the score (and the
/// follow-up question), or the comment.
pub(crate) async fn record(
    ctx: &Ctx,
    tx: &mut Tx,
    r: &Reply,
    m: &InboundMessage,
    now: Millis,
) -> Result<(), ChatError> {
    match *r {
        Reply::Score {
            conversation,
            score,
            first: true,
        } => {
            let c = rate(tx, conversation, score, now).await?;
            let follow_up = &ctx.automations_of(&c).csat_follow_up;
            if !follow_up.is_empty() {
                outgoing::automatic(ctx, tx, &c, follow_up, "csat_follow_up", now).await?;
            }
        }
        Reply::Score { first: false, .. } => {}
        Reply::Comment { conversation } => {
            let text = m.body.as_deref().unwrap_or_default().trim();
            comment(tx, conversation, text, now).await?;
        }
    }
    Ok(())
}

/// Keeps `score` as conversation `id`'s rating (`conversation.rated`, counted in
/// `deflect_inbox_csat_answers_total{score}`); returns the conversation.
async fn rate(tx: &mut Tx, id: i64, score: u8, now: Millis) -> Result<Conversation, ChatError> {
    repo::conversations::csat::rate(tx, id, score, now).await?;
    let data = json!({ "score": score });
    let c = conversation_event(tx, id, EventKind::ConversationRated, data, now).await?;
    metrics::counter!("deflect_inbox_csat_answers_total", "score" => score.to_string())
        .increment(1);
    Ok(c)
}

/// Keeps `text` as the comment on conversation `id`'s rating; `conversation.rated` is logged
/// again, now with the score and the comment together.
async fn comment(tx: &mut Tx, id: i64, text: &str, now: Millis) -> Result<(), ChatError> {
    repo::conversations::csat::set_comment(tx, id, text).await?;
    let score = repo::conversations::csat::by_id(tx, id)
        .await?
        .and_then(|s| s.score);
    let data = json!({ "score": score, "comment": text });
    conversation_event(tx, id, EventKind::ConversationRated, data, now).await?;
    Ok(())
}

/// A web visitor's answer to the rating the widget showed when conversation `c` closed:
/// their score (answered with the follow-up question to show, if any), or then their
/// comment. Refused when no rating was asked, the score is given already, or a comment
/// comes without a score, twice, more than an hour late or without a follow-up question.
pub(crate) async fn web_answer(
    ctx: &Ctx,
    tx: &mut Tx,
    c: &Conversation,
    answer: WebAnswer<'_>,
    now: Millis,
) -> Result<Option<String>, ChatError> {
    let s = repo::conversations::csat::by_id(tx, c.id)
        .await?
        .filter(|s| s.closed && s.sent_at.is_some())
        .ok_or_else(|| ChatError::Conflict("this conversation was not offered a rating".into()))?;
    let rules = ctx.automations_of(c);
    match answer {
        WebAnswer::Score(score) => {
            if !(1..=5).contains(&score) {
                return Err(ChatError::Invalid("a score is 1 to 5".into()));
            }
            if s.score.is_some() {
                return Err(ChatError::Conflict(
                    "the conversation is rated already".into(),
                ));
            }
            let c = rate(tx, c.id, score, now).await?;
            Ok(
                Some(outgoing::conversation_text(&rules.csat_follow_up, &c, &[]))
                    .filter(|t| !t.is_empty()),
            )
        }
        WebAnswer::Comment(text) => {
            let text = text.trim();
            if text.is_empty() || text.chars().count() > crate::model::MAX_TEXT {
                return Err(ChatError::Invalid(
                    "a comment needs 1 to 4096 characters".into(),
                ));
            }
            let open = s.comment.is_none()
                && !rules.csat_follow_up.is_empty()
                && s.rated_at.is_some_and(|t| now - t < COMMENT_WITHIN);
            if !open {
                return Err(ChatError::Conflict("no comment is asked for now".into()));
            }
            comment(tx, c.id, text, now).await?;
            Ok(None)
        }
    }
}

/// What a web visitor answers to the widget's rating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WebAnswer<'a> {
    /// Their score, 1–5.
    Score(u8),
    /// Their comment, after the score.
    Comment(&'a str),
}
