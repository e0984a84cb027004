//! One call's task: the IVR engine driven from its SIP dialog and its media session.

use super::CallService;
use super::bridge::{self, DIGIT_GAP, DIGIT_TONE, Leg, LegEvent, Legs, Placer};
use super::caller::Caller;
use super::listening::Listening;
use super::phones::{AgentCall, AgentLeg};
use crate::call::{Action, Call, CallStart, HangupReason, PlaybackEnd, PlaybackId, TransferResult};
use crate::deflection::{CallOutcome, CallRecord, Deflection, DeflectionConsumer};
use crate::flow::Flow;
use crate::limits::{DeflectionCounter, LimitDecision};
use crate::speech::Heard;
use deflect_config::IdleMedia;
use deflect_media::driver::{
    CallOptions, MediaCall, MediaHandle, Offered, RenegotiateError, Renegotiated,
};
use deflect_media::playback;
use deflect_media::sdp::{Direction, NegotiationError};
use deflect_media::session::MediaEvent;
use deflect_sip::endpoint::{CallEvent, EndReason, Reason, TransferEvent};
use deflect_sip::runtime::Sip;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tracing::{debug, info, warn};

/// How long to wait for the answer to deflect's BYE before the task lets the call go (the
/// SIP stack keeps retransmitting and ends the dialog on its own).
const BYE_PATIENCE: Duration = Duration::from_secs(40);

/// The call's media: negotiated from the INVITE's offer, or offered in the 200 OK.
pub(super) enum Media {
    Answered(MediaCall),
    Offered(Offered),
}

type LimitCheck = Pin<Box<dyn Future<Output = LimitDecision> + Send>>;

/// What a call's record starts from: what was known when its INVITE arrived.
pub(super) struct Arrival {
    pub(super) call_id: String,
    pub(super) trunk: String,
    /// P-Asserted-Identity's user part, else From's.
    pub(super) caller: Option<String>,
    pub(super) dialled: String,
    pub(super) at: jiff::Timestamp,
    /// The conversation it was placed from (a widget visitor's).
    pub(super) conversation: Option<i64>,
}

impl Arrival {
    /// The record of the call that arrived so, routed to `flow`, ending now with `outcome`
    /// (and `reason`) before the IVR took it.
    pub(super) fn record(
        &self,
        flow: &Flow,
        outcome: CallOutcome,
        reason: Option<String>,
    ) -> CallRecord {
        CallRecord {
            call_id: self.call_id.clone(),
            trunk: self.trunk.clone(),
            caller: self.caller.clone(),
            dialled_number: Some(self.dialled.clone()).filter(|d| !d.is_empty()),
            flow: Some(flow.name.clone()),
            language: Some(flow.language.clone()),
            started_at: self.at.as_millisecond(),
            answered_at: None,
            ended_at: jiff::Timestamp::now().as_millisecond(),
            outcome,
            reason,
            input_method: None,
            transcript: None,
            path: Vec::new(),
            callback_number: None,
            transfer_target: None,
            conversation_id: self.conversation,
        }
    }
}

struct CallTask<'a, C, D> {
    service: &'a CallService<C, D>,
    flow: Arc<Flow>,
    /// The SIP stack, to place a bridge's call.
    stack: &'a Sip,
    sip: Caller,
    /// A bridge's calls to its targets.
    legs: Legs,
    media: MediaCall,
    ivr: Call,
    /// The engine's playback now, and the media's id for it.
    playing: Option<(PlaybackId, playback::PlaybackId)>,
    listening: Option<Listening>,
    limits: Option<LimitCheck>,
    deflection: Option<Box<Deflection>>,
    /// deflect sent BYE.
    hung_up: bool,
    /// The SIP dialog has ended.
    sip_ended: bool,
    outcome: Option<CallOutcome>,
    /// The `Reason` the call ended with (ours, or the caller's BYE's).
    reason: Option<String>,
    arrival: Arrival,
    /// The trunk's side took the transfer asked for (202, or a NOTIFY).
    transfer_accepted: bool,
    /// The direction the caller last offered (from its side): its hold, passed on to a
    /// bridge's target.
    held: Direction,
    /// When deflect answered (200 OK); `None` while the call is in early media.
    answered_at: Option<jiff::Timestamp>,
    /// The SDP answer, for the 200 OK of a call in early media.
    early_sdp: Option<Vec<u8>>,
}

