//! Call load generator for the whole-gateway benchmarks (scripts/bench-calls): many calls
//! from one process, with SIP and RTP like a phone's. It measures the gateway process from
//! outside (`/proc/<pid>` for CPU and RSS, `/metrics` for its RTP counters) and reports its
//! own CPU separately.
//!
//! It is built to cost as little as it can, so that the gateway, not the generator, is what
//! runs out of CPU: SIP goes through deflect's own SIP stack (as the test dialler's does), but
//! the callers' RTP does not go through a media engine. All calls share a few RTP sockets
//! (one per core; every call's SDP offer advertises its socket's port — the gateway latches
//! onto the address packets come from, as it does for any caller): a task per socket sends
//! each call's 20 ms packets from a 1 ms tick (calls bucketed by their phase, no timer or task
//! per call), and reads everything the gateway sends with one `recvmmsg` per tick, counting
//! it without decoding. Each call still sends what a phone does: an RTP stream of G.711 audio
//! (comfort noise, or `--wav`/the prompts in `hold` mode) from the answer on, and its digits as
//! real RFC 4733 events (start, continuation, three end packets; deflect-media's sender).
//!
//! Modes:
//!
//! - `rate`: calls at a fixed rate for a while; each waits `--prompt-ms` after the answer
//!   (the gateway's first prompt), sends `--digits` as RFC 4733 events and waits for the
//!   gateway's BYE. Reports calls, failures, gateway CPU per call, and the time from the
//!   last digit's first packet to the BYE (p50/p99). With `--numbers`, each call types its
//!   own callback number instead (`0612` + six digits, for a deflecting flow) and an
//!   embedded fake Cloud API on `--provider PORT` timestamps each template request: the time
//!   from the BYE to the provider's request (p50/p99).
//! - `hold`: `--calls` calls set up at `--ramp` per second, each playing `--wav` (or the
//!   built-in prompts) to the gateway while the gateway plays its prompts back; once all
//!   are up, the gateway and the generator are measured for `--measure` seconds: CPU per
//!   call-second, RSS per call, the share of RTP packets sent more than 5 ms late.
//!
//! ```sh
//! cargo run --release -p deflect-ivr --example call_load -- --mode rate --target 127.0.0.1:5060 \
//!     --gateway-pid 1234 --metrics 127.0.0.1:8080 --rate 100 --seconds 30
//! ```

use deflect_config::{Codec, ListenAddr, SipConfig, SipTransport};
use deflect_media::dtmf::Digit;
use deflect_media::dtmf::telephone_event::TelephoneEventSender;
use deflect_media::g711;
use deflect_media::playback::PromptLibrary;
use deflect_media::sdp::{self, LocalDescription};
use deflect_sip::endpoint::{CallEvent, EndReason, OutgoingCall, Reason};
use deflect_sip::message::Uri;
use deflect_sip::runtime::Sip;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::Instant;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: f64) -> f64 {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// CPU seconds (user + system) of process `pid` ("self" for this one).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// Resident set size of process `pid` in KiB.
fn rss_kib(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0)
}

/// A counter from the gateway's Prometheus `/metrics`.
async fn metric(addr: &str, name: &str) -> f64 {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return 0.0;
    };
    let req = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return 0.0;
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body).await;
    body.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A call that went as planned: last digit → BYE, and the number it typed with when the BYE
