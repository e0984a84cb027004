//! Calls: the IVR's start-up (prompts, speech models, flows, the deflection journal) and
//! its two links to the inbox — the abuse-limit counter and the deflection consumer. The
//! call handling itself is `deflect_ivr::runtime`.

use deflect_chat::{Inbox, LimitCheck, LimitOutcome};
use deflect_config::Config;
use deflect_ivr::handoff::Backoff;
use deflect_ivr::runtime::{BridgeTrunk, CallService, FlowPrompts, HandOffs, Parts};
use deflect_ivr::{
    Deflection, DeflectionConsumer, DeflectionCounter, Flows, Journal, LimitDecision, LimitRequest,
    SpeechModels, speech,
};
use deflect_media::driver::MediaEngine;
use deflect_media::playback::PromptLibrary;
use std::net::IpAddr;
use std::sync::Arc;
use tracing::{info, warn};

/// A configuration the calls cannot run with (`deflect run` exits 64).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UnusableConfig(pub String);

/// What the calls need, loaded before any port is bound.
pub(crate) struct Prepared {
    library: PromptLibrary,
    models: SpeechModels,
    flows: Arc<Flows>,
    prompts: FlowPrompts,
    advertise: Option<IpAddr>,
}

/// Loads prompts, speech models and flows. A prompt file that cannot be read or a flow
/// that does not compile is an [`UnusableConfig`].
pub(crate) async fn prepare(config: &Config) -> anyhow::Result<Prepared> {
    let mut library = PromptLibrary::load(config.ivr.prompts_dir.as_deref())
        .map_err(|e| UnusableConfig(format!("ivr.prompts_dir: {e}")))?;
    let models = SpeechModels::load(
        &config.ivr,
        &speech::models_dirs(&config.ivr, &config.data_dir),
    );
    let flows = Flows::new(&config.ivr, |language| models.has(language))
        .map_err(|e| UnusableConfig(format!("ivr.flows: {e}")))?;
    let prompts = FlowPrompts::load(&flows, &library)
        .map_err(|e| UnusableConfig(format!("ivr.flows: {e}")))?;
    // Built-in languages no flow speaks need not stay in memory.
    let languages: Vec<&str> = flows.iter().map(|f| f.language()).collect();
    library.retain_languages(&languages);
    for (flow, names) in prompts.in_english() {
        let language = flows
            .iter()
            .find(|f| f.name() == flow)
            .map(|f| f.language());
        warn!(
            flow,
            language,
            prompts = names.join(", "),
            "the flow's language has no recording of these prompts: they play in English (add <ivr.prompts_dir>/<language>/<prompt>.wav or the flow's prompts_dir)"
        );
    }
    info!(
        flows = flows.iter().count(),
        prompts = prompts.len(),
        "call flows ready"
    );
    let advertise = deflect_media::advertise::resolve(&config.media, &config.sip).await?;
    Ok(Prepared {
        library,
        models,
        flows: Arc::new(flows),
        prompts,
        advertise,
    })
}

impl Prepared {
    /// Opens the deflection journal and hands off what it holds from before a restart (the
    /// one hand-off path, `deflect_ivr::runtime::HandOffs`), then starts the media engine
    /// and the call service.
    pub(crate) async fn start(
        self,
        config: &Config,
        inbox: &Inbox,
    ) -> anyhow::Result<Arc<CallService<InboxLimits, InboxDeflections>>> {
        let hand_offs = HandOffs::start(
            Journal::open(&config.data_dir)?,
            Arc::new(InboxDeflections(inbox.clone())),
            Backoff::default(),
        )
        .await;
        let engine = MediaEngine::start(&config.media, Arc::new(self.library), self.advertise, 0);
        Ok(CallService::new(Parts {
            engine,
            flows: self.flows,
            prompts: self.prompts,
            models: self.models,
            counter: Arc::new(InboxLimits(inbox.clone())),
            hand_offs,
            max_call_duration: config.sip.max_call_duration,
            local_peers: deflect_media::advertise::local(&config.media, &config.sip)
                .map(|address| (config.sip.local_networks.clone(), address)),
            trunks: config.sip.trunks.iter().map(BridgeTrunk::of).collect(),
        }))
    }
}

/// How long a deflection committed before its call's BYE holds its template back, should
/// the node die before releasing it after the BYE.
const DEFLECTION_HOLD: std::time::Duration = std::time::Duration::from_secs(5);

/// Deflections and call records into the inbox: the IVR's [`Deflection`] and
/// `CallRecord` (deflect-config's records, which the inbox takes as they are; idempotent on
/// the call id).
pub(crate) struct InboxDeflections(Inbox);

impl DeflectionConsumer for InboxDeflections {
    type Error = deflect_chat::ChatError;

    async fn deflect(&self, d: &Deflection) -> Result<(), Self::Error> {
        self.0.deflect(d).await.map(|_| ())
    }

    /// On PostgreSQL, shared by every node, the deflection is committed before the BYE; a
    /// node that dies before the hang-up's release leaves its template to the others after
    /// [`DEFLECTION_HOLD`]. SQLite, one process's file, keeps the journal.
    async fn hold(&self, d: &Deflection) -> Result<bool, Self::Error> {
        if self.0.store().kind() != deflect_config::DatabaseKind::Postgres {
            return Ok(false);
        }
        self.0
            .hold_deflection(d, DEFLECTION_HOLD)
            .await
            .map(|_| true)
    }

    async fn record_calls(
        &self,
        records: &[deflect_ivr::deflection::CallRecord],
    ) -> Result<(), Self::Error> {
        self.0.record_calls(records).await
    }
}

/// The abuse limits, counted in the inbox's database (shared by every process on it).
pub(crate) struct InboxLimits(Inbox);

impl DeflectionCounter for InboxLimits {
    type Error = deflect_chat::ChatError;

    async fn try_record(&self, r: &LimitRequest) -> Result<LimitDecision, Self::Error> {
        let check = LimitCheck {
            call_id: r.call_id.clone(),
            caller: r.caller.clone(),
            callback_number: r.callback_number.clone(),
            per_caller: r.per_caller,
            per_callback_number: r.per_callback_number,
            at: r.at.as_millisecond(),
        };
        Ok(match self.0.check_deflection_limits(&check).await? {
            LimitOutcome::Allowed => LimitDecision::Allowed,
            LimitOutcome::CallerLimited => LimitDecision::CallerLimited,
            LimitOutcome::CallbackNumberLimited => LimitDecision::CallbackNumberLimited,
        })
    }
}
