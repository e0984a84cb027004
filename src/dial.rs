//! `deflect call`: the command line of the test dialler (`deflect_ivr::dialler`). It prints
//! each step as it happens, then a summary; the exit status is 0 when the call went as
//! planned (answered, every digit sent, ended by the far end's BYE — or by ours with
//! `--hang-up-after`), 1 when it did not, 64 for unusable arguments.

use deflect_config::SipTransport;
use deflect_ivr::dialler::{CallPlan, DialOutcome, Dialler, DiallerSettings, Start};
use deflect_media::playback::Prompt;
use deflect_sip::message::Uri;
use deflect_sip::resolve::Destination;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// `deflect call` arguments.
#[derive(Debug, clap::Args)]
pub(crate) struct CallArgs {
    /// Whom to call: `sip:USER@HOST[:PORT]` (USER is the dialled number).
    #[arg(value_name = "SIP_URI")]
    uri: String,
    /// DTMF digits to send as RFC 4733 events, e.g. `0612345678#`; after the WAV, if any.
    #[arg(long, value_name = "DIGITS")]
    dtmf: Option<String>,
    /// A WAV file played as the microphone (any rate, mono or stereo), e.g. spoken digits.
    #[arg(long, value_name = "FILE")]
    wav: Option<PathBuf>,
    /// SIP transport [default: the URI's `transport` parameter, else tls for `sips:`, else udp].
    #[arg(long, value_enum)]
    transport: Option<Transport>,
    /// PEM file of the CA certificates a TLS target must be signed by [default: the public web
    /// PKI roots].
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// Offer SRTP (RTP/SAVP, an AES_CM_128_HMAC_SHA1_80 key in SDP) instead of RTP.
    #[arg(long)]
    srtp: bool,
    /// The calling number (From user).
    #[arg(long, value_name = "USER", default_value = "31612345678")]
    from: String,
    /// When each input (the WAV, then the digits) starts: `prompt` — once the far end's
    /// prompt has played (audio heard, then `--silence` of quiet); `now`; or a delay such
    /// as `2s`.
    #[arg(long, value_name = "WHEN", default_value = "prompt", value_parser = parse_start)]
    start: Start,
    /// Length of each digit's tone.
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = humantime::parse_duration)]
    tone: Duration,
    /// Pause between digits.
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = humantime::parse_duration)]
    gap: Duration,
    /// Quiet that ends a prompt (for `--start prompt`).
    #[arg(long, value_name = "DURATION", default_value = "600ms", value_parser = humantime::parse_duration)]
    silence: Duration,
    /// Hang up this long after the inputs instead of waiting for the far end's BYE.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    hang_up_after: Option<Duration>,
    /// Give up (and hang up) after this long.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = humantime::parse_duration)]
    timeout: Duration,
    /// Local address for SIP and RTP [default: the one that reaches the target].
    #[arg(long, value_name = "IP")]
    local: Option<IpAddr>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Transport {
    Udp,
    Tcp,
    Tls,
}

fn parse_start(s: &str) -> Result<Start, String> {
    match s {
        "prompt" => Ok(Start::AfterPrompt),
        "now" => Ok(Start::Now),
        d => humantime::parse_duration(d)
            .map(Start::After)
            .map_err(|e| format!("expected `prompt`, `now` or a duration such as `2s`: {e}")),
    }
}

/// Runs the dialler on a new runtime.
pub(crate) fn run(args: CallArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("deflect call: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(call(args))
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("deflect call: {message}");
    ExitCode::from(deflect_config::ConfigError::EXIT_CODE as u8)
}

async fn call(args: CallArgs) -> ExitCode {
    let uri = match Uri::parse(&args.uri) {
        Ok(u) => u,
        Err(e) => return usage(format!("{:?} is not a SIP URI: {e}", args.uri)),
    };
    let mut to = match Destination::of(&uri) {
        Ok(to) => to,
        Err(e) => return usage(e),
    };
    match args.transport {
        Some(Transport::Tcp) => to.transport = SipTransport::Tcp,
        Some(Transport::Udp) => to.transport = SipTransport::Udp,
        Some(Transport::Tls) => to.transport = SipTransport::Tls,
        None => {}
    }
    let (transport, remote) = match to.lookup().await {
        Ok(remote) => (to.transport, remote),
        Err(e) => return usage(e),
    };
    let microphone = match &args.wav {
        Some(path) => match Prompt::from_file(path.display().to_string(), path) {
            Ok(p) => Some(Arc::new(p)),
            Err(e) => return usage(e),
        },
        None => None,
    };
    if let Some(d) = &args.dtmf
        && let Some(bad) = d
            .chars()
            .find(|c| deflect_media::dtmf::Digit::from_char(*c).is_none())
    {
        return usage(format!(
            "--dtmf: {bad:?} is not a DTMF key (0-9, *, #, A-D)"
        ));
    }
    let settings = DiallerSettings {
        local: args.local,
        tls_ca: args.tls_ca,
        ..DiallerSettings::default()
    };
    let dialler = match Dialler::start(&settings, remote).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("deflect call: cannot start SIP and RTP: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut plan = CallPlan::new(uri, remote, transport);
    plan.from_user = args.from;
    plan.srtp = args.srtp;
    plan.microphone = microphone;
    plan.dtmf = args.dtmf;
    plan.start = args.start;
    plan.tone = args.tone;
    plan.gap = args.gap;
    plan.silence = args.silence;
    plan.hang_up_after = args.hang_up_after;
    plan.timeout = args.timeout;
    let report = dialler
        .call(&plan, |at, what| {
            println!("{:>8.3}s  {what}", at.as_secs_f64());
        })
        .await;
    let ended = match &report.outcome {
        DialOutcome::FarEndHungUp(Some(reason)) => format!("far end hung up ({reason})"),
        DialOutcome::FarEndHungUp(None) => "far end hung up".to_string(),
        DialOutcome::HungUp => "hung up by the dialler".to_string(),
        DialOutcome::Rejected(status) => format!("rejected with {status}"),
        DialOutcome::NoAnswer => "no answer".to_string(),
        DialOutcome::TimedOut => "timed out".to_string(),
        DialOutcome::Failed(why) => format!("failed: {why}"),
    };
    println!(
        "call {}: {ended}; answered {}; heard {:.1} s of audio in {} prompt(s); digits sent {:?}; {:.1} s after the answer",
        report.call_id,
        report
            .answered_after
            .map_or("no".to_string(), |d| format!("after {} ms", d.as_millis())),
        report.audio_heard.as_secs_f64(),
        report.prompts_heard,
        report.digits_sent,
        report.duration.as_secs_f64(),
    );
    if report.succeeded(&plan) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
