//! The deflection journal on its own thread, and the retries of failed hand-offs.
//!
//! Recording a deflection waits for an fsync, which must not block the tokio threads that
//! run calls and media; so one thread owns the [`Journal`] and takes requests from a
//! channel. It commits in groups: the deflections of every call that asks while a sync is
//! under way are written together and share the next one.

use super::handed_off;
use crate::deflection::{Deflection, DeflectionConsumer, Journal, JournalError};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tracing::{error, warn};

/// Longest pause between two attempts to hand a deflection off.
const MAX_RETRY_INTERVAL: Duration = Duration::from_secs(60);

enum Request {
    Record(
        Box<Deflection>,
        oneshot::Sender<Result<(), Arc<JournalError>>>,
    ),
    Complete(String),
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
            }
        }
        if !records.is_empty() {
            let result = journal.record_all(&records).map_err(Arc::new);
            if let Err(e) = &result {
                error!(cause = %e, "cannot record deflections in the journal");
            }
            for reply in replies {
                let _ = reply.send(result.clone());
            }
        }
        if !completed.is_empty() {
            let ids: Vec<&str> = completed.iter().map(String::as_str).collect();
            if let Err(e) = journal.complete_all(&ids) {
                warn!(cause = %e, "cannot note hand-offs in the journal; they are repeated after a restart");
            }
        }
    }
}

/// Retries hand-offs that failed, backing off from one second to a minute, until they
/// succeed or the process stops (they stay in the journal then).
pub(super) async fn retry_hand_offs<D: DeflectionConsumer>(
    mut failed: mpsc::UnboundedReceiver<Deflection>,
    consumer: Arc<D>,
    journal: JournalWriter,
) {
    let mut waiting: Vec<Deflection> = Vec::new();
    let mut interval = Duration::from_secs(1);
    loop {
        if waiting.is_empty() {
            match failed.recv().await {
                Some(d) => waiting.push(d),
                None => return,
            }
            interval = Duration::from_secs(1);
        }
        tokio::time::sleep(interval).await;
        while let Ok(d) = failed.try_recv() {
            waiting.push(d);
        }
        let next = (interval * 2).min(MAX_RETRY_INTERVAL);
        let mut still = Vec::new();
        for d in waiting.drain(..) {
            match consumer.deflect(&d).await {
                Ok(()) => {
                    journal.complete(&d.call_id);
                    handed_off(&d);
                }
                Err(e) => {
                    warn!(call_id = %d.call_id, cause = %e, retry_in = ?next, "the inbox still does not take the deflection");
                    still.push(d);
                }
            }
        }
        waiting = still;
        interval = next;
    }
}
