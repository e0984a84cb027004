//! The IVR engine's cost: one whole call of the default flow (typed number, confirmed,
//! deflected), one DTMF digit, routing, and reading a callback number.
//!
//! `cargo bench -p deflect-ivr --bench engine`

#![allow(clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use deflect_config::IvrConfig;
use deflect_ivr::{Action, Call, CallStart, Flows, LimitDecision, NumberRules, PlaybackEnd};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn start(n: u64) -> CallStart {
    CallStart {
        call_id: format!("{n}@bench"),
        asserted_identity: None,
        from: Some("+31611111111".into()),
        dialled: "+31201234567".into(),
        started_at: "2026-11-23T10:00:00Z".parse().unwrap(),
    }
}

/// Carries out every action: prompts end after a second, limits allow; returns the count.
fn drain(call: &mut Call, now: &mut Instant) -> usize {
    let mut n = 0;
    while let Some(a) = call.poll_action() {
        n += 1;
        match a {
            Action::Play { id, .. } if !call.is_collecting() => {
                *now += Duration::from_secs(1);
                call.handle_playback_ended(*now, id, PlaybackEnd::Finished);
            }
            Action::Play { id, .. } => call.handle_playback_ended(*now, id, PlaybackEnd::Finished),
            Action::CheckLimits(_) => call.handle_limits(*now, LimitDecision::Allowed),
            other => {
                black_box(other);
            }
        }
    }
    n
}

fn whole_call(flows: &Flows, n: u64) -> usize {
    let mut now = Instant::now();
    let s = start(n);
    let mut call = Call::new(flows.route(&s.dialled).clone(), s, now);
    let mut actions = drain(&mut call, &mut now);
    // The offer: type another number instead, then confirm.
    for k in "0612345678#1".chars() {
        now += Duration::from_millis(250);
        call.handle_dtmf(now, k);
        actions += drain(&mut call, &mut now);
    }
    assert!(call.is_finished());
    actions
}

fn bench(c: &mut Criterion) {
    let flows = Flows::new(&IvrConfig::default(), |_| false).unwrap();
    let mut n = 0;
    c.bench_function("ivr/whole_call_default_flow_dtmf", |b| {
        b.iter(|| {
            n += 1;
            whole_call(&flows, n)
        })
    });

    let mut g = c.benchmark_group("ivr/dtmf_digit");
    g.throughput(Throughput::Elements(10));
    g.bench_function("ten_digits_into_a_gather", |b| {
        b.iter_batched(
            || {
                let mut now = Instant::now();
                let s = start(1);
                let mut call = Call::new(flows.route(&s.dialled).clone(), s, now);
                drain(&mut call, &mut now);
                (call, now)
            },
            |(mut call, now)| {
                for k in "0612345678".chars() {
                    call.handle_dtmf(now, k);
                    while let Some(a) = call.poll_action() {
                        black_box(a);
                    }
                }
                call
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    c.bench_function("ivr/route_dialled_number", |b| {
        b.iter(|| black_box(flows.route(black_box("+31201234567")).name().len()))
    });

    let rules = NumberRules::new("NL", &[]).unwrap();
    c.bench_function("ivr/callback_number_e164", |b| {
        b.iter(|| black_box(rules.callback_number(black_box("0612345678")).is_ok()))
    });
    // A calling number read at a call's start: its E.164 form only (every flow), and
    // classified as a callback number too (flows that offer it).
    c.bench_function("ivr/caller_e164", |b| {
        b.iter(|| black_box(rules.e164(black_box("+31612345678")).is_some()))
    });
    c.bench_function("ivr/caller_classified", |b| {
        b.iter(|| black_box(rules.caller(black_box("+31612345678")).1.is_some()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
