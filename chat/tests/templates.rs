//! Message templates from a local server speaking Meta's template listing
//! (`GET /{version}/{waba_id}/message_templates`, paged by `paging.next`, bearer token) and
//! Twilio's Content API (`GET /v1/ContentAndApprovals`, paged by `meta.next_page_url`, Basic
//! auth): read into the inbox's model, cached on both backends (a failed refresh keeps the
//! last list and says so), and sent with their parameters in Meta's and Twilio's send
//! formats, the message showing the text the customer received.

#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use deflect_chat::provider::templates::{TemplateSource, meta_page, twilio_page};
use deflect_chat::{HeaderMedia, TemplateButton, TemplateHeader};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const TOKEN: &str = "EAAG-test-token";
const WABA: &str = "102290129340398";
const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_TOKEN: &str = "twilio-token";
const CONTENT_SID: &str = "HX1234567890abcdef1234567890abcdef";

/// Page 1 of Meta's listing, as the Graph API answers it: a positional template with a text
/// header, footer and buttons, and a named one with an image header.
fn meta_first(base: &str) -> Value {
    json!({
      "data": [
        {
          "name": "order_update",
          "parameter_format": "POSITIONAL",
          "components": [
            { "type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
              "example": { "header_text": ["A-17"] } },
            { "type": "BODY", "text": "Hi {{1}}, your order ships on {{2}}.",
              "example": { "body_text": [["Ann", "Monday"]] } },
            { "type": "FOOTER", "text": "Example Shop" },
            { "type": "BUTTONS", "buttons": [
                { "type": "QUICK_REPLY", "text": "Thanks" },
                { "type": "URL", "text": "Track", "url": "https://shop.example/t/{{1}}",
                  "example": ["https://shop.example/t/A-17"] },
                { "type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+31201234567" }
            ] }
          ],
          "language": "en_US",
          "status": "APPROVED",
          "category": "UTILITY",
          "id": "1407680676729941"
        },
        {
          "name": "photo_ready",
          "parameter_format": "NAMED",
          "components": [
            { "type": "HEADER", "format": "IMAGE",
              "example": { "header_handle": ["4::aW1hZ2UvanBlZw==:ARZ"] } },
            { "type": "BODY", "text": "Hello {{first_name}}, your photo of {{device}} is ready.",
              "example": { "body_text_named_params": [
                { "param_name": "first_name", "example": "Ann" },
                { "param_name": "device", "example": "the phone" } ] } }
          ],
          "language": "en",
          "status": "APPROVED",
          "category": "UTILITY",
          "id": "1407680676729942"
        }
      ],
      "paging": {
        "cursors": { "before": "QVFIUk1", "after": "QVFIUl9" },
        "next": format!("{base}/v24.0/{WABA}/message_templates?fields=name,language,status,category,components,parameter_format&limit=100&after=QVFIUl9")
      }
    })
}

/// Page 2 (the last: no `paging.next`): a template waiting for review.
fn meta_last() -> Value {
    json!({
      "data": [
        {
          "name": "summer_sale",
          "parameter_format": "POSITIONAL",
          "components": [ { "type": "BODY", "text": "Sale! {{1}} off." } ],
          "language": "nl",
          "status": "PENDING",
          "category": "MARKETING",
          "id": "1407680676729943"
        },
        {
          "name": "deflect_recontact",
          "parameter_format": "POSITIONAL",
          "components": [
            { "type": "BODY", "text": "Hello again! Your reference is {{1}}.",
              "example": { "body_text": [["K7Q2MX"]] } },
            { "type": "BUTTONS", "buttons": [ { "type": "QUICK_REPLY", "text": "Chat with us" } ] }
          ],
          "language": "en",
          "status": "APPROVED",
          "category": "UTILITY",
          "id": "1407680676729944"
        }
      ],
      "paging": { "cursors": { "before": "QVFIUl9", "after": "QVFIUm" } }
    })
}

