//! The test dialler behind `deflect call`: a small SIP user agent client that calls a
//! gateway the way a phone would, for operators checking a deployment and for tests.
//!
//! A [`Dialler`] owns a SIP stack and a media engine on one local address and can place
//! many calls at once (each with its own RTP socket pair and media session; the call load
//! generator of the benchmarks, ivr/examples/call_load/, shares RTP sockets instead to cost
//! less). Each call follows a [`CallPlan`]:
//!
//! 1. INVITE with an SDP offer (the configured codecs and telephone-event);
//! 2. once answered, the caller's *inputs* in order — a WAV file played as the microphone,
//!    then DTMF digits sent as RFC 4733 events (start, continuations, the end three times) —
//!    each starting when [`Start`] says: at once, after a delay, or when the far end's
//!    prompt has ended (its audio heard, then [`CallPlan::silence`] of quiet);
//! 3. then it hangs up after [`CallPlan::hang_up_after`], or waits for the far end's BYE.
//!
//! While the call is up it listens to the far end (unless [`CallPlan::listen`] is off):
//! the audio heard (20 ms frames above about -45 dBov) is measured and each stretch of it
//! counted as a prompt. The [`DialReport`] says what happened: the answer (or the
//! rejection), the audio heard, the digits sent, who hung up and with which `Reason`, and
//! how long it took; [`CallPlan::timeout`] bounds the whole call.

use deflect_config::{
    Codec, ListenAddr, MediaConfig, PortRange, SipConfig, SipTransport, TrunkConfig,
};
use deflect_media::driver::{CallOptions, MediaCall, MediaEngine};
use deflect_media::playback::{PlayItem, Prompt, PromptLibrary};
use deflect_media::session::MediaEvent;
use deflect_sip::endpoint::{CallEvent, EndReason, OutgoingCall, Reason};
use deflect_sip::message::Uri;
use deflect_sip::runtime::{Call, Sip};
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Frames whose RMS is above this (about -45 dBov) count as audio heard; the gateway's
/// comfort noise between prompts is far below it.
const AUDIO_RMS: f64 = 180.0;

/// Where the dialler runs.
#[derive(Clone, Debug)]
pub struct DiallerSettings {
    /// Local address for SIP and RTP; `None`: the address the system would use to reach
    /// the first call's target.
    pub local: Option<IpAddr>,
    /// RTP ports to take pairs from.
    pub rtp_ports: PortRange,
    /// Codecs offered, in order of preference.
    pub codecs: Vec<Codec>,
    /// Media shard tasks (0: one per core).
    pub media_shards: usize,
    /// PEM file of the CA certificates a TLS target is verified against (default: the
    /// public web PKI roots).
    pub tls_ca: Option<std::path::PathBuf>,
}

impl Default for DiallerSettings {
    fn default() -> Self {
        Self {
            local: None,
            rtp_ports: PortRange {
                first: 30000,
                last: 39999,
            },
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            media_shards: 1,
            tls_ca: None,
        }
    }
}

/// When a caller's input starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// As soon as the call is answered (or the previous input ended).
    Now,
    /// This long after the answer (or after the previous input ended).
    After(Duration),
    /// When the far end's next prompt has played: its audio heard, then
    /// [`CallPlan::silence`] of quiet. Digits sent earlier are kept by the IVR anyway
    /// (type-ahead), but a recogniser would hear a WAV played over the prompt.
    AfterPrompt,
}

