//! The managed lists as the inbox applies them: the whitelist entries and the FAQ entries
//! admins add through the API, joined with the configured ones. Each process keeps them in
//! memory (the FAQ as its search index) together with the list's revision, a counter the
//! transaction of every change raises: before it applies a list, a process reads that one
//! row and reloads the list when it moved, so a change counts at once in the process that
//! made it and in every other process sharing the database.

use crate::faq::{Faq, FaqMatch};
use crate::model::{FaqListEntry, StoreError};
use crate::repo;
use crate::store::Tx;
use deflect_config::{AutomationsConfig, FaqEntry, whitelist_matches};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A list as loaded at a revision; the newest loaded is kept.
#[derive(Debug)]
pub(super) struct Cached<T> {
    current: RwLock<(i64, Arc<T>)>,
}

impl<T> Cached<T> {
    pub(super) fn new(value: T) -> Self {
        // Revision 0: nothing was ever added, so the list is what the configuration says.
        Self {
            current: RwLock::new((0, Arc::new(value))),
        }
    }

    /// The list at `revision`, if that is the one kept.
    pub(super) fn at(&self, revision: i64) -> Option<Arc<T>> {
        let current = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (current.0 == revision).then(|| current.1.clone())
    }

    /// The newest kept, whatever its revision.
    pub(super) fn newest(&self) -> Arc<T> {
        let current = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        current.1.clone()
    }

    /// Keeps `value`, loaded at `revision`, unless a newer one is kept already.
    pub(super) fn keep(&self, revision: i64, value: Arc<T>) {
        let mut current = self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if revision >= current.0 {
            *current = (revision, value);
        }
    }
}

/// The caches of the managed lists (one per process, in `Ctx`).
#[derive(Debug)]
pub(super) struct Lists {
    whitelist: Cached<ListedNumbers>,
    faq: Cached<FaqIndex>,
}

impl Lists {
    /// The lists before any API entry: the configured FAQ, indexed.
    pub(super) fn new(configured_faq: &[FaqEntry]) -> Self {
        Self {
            whitelist: Cached::new(ListedNumbers::default()),
            faq: Cached::new(FaqIndex::new(configured_faq, Vec::new())),
        }
    }

    /// The API's whitelist entries as of `tx`.
    pub(super) async fn whitelist(&self, tx: &mut Tx) -> Result<Arc<ListedNumbers>, StoreError> {
        let revision =
            repo::list_revisions::get(tx.conn(), repo::list_revisions::WHITELIST).await?;
        if let Some(listed) = self.whitelist.at(revision) {
            return Ok(listed);
        }
        // Read after the revision: at least as new as it (a later change raises it again).
        let entries = repo::whitelist::all(tx.conn()).await?;
        let mut listed = ListedNumbers::default();
        for e in entries {
            match e.account {
                None => listed.every.push(e.pattern),
                Some(a) => listed.by_account.entry(a).or_default().push(e.pattern),
            }
        }
        let listed = Arc::new(listed);
        self.whitelist.keep(revision, listed.clone());
        Ok(listed)
    }

    /// The FAQ — `configured` and the API's entries as of `tx` — indexed.
    pub(super) async fn faq(
        &self,
        tx: &mut Tx,
        configured: &[FaqEntry],
    ) -> Result<Arc<FaqIndex>, StoreError> {
        let revision = repo::list_revisions::get(tx.conn(), repo::list_revisions::FAQ).await?;
        if let Some(index) = self.faq.at(revision) {
            return Ok(index);
        }
        let added = repo::faq_entries::all(tx.conn()).await?;
        let index = Arc::new(FaqIndex::new(configured, added));
        tracing::debug!(revision, entries = index.entries.len(), "FAQ index rebuilt");
        self.faq.keep(revision, index.clone());
        Ok(index)
    }
}

/// The whitelist entries added through the API.
#[derive(Debug, Default)]
pub(crate) struct ListedNumbers {
    /// For every account.
    every: Vec<String>,
    /// For one account, by its name.
    by_account: HashMap<String, Vec<String>>,
}

impl ListedNumbers {
    /// Whether `phone` (E.164) may open a conversation by writing to `account`, whose
    /// rules are `rules`: its effective whitelist is the configured one and these entries
    /// for it or for every account; when that is empty, everyone may.
    pub(crate) fn admits(
        &self,
        rules: &AutomationsConfig,
        account: Option<&str>,
        phone: &str,
    ) -> bool {
        let own = account.and_then(|a| self.by_account.get(a));
        let mut listed = (rules.whitelist.iter())
            .chain(&self.every)
            .chain(own.into_iter().flatten())
            .peekable();
        listed.peek().is_none() || listed.any(|p| whitelist_matches(p, phone))
    }
}

/// Where an FAQ entry comes from, for the logs.
#[derive(Clone, Copy, Debug)]
enum EntryOrigin {
    /// `inbox.faq[i]`.
    Config(usize),
    /// The API's entry of this id.
    Api(i64),
}

