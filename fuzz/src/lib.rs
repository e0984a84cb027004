//! What each of deflect's fuzz targets feeds to the code under test: one function per target,
//! called by the libFuzzer binary of the same name (`fuzz_targets/<name>.rs`, built by
//! `cargo +nightly fuzz`) and by the stable fallback (`tests/fallback.rs`), so both exercise
//! exactly the same entry points.
//!
//! Every target takes arbitrary bytes from the network's point of view and must never
//! panic; where a property is cheap to state, the target asserts it too (what parses
//! serializes into something that parses again; a held call sends no RTP).
//!
//! | target | what |
//! |---|---|
//! | `message` | the SIP message parser, as a datagram and as a stream message, and its round trip |
//! | `headers` | typed SIP headers and URIs, digest parameters |
//! | `stream_frame` | stream (TCP) framing by Content-Length |
//! | `endpoint` | the whole SIP user agent on datagrams from an allowed and an unknown source |
//! | `sdp` | SDP offers answered (RFC 3264) |
//! | `rtp_session` | a live media session: RTP, RTCP, SIP INFO bodies, re-offers |
//! | `meta_webhook` | Meta webhook bodies: signature check and parsing |
//! | `twilio_webhook` | Twilio webhook forms: signature check and parsing |
//! | `sinch_webhook` | Sinch Conversation API callbacks: signature check and parsing |
//! | `kaleyra_webhook` | Kaleyra callbacks (Cloud API values in `meta_object`): parsing |
//!
//! Seeds are in `fuzz/seeds/<target>/` (the SIP ones include the RFC 4475 torture messages);
//! the corpora fuzzing grows are kept out of the repository, in
//! `~/.cache/deflect/fuzz/corpus/<target>/` (`scripts/fuzz`).

#![forbid(unsafe_code)]

pub mod media;
pub mod mutate;
pub mod sip;
pub mod webhook;

/// A fuzz target: its name (the libFuzzer binary's and the seed directory's) and its entry.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Name of the binary and of `seeds/<name>/`.
    pub name: &'static str,
    /// Feeds one input to the code under test; panics on a bug.
    pub run: fn(&[u8]),
}

/// Every target, in the order `scripts/fuzz` runs them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "message",
        run: sip::message,
    },
    Target {
        name: "headers",
        run: sip::headers,
    },
    Target {
        name: "stream_frame",
        run: sip::stream_frame,
    },
    Target {
        name: "endpoint",
        run: sip::endpoint,
    },
    Target {
        name: "sdp",
        run: media::sdp,
    },
    Target {
        name: "rtp_session",
        run: media::rtp_session,
    },
    Target {
        name: "meta_webhook",
        run: webhook::meta,
    },
    Target {
        name: "twilio_webhook",
        run: webhook::twilio,
    },
    Target {
        name: "sinch_webhook",
        run: webhook::sinch,
    },
    Target {
        name: "kaleyra_webhook",
        run: webhook::kaleyra,
    },
];