/// What one call does.
#[derive(Clone, Debug)]
pub struct CallPlan {
    /// Request-URI, e.g. `sip:31201234567@192.0.2.10:5060`.
    pub uri: Uri,
    /// Where to send the INVITE.
    pub remote: SocketAddr,
    /// Over which transport.
    pub transport: SipTransport,
    /// From user (the calling number).
    pub from_user: String,
    /// Audio played as the microphone (first input).
    pub microphone: Option<Arc<Prompt>>,
    /// Digits to send as RFC 4733 events (after the microphone audio).
    pub dtmf: Option<String>,
    /// When each input starts.
    pub start: Start,
    /// Tone length of each digit.
    pub tone: Duration,
    /// Pause between digits.
    pub gap: Duration,
    /// Quiet that ends a prompt (for [`Start::AfterPrompt`]).
    pub silence: Duration,
    /// After the inputs: hang up this much later; `None`: wait for the far end's BYE.
    pub hang_up_after: Option<Duration>,
    /// Longest the whole call may take; deflect's side then hangs up.
    pub timeout: Duration,
    /// Listen to the far end's audio (off for load generation: it costs a decode per
    /// frame).
    pub listen: bool,
    /// Offer SRTP (`RTP/SAVP` with an SDES key) instead of RTP.
    pub srtp: bool,
}

impl CallPlan {
    /// A plan with the defaults: start after the first prompt, 100 ms tones with 100 ms
    /// gaps, 600 ms of quiet ends a prompt, wait for the far end's BYE, at most 2 minutes.
    pub fn new(uri: Uri, remote: SocketAddr, transport: SipTransport) -> Self {
        Self {
            uri,
            remote,
            transport,
            from_user: "deflect-dialler".into(),
            microphone: None,
            dtmf: None,
            start: Start::AfterPrompt,
            tone: Duration::from_millis(100),
            gap: Duration::from_millis(100),
            silence: Duration::from_millis(600),
            hang_up_after: None,
            timeout: Duration::from_secs(120),
            listen: true,
            srtp: false,
        }
    }
}

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DialOutcome {
    /// The far end refused the call with this status.
    Rejected(u16),
    /// No final answer came.
    NoAnswer,
    /// The far end hung up (BYE), with its `Reason` header if any.
    FarEndHungUp(Option<String>),
    /// The dialler hung up as planned.
    HungUp,
    /// The plan's timeout came first; the dialler hung up.
    TimedOut,
    /// The call could not go on (no media, a broken answer, the stack stopped).
    Failed(String),
}

/// What happened on a call.
#[derive(Clone, Debug)]
pub struct DialReport {
    /// The call's Call-ID.
    pub call_id: String,
    /// How it ended.
    pub outcome: DialOutcome,
    /// From the INVITE to the 200 OK.
    pub answered_after: Option<Duration>,
    /// Audio heard from the far end (frames above the silence level).
    pub audio_heard: Duration,
    /// Stretches of audio heard (prompts, roughly).
    pub prompts_heard: u32,
    /// Digits sent (their first packet left), in order.
    pub digits_sent: String,
    /// From the answer to the last digit's first packet (the key going down).
    pub last_digit_at: Option<Duration>,
    /// From the answer to the end.
    pub duration: Duration,
}

impl DialReport {
    /// Whether the call went as planned: answered, every digit sent, and ended by the far
    /// end's BYE (or by the dialler's, when the plan hangs up).
    pub fn succeeded(&self, plan: &CallPlan) -> bool {
        let digits = plan.dtmf.as_deref().unwrap_or_default();
        let ended = matches!(
            (&self.outcome, plan.hang_up_after),
            (DialOutcome::FarEndHungUp(_), None)
                | (DialOutcome::HungUp | DialOutcome::FarEndHungUp(_), Some(_))
        );
        self.answered_after.is_some() && self.digits_sent == digits && ended
    }
}

/// A SIP stack and media engine that place calls (see the module docs).
pub struct Dialler {
    sip: Sip,
    engine: MediaEngine,
}

