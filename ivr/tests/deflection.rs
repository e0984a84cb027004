//! The hand-off: exactly once per call, across a crash between the BYE and the inbox.

#![allow(clippy::unwrap_used)]

use deflect_ivr::deflection::{
    HandOffError, JOURNAL_FILE, Journal, JournalError, deliver, hand_off, hand_off_pending,
};
use deflect_ivr::{Deflection, DeflectionConsumer, InputMethod};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

/// Runs a future that never waits (the consumers here answer at once).
fn now<F: Future>(f: F) -> F::Output {
    match pin!(f).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the future waited"),
    }
}

/// An inbox that is idempotent on call id, and can be told to fail.
#[derive(Default)]
struct Inbox {
    committed: Mutex<BTreeMap<String, Deflection>>,
    offered: Mutex<usize>,
    down: Mutex<bool>,
}

#[derive(Debug, thiserror::Error)]
#[error("inbox unavailable")]
struct Down;

impl DeflectionConsumer for Inbox {
    type Error = Down;
    fn deflect(&self, d: &Deflection) -> impl Future<Output = Result<(), Down>> + Send {
        *self.offered.lock().unwrap() += 1;
        let result = if *self.down.lock().unwrap() {
            Err(Down)
        } else {
            self.committed
                .lock()
                .unwrap()
                .entry(d.call_id.clone())
                .or_insert_with(|| d.clone());
            Ok(())
        };
        std::future::ready(result)
    }
}

fn deflection(call_id: &str) -> Deflection {
    Deflection {
        call_id: call_id.into(),
        caller: Some("+31611111111".into()),
        callback_number: "+31612345678".into(),
        dialled_number: "+31201234567".into(),
        flow: "default".into(),
        language: "en".into(),
        whatsapp_account: None,
        queue: Some("support".into()),
        started_at: "2026-11-23T10:00:00Z".parse().unwrap(),
        ended_at: "2026-11-23T10:00:31Z".parse().unwrap(),
        input_method: InputMethod::Dtmf,
        transcript: Some("0612345678".into()),
    }
}

#[test]
fn a_crash_between_the_bye_and_the_hand_off_is_replayed_once_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::default();
    {
        let mut j = Journal::open(dir.path()).unwrap();
        // Journaled before the BYE; the process dies before the inbox has it.
        j.record(&deflection("a")).unwrap();
        hand_off(&mut j, &inbox, &deflection("b")) // another call, handed off normally
            .pass();
    }
    let mut j = Journal::open(dir.path()).unwrap();
    let pending: Vec<&str> = j.pending().map(|d| d.call_id.as_str()).collect();
    assert_eq!(pending, ["a"]);
    assert_eq!(now(hand_off_pending(&mut j, &inbox)).unwrap(), 1);
    drop(j);
    // Nothing is left for the next start.
    let mut j = Journal::open(dir.path()).unwrap();
    assert_eq!(j.pending().count(), 0);
    assert_eq!(now(hand_off_pending(&mut j, &inbox)).unwrap(), 0);
    let committed = inbox.committed.lock().unwrap();
    assert_eq!(committed.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(committed["a"], deflection("a"));
}

#[test]
fn a_crash_after_the_inbox_committed_repeats_the_offer_and_creates_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::default();
    {
        let mut j = Journal::open(dir.path()).unwrap();
        j.record(&deflection("a")).unwrap();
        // The inbox commits, then the process dies before the journal notes it.
        now(inbox.deflect(&deflection("a"))).unwrap();
    }
    let mut j = Journal::open(dir.path()).unwrap();
    assert_eq!(now(hand_off_pending(&mut j, &inbox)).unwrap(), 1);
    assert_eq!(*inbox.offered.lock().unwrap(), 2);
    assert_eq!(inbox.committed.lock().unwrap().len(), 1);
}

#[test]
fn a_failed_hand_off_stays_pending_until_the_inbox_takes_it() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::default();
    *inbox.down.lock().unwrap() = true;
    let mut j = Journal::open(dir.path()).unwrap();
    let d = deflection("a");
    j.record(&d).unwrap();
    // Recording twice (a retried action) is one entry.
    j.record(&d).unwrap();
    assert!(matches!(
        now(deliver(&mut j, &inbox, &d)),
        Err(HandOffError::Consumer(Down))
    ));
    assert_eq!(j.pending().count(), 1);
    *inbox.down.lock().unwrap() = false;
    assert_eq!(now(hand_off_pending(&mut j, &inbox)).unwrap(), 1);
    assert_eq!(j.pending().count(), 0);
}

#[test]
fn a_torn_last_line_is_skipped_and_the_rest_survives() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut j = Journal::open(dir.path()).unwrap();
        j.record(&deflection("a")).unwrap();
        j.record(&deflection("b")).unwrap();
        j.complete("a").unwrap();
    }
    // A crash in the middle of the next append.
    let path = dir.path().join(JOURNAL_FILE);
    let mut text = std::fs::read(&path).unwrap();
    text.extend_from_slice(br#"{"pending":{"call_id":"c","cal"#);
    std::fs::write(&path, text).unwrap();
    let j = Journal::open(dir.path()).unwrap();
    let pending: Vec<&str> = j.pending().map(|d| d.call_id.as_str()).collect();
    assert_eq!(pending, ["b"]);
    // Compacted: the file now holds just the pending entry.
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
}

#[test]
fn one_process_owns_a_journal() {
    let dir = tempfile::tempdir().unwrap();
    let _first = Journal::open(dir.path()).unwrap();
    assert!(matches!(
        Journal::open(dir.path()),
        Err(JournalError::Locked(_))
    ));
}

trait Pass {
    fn pass(self);
}

impl<F: Future<Output = Result<(), HandOffError<Down>>>> Pass for F {
    fn pass(self) {
        now(self).unwrap();
    }
}
