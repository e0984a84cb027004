//! Writes the seed corpus, `fuzz/seeds/<target>/`: copies of the test fixtures (the RFC 4475
//! torture messages, the SDP offers, Meta's webhook bodies) and inputs built here (header
//! values taken from those messages, stream frames, SIP conversations, media session
//! scripts, Twilio forms). Files added by hand (regression inputs, `regress-*`) are kept.
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --no-default-features --example seeds
//! ```

use deflect_fuzz::media::Record;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("fuzz/ is inside the repository")
        .to_path_buf()
}

struct Seeds {
    dir: PathBuf,
}

impl Seeds {
    /// The seed directory of `target`, emptied of generated files.
    fn new(target: &str) -> Self {
        let dir = root().join("fuzz/seeds").join(target);
        std::fs::create_dir_all(&dir).expect("seed directory");
        for e in std::fs::read_dir(&dir).expect("seed directory").flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.starts_with("regress-") {
                std::fs::remove_file(e.path()).expect("old seed removed");
            }
        }
        Self { dir }
    }

    fn add(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.dir.join(name), bytes).expect("seed written");
    }

    /// Copies every file of `from` (relative to the repository).
    fn copy_dir(&self, from: &str) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(from))
            .expect("fixture directory")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e != "py"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| {
                let name = p
                    .file_name()
                    .expect("a file")
                    .to_string_lossy()
                    .into_owned();
                let bytes = std::fs::read(&p).expect("fixture read");
                self.add(&name, &bytes);
                (name, bytes)
            })
            .collect()
    }
}

fn crlf(s: &str) -> Vec<u8> {
    s.replace("\r\n", "\n").replace('\n', "\r\n").into_bytes()
}

const SDP: &str = "v=0\no=- 1 1 IN IP4 127.0.0.2\ns=-\nc=IN IP4 127.0.0.2\nt=0 0\nm=audio 4000 RTP/AVP 0 8 101\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\na=ptime:20\na=sendrecv\n";

fn request(method: &str, cseq: u32, call: &str, extra: &str, body: &str) -> String {
    let body = body.replace("\r\n", "\n").replace('\n', "\r\n");
    // A CANCEL names the INVITE's transaction.
    let branch = if method == "CANCEL" { "INVITE" } else { method };
    format!(
        "{method} sip:31201234567@127.0.0.1:5060 SIP/2.0\n\
         Via: SIP/2.0/UDP 127.0.0.2:5060;rport;branch=z9hG4bK{call}{cseq}{branch}\n\
         Max-Forwards: 70\n\
         From: \"Caller\" <sip:+31612345678@127.0.0.2>;tag=from{call}\n\
         To: <sip:31201234567@127.0.0.1>{extra}\n\
         Call-ID: {call}@127.0.0.2\n\
         CSeq: {cseq} {method}\n\
         Contact: <sip:caller@127.0.0.2:5060>\n\
         {content_type}Content-Length: {len}\n\n",
        content_type = if body.is_empty() {
            ""
        } else {
            "Content-Type: application/sdp\n"
        },
        len = body.len(),
    ) + &body
}

/// deflect's to-tag is not known in advance: in-dialog requests carry a made-up one
/// (answered 481), which libFuzzer's comparison tracing can replace with the real one.
fn conversation(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.join(&0xFFu8)
}

