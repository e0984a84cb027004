//! The texts by language through the whole router (`tower::ServiceExt::oneshot`, no
//! server): public, negotiated, compressed, cached, and the script that formats them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use deflect_config::Config;
use deflect_web::testing::TestApp;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

async fn get(
    app: &TestApp,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = app
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.unwrap().to_bytes().to_vec(),
    )
}

#[tokio::test]
async fn texts_are_served_without_a_session_in_the_language_asked_for() {
    let app = TestApp::new(&Config::default()).await;
    let (status, headers, body) = get(&app, "/i18n/inbox/nl-BE,en.json", &[]).await;
    assert_eq!(status, StatusCode::OK, "no login needed");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(headers[header::CONTENT_LANGUAGE], "nl");
    let j: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(j["language"], "nl");
    assert_eq!(j["messages"]["nav-mine"], "Mijn gesprekken");
    assert_eq!(j["fallback"], serde_json::json!([]), "Dutch is complete");

    // Compressed for browsers that take it, the same text.
    let (_, headers, gz) = get(&app, "/i18n/inbox/nl.json", &[("accept-encoding", "gzip")]).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert!(gz.len() < body.len() / 2, "{} of {}", gz.len(), body.len());

    // The widget's, for a browser in Brazilian Portuguese.
    let (_, _, body) = get(&app, "/i18n/widget/pt-BR.json", &[]).await;
    let j: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(j["language"], "pt");
    assert_eq!(j["messages"]["whatsapp-open"], "Abrir o WhatsApp");

    let (status, headers, _) = get(&app, "/i18n.js", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "*",
        "the widget loads it on other sites"
    );
}
