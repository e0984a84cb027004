//! A recogniser listening to one call, on a blocking thread: Vosk takes about a millisecond
//! of CPU per 20 ms frame, which must not stall the tokio threads that pace every call's
//! RTP.

use crate::speech::{Heard, Recogniser};
use std::sync::mpsc as std_mpsc;
use tokio::sync::mpsc;

/// A recogniser at work. Dropping it stops the thread (after the frame in hand).
pub(super) struct Listening {
    audio: std_mpsc::Sender<Vec<i16>>,
    /// What the recogniser noticed, in order.
    pub heard: mpsc::UnboundedReceiver<Heard>,
}

impl Listening {
    /// Starts feeding `recogniser` on a blocking thread.
    pub fn start(mut recogniser: Recogniser) -> Self {
        let (audio, frames) = std_mpsc::channel::<Vec<i16>>();
        let (tx, heard) = mpsc::unbounded_channel();
        tokio::task::spawn_blocking(move || {
            while let Ok(pcm) = frames.recv() {
                if let Some(h) = recogniser.accept(&pcm)
                    && tx.send(h).is_err()
                {
                    return;
                }
            }
        });
        Self { audio, heard }
    }

    /// One frame of the caller's audio.
    pub fn feed(&self, pcm: Vec<i16>) {
        let _ = self.audio.send(pcm);
    }
}