impl Dialler {
    /// Binds SIP (UDP and TCP, free ports) and prepares RTP on `settings.local`, or on the
    /// local address that reaches `target`.
    pub async fn start(settings: &DiallerSettings, target: SocketAddr) -> io::Result<Self> {
        let local = match settings.local {
            Some(ip) => ip,
            None => local_address_towards(target)?,
        };
        let mut sip_config = SipConfig {
            listen: vec![
                ListenAddr {
                    transport: SipTransport::Udp,
                    addr: SocketAddr::new(local, 0),
                },
                ListenAddr {
                    transport: SipTransport::Tcp,
                    addr: SocketAddr::new(local, 0),
                },
            ],
            // Nobody may call the dialler; the far end's in-dialog requests still come in.
            // The target is a trunk only for verifying it over TLS.
            trunks: match &settings.tls_ca {
                Some(ca) => vec![TrunkConfig {
                    name: "target".into(),
                    allow: vec![deflect_config::Cidr(target.ip().into())],
                    tls_ca: Some(ca.clone()),
                    ..TrunkConfig::default()
                }],
                None => Vec::new(),
            },
            unauthorized: deflect_config::UnauthorizedAction::Drop,
            ..SipConfig::default()
        };
        sip_config.user_agent = format!("deflect-dialler/{}", env!("CARGO_PKG_VERSION"));
        let listeners = deflect_sip::transport::bind(&sip_config.listen).await?;
        let (sip, _incoming) = Sip::start(&sip_config, listeners)?;
        let media = MediaConfig {
            rtp_address: local,
            rtp_ports: settings.rtp_ports,
            codecs: settings.codecs.clone(),
            ..MediaConfig::default()
        };
        let engine = MediaEngine::start(
            &media,
            Arc::new(PromptLibrary::default()),
            None,
            settings.media_shards,
        );
        Ok(Self { sip, engine })
    }

    /// The media engine's counters (packets sent, late, received).
    pub fn media(&self) -> &MediaEngine {
        &self.engine
    }

    /// Places one call following `plan`; `say` hears each step as it happens (time since
    /// the INVITE, what happened).
    pub async fn call(&self, plan: &CallPlan, mut say: impl FnMut(Duration, &str)) -> DialReport {
        let started = Instant::now();
        let mut report = DialReport {
            call_id: String::new(),
            outcome: DialOutcome::NoAnswer,
            answered_after: None,
            audio_heard: Duration::ZERO,
            prompts_heard: 0,
            digits_sent: String::new(),
            last_digit_at: None,
            duration: Duration::ZERO,
        };
        let options = CallOptions {
            srtp: if plan.srtp {
                deflect_config::SrtpPolicy::Required
            } else {
                deflect_config::SrtpPolicy::Off
            },
            ..CallOptions::default()
        };
        let offered = match self.engine.offer(options) {
            Ok(o) => o,
            Err(e) => {
                report.outcome = DialOutcome::Failed(format!("no RTP port: {e}"));
                return report;
            }
        };
        let outgoing = OutgoingCall {
            uri: plan.uri.clone(),
            remote: plan.remote,
            transport: plan.transport,
            from_user: plan.from_user.clone(),
            sdp: offered.offer.clone().into_bytes(),
            route: None,
            credentials: None,
            through: None,
        };
        let mut call = match self.sip.call(outgoing).await {
            Ok(c) => c,
            Err(e) => {
                report.outcome = DialOutcome::Failed(e.to_string());
                return report;
            }
        };
        report.call_id = call.call_id().to_owned();
        let deadline = started + plan.timeout;
        say(
            started.elapsed(),
            &format!("calling {} (Call-ID {})", plan.uri, report.call_id),
        );
        // Until the answer.
        let media = loop {
            let event = tokio::time::timeout_at(deadline, call.next_event()).await;
            match event {
                Err(_) => {
                    call.hang_up(Reason::q850(102, "No answer"));
                    report.outcome = DialOutcome::TimedOut;
                    say(started.elapsed(), "no answer in time; cancelled");
                    return report;
                }
                Ok(Some(CallEvent::Progress { status })) => {
                    say(started.elapsed(), &format!("progress: {status}"));
                }
                Ok(Some(CallEvent::Answered { sdp })) => {
                    report.answered_after = Some(started.elapsed());
                    match self.engine.answered(offered, &sdp) {
                        Ok(m) => {
                            say(
                                started.elapsed(),
                                &format!(
                                    "answered: {:?}, telephone-event {}{}",
                                    m.media.codec,
                                    m.media
                                        .telephone_event
                                        .map_or("not offered".to_string(), |pt| format!("pt {pt}")),
                                    m.media.srtp.as_ref().map_or(String::new(), |k| format!(
                                        ", SRTP {}",
                                        k.suite.name()
                                    ))
                                ),
                            );
                            break m;
                        }
                        Err(e) => {
                            call.hang_up(Reason::q850(88, "Incompatible destination"));
                            report.outcome = DialOutcome::Failed(format!("unusable answer: {e}"));
                            say(started.elapsed(), "the answer's SDP is unusable; hung up");
                            return report;
                        }
                    }
                }
                Ok(Some(CallEvent::Ended(reason))) => {
                    report.outcome = match reason {
                        EndReason::Rejected(status) => DialOutcome::Rejected(status),
                        EndReason::Timeout => DialOutcome::NoAnswer,
                        other => DialOutcome::Failed(format!("{other:?}")),
                    };
                    say(
                        started.elapsed(),
                        &format!("not answered: {:?}", report.outcome),
                    );
                    return report;
                }
                Ok(None) => {
                    report.outcome = DialOutcome::Failed("the SIP stack stopped".into());
                    return report;
                }
                Ok(Some(_)) => {}
            }
        };
        let answered = Instant::now();
        let mut talk = Talk::new(plan, media, answered);
        let outcome = talk.run(&mut call, deadline, &mut say, started).await;
        talk.media.handle.close();
        report.outcome = outcome;
        report.audio_heard = talk.audio;
        report.prompts_heard = talk.prompts;
        report.digits_sent = talk.digits_sent;
        report.last_digit_at = talk.last_digit_at;
        report.duration = answered.elapsed();
        report
    }
}

