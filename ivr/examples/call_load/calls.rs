//! One call as a phone makes it: SIP through deflect's own stack, media negotiated, the
//! caller's RTP handed to a shared socket, digits sent, the end reported.

use crate::audio::comfort_noise;
use crate::rtp::{Leg, LegEvent, Mux, MuxCommand, MuxStats};
use deflect_config::{Codec, ListenAddr, SipConfig, SipTransport};
use deflect_media::dtmf::Digit;
use deflect_media::dtmf::telephone_event::TelephoneEventSender;
use deflect_media::sdp::{self, LocalDescription};
use deflect_sip::endpoint::{CallEvent, EndReason, OutgoingCall, Reason};
use deflect_sip::message::Uri;
use deflect_sip::runtime::Sip;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// SIP (deflect's stack, as the test dialler uses it) and the shared RTP sockets.
pub(crate) struct Generator {
    pub(crate) sip: Sip,
    pub(crate) ip: IpAddr,
    pub(crate) muxes: Vec<Mux>,
    pub(crate) stats: Arc<MuxStats>,
    pub(crate) noise: Arc<[u8]>,
    pub(crate) next_id: AtomicU64,
}

/// What the call should do once answered.
#[derive(Clone)]
pub(crate) struct Plan {
    pub(crate) uri: Uri,
    pub(crate) target: SocketAddr,
    pub(crate) from_user: String,
    pub(crate) microphone: Option<Arc<[u8]>>,
    pub(crate) digits: Option<(Duration, String)>,
    pub(crate) hang_up_after_audio: bool,
    pub(crate) timeout: Duration,
}

#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) call_id: String,
    pub(crate) answered: bool,
    /// The far end's BYE ended the call.
    pub(crate) far_end_hung_up: bool,
    pub(crate) error: Option<String>,
    pub(crate) digits_sent: String,
    /// From the answer to the last digit's first packet, and to the end.
    pub(crate) last_digit_at: Option<Duration>,
    pub(crate) duration: Duration,
}

impl Generator {
    pub(crate) async fn start(target: SocketAddr) -> Self {
        let probe = UdpSocket::bind("0.0.0.0:0").expect("a probe socket");
        probe.connect(target).expect("a route to the target");
        let ip = probe.local_addr().expect("bound").ip();
        let mut config = SipConfig {
            listen: vec![ListenAddr {
                transport: SipTransport::Udp,
                addr: SocketAddr::new(ip, 0),
            }],
            trunks: Vec::new(),
            unauthorized: deflect_config::UnauthorizedAction::Drop,
            ..SipConfig::default()
        };
        config.user_agent = "deflect-call-load".into();
        let listeners = deflect_sip::transport::bind(&config.listen)
            .await
            .expect("a SIP socket");
        let (sip, _incoming) = Sip::start(&config, listeners).expect("the SIP stack");
        let stats = Arc::new(MuxStats::default());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let muxes = (0..cores).map(|_| Mux::start(ip, stats.clone())).collect();
        Self {
            sip,
            ip,
            muxes,
            stats,
            noise: comfort_noise(),
            next_id: AtomicU64::new(1),
        }
    }

