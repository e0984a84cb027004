//! The supervisors' reports over a period: per queue and per agent, deflections by flow and
//! input method — as JSON, or as CSV at the same path ending in `.csv` (like
//! `/api/v1/exports/conversations.csv`) — and their two charts as SVG ([`super::charts`]).
//! The period is `from` and `to`, RFC 3339 (any offset; the volume chart's slices start at
//! `from`); a missing or unreadable one answers 422 naming it.
//!
//! Times are parsed with jiff (already the configuration's date and time crate): humantime,
//! which the exports format with, reads only UTC (`…Z`) timestamps.

use super::QueryOf;
use super::charts;
use super::export::{csv_file, csv_line};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use deflect_chat::{DeflectionReport, Period, Report, ReportRow};
use serde::Deserialize;
use serde_json::{Value, json};

/// `?from=&to=` (RFC 3339).
#[derive(Deserialize)]
pub(super) struct PeriodQuery {
    from: Option<String>,
    to: Option<String>,
}

/// One RFC 3339 time of parameter `name`, in ms; 422 naming it otherwise.
fn instant(name: &str, v: Option<&str>) -> Result<i64, ApiError> {
    let invalid = |why: &str| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("`{name}` {why}: an RFC 3339 time such as 2026-01-31T00:00:00+01:00"),
        )
    };
    let v = v.map(str::trim).filter(|v| !v.is_empty());
    let v = v.ok_or_else(|| invalid("is required"))?;
    let t: jiff::Timestamp = v.parse().map_err(|_| invalid("is not readable"))?;
    Ok(t.as_millisecond())
}

impl PeriodQuery {
    /// The period asked for.
    fn period(&self) -> Result<Period, ApiError> {
        Ok(Period {
            from: instant("from", self.from.as_deref())?,
            to: instant("to", self.to.as_deref())?,
        })
    }
}

/// The UTC offset an RFC 3339 time is written in, seconds (`Z`, or `±HH:MM` at its end).
fn offset_seconds(v: &str) -> i64 {
    let v = v.trim();
    let b = v.as_bytes();
    if b.len() < 6 || b[b.len() - 3] != b':' {
        return 0;
    }
    let sign = match b[b.len() - 6] {
        b'+' => 1,
        b'-' => -1,
        _ => return 0,
    };
    let (h, m) = (&v[v.len() - 5..v.len() - 3], &v[v.len() - 2..]);
    match (h.parse::<i64>(), m.parse::<i64>()) {
        (Ok(h), Ok(m)) => sign * (h * 3600 + m * 60),
        _ => 0,
    }
}

/// `ms` as RFC 3339 in UTC.
fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn report_json(p: Period, r: &Report) -> Json<Value> {
    Json(json!({
        "from": rfc3339(p.from),
        "to": rfc3339(p.to),
        "rows": r.rows,
        "total": r.total,
    }))
}

async fn queue_report(
    s: &AppState,
    p: &Principal,
    q: QueryOf<PeriodQuery>,
) -> ApiResult<(Period, Report)> {
    let Query(q) = q?;
    let period = q.period()?;
    Ok((period, s.inbox.queue_report(&p.viewer, period).await?))
}

async fn agent_report(
    s: &AppState,
    p: &Principal,
    q: QueryOf<PeriodQuery>,
) -> ApiResult<(Period, Report)> {
    let Query(q) = q?;
    let period = q.period()?;
    Ok((period, s.inbox.agent_report(&p.viewer, period).await?))
}

/// `GET /api/v1/reports/queues`.
pub(super) async fn queues(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<PeriodQuery>,
) -> ApiResult<Json<Value>> {
    let (period, r) = queue_report(&s, &p, q).await?;
    Ok(report_json(period, &r))
}

/// `GET /api/v1/reports/agents`.
pub(super) async fn agents(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<PeriodQuery>,
) -> ApiResult<Json<Value>> {
    let (period, r) = agent_report(&s, &p, q).await?;
    Ok(report_json(period, &r))
}