#[allow(clippy::too_many_arguments)] // one call's whole start, passed on once
pub(super) async fn run<C, D>(
    service: &CallService<C, D>,
    stack: &Sip,
    mut sip: Caller,
    media: Media,
    flow: Arc<Flow>,
    start: CallStart,
    arrival: Arrival,
    early_sdp: Option<Vec<u8>>,
) where
    C: DeflectionCounter + 'static,
    D: DeflectionConsumer + 'static,
{
    let media = match media {
        Media::Answered(m) => m,
        Media::Offered(offered) => {
            // The caller's answer to our offer comes in the ACK.
            loop {
                match sip.next_event().await {
                    Some(CallEvent::Answered { sdp }) => {
                        match service.parts.engine.answered(offered, &sdp) {
                            Ok(m) => break m,
                            Err(e) => {
                                debug!(cause = %e, "the answer in the ACK is not acceptable; hanging up");
                                let reason = Reason::q850(88, "Incompatible destination");
                                let record = arrival.record(
                                    &flow,
                                    CallOutcome::Failed,
                                    Some(reason.0.clone()),
                                );
                                sip.hang_up(reason);
                                return finished(service, record).await;
                            }
                        }
                    }
                    Some(CallEvent::Ended(reason)) => {
                        debug!(?reason, "call ended");
                        let (outcome, reason) = ended_outcome(&reason);
                        return finished(service, arrival.record(&flow, outcome, reason)).await;
                    }
                    None => return,
                    Some(_) => {}
                }
            }
        }
    };
    let now = Instant::now();
    let ivr = Call::new(flow.clone(), start, now.into_std());
    let mut task = CallTask {
        service,
        flow,
        stack,
        sip,
        legs: Legs::default(),
        media,
        ivr,
        playing: None,
        listening: None,
        limits: None,
        deflection: None,
        hung_up: false,
        sip_ended: false,
        outcome: None,
        reason: None,
        arrival,
        transfer_accepted: false,
        held: Direction::SendRecv,
        answered_at: early_sdp.is_none().then(jiff::Timestamp::now),
        early_sdp,
    };
    task.run().await;
}

/// A call ended: counted, logged and its record kept.
pub(super) async fn finished<C, D>(service: &CallService<C, D>, record: CallRecord)
where
    D: DeflectionConsumer + 'static,
{
    let outcome = record.outcome.as_str();
    metrics::counter!("deflect_calls_total", "outcome" => outcome).increment(1);
    let seconds = (record.ended_at - record.answered_at.unwrap_or(record.ended_at)) as f64 / 1000.0;
    info!(outcome, seconds, "call finished");
    service.parts.hand_offs.keep_record(record).await;
}

/// How a dialog the caller's side (or the stack) ended ends the call, and its reason.
fn ended_outcome(reason: &EndReason) -> (CallOutcome, Option<String>) {
    match reason {
        EndReason::RemoteHangup { reason } => (CallOutcome::CallerHungUp, reason.clone()),
        EndReason::Cancelled => (CallOutcome::Cancelled, None),
        // Hung up by the stack (shutdown after the grace period).
        EndReason::HungUp => (CallOutcome::CutOff, None),
        EndReason::AckTimeout => (CallOutcome::Failed, Some("no ACK".into())),
        EndReason::SessionExpired => (CallOutcome::Failed, Some("session expired".into())),
        other => (CallOutcome::Failed, Some(format!("{other:?}"))),
    }
}

/// The outcome of the IVR hanging up for `reason`.
fn hung_up_outcome(reason: HangupReason) -> CallOutcome {
    match reason {
        HangupReason::Deflected => CallOutcome::Deflected,
        HangupReason::LimitReached => CallOutcome::LimitReached,
        HangupReason::TooManyAttempts => CallOutcome::TooManyAttempts,
        HangupReason::FlowEnded => CallOutcome::FlowEnded,
        HangupReason::CallTooLong => CallOutcome::MaxDuration,
        HangupReason::Transferred => CallOutcome::Transferred,
    }
}

