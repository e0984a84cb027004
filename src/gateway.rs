//! Wiring: builds each part from the configuration, connects them, and owns start-up and
//! shutdown.
//!
//! Three steps, each of which can be driven by a test:
//!
//! 1. [`Gateway::prepare`] does everything that can fail on the configuration — prompts,
//!    speech models, flows, the address media advertises — before any port is bound;
//! 2. [`Listeners::bind`] binds `sip.listen` and `http.listen` (port 0 picks a free port;
//!    the addresses actually bound are on the [`Listeners`]);
//! 3. [`Gateway::run`] opens the database and the inbox, hands off the deflections the last
//!    run left, starts SIP, the calls and the HTTP server on those listeners, and runs until
//!    the `shutdown` future completes (registered as a node of the database, beating); then
//!    it drains calls and requests for `shutdown.grace_period`, ends the trunks'
//!    registrations (`Expires: 0`) and stops.
//!
//! ```no_run
//! # async fn demo(config: deflect_config::Config) -> anyhow::Result<()> {
//! use deflect::gateway::{Gateway, Listeners};
//!
//! let gateway = Gateway::prepare(config.clone()).await?;
//! let listeners = Listeners::bind(&config).await?;
//! println!("HTTP on {}", listeners.http_addr());
//! let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder().handle();
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let running = tokio::spawn(gateway.run(listeners, metrics, async {
//!     let _ = stopped.await;
//! }));
//! // … later:
//! let _ = stop.send(());
//! running.await??;
//! # Ok(()) }
//! ```

use crate::calls::{self, Prepared};
use anyhow::Context;
use deflect_config::{Config, SipTransport};
use metrics_exporter_prometheus::PrometheusHandle;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

pub use crate::calls::UnusableConfig;

/// A gateway ready to run: what can fail on the configuration has been done, nothing is
/// bound yet.
pub struct Gateway {
    config: Config,
    calls: Prepared,
}

/// The gateway's listeners, bound before it runs.
#[derive(Debug)]
pub struct Listeners {
    sip: Vec<deflect_sip::transport::Listener>,
    http: TcpListener,
}

impl Listeners {
    /// Binds `sip.listen` (UDP and TCP listeners asking for port 0 on one address share the
    /// port picked) and `http.listen`.
    pub async fn bind(config: &Config) -> anyhow::Result<Self> {
        let sip = deflect_sip::transport::bind(&config.sip.listen).await?;
        let http = TcpListener::bind(config.http.listen)
            .await
            .with_context(|| format!("cannot bind the HTTP listener {}", config.http.listen))?;
        Ok(Self::new(sip, http))
    }

    /// Listeners bound elsewhere.
    pub fn new(sip: Vec<deflect_sip::transport::Listener>, http: TcpListener) -> Self {
        Self { sip, http }
    }

    /// The HTTP listener's address.
    pub fn http_addr(&self) -> SocketAddr {
        // A bound TCP listener has an address; only a closed socket has none.
        self.http
            .local_addr()
            .expect("a bound TCP listener has a local address")
    }

    /// The SIP listeners' addresses.
    pub fn sip_addrs(&self) -> Vec<(SipTransport, SocketAddr)> {
        self.sip
            .iter()
            .filter_map(|l| Some((l.transport(), l.local_addr().ok()?)))
            .collect()
    }
}

impl Gateway {
    /// Loads prompts, speech models and flows and resolves the media address; a prompt file
    /// that cannot be read or a flow that does not compile is an [`UnusableConfig`].
    pub async fn prepare(config: Config) -> anyhow::Result<Self> {
        // The SIP stack loads these again when it starts; a key that does not go with its
        // certificate, or a CA file rustls refuses, stops deflect before anything is bound.
        deflect_sip::tls::ServerIdentity::load(&config.sip.tls)?;
        deflect_sip::tls::Trust::new(&config.sip)?;
        let calls = calls::prepare(&config).await?;
        Ok(Self { config, calls })
    }

    /// Runs the gateway on `listeners` until `shutdown` completes, then stops gracefully
    /// (see the module docs). `metrics` is what `/metrics` renders.
    pub async fn run(
        self,
        listeners: Listeners,
        metrics: PrometheusHandle,
        shutdown: impl Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let Self { config, calls } = self;
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
        let store = open_store(&config).await?;
        info!(database = %config.database_url(), "database open");
        // Where the files customers send are kept (a directory or an S3 bucket).
        let attachments_path = config.attachments_path();
        let blobs = deflect_chat::BlobStore::open(&config.attachments, &attachments_path)
            .await
            .with_context(|| {
                format!(
                    "cannot open the attachment store (attachments.path {})",
                    attachments_path.display()
                )
            })?;
        // The inbox core: routing runs inside its transactions; its workers (outbox, timers,
        // webhooks, bots, attachment downloads) and event fan-out (in-process on SQLite,
        // LISTEN/NOTIFY on PostgreSQL) run until shutdown.
        let inbox = deflect_chat::Inbox::open_with_attachments(
            store.clone(),
            deflect_chat::InboxSettings::from_config(&config),
            Arc::new(deflect_chat::SystemClock),
            blobs,
        )
        .await
        .context("cannot open the inbox")?;

        // Deflections left in the journal by the previous run go to the inbox before new
        // calls.
        let calls = calls.start(&config, &inbox).await?;
        let sip_addrs = listeners.sip_addrs();
        for listener in &listeners.sip {
            info!(
                listener = "sip",
                transport = %listener.transport(),
                address = %listener.local_addr()?,
                "listening"
            );
        }
        let (sip, incoming) = deflect_sip::runtime::Sip::start(&config.sip, listeners.sip)
            .context("cannot start the SIP stack")?;
        let serving = tokio::spawn(calls.clone().serve(sip.clone(), incoming));
        crate::whatsapp_calls::start(&config, &inbox, &calls, &sip);
        crate::registration::start(&sip, &config.sip);
        crate::registration::probe(&sip, &config.sip);
        reload_tls_on_sighup(&sip)?;
        info!(
            listener = "rtp",
            address = %config.media.rtp_address,
            ports = %config.media.rtp_ports,
            "RTP ports for calls"
        );

        let http = listeners.http;
        let http_addr = http.local_addr()?;
        info!(listener = "http", address = %http_addr, "listening");
        let public_base_url = match &config.http.public_base_url {
            Some(u) => u.clone(),
            None => format!("http://{http_addr}")
                .parse()
                .context("the HTTP listener's address makes no URL")?,
        };
        let readiness = deflect_web::Readiness::default();
        let (stop_tx, stop_rx) = watch::channel(false);
        let heartbeat = crate::node::Heartbeat::start(
            &inbox,
            http_addr,
            &sip_addrs,
            sip.active_calls(),
            stop_rx.clone(),
        )
        .await
        .context("cannot register this node in the database")?;
        let workers = {
            let inbox = inbox.clone();
            let stop = stopped(stop_rx.clone());
            tokio::spawn(async move { inbox.run(stop).await })
        };
        let state = deflect_web::AppState {
            readiness: readiness.clone(),
            ..deflect_web::AppState::new(inbox.clone(), public_base_url, metrics, &config)
        };
        calls.set_agent_phones(Arc::new(crate::agent_phones::InboxPhones::new(
            state.phones.clone(),
            &config,
        )));
        if config.whatsapp.accounts.iter().any(|a| a.calling) {
            let placer =
                crate::whatsapp_calls::WhatsAppPlacer::new(inbox.clone(), calls.clone(), &config);
            state.phones.set_placer(Arc::new(placer));
        }
        if config.widget.sites.iter().any(|s| s.call_number.is_some()) {
            let ivr = crate::browser_calls::IvrCalls::new(calls.clone(), sip.clone());
            let _ = state.web.calls.set(Arc::new(ivr));
        }
        let app = deflect_web::router(state);
        let mut http_server = tokio::spawn(deflect_web::connections::serve(
            http,
            app,
            deflect_web::connections::ConnectionLimits::from_config(&config.http),
            stopped(stop_rx),
        ));
        readiness.set_listeners_bound();
        info!("deflect is ready");

        tokio::select! {
            () = shutdown => {}
            result = &mut http_server => {
                result.context("the HTTP server task failed")?.context("the HTTP server failed")?;
                anyhow::bail!("the HTTP server stopped unexpectedly");
            }
        }

        let grace = config.shutdown.grace_period;
        readiness.set_stopping();
        info!(
            grace_period = %format!("{}s", grace.as_secs()),
            "stopping: no new calls or requests; those in progress may finish"
        );
        // Best effort: every receiver may already be gone when the server stopped on its own.
        let _ = stop_tx.send(true);
        let http_stopped = async {
            match tokio::time::timeout(grace, &mut http_server).await {
                Ok(Ok(Ok(()))) => {}
                Ok(Ok(Err(e))) => warn!(cause = %e, "the HTTP server failed while stopping"),
                Ok(Err(e)) => warn!(cause = %e, "the HTTP server task failed while stopping"),
                Err(_) => {
                    warn!("requests still open after the grace period are cut off");
                    http_server.abort();
                }
            }
        };
        let calls_stopped = async {
            drain_calls(&sip, grace).await;
            // WebRTC calls (WhatsApp, widget) had the same grace period.
            calls.end_webrtc_calls();
            crate::registration::end(&sip, &config.sip, Duration::from_secs(5)).await;
            // Calls that ended hand their deflections off; what does not finish stays in the
            // journal for the next start.
            calls.drained(Duration::from_secs(5)).await;
        };
        tokio::join!(http_stopped, calls_stopped);
        serving.abort();
        // Sends in progress finish; what is left stays committed for the next start.
        if tokio::time::timeout(grace, workers).await.is_err() {
            warn!("inbox workers still busy after the grace period are cut off");
        }
        heartbeat.leave().await;
        inbox.shutdown();
        store.close().await;
        info!("stopped");
        Ok(())
    }
}

/// `deflect migrate`: brings the database schema up to date; returns the migrations applied.
pub async fn migrate(config: &Config) -> anyhow::Result<Vec<i64>> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let store = open_store(config).await?;
    let applied = store.applied_migrations().await?;
    store.close().await;
    Ok(applied)
}

async fn open_store(config: &Config) -> anyhow::Result<deflect_chat::Store> {
    let database_url = config.database_url();
    let store = deflect_chat::Store::connect(&database_url, config.database.max_connections)
        .await
        .with_context(|| format!("cannot open the database {database_url}"))?;
    store
        .migrate()
        .await
        .with_context(|| format!("cannot migrate the database {database_url}"))?;
    Ok(store)
}

/// Shutdown of the SIP side: new INVITEs get 503 with Retry-After, calls in progress get
/// `grace` to end, then those left are hung up with BYE (Reason) and their BYE transactions
/// get a few seconds to complete.
async fn drain_calls(sip: &deflect_sip::runtime::Sip, grace: Duration) {
    let retry_after = u32::try_from(grace.as_secs()).unwrap_or(u32::MAX).max(1);
    sip.stop_accepting(retry_after);
    let mut active = sip.active_calls();
    let calls = *active.borrow();
    if calls > 0 {
        info!(calls, "waiting for calls in progress");
    }
    if tokio::time::timeout(grace, active.wait_for(|n| *n == 0))
        .await
        .is_err()
    {
        let left = *active.borrow();
        info!(calls = left, "grace period over; hanging up the calls left");
        sip.hang_up_all(deflect_sip::endpoint::Reason::sip(
            503,
            "Service shutting down",
        ));
        if tokio::time::timeout(Duration::from_secs(5), active.wait_for(|n| *n == 0))
            .await
            .is_err()
        {
            warn!(calls = *active.borrow(), "calls still ending at exit");
        }
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = rx.wait_for(|stop| *stop).await;
}

/// SIGHUP re-reads `[sip.tls]`'s certificate and key.
fn reload_tls_on_sighup(sip: &deflect_sip::runtime::Sip) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    let sip = sip.clone();
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match sip.reload_tls() {
                Ok(true) => info!("SIGHUP: TLS certificate reloaded"),
                Ok(false) => {}
                Err(e) => {
                    warn!(cause = %e, "SIGHUP: TLS certificate not reloaded; the old one stays")
                }
            }
        }
    });
    Ok(())
}
