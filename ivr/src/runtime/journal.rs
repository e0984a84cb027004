//! The deflection journal on its own thread.
//!
//! Recording a deflection waits for an fsync, which must not block the tokio threads that
//! run calls and media; so one thread owns the [`Journal`] and takes requests from a
//! channel, in order. It commits in groups: the deflections of every call that asks while a
//! sync is under way are written together and share the next one.

use crate::deflection::{Deflection, Journal, JournalError};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use tokio::sync::oneshot;
use tracing::{error, warn};

enum Request {
    Record(
        Box<Deflection>,
        oneshot::Sender<Result<(), Arc<JournalError>>>,
    ),
    Complete(String),
    Pending(oneshot::Sender<Vec<Deflection>>),
}

/// Handle to the journal's thread (cheap to clone). The thread ends, closing the journal,
/// when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct JournalWriter {
    tx: std_mpsc::Sender<Request>,
}

impl JournalWriter {
    /// Moves `journal` to a thread of its own.
    pub fn start(journal: Journal) -> Self {
        let (tx, rx) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("deflect-journal".into())
            .spawn(move || run(journal, &rx))
            .expect("the operating system starts a thread");
        Self { tx }
    }

    /// Records a deflection durably; returns once it is synced to disk.
    pub async fn record(&self, deflection: &Deflection) -> Result<(), Arc<JournalError>> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Request::Record(Box::new(deflection.clone()), reply))
            .map_err(|_| closed())?;
        done.await.map_err(|_| closed())?
    }

    /// Notes that the consumer has the deflection of `call_id` (no need to wait: losing the
    /// note only means the idempotent consumer is offered it again after a restart).
    pub fn complete(&self, call_id: &str) {
        let _ = self.tx.send(Request::Complete(call_id.to_owned()));
    }

    /// The deflections recorded and not completed, once every request sent before this one
    /// is carried out (empty when the thread has stopped).
    pub async fn pending(&self) -> Vec<Deflection> {
        let (reply, done) = oneshot::channel();
        if self.tx.send(Request::Pending(reply)).is_err() {
            return Vec::new();
        }
        done.await.unwrap_or_default()
    }
}

fn closed() -> Arc<JournalError> {
    Arc::new(JournalError::Io {
        path: crate::deflection::JOURNAL_FILE.into(),
        source: std::io::Error::other("the journal thread has stopped"),
    })
}

fn run(mut journal: Journal, rx: &std_mpsc::Receiver<Request>) {
    while let Ok(first) = rx.recv() {
        let mut records = Vec::new();
        let mut replies = Vec::new();
        let mut completed = Vec::new();
        for request in std::iter::once(first).chain(rx.try_iter()) {
            match request {
                Request::Record(d, reply) => {
                    records.push(*d);
                    replies.push(reply);
                }
                Request::Complete(call_id) => completed.push(call_id),
                Request::Pending(reply) => {
                    // Answered after what came before it, never grouped with what follows.
                    write(&mut journal, &mut records, &mut replies, &mut completed);
                    let _ = reply.send(journal.pending().cloned().collect());
                }
            }
        }
        write(&mut journal, &mut records, &mut replies, &mut completed);
    }
}

/// Records and completes what was gathered, each group with one write and one sync.
fn write(
    journal: &mut Journal,
    records: &mut Vec<Deflection>,
    replies: &mut Vec<oneshot::Sender<Result<(), Arc<JournalError>>>>,
    completed: &mut Vec<String>,
) {
    if !records.is_empty() {
        let result = journal.record_all(records).map_err(Arc::new);
        if let Err(e) = &result {
            error!(cause = %e, "cannot record deflections in the journal");
        }
        for reply in replies.drain(..) {
            let _ = reply.send(result.clone());
        }
        records.clear();
    }
    if !completed.is_empty() {
        let ids: Vec<&str> = completed.iter().map(String::as_str).collect();
        if let Err(e) = journal.complete_all(&ids) {
            warn!(cause = %e, "cannot note hand-offs in the journal; they are repeated after a restart");
        }
        completed.clear();
    }
}
