//! The deflection journal: what a finished call gives the inbox, exactly once. The record
//! itself, [`Deflection`], is deflect-config's, shared with the inbox.
//!
//! # Exactly once, across crashes
//!
//! The engine emits `Action::Deflect` once per call, before `Action::Hangup`. The driver then:
//!
//! 1. [`Journal::record`]s it — appended and fsynced to `<data_dir>/ivr-deflections.journal`
//!    — **before** sending the BYE;
//! 2. sends the BYE;
//! 3. hands it to the [`DeflectionConsumer`] (the inbox), and once the consumer took it,
//!    [`Journal::complete`]s it.
//!
//! Step 3 is one path for every deflection, `runtime::HandOffs`, with one policy
//! ([`crate::handoff`]): a refusal is retried with back-off, never dropped. At start-up,
//! [`Journal::open`] reads what was recorded and not completed, and the same path hands it
//! off before calls are taken. A crash anywhere between 1 and the end of 3 therefore repeats
//! step 3, never skips it; the consumer is idempotent on `call_id`, so a repeat (a crash
//! after the inbox committed but before the journal noted it) creates nothing twice. A crash
//! before 1 means the caller never heard the BYE.
//!
//! The journal is a file of JSON lines (`{"pending":{…}}`, `{"done":"<call id>"}`),
//! compacted on open; a torn last line from a crash mid-write is ignored. A pending entry
//! keeps the form the first journal gave it (`whatsapp_account`, RFC 3339 times, the
//! dialled number as text, empty when there was none; the IVR path only when there is one,
//! which an older version ignores), apart from the record's JSON form, so that both an
//! upgrade and a rollback read what the other left. One process owns
//! it at a time (an exclusive file lock), so each gateway process needs its own data
//! directory — as it does for everything else it keeps there.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use tracing::warn;

/// A finished deflection, its call and where it goes (defined in deflect-config, which the
/// inbox shares), and how the caller gave the callback number.
pub use deflect_config::{
    CallContext, CallOutcome, CallRecord, Deflection, InputMethod, MAX_PATH, PathStep,
};

/// Takes deflections — and every call's record — into the inbox. Implemented by the binary
/// over the inbox core.
///
/// Must be idempotent on `call_id`: the same deflection may arrive again after a crash.
pub trait DeflectionConsumer: Send + Sync {
    /// The consumer's error; the deflection stays pending and is offered again.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Commits the deflection (or finds it already committed).
    fn deflect(
        &self,
        deflection: &Deflection,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Commits the deflection before the caller is hung up, its message held back until
    /// [`deflect`](Self::deflect) (after the hang-up) releases it — or, should this process
    /// die first, until the hold ends, when any process sharing the consumer's database
    /// sends it. `Ok(false)` when the consumer holds nothing (a database only this process
    /// uses): the journal keeps the deflection instead. By default, `Ok(false)`.
    fn hold(
        &self,
        deflection: &Deflection,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        let _ = deflection;
        std::future::ready(Ok(false))
    }

    /// Keeps the records of finished calls, all or none (a record already kept under its
    /// call id is found, not kept twice). By default, nothing.
    fn record_calls(
        &self,
        records: &[CallRecord],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        let _ = records;
        std::future::ready(Ok(()))
    }
}

/// The journal file's name in the data directory.
pub const JOURNAL_FILE: &str = "ivr-deflections.journal";

/// Journal failures.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file could not be read, written or synced.
    #[error("deflection journal {path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A time outside what the journal can write (years -9999 to 9999); the engine never
    /// makes one.
    #[error("deflection of call {0}: a time out of range")]
    OutOfRange(String),
    /// Another process holds the journal.
    #[error(
        "deflection journal {0} is in use by another process; give each gateway process its own data_dir"
    )]
    Locked(PathBuf),
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Entry {
    Pending(Box<Stored>),
    Done(String),
}

/// A pending deflection as the journal writes it: the first journal's form (see the module
/// docs), so that the file reads across an upgrade and a rollback.
#[derive(Serialize, Deserialize)]
struct Stored {
    call_id: String,
    caller: Option<String>,
    callback_number: String,
    /// Empty when there was none.
    dialled_number: String,
    flow: Option<String>,
    language: Option<String>,
    whatsapp_account: Option<String>,
    queue: Option<String>,
    started_at: Timestamp,
    ended_at: Timestamp,
    input_method: InputMethod,
    transcript: Option<String>,
    /// The steps the caller went through; absent (as the first journal wrote it) when
    /// empty, and ignored by a version that does not know it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    path: Vec<PathStep>,
}

impl Stored {
    fn of(d: &Deflection) -> Result<Self, JournalError> {
        let c = &d.call;
        let at = |ms| {
            Timestamp::from_millisecond(ms).map_err(|_| JournalError::OutOfRange(c.call_id.clone()))
        };
        Ok(Self {
            call_id: c.call_id.clone(),
            caller: c.caller.clone(),
            callback_number: c.callback_number.clone(),
            dialled_number: c.dialled_number.clone().unwrap_or_default(),
            flow: c.flow.clone(),
            language: c.language.clone(),
            whatsapp_account: d.account.clone(),
            queue: d.queue.clone(),
            started_at: at(c.started_at)?,
            ended_at: at(c.ended_at)?,
            input_method: c.input_method,
            transcript: c.transcript.clone(),
            path: c.path.clone(),
        })
    }

