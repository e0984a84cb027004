//! The settings as they apply: the configuration file's with the overrides admins store
//! (`setting_overrides`, see `deflect_config::SettingScope`) applied over them. Each process
//! keeps the result with the `settings` revision it was built at; [`Settings::refresh`]
//! reads that one row and rebuilds when it moved — after every change in the process that
//! made it, at start, and on each pass of the timer worker (at most a second apart), so a
//! change counts at once where it was made and within a second in every other process.

use super::InboxSettings;
use crate::model::StoreError;
use crate::repo;
use crate::repo::setting_overrides::StoredOverrides;
use deflect_config::{
    AutomationOverrides, AutomationsConfig, Config, OpeningHours, OverrideError, Overrides,
    Problem, SettingScope,
};
use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, PoisonError, RwLock};

/// The automations of one scope (the inbox, an account, a site, a flow), their opening
/// hours compiled; they read as the [`AutomationsConfig`] they are.
#[derive(Debug)]
pub(crate) struct Rules {
    rules: AutomationsConfig,
    /// `rules.hours`, compiled; none: always open.
    pub(super) hours: Option<OpeningHours>,
}

impl Rules {
    fn new(rules: AutomationsConfig) -> Arc<Self> {
        // The configuration check compiled them already (and checks every override).
        let hours = rules.hours.as_ref().and_then(|h| OpeningHours::new(h).ok());
        Arc::new(Self { rules, hours })
    }
}

impl Deref for Rules {
    type Target = AutomationsConfig;

    fn deref(&self) -> &AutomationsConfig {
        &self.rules
    }
}

/// The settings at one revision.
#[derive(Debug)]
pub(super) struct Effective {
    revision: i64,
    pub(super) settings: Arc<InboxSettings>,
    /// The inbox-wide automations.
    pub(super) defaults: Arc<Rules>,
    /// Each WhatsApp account's automations, its overrides applied.
    pub(super) accounts: HashMap<String, Arc<Rules>>,
    /// Each widget site's: its account's, its overrides applied.
    pub(super) sites: HashMap<String, Arc<Rules>>,
    /// Each IVR flow's: its account's, its overrides applied.
    pub(super) flows: HashMap<String, Arc<Rules>>,
    /// The overrides stored at this revision, by scope.
    pub(super) stored: Vec<StoredOverrides>,
}

impl Effective {
    fn new(revision: i64, settings: InboxSettings, stored: Vec<StoredOverrides>) -> Self {
        let defaults = &settings.inbox.automations;
        let whatsapp = &settings.whatsapp;
        let accounts = (whatsapp.accounts.iter())
            .map(|a| (a.name.clone(), Rules::new(defaults.with(&a.automations))))
            .collect();
        // A site's or flow's rules: its account's (else the default account's), then its own.
        let scoped = |account: Option<&String>, o: &AutomationOverrides| {
            Rules::new(
                whatsapp
                    .automations_of(defaults, account.map(String::as_str))
                    .with(o),
            )
        };
        let sites = (settings.widget.sites.iter())
            .map(|s| {
                (
                    s.name.clone(),
                    scoped(s.whatsapp_account.as_ref(), &s.automations),
                )
            })
            .collect();
        let flows = (settings.flows.iter())
            .map(|f| {
                (
                    f.name.clone(),
                    scoped(f.whatsapp_account.as_ref(), &f.automations),
                )
            })
            .collect();
        Self {
            revision,
            defaults: Rules::new(defaults.clone()),
            accounts,
            sites,
            flows,
            settings: Arc::new(settings),
            stored,
        }
    }
}

/// The file's settings and the effective ones (one per process, in `Ctx`).
#[derive(Debug)]
pub(super) struct Settings {
    /// As the configuration file says.
    file: InboxSettings,
    current: RwLock<Arc<Effective>>,
}

impl Settings {
    /// The file's settings; no override is read before the first [`Settings::refresh`].
    pub(super) fn new(file: InboxSettings) -> Self {
        Self {
            current: RwLock::new(Arc::new(Effective::new(0, file.clone(), Vec::new()))),
            file,
        }
    }

    /// As the configuration file says.
    pub(super) fn file(&self) -> &InboxSettings {
        &self.file
    }

    /// The newest built.
    pub(super) fn current(&self) -> Arc<Effective> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Rebuilds the settings when the stored overrides changed since they were built.
    pub(super) async fn refresh(&self, pool: &sqlx::AnyPool) -> Result<(), StoreError> {
        let revision = repo::list_revisions::get(pool, repo::list_revisions::SETTINGS).await?;
        if self.current().revision == revision {
            return Ok(());
        }
        // Read after the revision: at least as new as it (a later change raises it again).
        let stored = repo::setting_overrides::all(pool).await?;
        let effective = Arc::new(Effective::new(
            revision,
            applied(&self.file, &stored),
            stored,
        ));
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if revision > current.revision {
            tracing::info!(revision, "settings reloaded");
            *current = effective;
        }
        Ok(())
    }

    /// Checks `o` for `scope` as the configuration check would, with the other scopes'
    /// overrides `others` applied: the problems it adds (each naming its key), or none.
    pub(super) fn check(
        &self,
        others: &[StoredOverrides],
        scope: &SettingScope,
        o: &Overrides,
    ) -> Result<(), SettingProblem> {
        let mut before = self.file.to_config();
        apply(&mut before, others);
        let mut after = before.clone();
        after.with_overrides(scope, o).map_err(|e| match e {
            OverrideError::NoSuchScope => SettingProblem::NoSuchScope,
            OverrideError::Refused(p) => SettingProblem::Refused(p),
        })?;
        let known = before.problems();
        let added: Vec<Problem> = (after.problems().into_iter())
            .filter(|p| !known.contains(p))
            .collect();
        if added.is_empty() {
            Ok(())
        } else {
            Err(SettingProblem::Invalid(added))
        }
    }
}

/// Why overrides cannot be stored.
#[derive(Debug)]
pub(crate) enum SettingProblem {
    /// The configuration has no such account, site, flow or queue.
    NoSuchScope,
    /// Keys the configuration file sets, or that no override may set.
    Refused(Vec<Problem>),
    /// Values the configuration check refuses.
    Invalid(Vec<Problem>),
}

/// `file` with `stored` applied; a stored scope that no longer applies (its account, site,
/// flow or queue gone from the file, a key the file now sets, a value it refuses) is left
/// out, with a warning.
fn applied(file: &InboxSettings, stored: &[StoredOverrides]) -> InboxSettings {
    let mut config = file.to_config();
    apply(&mut config, stored);
    InboxSettings::from_config(&config)
}

fn apply(config: &mut Config, stored: &[StoredOverrides]) {
    let mut known = config.problems();
    for s in stored {
        let parsed = SettingScope::parse(&s.scope).ok_or_else(|| "not a scope".to_string());
        let result = parsed.and_then(|scope| {
            let o = scope
                .read(&mut serde_json::Deserializer::from_str(&s.value))
                .map_err(|e| e.to_string())?;
            let mut candidate = config.clone();
            candidate
                .with_overrides(&scope, &o)
                .map_err(|e| format!("{e:?}"))?;
            let problems = candidate.problems();
            let added: Vec<_> = problems.iter().filter(|p| !known.contains(p)).collect();
            if !added.is_empty() {
                return Err(format!("refused by the configuration check: {added:?}"));
            }
            *config = candidate;
            known = problems;
            Ok(())
        });
        if let Err(why) = result {
            tracing::warn!(scope = %s.scope, why, "stored settings not applied");
        }
    }
}