/// Page 1 of Twilio's Content and Approvals, as the Content API answers it.
fn twilio_first(base: &str) -> Value {
    json!({
      "contents": [
        {
          "date_created": "2026-11-01T10:00:00Z",
          "date_updated": "2026-11-02T10:00:00Z",
          "sid": CONTENT_SID,
          "account_sid": TWILIO_SID,
          "friendly_name": "repair_status",
          "language": "en",
          "variables": { "1": "Ann", "2": "ticket" },
          "types": {
            "twilio/call-to-action": {
              "body": "Hi {{1}}, your repair is ready.",
              "actions": [
                { "type": "URL", "title": "See it", "url": "https://shop.example/r/{{2}}" },
                { "type": "PHONE_NUMBER", "title": "Call", "phone": "+31201234567" }
              ]
            }
          },
          "approval_requests": {
            "type": "whatsapp",
            "name": "repair_status",
            "category": "UTILITY",
            "content_type": "twilio/call-to-action",
            "status": "approved",
            "rejection_reason": "",
            "allow_category_change": true
          }
        }
      ],
      "meta": {
        "page": 0,
        "page_size": 1,
        "first_page_url": format!("{base}/v1/ContentAndApprovals?PageSize=1&Page=0"),
        "previous_page_url": null,
        "url": format!("{base}/v1/ContentAndApprovals?PageSize=1&Page=0"),
        "next_page_url": format!("{base}/v1/ContentAndApprovals?PageSize=1&Page=1&PageToken=PTHX1"),
        "key": "contents"
      }
    })
}

/// Page 2 (the last): a quick-reply content never submitted to WhatsApp.
fn twilio_last(base: &str) -> Value {
    json!({
      "contents": [
        {
          "sid": "HXabcdefabcdefabcdefabcdefabcdefab",
          "account_sid": TWILIO_SID,
          "friendly_name": "feedback",
          "language": "en",
          "variables": {},
          "types": {
            "twilio/quick-reply": {
              "body": "Was this helpful?",
              "actions": [ { "title": "Yes", "id": "yes" }, { "title": "No", "id": "no" } ]
            }
          },
          "approval_requests": {}
        }
      ],
      "meta": {
        "page": 1,
        "page_size": 1,
        "first_page_url": format!("{base}/v1/ContentAndApprovals?PageSize=1&Page=0"),
        "previous_page_url": format!("{base}/v1/ContentAndApprovals?PageSize=1&Page=0&PageToken=PTHX0"),
        "url": format!("{base}/v1/ContentAndApprovals?PageSize=1&Page=1&PageToken=PTHX1"),
        "next_page_url": null,
        "key": "contents"
      }
    })
}

/// A request the fake received.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    uri: String,
    authorization: Option<String>,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Fake {
    seen: Arc<Mutex<Vec<Seen>>>,
    base: Arc<Mutex<String>>,
    /// Answer the listings with this status instead.
    failing: Arc<Mutex<Option<u16>>>,
}

/// A local server for Meta's and Twilio's template listings and sends.
struct FakeApis {
    addr: SocketAddr,
    fake: Fake,
}

impl FakeApis {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = Fake::default();
        *fake.base.lock().unwrap() = format!("http://{addr}");
        let app = axum::Router::new()
            .fallback(answer)
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, fake }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn fail(&self, status: Option<u16>) {
        *self.fake.failing.lock().unwrap() = status;
    }

    fn seen(&self) -> Vec<Seen> {
        self.fake.seen.lock().unwrap().clone()
    }

    fn sends(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.method == Method::POST)
            .collect()
    }
}

