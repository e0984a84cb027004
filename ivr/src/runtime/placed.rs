//! Calls an agent places from the inbox to a WhatsApp customer who allowed them (a
//! business-initiated WhatsApp call).
//!
//! No flow runs: the call is the agent's from its start. [`CallService::place_webrtc`]
//! answers the agent's browser with one WebRTC session and makes an offer for WhatsApp with
//! another ([`MediaEngine::offer_webrtc`](deflect_media::driver::MediaEngine::offer_webrtc));
//! whoever carries the signalling (the binary: the Graph API's `connect` with `to`) names
//! the call by WhatsApp's id with [`PlacedCall::named`]. From then its webhook's events reach
//! the call as a customer's call's do: [`CallService::webrtc_ringing`],
//! [`CallService::webrtc_answered`] with WhatsApp's SDP answer once the customer took the
//! call — the session starts and audio is relayed both ways, as a bridge relays —, and
//! [`CallService::webrtc_ended`].
//!
//! While the customer's phone rings the agent hears a ringback tone ([`ringback`]); once they
//! answer, the relay replaces it. While the agent holds the customer ([`PlacedCall::hold`]),
//! neither hears the other and the customer hears the built-in `hold_music`, looping.
//!
//! The call ends when the agent hangs up ([`PlacedCall::hang_up`], or every handle
//! dropped), when the customer does, when no answer comes within [`RING_FOR`], or when
//! either side's media stops; [`Signal::Terminate`] then goes out for it (always, as Meta
//! wants), and its progress ([`PlacedEvent`]) ends with [`PlacedEvent::Ended`]. It leaves a
//! call record as every call does (`agent_call_answered` or `agent_call_unanswered`, with
//! the reason it ended; its id WhatsApp's, or `placed-<n>` for one WhatsApp never named).
//! A WhatsApp call reaches a person in a browser here, never the telephone network (Meta's
//! terms).

use super::{CallService, LiveGuard, Signal};
use crate::deflection::{CallOutcome, CallRecord, DeflectionConsumer};
use crate::limits::DeflectionCounter;
use deflect_config::IdleMedia;
use deflect_config::MUSIC_PROMPT;
use deflect_media::driver::{CallOptions, CreateError, MediaCall, WebRtcOffered};
use deflect_media::playback::{BUILTIN_LANGUAGE, PlayItem, PlaybackEnd, PlaybackId, Prompt};
use deflect_media::session::MediaEvent;
use deflect_sip::endpoint::{CallEvent, EndReason};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::{Instrument, debug, info_span};

/// How long the customer's phone may ring before the call is given up.
pub const RING_FOR: Duration = Duration::from_secs(60);

/// One cycle of the ringback the agent hears while the customer's phone rings: 425 Hz for
/// 1 s, then 4 s of quiet (ITU-T E.180's most common cadence).
fn ringback() -> Vec<PlayItem> {
    static TONE: OnceLock<Arc<Prompt>> = OnceLock::new();
    let tone = TONE.get_or_init(|| {
        let pcm = (0..8000)
            .map(|i| {
                (f64::sin(std::f64::consts::TAU * 425.0 * f64::from(i) / 8000.0) * 6000.0) as i16
            })
            .collect();
        Arc::new(Prompt::from_pcm("ringback", pcm))
    });
    vec![
        PlayItem::Prompt(tone.clone()),
        PlayItem::Silence(Duration::from_secs(4)),
    ]
}

/// A call to place (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// What it goes through (`whatsapp:<account>`): its record's `trunk`.
    pub channel: String,
    /// The business number it calls from (E.164): its record's `caller`.
    pub from: String,
    /// The customer's number (E.164): its record's `dialled_number`.
    pub to: String,
    /// The conversation it is placed from: the call shows there.
    pub conversation: Option<i64>,
    /// The agent's browser's SDP offer (complete: no trickled candidates).
    pub agent_offer: String,
}

/// How a placed call goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlacedEvent {
    /// The customer's phone rings.
    Ringing,
    /// The customer took the call: the agent and they hear each other.
    Answered,
    /// Over (the last event), and why.
    Ended {
        /// Why, in words for the agent and the logs.
        reason: String,
    },
}

/// A placed call, to name and hang up; the call hangs up when every clone is dropped.
#[derive(Clone, Debug)]
pub struct PlacedCall {
    /// The SDP answer for the agent's browser.
    pub agent_answer: String,
    /// deflect's SDP offer for WhatsApp (the `connect` action's `session`).
    pub offer: String,
    control: mpsc::UnboundedSender<Control>,
}

enum Control {
    Named(String),
    Hold(bool),
    HangUp(String),
}

impl PlacedCall {
    /// WhatsApp named the call `call_id` (the answer to `connect`): its webhook's events
    /// reach the call from now on.
    pub fn named(&self, call_id: String) {
        let _ = self.control.send(Control::Named(call_id));
    }

