//! The binary's call handling before the IVR is wired in: calls from allowed trunks are
//! answered with an SDP answer built from the offer, kept until the caller hangs up or
//! `sip.max_call_duration` is reached (deflect then hangs up with BYE and a Reason header),
//! and re-INVITE/UPDATE offers are answered the same way.
//!
//! The answer takes the first codec of `[media].codecs` that the offer lists,
//! telephone-event when offered, and the RTP address from `[media]` with a port from
//! `rtp_ports`. No RTP is sent or received here: the integration of deflect-media and
//! deflect-ivr replaces this module with media's offer/answer negotiation and real RTP
//! sessions (port exhaustion → 503, nothing acceptable → 488).

use deflect_config::{Codec, MediaConfig};
use deflect_sip::endpoint::{CallEvent, Reason};
use deflect_sip::runtime::{Call, Incoming};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tracing::{Instrument, debug, info_span};

/// Answers calls until the stack stops.
pub(crate) async fn serve(mut incoming: Incoming, media: MediaConfig, max_duration: Duration) {
    let media = Arc::new(media);
    let ports = Arc::new(AtomicU32::new(0));
    while let Some(call) = incoming.recv().await {
        let info = call.info();
        let span = info_span!("call", call_id = %info.call_id, trunk = %info.trunk);
        let port = next_port(&media, &ports);
        let answer = match &info.offer {
            Some(offer) => match answer_sdp(offer, &media, port, 1) {
                Some(a) => a,
                None => {
                    span.in_scope(|| debug!("no acceptable codec in the offer: 488"));
                    call.reject(488, None);
                    continue;
                }
            },
            None => offer_sdp(&media, port),
        };
        span.in_scope(|| {
            debug!(
                trunk = %info.trunk,
                from = info.from_user().unwrap_or_default(),
                to = info.request_user().unwrap_or_default(),
                source = %info.source,
                "answering call"
            )
        });
        let call = call.accept(answer);
        let media = media.clone();
        tokio::spawn(run_call(call, media, port, max_duration).instrument(span));
    }
}

async fn run_call(mut call: Call, media: Arc<MediaConfig>, port: u16, max_duration: Duration) {
    let limit = tokio::time::sleep(max_duration);
    tokio::pin!(limit);
    let mut version = 1;
    let mut hung_up = false;
    loop {
        tokio::select! {
            event = call.next_event() => match event {
                Some(CallEvent::Offer { offer, sdp }) => {
                    version += 1;
                    match answer_sdp(&sdp, &media, port, version) {
                        Some(answer) => call.answer_offer(offer, Ok(answer)),
                        None => call.answer_offer(offer, Err(488)),
                    }
                }
                Some(CallEvent::Ended(reason)) => {
                    debug!(?reason, "call ended");
                    return;
                }
                Some(_) => {}
                None => return,
            },
            () = &mut limit, if !hung_up => {
                hung_up = true;
                debug!("maximum call duration reached; hanging up");
                call.hang_up(Reason::q850(16, "Maximum call duration reached"));
            }
        }
    }
}

fn next_port(media: &MediaConfig, counter: &AtomicU32) -> u16 {
    let first = u32::from(media.rtp_ports.first.next_multiple_of(2));
    let span = (u32::from(media.rtp_ports.last).saturating_sub(first) / 2).max(1);
    let n = counter.fetch_add(1, Ordering::Relaxed) % span;
    u16::try_from(first + 2 * n).unwrap_or(media.rtp_ports.first)
}

fn codec_info(c: Codec) -> (u8, &'static str) {
    match c {
        Codec::Pcmu => (0, "PCMU"),
        Codec::Pcma => (8, "PCMA"),
    }
}

/// Builds an answer to `offer`, or `None` when no configured codec is offered.
fn answer_sdp(offer: &[u8], media: &MediaConfig, port: u16, version: u32) -> Option<Vec<u8>> {
    let offer = String::from_utf8_lossy(offer);
    let m = offer.lines().find(|l| l.starts_with("m=audio "))?;
    let offered: Vec<&str> = m.split_whitespace().skip(3).collect();
    let rtpmap = |pt: &str| {
        offer.lines().find_map(|l| {
            let rest = l.strip_prefix("a=rtpmap:")?;
            let (p, name) = rest.split_once(' ')?;
            (p.trim() == pt).then(|| name.trim().to_ascii_uppercase())
        })
    };
    let codec = media.codecs.iter().find_map(|c| {
        let (pt, name) = codec_info(*c);
        offered
            .iter()
            .find(|o| {
                **o == pt.to_string()
                    || rtpmap(o).is_some_and(|n| n.starts_with(&format!("{name}/8000")))
            })
            .map(|o| (o.to_string(), name))
    })?;
    let events = offered
        .iter()
        .find(|o| rtpmap(o).is_some_and(|n| n.starts_with("TELEPHONE-EVENT/8000")));
    Some(sdp(media, port, version, &codec, events.copied()))
}

/// Builds an offer (for INVITEs without SDP): every configured codec and telephone-event.
fn offer_sdp(media: &MediaConfig, port: u16) -> Vec<u8> {
    let mut s = sdp_head(media, port, 1);
    let pts: Vec<String> = media
        .codecs
        .iter()
        .map(|c| codec_info(*c).0.to_string())
        .collect();
    s.push_str(&format!("m=audio {port} RTP/AVP {} 101\r\n", pts.join(" ")));
    for c in &media.codecs {
        let (pt, name) = codec_info(*c);
        s.push_str(&format!("a=rtpmap:{pt} {name}/8000\r\n"));
    }
    s.push_str("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n");
    s.into_bytes()
}

fn sdp_head(media: &MediaConfig, _port: u16, version: u32) -> String {
    let ip = media.rtp_address;
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    format!(
        "v=0\r\no=deflect 1 {version} IN {family} {ip}\r\ns=deflect\r\nc=IN {family} {ip}\r\nt=0 0\r\n"
    )
}

fn sdp(
    media: &MediaConfig,
    port: u16,
    version: u32,
    codec: &(String, &str),
    events: Option<&str>,
) -> Vec<u8> {
    let mut s = sdp_head(media, port, version);
    let (pt, name) = codec;
    match events {
        Some(ev) => s.push_str(&format!("m=audio {port} RTP/AVP {pt} {ev}\r\n")),
        None => s.push_str(&format!("m=audio {port} RTP/AVP {pt}\r\n")),
    }
    s.push_str(&format!("a=rtpmap:{pt} {name}/8000\r\n"));
    if let Some(ev) = events {
        s.push_str(&format!(
            "a=rtpmap:{ev} telephone-event/8000\r\na=fmtp:{ev} 0-15\r\n"
        ));
    }
    s.push_str("a=sendrecv\r\n");
    s.into_bytes()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\n";

    #[test]
    fn picks_the_first_preferred_codec_that_is_offered_and_telephone_events() {
        let media = MediaConfig::default(); // PCMU, PCMA
        let a = String::from_utf8(answer_sdp(OFFER.as_bytes(), &media, 20000, 1).unwrap()).unwrap();
        assert!(a.contains("m=audio 20000 RTP/AVP 0 96\r\n"), "{a}");
        assert!(a.contains("a=rtpmap:96 telephone-event/8000"));
        assert!(a.contains("c=IN IP4 127.0.0.1"));
    }

    #[test]
    fn nothing_acceptable_is_none() {
        let offer = OFFER.replace("8 0 96", "18 96");
        assert!(answer_sdp(offer.as_bytes(), &MediaConfig::default(), 20000, 1).is_none());
    }
}
