//! Exports: the conversation list as CSV and one conversation's transcript.

use super::QueryOf;
use super::conversations::ListQuery;
use crate::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use deflect_chat::provider::Outgoing;
use std::time::Duration;

pub(super) fn time(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

/// One CSV cell, quoted; cells a spreadsheet would run as a formula get a leading `'`.
pub(super) fn cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    format!("\"{}\"", v.replace('"', "\"\""))
}

/// The filtered list as CSV, every page (at most 100,000 rows). Written by hand: quoting
/// every cell is all RFC 4180 needs, and the formula guard is ours either way.
pub(super) async fn export_csv(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<ListQuery>,
) -> ApiResult<Response> {
    let Query(q) = q?;
    let mut f = q.filter()?;
    f.limit = Some(1000);
    let mut out = String::from(
        "id,reference,created_at,status,channel,origin,queue,agent_id,customer_name,customer_phone,account,disposition,closed_at,csat_score,csat_comment\r\n",
    );
    let mut rows = 0;
    loop {
        let page = s.inbox.list_conversations(&p.viewer, &f).await?;
        for c in &page {
            let fields = [
                c.id.to_string(),
                c.reference.clone(),
                time(c.created_at),
                c.status.as_str().into(),
                c.channel.as_str().into(),
                c.origin.as_str().into(),
                c.queue.clone(),
                c.agent_id.map(|a| a.to_string()).unwrap_or_default(),
                c.contact_name.clone().unwrap_or_default(),
                c.contact_phone.clone().unwrap_or_default(),
                c.account.clone().unwrap_or_default(),
                c.disposition.clone().unwrap_or_default(),
                c.closed_at.map(time).unwrap_or_default(),
                c.csat_score.map(|s| s.to_string()).unwrap_or_default(),
                c.csat_comment.clone().unwrap_or_default(),
            ];
            csv_line(&mut out, &fields);
        }
        rows += page.len();
        match page.last() {
            Some(last) if page.len() == 1000 && rows < 100_000 => f.before_id = Some(last.id),
            _ => break,
        }
    }
    Ok(csv_file("conversations.csv", out))
}

/// Appends `cells` to `out` as one CSV line.
pub(super) fn csv_line(out: &mut String, cells: &[String]) {
    out.push_str(&cells.iter().map(|c| cell(c)).collect::<Vec<_>>().join(","));
    out.push_str("\r\n");
}

/// `body` as the CSV file `name` to download.
pub(super) fn csv_file(name: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

pub(super) async fn transcript(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let d = s.inbox.conversation(&p.viewer, id).await?;
    let c = &d.conversation;
    let names: std::collections::HashMap<i64, String> = s
        .inbox
        .agents()
        .await?
        .into_iter()
        .map(|a| (a.id, a.display_name))
        .collect();
    let mut out = format!(
        "Conversation {} ({}, {}), begun {}\r\nCustomer: {} {}\r\n",
        c.reference,
        c.origin.as_str(),
        c.channel.as_str(),
        time(c.created_at),
        c.contact_name.as_deref().unwrap_or("(no name)"),
        c.contact_phone.as_deref().unwrap_or(""),
    );
    if let Some(call) = &d.call {
        out.push_str(&format!(
            "Call: from {} to {}, {} s, {} input{}\r\n",
            call.caller.as_deref().unwrap_or("unknown"),
            call.dialled_number.as_deref().unwrap_or("unknown"),
            (call.ended_at - call.started_at) / 1000,
            call.input_method.as_str(),
            call.transcript
                .as_deref()
                .map(|t| format!(", said: {t}"))
                .unwrap_or_default(),
        ));
        if !call.path.is_empty() {
            let steps: Vec<String> = call.path.iter().map(|s| s.label()).collect();
            out.push_str(&format!("IVR path: {}\r\n", steps.join(" \u{2192} ")));
        }
    }
    out.push_str("\r\n");
    let mut after = None;
    loop {
        let page = s.inbox.messages(&p.viewer, id, after, 1000).await?;
        for m in &page {
            let who = match (m.direction, m.agent_id) {
                (deflect_chat::Direction::In, _) => "Customer".to_string(),
                (_, Some(a)) => names
                    .get(&a)
                    .cloned()
                    .unwrap_or_else(|| format!("agent {a}")),
                _ => "System".to_string(),
            };
            let note = if m.internal { " (internal note)" } else { "" };
            let body = m.body.as_deref().unwrap_or("");
            // An interactive message with what it offered, as a text-only channel reads it.
            let text = (m.interactive.as_ref())
                .and_then(|i| Outgoing::interactive(i.body().unwrap_or(body), i))
                .map_or_else(|| body.to_string(), |o| o.as_text());
            out.push_str(&format!("[{}] {who}{note}: {text}\r\n", time(m.created_at),));
        }
        match page.last() {
            Some(last) if page.len() == 1000 => after = Some(last.id),
            _ => break,
        }
    }
    if let Some(d) = &c.disposition {
        out.push_str(&format!(
            "\r\nClosed {} ({d})\r\n",
            c.closed_at.map(time).unwrap_or_default()
        ));
    }
    let disposition = format!("attachment; filename=\"conversation-{}.txt\"", c.reference);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response())
}