/// The local address the system routes `target` from (no packet is sent).
fn local_address_towards(target: SocketAddr) -> io::Result<IpAddr> {
    let any: SocketAddr = if target.is_ipv4() {
        "0.0.0.0:0".parse().expect("literal address")
    } else {
        "[::]:0".parse().expect("literal address")
    };
    let probe = std::net::UdpSocket::bind(any)?;
    probe.connect(target)?;
    Ok(probe.local_addr()?.ip())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    Microphone,
    Dtmf,
}

/// The answered part of a call.
struct Talk<'a> {
    plan: &'a CallPlan,
    media: MediaCall,
    answered: Instant,
    /// Inputs still to start, in order.
    inputs: Vec<Input>,
    /// The input under way.
    current: Option<Input>,
    /// When the current wait for a start began (answer, or the end of the last input).
    waiting_since: Instant,
    /// Audio heard since the wait began (for `Start::AfterPrompt`).
    heard_since_wait: bool,
    in_audio: bool,
    quiet_since: Option<Instant>,
    audio: Duration,
    prompts: u32,
    digits_sent: String,
    /// Digits whose end packets have all left.
    digits_ended: usize,
    last_digit_at: Option<Duration>,
    /// When the dialler hangs up (after the inputs).
    hang_up_at: Option<Instant>,
}

impl<'a> Talk<'a> {
    fn new(plan: &'a CallPlan, media: MediaCall, answered: Instant) -> Self {
        let mut inputs = Vec::new();
        if plan.microphone.is_some() {
            inputs.push(Input::Microphone);
        }
        if plan.dtmf.as_deref().is_some_and(|d| !d.is_empty()) {
            inputs.push(Input::Dtmf);
        }
        inputs.reverse();
        if plan.listen {
            media.handle.listen(true);
        }
        Self {
            plan,
            media,
            answered,
            inputs,
            current: None,
            waiting_since: answered,
            heard_since_wait: false,
            in_audio: false,
            quiet_since: None,
            audio: Duration::ZERO,
            prompts: 0,
            digits_sent: String::new(),
            digits_ended: 0,
            last_digit_at: None,
            hang_up_at: None,
        }
    }

