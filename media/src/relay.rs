//! Audio from another call, sent on this one: the media half of a bridge (B2BUA).
//!
//! A bridged call's two sessions each tap their peer's decoded audio
//! ([`MediaEvent::Audio`](crate::session::MediaEvent::Audio)) and the call's owner hands every
//! frame to the other session ([`MediaSession::relay`](crate::session::MediaSession::relay)),
//! which sends it in its own codec on its own packet clock. The legs' clocks are not
//! locked to each other and their frames arrive with jitter, so a [`RelayBuffer`] sits
//! between: it holds at most [`RelayBuffer::MAX_DELAY`] of audio (the oldest samples make
//! room when a burst exceeds it, so the delay cannot grow), and when it runs dry the frame
//! is filled with the session's quiet noise instead of stalling. Decoding to linear PCM in
//! between lets the legs use different codecs (µ-law on one, A-law on the other) and
//! different SRTP keys.

use crate::g711;
use deflect_config::Codec;
use std::collections::VecDeque;
use std::time::Duration;

/// Samples per second on both sides (G.711).
const RATE: usize = 8000;

/// Linear samples waiting to go out on the other leg.
#[derive(Debug, Default)]
pub struct RelayBuffer {
    samples: VecDeque<i16>,
    /// Samples dropped because a burst overfilled the buffer.
    dropped: u64,
}

impl RelayBuffer {
    /// The most audio held: enough for a few frames of jitter, little enough to keep a
    /// conversation natural.
    pub const MAX_DELAY: Duration = Duration::from_millis(120);

    fn capacity() -> usize {
        RATE * Self::MAX_DELAY.as_millis() as usize / 1000
    }

    /// Adds the other leg's decoded samples, dropping the oldest beyond
    /// [`MAX_DELAY`](Self::MAX_DELAY).
    pub fn push(&mut self, samples: &[i16]) {
        self.samples.extend(samples);
        let excess = self.samples.len().saturating_sub(Self::capacity());
        if excess > 0 {
            self.samples.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// Writes a frame of `out.len()` samples in `codec` when at least that much is waiting;
    /// returns whether it did (otherwise `out` is untouched and the caller sends its own
    /// quiet frame, so a short gap does not become a stream of partial frames).
    pub fn fill(&mut self, codec: Codec, out: &mut [u8]) -> bool {
        if self.samples.len() < out.len() {
            return false;
        }
        let mut frame = [0i16; 480];
        for chunk in out.chunks_mut(frame.len()) {
            let pcm = &mut frame[..chunk.len()];
            for (s, x) in pcm.iter_mut().zip(self.samples.drain(..chunk.len())) {
                *s = x;
            }
            match codec {
                Codec::Pcmu => g711::encode_ulaw(pcm, chunk),
                Codec::Pcma => g711::encode_alaw(pcm, chunk),
            }
        }
        true
    }

    /// Samples dropped so far to keep the delay bounded.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Samples waiting.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_goes_out_in_the_sessions_codec_once_a_whole_frame_waits() {
        let mut r = RelayBuffer::default();
        let tone: Vec<i16> = (0..160).map(|i| ((i % 16) as i16 - 8) * 1000).collect();
        let mut out = [0u8; 160];
        r.push(&tone[..100]);
        assert!(!r.fill(Codec::Pcma, &mut out), "not a whole frame yet");
        assert_eq!(out, [0u8; 160], "untouched");
        r.push(&tone[100..]);
        assert!(r.fill(Codec::Pcma, &mut out));
        let mut expected = [0u8; 160];
        g711::encode_alaw(&tone, &mut expected);
        assert_eq!(out, expected);
        assert!(r.is_empty());
    }

    #[test]
    fn a_burst_keeps_only_the_newest_audio() {
        let mut r = RelayBuffer::default();
        for frame in 0..10i16 {
            r.push(&[frame; 160]);
        }
        // 120 ms at 8 kHz: the last six frames.
        assert_eq!(r.len(), 960);
        assert_eq!(r.dropped(), 4 * 160);
        let mut out = [0u8; 160];
        assert!(r.fill(Codec::Pcmu, &mut out));
        let mut expected = [0u8; 160];
        g711::encode_ulaw(&[4; 160], &mut expected);
        assert_eq!(out, expected, "the oldest kept frame comes first");
    }
}
