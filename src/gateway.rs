//! Wiring: builds each part from the configuration, connects them, and owns start-up and
//! shutdown.

use anyhow::Context;
use deflect_config::Config;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{error, info, warn};

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            error!(cause = %e, "cannot start the async runtime");
            None
        }
    }
}

/// `deflect migrate`: brings the database schema up to date and exits.
pub(crate) fn migrate(config: Config) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    let result: anyhow::Result<Vec<i64>> = runtime.block_on(async {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!("cannot create data directory {}", config.data_dir.display())
        })?;
        let store = open_store(&config).await?;
        let applied = store.applied_migrations().await?;
        store.close().await;
        Ok(applied)
    });
    match result {
        Ok(applied) => {
            info!(database = %config.database_url(), migrations = ?applied, "database schema up to date");
            ExitCode::SUCCESS
        }
        Err(e) => {
            error!(cause = format!("{e:#}"), "migration failed");
            ExitCode::FAILURE
        }
    }
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

/// Runs the gateway on a new runtime until a shutdown signal; the exit code says how it ended.
pub(crate) fn start(config: Config) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<crate::calls::UnusableConfig>().is_some() => {
            error!(cause = format!("{e:#}"), "the configuration cannot be used");
            ExitCode::from(deflect_config::ConfigError::EXIT_CODE as u8)
        }
        Err(e) => {
            error!(cause = format!("{e:#}"), "deflect stopped on an error");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    info!(version = env!("CARGO_PKG_VERSION"), "deflect starting");
    // Installed before anything else, so a signal during start-up stops cleanly too.
    let shutdown = ShutdownSignals::install()?;
    let metrics = install_metrics()?;
    // Prompts, speech models and flows: what can fail on the configuration fails here,
    // before anything is created or bound.
    let calls = crate::calls::prepare(&config).await?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;

    let store = open_store(&config).await?;
    info!(database = %config.database_url(), "database open");
    // The inbox core: routing runs inside its transactions; its workers (outbox, timers) and
    // event fan-out (in-process on SQLite, LISTEN/NOTIFY on PostgreSQL) run until shutdown.
    let inbox = deflect_chat::Inbox::open(
        store.clone(),
        deflect_chat::InboxSettings::from_config(&config),
        Arc::new(deflect_chat::SystemClock),
    )
    .await
    .context("cannot open the inbox")?;

    // Deflections left in the journal by the previous run go to the inbox before new calls.
    let calls = calls.start(&config, &inbox).await?;
    let listeners = deflect_sip::transport::bind(&config.sip.listen).await?;
    for listener in &listeners {
        info!(
            listener = "sip",
            transport = %listener.transport(),
            address = %listener.local_addr()?,
            "listening"
        );
    }
    let (sip, incoming) = deflect_sip::runtime::Sip::start(&config.sip, listeners)
        .context("cannot start the SIP stack")?;
    let serving = tokio::spawn(calls.clone().serve(incoming));
    crate::registration::start(&sip, &config.sip);
    info!(
        listener = "rtp",
        address = %config.media.rtp_address,
        ports = %config.media.rtp_ports,
        "RTP ports for calls"
    );

    let http = TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("cannot bind the HTTP listener {}", config.http.listen))?;
    info!(listener = "http", address = %http.local_addr()?, "listening");

    let http_addr = http.local_addr()?;
    let public_base_url = match &config.http.public_base_url {
        Some(u) => u.clone(),
        None => format!("http://{http_addr}")
            .parse()
            .context("the HTTP listener's address makes no URL")?,
    };
    let readiness = deflect_web::Readiness::default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let workers = {
        let inbox = inbox.clone();
        let stop = stopped(stop_rx.clone());
        tokio::spawn(async move { inbox.run(stop).await })
    };
    let app = deflect_web::router(deflect_web::AppState {
        readiness: readiness.clone(),
        ..deflect_web::AppState::new(inbox.clone(), public_base_url, metrics, &config)
    });
    let mut http_server = tokio::spawn(deflect_web::connections::serve(
        http,
        app,
        deflect_web::connections::ConnectionLimits::from_config(&config.http),
        stopped(stop_rx),
    ));
    readiness.set_listeners_bound();
    info!("deflect is ready");

    tokio::select! {
        signal = shutdown.recv() => info!(signal, "shutdown requested"),
        result = &mut http_server => {
            result.context("the HTTP server task failed")?.context("the HTTP server failed")?;
            anyhow::bail!("the HTTP server stopped unexpectedly");
        }
    }

    let grace = config.shutdown.grace_period;
    readiness.set_stopping();
    info!(
        grace_period = %humantime_secs(grace),
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
    inbox.shutdown();
    store.close().await;
    info!("stopped");
    Ok(())
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

/// Installs the process-wide metrics recorder every part records into, and keeps its
/// histograms drained.
fn install_metrics() -> anyhow::Result<metrics_exporter_prometheus::PrometheusHandle> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    metrics::gauge!("deflect_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means stop.
    let _ = rx.wait_for(|stop| *stop).await;
}

/// SIGINT and SIGTERM handlers.
struct ShutdownSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        })
    }

    /// Waits for either signal and says which.
    async fn recv(mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

fn humantime_secs(d: Duration) -> String {
    format!("{}s", d.as_secs())
}