/// The FAQ's entries — configured first, then the API's, oldest first — and their index.
#[derive(Debug)]
pub(crate) struct FaqIndex {
    entries: Vec<FaqEntry>,
    origins: Vec<EntryOrigin>,
    faq: Faq,
    /// The languages the entries are written in.
    languages: Vec<String>,
}

impl FaqIndex {
    fn new(configured: &[FaqEntry], added: Vec<FaqListEntry>) -> Self {
        let mut entries = configured.to_vec();
        let mut origins: Vec<EntryOrigin> =
            (0..configured.len()).map(EntryOrigin::Config).collect();
        for e in added {
            origins.push(EntryOrigin::Api(e.id.unwrap_or_default()));
            entries.push(FaqEntry {
                question: e.question,
                answer: e.answer,
                language: Some(e.language),
                account: e.account,
            });
        }
        let mut languages: Vec<String> = entries.iter().map(|e| e.language().into()).collect();
        languages.sort();
        languages.dedup();
        Self {
            faq: Faq::new(&entries),
            entries,
            origins,
            languages,
        }
    }

    /// The entry that `text`, from a customer of `account`, asks best (in whichever
    /// language of the entries it matches best), and how well.
    pub(crate) fn best(&self, account: &str, text: &str) -> Option<(&FaqEntry, FaqMatch)> {
        let best = (self.languages.iter())
            .filter_map(|l| self.faq.best(account, Some(l), text))
            .max_by(|a, b| a.score.total_cmp(&b.score))?;
        Some((self.entries.get(best.entry)?, best))
    }

    /// Where entry `i` comes from, as logged: its index in `[[inbox.faq]]`, or the id of
    /// the API's entry.
    pub(crate) fn origin(&self, i: usize) -> (Option<usize>, Option<i64>) {
        match self.origins.get(i) {
            Some(EntryOrigin::Config(n)) => (Some(*n), None),
            Some(EntryOrigin::Api(id)) => (None, Some(*id)),
            None => (None, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(every: &[&str], account: &[(&str, &str)]) -> ListedNumbers {
        let mut l = ListedNumbers {
            every: every.iter().map(|s| s.to_string()).collect(),
            ..ListedNumbers::default()
        };
        for (a, p) in account {
            l.by_account
                .entry(a.to_string())
                .or_default()
                .push(p.to_string());
        }
        l
    }

    #[test]
    fn the_effective_whitelist_joins_configured_and_added_entries() {
        let open = AutomationsConfig::default();
        let configured = AutomationsConfig {
            whitelist: vec!["+3120*".into()],
            ..AutomationsConfig::default()
        };
        // Nothing anywhere: everyone.
        assert!(listed(&[], &[]).admits(&open, Some("main"), "+4930111"));
        // Another account's entry leaves this one open.
        let other = listed(&[], &[("other", "+31612345678")]);
        assert!(other.admits(&open, Some("main"), "+4930111"));
        assert!(!other.admits(&open, Some("other"), "+4930111"));
        assert!(other.admits(&open, Some("other"), "+31612345678"));
        // An entry for every account restricts every account; configured ones still count.
        let every = listed(&["+49*"], &[]);
        assert!(every.admits(&configured, Some("main"), "+4930111"));
        assert!(every.admits(&configured, Some("main"), "+31201234567"));
        assert!(!every.admits(&configured, Some("main"), "+31612345678"));
        assert!(!every.admits(&open, None, "+31612345678"));
        assert!(listed(&[], &[]).admits(&configured, Some("main"), "+31201234567"));
        assert!(!listed(&[], &[]).admits(&configured, Some("main"), "+4930111"));
    }

    #[test]
    fn the_faq_index_answers_from_configured_and_added_entries() {
        let configured = [FaqEntry {
            question: "What are your opening hours?".into(),
            answer: "9 to 5".into(),
            ..FaqEntry::default()
        }];
        let added = vec![FaqListEntry {
            id: Some(7),
            account: Some("main".into()),
            question: "Wo ist meine Rechnung?".into(),
            answer: "Im Kundenportal.".into(),
            language: "de".into(),
            source: crate::model::ListSource::Api,
            key: None,
            created_at: Some(1),
            updated_at: Some(1),
        }];
        let index = FaqIndex::new(&configured, added);
        let (e, m) = index.best("main", "opening hours please").unwrap();
        assert_eq!(
            (e.answer.as_str(), index.origin(m.entry)),
            ("9 to 5", (Some(0), None))
        );
        let (e, m) = index.best("main", "meine Rechnungen").unwrap();
        assert_eq!(
            (e.answer.as_str(), index.origin(m.entry)),
            ("Im Kundenportal.", (None, Some(7)))
        );
        // Another account's customers do not get it.
        let other = index.best("other", "meine Rechnungen");
        assert!(
            other.is_none_or(|(e, _)| e.answer != "Im Kundenportal."),
            "{other:?}"
        );
    }
}
