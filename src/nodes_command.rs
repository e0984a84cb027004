//! `deflect nodes`: the processes working on the configured database — their state, calls
//! in progress, how long since their last heartbeat (`SILENT`) — one line each, the most
//! recently started first; columns separated by spaces, none containing one. It reads the
//! database as it is and never migrates it (a newer binary's `deflect nodes` during a rolling
//! upgrade must not move the schema ahead of `deflect migrate`).

use crate::ConfigFile;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

/// Prints the nodes of `config`'s database.
pub(crate) fn run(config: &ConfigFile) -> ExitCode {
    let config = match config.load() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let schema = crate::agents::Schema::AsItIs;
    crate::agents::with_inbox_on(config, schema, |inbox| async move {
        let nodes = inbox.nodes().await.map_err(|e| e.to_string())?;
        Ok(table(&nodes, inbox.now()))
    })
}

/// The nodes as a table, their last heartbeat shown as an age at `now`.
fn table(nodes: &[deflect_chat::Node], now: deflect_chat::Millis) -> String {
    if nodes.is_empty() {
        return "no node has worked on this database yet".into();
    }
    let mut rows = vec![
        [
            "ID", "NAME", "STATE", "CALLS", "SILENT", "STARTED", "VERSION", "HTTP", "SIP",
        ]
        .map(String::from),
    ];
    for n in nodes {
        let age = Duration::from_millis(u64::try_from(now - n.seen_at).unwrap_or(0));
        let started = UNIX_EPOCH + Duration::from_millis(u64::try_from(n.started_at).unwrap_or(0));
        rows.push([
            n.id.to_string(),
            n.name.clone(),
            n.state.clone(),
            n.calls.to_string(),
            format!("{}s", age.as_secs()),
            humantime::format_rfc3339_seconds(started).to_string(),
            n.version.clone(),
            n.http.clone(),
            if n.sip.is_empty() {
                "-".into()
            } else {
                n.sip.clone()
            },
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let lines: Vec<String> = rows
        .iter()
        .map(|r| {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect();
    lines.join("\n")
}
