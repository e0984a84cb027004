//! A local fake of the WhatsApp Cloud API (Meta Graph API) that records every request
//! exactly as it arrives — method, path, headers, body, and when — and answers as Meta
//! does: `{"messaging_product":"whatsapp","contacts":[…],"messages":[{"id":"wamid.…"}]}`
//! for a send, `{"id": "<media id>"}` for a file uploaded to `POST /{phone_number_id}/media`,
//! `{"messaging_product":"whatsapp","calls":[{"id":"wacid.fake<n>"}]}` for a call's `connect`
//! (`n`: the request's number, from 1, as [`FakeMeta::requests`] lists them) and
//! `{"success":true}` for its other actions (`POST /{phone_number_id}/calls`), and the
//! business's permission to call a customer (`GET /{phone_number_id}/call_permissions
//! ?user_wa_id=`) as [`FakeMeta::call_permission`] sets it — `no_permission` until then.
//! It serves Sinch's Conversation API and Kaleyra's API too, as [`super::sinch`] and
//! [`super::kaleyra`] answer them.

use super::PATIENCE;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// One request as received.
#[derive(Clone, Debug)]
pub struct Request {
    /// When it arrived.
    pub at: Instant,
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (null when it is not: a multipart upload).
    pub body: serde_json::Value,
    /// The body as received.
    pub raw: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Request>>,
    changed: Condvar,
    /// Where to post status callbacks, and the app secret to sign them with.
    callbacks: Mutex<Option<(String, String)>>,
    /// Customers' files by media id, served as Meta's media API does.
    media: Mutex<BTreeMap<String, Vec<u8>>>,
    /// The WhatsApp Business Account's message templates (`data` of the listing).
    templates: Mutex<Vec<serde_json::Value>>,
    /// The answer (status, body) to a permission query, by the customer's WhatsApp id.
    permissions: Mutex<BTreeMap<String, (u16, serde_json::Value)>>,
}

/// The access token [`account`] configures: Meta's media API answers only requests bearing
/// it.
pub const ACCESS_TOKEN: &str = "EAAG-test-token";

/// The fake Cloud API, serving on a thread of its own until dropped with the test.
pub struct FakeMeta {
    /// Where it listens (`api_base_url = "http://{addr}"`).
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FakeMeta {
    /// Serves on a free loopback port.
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        Self::serve(listener)
    }

