//! Calls' records on their way to the consumer, in batches: the records of calls that end
//! within [`LINGER`] of each other go in one [`DeflectionConsumer::record_calls`] — one
//! transaction, so a busy gateway commits once per batch, not once per call. A batch is
//! tried now, after 1 s and after 5 s; one still refused then is lost, with a warning
//! (records are not journalled: a deflection is, and reaches the inbox whatever happens).
//! A call's task waits for its record's batch, so a call has ended when its record is kept
//! (the drain at shutdown waits for both); [`RecordWriter::close`] cuts the wait for later
//! records short then.

use crate::deflection::{CallRecord, DeflectionConsumer};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

/// How long the first record of a batch waits for others.
pub const LINGER: Duration = Duration::from_millis(50);
/// Most records in one batch.
const MAX_BATCH: usize = 256;
/// Records waiting for the writer; a call ending while it is full waits for room.
const QUEUE: usize = 8192;
/// When a batch is tried: at once, then after these waits.
const ATTEMPTS: [Duration; 3] = [
    Duration::ZERO,
    Duration::from_secs(1),
    Duration::from_secs(5),
];

/// The queue of records and the task that keeps them (see the module docs).
pub struct RecordWriter {
    /// `None` once closed.
    queue: Mutex<Option<mpsc::Sender<Queued>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl RecordWriter {
    /// Starts the writer on the current runtime.
    pub fn start<D: DeflectionConsumer + 'static>(consumer: Arc<D>) -> Self {
        let (queue, records) = mpsc::channel(QUEUE);
        let task = tokio::spawn(write(consumer, records));
        Self {
            queue: Mutex::new(Some(queue)),
            task: Mutex::new(Some(task)),
        }
    }

    /// Keeps a finished call's record with those of the calls that end within 50 ms of it;
    /// returns once its batch is kept (or lost).
    pub async fn keep(&self, record: CallRecord) {
        let queue = self.queue.lock().expect("not poisoned").clone();
        let Some(queue) = queue else {
            warn!(call_id = %record.call_id, "the call's record was not kept: the gateway is stopping");
            metrics::counter!("deflect_call_records_total", "outcome" => "lost").increment(1);
            return;
        };
        let (kept, done) = oneshot::channel();
        let queued = queue.send((record, kept)).await.is_ok();
        // Not held while waiting: closing ends the queue once the records are in.
        drop(queue);
        if queued {
            let _ = done.await;
        }
    }

    /// Takes no more records and keeps those queued, waiting at most `limit`. Returns
    /// whether the writer finished.
    pub async fn close(&self, limit: Duration) -> bool {
        // The writer sees the queue end once the calls sending now are through.
        self.queue.lock().expect("not poisoned").take();
        let task = self.task.lock().expect("not poisoned").take();
        let Some(task) = task else { return true };
        match tokio::time::timeout(limit, task).await {
            Ok(_) => true,
            Err(_) => {
                warn!("call records still being kept at exit are lost");
                false
            }
        }
    }
}

/// A record and who waits for it.
type Queued = (CallRecord, oneshot::Sender<()>);