fn sip_seeds() {
    let messages = Seeds::new("message");
    let mut all = Vec::new();
    for kind in ["valid", "invalid", "semantic"] {
        all.extend(messages.copy_dir(&format!("sip/tests/data/rfc4475/{kind}")));
    }
    let own: Vec<(&str, Vec<u8>)> = vec![
        ("invite.sip", crlf(&request("INVITE", 1, "a", "", SDP))),
        (
            "compact.sip",
            crlf(
                "INVITE tel:+31201234567 SIP/2.0\nv: SIP/2.0/TCP [2001:db8::1]:5060;branch=z9hG4bKc\nf: <sip:a@[2001:db8::1]>;tag=1\nt: <tel:+31201234567>\ni: c@x\nCSeq: 1 INVITE\nm: <sip:a@[2001:db8::1]:5060;transport=tcp>\nk: timer, 100rel\nc: application/sdp\nl: 0\n\n",
            ),
        ),
        (
            "response-401.sip",
            crlf(
                "SIP/2.0 401 Unauthorized\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKr\nFrom: <sip:a@b>;tag=1\nTo: <sip:a@b>;tag=2\nCall-ID: r@x\nCSeq: 1 REGISTER\nWWW-Authenticate: Digest realm=\"x\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth\"\nContent-Length: 0\n\n",
            ),
        ),
    ];
    for (name, bytes) in &own {
        messages.add(name, bytes);
    }
    all.extend(own.iter().map(|(n, b)| (n.to_string(), b.clone())));

    // Header values as they appear in those messages (unfolded), one per file.
    let headers = Seeds::new("headers");
    let mut values = std::collections::BTreeSet::new();
    for (_, bytes) in &all {
        let text = String::from_utf8_lossy(bytes)
            .replace("\r\n ", " ")
            .replace("\r\n\t", " ");
        let mut lines = text.split("\r\n");
        if let Some(start) = lines.next()
            && let Some(uri) = start.split(' ').nth(1)
        {
            values.insert(uri.to_string());
        }
        for line in lines.take_while(|l| !l.is_empty()) {
            if let Some((_, value)) = line.split_once(':') {
                values.insert(value.trim().to_string());
            }
        }
    }
    for (i, v) in values.iter().enumerate() {
        headers.add(&format!("{i:03}"), v.as_bytes());
    }
    headers.add(
        "digest",
        b"Digest username=\"alice\", realm=\"deflect\", nonce=\"n\", uri=\"sip:1@127.0.0.1\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c\"",
    );

    // Stream framing: messages back to back, after keep-alives, cut short.
    let frames = Seeds::new("stream_frame");
    for (i, pair) in all.windows(2).enumerate().step_by(4) {
        let mut bytes = b"\r\n\r\n".to_vec();
        bytes.extend_from_slice(&pair[0].1);
        bytes.extend_from_slice(&pair[1].1);
        frames.add(&format!("{i:03}"), &bytes);
        frames.add(&format!("{i:03}-cut"), &pair[0].1[..pair[0].1.len() / 2]);
    }

    // The user agent: every message alone, and whole conversations.
    let endpoint = Seeds::new("endpoint");
    for (name, bytes) in &all {
        endpoint.add(name, bytes);
    }
    let to = ";tag=unknown";
    let re_offer_hold = SDP.replace("c=IN IP4 127.0.0.2", "c=IN IP4 0.0.0.0");
    let conversations: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "call-bye",
            vec![
                crlf(&request("INVITE", 1, "b", "", SDP)),
                crlf(&request("ACK", 1, "b", to, "")),
                crlf(&request("BYE", 2, "b", to, "")),
            ],
        ),
        (
            "call-cancel",
            vec![
                crlf(&request("INVITE", 1, "c", "", SDP)),
                crlf(&request("CANCEL", 1, "c", "", "")),
            ],
        ),
        (
            "call-reinvite-info",
            vec![
                crlf(&request("INVITE", 1, "d", "", SDP)),
                crlf(&request("ACK", 1, "d", to, "")),
                crlf(&request("INVITE", 2, "d", to, &re_offer_hold)),
                crlf(&request("ACK", 2, "d", to, "")),
                crlf(&request("INFO", 3, "d", to, "")),
                crlf(&request("UPDATE", 4, "d", to, SDP)),
                crlf(&request("BYE", 5, "d", to, "")),
            ],
        ),
        (
            "call-retransmitted",
            vec![
                crlf(&request("INVITE", 1, "e", "", SDP)),
                crlf(&request("INVITE", 1, "e", "", SDP)),
                [&[0xFC][..], &crlf(&request("ACK", 1, "e", to, ""))].concat(),
            ],
        ),
        (
            "call-hung-up",
            vec![
                crlf(&request("INVITE", 1, "f", "", SDP)),
                crlf(&request("ACK", 1, "f", to, "")),
                [&[0xFB][..], &crlf("SIP/2.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\nFrom: <sip:31201234567@127.0.0.1>;tag=x\nTo: <sip:+31612345678@127.0.0.2>;tag=fromf\nCall-ID: f@127.0.0.2\nCSeq: 1 BYE\nContent-Length: 0\n\n")].concat(),
            ],
        ),
        (
            "stranger-digest",
            vec![
                [&[0xFE][..], &crlf(&request("INVITE", 1, "g", "", SDP))].concat(),
                [&[0xFE][..], &crlf(&request("INVITE", 2, "g", "\nAuthorization: Digest username=\"alice\", realm=\"deflect\", nonce=\"n\", uri=\"sip:31201234567@127.0.0.1:5060\", response=\"00000000000000000000000000000000\", algorithm=MD5", SDP))].concat(),
            ],
        ),
        (
            "options-register-tcp",
            vec![
                crlf(&request("OPTIONS", 1, "h", "", "")),
                [&[0xFD][..], &crlf(&request("REGISTER", 1, "i", "", ""))].concat(),
                b"\r\n\r\n".to_vec(),
            ],
        ),
    ];
    for (name, parts) in conversations {
        endpoint.add(name, &conversation(&parts));
    }
}