impl<C, D> CallTask<'_, C, D>
where
    C: DeflectionCounter + 'static,
    D: DeflectionConsumer + 'static,
{
    async fn run(&mut self) {
        let max_duration = tokio::time::sleep(self.service.parts.max_call_duration);
        tokio::pin!(max_duration);
        let timer = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(timer);
        let mut armed = None;
        self.actions().await;
        while !self.done() {
            let deadline = self.ivr.poll_timeout().map(Instant::from_std);
            if deadline != armed {
                armed = deadline;
                if let Some(at) = deadline {
                    timer.as_mut().reset(at);
                }
            }
            tokio::select! {
                event = self.sip.next_event(), if !self.sip_ended => self.sip_event(event).await,
                event = self.media.events.recv() => self.media_event(event),
                (leg, event) = self.legs.next() => match event {
                    LegEvent::Sip(event) => self.leg_event(leg, event).await,
                    LegEvent::Media(event) => self.leg_media_event(leg, event),
                    LegEvent::AgentAnswered { offer, answer } => {
                        self.agent_answered(leg, &offer, answer).await;
                    }
                    LegEvent::AgentHeld(on) => self.ivr.handle_hold(Instant::now().into_std(), on),
                },
                heard = heard(&mut self.listening) => {
                    let now = Instant::now().into_std();
                    match heard {
                        Heard::SpeechStarted => self.ivr.handle_speech_started(now),
                        Heard::Utterance(result) => {
                            debug!(text = %result.text, confidence = result.confidence, "speech heard");
                            self.ivr.handle_speech(now, result);
                        }
                    }
                }
                decision = limits(&mut self.limits) => {
                    self.limits = None;
                    self.ivr.handle_limits(Instant::now().into_std(), decision);
                }
                () = &mut timer, if armed.is_some() => {
                    armed = None;
                    self.ivr.handle_timeout(Instant::now().into_std());
                }
                () = &mut max_duration, if !self.hung_up => {
                    debug!("maximum call duration reached; hanging up");
                    self.hang_up(Reason::q850(16, "Maximum call duration reached"), CallOutcome::MaxDuration);
                    self.ivr.handle_hangup(Instant::now().into_std());
                }
            }
            self.actions().await;
        }
        self.listening = None;
        self.media.handle.close();
        self.legs
            .hang_up_all(&Reason::q850(16, "Normal call clearing"));
        let record = self.record();
        if let Some(d) = self.deflection.take() {
            fault!("handoff-after-bye");
            // A refusal is retried by the hand-offs, not by this task.
            self.service.parts.hand_offs.hand_off(*d).await;
        }
        finished(self.service, record).await;
        if self.hung_up && !self.sip_ended {
            // Until the BYE is answered, so the dialog's end is logged with the call.
            let _ = tokio::time::timeout(BYE_PATIENCE, async {
                while let Some(event) = self.sip.next_event().await {
                    if let CallEvent::Ended(reason) = event {
                        debug!(?reason, "call ended");
                        break;
                    }
                }
            })
            .await;
        }
    }

    /// The call's record, as it ends now.
    fn record(&self) -> CallRecord {
        let mut r = self.arrival.record(
            &self.flow,
            self.outcome.unwrap_or(CallOutcome::Failed),
            self.reason.clone(),
        );
        r.caller = self.ivr.caller().map(str::to_string);
        r.answered_at = self.answered_at.map(|a| a.as_millisecond());
        r.path = self.ivr.path();
        r.transfer_target = self.ivr.transfer_target().map(str::to_string);
        match &self.deflection {
            Some(d) => {
                r.input_method = Some(d.call.input_method);
                r.transcript = d.call.transcript.clone();
                r.callback_number = Some(d.call.callback_number.clone());
                r.path = d.call.path.clone();
            }
            None => {
                if let Some((method, transcript, _)) = self.ivr.captured() {
                    r.input_method = Some(method);
                    r.transcript = transcript.map(str::to_string);
                }
            }
        }
        r
    }

    /// The call is over for this task: the engine finished and either side hung up.
    fn done(&self) -> bool {
        self.sip_ended || (self.hung_up && self.ivr.is_finished())
    }

    async fn sip_event(&mut self, event: Option<CallEvent>) {
        let now = Instant::now().into_std();
        match event {
            Some(CallEvent::Offer { offer, sdp }) => {
                let answer = reoffer_answer(&self.media.handle, &sdp).await;
                let held = answer.as_ref().ok().map(|r| r.peer_direction);
                self.sip
                    .answer_offer(offer, answer.map(|r| r.answer.into_bytes()));
                // Hold (or its end) passes on to the agent of a bridge.
                if let Some(held) = held
                    && held != std::mem::replace(&mut self.held, held)
                    && self.ivr.is_bridged()
                    && let Some((media, leg)) = self.legs.answered_call()
                    && let Some(sip) = leg.sip()
                {
                    pass_hold(held, &media.handle, |sdp| sip.reoffer(sdp)).await;
                }
            }
            Some(CallEvent::Reoffered(answer)) => reoffer_answered(&self.media, answer),
            Some(CallEvent::Info {
                request,
                content_type,
                body,
            }) => {
                let status = info_status(&self.media.handle, &content_type, &body);
                self.sip.answer_info(request, status);
            }
            Some(CallEvent::Ended(reason)) => {
                debug!(?reason, "call ended");
                self.sip_ended = true;
                if !self.hung_up {
                    let (mut outcome, reason) = ended_outcome(&reason);
                    // A transferee that took the REFER may end this leg itself once the
                    // target answered, before (or instead of) its final NOTIFY.
                    if self.transfer_accepted
                        && self.ivr.is_transferring()
                        && outcome == CallOutcome::CallerHungUp
                    {
                        self.ivr.handle_transfer(now, TransferResult::Answered);
                        outcome = CallOutcome::Transferred;
                    }
                    // A caller ending a bridged conversation was put through all the same.
                    if self.ivr.is_bridged() {
                        outcome = CallOutcome::Transferred;
                    }
                    self.outcome.get_or_insert(outcome);
                    self.reason = reason;
                }
                self.ivr.handle_hangup(now);
            }
            None => {
                self.sip_ended = true;
                self.ivr.handle_hangup(now);
            }
            Some(CallEvent::Transfer(event)) => {
                debug!(?event, "transfer");
                match event {
                    TransferEvent::Accepted | TransferEvent::Progress(_) => {
                        self.transfer_accepted = true;
                    }
                    TransferEvent::Answered => {
                        self.ivr.handle_transfer(now, TransferResult::Answered);
                    }
                    TransferEvent::Failed(status) => {
                        self.ivr
                            .handle_transfer(now, TransferResult::Failed(status));
                    }
                }
            }
            Some(CallEvent::Referred { request, target }) => {
                // The IVR places no calls: a trunk's transfer request is not taken.
                debug!(to = target, "REFER from the caller's side refused");
                self.sip.answer_refer(request, 501);
            }
            Some(CallEvent::Answered { .. } | CallEvent::Progress { .. }) => {}
        }
    }

    fn media_event(&mut self, event: Option<MediaEvent>) {
        let now = Instant::now().into_std();
        match event {
            Some(MediaEvent::Audio(frame)) => {
                if let Some(l) = &self.listening {
                    l.feed(frame.samples);
                } else if let Some(m) = self.legs.answered()
                    && !self.ivr.is_held()
                {
                    m.handle.relay(frame.samples);
                }
            }
            Some(MediaEvent::Dtmf(d)) => {
                metrics::counter!("deflect_dtmf_digits_total", "source" => d.source.as_str())
                    .increment(1);
                match self.legs.answered() {
                    Some(m) if self.ivr.is_bridged() => pass_digit(m, d.digit.as_char()),
                    _ => self.ivr.handle_dtmf(now, d.digit.as_char()),
                }
            }
            Some(MediaEvent::Playback { id, end }) => {
                if let Some((ivr_id, media_id)) = self.playing
                    && media_id == id
                {
                    self.playing = None;
                    let end = match end {
                        playback::PlaybackEnd::Finished => PlaybackEnd::Finished,
                        playback::PlaybackEnd::Interrupted => PlaybackEnd::Interrupted,
                    };
                    self.ivr.handle_playback_ended(now, ivr_id, end);
                }
            }
            Some(MediaEvent::RtpTimeout { silent_for }) => {
                info!(silent_for = ?silent_for, "no RTP from the caller; hanging up");
                self.hang_up(Reason::q850(102, "No RTP received"), CallOutcome::TimedOut);
                self.ivr.handle_hangup(now);
            }
            Some(MediaEvent::DtmfStarted(_) | MediaEvent::DtmfSent(_)) => {}
            None => {
                // The media session is gone (it cannot end on its own otherwise).
                warn!("the media session ended; hanging up");
                self.hang_up(Reason::q850(41, "Media failure"), CallOutcome::Failed);
                self.ivr.handle_hangup(now);
            }
        }
    }

    /// Something from a bridge's call `id` to its target.
    async fn leg_event(&mut self, id: usize, event: Option<CallEvent>) {
        let now = Instant::now().into_std();
        let Some(leg) = self.legs.get_mut(id) else {
            return;
        };
        match event {
            Some(CallEvent::Progress { status }) => debug!(id, status, "bridge target progress"),
            Some(CallEvent::Answered { sdp }) => {
                if leg.answered(&self.service.parts.engine, &sdp).is_some() {
                    self.connected(id).await;
                } else {
                    self.legs.remove(id);
                    self.ivr.handle_dial(now, id, TransferResult::Failed(488));
                }
            }
            Some(CallEvent::Offer { offer, sdp }) => {
                // Only an answered call has a dialog to re-offer in.
                let answer = match &leg.media {
                    Some(m) => reoffer_answer(&m.handle, &sdp).await,
                    None => Err(488),
                };
                let held = answer.as_ref().ok().map(|r| r.peer_direction);
                if let Some(sip) = leg.call.sip() {
                    sip.answer_offer(offer, answer.map(|r| r.answer.into_bytes()));
                }
                // The agent's hold (or its end) passes on to the caller.
                if let Some(held) = held
                    && held != std::mem::replace(&mut leg.held, held)
                {
                    pass_hold(held, &self.media.handle, |sdp| self.sip.reoffer(sdp)).await;
                }
            }
            Some(CallEvent::Reoffered(answer)) => {
                if let Some(m) = &leg.media {
                    reoffer_answered(m, answer);
                }
            }
            Some(CallEvent::Info {
                request,
                content_type,
                body,
            }) => {
                let status = match &leg.media {
                    Some(m) => info_status(&m.handle, &content_type, &body),
                    None => 200,
                };
                if let Some(sip) = leg.call.sip() {
                    sip.answer_info(request, status);
                }
            }
            Some(CallEvent::Referred { request, target }) => {
                debug!(to = target, "REFER from the bridge target refused");
                if let Some(sip) = leg.call.sip() {
                    sip.answer_refer(request, 501);
                }
            }
            Some(CallEvent::Transfer(_)) => {}
            Some(CallEvent::Ended(reason)) => {
                debug!(id, ?reason, "bridge target's call ended");
                let answered = leg.media.is_some();
                let Some(leg) = self.legs.remove(id) else {
                    return;
                };
                if answered {
                    leg.hang_up(Reason::q850(16, "Normal call clearing"));
                    self.media.handle.bridge(false);
                    self.ivr.handle_bridge_ended();
                    return;
                }
                let mut status = bridge::failure_status(&reason);
                if bridge::fails_over(status) {
                    match self.placer().fail_over(leg).await {
                        Some(Ok(again)) => {
                            self.legs.insert(id, again);
                            return;
                        }
                        Some(Err(s)) => status = s,
                        None => {}
                    }
                }
                self.ivr
                    .handle_dial(now, id, TransferResult::Failed(status));
            }
            None => {
                let answered = leg.media.is_some();
                self.legs.remove(id);
                if answered {
                    self.ivr.handle_bridge_ended();
                } else {
                    self.ivr.handle_dial(now, id, TransferResult::Failed(500));
                }
            }
        }
    }

    /// The bridge's call `id` was answered and relays: the caller's audio goes there too,
    /// and the engine hears of it.
    async fn connected(&mut self, id: usize) {
        self.media.handle.bridge(true);
        self.media.handle.listen(true);
        // A hold the caller started while the target rang passes on now.
        if self.held != Direction::SendRecv
            && let Some(leg) = self.legs.get_mut(id)
            && let Some(media) = &leg.media
            && let Some(sip) = leg.call.sip()
        {
            pass_hold(self.held, &media.handle, |sdp| sip.reoffer(sdp)).await;
        }
        let now = Instant::now().into_std();
        self.ivr.handle_dial(now, id, TransferResult::Answered);
    }

    /// An agent answered the bridge's call `id` with their browser's `offer`: a WebRTC
    /// session answers it and relays. An offer that cannot be taken is refused to that
    /// agent; the call goes on ringing.
    async fn agent_answered(
        &mut self,
        id: usize,
        offer: &str,
        answer: tokio::sync::oneshot::Sender<Result<String, String>>,
    ) {
        let Some(leg) = self.legs.get_mut(id).filter(|l| l.media.is_none()) else {
            let _ = answer.send(Err("the call was answered or ended".into()));
            return;
        };
        let options = CallOptions {
            call_id: format!("{} agent", self.sip.call_id()),
            // The relayed audio flows all the time; nothing is idle.
            idle_media: IdleMedia::Audio,
            ..CallOptions::default()
        };
        match self
            .service
            .parts
            .engine
            .create_webrtc_session(offer, options)
        {
            Ok(media) => {
                let _ = answer.send(Ok(media.answer.clone()));
                leg.connected(media);
                self.connected(id).await;
            }
            Err(e) => {
                debug!(cause = %e, "the agent's offer cannot be taken");
                let _ = answer.send(Err(e.to_string()));
            }
        }
    }

    /// Something from the media of the bridge's call `id`: its audio and digits go to the
    /// caller.
    fn leg_media_event(&mut self, id: usize, event: Option<MediaEvent>) {
        match event {
            // While the agent holds the caller, the caller hears the music instead.
            Some(MediaEvent::Audio(frame)) if !self.ivr.is_held() => {
                self.media.handle.relay(frame.samples);
            }
            Some(MediaEvent::Dtmf(d)) => pass_digit(&self.media, d.digit.as_char()),
            Some(MediaEvent::RtpTimeout { .. }) | None => {
                info!("no media from the bridge target; ending the bridge");
                if let Some(leg) = self.legs.remove(id) {
                    leg.hang_up(Reason::q850(102, "No RTP received"));
                }
                self.media.handle.bridge(false);
                self.ivr.handle_bridge_ended();
            }
            Some(_) => {}
        }
    }

    /// Calls a bridge's `target` as its call `leg` (rings the inbox's agents for
    /// `inbox:<queue>`).
    async fn dial(&mut self, leg: usize, target: &str, trunk: Option<&str>) {
        if let Some(queue) = deflect_config::inbox_queue(target) {
            match self.service.agent_phones() {
                Some(phones) => {
                    let call = AgentCall {
                        queue: queue.to_owned(),
                        caller: self.ivr.caller().map(str::to_owned),
                        channel: self.arrival.trunk.clone(),
                        flow: self.flow.name().to_owned(),
                        conversation: self.arrival.conversation,
                        takes_digits: self.sip.takes_digits(),
                    };
                    self.legs
                        .insert(leg, Leg::agents(AgentLeg::ring(phones, call)));
                }
                None => {
                    debug!("no inbox to ring; the flow goes on");
                    let now = Instant::now().into_std();
                    self.ivr.handle_dial(now, leg, TransferResult::Failed(503));
                }
            }
            return;
        }
        let from = self.ivr.caller().unwrap_or("anonymous").to_owned();
        match self
            .placer()
            .place(target, &from, self.sip.call_id(), trunk)
            .await
        {
            Ok(call) => self.legs.insert(leg, call),
            Err(status) => {
                let now = Instant::now().into_std();
                self.ivr
                    .handle_dial(now, leg, TransferResult::Failed(status));
            }
        }
    }

    fn placer(&self) -> Placer<'_> {
        Placer {
            sip: self.stack,
            engine: &self.service.parts.engine,
            local_peers: self.service.parts.local_peers.as_ref(),
            trunks: &self.service.parts.trunks,
        }
    }

    fn hang_up(&mut self, reason: Reason, outcome: CallOutcome) {
        if self.hung_up || self.sip_ended {
            return;
        }
        self.hung_up = true;
        self.outcome.get_or_insert(outcome);
        // Never answered (early media only): the stack refuses the call with 480.
        self.reason = Some(match self.answered_at {
            Some(_) => reason.0.clone(),
            None => "SIP 480".into(),
        });
        self.sip.hang_up(reason);
    }

    /// Answers a call in early media (200 OK with its SDP): the flow needs the caller now.
    fn answer(&mut self) {
        if self.answered_at.is_some() || self.hung_up || self.sip_ended {
            return;
        }
        if let Some(sdp) = self.early_sdp.take() {
            debug!("answering after early media");
            self.sip.accept(sdp);
            self.answered_at = Some(jiff::Timestamp::now());
        }
    }

    /// Carries out the engine's actions, in order.
    async fn actions(&mut self) {
        while let Some(action) = self.ivr.poll_action() {
            match action {
                Action::Play { id, prompts } => {
                    if self.playing.take().is_some() {
                        self.media.handle.stop_playback();
                    }
                    let items = self.service.parts.prompts.items(&self.flow, &prompts);
                    if tracing::enabled!(tracing::Level::DEBUG) {
                        debug!(prompts = %played(&items), "playing");
                    }
                    // Barge-in is the engine's decision (it sends StopPlayback).
                    let media_id = self.media.handle.play(items, false);
                    self.playing = Some((id, media_id));
                }
                Action::StopPlayback { id } => {
                    if self.playing.is_some_and(|(p, _)| p == id) {
                        self.playing = None;
                        self.media.handle.stop_playback();
                    }
                }
                Action::StartSpeech => {
                    self.answer();
                    self.listening = self
                        .service
                        .parts
                        .models
                        .recogniser(&self.flow, 8000)
                        .map(Listening::start);
                    self.media.handle.listen(self.listening.is_some());
                }
                Action::StopSpeech => {
                    self.listening = None;
                    self.media.handle.listen(false);
                }
                Action::CheckLimits(request) => {
                    self.answer();
                    let counter = self.service.parts.counter.clone();
                    self.limits = Some(Box::pin(async move {
                        match counter.try_record(&request).await {
                            Ok(decision) => decision,
                            Err(e) => {
                                warn!(cause = %e, "abuse limits unavailable");
                                LimitDecision::Unavailable
                            }
                        }
                    }));
                }
                Action::Deflect(d) => {
                    // Durable before the BYE: a crash from here on still hands it off.
                    if let Err(e) = self.service.parts.hand_offs.record(&d).await {
                        warn!(cause = %e, "deflection not journalled; handing it off without");
                    }
                    fault!("handoff-after-journal");
                    self.outcome = Some(CallOutcome::Deflected);
                    self.deflection = Some(d);
                }
                Action::Transfer { target } => {
                    // A REFER needs an established dialog.
                    self.answer();
                    self.sip.refer(&target);
                }
                // The inbox's agents are no telephone network: any caller may reach them.
                Action::Dial { leg, target, trunk }
                    if self.sip.may_leave_deflect()
                        || deflect_config::inbox_queue(&target).is_some() =>
                {
                    // The hold queue plays to an answered call.
                    self.answer();
                    self.dial(leg, &target, trunk.as_deref()).await;
                }
                Action::Dial { leg, target, .. } => {
                    debug!(to = %target, "a WebRTC call is not bridged; the flow goes on");
                    let now = Instant::now().into_std();
                    self.ivr.handle_dial(now, leg, TransferResult::Failed(403));
                }
                Action::CancelDial { leg } => {
                    if let Some(call) = self.legs.remove(leg) {
                        call.hang_up(Reason::q850(16, "Normal call clearing"));
                    }
                }
                Action::Hangup(reason) => {
                    self.hang_up(Reason::q850(16, reason.as_str()), hung_up_outcome(reason));
                }
            }
        }
        // Early media lasts until the flow listens for the caller.
        if self.ivr.is_collecting() {
            self.answer();
        }
    }
}