async fn answer(
    State(fake): State<Fake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let authorization = (headers.get("authorization"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    fake.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        uri: uri.to_string(),
        authorization: authorization.clone(),
        body: body.clone(),
    });
    let base = fake.base.lock().unwrap().clone();
    let path = uri.path();
    let query = uri.query().unwrap_or_default();
    let failing = *fake.failing.lock().unwrap();
    let json = |status: u16, v: Value| {
        (StatusCode::from_u16(status).unwrap(), axum::Json(v)).into_response()
    };
    if method == Method::GET {
        if let Some(status) = failing {
            return json(
                status,
                json!({"error": {"message": "Service temporarily unavailable", "code": 2}}),
            );
        }
        if path == format!("/v24.0/{WABA}/message_templates") {
            if authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
                return json(
                    401,
                    json!({"error": {"message": "Invalid OAuth access token", "code": 190}}),
                );
            }
            return if query.contains("after=QVFIUl9") {
                json(200, meta_last())
            } else {
                json(200, meta_first(&base))
            };
        }
        if path == "/v1/ContentAndApprovals" {
            use base64::Engine as _;
            let basic = base64::engine::general_purpose::STANDARD
                .encode(format!("{TWILIO_SID}:{TWILIO_TOKEN}"));
            if authorization.as_deref() != Some(&format!("Basic {basic}")) {
                return json(
                    401,
                    json!({"code": 20003, "message": "Authenticate", "status": 401}),
                );
            }
            return if query.contains("PageToken=PTHX1") {
                json(200, twilio_last(&base))
            } else {
                json(200, twilio_first(&base))
            };
        }
    }
    if method == Method::POST && path.ends_with("/messages") {
        return json(
            200,
            json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": "31612345678", "wa_id": "31612345678"}],
                "messages": [{"id": format!("wamid.T{}", fake.seen.lock().unwrap().len())}]
            }),
        );
    }
    if method == Method::POST && path.ends_with("/Messages.json") {
        return json(
            201,
            json!({"sid": format!("SM{:032}", fake.seen.lock().unwrap().len()), "status": "queued"}),
        );
    }
    json(
        404,
        json!({"error": {"message": "Unknown path", "code": 100}}),
    )
}

/// The accounts `meta` (with its WABA) and `twilio` at the fake.
fn accounts(base: &str) -> (deflect_config::AccountConfig, deflect_config::AccountConfig) {
    let settings = common::settings(Some(base.trim_start_matches("http://").parse().unwrap()));
    let mut meta = settings.whatsapp.account("meta").unwrap().clone();
    meta.business_account_id = Some(WABA.into());
    let mut twilio = settings.whatsapp.account("twilio").unwrap().clone();
    twilio.content_api_base_url = Some(base.parse().unwrap());
    (meta, twilio)
}

#[test]
fn metas_documented_listing_reads_into_templates() {
    let all: Vec<_> = [meta_first("https://graph.facebook.com"), meta_last()]
        .iter()
        .flat_map(|p| meta_page("main", p))
        .collect();
    assert_eq!(all.len(), 4);
    let order = &all[0];
    assert_eq!(
        (
            order.name.as_str(),
            order.language.as_str(),
            order.status.as_str()
        ),
        ("order_update", "en_US", "APPROVED")
    );
    assert_eq!(order.category.as_deref(), Some("UTILITY"));
    assert_eq!(order.body, "Hi {{1}}, your order ships on {{2}}.");
    assert_eq!(order.parameters, ["1", "2"]);
    assert!(order.positional());
    assert_eq!(order.examples.get("2").map(String::as_str), Some("Monday"));
    assert_eq!(
        order.header,
        Some(TemplateHeader::Text {
            text: "Order {{1}}".into(),
            parameter: Some("1".into())
        })
    );
    assert_eq!(order.footer.as_deref(), Some("Example Shop"));
    assert_eq!(
        order.buttons,
        [
            TemplateButton::QuickReply {
                text: "Thanks".into()
            },
            TemplateButton::Url {
                text: "Track".into(),
                url: "https://shop.example/t/{{1}}".into(),
                parameter: Some("1".into())
            },
            TemplateButton::PhoneNumber {
                text: "Call us".into(),
                phone_number: "+31201234567".into()
            },
        ]
    );
    let photo = &all[1];
    assert_eq!(photo.parameters, ["first_name", "device"]);
    assert!(!photo.positional());
    assert_eq!(
        photo.header,
        Some(TemplateHeader::Media {
            format: HeaderMedia::Image
        })
    );
    assert_eq!(
        photo.examples.get("device").map(String::as_str),
        Some("the phone")
    );
    assert_eq!(
        (all[2].status.as_str(), all[2].category.as_deref()),
        ("PENDING", Some("MARKETING"))
    );
}

