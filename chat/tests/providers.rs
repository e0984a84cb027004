//! Providers against local HTTP servers that check the exact requests, and Meta webhook
//! fixtures (tests/data/meta) modelled on Meta's documented payloads.

#![allow(clippy::unwrap_used)]

mod common;

use common::FakeProvider;
use deflect_chat::DeliveryStatus;
use deflect_chat::provider::kaleyra::KaleyraClient;
use deflect_chat::provider::meta::{self, MetaClient};
use deflect_chat::provider::meta_calls::{CallAction, CallEvent, Session, parse_calls};
use deflect_chat::provider::sinch::SinchClient;
use deflect_chat::provider::sms::SmsClient;
use deflect_chat::provider::twilio::{self, TwilioClient};
use deflect_chat::provider::{
    Button, Inbound, ListMessage, Outgoing, Row, Section, SendContext, SendError,
};
use serde_json::json;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/data/meta/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn account(fake: &FakeProvider, name: &str) -> deflect_config::AccountConfig {
    let s = common::settings(Some(fake.addr));
    s.whatsapp.account(name).unwrap().clone()
}

fn ctx(id: i64) -> SendContext {
    SendContext {
        correlation: deflect_chat::outbox::correlation(id),
        media: None,
    }
}

fn template() -> Outgoing {
    Outgoing::Template {
        name: "deflect_callback".into(),
        language: "en".into(),
        body_params: vec!["K7Q2MX".into()],
        button_payload: Some("deflect:K7Q2MX".into()),
        more_payloads: Vec::new(),
        content_sid: Some("HX0123456789abcdef0123456789abcdef".into()),
        named_params: Vec::new(),
        header: None,
        url_buttons: Vec::new(),
        variables: None,
        text: None,
    }
}

#[tokio::test]
async fn meta_sends_exactly_the_cloud_api_requests() {
    let fake = FakeProvider::start().await;
    let client = MetaClient::new(
        &account(&fake, "meta"),
        deflect_chat::provider::http_client(),
    );
    let sent = client
        .send("31612345678", &template(), &ctx(1))
        .await
        .unwrap();
    assert_eq!(sent.external_id.as_deref(), Some("wamid.fake1"));
    client
        .send(
            "31612345678",
            &Outgoing::Text {
                body: "Hello".into(),
            },
            &ctx(2),
        )
        .await
        .unwrap();
    client
        .send(
            "31612345678",
            &Outgoing::Buttons {
                body: "Pick one".into(),
                buttons: vec![Button {
                    id: "yes".into(),
                    title: "Yes".into(),
                }],
            },
            &ctx(3),
        )
        .await
        .unwrap();
    client
        .send("31612345678", &rating_list(), &ctx(4))
        .await
        .unwrap();
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 4);
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v24.0/106540352242922/messages");
        assert_eq!(r.headers["authorization"], "Bearer EAAG-test-token");
        assert_eq!(r.headers["content-type"], "application/json");
    }
    let body = |i: usize| serde_json::from_slice::<serde_json::Value>(&reqs[i].body).unwrap();
    assert_eq!(
        body(0),
        json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": "31612345678",
            "type": "template",
            "template": {
                "name": "deflect_callback", "language": {"code": "en"},
                "components": [
                    {"type": "body", "parameters": [{"type": "text", "text": "K7Q2MX"}]},
                    {"type": "button", "sub_type": "quick_reply", "index": "0",
                     "parameters": [{"type": "payload", "payload": "deflect:K7Q2MX"}]}
                ]
            },
            "biz_opaque_callback_data": "deflect-outbox-1"
        })
    );
    assert_eq!(
        body(1),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "31612345678",
               "type": "text", "text": {"preview_url": false, "body": "Hello"},
               "biz_opaque_callback_data": "deflect-outbox-2"})
    );
    assert_eq!(
        body(2),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "31612345678",
               "type": "interactive", "interactive": {"type": "button", "body": {"text": "Pick one"},
               "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]}},
               "biz_opaque_callback_data": "deflect-outbox-3"})
    );
    assert_eq!(
        body(3),
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "31612345678",
               "type": "interactive", "interactive": {"type": "list", "body": {"text": "How was it?"},
               "action": {"button": "Rate", "sections": [{"title": "Your rating", "rows": [
                   {"id": "csat:K7Q2MX:5", "title": "5"},
                   {"id": "csat:K7Q2MX:1", "title": "1"}
               ]}]}},
               "biz_opaque_callback_data": "deflect-outbox-4"})
    );
}