    /// Serves on a listener bound beforehand (to know the address before the server runs).
    pub fn serve(listener: std::net::TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        super::on_thread(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().fallback(
                    move |method: axum::http::Method,
                          uri: axum::http::Uri,
                          headers: axum::http::HeaderMap,
                          body: axum::body::Bytes| {
                        let state = state.clone();
                        async move {
                            let n = {
                                let mut r = state.requests.lock().unwrap();
                                r.push(Request {
                                    at: Instant::now(),
                                    method: method.to_string(),
                                    path: uri.to_string(),
                                    headers: headers
                                        .iter()
                                        .map(|(k, v)| {
                                            (
                                                k.as_str().to_owned(),
                                                v.to_str().unwrap_or("").to_owned(),
                                            )
                                        })
                                        .collect(),
                                    body: serde_json::from_slice(&body)
                                        .unwrap_or(serde_json::Value::Null),
                                    raw: body.to_vec(),
                                });
                                r.len()
                            };
                            state.changed.notify_all();
                            if let Some(answer) =
                                super::sinch::answer(&method, uri.path(), &headers, n)
                                    .or_else(|| {
                                        super::kaleyra::answer(&method, uri.path(), &headers, n)
                                    })
                            {
                                return answer;
                            }
                            if method == axum::http::Method::GET
                                && uri.path().ends_with("/message_templates")
                            {
                                return templates(&state, &headers);
                            }
                            if method == axum::http::Method::GET
                                && uri.path().ends_with("/call_permissions")
                            {
                                return call_permission(&state, uri.query().unwrap_or_default());
                            }
                            if method == axum::http::Method::GET {
                                return media(&state, addr, uri.path(), &headers);
                            }
                            if uri.path().ends_with("/media") {
                                return axum::response::IntoResponse::into_response((
                                    [("content-type", "application/json")],
                                    format!(r#"{{"id":"10375432915436{n}"}}"#),
                                ));
                            }
                            if uri.path().ends_with("/calls") {
                                let connect = serde_json::from_slice::<serde_json::Value>(&body)
                                    .is_ok_and(|b| b["action"] == "connect");
                                return axum::response::IntoResponse::into_response((
                                    [("content-type", "application/json")],
                                    if connect {
                                        format!(r#"{{"messaging_product":"whatsapp","calls":[{{"id":"wacid.fake{n}"}}]}}"#)
                                    } else {
                                        r#"{"success":true}"#.to_owned()
                                    },
                                ));
                            }
                            let target = state.callbacks.lock().unwrap().clone();
                            if let (Some((url, secret)), Ok(sent)) =
                                (target, serde_json::from_slice::<serde_json::Value>(&body))
                            {
                                tokio::spawn(call_back(url, secret, format!("wamid.fake{n}"), sent));
                            }
                            axum::response::IntoResponse::into_response((
                                [("content-type", "application/json")],
                                format!(
                                    r#"{{"messaging_product":"whatsapp","contacts":[{{"input":"x","wa_id":"x"}}],"messages":[{{"id":"wamid.fake{n}"}}]}}"#
                                ),
                            ))
                        }
                    },
                );
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, shared }
    }

    /// From now on, after answering a send, posts its `sent` status (with the send's
    /// `biz_opaque_callback_data`) to `webhook`, signed with `app_secret`, and keeps trying
    /// until it is answered 200 — as Meta does.
    pub fn call_back_to(&self, webhook: &str, app_secret: &str) {
        *self.shared.callbacks.lock().unwrap() = Some((webhook.into(), app_secret.into()));
    }

    /// Serves `bytes` as the customer's file with media id `id`: `GET /{version}/{id}`
    /// answers `{url, mime_type, sha256, file_size, id}` with the URL `/media/{id}` here,
    /// which serves the bytes; both only with the bearer token [`ACCESS_TOKEN`].
    pub fn media(&self, id: &str, bytes: Vec<u8>) {
        self.shared.media.lock().unwrap().insert(id.into(), bytes);
    }

    /// Lists `templates` (each as Meta's `message_templates` listing gives it: `name`,
    /// `language`, `status`, `category`, `components`, …) as the WhatsApp Business Account's:
    /// `GET /{version}/{waba_id}/message_templates` answers them in one page, only with the
    /// bearer token [`ACCESS_TOKEN`].
    pub fn templates(&self, templates: Vec<serde_json::Value>) {
        *self.shared.templates.lock().unwrap() = templates;
    }

    /// Answers the permission query for the customer `wa_id` with `status` and `answer`
    /// (Meta's `{messaging_product, permission, actions}`, or its error).
    pub fn call_permission(&self, wa_id: &str, status: u16, answer: serde_json::Value) {
        let mut permissions = self.shared.permissions.lock().unwrap();
        permissions.insert(wa_id.into(), (status, answer));
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Waits up to `within` until the requests so far satisfy `done`; returns them.
    pub fn wait_until(
        &self,
        within: std::time::Duration,
        what: &str,
        done: impl Fn(&[Request]) -> bool,
    ) -> Vec<Request> {
        let deadline = Instant::now() + within;
        let mut r = self.shared.requests.lock().unwrap();
        while !done(&r) {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "{what}: not within {within:?}");
            r = self.shared.changed.wait_timeout(r, left).unwrap().0;
        }
        r.clone()
    }

    /// Waits until `n` requests have arrived; returns them.
    pub fn wait_for(&self, n: usize) -> Vec<Request> {
        let deadline = Instant::now() + PATIENCE;
        let mut r = self.shared.requests.lock().unwrap();
        while r.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "{} of {n} requests arrived", r.len());
            r = self.shared.changed.wait_timeout(r, left).unwrap().0;
        }
        r.clone()
    }
}

/// Meta's media API: the lookup of a media id (`GET /{version}/{id}`) and the download of
/// its URL (`GET /media/{id}`), both refused (401, Meta's error) without the bearer token,
/// 404 for an unknown id.
fn media(
    state: &Shared,
    addr: SocketAddr,
    path: &str,
    headers: &axum::http::HeaderMap,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let error = |status: StatusCode, message: &str| {
        let body = serde_json::json!({"error": {"message": message, "type": "OAuthException", "code": 190}});
        (status, axum::Json(body)).into_response()
    };
    let bearer = format!("Bearer {ACCESS_TOKEN}");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "Invalid OAuth access token");
    }
    let (download, id) = match path.trim_start_matches('/').split_once('/') {
        Some(("media", id)) => (true, id),
        Some((_version, id)) => (false, id),
        None => return error(StatusCode::NOT_FOUND, "Unknown path"),
    };
    let Some(bytes) = state.media.lock().unwrap().get(id).cloned() else {
        return error(StatusCode::NOT_FOUND, "Unsupported get request");
    };
    if download {
        return ([("content-type", "image/jpeg")], bytes).into_response();
    }
    axum::Json(serde_json::json!({
        "messaging_product": "whatsapp",
        "url": format!("http://{addr}/media/{id}"),
        "mime_type": "image/jpeg",
        "sha256": "not checked",
        "file_size": bytes.len(),
        "id": id,
    }))
    .into_response()
}