/// came (for matching the provider's request).
type Finished = (Duration, Option<(String, SystemTime)>);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The fake Cloud API: answers every POST like Meta and notes when each recipient's request
/// arrived (wall clock, to compare with the BYEs the calls saw).
async fn fake_provider(port: u16, seen: Arc<Mutex<HashMap<String, SystemTime>>>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the fake provider's port is free");
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let mut n_done = 0u64;
            loop {
                // Headers, then Content-Length bytes of body; keep-alive.
                let (head_end, length) = loop {
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                while buf.len() < head_end + length {
                    match conn.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let at = SystemTime::now();
                let body: serde_json::Value =
                    serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or_default();
                if let Some(to) = body["to"].as_str() {
                    seen.lock().expect("not poisoned").insert(to.to_owned(), at);
                }
                buf.drain(..head_end + length);
                n_done += 1;
                let answer = format!(
                    r#"{{"messaging_product":"whatsapp","contacts":[{{"input":"x","wa_id":"x"}}],"messages":[{{"id":"wamid.load{n_done}"}}]}}"#
                );
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                    answer.len()
                );
                if conn.write_all(resp.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// Audio to play as the callers' microphone, µ-law: a WAV, or the built-in prompts back to
/// back, at least `seconds` long.
fn microphone(seconds: f64) -> Arc<[u8]> {
    let pcm: Vec<i16> = match arg("--wav") {
        Some(path) => deflect_media::playback::read_wav_file(std::path::Path::new(&path))
            .expect("a readable --wav file"),
        None => {
            let lib = PromptLibrary::builtin();
            [
                "offer_caller_number",
                "enter_number",
                "confirm_options",
                "message_sent",
            ]
            .iter()
            .flat_map(|n| lib.get("en", n).expect("built-in prompt").pcm.to_vec())
            .collect()
        }
    };
    let want = (seconds * 8000.0) as usize;
    let looped: Vec<i16> = pcm
        .iter()
        .copied()
        .cycle()
        .take(want.max(pcm.len()))
        .collect();
    let mut ulaw = vec![0u8; looped.len()];
    g711::encode_ulaw(&looped, &mut ulaw);
    ulaw.into()
}

/// One second of quiet comfort noise, µ-law, sent while a call has nothing to say.
fn comfort_noise() -> Arc<[u8]> {
    let mut rng = 0x2545_f491_u32;
    let pcm: Vec<i16> = (0..8000)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            (rng % 25) as i16 - 12
        })
        .collect();
    let mut ulaw = vec![0u8; pcm.len()];
    g711::encode_ulaw(&pcm, &mut ulaw);
    ulaw.into()
}

struct Gateway {
    pid: String,
    metrics: String,
}

impl Gateway {
    async fn rtp(&self) -> (f64, f64) {
        (
            metric(&self.metrics, "deflect_media_rtp_sent_total").await,
            metric(&self.metrics, "deflect_media_rtp_sent_late_total").await,
        )
    }
}

const FRAME: Duration = Duration::from_millis(20);
const TICK: Duration = Duration::from_millis(1);
const BUCKETS: usize = 20;
const LATE_AFTER: Duration = Duration::from_millis(5);

/// What a call's RTP stream tells its call task.
#[derive(Debug)]
enum LegEvent {
    /// A digit's first packet left (the key went down).
    DigitStarted(Digit),
    /// The microphone audio has all been sent.
    AudioDone,
}

/// One call's outgoing RTP stream.
struct Leg {
    id: u64,
    to: SocketAddr,
    payload_type: u8,
    telephone_event: Option<u8>,
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    marker: bool,
    next: Instant,
    /// Audio to send once, then comfort noise.
    audio: Option<Arc<[u8]>>,
    position: usize,
    noise: Arc<[u8]>,
    /// Digits to send from this time on.
    digits: Option<(Instant, Vec<Digit>, Duration, Duration)>,
    dtmf: TelephoneEventSender,
    events: mpsc::UnboundedSender<LegEvent>,
}

enum MuxCommand {
    Add(Box<Leg>),
    Remove(u64),
}

/// Counters of the generator's own RTP.
#[derive(Default)]
struct MuxStats {
    sent: AtomicU64,
    late: AtomicU64,
    received: AtomicU64,
}

/// A shared RTP socket and the task that runs every call on it.
struct Mux {
    port: u16,
    tx: mpsc::UnboundedSender<MuxCommand>,
}

impl Mux {
    fn start(ip: IpAddr, stats: Arc<MuxStats>) -> Self {
        let socket = UdpSocket::bind((ip, 0)).expect("an RTP socket");
        socket.set_nonblocking(true).expect("non-blocking");
        let port = socket.local_addr().expect("bound").port();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run_mux(socket, rx, stats));
        Self { port, tx }
    }
}

async fn run_mux(
    socket: UdpSocket,
    mut rx: mpsc::UnboundedReceiver<MuxCommand>,
    stats: Arc<MuxStats>,
) {
    let state = quinn_udp::UdpSocketState::new((&socket).into()).expect("socket state");
    let mut slots: Vec<Vec<u8>> = (0..32).map(|_| vec![0u8; 64 * 1024]).collect();
    let mut meta = vec![quinn_udp::RecvMeta::default(); slots.len()];
    let epoch = Instant::now();
    let slot_of = |t: Instant| (t.saturating_duration_since(epoch).as_millis() as usize) % BUCKETS;
    let mut buckets: Vec<Vec<Leg>> = (0..BUCKETS).map(|_| Vec::new()).collect();
    let mut bucket_of: HashMap<u64, usize> = HashMap::new();
    let mut buf = [0u8; 12 + 160];
    let mut last_tick = 0u128;
    let (mut sent, mut late, mut received) = (0u64, 0u64, 0u64);
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            command = rx.recv() => match command {
                Some(MuxCommand::Add(leg)) => {
                    let slot = slot_of(leg.next);
                    bucket_of.insert(leg.id, slot);
                    buckets[slot].push(*leg);
                }
                Some(MuxCommand::Remove(id)) => {
                    if let Some(slot) = bucket_of.remove(&id)
                        && let Some(i) = buckets[slot].iter().position(|l| l.id == id)
                    {
                        buckets[slot].swap_remove(i);
                    }
                }
                None => return,
            },
            _ = tick.tick() => {
                let now = Instant::now();
                let current = now.saturating_duration_since(epoch).as_millis();
                // Every bucket whose millisecond has come since the last tick (a stalled
                // task catches up, at most one round).
                let from = (last_tick + 1).max(current.saturating_sub(BUCKETS as u128 - 1));
                for t in from..=current {
                    for leg in &mut buckets[(t as usize) % BUCKETS] {
                        // A leg of bucket t is due within millisecond t: send it now (at
                        // most 1 ms early). Far behind (a stalled task): skip ahead, as a
                        // phone would, instead of bursting.
                        let behind = now.saturating_duration_since(leg.next);
                        if behind >= 3 * FRAME {
                            let skip = (behind.as_micros() / FRAME.as_micros()) as u32;
                            leg.next += FRAME * skip;
                            leg.timestamp = leg.timestamp.wrapping_add(160 * skip);
                            leg.marker = true;
                        }
                        while leg.next <= now + TICK {
                            if now.saturating_duration_since(leg.next) > LATE_AFTER {
                                late += 1;
                            }
                            let len = leg.packet(now, &mut buf);
                            let _ = socket.send_to(&buf[..len], leg.to);
                            sent += 1;
                        }
                    }
                }
                last_tick = current;
                // Everything the gateway sent since: counted, not decoded.
                loop {
                    let mut bufs: Vec<std::io::IoSliceMut<'_>> =
                        slots.iter_mut().map(|b| std::io::IoSliceMut::new(b)).collect();
                    match state.recv((&socket).into(), &mut bufs, &mut meta) {
                        Ok(n) => {
                            received += meta[..n]
                                .iter()
                                .map(|m| m.len.div_ceil(m.stride.max(1)) as u64)
                                .sum::<u64>();
                            if n < meta.len() {
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                }
                stats.sent.fetch_add(std::mem::take(&mut sent), Ordering::Relaxed);
                stats.late.fetch_add(std::mem::take(&mut late), Ordering::Relaxed);
                stats.received.fetch_add(std::mem::take(&mut received), Ordering::Relaxed);
            }
        }
    }
}

impl Leg {
    /// Writes the packet due at `self.next` (audio, or a telephone-event while a digit is
    /// sent) and moves on a frame.
    fn packet(&mut self, now: Instant, buf: &mut [u8; 172]) -> usize {
        if let Some((at, _, _, _)) = &self.digits
            && now >= *at
            && let Some((_, digits, tone, gap)) = self.digits.take()
        {
            self.dtmf.queue(&digits, tone, gap);
        }
        let event = self
            .telephone_event
            .and_then(|pt| Some((pt, self.dtmf.next_packet(self.timestamp, 160)?)));
        let (pt, timestamp, marker) = match &event {
            Some((pt, p)) => (*pt, p.timestamp, p.marker),
            None => (self.payload_type, self.timestamp, self.marker),
        };
        buf[0] = 0x80;
        buf[1] = (u8::from(marker) << 7) | pt;
        buf[2..4].copy_from_slice(&self.seq.to_be_bytes());
        buf[4..8].copy_from_slice(&timestamp.to_be_bytes());
        buf[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let len = match event {
            Some((_, p)) => {
                buf[12..16].copy_from_slice(&p.payload);
                if let Some(d) = p.started {
                    let _ = self.events.send(LegEvent::DigitStarted(d));
                }
                16
            }
            None => {
                self.marker = false;
                match &self.audio {
                    Some(audio) if self.position + 160 <= audio.len() => {
                        buf[12..].copy_from_slice(&audio[self.position..self.position + 160]);
                        self.position += 160;
                    }
                    _ => {
                        if self.audio.take().is_some() {
                            let _ = self.events.send(LegEvent::AudioDone);
                            self.position = 0;
                        }
                        let p = self.position % self.noise.len();
                        buf[12..].copy_from_slice(&self.noise[p..p + 160]);
                        self.position += 160;
                    }
                }
                12 + 160
            }
        };
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(160);
        self.next += FRAME;
        len
    }
}

/// SIP (deflect's stack, as the test dialler uses it) and the shared RTP sockets.
struct Generator {
    sip: Sip,
    ip: IpAddr,
    muxes: Vec<Mux>,
    stats: Arc<MuxStats>,
    noise: Arc<[u8]>,
    next_id: AtomicU64,
}

/// What the call should do once answered.
#[derive(Clone)]
struct Plan {
    uri: Uri,
    target: SocketAddr,
    from_user: String,
    microphone: Option<Arc<[u8]>>,
    digits: Option<(Duration, String)>,
    hang_up_after_audio: bool,
    timeout: Duration,
}

#[derive(Debug, Default)]
struct Outcome {
    call_id: String,
    answered: bool,
    /// The far end's BYE ended the call.
    far_end_hung_up: bool,
    error: Option<String>,
    digits_sent: String,
    /// From the answer to the last digit's first packet, and to the end.
    last_digit_at: Option<Duration>,
    duration: Duration,
}

impl Generator {
    async fn start(target: SocketAddr) -> Self {
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

    async fn call(&self, plan: &Plan) -> Outcome {
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

#[tokio::main]
async fn main() {
    let target: SocketAddr = arg("--target")
        .unwrap_or_else(|| "127.0.0.1:5060".into())
        .parse()
        .expect("--target HOST:PORT");
    let gateway = Gateway {
        pid: arg("--gateway-pid").expect("--gateway-pid PID"),
        metrics: arg("--metrics").unwrap_or_else(|| "127.0.0.1:8080".into()),
    };
    let generator = Arc::new(Generator::start(target).await);
    let user = arg("--user").unwrap_or_else(|| "31201234567".into());
    let plan = Plan {
        uri: Uri::parse(&format!("sip:{user}@{target}")).expect("a SIP URI"),
        target,
        from_user: "anonymous".into(),
        microphone: None,
        digits: None,
        hang_up_after_audio: false,
        timeout: Duration::from_secs(30),
    };
    match arg("--mode").as_deref().unwrap_or("rate") {
        "hold" => hold(generator, plan, &gateway).await,
        _ => rate(generator, plan, &gateway).await,
    }
}

async fn rate(generator: Arc<Generator>, mut plan: Plan, gateway: &Gateway) {
    let rate = num("--rate", 50.0);
    let seconds = num("--seconds", 20.0);
    let prompt = Duration::from_millis(num("--prompt-ms", 1100.0) as u64);
    let digits = arg("--digits").unwrap_or_else(|| "12345".into());
    plan.digits = Some((prompt, digits));
    let numbers = arg("--numbers").is_some();
    let provider: Arc<Mutex<HashMap<String, SystemTime>>> = Arc::default();
    if let Some(port) = arg("--provider").and_then(|p| p.parse().ok()) {
        tokio::spawn(fake_provider(port, provider.clone()));
    }
    let total = (rate * seconds).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let (cpu0, own0) = (cpu_seconds(&gateway.pid), cpu_seconds("self"));
    let started = Instant::now();
    let failed = Arc::new(AtomicU64::new(0));
    let results: Arc<Mutex<Vec<Finished>>> = Arc::default();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        tokio::time::sleep_until(started + interval * i as u32).await;
        let mut plan = plan.clone();
        if numbers {
            plan.digits = Some((prompt, format!("0612{:06}", i % 1_000_000)));
        }
        let (generator, failed, results) = (generator.clone(), failed.clone(), results.clone());
        tasks.spawn(async move {
            let outcome = generator.call(&plan).await;
            let bye_at = SystemTime::now();
            let wanted = plan.digits.as_ref().map(|(_, d)| d.as_str()).unwrap_or("");
            let ok = outcome.answered
                && outcome.error.is_none()
                && outcome.far_end_hung_up
                && outcome.digits_sent == wanted;
            if !ok {
                if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                    eprintln!(
                        "failed call {}: {:?}, answered {}, BYE from the gateway {}, digits sent {:?}",
                        outcome.call_id,
                        outcome.error,
                        outcome.answered,
                        outcome.far_end_hung_up,
                        outcome.digits_sent
                    );
                }
                return;
            }
            let after_digit = outcome
                .duration
                .saturating_sub(outcome.last_digit_at.unwrap_or_default());
            let number = (numbers && !wanted.is_empty())
                .then(|| (format!("31{}", &wanted[1..]), bye_at));
            results
                .lock()
                .expect("not poisoned")
                .push((after_digit, number));
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu, own) = (cpu_seconds(&gateway.pid) - cpu0, cpu_seconds("self") - own0);
    // Hand-offs run after the BYE; give the last ones a moment to reach the provider.
    if numbers && arg("--provider").is_some() {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let results = results.lock().expect("not poisoned").clone();
    let failed = failed.load(Ordering::Relaxed);
    let mut to_bye: Vec<Duration> = results.iter().map(|(d, _)| *d).collect();
    to_bye.sort();
    println!(
        "rate {rate}/s for {seconds} s: calls {total}, failed {failed} ({:.3} %), gateway CPU {:.3} ms per call ({:.2} cores), generator CPU {:.3} ms per call ({:.2} cores); last digit → BYE p50 {:.1} ms p99 {:.1} ms; wall {elapsed:.1} s",
        100.0 * failed as f64 / total.max(1) as f64,
        cpu * 1000.0 / total.max(1) as f64,
        cpu / elapsed,
        own * 1000.0 / total.max(1) as f64,
        own / elapsed,
        ms(percentile(&to_bye, 0.5)),
        ms(percentile(&to_bye, 0.99)),
    );
    if arg("--provider").is_some() {
        let seen = provider.lock().expect("not poisoned").clone();
        let mut to_provider: Vec<Duration> = results
            .iter()
            .filter_map(|(_, n)| n.as_ref())
            .filter_map(|(number, bye)| seen.get(number)?.duration_since(*bye).ok())
            .collect();
        let missing = results.len() - to_provider.len();
        to_provider.sort();
        println!(
            "BYE → provider request: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} requests, {missing} missing or before the BYE was seen)",
            ms(percentile(&to_provider, 0.5)),
            ms(percentile(&to_provider, 0.99)),
            ms(to_provider.last().copied().unwrap_or_default()),
            to_provider.len(),
        );
    }
}

async fn hold(generator: Arc<Generator>, mut plan: Plan, gateway: &Gateway) {
    let calls = num("--calls", 500.0) as u64;
    let ramp = num("--ramp", 200.0);
    let measure = num("--measure", 20.0);
    let settle = 3.0;
    let ramp_secs = calls as f64 / ramp;
    // Each call plays its audio to the end, then hangs up at once.
    plan.microphone = Some(microphone(ramp_secs + settle + measure + 5.0));
    plan.hang_up_after_audio = true;
    plan.timeout = Duration::from_secs_f64(ramp_secs + settle + measure + 60.0);
    let rss0 = rss_kib(&gateway.pid);
    let own_rss0 = rss_kib("self");
    let interval = Duration::from_secs_f64(1.0 / ramp);
    let started = Instant::now();
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..calls {
        tokio::time::sleep_until(started + interval * i as u32).await;
        let (generator, plan, failed) = (generator.clone(), plan.clone(), failed.clone());
        tasks.spawn(async move {
            let outcome = generator.call(&plan).await;
            if !outcome.answered {
                failed.fetch_add(1, Ordering::Relaxed);
                eprintln!("call failed: {:?}", outcome.error);
            }
        });
    }
    tokio::time::sleep(Duration::from_secs_f64(settle)).await;
    let (sent0, late0) = gateway.rtp().await;
    let stats = &generator.stats;
    let (own_sent0, own_late0) = (
        stats.sent.load(Ordering::Relaxed),
        stats.late.load(Ordering::Relaxed),
    );
    let (cpu0, own0) = (cpu_seconds(&gateway.pid), cpu_seconds("self"));
    tokio::time::sleep(Duration::from_secs_f64(measure)).await;
    let (cpu, own) = (cpu_seconds(&gateway.pid) - cpu0, cpu_seconds("self") - own0);
    let (sent1, late1) = gateway.rtp().await;
    let (own_sent, own_late) = (
        stats.sent.load(Ordering::Relaxed) - own_sent0,
        stats.late.load(Ordering::Relaxed) - own_late0,
    );
    let up = calls - failed.load(Ordering::Relaxed);
    let call_seconds = up as f64 * measure;
    println!(
        "hold {up} of {calls} calls: gateway CPU {:.3} ms per call-second ({:.2} cores), RSS {:.1} KiB per call, sent {} packets, {:.3} % > 5 ms late | generator CPU {:.3} ms per call-second ({:.2} cores), RSS {:.1} KiB per call, {:.3} % late, received {} packets",
        cpu * 1000.0 / call_seconds.max(1.0),
        cpu / measure,
        (rss_kib(&gateway.pid) - rss0) / up.max(1) as f64,
        sent1 - sent0,
        100.0 * (late1 - late0) / (sent1 - sent0).max(1.0),
        own * 1000.0 / call_seconds.max(1.0),
        own / measure,
        (rss_kib("self") - own_rss0) / up.max(1) as f64,
        100.0 * own_late as f64 / own_sent.max(1) as f64,
        stats.received.load(Ordering::Relaxed),
    );
    // The calls end as their audio does.
    while tasks.join_next().await.is_some() {}
}