/// A list of two rows, as a 1–5 satisfaction survey sends it (shortened).
fn rating_list() -> Outgoing {
    let row = |score: u8| Row {
        id: format!("csat:K7Q2MX:{score}"),
        title: score.to_string(),
        description: None,
    };
    Outgoing::List(ListMessage {
        body: "How was it?".into(),
        button: "Rate".into(),
        sections: vec![Section {
            title: "Your rating".into(),
            rows: vec![row(5), row(1)],
        }],
    })
}

#[tokio::test]
async fn meta_errors_are_sorted_into_retry_and_rejected() {
    let fake = FakeProvider::start().await;
    let client = MetaClient::new(
        &account(&fake, "meta"),
        deflect_chat::provider::http_client(),
    );
    let cases = [
        (400, 131047, false),
        (400, 131026, false),
        (400, 132000, false),
        (400, 130429, true),
        (400, 131056, true),
        (500, 1, true),
    ];
    for (status, code, retry) in cases {
        fake.respond(status, &json!({"error": {"message": "m", "type": "OAuthException", "code": code, "fbtrace_id": "x"}}).to_string());
        let e = client
            .send("1", &Outgoing::Text { body: "x".into() }, &ctx(1))
            .await
            .unwrap_err();
        match e {
            SendError::Retry { .. } => assert!(retry, "{code} retried"),
            SendError::Rejected { code: c, .. } => {
                assert!(!retry, "{code} rejected");
                assert_eq!(c, Some(code));
            }
            SendError::Unknown { .. } => panic!("{code}: an answer came"),
        }
    }
}

/// A customer's WhatsApp call (tests/data/meta/calls_connect.json, Meta's `calls` field)
/// is read as a connect with their offer, and never as a message.
#[test]
fn a_calls_delivery_is_a_call_not_a_message() {
    let body = fixture("calls_connect.json");
    assert_eq!(meta::parse_webhook(&body).unwrap(), Vec::new());
    let delivery: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let calls = parse_calls(&delivery["entry"][0]["changes"][0]["value"]);
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].customer, "16505551234");
    // The whole delivery: the same call, with the number it called.
    assert_eq!(
        deflect_chat::provider::meta_calls::parse_webhook(&body),
        vec![(Some("106540352242922".to_owned()), calls[0].clone())]
    );
    // A messages delivery has no call.
    let messages = fixture("text.json");
    assert_eq!(
        deflect_chat::provider::meta_calls::parse_webhook(&messages),
        Vec::new()
    );
    match &calls[0].event {
        CallEvent::Connect(Session::Offer(sdp)) => assert!(sdp.contains("a=ice-lite"), "{sdp}"),
        other => panic!("a customer's call carries their offer: {other:?}"),
    }
}

/// Call actions go to `/{phone_number_id}/calls` with the account's token; a `connect`
/// is answered with the new call's id, an error as for messages.
#[tokio::test]
async fn meta_call_actions_post_to_the_calls_endpoint() {
    let fake = FakeProvider::start().await;
    let client = MetaClient::new(
        &account(&fake, "meta"),
        deflect_chat::provider::http_client(),
    );
    fake.respond(200, r#"{"success":true}"#);
    let answer = CallAction::PreAccept {
        call_id: "wacid.1",
        answer: "v=0\r\n",
    };
    assert_eq!(client.call(&answer).await.unwrap(), None);
    fake.respond(
        200,
        r#"{"messaging_product":"whatsapp","calls":[{"id":"wacid.HBgL"}]}"#,
    );
    let connect = CallAction::Connect {
        to: "31612345678",
        offer: "v=0\r\n",
        callback_data: None,
    };
    assert_eq!(
        client.call(&connect).await.unwrap().as_deref(),
        Some("wacid.HBgL")
    );
    fake.respond(
        400,
        r#"{"error":{"message":"No approved call permission","code":138006}}"#,
    );
    match client.call(&connect).await {
        Err(SendError::Rejected { code, .. }) => assert_eq!(code, Some(138_006)),
        other => panic!("no permission is a refusal: {other:?}"),
    }
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        assert_eq!(r.path, "/v24.0/106540352242922/calls");
        assert_eq!(r.headers["authorization"], "Bearer EAAG-test-token");
    }
    let body: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(body["action"], "pre_accept");
    assert_eq!(body["session"]["sdp_type"], "answer");
}

