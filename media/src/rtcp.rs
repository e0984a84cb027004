//! Basic RTCP (RFC 3550 §6): sender and receiver reports with SDES CNAME, and reading the
//! peer's sender reports for the round-trip fields (LSR/DLSR).
//!
//! Written here: `rtp-rs` covers RTP only, and the RTCP crates belong to WebRTC stacks far
//! larger than two packet types. Reception statistics follow RFC 3550 §A.3 (loss) and §A.8
//! (interarrival jitter).

/// RTCP packet types used here.
const SR: u8 = 200;
const RR: u8 = 201;
const SDES: u8 = 202;

/// Reception statistics of the peer's stream, for a report block.
#[derive(Debug, Clone, Default)]
pub struct ReceptionStats {
    /// The peer's SSRC.
    pub ssrc: u32,
    base_seq: Option<u64>,
    /// Highest extended sequence number received.
    pub max_seq: u64,
    /// Packets received (duplicates excluded).
    pub received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Interarrival jitter in timestamp units (RFC 3550 §A.8), scaled by 16.
    jitter_q4: u32,
    last_transit: Option<i64>,
    /// Middle 32 bits of the NTP time of the last SR received, and when (session clock, in
    /// 1/65536 s).
    last_sr: Option<(u32, u64)>,
}

impl ReceptionStats {
    /// Records a packet of the stream: extended sequence number, its RTP timestamp, and its
    /// arrival time in timestamp units on the session clock.
    pub fn record(&mut self, seq: u64, rtp_timestamp: u32, arrival: u32, audio: bool) {
        let base = *self.base_seq.get_or_insert(seq);
        if seq < base {
            self.base_seq = Some(seq);
        }
        self.max_seq = self.max_seq.max(seq);
        self.received += 1;
        if audio {
            let transit = i64::from(arrival.wrapping_sub(rtp_timestamp) as i32);
            if let Some(last) = self.last_transit {
                let d = (transit - last)
                    .unsigned_abs()
                    .min(u64::from(u32::MAX >> 4)) as u32;
                // J += (|D| - J) / 16, kept in Q4 as in RFC 3550 §A.8.
                self.jitter_q4 = self
                    .jitter_q4
                    .wrapping_add(d)
                    .wrapping_sub((self.jitter_q4 + 8) >> 4);
            }
            self.last_transit = Some(transit);
        }
    }

    /// Notes a sender report's NTP time (`ntp` = 64-bit NTP timestamp) received at `at`
    /// (1/65536 s on the session clock).
    pub fn record_sender_report(&mut self, ntp: u64, at: u64) {
        self.last_sr = Some(((ntp >> 16) as u32, at));
    }

    /// Forgets the stream (new SSRC).
    pub fn reset(&mut self, ssrc: u32) {
        *self = Self {
            ssrc,
            ..Self::default()
        };
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// Cumulative packets lost (expected minus received).
    pub fn lost(&self) -> i64 {
        let Some(base) = self.base_seq else { return 0 };
        (self.max_seq + 1 - base) as i64 - self.received as i64
    }

    /// Writes one report block (24 bytes) and starts a new interval.
    fn report_block(&mut self, now_q16: u64, out: &mut Vec<u8>) {
        let base = self.base_seq.unwrap_or(self.max_seq);
        let expected = self.max_seq + 1 - base;
        let expected_interval = expected - self.expected_prior.min(expected);
        let received_interval = self.received - self.received_prior.min(self.received);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval.saturating_sub(received_interval);
        let fraction = (lost_interval << 8)
            .checked_div(expected_interval)
            .map_or(0, |f| f.min(255) as u8);
        let cumulative = self.lost().clamp(-0x80_0000, 0x7F_FFFF) as i32;
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, at)) => (
                lsr,
                now_q16.saturating_sub(at).min(u64::from(u32::MAX)) as u32,
            ),
            None => (0, 0),
        };
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.push(fraction);
        out.extend_from_slice(&cumulative.to_be_bytes()[1..]);
        out.extend_from_slice(&(self.max_seq as u32).to_be_bytes());
        out.extend_from_slice(&self.jitter().to_be_bytes());
        out.extend_from_slice(&lsr.to_be_bytes());
        out.extend_from_slice(&dlsr.to_be_bytes());
    }
}

/// What this side sent, for a sender report.
#[derive(Debug, Clone, Copy)]
pub struct SenderInfo {
    /// 64-bit NTP timestamp of now.
    pub ntp: u64,
    /// The RTP timestamp matching `ntp`.
    pub rtp_timestamp: u32,
    /// Packets sent.
    pub packets: u32,
    /// Payload octets sent.
    pub octets: u32,
}