    async fn run(
        &mut self,
        call: &mut Call,
        deadline: Instant,
        say: &mut impl FnMut(Duration, &str),
        started: Instant,
    ) -> DialOutcome {
        loop {
            if self.current.is_none() && self.hang_up_at.is_none() {
                if self.inputs.is_empty() {
                    if let Some(after) = self.plan.hang_up_after {
                        self.hang_up_at = Some(Instant::now() + after);
                    }
                } else if self.may_start(Instant::now()) {
                    self.start_next(say, started);
                }
            }
            let wake = self.next_wake(deadline);
            tokio::select! {
                event = call.next_event() => match event {
                    Some(CallEvent::Ended(reason)) => {
                        // What the media reported before the BYE counts (a digit whose first
                        // packet left is what the far end acted on).
                        while let Ok(event) = self.media.events.try_recv() {
                            if let MediaEvent::DtmfStarted(d) = event {
                                self.digits_sent.push(d.as_char());
                                self.last_digit_at = Some(self.answered.elapsed());
                            }
                        }
                        let outcome = match reason {
                            EndReason::RemoteHangup { reason } => DialOutcome::FarEndHungUp(reason),
                            EndReason::HungUp => DialOutcome::HungUp,
                            other => DialOutcome::Failed(format!("{other:?}")),
                        };
                        let text = match &outcome {
                            DialOutcome::FarEndHungUp(Some(r)) => format!("far end hung up (BYE, Reason: {r})"),
                            DialOutcome::FarEndHungUp(None) => "far end hung up (BYE, no Reason)".to_string(),
                            other => format!("call ended: {other:?}"),
                        };
                        say(started.elapsed(), &text);
                        return outcome;
                    }
                    Some(CallEvent::Offer { offer, sdp }) => {
                        let answer = self.media.handle.renegotiate(&sdp).await.map(|r| r.answer.into_bytes()).map_err(|_| 488);
                        call.answer_offer(offer, answer);
                    }
                    Some(CallEvent::Info { request, .. }) => call.answer_info(request, 200),
                    Some(CallEvent::Referred { request, target }) => {
                        // Like a PBX whose call to the target is answered at once.
                        say(started.elapsed(), &format!("far end transfers the call to {target}: taken (202), reported answered"));
                        call.answer_refer(request, 202);
                        call.notify_transfer(100);
                        call.notify_transfer(200);
                    }
                    Some(_) => {}
                    None => return DialOutcome::Failed("the SIP stack stopped".into()),
                },
                event = self.media.events.recv() => match event {
                    Some(MediaEvent::Audio(frame)) => self.heard(&frame.samples, say, started),
                    Some(MediaEvent::DtmfStarted(d)) => {
                        // The key is down: the far end may act on it from here.
                        self.digits_sent.push(d.as_char());
                        self.last_digit_at = Some(self.answered.elapsed());
                    }
                    Some(MediaEvent::DtmfSent(_)) => {
                        self.digits_ended += 1;
                        let wanted = self.plan.dtmf.as_deref().unwrap_or_default();
                        if self.digits_ended == wanted.chars().count() {
                            say(started.elapsed(), &format!("digits sent: {}", self.digits_sent));
                            self.input_done();
                        }
                    }
                    Some(MediaEvent::Playback { .. }) => {
                        if self.current == Some(Input::Microphone) {
                            say(started.elapsed(), "microphone audio played");
                            self.input_done();
                        }
                    }
                    Some(MediaEvent::RtpTimeout { silent_for }) => {
                        say(started.elapsed(), &format!("no RTP from the far end for {silent_for:?}"));
                    }
                    Some(MediaEvent::Dtmf(d)) => {
                        say(started.elapsed(), &format!("the far end sent digit {}", d.digit));
                    }
                    None => return DialOutcome::Failed("the media session ended".into()),
                },
                () = tokio::time::sleep_until(wake) => {
                    let now = Instant::now();
                    if now >= deadline {
                        call.hang_up(Reason::q850(102, "Test call timed out"));
                        say(started.elapsed(), "timed out; hung up");
                        self.wait_end(call).await;
                        return DialOutcome::TimedOut;
                    }
                    if self.hang_up_at.is_some_and(|t| now >= t) {
                        call.hang_up(Reason::q850(16, "Normal call clearing"));
                        say(started.elapsed(), "hung up");
                        return match self.wait_end(call).await {
                            Some(EndReason::RemoteHangup { reason }) => DialOutcome::FarEndHungUp(reason),
                            _ => DialOutcome::HungUp,
                        };
                    }
                }
            }
        }
    }