/// `GET /api/v1/reports/deflections`.
pub(super) async fn deflections(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<PeriodQuery>,
) -> ApiResult<Json<Value>> {
    let Query(q) = q?;
    let period = q.period()?;
    let r = s.inbox.deflection_report(&p.viewer, period).await?;
    Ok(Json(json!({
        "from": rfc3339(period.from),
        "to": rfc3339(period.to),
        "rows": r.rows,
        "total": r.total,
    })))
}

/// The columns of a queue or agent report's CSV after its key columns.
const ROW_COLUMNS: &str = "conversations_in,conversations_handled,conversations_closed,abandoned,\
first_response_p50_seconds,first_response_p90_seconds,handle_time_p50_seconds,handle_time_p90_seconds,\
wait_p50_seconds,wait_p90_seconds,csat_average,csat_count";

fn number(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn row_cells(r: &ReportRow) -> Vec<String> {
    vec![
        r.conversations_in.to_string(),
        r.conversations_handled.to_string(),
        r.conversations_closed.to_string(),
        r.abandoned.to_string(),
        number(r.first_response_p50_seconds),
        number(r.first_response_p90_seconds),
        number(r.handle_time_p50_seconds),
        number(r.handle_time_p90_seconds),
        number(r.wait_p50_seconds),
        number(r.wait_p90_seconds),
        number(r.csat_average),
        r.csat_count.to_string(),
    ]
}

/// A queue report as CSV: one line per queue, then `total`.
pub(crate) fn queues_csv_text(r: &Report) -> String {
    let mut out = format!("row,queue,{ROW_COLUMNS}\r\n");
    for row in &r.rows {
        let mut cells = vec!["queue".into(), row.queue.clone().unwrap_or_default()];
        cells.extend(row_cells(row));
        csv_line(&mut out, &cells);
    }
    let mut cells = vec!["total".into(), String::new()];
    cells.extend(row_cells(&r.total));
    csv_line(&mut out, &cells);
    out
}

/// An agent report as CSV: one line per agent, then `total`.
pub(crate) fn agents_csv_text(r: &Report) -> String {
    let mut out = format!("row,agent_id,display_name,{ROW_COLUMNS}\r\n");
    for row in &r.rows {
        let mut cells = vec![
            "agent".into(),
            row.agent_id.map(|a| a.to_string()).unwrap_or_default(),
            row.display_name.clone().unwrap_or_default(),
        ];
        cells.extend(row_cells(row));
        csv_line(&mut out, &cells);
    }
    let mut cells = vec!["total".into(), String::new(), String::new()];
    cells.extend(row_cells(&r.total));
    csv_line(&mut out, &cells);
    out
}

/// A deflection report as CSV: one line per flow and input method, then `total`.
pub(crate) fn deflections_csv_text(r: &DeflectionReport) -> String {
    let mut out = String::from("row,flow,input_method,deflections,answered\r\n");
    for row in &r.rows {
        let cells = [
            "deflections".into(),
            row.flow.clone().unwrap_or_default(),
            row.input_method.clone(),
            row.deflections.to_string(),
            row.answered.to_string(),
        ];
        csv_line(&mut out, &cells);
    }
    let t = &r.total;
    let cells = [
        "total".into(),
        String::new(),
        String::new(),
        t.deflections.to_string(),
        t.answered.to_string(),
    ];
    csv_line(&mut out, &cells);
    out
}

/// `GET /api/v1/reports/queues.csv`.
pub(super) async fn queues_csv(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<PeriodQuery>,
) -> ApiResult<Response> {
    let (_, r) = queue_report(&s, &p, q).await?;
    Ok(csv_file("queues.csv", queues_csv_text(&r)))
}

/// `GET /api/v1/reports/agents.csv`.
pub(super) async fn agents_csv(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<PeriodQuery>,
) -> ApiResult<Response> {
    let (_, r) = agent_report(&s, &p, q).await?;
    Ok(csv_file("agents.csv", agents_csv_text(&r)))
}

/// `GET /api/v1/reports/deflections.csv`.
pub(super) async fn deflections_csv(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<PeriodQuery>,
) -> ApiResult<Response> {
    let Query(q) = q?;
    let period = q.period()?;
    let r = s.inbox.deflection_report(&p.viewer, period).await?;
    Ok(csv_file("deflections.csv", deflections_csv_text(&r)))
}

fn svg(body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/v1/reports/charts/volume.svg`: conversations in per hour (or day).
pub(super) async fn volume_chart(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<PeriodQuery>,
) -> ApiResult<Response> {
    let Query(q) = q?;
    let period = q.period()?;
    let v = s.inbox.volume_report(&p.viewer, period).await?;
    let offset = offset_seconds(q.from.as_deref().unwrap_or_default());
    Ok(svg(charts::volume(&v, offset)))
}

/// `GET /api/v1/reports/charts/wait.svg`: conversations closed in the period by how long
/// they waited for an agent.
pub(super) async fn wait_chart(
    State(s): State<AppState>,
    p: Principal,
    q: QueryOf<PeriodQuery>,
) -> ApiResult<Response> {
    let (_, r) = queue_report(&s, &p, q).await?;
    let waits = r.waits.unwrap_or_default();
    Ok(svg(charts::waits(&deflect_chat::wait_bands(&waits))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_rfc_3339_and_a_bad_one_is_named() {
        let q = PeriodQuery {
            from: Some("2026-01-01T00:00:00+01:00".into()),
            to: Some("2026-01-02T00:00:00Z".into()),
        };
        let p = q.period().unwrap_or(Period { from: 0, to: 0 });
        assert_eq!((p.from, p.to), (1_767_222_000_000, 1_767_312_000_000));
        let missing = PeriodQuery {
            from: None,
            to: q.to.clone(),
        };
        let e = missing.period().err().map(|e| (e.status, e.message));
        assert!(
            matches!(&e, Some((StatusCode::UNPROCESSABLE_ENTITY, m)) if m.starts_with("`from` is required")),
            "{e:?}"
        );
        let bad = PeriodQuery {
            from: q.from.clone(),
            to: Some("yesterday".into()),
        };
        let e = bad.period().err().map(|e| e.message).unwrap_or_default();
        assert!(e.starts_with("`to` is not readable"), "{e}");
        assert_eq!(offset_seconds("2026-01-01T00:00:00+05:30"), 19_800);
        assert_eq!(offset_seconds("2026-01-01T00:00:00-03:00"), -10_800);
        assert_eq!(offset_seconds("2026-01-01T00:00:00Z"), 0);
        assert_eq!(rfc3339(1_767_222_000_000), "2025-12-31T23:00:00Z");
    }

    #[test]
    fn csv_quotes_every_cell_and_guards_formulas() {
        let r = Report {
            rows: vec![ReportRow {
                agent_id: Some(3),
                display_name: Some("=HYPERLINK(\"x\")".into()),
                conversations_handled: 2,
                first_response_p50_seconds: Some(12.5),
                ..ReportRow::default()
            }],
            total: ReportRow {
                conversations_handled: 2,
                ..ReportRow::default()
            },
            waits: None,
        };
        let text = agents_csv_text(&r);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], format!("row,agent_id,display_name,{ROW_COLUMNS}"));
        assert!(
            lines[1].starts_with(
                "\"agent\",\"3\",\"'=HYPERLINK(\"\"x\"\")\",\"0\",\"2\",\"0\",\"0\",\"12.5\",\"\""
            ),
            "{}",
            lines[1]
        );
        assert!(lines[2].starts_with("\"total\",\"\",\"\",\"0\",\"2\""));
        assert_eq!(
            lines.len(),
            4,
            "header, row, total, and the last line's end"
        );
    }
}
