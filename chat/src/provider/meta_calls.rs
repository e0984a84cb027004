//! The WhatsApp Business Calling API of Meta's Cloud API on the wire, sans IO: what the
//! `calls` webhook field carries and the bodies of the call actions.
//!
//! - Webhook (field `calls`, signed like `messages`): `value.calls[]` with `id`
//!   (`wacid…`), `from`, `to`, `event` (`connect` or `terminate`), `timestamp` (seconds, a
//!   string), `direction` (`USER_INITIATED` or `BUSINESS_INITIATED`); a `connect` carries
//!   `session {sdp_type, sdp}` — the customer's offer for a call they place, Meta's answer
//!   for one the business placed; a `terminate` carries `status` (`COMPLETED`, `FAILED`,
//!   `REJECTED`), `duration` (seconds) and, for a failure, `errors[]`. A call from a
//!   `voice_call` button or a `wa.me/call` link carries its `cta_payload` /
//!   `deeplink_payload`; a business-initiated call its `biz_opaque_callback_data`.
//!   `value.statuses[]` of `type: "call"` report a business-initiated call `RINGING`,
//!   `ACCEPTED` or `REJECTED`. ([`parse_calls`])
//! - Actions: `POST /{phone_number_id}/calls` with `messaging_product: "whatsapp"`,
//!   `action` and `call_id` — `pre_accept` and `accept` with deflect's SDP answer as
//!   `session {sdp_type: "answer", sdp}`, `reject`, `terminate` (sent even after the media
//!   ended) — or, to call a customer who gave permission, `connect` with `to` and deflect's
//!   offer; its answer names the new call (`calls[0].id`). ([`action_body`])
//! - Permission: `GET /{phone_number_id}/call_permissions?user_wa_id=<wa_id>` answers
//!   `permission {status, expiration_time}` (`permanent`, `temporary` until a time, or
//!   `no_permission`) and `actions[]` — `start_call` and `send_call_permission_request`, each
//!   with `can_perform_action` and `limits[] {time_period, max_allowed, current_usage,
//!   limit_expiration_time}` (an ISO 8601 period; seconds). Meta knows permissions deflect
//!   never saw (given in the business profile, or by calling with the callback permission
//!   on) and the limits on calls. ([`CallPermission`])
//!
//! Meta's offers are ICE-lite, Opus at 48 kHz (16 kHz audio) with `telephone-event/8000`
//! for digits, `a=setup:actpass`; its answer must carry exactly one SHA-256 fingerprint.

use serde::Deserialize;
use serde_json::{Value, json};

/// Who placed a WhatsApp call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallDirection {
    /// The customer called the business (`USER_INITIATED`).
    FromCustomer,
    /// The business called the customer (`BUSINESS_INITIATED`).
    ToCustomer,
}

/// An SDP carried by a call event or action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Session {
    /// `sdp_type: "offer"`.
    Offer(String),
    /// `sdp_type: "answer"`.
    Answer(String),
}

/// How a call ended, as its `terminate` event says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// It was connected and ended normally.
    Completed,
    /// The customer (or the business) declined it.
    Rejected,
    /// It failed: Meta's error code and text when given.
    Failed {
        /// `errors[0].code`.
        code: Option<i64>,
        /// `errors[0].message` (or `title`).
        message: Option<String>,
    },
    /// A status this version does not know, as sent.
    Other(String),
}

/// The progress of a call the business placed (`statuses[]` of `type: "call"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallProgress {
    /// The customer's phone rings.
    Ringing,
    /// They took it (the media follows the `connect` event).
    Accepted,
    /// They declined it (a `terminate` follows).
    Rejected,
    /// A status this version does not know, as sent.
    Other(String),
}

/// What happened to a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallEvent {
    /// `connect`: a customer's call with their offer, or Meta's answer to deflect's call.
    Connect(Session),
    /// `terminate`: the call is over; `duration` in seconds when it was connected.
    Terminate {
        /// How it ended.
        ended: Ended,
        /// Connected time in seconds.
        duration: Option<u64>,
    },
    /// A status of a call the business placed.
    Progress(CallProgress),
}