#[test]
fn twilios_documented_listing_reads_into_templates() {
    let base = "https://content.twilio.com";
    let all: Vec<_> = [twilio_first(base), twilio_last(base)]
        .iter()
        .flat_map(|p| twilio_page("nl", p))
        .collect();
    assert_eq!(all.len(), 2);
    let repair = &all[0];
    assert_eq!(repair.name, "repair_status");
    assert_eq!(repair.status, "APPROVED");
    assert_eq!(repair.content_sid.as_deref(), Some(CONTENT_SID));
    assert_eq!(repair.body, "Hi {{1}}, your repair is ready.");
    assert_eq!(repair.parameters, ["1"]);
    assert_eq!(repair.examples.get("1").map(String::as_str), Some("Ann"));
    assert_eq!(
        repair.buttons[0],
        TemplateButton::Url {
            text: "See it".into(),
            url: "https://shop.example/r/{{2}}".into(),
            parameter: Some("2".into())
        }
    );
    let feedback = &all[1];
    assert_eq!(
        (feedback.name.as_str(), feedback.status.as_str()),
        ("feedback", "UNSUBMITTED")
    );
    assert_eq!(feedback.buttons.len(), 2);
}

#[tokio::test]
async fn both_listings_are_read_page_by_page_with_each_providers_credentials() {
    let api = FakeApis::start().await;
    let (meta, twilio) = accounts(&api.base());
    let http = deflect_chat::provider::http_client();
    let got = TemplateSource::for_account(&meta, http.clone())
        .unwrap()
        .fetch()
        .await
        .unwrap();
    let names: Vec<&str> = got.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "order_update",
            "photo_ready",
            "summer_sale",
            "deflect_recontact"
        ]
    );
    assert!(got.iter().all(|t| t.account == "meta"));
    let got = TemplateSource::for_account(&twilio, http.clone())
        .unwrap()
        .fetch()
        .await
        .unwrap();
    let names: Vec<&str> = got.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["repair_status", "feedback"]);
    let uris: Vec<String> = api.seen().iter().map(|s| s.uri.clone()).collect();
    assert_eq!(
        uris,
        [
            format!(
                "/v24.0/{WABA}/message_templates?fields=name,language,status,category,components,parameter_format&limit=100"
            ),
            format!(
                "/v24.0/{WABA}/message_templates?fields=name,language,status,category,components,parameter_format&limit=100&after=QVFIUl9"
            ),
            "/v1/ContentAndApprovals?PageSize=100".to_string(),
            "/v1/ContentAndApprovals?PageSize=1&Page=1&PageToken=PTHX1".to_string(),
        ]
    );
    // Without the WABA id, a Meta account has no listing; nor has the sandbox.
    let mut no_waba = meta.clone();
    no_waba.business_account_id = None;
    assert!(TemplateSource::for_account(&no_waba, http.clone()).is_none());
    api.fail(Some(503));
    let e = TemplateSource::for_account(&meta, http)
        .unwrap()
        .fetch()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("503"), "{e}");
    assert!(
        e.to_string().contains("Service temporarily unavailable"),
        "{e}"
    );
}

use common::{Backend, Env};
use deflect_chat::{ChatError, Parameters, TemplateValues};
use std::time::Duration;

/// An inbox whose `meta` (with its WABA) and `twilio` accounts are at the fake.
async fn env(b: Backend) -> (Env, FakeApis) {
    let api = FakeApis::start().await;
    let mut settings = common::settings(Some(api.addr));
    for a in &mut settings.whatsapp.accounts {
        match a.name.as_str() {
            "meta" => a.business_account_id = Some(WABA.into()),
            "twilio" => a.content_api_base_url = Some(api.base().parse().unwrap()),
            _ => {}
        }
    }
    (Env::with(b, settings).await, api)
}