/// Builds a compound report: SR (when `sender` is given) or RR, with one report block when
/// `reception` has seen packets, then SDES with the CNAME.
pub fn build_report(
    ssrc: u32,
    cname: &str,
    sender: Option<SenderInfo>,
    reception: Option<&mut ReceptionStats>,
    now_q16: u64,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(80);
    let blocks = u8::from(reception.as_ref().is_some_and(|r| r.received > 0));
    let kind = if sender.is_some() { SR } else { RR };
    out.extend_from_slice(&[0x80 | blocks, kind, 0, 0]);
    out.extend_from_slice(&ssrc.to_be_bytes());
    if let Some(s) = sender {
        out.extend_from_slice(&s.ntp.to_be_bytes());
        out.extend_from_slice(&s.rtp_timestamp.to_be_bytes());
        out.extend_from_slice(&s.packets.to_be_bytes());
        out.extend_from_slice(&s.octets.to_be_bytes());
    }
    if blocks == 1
        && let Some(r) = reception
    {
        r.report_block(now_q16, &mut out);
    }
    set_length(&mut out, 0);
    // SDES: one chunk, CNAME item, null-terminated and padded to 32 bits.
    let start = out.len();
    out.extend_from_slice(&[0x81, SDES, 0, 0]);
    out.extend_from_slice(&ssrc.to_be_bytes());
    let name = &cname.as_bytes()[..cname.len().min(255)];
    out.push(1);
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.push(0);
    while out.len() % 4 != 0 {
        out.push(0);
    }
    set_length(&mut out, start);
    out
}

fn set_length(out: &mut [u8], start: usize) {
    let words = ((out.len() - start) / 4 - 1) as u16;
    out[start + 2..start + 4].copy_from_slice(&words.to_be_bytes());
}

/// A sender report found in a compound packet: the sender's SSRC and NTP timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderReport {
    /// The sender's SSRC.
    pub ssrc: u32,
    /// Its 64-bit NTP timestamp.
    pub ntp: u64,
}

/// A datagram that is not RTCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an RTCP compound packet")]
pub struct NotRtcp;

/// Reads a compound RTCP packet; returns its sender report, if any.
pub fn parse_compound(datagram: &[u8]) -> Result<Option<SenderReport>, NotRtcp> {
    let mut rest = datagram;
    let mut found = None;
    if rest.len() < 4 {
        return Err(NotRtcp);
    }
    while rest.len() >= 4 {
        if rest[0] >> 6 != 2 || !(192..=223).contains(&rest[1]) {
            return Err(NotRtcp);
        }
        let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
        if len > rest.len() {
            return Err(NotRtcp);
        }
        if rest[1] == SR && len >= 28 {
            let ssrc = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]);
            let mut ntp = [0u8; 8];
            ntp.copy_from_slice(&rest[8..16]);
            found = Some(SenderReport {
                ssrc,
                ntp: u64::from_be_bytes(ntp),
            });
        }
        rest = &rest[len..];
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn receiver_report_counts_loss_and_round_trips_through_the_parser() {
        let mut r = ReceptionStats::default();
        r.reset(0xABCD);
        for seq in (1001u64..1101).filter(|s| s % 10 != 5) {
            r.record(seq, (seq * 160) as u32, (seq * 160) as u32, true);
        }
        assert_eq!(r.lost(), 10);
        assert_eq!(r.jitter(), 0);
        r.record_sender_report(0x1122_3344_5566_7788, 65536);
        let pkt = build_report(7, "deflect@test", None, Some(&mut r), 2 * 65536);
        assert_eq!(pkt[1], RR);
        assert_eq!(pkt[0] & 0x1F, 1);
        // Report block: SSRC, fraction lost 10/100 × 256 = 25, cumulative 10.
        assert_eq!(&pkt[8..12], &0xABCDu32.to_be_bytes());
        assert_eq!(pkt[12], 25);
        assert_eq!(&pkt[13..16], &[0, 0, 10]);
        assert_eq!(&pkt[24..28], &0x3344_5566u32.to_be_bytes());
        assert_eq!(&pkt[28..32], &65536u32.to_be_bytes());
        assert_eq!(parse_compound(&pkt), Ok(None));
        assert_eq!(pkt.len() % 4, 0);
    }

    #[test]
    fn sender_reports_are_read() {
        let info = SenderInfo {
            ntp: 42 << 32,
            rtp_timestamp: 1,
            packets: 2,
            octets: 3,
        };
        let pkt = build_report(9, "x", Some(info), None, 0);
        assert_eq!(
            parse_compound(&pkt),
            Ok(Some(SenderReport {
                ssrc: 9,
                ntp: 42 << 32
            }))
        );
        assert_eq!(parse_compound(b"\x80\x00\x00\x00"), Err(NotRtcp));
        assert_eq!(parse_compound(&pkt[..10]), Err(NotRtcp));
    }

    #[test]
    fn jitter_follows_rfc_3550() {
        let mut r = ReceptionStats::default();
        // Every packet 80 timestamp units (10 ms) later than its timestamp says, alternately.
        for n in 0..200u32 {
            let extra = if n % 2 == 0 { 0 } else { 80 };
            r.record(u64::from(n), n * 160, n * 160 + extra, true);
        }
        // |D| is always 80, so J converges to 80.
        assert!((75..=80).contains(&r.jitter()), "jitter {}", r.jitter());
    }
}