#[tokio::test]
async fn twilio_sends_form_posts_with_basic_auth() {
    let fake = FakeProvider::start().await;
    let client = TwilioClient::new(
        &account(&fake, "twilio"),
        deflect_chat::provider::http_client(),
        None,
    );
    assert!(!client.confirms_by_callback(), "no public URL to call back");
    let sent = client
        .send("31612345678", &template(), &ctx(1))
        .await
        .unwrap();
    assert_eq!(sent.external_id.as_deref(), Some("SMfake1"));
    client
        .send(
            "31612345678",
            &Outgoing::Text {
                body: "Hi there & welcome".into(),
            },
            &ctx(2),
        )
        .await
        .unwrap();
    client
        .send("31612345678", &rating_list(), &ctx(3))
        .await
        .unwrap();
    let reqs = fake.requests();
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.path,
            "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
        );
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD
            .encode("AC0123456789abcdef0123456789abcdef:twilio-token");
        assert_eq!(
            r.headers["authorization"],
            format!("Basic {basic}").as_str()
        );
        assert_eq!(
            r.headers["content-type"],
            "application/x-www-form-urlencoded"
        );
    }
    let form = |i: usize| twilio::parse_form(&reqs[i].body);
    let f = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        form(0),
        vec![
            f("From", "whatsapp:+31207654321"),
            f("To", "whatsapp:+31612345678"),
            f("ContentSid", "HX0123456789abcdef0123456789abcdef"),
            f("ContentVariables", r#"{"1":"K7Q2MX","2":"deflect:K7Q2MX"}"#),
        ]
    );
    assert_eq!(
        form(1),
        vec![
            f("From", "whatsapp:+31207654321"),
            f("To", "whatsapp:+31612345678"),
            f("Body", "Hi there & welcome")
        ]
    );
    assert_eq!(
        form(2),
        vec![
            f("From", "whatsapp:+31207654321"),
            f("To", "whatsapp:+31612345678"),
            f("Body", "How was it?\nReply 5 or 1")
        ],
        "no lists on Twilio: the rows' titles as text"
    );
    fake.respond(
        400,
        r#"{"code": 63016, "message": "outside window", "status": 400}"#,
    );
    let e = client
        .send("1", &Outgoing::Text { body: "x".into() }, &ctx(3))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SendError::Rejected {
            code: Some(63016),
            message: "outside window".into()
        }
    );
    // With the gateway's public URL, each send names its status callback, which carries
    // the send's correlation back.
    let base: url::Url = "https://chat.example.com/".parse().unwrap();
    let client = TwilioClient::new(
        &account(&fake, "twilio"),
        deflect_chat::provider::http_client(),
        Some(&base),
    );
    assert!(client.confirms_by_callback());
    client
        .send("31612345678", &Outgoing::Text { body: "x".into() }, &ctx(7))
        .await
        .unwrap();
    let last = fake.requests().pop().unwrap();
    let form = twilio::parse_form(&last.body);
    let callback = &form.iter().find(|(k, _)| k == "StatusCallback").unwrap().1;
    assert_eq!(
        callback,
        "https://chat.example.com/webhooks/twilio/twilio?correlation=deflect-outbox-7"
    );
    let mut status = twilio::parse_callback(&twilio::parse_form(
        b"MessageSid=SMfake9&MessageStatus=delivered&AccountSid=AC1",
    ))
    .unwrap();
    twilio::correlate(&mut status, Some("correlation=deflect-outbox-7"));
    let Inbound::Status(s) = status else { panic!() };
    assert_eq!(s.correlation.as_deref(), Some("deflect-outbox-7"));
}

fn sinch_account(fake: &FakeProvider) -> deflect_config::AccountConfig {
    let base: url::Url = format!("http://{}", fake.addr).parse().unwrap();
    deflect_config::AccountConfig {
        name: "sinch".into(),
        provider: deflect_config::Provider::Sinch,
        business_number: "+46732000000".into(),
        project_id: Some("P1".into()),
        app_id: Some("APP1".into()),
        region: Some("eu".into()),
        key_id: Some("key-id".into()),
        key_secret: Some(deflect_config::Secret::new("key-secret")),
        webhook_secret: Some(deflect_config::Secret::new("hook-secret")),
        token_url: Some(base.join("/oauth2/token").unwrap()),
        api_base_url: Some(base),
        ..Default::default()
    }
}

