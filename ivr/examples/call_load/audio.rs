//! What the callers say: a microphone recording or comfort noise, G.711 µ-law.

use crate::measure::arg;
use deflect_media::g711;
use deflect_media::playback::PromptLibrary;
use std::sync::Arc;

/// Audio to play as the callers' microphone, µ-law: a WAV, or the built-in prompts back to
/// back, at least `seconds` long.
pub(crate) fn microphone(seconds: f64) -> Arc<[u8]> {
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
pub(crate) fn comfort_noise() -> Arc<[u8]> {
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