    /// The agent holds the customer (`true`) or takes them back.
    pub fn hold(&self, on: bool) {
        let _ = self.control.send(Control::Hold(on));
    }

    /// Ends the call (the agent hung up, or WhatsApp refused to place it), for `reason`.
    pub fn hang_up(&self, reason: impl Into<String>) {
        let _ = self.control.send(Control::HangUp(reason.into()));
    }
}

impl<C, D> CallService<C, D>
where
    C: DeflectionCounter + 'static,
    D: DeflectionConsumer + 'static,
{
    /// Places a call (see the module docs): the agent's session answers their browser now,
    /// and the call's progress goes to `events`, its [`Signal::Terminate`] to `signals`.
    /// An agent's offer that cannot be taken, or no free port, is an error and places
    /// nothing.
    pub fn place_webrtc(
        self: &Arc<Self>,
        placement: Placement,
        signals: mpsc::UnboundedSender<Signal>,
        events: mpsc::UnboundedSender<PlacedEvent>,
    ) -> Result<PlacedCall, CreateError> {
        static PLACED: AtomicU64 = AtomicU64::new(1);
        let id = format!("placed-{}", PLACED.fetch_add(1, Ordering::Relaxed));
        let options = |leg: &str| CallOptions {
            call_id: format!("{id} {leg}"),
            // The relayed audio flows all the time; nothing is idle.
            idle_media: IdleMedia::Audio,
            ..CallOptions::default()
        };
        let engine = &self.parts.engine;
        let agent = engine.create_webrtc_session(&placement.agent_offer, options("agent"))?;
        let offered = engine.offer_webrtc(options("customer"))?;
        let (control, commands) = mpsc::unbounded_channel();
        let placed = PlacedCall {
            agent_answer: agent.answer.clone(),
            offer: offered.offer.clone(),
            control,
        };
        let record = CallRecord {
            call_id: id.clone(),
            trunk: placement.channel.clone(),
            caller: Some(placement.from),
            dialled_number: Some(placement.to),
            flow: None,
            language: None,
            started_at: jiff::Timestamp::now().as_millisecond(),
            answered_at: None,
            ended_at: 0,
            outcome: CallOutcome::AgentCallUnanswered,
            reason: None,
            input_method: None,
            transcript: None,
            path: Vec::new(),
            callback_number: None,
            transfer_target: None,
            conversation_id: placement.conversation,
        };
        let ringing = agent.handle.play(ringback(), false);
        let call = Placed {
            service: self.clone(),
            record,
            ringback: Some(ringing),
            agent,
            offered: Some(offered),
            customer: None,
            held: None,
            call_id: None,
            signals,
            events,
        };
        let guard = LiveGuard::new(&self.live);
        let span = info_span!("placed_call", %id, channel = %placement.channel);
        tokio::spawn(
            async move {
                call.run(commands).await;
                drop(guard);
            }
            .instrument(span),
        );
        Ok(placed)
    }

    /// The customer's phone rings for the placed call `call_id` (a `RINGING` status).
    pub fn webrtc_ringing(&self, call_id: &str) {
        self.to_webrtc(call_id, CallEvent::Progress { status: 180 });
    }

    /// The customer took the placed call `call_id`: `sdp` is WhatsApp's answer.
    pub fn webrtc_answered(&self, call_id: &str, sdp: &str) {
        let sdp = sdp.as_bytes().to_vec();
        self.to_webrtc(call_id, CallEvent::Answered { sdp });
    }
}

/// The task of one placed call.
struct Placed<C, D> {
    service: Arc<CallService<C, D>>,
    /// Its record, filled in as it goes.
    record: CallRecord,
    /// The agent's ringback playing, until the customer answers.
    ringback: Option<PlaybackId>,
    agent: MediaCall,
    /// deflect's offer, until WhatsApp's answer comes.
    offered: Option<WebRtcOffered>,
    /// The customer's session, once they answered.
    customer: Option<MediaCall>,
    /// While the agent holds the customer: the music playing to them, and since when.
    held: Option<Option<(PlaybackId, std::time::Instant)>>,
    /// WhatsApp's id for the call, once named.
    call_id: Option<String>,
    signals: mpsc::UnboundedSender<Signal>,
    events: mpsc::UnboundedSender<PlacedEvent>,
}