    fn into_deflection(self) -> Deflection {
        Deflection {
            call: CallContext {
                call_id: self.call_id,
                caller: self.caller,
                callback_number: self.callback_number,
                dialled_number: Some(self.dialled_number).filter(|n| !n.is_empty()),
                flow: self.flow,
                language: self.language,
                started_at: self.started_at.as_millisecond(),
                ended_at: self.ended_at.as_millisecond(),
                input_method: self.input_method,
                transcript: self.transcript,
                path: self.path,
            },
            account: self.whatsapp_account,
            queue: self.queue,
        }
    }
}

/// The durable record of deflections not yet handed off. See the module docs.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    pending: BTreeMap<String, Deflection>,
}

impl Journal {
    /// Opens (or creates) the journal in `data_dir`, reads what is pending and compacts the
    /// file to just that.
    pub fn open(data_dir: &Path) -> Result<Self, JournalError> {
        let path = data_dir.join(JOURNAL_FILE);
        let io = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(JournalError::Locked(path)),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut pending = BTreeMap::new();
        let mut torn = 0usize;
        for line in BufReader::new(&file).lines() {
            let line = line.map_err(io)?;
            match serde_json::from_str::<Entry>(&line) {
                Ok(Entry::Pending(d)) => {
                    let d = d.into_deflection();
                    pending.insert(d.call.call_id.clone(), d);
                }
                Ok(Entry::Done(call_id)) => {
                    pending.remove(&call_id);
                }
                Err(_) if line.trim().is_empty() => {}
                Err(_) => torn += 1,
            }
        }
        if torn > 0 {
            warn!(path = %path.display(), lines = torn, "deflection journal: skipped unreadable lines (a write cut short by a crash)");
        }
        let mut journal = Self {
            path,
            file,
            pending,
        };
        journal.compact()?;
        Ok(journal)
    }

    /// Rewrites the file with only the pending entries (write a new file, sync, rename).
    fn compact(&mut self) -> Result<(), JournalError> {
        let tmp = self.path.with_extension("journal.tmp");
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        // The new file is locked before it takes the journal's name, so the lock never
        // lapses.
        let mut out = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io)?;
        out.try_lock()
            .map_err(|_| JournalError::Locked(self.path.clone()))?;
        for d in self.pending.values() {
            out.write_all(&line(&Entry::Pending(Box::new(Stored::of(d)?))))
                .map_err(io)?;
        }
        out.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        }
        self.file = out;
        Ok(())
    }

    fn append(&mut self, lines: &[u8]) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(lines).map_err(io)?;
        self.file.sync_data().map_err(io)
    }

    /// Records a deflection durably (before the BYE). Recording the same call again is a
    /// no-op.
    pub fn record(&mut self, deflection: &Deflection) -> Result<(), JournalError> {
        self.record_all(std::slice::from_ref(deflection))
    }

    /// Records several deflections with one write and one sync (group commit: a driver
    /// gathers the deflections of calls ending at the same moment).
    pub fn record_all(&mut self, deflections: &[Deflection]) -> Result<(), JournalError> {
        let mut lines = Vec::new();
        let mut new = Vec::new();
        for d in deflections {
            let id = &d.call.call_id;
            if !self.pending.contains_key(id)
                && !new.iter().any(|n: &&Deflection| n.call.call_id == *id)
            {
                lines.extend(line(&Entry::Pending(Box::new(Stored::of(d)?))));
                new.push(d);
            }
        }
        if new.is_empty() {
            return Ok(());
        }
        self.append(&lines)?;
        for d in new {
            self.pending.insert(d.call.call_id.clone(), d.clone());
        }
        Ok(())
    }

    /// Notes that the consumer has the deflection for `call_id`.
    pub fn complete(&mut self, call_id: &str) -> Result<(), JournalError> {
        self.complete_all(&[call_id])
    }

    /// Notes several hand-offs with one write and one sync.
    pub fn complete_all(&mut self, call_ids: &[&str]) -> Result<(), JournalError> {
        let mut lines = Vec::new();
        for call_id in call_ids {
            if self.pending.remove(*call_id).is_some() {
                lines.extend(line(&Entry::Done(call_id.to_string())));
            }
        }
        if lines.is_empty() {
            return Ok(());
        }
        self.append(&lines)
    }

    /// Deflections recorded and not completed, oldest call id order.
    pub fn pending(&self) -> impl Iterator<Item = &Deflection> {
        self.pending.values()
    }
}