fn names(list: &[deflect_chat::Template]) -> Vec<String> {
    list.iter()
        .map(|t| format!("{}/{}/{}", t.account, t.name, t.language))
        .collect()
}

/// A refresh caches both accounts' lists; agents read their accounts' approved ones (all
/// on request); a failed refresh keeps the list and says why; only supervisors and admins
/// refresh.
async fn listings_are_cached_scoped_and_kept_when_a_refresh_fails(b: Backend) {
    let (env, api) = env(b).await;
    let boss = env.supervisor().await;
    let got = env.inbox.refresh_templates(&boss, None).await.unwrap();
    let accounts: Vec<&str> = got.iter().map(|r| r.account.as_str()).collect();
    assert_eq!(accounts, ["meta", "twilio"]);
    assert!(
        got.iter()
            .all(|r| r.error.is_none() && r.succeeded_at == Some(common::T0))
    );
    assert_eq!(
        names(&env.inbox.templates(&boss, None, false).await.unwrap()),
        [
            "meta/deflect_recontact/en",
            "meta/order_update/en_US",
            "meta/photo_ready/en",
            "twilio/repair_status/en"
        ]
    );
    assert_eq!(
        env.inbox.templates(&boss, None, true).await.unwrap().len(),
        6
    );

    let meta_only = env.agent_with("ann", &["support"], &["meta".into()]).await;
    let seen = env.inbox.templates(&meta_only, None, true).await.unwrap();
    assert_eq!(
        names(&seen),
        [
            "meta/deflect_recontact/en",
            "meta/order_update/en_US",
            "meta/photo_ready/en",
            "meta/summer_sale/nl"
        ]
    );
    let e = env.inbox.templates(&meta_only, Some("twilio"), false).await;
    assert!(matches!(e, Err(ChatError::NotFound(_))), "{e:?}");
    let e = env.inbox.refresh_templates(&meta_only, None).await;
    assert!(matches!(e, Err(ChatError::Forbidden(_))), "{e:?}");

    // The provider fails: the list stays, the failure is recorded.
    api.fail(Some(500));
    env.clock.advance(Duration::from_secs(60));
    let got = env
        .inbox
        .refresh_templates(&boss, Some("meta"))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.attempted_at, common::T0 + 60_000);
    assert_eq!(r.succeeded_at, Some(common::T0));
    assert!(r.error.as_deref().unwrap().contains("500"), "{r:?}");
    assert_eq!(
        env.inbox
            .templates(&meta_only, None, false)
            .await
            .unwrap()
            .len(),
        3
    );
    let seen = env
        .inbox
        .template_refreshes(&meta_only, None)
        .await
        .unwrap();
    assert_eq!(seen.len(), 1, "an agent sees their accounts' listings only");
    // It comes back: the error is cleared.
    api.fail(None);
    let got = env
        .inbox
        .refresh_templates(&boss, Some("meta"))
        .await
        .unwrap();
    assert_eq!(got[0].error, None);
    // Another process reads the same cache.
    let other = env.another().await;
    assert_eq!(
        other
            .templates(&boss, Some("meta"), false)
            .await
            .unwrap()
            .len(),
        3
    );
}