    pub(crate) async fn call(&self, plan: &Plan) -> Outcome {
        let mut outcome = Outcome::default();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mux = &self.muxes[id as usize % self.muxes.len()];
        let mut local = LocalDescription::new(self.ip, mux.port);
        let offer = sdp::offer(&mut local, &[Codec::Pcmu], Some(101));
        let started = Instant::now();
        let deadline = started + plan.timeout;
        let mut call = match self
            .sip
            .call(OutgoingCall {
                uri: plan.uri.clone(),
                remote: plan.target,
                transport: SipTransport::Udp,
                from_user: plan.from_user.clone(),
                sdp: offer.into_bytes(),
                route: None,
                credentials: None,
                through: None,
            })
            .await
        {
            Ok(c) => c,
            Err(e) => {
                outcome.error = Some(e.to_string());
                return outcome;
            }
        };
        outcome.call_id = call.call_id().to_owned();
        let media = loop {
            match tokio::time::timeout_at(deadline, call.next_event()).await {
                Ok(Some(CallEvent::Answered { sdp })) => {
                    let mut local = LocalDescription::new(self.ip, mux.port);
                    match sdp::answer_offer(&sdp, &[Codec::Pcmu], &mut local) {
                        Ok((_, media)) if media.remote_rtp.is_some() => break media,
                        _ => {
                            call.hang_up(Reason::q850(88, "Incompatible destination"));
                            outcome.error = Some("unusable SDP answer".into());
                            return outcome;
                        }
                    }
                }
                Ok(Some(CallEvent::Ended(reason))) => {
                    outcome.error = Some(format!("not answered: {reason:?}"));
                    return outcome;
                }
                Ok(Some(_)) => {}
                Ok(None) => {
                    outcome.error = Some("the SIP stack stopped".into());
                    return outcome;
                }
                Err(_) => {
                    call.hang_up(Reason::q850(102, "No answer"));
                    outcome.error = Some("no answer in time".into());
                    return outcome;
                }
            }
        };
        outcome.answered = true;
        let answered = Instant::now();
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let digits = plan.digits.as_ref().map(|(after, d)| {
            let keys = d.chars().filter_map(Digit::from_char).collect::<Vec<_>>();
            (
                answered + *after,
                keys,
                Duration::from_millis(100),
                Duration::from_millis(100),
            )
        });
        let leg = Leg {
            id,
            to: media.remote_rtp.expect("checked above"),
            payload_type: media.payload_type,
            telephone_event: media.telephone_event,
            ssrc: (id as u32).wrapping_mul(0x9e37_79b9) | 1,
            seq: id as u16,
            timestamp: (id as u32).wrapping_mul(7919),
            marker: true,
            next: answered,
            audio: plan.microphone.clone(),
            position: 0,
            noise: self.noise.clone(),
            digits,
            dtmf: TelephoneEventSender::default(),
            events: events_tx,
        };
        let _ = mux.tx.send(MuxCommand::Add(Box::new(leg)));
        let mut hung_up = false;
        loop {
            tokio::select! {
                event = call.next_event() => match event {
                    Some(CallEvent::Ended(reason)) => {
                        while let Ok(LegEvent::DigitStarted(d)) = events.try_recv() {
                            outcome.digits_sent.push(d.as_char());
                            outcome.last_digit_at = Some(answered.elapsed());
                        }
                        outcome.far_end_hung_up = matches!(reason, EndReason::RemoteHangup { .. });
                        if !outcome.far_end_hung_up && !hung_up {
                            outcome.error = Some(format!("call ended: {reason:?}"));
                        }
                        break;
                    }
                    Some(CallEvent::Offer { offer, .. }) => call.answer_offer(offer, Err(488)),
                    Some(CallEvent::Info { request, .. }) => call.answer_info(request, 200),
                    Some(_) => {}
                    None => {
                        outcome.error = Some("the SIP stack stopped".into());
                        break;
                    }
                },
                Some(event) = events.recv() => match event {
                    LegEvent::DigitStarted(d) => {
                        outcome.digits_sent.push(d.as_char());
                        outcome.last_digit_at = Some(answered.elapsed());
                    }
                    LegEvent::AudioDone => {
                        if plan.hang_up_after_audio && !hung_up {
                            hung_up = true;
                            call.hang_up(Reason::q850(16, "Normal call clearing"));
                        }
                    }
                },
                () = tokio::time::sleep_until(deadline), if !hung_up => {
                    hung_up = true;
                    outcome.error = Some("timed out".into());
                    call.hang_up(Reason::q850(102, "Test call timed out"));
                }
            }
        }
        let _ = mux.tx.send(MuxCommand::Remove(id));
        outcome.duration = answered.elapsed();
        outcome
    }
}