/// The writer: a batch at a time, until the queue is closed and empty.
async fn write<D: DeflectionConsumer>(consumer: Arc<D>, mut records: mpsc::Receiver<Queued>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while records.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // Later records join the first for LINGER; a closed queue ends the wait at once.
        let until = tokio::time::Instant::now() + LINGER;
        while batch.len() < MAX_BATCH {
            let room = MAX_BATCH - batch.len();
            match tokio::time::timeout_at(until, records.recv_many(&mut batch, room)).await {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
        let (kept, waiting): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        keep_batch(consumer.as_ref(), &kept).await;
        // Each call's task goes on.
        drop(waiting);
    }
}

/// One batch, with its retries.
async fn keep_batch<D: DeflectionConsumer>(consumer: &D, batch: &[CallRecord]) {
    let records = batch.len() as u64;
    for (attempt, wait) in ATTEMPTS.into_iter().enumerate() {
        tokio::time::sleep(wait).await;
        match consumer.record_calls(batch).await {
            Ok(()) => {
                metrics::counter!("deflect_call_records_total", "outcome" => "kept")
                    .increment(records);
                for r in batch {
                    debug!(call_id = %r.call_id, outcome = r.outcome.as_str(), "call record kept");
                }
                return;
            }
            Err(e) if attempt + 1 < ATTEMPTS.len() => {
                debug!(records, cause = %e, "the inbox did not take the calls' records; trying again");
            }
            Err(e) => {
                for r in batch {
                    warn!(call_id = %r.call_id, cause = %e, "the call's record was not kept");
                }
                metrics::counter!("deflect_call_records_total", "outcome" => "lost")
                    .increment(records);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflection::Deflection;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Keeps the batches it takes; refuses the first `refuse` attempts.
    #[derive(Default)]
    struct Consumer {
        batches: Mutex<Vec<Vec<String>>>,
        refuse: AtomicUsize,
    }

    impl DeflectionConsumer for Consumer {
        type Error = std::io::Error;

        async fn deflect(&self, _: &Deflection) -> Result<(), Self::Error> {
            Ok(())
        }

        async fn record_calls(&self, records: &[CallRecord]) -> Result<(), Self::Error> {
            let refused = self
                .refuse
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
            if refused.is_ok() {
                return Err(std::io::Error::other("database unavailable"));
            }
            let ids = records.iter().map(|r| r.call_id.clone()).collect();
            self.batches.lock().unwrap().push(ids);
            Ok(())
        }
    }

    fn record(call_id: &str) -> CallRecord {
        let record = serde_json::json!({
            "call_id": call_id, "trunk": "load", "started_at": 0, "ended_at": 0,
            "outcome": "flow_ended", "path": [],
        });
        serde_json::from_value(record).expect("a call record")
    }

    fn batches(consumer: &Consumer) -> Vec<Vec<String>> {
        consumer.batches.lock().unwrap().clone()
    }

    /// Keeps `call_id`'s record from a task of its own, as a call's task would.
    fn keep(writer: &Arc<RecordWriter>, call_id: &str) -> JoinHandle<()> {
        let (writer, record) = (writer.clone(), record(call_id));
        tokio::spawn(async move { writer.keep(record).await })
    }

    #[tokio::test(start_paused = true)]
    async fn records_of_calls_ending_together_are_kept_in_one_batch() {
        let consumer = Arc::new(Consumer::default());
        let writer = Arc::new(RecordWriter::start(consumer.clone()));
        let a = keep(&writer, "a");
        tokio::time::sleep(LINGER / 2).await;
        let b = keep(&writer, "b");
        tokio::time::sleep(LINGER).await;
        assert!(
            a.is_finished() && b.is_finished(),
            "a call waits for its record only"
        );
        let c = keep(&writer, "c");
        c.await.unwrap();
        assert_eq!(batches(&consumer), [vec!["a", "b"], vec!["c"]]);
    }

    #[tokio::test(start_paused = true)]
    async fn closing_keeps_what_is_queued_at_once() {
        let consumer = Arc::new(Consumer::default());
        let writer = Arc::new(RecordWriter::start(consumer.clone()));
        let queued = [keep(&writer, "a"), keep(&writer, "b")];
        tokio::task::yield_now().await;
        let started = tokio::time::Instant::now();
        assert!(writer.close(Duration::from_secs(10)).await);
        assert_eq!(batches(&consumer), [vec!["a", "b"]]);
        assert!(
            started.elapsed() < LINGER,
            "closing did not wait for the linger"
        );
        for call in queued {
            call.await.unwrap();
        }
        // After closing, a record is refused, not queued for nobody.
        keep(&writer, "late").await.unwrap();
        assert_eq!(batches(&consumer).len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_batch_is_tried_again_and_lost_after_the_last_attempt() {
        let consumer = Arc::new(Consumer::default());
        consumer.refuse.store(2, Ordering::SeqCst);
        let writer = Arc::new(RecordWriter::start(consumer.clone()));
        let a = keep(&writer, "a");
        tokio::time::sleep(LINGER + Duration::from_millis(1500)).await;
        assert!(
            batches(&consumer).is_empty(),
            "kept before its last attempt"
        );
        a.await.unwrap();
        assert_eq!(batches(&consumer), [vec!["a"]]);

        consumer.refuse.store(3, Ordering::SeqCst);
        keep(&writer, "b").await.unwrap();
        assert_eq!(
            batches(&consumer).len(),
            1,
            "a batch refused three times is lost"
        );
        assert_eq!(consumer.refuse.load(Ordering::SeqCst), 0);
    }
}
