//! Provider webhooks: `POST /webhooks/{provider}/{account}` for every provider but the
//! sandbox, Meta's subscription check `GET /webhooks/meta/{account}`, and an account's
//! fallback SMS callbacks, `POST /webhooks/sms/{account}` — the customers' answers (a
//! conversation answered by SMS continues by SMS) and the SMS' delivery reports: Twilio's
//! form with `X-Twilio-Signature` by the fallback's auth token, or Sinch's JSON signed with
//! the fallback's `webhook_secret` (`deflect_chat::provider::sms`).
//!
//! Each delivery is verified by its provider's module ([`webhook::receive`]; Meta:
//! `X-Hub-Signature-256` over the raw body; Twilio: `X-Twilio-Signature` over
//! `http.public_base_url` + path + sorted form parameters), then committed by the inbox core, then acknowledged — so a 200 means stored, and anything else
//! makes the provider deliver again. Repeated deliveries are no-ops. A Meta delivery's
//! WhatsApp call events (field `calls`) go, once its messages are stored, to whoever answers
//! calls (`deflect_chat::whatsapp_calls`). A missing or bad
//! signature is 401 and nothing is stored; a body that does not parse is 400; bodies over
//! [`MAX_BODY`] are 413.

use crate::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use deflect_chat::provider::sms::SmsCallback;
use deflect_chat::provider::webhook::{self, Delivery, Refusal};
use deflect_chat::provider::{Inbound, meta, meta_calls};
use deflect_config::{Provider, SmsProvider};
use std::collections::HashMap;
use std::time::Instant;

/// Largest webhook body accepted (Meta batches stay far below).
pub const MAX_BODY: usize = 1024 * 1024;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/webhooks/{provider}/{account}",
            get(subscription_check).post(delivery),
        )
        .route("/webhooks/sms/{account}", post(sms_delivery))
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