/// The answer to `GET /{phone_number_id}/call_permissions?<query>` (`user_wa_id=`): as
/// [`FakeMeta::call_permission`] set it, else Meta's answer for a customer who never allowed
/// calls (a permission request may be sent, once a day).
fn call_permission(state: &Shared, query: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    let wa_id = (query.split('&'))
        .find_map(|pair| pair.strip_prefix("user_wa_id="))
        .unwrap_or_default();
    let set = state.permissions.lock().unwrap().get(wa_id).cloned();
    let (status, answer) = set.unwrap_or_else(|| {
        (
            200,
            serde_json::json!({
                "messaging_product": "whatsapp",
                "permission": {"status": "no_permission"},
                "actions": [
                    {"action_name": "send_call_permission_request", "can_perform_action": true,
                     "limits": [{"time_period": "PT24H", "max_allowed": 1, "current_usage": 0}]},
                    {"action_name": "start_call", "can_perform_action": false, "limits": []}
                ]
            }),
        )
    });
    let status = axum::http::StatusCode::from_u16(status).unwrap();
    (status, axum::Json(answer)).into_response()
}

/// The template listing: one page (no `paging.next`), 401 without the bearer token.
fn templates(state: &Shared, headers: &axum::http::HeaderMap) -> axum::response::Response {
    use axum::response::IntoResponse;
    let bearer = format!("Bearer {ACCESS_TOKEN}");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(bearer.as_str()) {
        let body = serde_json::json!({"error": {"message": "Invalid OAuth access token", "type": "OAuthException", "code": 190}});
        return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let data = state.templates.lock().unwrap().clone();
    axum::Json(serde_json::json!({
        "data": data,
        "paging": {"cursors": {"before": "QVFIUk1", "after": "QVFIUl9"}},
    }))
    .into_response()
}

/// An approved template with two positional parameters, as Meta lists it:
/// "Hi {{1}}, your order ships on {{2}}."
pub fn order_update_template() -> serde_json::Value {
    serde_json::json!({
        "name": "order_update",
        "parameter_format": "POSITIONAL",
        "components": [{"type": "BODY", "text": "Hi {{1}}, your order ships on {{2}}.",
                        "example": {"body_text": [["Ann", "Monday"]]}}],
        "language": "en_US",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "1407680676729941"
    })
}

/// `[whatsapp]` with one Meta account `main` whose API is at `api`.
pub fn account(api: &str) -> String {
    format!(
        r#"
[whatsapp]
default_account = "main"

[[whatsapp.accounts]]
name = "main"
provider = "meta"
business_number = "+31201234567"
phone_number_id = "106540352242922"
access_token = "EAAG-test-token"
app_secret = "app-secret"
verify_token = "verify-me"
api_base_url = "{api}"
"#
    )
}

/// The body of Meta's `messages` webhook for account `main` carrying one customer
/// `message` (its `from` named Ann), as Meta delivers it.
pub fn messages_webhook(message: serde_json::Value) -> String {
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "31201234567", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Ann"}, "wa_id": message["from"]}],
            "messages": [message]
        }}]}]
    })
    .to_string()
}

/// Posts the `sent` status of a message the fake accepted, as Meta's webhook does, until the
/// gateway answers 200 (it may be down and come back).
async fn call_back(url: String, secret: String, id: String, sent: serde_json::Value) {
    let body = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "31201234567", "phone_number_id": "106540352242922"},
            "statuses": [{
                "id": id, "status": "sent", "timestamp": "1767225600",
                "recipient_id": sent["to"],
                "biz_opaque_callback_data": sent["biz_opaque_callback_data"],
            }]
        }}]}]
    })
    .to_string();
    let signature = deflect_chat::provider::meta::sign(&secret, body.as_bytes());
    let client = deflect_chat::provider::http_client();
    for _ in 0..600 {
        let r = client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", &signature)
            .body(body.clone())
            .send()
            .await;
        if r.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        // Meta retries failed deliveries with back-off; a fixed short pause here.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