/// A template with two parameters sent by an agent outside the 24 h window: Meta receives
/// its exact send format, the message shows the text the customer reads and keeps the
/// template's name, language and values; missing and extra values are refused by name.
async fn a_template_with_two_parameters_goes_out_in_metas_format(b: Backend) {
    let (env, api) = env(b).await;
    let boss = env.supervisor().await;
    env.inbox.refresh_templates(&boss, None).await.unwrap();
    let ann = env.agent("ann", &["support"]).await;
    let r = env
        .inbox
        .receive("meta", &[common::text("wamid.in1", "31612345678", "hi")])
        .await
        .unwrap();
    let conv = r.conversations[0];
    env.inbox.accept_offer(ann.agent_id, conv).await.unwrap();
    env.clock.advance(Duration::from_secs(25 * 3600));
    let outside = env.inbox.send_text(&ann, conv, "hello?", None).await;
    assert!(
        matches!(outside, Err(ChatError::OutsideWindow { .. })),
        "{outside:?}"
    );

    let mut values = TemplateValues {
        name: "order_update".into(),
        language: "en_US".into(),
        parameters: Parameters::List(vec!["Ann".into()]),
        header: Some(deflect_chat::HeaderValue {
            text: Some("A-17".into()),
            link: None,
        }),
        buttons: vec![deflect_chat::ButtonValue {
            index: 1,
            text: "A-17".into(),
        }],
    };
    let refuse = |e: Result<deflect_chat::Message, ChatError>| match e {
        Err(ChatError::Invalid(m)) => m,
        other => panic!("{other:?}"),
    };
    let m = refuse(env.inbox.send_template(&ann, conv, &values, None).await);
    assert!(m.starts_with("template.parameters[1]: missing"), "{m}");
    values.parameters = Parameters::List(vec!["Ann".into(), "Monday".into(), "x".into()]);
    let m = refuse(env.inbox.send_template(&ann, conv, &values, None).await);
    assert!(m.starts_with("template.parameters[2]"), "{m}");
    values.parameters = Parameters::List(vec!["Ann".into(), "Monday".into()]);
    let mut pending = values.clone();
    pending.name = "summer_sale".into();
    pending.language = "nl".into();
    let m = refuse(env.inbox.send_template(&ann, conv, &pending, None).await);
    assert!(m.contains("PENDING"), "{m}");

    let sent = env
        .inbox
        .send_template(&ann, conv, &values, Some("t1"))
        .await
        .unwrap();
    assert_eq!(sent.kind, "template");
    assert_eq!(
        sent.body.as_deref(),
        Some("Order A-17\n\nHi Ann, your order ships on Monday.\n\nExample Shop")
    );
    let payload = sent.payload.clone().unwrap();
    assert_eq!(payload["name"], "order_update");
    assert_eq!(payload["language"], "en_US");
    assert_eq!(payload["body_params"], json!(["Ann", "Monday"]));
    env.inbox.send_due().await.unwrap();
    let sends = api.sends();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].uri, "/v24.0/106540352242922/messages");
    assert_eq!(
        sends[0].authorization.as_deref(),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body: Value = serde_json::from_slice(&sends[0].body).unwrap();
    assert_eq!(body["type"], "template");
    assert_eq!(body["to"], "31612345678");
    assert_eq!(
        body["template"],
        json!({
            "name": "order_update",
            "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "A-17"}]},
                {"type": "body", "parameters": [
                    {"type": "text", "text": "Ann"}, {"type": "text", "text": "Monday"}]},
                {"type": "button", "sub_type": "url", "index": "1",
                 "parameters": [{"type": "text", "text": "A-17"}]}
            ]
        })
    );
    // The same key again is the same message, sent once.
    let again = env
        .inbox
        .send_template(&ann, conv, &values, Some("t1"))
        .await;
    assert_eq!(again.unwrap().id, sent.id);

    // A named template with an image header.
    let named = TemplateValues {
        name: "photo_ready".into(),
        language: "en".into(),
        parameters: Parameters::Named(
            [("first_name", "Ann"), ("device", "your phone")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        header: Some(deflect_chat::HeaderValue {
            text: None,
            link: Some("https://shop.example/p/1.jpg".into()),
        }),
        buttons: vec![],
    };
    let sent = env
        .inbox
        .send_template(&ann, conv, &named, None)
        .await
        .unwrap();
    assert_eq!(
        sent.body.as_deref(),
        Some("Hello Ann, your photo of your phone is ready.")
    );
    env.inbox.send_due().await.unwrap();
    let body: Value = serde_json::from_slice(&api.sends()[1].body).unwrap();
    assert_eq!(
        body["template"]["components"],
        json!([
            {"type": "header", "parameters": [
                {"type": "image", "image": {"link": "https://shop.example/p/1.jpg"}}]},
            {"type": "body", "parameters": [
                {"type": "text", "parameter_name": "first_name", "text": "Ann"},
                {"type": "text", "parameter_name": "device", "text": "your phone"}]}
        ])
    );
}

/// Twilio's content goes by its SID with the values as `ContentVariables`, the URL
/// action's placeholder among them.
async fn a_twilio_content_goes_by_sid_with_its_variables(b: Backend) {
    let (env, api) = env(b).await;
    let boss = env.supervisor().await;
    env.inbox.refresh_templates(&boss, None).await.unwrap();
    let ann = env.agent("ann", &["support"]).await;
    let r = env
        .inbox
        .receive("twilio", &[common::text("SM1", "31612345678", "hi")])
        .await
        .unwrap();
    let conv = r.conversations[0];
    env.inbox.accept_offer(ann.agent_id, conv).await.unwrap();
    let values = TemplateValues {
        name: "repair_status".into(),
        language: "en".into(),
        parameters: Parameters::List(vec!["Ann".into()]),
        header: None,
        buttons: vec![deflect_chat::ButtonValue {
            index: 0,
            text: "R-9".into(),
        }],
    };
    let sent = env
        .inbox
        .send_template(&ann, conv, &values, None)
        .await
        .unwrap();
    assert_eq!(sent.body.as_deref(), Some("Hi Ann, your repair is ready."));
    env.inbox.send_due().await.unwrap();
    let sends = api.sends();
    assert_eq!(sends.len(), 1);
    let form = deflect_chat::provider::twilio::parse_form(&sends[0].body);
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("ContentSid").as_deref(), Some(CONTENT_SID));
    let vars: Value = serde_json::from_str(&get("ContentVariables").unwrap()).unwrap();
    assert_eq!(vars, json!({"1": "Ann", "2": "R-9"}));
    assert_eq!(get("Body"), None);
}

