//! The hand-off: exactly once per call, across a crash between the BYE and the inbox, on one
//! path (`runtime::HandOffs`) at start-up and at run time: a refused deflection is retried
//! and stays in the journal until the inbox takes it.

#![cfg(feature = "runtime")]
#![allow(clippy::unwrap_used)]

use deflect_ivr::deflection::{JOURNAL_FILE, Journal, JournalError};
use deflect_ivr::handoff::Backoff;
use deflect_ivr::runtime::{HandOff, HandOffs};
use deflect_ivr::{CallContext, Deflection, DeflectionConsumer, InputMethod};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Bounds every wait, so that a broken promise fails rather than hangs.
const PATIENCE: Duration = Duration::from_secs(10);

/// An inbox that is idempotent on call id, and can be told to refuse; on a `shared`
/// database it holds deflections before the BYE.
struct Inbox {
    committed: Mutex<BTreeMap<String, Deflection>>,
    offered: watch::Sender<usize>,
    down: Mutex<bool>,
    shared: bool,
}

impl Default for Inbox {
    fn default() -> Self {
        Self {
            committed: Mutex::default(),
            offered: watch::Sender::new(0),
            down: Mutex::new(false),
            shared: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("inbox unavailable")]
struct Down;

impl DeflectionConsumer for Inbox {
    type Error = Down;
    fn deflect(&self, d: &Deflection) -> impl Future<Output = Result<(), Down>> + Send {
        let result = if *self.down.lock().unwrap() {
            Err(Down)
        } else {
            self.committed
                .lock()
                .unwrap()
                .entry(d.call.call_id.clone())
                .or_insert_with(|| d.clone());
            Ok(())
        };
        self.offered.send_modify(|n| *n += 1);
        std::future::ready(result)
    }

    fn hold(&self, d: &Deflection) -> impl Future<Output = Result<bool, Down>> + Send {
        let result = match (self.shared, *self.down.lock().unwrap()) {
            (false, _) => Ok(false),
            (true, true) => Err(Down),
            (true, false) => {
                let mut committed = self.committed.lock().unwrap();
                committed.insert(d.call.call_id.clone(), d.clone());
                Ok(true)
            }
        };
        std::future::ready(result)
    }
}

impl Inbox {
    fn set_down(&self, down: bool) {
        *self.down.lock().unwrap() = down;
    }

    fn committed(&self) -> Vec<String> {
        self.committed.lock().unwrap().keys().cloned().collect()
    }

    fn offered(&self) -> usize {
        *self.offered.borrow()
    }

    async fn offered_at_least(&self, n: usize) {
        let mut offered = self.offered.subscribe();
        tokio::time::timeout(PATIENCE, offered.wait_for(|o| *o >= n))
            .await
            .unwrap_or_else(|_| panic!("not offered {n} times"))
            .unwrap();
    }
}

fn deflection(call_id: &str) -> Deflection {
    Deflection {
        call: CallContext {
            call_id: call_id.into(),
            caller: Some("+31611111111".into()),
            callback_number: "+31612345678".into(),
            dialled_number: Some("+31201234567".into()),
            flow: Some("default".into()),
            language: Some("en".into()),
            started_at: 1_795_428_000_000,
            ended_at: 1_795_428_031_000,
            input_method: InputMethod::Dtmf,
            transcript: Some("0612345678".into()),
            path: Vec::new(),
        },
        account: None,
        queue: Some("support".into()),
    }
}

/// Short waits, so retries happen within a test.
fn fast() -> Backoff {
    Backoff {
        initial: Duration::from_millis(10),
        max: Duration::from_millis(40),
    }
}

/// Call ids the journal file holds as pending, as the next start would read them (read
/// without taking the journal's lock).
fn left_in_file(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(JOURNAL_FILE)).unwrap();
    let mut pending = Vec::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(id) = v["pending"]["call_id"].as_str() {
            pending.push(id.to_string());
        } else if let Some(id) = v["done"].as_str() {
            pending.retain(|p| p != id);
        }
    }
    pending
}

async fn pending(h: &HandOffs<Inbox>) -> Vec<String> {
    h.journal()
        .pending()
        .await
        .into_iter()
        .map(|d| d.call.call_id)
        .collect()
}

async fn none_waiting(h: &HandOffs<Inbox>) {
    tokio::time::timeout(PATIENCE, h.waiting().wait_for(|n| *n == 0))
        .await
        .expect("every deflection taken")
        .unwrap();
}

