//! The webhook targets: what Meta's, Twilio's, Sinch's and Kaleyra's deliveries carry, as
//! [`deflect_chat::provider`] checks and reads them.

use deflect_chat::provider::{kaleyra, meta, meta_calls, sinch, twilio};
use deflect_config::Secret;

const SECRET: &str = "fuzz-app-secret";

/// `meta_webhook`: a delivery body. Its signature is checked (a correct one is accepted, the
/// body itself as a header is not), and it is parsed into messages and statuses, and each
/// change's value into call events.
pub fn meta(body: &[u8]) {
    let secret = Secret::new(SECRET);
    let header = String::from_utf8_lossy(body);
    assert!(!meta::verify_signature(&secret, body, Some(&header)));
    assert!(meta::verify_signature(
        &secret,
        body,
        Some(&meta::sign(SECRET, body))
    ));
    let _ = meta::parse_webhook(body);
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
        let entries = v["entry"].as_array().into_iter().flatten();
        for change in entries.flat_map(|e| e["changes"].as_array().into_iter().flatten()) {
            let _ = meta_calls::parse_calls(&change["value"]);
        }
    }
}

/// `twilio_webhook`: a form body posted to the webhook URL. Its signature is checked (a
/// correct one is accepted, a wrong one refused) and it is read as a message or a status.
pub fn twilio(body: &[u8]) {
    let token = Secret::new(SECRET);
    let url = "https://deflect.example/webhooks/whatsapp/twilio";
    let params = twilio::parse_form(body);
    let good = twilio::sign(SECRET, url, &params);
    assert!(twilio::verify_signature(&token, url, &params, Some(&good)));
    let header = String::from_utf8_lossy(body);
    if header != good {
        assert!(!twilio::verify_signature(
            &token,
            url,
            &params,
            Some(&header)
        ));
    }
    let _ = twilio::parse_callback(&params);
}

/// `sinch_webhook`: a callback body. Its signature is checked (a correct one is accepted,
/// the body itself as a signature is not), and it is read as messages and reports.
pub fn sinch(body: &[u8]) {
    let secret = Secret::new(SECRET);
    let (nonce, timestamp) = ("01FJA8B4A7BM43YGWSG9GBV067", "1764936000");
    let good = sinch::sign(SECRET, body, nonce, timestamp);
    let check = |signature: &str| {
        sinch::verify_signature(&secret, body, Some(nonce), Some(timestamp), Some(signature))
    };
    assert!(check(&good));
    let header = String::from_utf8_lossy(body);
    if header != good {
        assert!(!check(&header));
    }
    let _ = sinch::parse_callback(body);
}

/// `kaleyra_webhook`: a callback body (Kaleyra authenticates by a header, not over the
/// body), read as messages and statuses.
pub fn kaleyra(body: &[u8]) {
    let _ = kaleyra::parse_callback(body);
}