    /// Waits (a few seconds at most) for the dialog to end after our BYE.
    async fn wait_end(&self, call: &mut Call) -> Option<EndReason> {
        tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(event) = call.next_event().await {
                if let CallEvent::Ended(reason) = event {
                    return Some(reason);
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
    }

    /// When something is due without an event: the deadline, the planned hang-up, or the
    /// start of the next input.
    fn next_wake(&self, deadline: Instant) -> Instant {
        let mut wake = self.hang_up_at.unwrap_or(deadline).min(deadline);
        if self.current.is_none() && !self.inputs.is_empty() {
            let start = match self.plan.start {
                Start::Now => None,
                Start::After(d) => Some(self.waiting_since + d),
                Start::AfterPrompt => self
                    .quiet_since
                    .filter(|_| self.heard_since_wait)
                    .map(|q| q + self.plan.silence),
            };
            if let Some(start) = start {
                wake = wake.min(start);
            }
        }
        wake
    }

    fn may_start(&self, now: Instant) -> bool {
        match self.plan.start {
            Start::Now => true,
            Start::After(d) => now >= self.waiting_since + d,
            Start::AfterPrompt => {
                self.heard_since_wait
                    && self
                        .quiet_since
                        .is_some_and(|q| now >= q + self.plan.silence)
            }
        }
    }

    fn start_next(&mut self, say: &mut impl FnMut(Duration, &str), started: Instant) {
        let Some(input) = self.inputs.pop() else {
            return;
        };
        match input {
            Input::Microphone => {
                if let Some(mic) = &self.plan.microphone {
                    say(
                        started.elapsed(),
                        &format!("playing {:.1} s of audio", mic.duration().as_secs_f64()),
                    );
                    self.media
                        .handle
                        .play(vec![PlayItem::Prompt(mic.clone())], false);
                }
            }
            Input::Dtmf => {
                let digits = self.plan.dtmf.clone().unwrap_or_default();
                if self.media.media.telephone_event.is_none() {
                    say(
                        started.elapsed(),
                        "the far end did not accept telephone-event; no digits sent",
                    );
                    self.current = None;
                    self.digits_sent.clear();
                    self.input_done();
                    return;
                }
                say(started.elapsed(), &format!("sending digits {digits}"));
                if let Err(c) = self
                    .media
                    .handle
                    .send_dtmf(&digits, self.plan.tone, self.plan.gap)
                {
                    say(started.elapsed(), &format!("{c:?} is not a DTMF key"));
                }
            }
        }
        self.current = Some(input);
    }

    fn input_done(&mut self) {
        self.current = None;
        self.waiting_since = Instant::now();
        self.heard_since_wait = false;
    }

    /// A frame of the far end's audio.
    fn heard(&mut self, samples: &[i16], say: &mut impl FnMut(Duration, &str), started: Instant) {
        let now = Instant::now();
        let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
        let rms = (energy / samples.len().max(1) as f64).sqrt();
        let frame = Duration::from_micros(samples.len() as u64 * 125);
        if rms >= AUDIO_RMS {
            self.audio += frame;
            self.quiet_since = None;
            if !self.in_audio {
                self.in_audio = true;
                self.prompts += 1;
                say(started.elapsed(), "far end audio starts");
            }
            if self.current.is_none() {
                self.heard_since_wait = true;
            }
        } else {
            let quiet = *self.quiet_since.get_or_insert(now);
            // Pauses inside a prompt (between words) are shorter than the silence wanted.
            if self.in_audio && now >= quiet + self.plan.silence {
                self.in_audio = false;
                say(started.elapsed(), "far end audio stops");
            }
        }
    }
}