/// The answer to a re-offer (re-INVITE or UPDATE) on the call of `media`: its SDP, or 400
/// when unreadable, 488 when refused (the media stays as it was).
async fn reoffer_answer(media: &MediaHandle, sdp: &[u8]) -> Result<Renegotiated, u16> {
    match media.renegotiate(sdp).await {
        Ok(answer) => Ok(answer),
        Err(RenegotiateError::Negotiation(NegotiationError::Malformed(e))) => {
            debug!(cause = %e, "re-offer unreadable: 400");
            Err(400)
        }
        Err(e) => {
            debug!(cause = %e, "re-offer refused: 488; the media stays as it was");
            Err(488)
        }
    }
}

/// Offers `held` — the direction one call of a bridge offered, e.g. `SendOnly` for hold —
/// to the other call in a re-INVITE: hold and its end pass through the bridge.
async fn pass_hold(held: Direction, media: &MediaHandle, reoffer: impl FnOnce(Vec<u8>)) {
    match media.reoffer(held).await {
        Ok(offer) => {
            debug!(direction = ?held, "hold passed on");
            reoffer(offer.into_bytes());
        }
        Err(e) => debug!(cause = %e, "hold not passed on"),
    }
}

/// The answer to deflect's re-offer on the call of `media`.
fn reoffer_answered(media: &MediaCall, answer: Result<Vec<u8>, u16>) {
    match answer {
        Ok(sdp) => media.handle.reoffer_answered(sdp),
        Err(status) => debug!(status, "re-offer refused; the media stays as it was"),
    }
}

