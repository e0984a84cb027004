//! Calls' records (supervisors and admins): `GET /api/v1/calls`, newest first and filtered,
//! and the same list as CSV, `GET /api/v1/exports/calls.csv`.

use super::QueryOf;
use super::export::{csv_file, csv_line, time};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use deflect_chat::{CallFilter, CallOutcome, RecordedCall};
use serde::Deserialize;
use serde_json::{Value, json};

/// Filters of `GET /api/v1/calls` and its CSV export.
#[derive(Debug, Default, Deserialize)]
pub(super) struct CallsQuery {
    /// Arrived at or after (ms since the epoch).
    from: Option<i64>,
    /// Arrived before (ms).
    to: Option<i64>,
    outcome: Option<String>,
    trunk: Option<String>,
    flow: Option<String>,
    caller: Option<String>,
    before_id: Option<i64>,
    limit: Option<u32>,
}

impl CallsQuery {
    fn filter(&self) -> ApiResult<CallFilter> {
        let outcome = match self.outcome.as_deref() {
            None | Some("") => None,
            Some(o) => Some(CallOutcome::parse(o).ok_or_else(|| {
                let valid: Vec<&str> = CallOutcome::ALL.iter().map(|o| o.as_str()).collect();
                ApiError::bad_request(format!(
                    "unknown outcome {o:?}; valid: {}",
                    valid.join(", ")
                ))
            })?),
        };
        let text = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        Ok(CallFilter {
            from: self.from,
            to: self.to,
            outcome,
            trunk: text(&self.trunk),
            flow: text(&self.flow),
            caller: text(&self.caller),
            before_id: self.before_id,
            limit: self.limit,
        })
    }
}

pub(super) async fn list(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<CallsQuery>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q?;
    let f = q.filter()?;
    let limit = f.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let calls = s.inbox.list_calls(&p.viewer, &f).await?;
    let next = match calls.len() == limit {
        true => calls.last().map(|c| c.id),
        false => None,
    };
    Ok(Json(json!({ "calls": calls, "next_before_id": next })))
}

/// The filtered records as CSV, every page (at most 100,000 rows).
pub(super) async fn export_csv(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<CallsQuery>,
) -> ApiResult<Response> {
    let Query(q) = q?;
    let mut f = q.filter()?;
    f.limit = Some(1000);
    let mut out = String::from(
        "id,call_id,started_at,answered_at,ended_at,trunk,caller,dialled_number,flow,language,outcome,reason,input_method,transcript,callback_number,transfer_target,conversation_id,path\r\n",
    );
    let mut rows = 0;
    loop {
        let page = s.inbox.list_calls(&p.viewer, &f).await?;
        for c in &page {
            csv_line(&mut out, &row(c));
        }
        rows += page.len();
        match page.last() {
            Some(last) if page.len() == 1000 && rows < 100_000 => f.before_id = Some(last.id),
            _ => break,
        }
    }
    Ok(csv_file("calls.csv", out))
}

/// One record's CSV cells; its path as `step (exit) > step`.
fn row(c: &RecordedCall) -> [String; 18] {
    let r = &c.record;
    let path: Vec<String> = (r.path.iter())
        .map(|s| match &s.exit {
            Some(exit) => format!("{} ({exit})", s.step),
            None => s.step.clone(),
        })
        .collect();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    [
        c.id.to_string(),
        r.call_id.clone(),
        time(r.started_at),
        r.answered_at.map(time).unwrap_or_default(),
        time(r.ended_at),
        r.trunk.clone(),
        text(&r.caller),
        text(&r.dialled_number),
        text(&r.flow),
        text(&r.language),
        r.outcome.as_str().to_string(),
        text(&r.reason),
        r.input_method
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        text(&r.transcript),
        text(&r.callback_number),
        text(&r.transfer_target),
        r.conversation_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        path.join(" > "),
    ]
}
