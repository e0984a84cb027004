//! A deflection as the inbox takes it — the finished IVR call asking for a WhatsApp
//! callback, the record the IVR made (defined in deflect-config, which the IVR shares) —
//! and what taking it did.

use serde::{Deserialize, Serialize};

/// A finished IVR call asking for a WhatsApp callback, and where it goes; its call as the
/// conversation shows it. Serialised flat (the call's fields, then `account` and `queue`),
/// as the `deflection.created` event carries it.
pub use deflect_config::{CallContext, Deflection};

/// One step of the IVR flow the caller went through ([`CallContext::path`]).
pub use deflect_config::PathStep;

/// What [`crate::Inbox::deflect`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deflected {
    /// The conversation.
    pub conversation_id: i64,
    /// Its reference (the template's parameter).
    pub reference: String,
    /// The template message.
    pub message_id: i64,
    /// False when this call id was deflected before (nothing new happened).
    pub created: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::InputMethod;

    /// The `deflection.created` event carries the deflection: its JSON stays flat, in this
    /// order.
    #[test]
    fn a_request_serialises_flat_as_before() {
        let req = Deflection {
            call: CallContext {
                call_id: "c1".into(),
                caller: Some("+31612345678".into()),
                callback_number: "+31687654321".into(),
                dialled_number: None,
                flow: Some("support".into()),
                language: Some("en".into()),
                started_at: 1_000,
                ended_at: 2_000,
                input_method: InputMethod::CallerNumber,
                transcript: None,
                path: Vec::new(),
            },
            account: Some("main".into()),
            queue: None,
        };
        let json = serde_json::to_string(&req).unwrap();
        assert_eq!(
            json,
            r#"{"call_id":"c1","caller":"+31612345678","callback_number":"+31687654321","dialled_number":null,"flow":"support","language":"en","started_at":1000,"ended_at":2000,"input_method":"caller_number","transcript":null,"path":[],"account":"main","queue":null}"#
        );
        assert_eq!(serde_json::from_str::<Deflection>(&json).unwrap(), req);
    }

    /// The conversation API's `call` object (and a webhook's) is the call alone: these
    /// fields, in this order, times in milliseconds, absent values as `null`, the path a
    /// list (empty when the IVR recorded none).
    #[test]
    fn a_call_context_serialises_as_before() {
        let call = CallContext {
            call_id: "c1".into(),
            caller: None,
            callback_number: "+31687654321".into(),
            dialled_number: Some("31201234567".into()),
            flow: None,
            language: None,
            started_at: 1_795_428_000_123,
            ended_at: 1_795_428_031_987,
            input_method: InputMethod::Speech,
            transcript: Some("zes twaalf".into()),
            path: Vec::new(),
        };
        let json = serde_json::to_string(&call).unwrap();
        assert_eq!(
            json,
            r#"{"call_id":"c1","caller":null,"callback_number":"+31687654321","dialled_number":"31201234567","flow":null,"language":null,"started_at":1795428000123,"ended_at":1795428031987,"input_method":"speech","transcript":"zes twaalf","path":[]}"#
        );
        assert_eq!(serde_json::from_str::<CallContext>(&json).unwrap(), call);
    }
}