fn line(entry: &Entry) -> Vec<u8> {
    // Entries hold strings, timestamps and enums only: serializing cannot fail.
    let mut v = serde_json::to_vec(entry).expect("a journal entry serializes to JSON");
    v.push(b'\n');
    v
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Lines as the journal held them before the record moved to deflect-config: a call
    /// with every field (timestamps as the clock gave them, to the nanosecond), one with
    /// nothing optional and no dialled number, and one already handed off.
    const TODAYS_LINES: &str = concat!(
        r#"{"pending":{"call_id":"a84b4c76e66710@192.0.2.10","caller":"+31611111111","callback_number":"+31612345678","dialled_number":"31201234567","flow":"support","language":"nl","whatsapp_account":"main","queue":"callbacks","started_at":"2026-11-23T10:00:00.123456789Z","ended_at":"2026-11-23T10:00:31.987654321Z","input_method":"speech","transcript":"zes twaalf"}}"#,
        "\n",
        r#"{"pending":{"call_id":"b","caller":null,"callback_number":"+31687654321","dialled_number":"","flow":"default","language":"en","whatsapp_account":null,"queue":null,"started_at":"2026-11-23T10:00:00Z","ended_at":"2026-11-23T10:00:31Z","input_method":"caller_number","transcript":null}}"#,
        "\n",
        r#"{"pending":{"call_id":"c","caller":null,"callback_number":"+31687654321","dialled_number":"","flow":"default","language":"en","whatsapp_account":null,"queue":null,"started_at":"2026-11-23T10:00:00Z","ended_at":"2026-11-23T10:00:31Z","input_method":"dtmf","transcript":"0687654321"}}"#,
        "\n",
        r#"{"done":"c"}"#,
        "\n",
    );

    /// An upgrade loses nothing: the journal a previous version left is read, pending
    /// entries with every field as that version meant it.
    #[test]
    fn a_journal_written_by_the_previous_version_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(JOURNAL_FILE), TODAYS_LINES).unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let pending: Vec<&Deflection> = j.pending().collect();
        assert_eq!(pending.len(), 2, "{pending:?}");
        let (a, b) = (pending[0], pending[1]);
        assert_eq!(
            *a,
            Deflection {
                call: CallContext {
                    call_id: "a84b4c76e66710@192.0.2.10".into(),
                    caller: Some("+31611111111".into()),
                    callback_number: "+31612345678".into(),
                    dialled_number: Some("31201234567".into()),
                    flow: Some("support".into()),
                    language: Some("nl".into()),
                    started_at: 1_795_428_000_123,
                    ended_at: 1_795_428_031_987,
                    input_method: InputMethod::Speech,
                    transcript: Some("zes twaalf".into()),
                    path: Vec::new(),
                },
                account: Some("main".into()),
                queue: Some("callbacks".into()),
            }
        );
        assert_eq!(
            *b,
            Deflection {
                call: CallContext {
                    call_id: "b".into(),
                    caller: None,
                    callback_number: "+31687654321".into(),
                    dialled_number: None,
                    flow: Some("default".into()),
                    language: Some("en".into()),
                    started_at: 1_795_428_000_000,
                    ended_at: 1_795_428_031_000,
                    input_method: InputMethod::CallerNumber,
                    transcript: None,
                    path: Vec::new(),
                },
                account: None,
                queue: None,
            }
        );
    }

    /// A time the journal cannot write is a clear error, and nothing is recorded.
    #[test]
    fn a_time_out_of_range_is_refused_not_written() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(JOURNAL_FILE), TODAYS_LINES).unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let mut d = j.pending().next().unwrap().clone();
        d.call.call_id = "far".into();
        d.call.ended_at = i64::MAX;
        assert!(matches!(j.record(&d), Err(JournalError::OutOfRange(id)) if id == "far"));
        assert_eq!(j.pending().count(), 2);
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        assert_eq!(j.pending().count(), 2);
    }

    /// A deflection's path is journalled and read back; a pathless one is written without
    /// the field (the previous form, above).
    #[test]
    fn a_path_is_journalled_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(JOURNAL_FILE), TODAYS_LINES).unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let mut d = j.pending().next().unwrap().clone();
        d.call.call_id = "with-path".into();
        d.call.path = vec![
            PathStep::new("welcome"),
            PathStep {
                step: "confirm".into(),
                exit: Some("retry 1, confirmed".into()),
            },
            PathStep::new("deflect"),
        ];
        j.record(&d).unwrap();
        drop(j);
        let j = Journal::open(dir.path()).unwrap();
        let read = j.pending().find(|p| p.call.call_id == "with-path").unwrap();
        assert_eq!(*read, d);
    }

    /// The journal is written in the same form (so a rollback reads it too).
    #[test]
    fn a_deflection_is_journalled_in_the_previous_versions_form() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(JOURNAL_FILE), TODAYS_LINES).unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let b = j.pending().nth(1).unwrap().clone();
        j.complete(&b.call.call_id).unwrap();
        j.record(&b).unwrap();
        let text = std::fs::read_to_string(dir.path().join(JOURNAL_FILE)).unwrap();
        let second = TODAYS_LINES.lines().nth(1).unwrap();
        assert_eq!(text.lines().last(), Some(second));
    }
}