fn rtp(pt: u8, seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt | if marker { 0x80 } else { 0 }];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// A telephone-event (RFC 4733) for `event`, as phones send it: start, updates, three ends.
fn key(out: &mut Vec<u8>, event: u8, seq: &mut u16, ts: u32) {
    for (i, duration) in [160u16, 320, 480, 640, 640, 640].into_iter().enumerate() {
        let end = if i >= 3 { 0x80 } else { 0 };
        let mut payload = vec![event, end | 10];
        payload.extend_from_slice(&duration.to_be_bytes());
        Record::Rtp.encode(&rtp(101, *seq, ts, i == 0, &payload), out);
        *seq = seq.wrapping_add(1);
    }
}

fn media_seeds() {
    let sdp = Seeds::new("sdp");
    sdp.copy_dir("media/tests/data/sdp");
    let c = |s: &str| crlf(s);
    sdp.add(
        "hold-sendonly.sdp",
        &c(&SDP.replace("a=sendrecv", "a=sendonly")),
    );
    sdp.add(
        "hold-inactive.sdp",
        &c(&SDP.replace("a=sendrecv", "a=inactive")),
    );
    sdp.add(
        "hold-rfc2543-recvonly.sdp",
        &c(&SDP
            .replace("127.0.0.2\nt", "0.0.0.0\nt")
            .replace("a=sendrecv", "a=recvonly")),
    );

    let scripts = Seeds::new("rtp_session");
    let mut audio = Vec::new();
    for i in 0..60u16 {
        let tone: Vec<u8> = (0..160).map(|s| ((s * 7 + i) % 256) as u8).collect();
        Record::Rtp.encode(
            &rtp(0, 100 + i, 160 * u32::from(i), i == 0, &tone),
            &mut audio,
        );
    }
    scripts.add("audio", &audio);

    let mut digits = Vec::new();
    let mut seq = 1000;
    for (n, event) in [1u8, 2, 3, 11, 0].into_iter().enumerate() {
        key(&mut digits, event, &mut seq, 8000 * n as u32);
        Record::Wait.encode(&100u16.to_be_bytes(), &mut digits);
    }
    Record::InfoRelay.encode(b"Signal=5\r\nDuration=160\r\n", &mut digits);
    Record::InfoDtmf.encode(b"7", &mut digits);
    scripts.add("digits", &digits);

    let hold_offer = |connection: &str, direction: &str| {
        crlf(&format!(
            "v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nc=IN IP4 {connection}\nt=0 0\nm=audio 4000 RTP/AVP 0 101\na=rtpmap:101 telephone-event/8000\na={direction}\n"
        ))
    };
    for (name, connection, direction) in [
        ("hold-rfc2543", "0.0.0.0", "sendrecv"),
        ("hold-sendonly", "192.0.2.1", "sendonly"),
        ("hold-inactive", "192.0.2.1", "inactive"),
    ] {
        let mut s = Vec::new();
        Record::Rtp.encode(&rtp(0, 1, 0, true, &[0xFF; 160]), &mut s);
        Record::Wait.encode(&200u16.to_be_bytes(), &mut s);
        Record::ReOffer.encode(&hold_offer(connection, direction), &mut s);
        for i in 0..10u16 {
            Record::Rtp.encode(
                &rtp(0, 2 + i, 160 * u32::from(i + 1), false, &[0xFF; 160]),
                &mut s,
            );
            Record::Wait.encode(&20u16.to_be_bytes(), &mut s);
        }
        Record::ReOffer.encode(&hold_offer("192.0.2.1", "sendrecv"), &mut s);
        Record::Wait.encode(&200u16.to_be_bytes(), &mut s);
        scripts.add(name, &s);
    }

    let mut misc = Vec::new();
    Record::Play.encode(&[21, 1], &mut misc);
    Record::Rtp.encode(&rtp(0, 7, 0, true, &[0x7F; 160]), &mut misc);
    Record::StrangerRtp.encode(&rtp(0, 9, 0, true, &[0x7F; 160]), &mut misc);
    // An RTCP sender report (RFC 3550 §6.4.1) and an empty receiver report.
    let mut sr = vec![0x80, 200, 0, 6];
    sr.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    sr.extend_from_slice(&[0; 20]);
    Record::Rtcp.encode(&sr, &mut misc);
    Record::Rtcp.encode(&[0x80, 201, 0, 1, 0x12, 0x34, 0x56, 0x78], &mut misc);
    Record::Hold.encode(&[1], &mut misc);
    Record::Wait.encode(&2500u16.to_be_bytes(), &mut misc);
    Record::Hold.encode(&[0], &mut misc);
    Record::Play.encode(&[], &mut misc);
    Record::Wait.encode(&2500u16.to_be_bytes(), &mut misc);
    scripts.add("misc", &misc);
}