#[tokio::test]
async fn sinch_sends_conversation_api_requests_with_one_token_until_it_is_refused() {
    let fake = FakeProvider::start().await;
    let client = SinchClient::new(&sinch_account(&fake), deflect_chat::provider::http_client());
    let token = |t: &str| {
        format!(r#"{{"access_token":"{t}","expires_in":3599,"scope":"","token_type":"bearer"}}"#)
    };
    let accepted =
        |id: &str| format!(r#"{{"message_id":"{id}","accepted_time":"2026-12-05T12:00:00Z"}}"#);
    fake.respond(200, &token("T1"));
    fake.respond(200, &accepted("01M1"));
    fake.respond(200, &accepted("01M2"));
    fake.respond(200, &accepted("01M3"));
    let sent = client
        .send("+46732001122", &template(), &ctx(1))
        .await
        .unwrap();
    assert_eq!(sent.external_id.as_deref(), Some("01M1"));
    let buttons = Outgoing::Buttons {
        body: "Pick one".into(),
        buttons: vec![Button {
            id: "y".into(),
            title: "Yes".into(),
        }],
    };
    client.send("46732001122", &buttons, &ctx(2)).await.unwrap();
    client
        .send("46732001122", &rating_list(), &ctx(3))
        .await
        .unwrap();
    // The token has been revoked: Sinch says 401; a new token, and the send again.
    fake.respond(
        401,
        r#"{"error":{"code":401,"message":"Unauthorized","status":"UNAUTHENTICATED"}}"#,
    );
    fake.respond(200, &token("T2"));
    fake.respond(200, &accepted("01M4"));
    let link = Outgoing::CtaUrl {
        body: "Track it".into(),
        display_text: "Track".into(),
        url: "https://example.com/t/1".into(),
    };
    let sent = client.send("46732001122", &link, &ctx(4)).await.unwrap();
    assert_eq!(sent.external_id.as_deref(), Some("01M4"));

    let reqs = fake.requests();
    let paths: Vec<(&str, &str)> = reqs
        .iter()
        .map(|r| {
            (
                r.path.as_str(),
                r.headers.get("authorization").unwrap().to_str().unwrap(),
            )
        })
        .collect();
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("key-id:key-secret")
    );
    let send = "/v1/projects/P1/messages:send";
    assert_eq!(
        paths,
        vec![
            ("/oauth2/token", basic.as_str()),
            (send, "Bearer T1"),
            (send, "Bearer T1"),
            (send, "Bearer T1"),
            (send, "Bearer T1"),
            ("/oauth2/token", basic.as_str()),
            (send, "Bearer T2"),
        ]
    );
    assert_eq!(&reqs[0].body[..], b"grant_type=client_credentials");
    let body = |i: usize| serde_json::from_slice::<serde_json::Value>(&reqs[i].body).unwrap();
    let recipient = json!({"identified_by": {"channel_identities": [{"channel": "WHATSAPP", "identity": "46732001122"}]}});
    assert_eq!(
        body(1),
        json!({
            "app_id": "APP1", "recipient": recipient,
            "message": {"template_message": {"channel_template": {"WHATSAPP": {
                "template_id": "deflect_callback", "language_code": "en",
                "parameters": {"body[1]text": "K7Q2MX", "button[0]quick_reply[1]payload": "deflect:K7Q2MX"}}}}},
            "channel_priority_order": ["WHATSAPP"],
            "correlation_id": "deflect-outbox-1", "message_metadata": "deflect-outbox-1",
        })
    );
    assert_eq!(
        body(2)["message"],
        json!({"choice_message": {"text_message": {"text": "Pick one"},
        "choices": [{"text_message": {"text": "Yes"}, "postback_data": "y"}]}})
    );
    assert_eq!(
        body(3)["message"],
        json!({"list_message": {"title": "How was it?",
        "sections": [{"title": "Your rating", "items": [
            {"choice": {"title": "5", "postback_data": "csat:K7Q2MX:5"}},
            {"choice": {"title": "1", "postback_data": "csat:K7Q2MX:1"}}]}],
        "message_properties": {"menu": "Rate"}}})
    );
    assert_eq!(
        body(6)["message"],
        json!({"choice_message": {"text_message": {"text": "Track it"},
        "choices": [{"url_message": {"title": "Track", "url": "https://example.com/t/1"}}]}})
    );
    assert_eq!(body(6)["correlation_id"], "deflect-outbox-4");

    // Errors: 429 and 5xx are retried later, the others rejected; bad access keys reject.
    for (status, retry) in [(429, true), (503, true), (400, false), (403, false)] {
        fake.respond(
            status,
            r#"{"error":{"code":400,"message":"Invalid argument","status":"INVALID_ARGUMENT"}}"#,
        );
        let e = client
            .send("1", &Outgoing::Text { body: "x".into() }, &ctx(9))
            .await
            .unwrap_err();
        match (e, retry) {
            (SendError::Retry { code, .. }, true) | (SendError::Rejected { code, .. }, false) => {
                assert_eq!(code, Some(i64::from(status)));
            }
            (e, _) => panic!("{status}: {e:?}"),
        }
    }
    let wrong = SinchClient::new(&sinch_account(&fake), deflect_chat::provider::http_client());
    fake.respond(
        401,
        r#"{"error":"invalid_client","error_description":"Client authentication failed"}"#,
    );
    let e = wrong
        .send("1", &Outgoing::Text { body: "x".into() }, &ctx(9))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SendError::Rejected {
            code: None,
            message:
                "Sinch's token endpoint answered 401 Unauthorized: Client authentication failed"
                    .into()
        }
    );
}