/// One item of a `calls` webhook change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallUpdate {
    /// Meta's call id (`wacid…`).
    pub call_id: String,
    /// The customer's WhatsApp id: `from` of a call they placed, `to` (or the status's
    /// `recipient_id`) of one the business placed.
    pub customer: String,
    /// Who placed the call (`None` for a status, which only business-initiated calls get).
    pub direction: Option<CallDirection>,
    /// When Meta saw the event (ms).
    pub timestamp: i64,
    /// The `cta_payload` of the `voice_call` button or the `deeplink_payload` of the link
    /// the customer called from.
    pub payload: Option<String>,
    /// The `biz_opaque_callback_data` deflect gave the call it placed.
    pub callback_data: Option<String>,
    /// What happened.
    pub event: CallEvent,
}

/// The call events of a webhook delivery (its `calls` changes), with the
/// `phone_number_id` each arrived for. A body that is not a webhook has none (the
/// messages' parser has refused it already).
pub fn parse_webhook(body: &[u8]) -> Vec<(Option<String>, CallUpdate)> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let entries = v["entry"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut out = Vec::new();
    for (number_id, value) in super::meta::changes(entries, "calls") {
        out.extend(
            parse_calls(value)
                .into_iter()
                .map(|c| (number_id.clone(), c)),
        );
    }
    out
}

/// The call events of one `calls` change's `value`; an item that names no call, no
/// customer or an event this version does not know is left out.
pub fn parse_calls(value: &Value) -> Vec<CallUpdate> {
    let calls = (value["calls"].as_array().into_iter().flatten()).filter_map(parse_call);
    let statuses = (value["statuses"].as_array().into_iter().flatten())
        .filter(|s| s["type"].as_str().is_none_or(|t| t == "call"))
        .filter_map(parse_progress);
    calls.chain(statuses).collect()
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

fn parse_call(c: &Value) -> Option<CallUpdate> {
    let direction = match c["direction"].as_str() {
        Some("BUSINESS_INITIATED") => CallDirection::ToCustomer,
        _ => CallDirection::FromCustomer,
    };
    let customer = match direction {
        CallDirection::FromCustomer => text(&c["from"]),
        CallDirection::ToCustomer => text(&c["to"]),
    }?;
    let event = match c["event"].as_str()? {
        "connect" => {
            let session = &c["session"];
            match (text(&session["sdp"]), session["sdp_type"].as_str()) {
                (Some(sdp), Some("answer")) => CallEvent::Connect(Session::Answer(sdp)),
                (Some(sdp), _) => CallEvent::Connect(Session::Offer(sdp)),
                // Meta's example of a business call's connect writes the answer here.
                (None, _) => {
                    CallEvent::Connect(Session::Answer(text(&c["connection"]["webrtc"]["sdp"])?))
                }
            }
        }
        "terminate" => CallEvent::Terminate {
            ended: ended(c),
            duration: c["duration"]
                .as_u64()
                .or_else(|| c["duration"].as_str().and_then(|d| d.parse().ok())),
        },
        _ => return None,
    };
    Some(CallUpdate {
        call_id: text(&c["id"])?,
        customer,
        direction: Some(direction),
        timestamp: super::meta::seconds(&c["timestamp"]),
        payload: text(&c["cta_payload"]).or_else(|| text(&c["deeplink_payload"])),
        callback_data: text(&c["biz_opaque_callback_data"]),
        event,
    })
}

fn ended(c: &Value) -> Ended {
    match c["status"].as_str().unwrap_or_default() {
        "COMPLETED" => Ended::Completed,
        "REJECTED" => Ended::Rejected,
        "FAILED" => {
            let error = &c["errors"][0];
            Ended::Failed {
                code: error["code"].as_i64(),
                message: text(&error["message"]).or_else(|| text(&error["title"])),
            }
        }
        other => Ended::Other(other.to_owned()),
    }
}

fn parse_progress(s: &Value) -> Option<CallUpdate> {
    let progress = match s["status"].as_str()? {
        "RINGING" => CallProgress::Ringing,
        "ACCEPTED" => CallProgress::Accepted,
        "REJECTED" => CallProgress::Rejected,
        other => CallProgress::Other(other.to_owned()),
    };
    Some(CallUpdate {
        call_id: text(&s["id"])?,
        customer: text(&s["recipient_id"])?,
        direction: None,
        timestamp: super::meta::seconds(&s["timestamp"]),
        payload: None,
        callback_data: text(&s["biz_opaque_callback_data"]),
        event: CallEvent::Progress(progress),
    })
}

/// A call action deflect asks of Meta.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallAction<'a> {
    /// Take a customer's call and set up the media with deflect's SDP answer, before it
    /// is accepted (the customer still hears ringing).
    PreAccept {
        /// The call.
        call_id: &'a str,
        /// deflect's SDP answer.
        answer: &'a str,
    },
    /// Accept it with the same answer: the media flows.
    Accept {
        /// The call.
        call_id: &'a str,
        /// deflect's SDP answer.
        answer: &'a str,
    },
    /// Decline a customer's call.
    Reject {
        /// The call.
        call_id: &'a str,
    },
    /// End a call (sent even when the media already ended).
    Terminate {
        /// The call.
        call_id: &'a str,
    },
    /// Call a customer who gave their permission, with deflect's SDP offer.
    Connect {
        /// Their WhatsApp id.
        to: &'a str,
        /// deflect's SDP offer.
        offer: &'a str,
        /// Returned with the call's statuses and events.
        callback_data: Option<&'a str>,
    },
}

