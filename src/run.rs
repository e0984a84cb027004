//! `deflect run` and `deflect migrate`: a tokio runtime, the process's signals and metrics
//! recorder, the configured ports bound — then the library's [`deflect::gateway`]. The exit
//! code says how it ended.

use anyhow::Context;
use deflect::gateway::{Gateway, Listeners, UnusableConfig};
use deflect_config::Config;
use std::process::ExitCode;
use std::time::Duration;
use tracing::{error, info};

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
    match runtime.block_on(deflect::gateway::migrate(&config)) {
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

/// `deflect run`: the gateway on the configured ports until SIGINT or SIGTERM.
pub(crate) fn start(config: Config) -> ExitCode {
    let Some(runtime) = runtime() else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<UnusableConfig>().is_some() => {
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
    let signals = ShutdownSignals::install()?;
    let metrics = install_metrics()?;
    // What can fail on the configuration fails here, before anything is created or bound.
    let gateway = Gateway::prepare(config.clone()).await?;
    let listeners = Listeners::bind(&config).await?;
    let shutdown = async {
        let signal = signals.recv().await;
        info!(signal, "shutdown requested");
    };
    gateway.run(listeners, metrics, shutdown).await
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