#[tokio::test]
async fn a_crash_between_the_bye_and_the_hand_off_is_replayed_once_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut j = Journal::open(dir.path()).unwrap();
        // Journalled before the BYE; the process dies before the inbox has it.
        j.record(&deflection("a")).unwrap();
        // Another call, handed off normally.
        j.record(&deflection("b")).unwrap();
        j.complete("b").unwrap();
    }
    let inbox = Arc::new(Inbox::default());
    let h = HandOffs::start(Journal::open(dir.path()).unwrap(), inbox.clone(), fast()).await;
    // Handed off before `start` returns, so before any new call.
    assert_eq!(inbox.committed(), ["a"]);
    assert_eq!(inbox.offered(), 1);
    assert_eq!(inbox.committed.lock().unwrap()["a"], deflection("a"));
    // Nothing is left for the next start.
    assert!(pending(&h).await.is_empty());
    assert!(left_in_file(dir.path()).is_empty());
}

#[tokio::test]
async fn a_crash_after_the_inbox_committed_repeats_the_offer_and_creates_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Arc::new(Inbox::default());
    {
        let mut j = Journal::open(dir.path()).unwrap();
        j.record(&deflection("a")).unwrap();
        // The inbox commits, then the process dies before the journal notes it.
        inbox.deflect(&deflection("a")).await.unwrap();
    }
    let h = HandOffs::start(Journal::open(dir.path()).unwrap(), inbox.clone(), fast()).await;
    assert_eq!(inbox.offered(), 2);
    assert_eq!(inbox.committed(), ["a"]);
    assert!(pending(&h).await.is_empty());
}

#[tokio::test]
async fn a_refused_hand_off_is_retried_and_stays_journalled_until_the_inbox_takes_it() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Arc::new(Inbox::default());
    let h = HandOffs::start(Journal::open(dir.path()).unwrap(), inbox.clone(), fast()).await;
    inbox.set_down(true);
    h.record(&deflection("a")).await.unwrap();
    assert_eq!(h.hand_off(deflection("a")).await, HandOff::Retrying);
    assert_eq!(*h.waiting().borrow(), 1);
    // Offered again and again while the inbox refuses, and never completed meanwhile.
    inbox.offered_at_least(4).await;
    assert_eq!(pending(&h).await, ["a"]);
    assert_eq!(left_in_file(dir.path()), ["a"]);
    inbox.set_down(false);
    none_waiting(&h).await;
    assert_eq!(inbox.committed(), ["a"]);
    assert!(pending(&h).await.is_empty());
    assert!(left_in_file(dir.path()).is_empty());
}

#[tokio::test]
async fn at_start_up_a_refused_deflection_takes_the_same_retries() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut j = Journal::open(dir.path()).unwrap();
        j.record(&deflection("a")).unwrap();
        j.record(&deflection("b")).unwrap();
    }
    let inbox = Arc::new(Inbox::default());
    inbox.set_down(true);
    // Start-up does not wait for an inbox that refuses: both are offered once, then retried.
    let h = HandOffs::start(Journal::open(dir.path()).unwrap(), inbox.clone(), fast()).await;
    assert_eq!(*h.waiting().borrow(), 2);
    inbox.offered_at_least(4).await;
    assert_eq!(pending(&h).await, ["a", "b"]);
    inbox.set_down(false);
    none_waiting(&h).await;
    assert_eq!(inbox.committed(), ["a", "b"]);
    assert!(pending(&h).await.is_empty());
}

/// An inbox on a shared database holds the deflection before the BYE: nothing is
/// journalled, and the hand-off after the BYE finds it taken. One that cannot hold it then
/// leaves it to the journal, as a local database does.
#[tokio::test]
async fn a_deflection_the_inbox_holds_is_not_journalled() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Arc::new(Inbox {
        shared: true,
        ..Inbox::default()
    });
    let h = HandOffs::start(Journal::open(dir.path()).unwrap(), inbox.clone(), fast()).await;
    h.record(&deflection("held")).await.unwrap();
    assert_eq!(inbox.committed(), ["held"], "committed before the BYE");
    assert!(pending(&h).await.is_empty(), "not journalled");
    assert_eq!(h.hand_off(deflection("held")).await, HandOff::Taken);

    inbox.set_down(true);
    h.record(&deflection("journalled")).await.unwrap();
    assert_eq!(pending(&h).await, ["journalled"]);
    inbox.set_down(false);
    assert_eq!(h.hand_off(deflection("journalled")).await, HandOff::Taken);
    assert!(pending(&h).await.is_empty());
    assert_eq!(inbox.committed(), ["held", "journalled"]);
}

#[tokio::test]
async fn a_deflection_is_journalled_once_whatever_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Arc::new(Inbox::default());
    let h = HandOffs::start(Journal::open(dir.path()).unwrap(), inbox.clone(), fast()).await;
    // Recording twice (a retried action) is one entry.
    h.record(&deflection("a")).await.unwrap();
    h.record(&deflection("a")).await.unwrap();
    assert_eq!(pending(&h).await, ["a"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join(JOURNAL_FILE))
            .unwrap()
            .lines()
            .count(),
        1
    );
    assert_eq!(h.hand_off(deflection("a")).await, HandOff::Taken);
    assert!(pending(&h).await.is_empty());
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
    let pending: Vec<&str> = j.pending().map(|d| d.call.call_id.as_str()).collect();
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
