//! `deflect agent add`: creates an agent — the first admin, to begin with — in the database
//! the configuration names. `deflect agent set-role`: changes an agent's role there (the
//! last admin cannot be demoted). The password comes from a file (`--password-file`), a prompt
//! (when standard input is a terminal; typed twice, not echoed) or standard input's first
//! line — never from an argument, where other users of the machine could read it.

use crate::ConfigFile;
use clap::{Args, Subcommand};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Subcommand)]
pub(crate) enum AgentCommand {
    /// Create an agent (exit 0), or say why not (exit 1; 64 for a bad configuration).
    Add(AddAgent),
    /// Change an agent's role (exit 0), or say why not (exit 1; 64 for a bad configuration).
    SetRole(SetRole),
}

#[derive(Debug, Args)]
pub(crate) struct SetRole {
    #[command(flatten)]
    config: ConfigFile,
    /// Login name.
    #[arg(long)]
    username: String,
    /// `agent`, `supervisor` or `admin`.
    #[arg(long, value_parser = ["agent", "supervisor", "admin"])]
    role: String,
}

#[derive(Debug, Args)]
pub(crate) struct AddAgent {
    #[command(flatten)]
    config: ConfigFile,
    /// Login name.
    #[arg(long)]
    username: String,
    /// Name shown to colleagues (default: the username).
    #[arg(long, default_value = "")]
    display_name: String,
    /// `agent`, `supervisor` or `admin`.
    #[arg(long, default_value = "agent", value_parser = ["agent", "supervisor", "admin"])]
    role: String,
    /// A queue the agent works (repeat for several).
    #[arg(long = "queue", value_name = "QUEUE")]
    queues: Vec<String>,
    /// A WhatsApp account whose conversations a plain agent works (repeat; none: no
    /// account's conversations — supervisors and admins see every account).
    #[arg(long = "account", value_name = "ACCOUNT")]
    accounts: Vec<String>,
    /// Read the password from this file's first line instead of a prompt or standard input.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
}

fn password(a: &AddAgent) -> Result<String, String> {
    if let Some(f) = &a.password_file {
        let text =
            std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        return Ok(text.lines().next().unwrap_or("").to_string());
    }
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password(format!("Password for {}: ", a.username))
            .map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if p != again {
            return Err("the two passwords differ".into());
        }
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub(crate) fn run(command: AgentCommand) -> ExitCode {
    match command {
        AgentCommand::Add(a) => add(a),
        AgentCommand::SetRole(r) => set_role(r),
    }
}

/// Runs `f` on the inbox of `config`: exit 0 printing its message, or 1 with its error.
pub(crate) fn with_inbox<F, Fut>(config: deflect_config::Config, f: F) -> ExitCode
where
    F: FnOnce(deflect_chat::Inbox) -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    with_inbox_on(config, Schema::Migrate, f)
}

/// What a command does with the database's schema.
pub(crate) enum Schema {
    /// Brings it up to date first (a command that writes, e.g. the first admin).
    Migrate,
    /// Reads it as it is, never migrating (a command that only reads, which may be run with a
    /// newer binary during a rolling upgrade); a database without one is an error.
    AsItIs,
}

/// [`with_inbox`], treating the schema as `schema` says.
pub(crate) fn with_inbox_on<F, Fut>(
    config: deflect_config::Config,
    schema: Schema,
    f: F,
) -> ExitCode
where
    F: FnOnce(deflect_chat::Inbox) -> Fut,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        eprintln!("deflect: cannot start the async runtime");
        return ExitCode::FAILURE;
    };
    let result = runtime.block_on(async {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
        let url = config.database_url();
        let store = deflect_chat::Store::connect(&url, 2)
            .await
            .map_err(|e| format!("cannot open the database {url}: {e}"))?;
        match schema {
            Schema::Migrate => store.migrate().await.map_err(|e| e.to_string())?,
            Schema::AsItIs => {
                let applied = store.applied_migrations().await.unwrap_or_default();
                if applied.is_empty() {
                    return Err(format!(
                        "the database {url} has no schema yet: no deflect has run on it \
                         (`deflect migrate` makes it)"
                    ));
                }
            }
        }
        let inbox = deflect_chat::Inbox::open_for_command(
            store.clone(),
            deflect_chat::InboxSettings::from_config(&config),
            Arc::new(deflect_chat::SystemClock),
        )
        .await
        .map_err(|e| e.to_string())?;
        let done = f(inbox).await;
        store.close().await;
        done
    });
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("deflect: {e}");
            ExitCode::FAILURE
        }
    }
}

fn role(name: &str) -> deflect_chat::Role {
    deflect_chat::Role::parse(name).unwrap_or(deflect_chat::Role::Agent)
}

fn add(a: AddAgent) -> ExitCode {
    let config = match a.config.load() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let password = match password(&a) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("deflect: no password: {e}");
            return ExitCode::FAILURE;
        }
    };
    with_inbox(config, |inbox| async move {
        let agent = inbox
            .create_agent(deflect_chat::NewAgent {
                username: a.username.clone(),
                display_name: a.display_name.clone(),
                password,
                role: role(&a.role),
                queues: a.queues.clone(),
                accounts: a.accounts.clone(),
            })
            .await
            .map_err(|e| e.to_string())?;
        let mut out = format!(
            "created {} {:?} (id {})",
            agent.role.as_str(),
            agent.username,
            agent.id
        );
        if agent.role == deflect_chat::Role::Agent && agent.accounts.is_empty() {
            out.push_str(
                "\nnote: they work no WhatsApp account, so they see no account's conversations; \
                 add --account NAME, or give them accounts in Settings → Agents",
            );
        }
        Ok(out)
    })
}

fn set_role(r: SetRole) -> ExitCode {
    let config = match r.config.load() {
        Ok(c) => c,
        Err(code) => return code,
    };
    with_inbox(config, |inbox| async move {
        let username = r.username.trim();
        let agent = inbox
            .agents()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|a| a.username == username)
            .ok_or_else(|| format!("no agent is called {username:?}"))?;
        let previous = agent.role;
        let changed = inbox
            .set_role(None, agent.id, role(&r.role))
            .await
            .map_err(|e| e.to_string())?;
        Ok(if changed.role == previous {
            format!(
                "{:?} is {} already",
                changed.username,
                changed.role.as_str()
            )
        } else {
            format!(
                "{:?} is now {} (was {})",
                changed.username,
                changed.role.as_str(),
                previous.as_str()
            )
        })
    })
}