fn webhook_seeds() {
    let meta = Seeds::new("meta_webhook").copy_dir("chat/tests/data/meta");
    let twilio = Seeds::new("twilio_webhook");
    let forms: [(&str, &str); 5] = [
        (
            "text",
            "SmsMessageSid=SM1&NumMedia=0&ProfileName=Ann&SmsSid=SM1&WaId=31612345678&SmsStatus=received&Body=Hi+there%21&To=whatsapp%3A%2B31201234567&MessageSid=SM1&AccountSid=AC1&From=whatsapp%3A%2B31612345678&ApiVersion=2010-04-01",
        ),
        (
            "image",
            "MessageSid=SM2&NumMedia=1&MediaContentType0=image%2Fjpeg&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2Fm&From=whatsapp%3A%2B31612345678&To=whatsapp%3A%2B31201234567&Body=",
        ),
        (
            "button",
            "MessageSid=SM3&ButtonPayload=deflect%3AK7Q2MX&ButtonText=Yes&OriginalRepliedMessageSid=SM0&From=whatsapp%3A%2B31612345678&WaId=31612345678",
        ),
        (
            "status-failed",
            "MessageSid=SM4&MessageStatus=undelivered&ErrorCode=63016&ErrorMessage=Outside+window&To=whatsapp%3A%2B31612345678",
        ),
        (
            "location",
            "MessageSid=SM5&Latitude=52.37&Longitude=4.89&From=whatsapp%3A%2B31612345678",
        ),
    ];
    for (name, form) in forms {
        twilio.add(name, form.as_bytes());
    }
    let sinch = Seeds::new("sinch_webhook");
    let identity =
        r#""channel_identity":{"channel":"WHATSAPP","identity":"46732001122","app_id":"A"}"#;
    let message = |content: &str| {
        format!(
            r#"{{"app_id":"A","project_id":"P","accepted_time":"2026-12-05T12:00:00.123Z","message":{{"id":"01H1","direction":"TO_APP","contact_message":{content},{identity},"conversation_id":"C","contact_id":"K","accept_time":"2026-12-05T12:00:00Z","processing_mode":"CONVERSATION"}},"message_metadata":""}}"#
        )
    };
    let callbacks = [
        (
            "text",
            message(r#"{"text_message":{"text":"Hi"},"reply_to":{"message_id":"01OUT"}}"#),
        ),
        (
            "media",
            message(r#"{"media_message":{"url":"https://m.example/a.jpg"}}"#),
        ),
        (
            "media-card",
            message(
                r#"{"media_card_message":{"url":"https://m.example/a.pdf","caption":"Invoice"}}"#,
            ),
        ),
        (
            "location",
            message(
                r#"{"location_message":{"coordinates":{"latitude":52.37,"longitude":4.89},"title":"Office","label":"Dam 1"}}"#,
            ),
        ),
        (
            "choice",
            message(
                r#"{"choice_response_message":{"message_id":"01OUT","postback_data":"csat:K7:5"}}"#,
            ),
        ),
        (
            "report-failed",
            format!(
                r#"{{"app_id":"A","correlation_id":"deflect-outbox-7","message_delivery_report":{{"message_id":"01M1","status":"FAILED",{identity},"reason":{{"code":"RECIPIENT_NOT_REACHABLE","description":"x","sub_code":"UNSPECIFIED_SUB_CODE"}},"metadata":"deflect-outbox-7"}}}}"#
            ),
        ),
    ];
    for (name, body) in callbacks {
        sinch.add(name, body.as_bytes());
    }
    // Kaleyra wraps the Cloud API's change values: Meta's fixtures, each change's value in
    // `meta_object`, with Kaleyra's `extra_info`.
    let kaleyra = Seeds::new("kaleyra_webhook");
    for (name, bytes) in meta {
        let Ok(meta) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            continue;
        };
        let change = &meta["entry"][0]["changes"][0];
        let wrapped = serde_json::json!({
            "meta_object": {"field": change["field"], "value": change["value"]},
            "extra_info": {"media_url": "https://kaleyra-media.example/f.jpg", "ref": "deflect-outbox-7",
                           "message_id": "wamid.K1", "trace_id": "t", "waba_id": "w"},
        });
        kaleyra.add(&name, wrapped.to_string().as_bytes());
    }
}

fn main() {
    sip_seeds();
    media_seeds();
    webhook_seeds();
    println!("seeds written to {}", root().join("fuzz/seeds").display());
}
