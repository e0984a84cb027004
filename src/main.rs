//! The `deflect` command: parses the command line, sets up logging, and hands over to the
//! library's wiring (`deflect::gateway`, through [`run`]). No business logic lives here.

#![forbid(unsafe_code)]

mod agents;
mod dial;
mod logging;
mod nodes_command;
mod run;

use clap::{Parser, Subcommand};
use deflect_config::ConfigError;
use std::path::PathBuf;
use std::process::ExitCode;

/// jemalloc (tikv-jemallocator, with background threads that purge freed pages after ~10 s)
/// instead of glibc's malloc: after 10,000 connections closed, glibc kept the memory they
/// had used — 114 MiB more resident after HTTP connections, 149 MiB after SIP TCP ones,
/// creeping up round after round — although only ~6 MiB was still allocated (its
/// `malloc_stats`; `malloc_trim(0)` gave the rest back), and neither `MALLOC_ARENA_MAX` nor
/// `MALLOC_TRIM_THRESHOLD_` changed that. With jemalloc the process is back within a few MiB
/// of where it started (35 → 39–42 MiB) 15 s after the connections closed, holds them in
/// ~25 % less memory, and serves requests as fast (BENCHMARKS.md, "Connections"). mimalloc
/// was measured too and kept more. `_RJEM_MALLOC_CONF` tunes it at run time.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// deflect — telephony-to-chat deflection gateway.
///
/// Callers reach it over SIP trunks and leave a callback number by DTMF or speech; a WhatsApp
/// message goes to that number and the conversation continues in chat. Web visitors chat
/// through an embeddable widget that hands over to WhatsApp by QR code. Agents work every
/// conversation in one shared inbox.
#[derive(Debug, Parser)]
#[command(name = "deflect", version, max_term_width = 100)]
#[command(after_help = "Examples:
  deflect run                          run on embedded defaults (SQLite in ./data, sandbox WhatsApp,
                                       SIP on 127.0.0.1:5060, HTTP on 127.0.0.1:8080)
  deflect run --config deflect.toml    run with a configuration file
  deflect config example > deflect.toml
  deflect check-config deflect.toml    validate a file and print the effective configuration
  deflect migrate --config deflect.toml
                                       create or update the database schema
  deflect agent add --username admin --role admin
                                       create the first admin (asks for the password)
  deflect agent set-role --username sam --role supervisor
                                       change an agent's role (the last admin stays admin)
  deflect nodes --config deflect.toml  list the processes sharing the database, their state and load
  deflect call sip:31201234567@127.0.0.1:5060 --dtmf 0612345678#1
                                       test call: enter a number, confirm it, expect the BYE

Every configuration key can be set from the environment: DEFLECT_HTTP__LISTEN=0.0.0.0:8080.")]
struct Cli {
    /// Log line format.
    #[arg(long, global = true, value_enum, default_value_t = logging::Format::Text, env = "DEFLECT_LOG_FORMAT", hide_env_values = true)]
    log_format: logging::Format,

    /// Which log lines to show, e.g. `info`, `debug`, `info,deflect_sip=trace` [default: RUST_LOG, else info].
    #[arg(
        long = "log",
        global = true,
        value_name = "FILTER",
        env = "DEFLECT_LOG",
        hide_env_values = true
    )]
    log_filter: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway until SIGINT or SIGTERM.
    Run {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Validate a configuration file (with DEFLECT_* overrides) and print the effective
    /// configuration, secrets redacted. Exits 64 listing every problem when it is not valid.
    CheckConfig {
        /// Configuration file (TOML).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Create or update the database schema, then exit. `deflect run` does this at start-up
    /// too; run it alone before rolling out a new version to several processes.
    Migrate {
        #[command(flatten)]
        config: ConfigFile,
    },
    /// Place a test call: dial a SIP URI, send DTMF digits (RFC 4733) and/or play a WAV
    /// file as the microphone, print what happens, and hang up or wait for the far end's
    /// BYE. Exit status 0 when the call went as planned.
    Call(dial::CallArgs),
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage agents (the first admin, to begin with).
    Agent {
        #[command(subcommand)]
        command: agents::AgentCommand,
    },
    /// List the processes working on the configured database (one, or several sharing
    /// PostgreSQL): state, calls in progress, last heartbeat, addresses.
    Nodes {
        #[command(flatten)]
        config: ConfigFile,
    },
}

/// `--config FILE`, shared by the commands that read the configuration.
#[derive(Debug, clap::Args)]
struct ConfigFile {
    /// Configuration file (TOML). Without one, the embedded defaults are used.
    #[arg(
        long = "config",
        short = 'c',
        value_name = "FILE",
        env = "DEFLECT_CONFIG",
        hide_env_values = true
    )]
    path: Option<PathBuf>,
}

impl ConfigFile {
    /// The configuration (file, then `DEFLECT_*` environment, then defaults), or exit 64
    /// with every problem printed.
    fn load(&self) -> Result<deflect_config::Config, ExitCode> {
        load_config(self.path.as_deref())
    }
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print a complete, commented example configuration.
    Example,
}

fn main() -> ExitCode {
    // Test builds only: fault injection points configured by FAILPOINTS.
    #[cfg(feature = "failpoints")]
    let _faults = fail::FailScenario::setup();
    let cli = Cli::parse();
    let log = |default: Option<&str>| {
        logging::init(cli.log_format, cli.log_filter.as_deref().or(default)).map_err(|e| {
            eprintln!("deflect: {e}");
            ExitCode::from(ConfigError::EXIT_CODE as u8)
        })
    };
    // The configuration is complete and valid before logging starts and anything is bound.
    let configured = |file: ConfigFile| {
        let config = file.load()?;
        log(None)?;
        Ok::<_, ExitCode>(config)
    };
    let done = match cli.command {
        Command::Call(args) => log(Some("warn")).map(|()| dial::run(args)),
        Command::Config {
            command: ConfigCommand::Example,
        } => {
            print!("{}", deflect_config::EXAMPLE);
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig { file } => load_config(Some(&file)).map(|config| {
            print!("{}", config.to_redacted_toml());
            ExitCode::SUCCESS
        }),
        Command::Migrate { config } => configured(config).map(run::migrate),
        Command::Agent { command } => log(None).map(|()| agents::run(command)),
        Command::Nodes { config } => log(Some("warn")).map(|()| nodes_command::run(&config)),
        Command::Run { config } => configured(config).map(run::start),
    };
    done.unwrap_or_else(|code| code)
}

/// The configuration in `file` (with the environment), or exit 64 with every problem printed.
fn load_config(file: Option<&std::path::Path>) -> Result<deflect_config::Config, ExitCode> {
    deflect_config::load_from_process(file).map_err(|e| {
        eprint!("deflect: {e}");
        ExitCode::from(ConfigError::EXIT_CODE as u8)
    })
}
