//! Sinch's Conversation API as the fake provider API ([`super::meta::FakeMeta`]) also
//! serves it: the OAuth2 token endpoint (`POST /oauth2/token`, HTTP Basic with the access
//! key) and `POST /v1/projects/{project}/messages:send` (only with a token it issued),
//! answering as Sinch documents, and its SMS API's `POST /xms/v1/{service_plan_id}/batches`
//! (only with the plan's token); and the gateway's side: a Sinch account's configuration and
//! callbacks signed as Sinch signs them.

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;

pub const PROJECT: &str = "c36f3d3d-1513-2edd-ae42-11995557ff61";
pub const APP: &str = "01EB37HMH1M6SV18BSNS3G135H";
pub const KEY_ID: &str = "7d4c9a1e-key";
pub const KEY_SECRET: &str = "sinch-key-secret";
pub const WEBHOOK_SECRET: &str = "sinch-webhook-secret";
/// The SMS API's service plan and its token (`[whatsapp.accounts.sms_fallback]`).
pub const SMS_PLAN: &str = "jd63jf88477ll123ab4567cd89012ef3";
pub const SMS_TOKEN: &str = "sinch-sms-token";

/// `[[whatsapp.accounts]]` `sinch` (region `eu`) whose API and token endpoint are at `api`.
pub fn account(api: &str) -> String {
    format!(
        r#"
[[whatsapp.accounts]]
name = "sinch"
provider = "sinch"
business_number = "+46732000000"
project_id = "{PROJECT}"
app_id = "{APP}"
region = "eu"
key_id = "{KEY_ID}"
key_secret = "{KEY_SECRET}"
webhook_secret = "{WEBHOOK_SECRET}"
api_base_url = "{api}"
token_url = "{api}/oauth2/token"
"#
    )
}

/// The answer to a Sinch request (`n`: the request's number), or none for another API's.
pub fn answer(method: &Method, path: &str, headers: &HeaderMap, n: usize) -> Option<Response> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if *method == Method::POST && path == "/oauth2/token" {
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("{KEY_ID}:{KEY_SECRET}"));
        if auth != format!("Basic {basic}") {
            let body = serde_json::json!({"error": "invalid_client", "error_description": "Client authentication failed"});
            return Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response());
        }
        let body = serde_json::json!({"access_token": format!("sinch-token-{n}"), "expires_in": 3599,
                                      "scope": "", "token_type": "bearer"});
        return Some(axum::Json(body).into_response());
    }
    if *method == Method::POST && path == format!("/xms/v1/{SMS_PLAN}/batches") {
        if auth != format!("Bearer {SMS_TOKEN}") {
            let body = serde_json::json!({"code": "unauthorized", "text": "Unauthorized"});
            return Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response());
        }
        let body = serde_json::json!({"id": format!("01SMSBATCH{n:06}"), "canceled": false,
                                      "type": "mt_text"});
        return Some((StatusCode::CREATED, axum::Json(body)).into_response());
    }
    if *method == Method::POST && path == format!("/v1/projects/{PROJECT}/messages:send") {
        if !auth.starts_with("Bearer sinch-token-") {
            let body = serde_json::json!({"error": {"code": 401, "message": "Unauthorized", "status": "UNAUTHENTICATED"}});
            return Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response());
        }
        let body = serde_json::json!({"message_id": format!("01SINCH{n:06}"), "accepted_time": "2026-12-05T12:00:00.000Z"});
        return Some(axum::Json(body).into_response());
    }
    None
}

/// The headers of a callback carrying `body`, signed with `secret` as Sinch signs them.
pub fn signed(secret: &str, body: &[u8]) -> Vec<(&'static str, String)> {
    let (nonce, timestamp) = ("01FJA8B4A7BM43YGWSG9GBV067", "1764936000");
    vec![
        ("x-sinch-webhook-signature-nonce", nonce.into()),
        ("x-sinch-webhook-signature-timestamp", timestamp.into()),
        ("x-sinch-webhook-signature-algorithm", "HmacSHA256".into()),
        (
            "x-sinch-webhook-signature",
            deflect_chat::provider::sinch::sign(secret, body, nonce, timestamp),
        ),
    ]
}
