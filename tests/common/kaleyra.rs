//! Kaleyra's WhatsApp API (v2) as the fake provider API ([`super::meta::FakeMeta`]) also
//! serves it: `POST /v2/{sid}/whatsapp/{number}/messages` with the `api-key` header,
//! answered with the Cloud API's `messages[0].id` (401 `RBC001` without the key); and the
//! gateway's side: a Kaleyra account's configuration and the header its callback profile
//! sends.

use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

pub const SID: &str = "HXIN1700000000IN";
pub const API_KEY: &str = "kaleyra-api-key";
pub const WEBHOOK_SECRET: &str = "kaleyra-webhook-token-4f1d9a7c2e8b";
pub const NUMBER: &str = "+919800000000";

/// `[[whatsapp.accounts]]` `kaleyra` (pod `in`) whose API is at `api`.
pub fn account(api: &str) -> String {
    format!(
        r#"
[[whatsapp.accounts]]
name = "kaleyra"
provider = "kaleyra"
business_number = "{NUMBER}"
account_sid = "{SID}"
region = "in"
api_key = "{API_KEY}"
webhook_secret = "{WEBHOOK_SECRET}"
api_base_url = "{api}"
"#
    )
}

/// The answer to a Kaleyra request (`n`: the request's number), or none for another API's.
pub fn answer(method: &Method, path: &str, headers: &HeaderMap, n: usize) -> Option<Response> {
    if *method != Method::POST || path != format!("/v2/{SID}/whatsapp/{NUMBER}/messages") {
        return None;
    }
    if headers.get("api-key").and_then(|v| v.to_str().ok()) != Some(API_KEY) {
        let body = serde_json::json!({"code": "RBC001", "message": "Incorrect SID or API key"});
        return Some((StatusCode::UNAUTHORIZED, axum::Json(body)).into_response());
    }
    let body = serde_json::json!({"messaging_product": "whatsapp",
        "contacts": [{"input": "x", "wa_id": "x"}], "messages": [{"id": format!("wamid.kaleyra{n}")}]});
    Some(axum::Json(body).into_response())
}