impl CallAction<'_> {
    /// The action's name on the wire (`pre_accept`, `accept`, `reject`, `terminate`,
    /// `connect`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::PreAccept { .. } => "pre_accept",
            Self::Accept { .. } => "accept",
            Self::Reject { .. } => "reject",
            Self::Terminate { .. } => "terminate",
            Self::Connect { .. } => "connect",
        }
    }
}

/// The JSON body of `action` for `POST /{phone_number_id}/calls`.
pub fn action_body(action: &CallAction<'_>) -> Value {
    let answer = |sdp: &str| json!({ "sdp_type": "answer", "sdp": sdp });
    let on_call = |call_id: &str| json!({ "messaging_product": "whatsapp", "call_id": call_id, "action": action.name() });
    match *action {
        CallAction::PreAccept { call_id, answer: a }
        | CallAction::Accept { call_id, answer: a } => {
            let mut body = on_call(call_id);
            body["session"] = answer(a);
            body
        }
        CallAction::Reject { call_id } | CallAction::Terminate { call_id } => on_call(call_id),
        CallAction::Connect {
            to,
            offer,
            callback_data,
        } => {
            let mut body = json!({
                "messaging_product": "whatsapp",
                "to": to,
                "action": action.name(),
                "session": { "sdp_type": "offer", "sdp": offer },
            });
            if let Some(data) = callback_data {
                body["biz_opaque_callback_data"] = data.into();
            }
            body
        }
    }
}

/// The business's permission to call one customer, as Meta answers
/// `GET /{phone_number_id}/call_permissions?user_wa_id=` (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct CallPermission {
    /// Whether the customer allowed calls, and until when.
    pub permission: PermissionState,
    /// What the business may do now (`start_call`, `send_call_permission_request`).
    pub actions: Vec<PermissionAction>,
}

/// The customer's permission.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PermissionState {
    /// `permanent`, `temporary` or `no_permission`.
    pub status: String,
    /// When a temporary permission ends (seconds since the epoch).
    pub expiration_time: Option<i64>,
}

/// One action on the customer and its limits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PermissionAction {
    /// `start_call` or `send_call_permission_request`.
    pub action_name: String,
    /// Whether the business may take it now.
    pub can_perform_action: bool,
    /// The limits on it.
    pub limits: Vec<ActionLimit>,
}

/// How often an action may be taken in a period, and how much of it is used.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ActionLimit {
    /// The period, an ISO 8601 duration (`PT24H`, `P7D`).
    pub time_period: String,
    /// Times allowed in the period.
    pub max_allowed: u64,
    /// Times taken in it so far.
    pub current_usage: u64,
    /// When a reached limit lifts (seconds since the epoch).
    pub limit_expiration_time: Option<i64>,
}