fn outcome(provider: &'static str, status: StatusCode, started: Instant) {
    metrics::counter!("deflect_webhook_requests_total", "provider" => provider, "status" => status.as_u16().to_string())
        .increment(1);
    metrics::histogram!("deflect_webhook_seconds", "provider" => provider)
        .record(started.elapsed().as_secs_f64());
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

/// Meta's subscription check (`GET`; the other providers have none).
async fn subscription_check(
    State(state): State<AppState>,
    Path((provider, account)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if provider != Provider::Meta.as_str() {
        return plain(StatusCode::NOT_FOUND, "no such provider");
    }
    let Some(a) = state
        .inbox
        .account(&account)
        .filter(|a| a.provider == Provider::Meta)
    else {
        return plain(StatusCode::NOT_FOUND, "no such Meta account");
    };
    let Some(token) = &a.verify_token else {
        return plain(StatusCode::FORBIDDEN, "forbidden");
    };
    match meta::verify_subscription(
        q.get("hub.mode").map(String::as_str),
        q.get("hub.verify_token").map(String::as_str),
        q.get("hub.challenge").map(String::as_str),
        token,
    ) {
        Some(challenge) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            challenge,
        )
            .into_response(),
        None => {
            tracing::debug!(account, "Meta webhook verification refused");
            plain(StatusCode::FORBIDDEN, "forbidden")
        }
    }
}

async fn delivery(
    State(state): State<AppState>,
    Path((provider, account)): Path<(String, String)>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let Some(kind) = Provider::ALL.into_iter().find(|p| p.as_str() == provider) else {
        return plain(StatusCode::NOT_FOUND, "no such provider");
    };
    let url = public_url(&state, &uri);
    let d = Delivery {
        url: &url,
        headers: &headers,
        body: &body,
    };
    let r = delivery_inner(&state, kind, &account, &d).await;
    outcome(kind.as_str(), r.status(), started);
    r
}

/// An SMS to `account`'s fallback number.
async fn sms_delivery(
    State(state): State<AppState>,
    Path(account): Path<String>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let url = public_url(&state, &uri);
    let d = Delivery {
        url: &url,
        headers: &headers,
        body: &body,
    };
    let r = sms_inner(&state, &account, &d).await;
    outcome("sms", r.status(), started);
    r
}

async fn sms_inner(state: &AppState, account: &str, delivery: &Delivery<'_>) -> Response {
    let Some(a) = state.inbox.account(account) else {
        return plain(StatusCode::NOT_FOUND, "no such account");
    };
    let callback = match deflect_chat::provider::sms::receive(a, delivery) {
        Ok(callback) => callback,
        Err(Refusal::Unauthenticated) => {
            tracing::debug!(
                account,
                "SMS webhook with a missing or bad signature refused"
            );
            return plain(StatusCode::UNAUTHORIZED, "bad signature");
        }
        Err(Refusal::NoWebhooks) => {
            return plain(
                StatusCode::NOT_FOUND,
                "no SMS fallback taking callbacks on this account (Sinch: set its webhook_secret)",
            );
        }
        Err(Refusal::Malformed(e)) => {
            tracing::debug!(account, cause = %e, "malformed SMS webhook");
            return plain(StatusCode::BAD_REQUEST, "malformed webhook");
        }
    };
    let stored = match callback {
        SmsCallback::Message(sms) => state.inbox.receive_sms(account, &sms).await.map(drop),
        SmsCallback::Status(s) => (state.inbox)
            .receive(account, &[Inbound::Status(s)])
            .await
            .map(drop),
        SmsCallback::Ignored => Ok(()),
    };
    if let Err(e) = stored {
        tracing::error!(account, cause = %e, "storing an SMS callback failed; the provider will deliver it again");
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "not stored; retry");
    }
    let twilio = a.sms_fallback.as_ref().map(|s| s.provider) == Some(SmsProvider::Twilio);
    let (content_type, body) = match twilio {
        true => webhook::acknowledgement(Provider::Twilio),
        false => webhook::acknowledgement(Provider::Sinch),
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The URL the provider called: the gateway's public base URL, the path and the query.
fn public_url(state: &AppState, uri: &axum::http::Uri) -> String {
    format!(
        "{}{}",
        state.public_base_url.as_str().trim_end_matches('/'),
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    )
}

async fn delivery_inner(
    state: &AppState,
    provider: Provider,
    account: &str,
    delivery: &Delivery<'_>,
) -> Response {
    let inbox = &state.inbox;
    let Some(a) = inbox.account(account).filter(|a| a.provider == provider) else {
        return plain(StatusCode::NOT_FOUND, "no such account for this provider");
    };
    let items = match webhook::receive(a, delivery) {
        Ok(items) => items,
        Err(Refusal::Unauthenticated) => {
            tracing::debug!(
                account,
                provider = provider.as_str(),
                "webhook with a missing or bad signature refused"
            );
            return plain(StatusCode::UNAUTHORIZED, "bad signature");
        }
        Err(Refusal::NoWebhooks) => return plain(StatusCode::NOT_FOUND, "no such provider"),
        Err(Refusal::Malformed(e)) => {
            tracing::debug!(account, provider = provider.as_str(), cause = %e, "malformed webhook");
            return plain(StatusCode::BAD_REQUEST, "malformed webhook");
        }
    };
    let accounts = &inbox.file_settings().whatsapp.accounts;
    let mut by_account: Vec<(&str, Vec<Inbound>)> = Vec::new();
    for (number_id, item) in items {
        let target = webhook::account_of(accounts, provider, number_id.as_deref(), account);
        match by_account.iter_mut().find(|(n, _)| *n == target) {
            Some((_, v)) => v.push(item),
            None => by_account.push((target, vec![item])),
        }
    }
    for (target, items) in by_account {
        if let Err(e) = inbox.receive(target, &items).await {
            tracing::error!(account = %target, provider = provider.as_str(), cause = %e, "storing a webhook failed; the provider will deliver it again");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "not stored; retry");
        }
    }
    // WhatsApp calls (the `calls` field): to the IVR, not stored.
    if provider == Provider::Meta && delivery.body.windows(7).any(|w| w == b"\"calls\"") {
        for (number_id, update) in meta_calls::parse_webhook(delivery.body) {
            let target = webhook::account_of(accounts, provider, number_id.as_deref(), account);
            inbox.whatsapp_call_update(target, update);
        }
    }
    let (content_type, body) = webhook::acknowledgement(provider);
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestApp;
    use axum::body::Body;
    use axum::http::Request;
    use deflect_chat::provider::twilio;
    use deflect_chat::{ConversationFilter, Inbox, Role};
    use deflect_config::{AccountConfig, Config, Secret};
    use std::sync::Arc;
    use tower::ServiceExt;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../chat/tests/data/meta/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    async fn app() -> (TestApp, Router, Inbox) {
        let mut c = Config::default();
        c.whatsapp.accounts.push(AccountConfig {
            name: "main".into(),
            provider: Provider::Meta,
            business_number: "+31201234567".into(),
            phone_number_id: Some("106540352242922".into()),
            access_token: Some(Secret::new("t")),
            app_secret: Some(Secret::new("app-secret")),
            verify_token: Some(Secret::new("verify-me")),
            ..AccountConfig::default()
        });
        c.whatsapp.accounts.push(AccountConfig {
            name: "tw".into(),
            provider: Provider::Twilio,
            business_number: "+31207654321".into(),
            account_sid: Some("AC1".into()),
            auth_token: Some(Secret::new("tw-token")),
            ..AccountConfig::default()
        });
        c.whatsapp.default_account = Some("sandbox".into());
        // Twilio signs the full URL: the public one.
        let app = TestApp::at(
            &c,
            "https://chat.example.com".parse().unwrap(),
            Arc::new(deflect_chat::SystemClock),
        )
        .await;
        let (router, inbox) = (app.router.clone(), app.inbox.clone());
        (app, router, inbox)
    }

    async fn call(app: &Router, req: Request<Body>) -> (StatusCode, String) {
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    fn post_meta(body: &[u8], signature: Option<String>) -> Request<Body> {
        let mut r = Request::post("/webhooks/meta/main").header("content-type", "application/json");
        if let Some(s) = signature {
            r = r.header("x-hub-signature-256", s);
        }
        r.body(Body::from(body.to_vec())).unwrap()
    }

    static ADMINS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    async fn stored(inbox: &Inbox) -> usize {
        let admin = inbox
            .create_agent(deflect_chat::NewAgent {
                username: format!(
                    "admin{}",
                    ADMINS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                ),
                display_name: "a".into(),
                password: "long enough password".into(),
                role: Role::Admin,
                queues: vec![],
                accounts: vec![],
            })
            .await
            .unwrap();
        let v = inbox.viewer(admin.id).await.unwrap();
        let mut n = 0;
        for c in inbox
            .list_conversations(&v, &ConversationFilter::default())
            .await
            .unwrap()
        {
            n += inbox.messages(&v, c.id, None, 1000).await.unwrap().len();
        }
        n
    }

    #[tokio::test]
    async fn meta_subscription_check() {
        let (_d, app, _) = app().await;
        let get = |q: &str| {
            Request::get(format!("/webhooks/meta/main?{q}"))
                .body(Body::empty())
                .unwrap()
        };
        let (s, body) = call(
            &app,
            get("hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444"),
        )
        .await;
        assert_eq!((s, body.as_str()), (StatusCode::OK, "1158201444"));
        let (s, _) = call(
            &app,
            get("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1"),
        )
        .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, _) = call(&app, get("hub.mode=subscribe&hub.challenge=1")).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let r = Request::get("/webhooks/meta/nope?hub.mode=subscribe")
            .body(Body::empty())
            .unwrap();
        assert_eq!(call(&app, r).await.0, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn unknown_providers_accounts_of_another_provider_and_the_sandbox_are_404() {
        let (_d, app, inbox) = app().await;
        let body = fixture("text.json");
        let signed = meta::sign("app-secret", &body);
        for path in [
            "/webhooks/nope/main",
            "/webhooks/twilio/main",
            "/webhooks/sandbox/main",
            "/webhooks/meta/nope",
        ] {
            let r = Request::post(path)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", signed.clone())
                .body(Body::from(body.clone()))
                .unwrap();
            assert_eq!(call(&app, r).await.0, StatusCode::NOT_FOUND, "{path}");
        }
        let r = Request::get("/webhooks/twilio/main?hub.mode=subscribe")
            .body(Body::empty())
            .unwrap();
        assert_eq!(call(&app, r).await.0, StatusCode::NOT_FOUND);
        assert_eq!(stored(&inbox).await, 0);
    }

    #[tokio::test]
    async fn a_bad_or_missing_signature_is_401_and_stores_nothing() {
        let (_d, app, inbox) = app().await;
        let body = fixture("text.json");
        assert_eq!(
            call(&app, post_meta(&body, None)).await.0,
            StatusCode::UNAUTHORIZED
        );
        let wrong = meta::sign("not-the-secret", &body);
        assert_eq!(
            call(&app, post_meta(&body, Some(wrong))).await.0,
            StatusCode::UNAUTHORIZED
        );
        // Signed, then altered by one byte.
        let good = meta::sign("app-secret", &body);
        let mut altered = body.clone();
        altered[10] ^= 1;
        assert_eq!(
            call(&app, post_meta(&altered, Some(good))).await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(stored(&inbox).await, 0);
    }

    #[tokio::test]
    async fn fixtures_are_stored_once_each() {
        let (_d, app, inbox) = app().await;
        let mut expected = 0;
        for (name, messages) in [
            ("text.json", 1),
            ("button_reply.json", 1),
            ("image.json", 1),
            ("unknown.json", 2),
            ("batch.json", 3),
            ("statuses_first.json", 0),
        ] {
            let body = fixture(name);
            let sig = meta::sign("app-secret", &body);
            let (s, _) = call(&app, post_meta(&body, Some(sig.clone()))).await;
            assert_eq!(s, StatusCode::OK, "{name}");
            expected += messages;
            // The same delivery again changes nothing.
            let (s, _) = call(&app, post_meta(&body, Some(sig))).await;
            assert_eq!(s, StatusCode::OK, "{name} again");
        }
        assert_eq!(stored(&inbox).await, expected);
        // Malformed but signed.
        let body = b"{\"entry\": 5}";
        let sig = meta::sign("app-secret", body);
        assert_eq!(
            call(&app, post_meta(body, Some(sig))).await.0,
            StatusCode::BAD_REQUEST
        );
        // Too large.
        let big = vec![b' '; MAX_BODY + 1];
        let sig = meta::sign("app-secret", &big);
        assert_eq!(
            call(&app, post_meta(&big, Some(sig))).await.0,
            StatusCode::PAYLOAD_TOO_LARGE
        );
    }

    #[tokio::test]
    async fn twilio_callbacks_are_verified_against_the_public_url() {
        let (_d, app, inbox) = app().await;
        let body = "MessageSid=SM1&From=whatsapp%3A%2B31612345678&To=whatsapp%3A%2B31207654321&Body=Hi&NumMedia=0&WaId=31612345678&ProfileName=Ann";
        let params = twilio::parse_form(body.as_bytes());
        let sig = twilio::sign(
            "tw-token",
            "https://chat.example.com/webhooks/twilio/tw",
            &params,
        );
        let req = |sig: &str| {
            Request::post("/webhooks/twilio/tw")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-twilio-signature", sig)
                .body(Body::from(body))
                .unwrap()
        };
        let bad = twilio::sign("tw-token", "http://127.0.0.1/webhooks/twilio/tw", &params);
        assert_eq!(call(&app, req(&bad)).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(stored(&inbox).await, 0);
        let (s, b) = call(&app, req(&sig)).await;
        assert_eq!((s, b.as_str()), (StatusCode::OK, "<Response/>"));
        assert_eq!(call(&app, req(&sig)).await.0, StatusCode::OK);
        assert_eq!(stored(&inbox).await, 1);
    }
}