/// The status for an INFO on the call of `media`: 200 for a digit (it joins the call's
/// DTMF) or an empty body (a keep-alive probe some SBCs send), else 415 or 400.
fn info_status(media: &MediaHandle, content_type: &str, body: &[u8]) -> u16 {
    if body.is_empty() {
        return 200;
    }
    match media.info_dtmf(content_type, body) {
        Ok(()) => 200,
        Err(e) => {
            debug!(cause = %e, "INFO without a digit");
            e.sip_status()
        }
    }
}

/// Sends `digit` on `media` as RFC 4733 (a bridge passing a key press on).
fn pass_digit(media: &MediaCall, digit: char) {
    if media
        .handle
        .send_dtmf(&digit.to_string(), DIGIT_TONE, DIGIT_GAP)
        .is_err()
    {
        debug!(%digit, "not a key; not passed on");
    }
}

/// What a prompt list plays, for the debug log: `nl/you_entered, nl/digit_0, pause, …`.
fn played(items: &[playback::PlayItem]) -> String {
    let names: Vec<&str> = (items.iter())
        .map(|i| match i {
            playback::PlayItem::Prompt(p) => p.name.as_str(),
            playback::PlayItem::Silence(_) => "pause",
        })
        .collect();
    names.join(", ")
}

/// What the recogniser heard next; pending while nobody listens.
async fn heard(listening: &mut Option<Listening>) -> Heard {
    match listening {
        Some(l) => match l.heard.recv().await {
            Some(h) => h,
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

/// The abuse-limit answer; pending while none is asked for.
async fn limits(check: &mut Option<LimitCheck>) -> LimitDecision {
    match check {
        Some(c) => c.as_mut().await,
        None => std::future::pending().await,
    }
}