impl<C, D> Placed<C, D>
where
    C: DeflectionCounter + 'static,
    D: DeflectionConsumer + 'static,
{
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Control>) {
        let (own, mut far) = mpsc::unbounded_channel();
        let give_up = tokio::time::sleep(RING_FOR);
        tokio::pin!(give_up);
        self.agent.handle.listen(true);
        let reason = loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Control::Named(call_id)) => {
                        if !self.service.track_webrtc(&call_id, own.clone()) {
                            break format!("WhatsApp named the call {call_id} twice");
                        }
                        debug!(%call_id, "named");
                        self.call_id = Some(call_id);
                    }
                    Some(Control::Hold(on)) => self.hold(on),
                    Some(Control::HangUp(reason)) => break reason,
                    None => break "the agent hung up".into(),
                },
                Some(event) = far.recv() => {
                    if let Some(reason) = self.far_event(event) {
                        break reason;
                    }
                }
                event = self.agent.events.recv() => match event {
                    Some(MediaEvent::Audio(frame)) => {
                        if let Some(customer) = &self.customer
                            && self.held.is_none()
                        {
                            customer.handle.relay(frame.samples);
                        }
                    }
                    Some(MediaEvent::Playback { id, .. }) if self.ringback == Some(id) => {
                        self.ringback = Some(self.agent.handle.play(ringback(), false));
                    }
                    Some(MediaEvent::RtpTimeout { .. }) | None => {
                        break "the agent's audio stopped".into();
                    }
                    Some(_) => {}
                },
                event = customer_event(&mut self.customer) => match event {
                    MediaEvent::Audio(frame) if self.held.is_none() => {
                        self.agent.handle.relay(frame.samples);
                    }
                    MediaEvent::Playback { id, end: PlaybackEnd::Finished } => self.music_ended(id),
                    MediaEvent::RtpTimeout { .. } => break "the customer's audio stopped".into(),
                    _ => {}
                },
                () = &mut give_up, if self.customer.is_none() => {
                    break "the customer did not answer".into();
                }
            }
        };
        debug!(%reason, "the placed call ends");
        self.agent.handle.close();
        if let Some(customer) = &self.customer {
            customer.handle.close();
        }
        if let Some(call_id) = self.call_id.take() {
            let _ = self.signals.send(Signal::Terminate {
                call_id: call_id.clone(),
            });
            self.service.forget_webrtc(&call_id);
            self.record.call_id = call_id;
        }
        let _ = self.events.send(PlacedEvent::Ended {
            reason: reason.clone(),
        });
        self.record.ended_at = jiff::Timestamp::now().as_millisecond();
        self.record.reason = Some(reason);
        super::call::finished(&*self.service, self.record).await;
    }

    /// The agent holds the customer, or takes them back (once they answered).
    fn hold(&mut self, on: bool) {
        let Some(customer) = &self.customer else {
            return;
        };
        match (on, self.held) {
            (true, None) => self.held = Some(music(customer)),
            (false, Some(playing)) => {
                self.held = None;
                if playing.is_some() {
                    customer.handle.stop_playback();
                }
            }
            _ => {}
        }
    }

    /// The customer's playback `id` played to its end: the hold music starts again (unless
    /// it lasted too little to loop: an empty file would spin).
    fn music_ended(&mut self, id: PlaybackId) {
        if let (Some(customer), Some(Some((playing, since)))) = (&self.customer, self.held)
            && playing == id
        {
            let again = since.elapsed() >= crate::call::SHORTEST_MUSIC;
            self.held = Some(again.then(|| music(customer)).flatten());
        }
    }

    /// Something from WhatsApp's side; the reason the call ends, if it does.
    fn far_event(&mut self, event: CallEvent) -> Option<String> {
        match event {
            CallEvent::Progress { .. } => {
                let _ = self.events.send(PlacedEvent::Ringing);
            }
            CallEvent::Answered { sdp } => {
                let offered = self.offered.take()?;
                let sdp = String::from_utf8_lossy(&sdp);
                match self.service.parts.engine.answered_webrtc(offered, &sdp) {
                    Ok(customer) => {
                        self.ringback = None;
                        self.agent.handle.stop_playback();
                        customer.handle.listen(true);
                        customer.handle.bridge(true);
                        self.agent.handle.bridge(true);
                        self.customer = Some(customer);
                        self.record.answered_at = Some(jiff::Timestamp::now().as_millisecond());
                        self.record.outcome = CallOutcome::AgentCallAnswered;
                        let _ = self.events.send(PlacedEvent::Answered);
                    }
                    Err(e) => return Some(format!("WhatsApp's answer cannot be taken: {e}")),
                }
            }
            CallEvent::Ended(EndReason::RemoteHangup { reason }) => {
                return Some(reason.unwrap_or_else(|| "the customer hung up".into()));
            }
            CallEvent::Ended(_) => return Some("the call was cut off".into()),
            _ => {}
        }
        None
    }
}

/// The built-in hold music playing to `customer` from now (none if it cannot be found).
fn music(customer: &MediaCall) -> Option<(PlaybackId, std::time::Instant)> {
    let playing = customer
        .handle
        .play_prompts(BUILTIN_LANGUAGE, &[MUSIC_PROMPT], false);
    Some((playing.ok()?, std::time::Instant::now()))
}

/// The next event of the customer's media once there is one (never before); its end as a
/// timeout.
async fn customer_event(customer: &mut Option<MediaCall>) -> MediaEvent {
    match customer {
        Some(media) => media.events.recv().await.unwrap_or(MediaEvent::RtpTimeout {
            silent_for: Duration::ZERO,
        }),
        None => std::future::pending().await,
    }
}