/// The configured recontact template, once the account's list holds it, shows the text the
/// customer receives (its reference filled in); before, its name and the reference. Meta is
/// sent the same request either way.
async fn a_listed_recontact_template_shows_its_text(b: Backend) {
    let (env, api) = env(b).await;
    let ann = env.agent("ann", &["support"]).await;
    let r = env
        .inbox
        .receive("meta", &[common::text("wamid.in1", "31612345678", "hi")])
        .await
        .unwrap();
    let conv = r.conversations[0];
    env.inbox.accept_offer(ann.agent_id, conv).await.unwrap();
    let before = env.inbox.send_recontact(&ann, conv, None).await.unwrap();
    let reference = env.inbox.conversation_unchecked(conv).await.unwrap();
    let reference = reference.conversation.reference;
    assert_eq!(
        before.body.as_deref(),
        Some(format!("Template deflect_recontact (reference {reference})").as_str())
    );
    let boss = env.supervisor().await;
    env.inbox
        .refresh_templates(&boss, Some("meta"))
        .await
        .unwrap();
    let after = env.inbox.send_recontact(&ann, conv, None).await.unwrap();
    assert_eq!(
        after.body.as_deref(),
        Some(format!("Hello again! Your reference is {reference}.").as_str())
    );
    env.inbox.send_due().await.unwrap();
    let sends = api.sends();
    assert_eq!(sends.len(), 2);
    let first: Value = serde_json::from_slice(&sends[0].body).unwrap();
    let second: Value = serde_json::from_slice(&sends[1].body).unwrap();
    assert_eq!(first["template"], second["template"]);
    assert_eq!(
        second["template"]["components"][0]["parameters"][0]["text"],
        json!(reference)
    );
}

on_both!(
    a_listed_recontact_template_shows_its_text,
    listings_are_cached_scoped_and_kept_when_a_refresh_fails,
    a_template_with_two_parameters_goes_out_in_metas_format,
    a_twilio_content_goes_by_sid_with_its_variables,
);
