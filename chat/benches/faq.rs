//! FAQ matching's cost: indexing a few hundred questions, matching one message against
//! them, and checking a message for a request for a person.
//!
//! `cargo bench -p deflect-chat --bench faq`

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use deflect_chat::faq::{DEFAULT_HANDOVER_WORDS, Faq, wants_person};
use deflect_config::FaqEntry;
use std::hint::black_box;

const VERBS: &[&str] = &[
    "change", "cancel", "track", "return", "pay", "update", "find", "reset", "renew", "transfer",
];
const NOUNS: &[&str] = &[
    "order",
    "subscription",
    "password",
    "address",
    "invoice",
    "parcel",
    "account",
    "booking",
    "voucher",
    "warranty",
    "appointment",
    "refund",
    "card",
    "delivery",
    "membership",
    "ticket",
    "reservation",
    "profile",
    "plan",
    "device",
];

/// 200 questions ("How do I change my order? Can you help me change the order?", …), half
/// of them for one account: every question shares "help" and each shares its verb and its
/// noun with 19 or 9 others, so a message with those words weighs most of them — a
/// harder case than a real FAQ, whose questions share fewer words.
fn entries() -> Vec<FaqEntry> {
    let mut out = Vec::new();
    for (v, verb) in VERBS.iter().enumerate() {
        for (n, noun) in NOUNS.iter().enumerate() {
            out.push(FaqEntry {
                question: format!("How do I {verb} my {noun}? Can you help me {verb} the {noun}?"),
                answer: format!("To {verb} your {noun}, open the app."),
                account: ((v + n) % 2 == 0).then(|| "main".to_string()),
                ..FaqEntry::default()
            });
        }
    }
    out
}

const MESSAGE: &str = "Hello, I ordered a new phone last week and I would like to change the \
                       delivery address because I am moving to another city, can you help?";

fn bench(c: &mut Criterion) {
    let entries = entries();
    c.bench_function("faq: index 200 questions", |b| {
        b.iter(|| Faq::new(black_box(&entries)))
    });
    let faq = Faq::new(&entries);
    assert!(faq.best("main", None, MESSAGE).is_some());
    c.bench_function("faq: best of 200 for a 27-word message", |b| {
        b.iter(|| faq.best(black_box("main"), None, black_box(MESSAGE)))
    });
    let unrelated = "The weather was lovely yesterday afternoon, we walked along the river \
                     until sunset and then had dinner in a small restaurant near the bridge.";
    assert!(faq.best("main", None, unrelated).is_none());
    c.bench_function(
        "faq: best of 200 for a 24-word message sharing no word",
        |b| b.iter(|| faq.best(black_box("main"), None, black_box(unrelated))),
    );
    let words: Vec<String> = DEFAULT_HANDOVER_WORDS
        .iter()
        .map(|w| w.to_string())
        .collect();
    c.bench_function("faq: wants_person, default words, 27-word message", |b| {
        b.iter(|| wants_person(black_box(MESSAGE), black_box(&words)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
