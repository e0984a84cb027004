//! The callers' RTP: shared sockets (one per core), each with a task that sends every call's
//! 20 ms packets from a 1 ms tick and counts what the gateway sends back.

use deflect_media::dtmf::Digit;
use deflect_media::dtmf::telephone_event::TelephoneEventSender;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// One packet of audio.
const FRAME: Duration = Duration::from_millis(20);
/// How often each socket's task sends what is due.
const TICK: Duration = Duration::from_millis(1);
/// Calls are bucketed by their phase in a frame, one bucket per tick.
const BUCKETS: usize = 20;
/// A packet sent later than this after its time counts as late.
const LATE_AFTER: Duration = Duration::from_millis(5);

/// What a call's RTP stream tells its call task.
#[derive(Debug)]
pub(crate) enum LegEvent {
    /// A digit's first packet left (the key went down).
    DigitStarted(Digit),
    /// The microphone audio has all been sent.
    AudioDone,
}

/// One call's outgoing RTP stream.
pub(crate) struct Leg {
    pub(crate) id: u64,
    pub(crate) to: SocketAddr,
    pub(crate) payload_type: u8,
    pub(crate) telephone_event: Option<u8>,
    pub(crate) ssrc: u32,
    pub(crate) seq: u16,
    pub(crate) timestamp: u32,
    pub(crate) marker: bool,
    pub(crate) next: Instant,
    /// Audio to send once, then comfort noise.
    pub(crate) audio: Option<Arc<[u8]>>,
    pub(crate) position: usize,
    pub(crate) noise: Arc<[u8]>,
    /// Digits to send from this time on.
    pub(crate) digits: Option<(Instant, Vec<Digit>, Duration, Duration)>,
    pub(crate) dtmf: TelephoneEventSender,
    pub(crate) events: mpsc::UnboundedSender<LegEvent>,
}

pub(crate) enum MuxCommand {
    Add(Box<Leg>),
    Remove(u64),
}

/// Counters of the generator's own RTP.
#[derive(Default)]
pub(crate) struct MuxStats {
    pub(crate) sent: AtomicU64,
    pub(crate) late: AtomicU64,
    pub(crate) received: AtomicU64,
}

/// A shared RTP socket and the task that runs every call on it.
pub(crate) struct Mux {
    pub(crate) port: u16,
    pub(crate) tx: mpsc::UnboundedSender<MuxCommand>,
}

impl Mux {
    pub(crate) fn start(ip: IpAddr, stats: Arc<MuxStats>) -> Self {
        let socket = UdpSocket::bind((ip, 0)).expect("an RTP socket");
        socket.set_nonblocking(true).expect("non-blocking");
        let port = socket.local_addr().expect("bound").port();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run_mux(socket, rx, stats));
        Self { port, tx }
    }
}

pub(crate) async fn run_mux(
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
    pub(crate) fn packet(&mut self, now: Instant, buf: &mut [u8; 172]) -> usize {
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