#[tokio::test]
async fn kaleyra_sends_cloud_api_messages_in_its_envelope_with_the_api_key() {
    let fake = FakeProvider::start().await;
    let account = deflect_config::AccountConfig {
        name: "kaleyra".into(),
        provider: deflect_config::Provider::Kaleyra,
        business_number: "+919800000000".into(),
        account_sid: Some("HXIN1700000000IN".into()),
        region: Some("in".into()),
        api_key: Some(deflect_config::Secret::new("k-key")),
        webhook_secret: Some(deflect_config::Secret::new(
            "0123456789abcdef0123456789abcdef",
        )),
        api_base_url: Some(format!("http://{}", fake.addr).parse().unwrap()),
        ..Default::default()
    };
    let client = KaleyraClient::new(&account, deflect_chat::provider::http_client());
    let sent = client
        .send("919000000001", &template(), &ctx(1))
        .await
        .unwrap();
    assert_eq!(sent.external_id.as_deref(), Some("wamid.fake1"));
    client
        .send("919000000001", &rating_list(), &ctx(2))
        .await
        .unwrap();
    let reqs = fake.requests();
    for (i, r) in reqs.iter().enumerate() {
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.path,
            "/v2/HXIN1700000000IN/whatsapp/+919800000000/messages"
        );
        assert_eq!(r.headers["api-key"], "k-key");
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let message = [template(), rating_list()][i].clone();
        assert_eq!(
            body,
            json!({
                "messaging_object": meta::request_body("919000000001", &message, None),
                "extra_info": {"ref": format!("deflect-outbox-{}", i + 1)},
            })
        );
    }
    fake.respond(
        401,
        r#"{"code":"RBC001","message":"Incorrect SID or API key"}"#,
    );
    let e = client
        .send("1", &Outgoing::Text { body: "x".into() }, &ctx(3))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SendError::Rejected {
            code: Some(401),
            message: "RBC001: Incorrect SID or API key".into()
        }
    );
}

