//! Consumers of a transaction's events. The store appends events to the log and knows nothing
//! of who reads them: the inbox registers each consumer as an [`EventSink`] — outgoing webhook
//! deliveries written in the event's own transaction, the in-process bus, PostgreSQL NOTIFY —
//! and every write transaction hands its events to them at three moments.

use crate::model::{Event, StoreError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a sink's steps inside a transaction return.
pub(crate) type SinkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

/// The sinks a transaction hands its events to, in order.
pub(crate) type Sinks = Arc<[Arc<dyn EventSink>]>;

/// A consumer of logged events. A failure inside the transaction rolls it back, with the
/// events; what happens after the commit cannot fail it.
pub(crate) trait EventSink: Send + Sync + std::fmt::Debug {
    /// Inside the transaction, right after `event` was appended to the log: what is written
    /// here commits or rolls back with the event.
    fn appended<'a>(
        &'a self,
        _conn: &'a mut sqlx::AnyConnection,
        _event: &'a Event,
    ) -> SinkFuture<'a> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Inside the transaction, just before it commits, with every event it appended.
    fn committing<'a>(
        &'a self,
        _conn: &'a mut sqlx::AnyConnection,
        _events: &'a [Event],
    ) -> SinkFuture<'a> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// After the commit, in commit order (on SQLite the write lock is still held).
    fn committed(&self, _events: &[Event]) {}
}