impl CallPermission {
    /// The action called `name`, when Meta listed it.
    pub fn action(&self, name: &str) -> Option<&PermissionAction> {
        self.actions.iter().find(|a| a.action_name == name)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A user-initiated call's `connect` as Meta delivers it (shape of Meta's "User-initiated
    /// calls" page), with the button payload a `voice_call` button adds.
    #[test]
    fn a_customers_call_arrives_with_their_offer() {
        let value = json!({
            "messaging_product": "whatsapp",
            "metadata": { "phone_number_id": "436666719526789", "display_phone_number": "13175551399" },
            "contacts": [{ "profile": { "name": "Rahul" }, "wa_id": "918327538888" }],
            "calls": [{
                "id": "wacid.ABGGFjFVU2AfAgo6V",
                "from": "918327538888",
                "to": "13175551399",
                "event": "connect",
                "timestamp": "1671644824",
                "direction": "USER_INITIATED",
                "cta_payload": "deflected:call-7",
                "session": { "sdp_type": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 57.144.125.35\r\n" }
            }]
        });
        let calls = parse_calls(&value);
        assert_eq!(
            calls,
            [CallUpdate {
                call_id: "wacid.ABGGFjFVU2AfAgo6V".into(),
                customer: "918327538888".into(),
                direction: Some(CallDirection::FromCustomer),
                timestamp: 1_671_644_824_000,
                payload: Some("deflected:call-7".into()),
                callback_data: None,
                event: CallEvent::Connect(Session::Offer(
                    "v=0\r\no=- 1 2 IN IP4 57.144.125.35\r\n".into()
                )),
            }]
        );
    }

    #[test]
    fn terminations_say_how_the_call_ended_and_how_long_it_lasted() {
        let value = json!({ "calls": [
            { "id": "c1", "from": "15551234567", "to": "12345678900", "event": "terminate",
              "direction": "USER_INITIATED", "timestamp": "1733734771", "status": "COMPLETED",
              "start_time": 1733734738, "end_time": 1733734771, "duration": 33 },
            { "id": "c2", "from": "12345678900", "to": "15551234567", "event": "terminate",
              "direction": "BUSINESS_INITIATED", "timestamp": "1733734771", "status": "FAILED",
              "biz_opaque_callback_data": "conversation:42",
              "errors": [{ "code": 131000, "message": "Something went wrong" }] },
            { "id": "c3", "from": "15551234567", "event": "terminate", "status": "REJECTED" },
            { "id": "c4", "from": "15551234567", "event": "ringing" },
            { "from": "15551234567", "event": "terminate", "status": "COMPLETED" }
        ]});
        let calls = parse_calls(&value);
        let events: Vec<(&str, &str, &CallEvent)> = (calls.iter())
            .map(|c| (c.call_id.as_str(), c.customer.as_str(), &c.event))
            .collect();
        let failed = Ended::Failed {
            code: Some(131_000),
            message: Some("Something went wrong".into()),
        };
        assert_eq!(
            events,
            [
                (
                    "c1",
                    "15551234567",
                    &CallEvent::Terminate {
                        ended: Ended::Completed,
                        duration: Some(33)
                    }
                ),
                (
                    "c2",
                    "15551234567",
                    &CallEvent::Terminate {
                        ended: failed,
                        duration: None
                    }
                ),
                (
                    "c3",
                    "15551234567",
                    &CallEvent::Terminate {
                        ended: Ended::Rejected,
                        duration: None
                    }
                ),
            ],
            "unknown events and calls without an id are left out"
        );
        assert_eq!(calls[1].direction, Some(CallDirection::ToCustomer));
        assert_eq!(calls[1].callback_data.as_deref(), Some("conversation:42"));
    }

    #[test]
    fn a_business_call_reports_its_progress_and_meta_answers_its_offer() {
        let value = json!({
            "statuses": [
                { "id": "wacid.AB", "timestamp": "1671644824", "type": "call",
                  "status": "RINGING", "recipient_id": "163155536021" },
                { "id": "wamid.X", "timestamp": "1671644824", "type": "message",
                  "status": "delivered", "recipient_id": "163155536021" }
            ],
            "calls": [{ "id": "wacid.AB", "from": "13175551399", "to": "163155536021",
                "event": "connect", "timestamp": "1749196895", "direction": "BUSINESS_INITIATED",
                "biz_opaque_callback_data": "conversation:42",
                "session": { "sdp_type": "answer", "sdp": "v=0\r\n" } }]
        });
        let calls = parse_calls(&value);
        assert_eq!(calls.len(), 2, "a message's status is not a call's");
        assert_eq!(calls[0].customer, "163155536021");
        assert_eq!(
            calls[0].event,
            CallEvent::Connect(Session::Answer("v=0\r\n".into()))
        );
        assert_eq!(calls[1].event, CallEvent::Progress(CallProgress::Ringing));
        assert_eq!(calls[1].direction, None);
    }

    #[test]
    fn a_business_calls_answer_may_come_as_its_webrtc_connection() {
        let value = json!({ "calls": [{ "id": "wacid.AB", "from": "13175551399",
            "to": "163155536021", "event": "connect", "direction": "BUSINESS_INITIATED",
            "connection": { "webrtc": { "sdp": "v=0\r\n" } } }] });
        let calls = parse_calls(&value);
        assert_eq!(
            calls[0].event,
            CallEvent::Connect(Session::Answer("v=0\r\n".into()))
        );
        let without = json!({ "calls": [{ "id": "wacid.AB", "from": "1", "event": "connect" }] });
        assert!(
            parse_calls(&without).is_empty(),
            "a connect without SDP is left out"
        );
    }

    /// Meta's answer to the permission query (its "Get call permission state" example).
    #[test]
    fn a_permission_is_read_with_its_actions_and_limits() {
        let answer = json!({
            "messaging_product": "whatsapp",
            "permission": { "status": "temporary", "expiration_time": 1745343479 },
            "actions": [
                { "action_name": "send_call_permission_request", "can_perform_action": true,
                  "limits": [{ "time_period": "PT24H", "max_allowed": 1, "current_usage": 0 }] },
                { "action_name": "start_call", "can_perform_action": false,
                  "limits": [{ "time_period": "PT24H", "max_allowed": 5, "current_usage": 5,
                               "limit_expiration_time": 1745622600 }] }
            ]
        });
        let p: CallPermission = serde_json::from_value(answer).unwrap();
        assert_eq!(p.permission.status, "temporary");
        assert_eq!(p.permission.expiration_time, Some(1_745_343_479));
        let call = p.action("start_call").unwrap();
        assert!(!call.can_perform_action);
        assert_eq!(
            call.limits,
            [ActionLimit {
                time_period: "PT24H".into(),
                max_allowed: 5,
                current_usage: 5,
                limit_expiration_time: Some(1_745_622_600),
            }]
        );
        assert!(
            p.action("send_call_permission_request")
                .unwrap()
                .can_perform_action
        );
        let none: CallPermission =
            serde_json::from_value(json!({"permission": {"status": "no_permission"}})).unwrap();
        assert_eq!(none.action("start_call"), None);
    }

    #[test]
    fn actions_are_the_calls_endpoints_bodies() {
        assert_eq!(
            action_body(&CallAction::PreAccept {
                call_id: "wacid.1",
                answer: "v=0\r\n"
            }),
            json!({ "messaging_product": "whatsapp", "call_id": "wacid.1", "action": "pre_accept",
                    "session": { "sdp_type": "answer", "sdp": "v=0\r\n" } })
        );
        assert_eq!(
            action_body(&CallAction::Accept {
                call_id: "wacid.1",
                answer: "v=0\r\n"
            })["action"],
            "accept"
        );
        assert_eq!(
            action_body(&CallAction::Terminate { call_id: "wacid.1" }),
            json!({ "messaging_product": "whatsapp", "call_id": "wacid.1", "action": "terminate" })
        );
        assert_eq!(
            action_body(&CallAction::Reject { call_id: "wacid.1" })["action"],
            "reject"
        );
        assert_eq!(
            action_body(&CallAction::Connect {
                to: "31612345678",
                offer: "v=0\r\n",
                callback_data: Some("conversation:42")
            }),
            json!({ "messaging_product": "whatsapp", "to": "31612345678", "action": "connect",
                    "session": { "sdp_type": "offer", "sdp": "v=0\r\n" },
                    "biz_opaque_callback_data": "conversation:42" })
        );
    }
}