#[tokio::test]
async fn sms_fallbacks_go_through_sinchs_batches_or_twilios_messages() {
    let fake = FakeProvider::start().await;
    let base: url::Url = format!("http://{}", fake.addr).parse().unwrap();
    let mut account = account(&fake, "twilio");
    account.sms_fallback = Some(deflect_config::SmsFallbackConfig {
        provider: deflect_config::SmsProvider::Sinch,
        from: "Acme".into(),
        service_plan_id: Some("jd63jf88477ll123ab4567cd89012ef3".into()),
        api_token: Some(deflect_config::Secret::new("sms-token")),
        region: Some("eu".into()),
        api_base_url: Some(base.clone()),
        ..Default::default()
    });
    let sinch =
        SmsClient::for_account(&account, deflect_chat::provider::http_client(), None).unwrap();
    fake.respond(201, r#"{"id":"01FC66621XXXXX119Z8PMV1QPQ","to":["+31612345678"],"from":"Acme","canceled":false,"body":"Hi","type":"mt_text"}"#);
    let sent = sinch
        .send("31612345678", "Hi", "deflect-outbox-4")
        .await
        .unwrap();
    assert_eq!(
        sent.external_id.as_deref(),
        Some("01FC66621XXXXX119Z8PMV1QPQ")
    );
    let r = fake.requests().pop().unwrap();
    assert_eq!(r.path, "/xms/v1/jd63jf88477ll123ab4567cd89012ef3/batches");
    assert_eq!(r.headers["authorization"], "Bearer sms-token");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        json!({"from": "Acme", "to": ["+31612345678"], "body": "Hi", "type": "mt_text",
                            "client_reference": "deflect-outbox-4"})
    );
    fake.respond(
        400,
        r#"{"code":"syntax_constraint_violation","text":"from is invalid"}"#,
    );
    let e = sinch
        .send("31612345678", "Hi", "deflect-outbox-5")
        .await
        .unwrap_err();
    assert_eq!(
        e,
        SendError::Rejected {
            code: Some(400),
            message: "syntax_constraint_violation: from is invalid".into()
        }
    );
    fake.respond(503, "{}");
    assert!(matches!(
        sinch.send("1", "x", "c").await,
        Err(SendError::Retry { .. })
    ));

    // Twilio: a Twilio WhatsApp account lends its SID and token.
    account.sms_fallback = Some(deflect_config::SmsFallbackConfig {
        from: "+3197010200300".into(),
        api_base_url: Some(base),
        ..Default::default()
    });
    let twilio =
        SmsClient::for_account(&account, deflect_chat::provider::http_client(), None).unwrap();
    twilio.send("31612345678", "Hi & bye", "c").await.unwrap();
    let r = fake.requests().pop().unwrap();
    assert_eq!(
        r.path,
        "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
    );
    let form = twilio::parse_form(&r.body);
    let f = |k: &str, v: &str| (k.to_string(), v.to_string());
    assert_eq!(
        form,
        vec![
            f("From", "+3197010200300"),
            f("To", "+31612345678"),
            f("Body", "Hi & bye")
        ]
    );

    // With a public address, each SMS asks for its delivery report at the account's SMS
    // webhook: Twilio's StatusCallback (with the send's correlation), Sinch's final
    // per-recipient report.
    let public: url::Url = "https://gw.example.com/".parse().unwrap();
    let http = deflect_chat::provider::http_client();
    let twilio = SmsClient::for_account(&account, http.clone(), Some(&public)).unwrap();
    twilio
        .send("31612345678", "Hi", "deflect-outbox-9")
        .await
        .unwrap();
    let form = twilio::parse_form(&fake.requests().pop().unwrap().body);
    assert_eq!(
        form.last(),
        Some(&f(
            "StatusCallback",
            "https://gw.example.com/webhooks/sms/twilio?correlation=deflect-outbox-9"
        ))
    );
    account.sms_fallback = Some(deflect_config::SmsFallbackConfig {
        provider: deflect_config::SmsProvider::Sinch,
        from: "Acme".into(),
        service_plan_id: Some("jd63jf88477ll123ab4567cd89012ef3".into()),
        api_token: Some(deflect_config::Secret::new("sms-token")),
        region: Some("eu".into()),
        api_base_url: Some(format!("http://{}", fake.addr).parse().unwrap()),
        ..Default::default()
    });
    let sinch = SmsClient::for_account(&account, http, Some(&public)).unwrap();
    fake.respond(201, r#"{"id":"01FC66621XXXXX119Z8PMV1QPR"}"#);
    sinch
        .send("31612345678", "Hi", "deflect-outbox-10")
        .await
        .unwrap();
    let body: serde_json::Value =
        serde_json::from_slice(&fake.requests().pop().unwrap().body).unwrap();
    assert_eq!(
        body,
        json!({"from": "Acme", "to": ["+31612345678"], "body": "Hi", "type": "mt_text",
               "client_reference": "deflect-outbox-10", "delivery_report": "per_recipient_final",
               "callback_url": "https://gw.example.com/webhooks/sms/twilio"})
    );
}

/// Sinch's SMS callbacks as its API reference shows them, signed as Sinch signs them with the
/// fallback's `webhook_secret`: an inbound `mo_text` is the customer's SMS, a recipient's
/// final delivery report a status of the batch (its `client_reference` the send's
/// correlation), anything else ignored; a bad signature, or no secret, refuses them.
#[test]
fn sinch_sms_callbacks_are_verified_and_read() {
    use deflect_chat::provider::sms::{InboundSms, SmsCallback, receive};
    use deflect_chat::provider::webhook::{Delivery, Refusal};
    let mut account = deflect_config::AccountConfig {
        name: "main".into(),
        ..Default::default()
    };
    account.sms_fallback = Some(deflect_config::SmsFallbackConfig {
        provider: deflect_config::SmsProvider::Sinch,
        webhook_secret: Some(deflect_config::Secret::new("sms-callback-secret")),
        ..Default::default()
    });
    let post = |account: &deflect_config::AccountConfig, body: serde_json::Value, secret: &str| {
        let body = body.to_string();
        let (nonce, timestamp) = ("01FJA8B4A7BM43YGWSG9GBV067", "1764936000");
        let signature =
            deflect_chat::provider::sinch::sign(secret, body.as_bytes(), nonce, timestamp);
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-sinch-webhook-signature-nonce", nonce.parse().unwrap());
        headers.insert(
            "x-sinch-webhook-signature-timestamp",
            timestamp.parse().unwrap(),
        );
        headers.insert("x-sinch-webhook-signature", signature.parse().unwrap());
        let d = Delivery {
            url: "https://gw.example.com/webhooks/sms/main",
            headers: &headers,
            body: body.as_bytes(),
        };
        receive(account, &d)
    };
    let mo = json!({"type": "mo_text", "id": "01FC66621VHDBN119Z8PMV1AHY", "from": "31612345678",
                    "to": "3197010200300", "body": "Yes, call me at 3",
                    "received_at": "2026-12-06T10:00:00.000Z", "operator_id": "20408"});
    assert_eq!(
        post(&account, mo.clone(), "sms-callback-secret").unwrap(),
        SmsCallback::Message(InboundSms {
            external_id: "01FC66621VHDBN119Z8PMV1AHY".into(),
            from: "+31612345678".into(),
            body: "Yes, call me at 3".into(),
        })
    );
    assert!(matches!(
        post(&account, mo.clone(), "another-secret"),
        Err(Refusal::Unauthenticated)
    ));
    let report = |status: &str, code: i64| {
        json!({"type": "recipient_delivery_report_sms", "batch_id": "01FC66621XXXXX119Z8PMV1QPQ",
               "recipient": "+31612345678", "code": code, "status": status,
               "at": "2026-12-06T10:00:01.000Z", "client_reference": "deflect-outbox-4"})
    };
    let SmsCallback::Status(s) =
        post(&account, report("Delivered", 0), "sms-callback-secret").unwrap()
    else {
        panic!("a status")
    };
    assert_eq!(
        (
            s.external_id.as_str(),
            s.correlation.as_deref(),
            s.status,
            s.error_code
        ),
        (
            "01FC66621XXXXX119Z8PMV1QPQ",
            Some("deflect-outbox-4"),
            deflect_chat::DeliveryStatus::Delivered,
            None
        )
    );
    let SmsCallback::Status(s) =
        post(&account, report("Failed", 401), "sms-callback-secret").unwrap()
    else {
        panic!("a status")
    };
    assert_eq!(
        (s.status, s.error_code, s.error_title.as_deref()),
        (
            deflect_chat::DeliveryStatus::Failed,
            Some(401),
            Some("SMS failed")
        )
    );
    let binary = json!({"type": "mo_binary", "id": "x", "from": "31612345678", "to": "1",
                        "body": "AAEC", "udh": "00"});
    assert_eq!(
        post(&account, binary, "sms-callback-secret").unwrap(),
        SmsCallback::Ignored
    );
    let dispatched = report("Dispatched", 0);
    assert_eq!(
        post(&account, dispatched, "sms-callback-secret").unwrap(),
        SmsCallback::Ignored
    );
    // No webhook secret: Sinch's callbacks are refused, whatever they carry.
    account.sms_fallback.as_mut().unwrap().webhook_secret = None;
    assert!(matches!(
        post(&account, mo, "sms-callback-secret"),
        Err(Refusal::NoWebhooks)
    ));
}

fn messages(items: &[(Option<String>, Inbound)]) -> Vec<&deflect_chat::provider::InboundMessage> {
    items
        .iter()
        .filter_map(|(_, i)| match i {
            Inbound::Message(m) => Some(&**m),
            Inbound::Status(_) => None,
        })
        .collect()
}

#[test]
fn meta_fixtures_parse_every_entry_change_message_and_status() {
    let t = meta::parse_webhook(&fixture("text.json")).unwrap();
    let m = messages(&t)[0];
    assert_eq!(t[0].0.as_deref(), Some("106540352242922"));
    assert_eq!((m.kind.as_str(), m.from.as_str()), ("text", "16505551234"));
    assert_eq!(m.body.as_deref(), Some("Does it come in another color?"));
    assert_eq!(m.profile_name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(m.timestamp, 1_767_225_600_000);

    let b = meta::parse_webhook(&fixture("button_reply.json")).unwrap();
    let m = messages(&b)[0];
    assert_eq!(m.kind, "button");
    assert_eq!(m.context_id.as_deref(), Some("CONTEXT_WAMID"));
    assert_eq!(m.button_payload.as_deref(), Some("BUTTON_PAYLOAD"));
    assert_eq!(m.body.as_deref(), Some("Chat with us"));

    // Interactive replies (reply buttons, list rows) arrive with the id we sent as payload.
    for (file, payload, title) in [
        ("interactive_button_reply.json", "csat:K7Q2MX:5", "Good"),
        ("interactive_list_reply.json", "csat:K7Q2MX:4", "4"),
    ] {
        let r = meta::parse_webhook(&fixture(file)).unwrap();
        let m = messages(&r)[0];
        assert_eq!(m.kind, "interactive", "{file}");
        assert_eq!(m.button_payload.as_deref(), Some(payload), "{file}");
        assert_eq!(m.body.as_deref(), Some(title), "{file}");
        assert_eq!(m.context_id.as_deref(), Some("wamid.SURVEY"), "{file}");
    }

    let i = meta::parse_webhook(&fixture("image.json")).unwrap();
    let m = messages(&i)[0];
    assert_eq!(
        (m.kind.as_str(), m.body.as_deref()),
        ("image", Some("This is the broken part"))
    );
    assert_eq!(m.raw["image"]["id"], "1003383421387256");

    let u = meta::parse_webhook(&fixture("unknown.json")).unwrap();
    let ms = messages(&u);
    assert_eq!(ms.len(), 2, "kept, not dropped");
    assert!(ms.iter().all(|m| m.kind == "unsupported"));
    assert_eq!(
        ms[1].raw["hologram"]["id"], "42",
        "the original JSON is kept"
    );

    let batch = meta::parse_webhook(&fixture("batch.json")).unwrap();
    assert_eq!(messages(&batch).len(), 3);
    let statuses: Vec<_> = batch
        .iter()
        .filter_map(|(_, i)| match i {
            Inbound::Status(s) => Some((s.external_id.as_str(), s.status)),
            Inbound::Message(_) => None,
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("wamid.OUT.1", DeliveryStatus::Delivered),
            ("wamid.OUT.2", DeliveryStatus::Read)
        ]
    );
    let bob = messages(&batch)[1];
    assert_eq!(
        bob.profile_name.as_deref(),
        Some("Bob"),
        "the contact matching the sender"
    );

    let f = meta::parse_webhook(&fixture("failed_undeliverable.json")).unwrap();
    let Inbound::Status(s) = &f[0].1 else {
        panic!()
    };
    assert_eq!(
        (s.status, s.error_code),
        (DeliveryStatus::Failed, Some(131026))
    );
    assert_eq!(s.error_title.as_deref(), Some("Message undeliverable"));

    assert!(meta::parse_webhook(b"not json").is_err());
    assert!(meta::parse_webhook(b"{}").is_err());
}

/// Twilio's status callbacks for a fallback SMS (`StatusCallback` carrying the send's
/// correlation) are statuses of that SMS; its inbound form is the customer's SMS.
#[test]
fn twilio_sms_status_callbacks_are_statuses_of_the_sms() {
    use deflect_chat::provider::sms::{SmsCallback, receive};
    use deflect_chat::provider::webhook::Delivery;
    let mut account = deflect_config::AccountConfig {
        name: "main".into(),
        ..Default::default()
    };
    account.sms_fallback = Some(deflect_config::SmsFallbackConfig {
        account_sid: Some("AC0123456789abcdef0123456789abcdef".into()),
        auth_token: Some(deflect_config::Secret::new("sms-token")),
        ..Default::default()
    });
    let url = "https://gw.example.com/webhooks/sms/main?correlation=deflect-outbox-7";
    let post = |params: &[(&str, &str)]| {
        let params: Vec<(String, String)> = (params.iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let mut headers = axum::http::HeaderMap::new();
        let signature = twilio::sign("sms-token", url, &params);
        headers.insert("x-twilio-signature", signature.parse().unwrap());
        let d = Delivery {
            url,
            headers: &headers,
            body: body.as_bytes(),
        };
        receive(&account, &d).unwrap()
    };
    let failed = post(&[
        ("MessageSid", "SM9"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
    ]);
    let SmsCallback::Status(s) = failed else {
        panic!("a status: {failed:?}")
    };
    assert_eq!(
        (
            s.external_id.as_str(),
            s.correlation.as_deref(),
            s.status,
            s.error_code
        ),
        (
            "SM9",
            Some("deflect-outbox-7"),
            deflect_chat::DeliveryStatus::Failed,
            Some(30003)
        )
    );
    let answer = post(&[
        ("MessageSid", "SM10"),
        ("SmsStatus", "received"),
        ("From", "+31612345678"),
        ("Body", "Call me"),
    ]);
    assert!(
        matches!(&answer, SmsCallback::Message(m) if m.body == "Call me"),
        "{answer:?}"
    );
}
