//! The supervisors' reports over a period: per queue and per agent (conversations in,
//! handled, closed and abandoned; first response, handle and waiting times as p50/p90;
//! CSAT), with totals; deflections by flow and input method; and the series the charts
//! draw (volume per hour or day, waiting times by band). Supervisors and admins only.
//!
//! What each number counts is said on [`ReportRow`]; how percentiles are read (fixed
//! buckets, interpolated) in [`crate::model::Histogram`]. Calls by outcome are not here yet:
//! the IVR's call records are listed on their own (`crate::calls`).

use crate::context::Ctx;
use crate::model::{
    ChatError, DeflectionReport, DeflectionRow, MAX_PERIOD_MS, Period, Report, ReportCounts,
    ReportKey, ReportRow, Viewer, Volume,
};
use crate::repo::{self, reports::Grouping};

/// Refuses viewers who are not supervisors or admins, and periods that end before they start
/// or are longer than 400 days.
fn check(viewer: &Viewer, period: Period) -> Result<(), ChatError> {
    if !viewer.role.sees_everything() {
        return Err(ChatError::Forbidden(
            "reports are for supervisors and admins".into(),
        ));
    }
    if period.to <= period.from {
        return Err(ChatError::Invalid("`to` must be after `from`".into()));
    }
    if period.to - period.from > MAX_PERIOD_MS {
        return Err(ChatError::Invalid(
            "a report covers at most 400 days".into(),
        ));
    }
    Ok(())
}

/// The report per queue over `period`: every configured queue (and any other that
/// conversations were in), in configuration order, then the totals.
pub(crate) async fn queues(
    ctx: &Ctx,
    viewer: &Viewer,
    period: Period,
) -> Result<Report, ChatError> {
    check(viewer, period)?;
    let mut counts = repo::reports::counts(ctx.store(), Grouping::Queue, period).await?;
    let mut keys: Vec<ReportKey> = (ctx.queue_names().iter())
        .map(|q| ReportKey::Queue((*q).to_string()))
        .collect();
    for k in counts.keys() {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    let rows = keys
        .into_iter()
        .map(|k| {
            let c = counts.remove(&k).unwrap_or_default();
            let ReportKey::Queue(q) = k else {
                return (ReportRow::default(), c);
            };
            (
                ReportRow {
                    queue: Some(q),
                    ..c.row()
                },
                c,
            )
        })
        .collect();
    Ok(report(rows))
}

/// The report per agent over `period`: every agent with any count, by name, then the totals.
pub(crate) async fn agents(
    ctx: &Ctx,
    viewer: &Viewer,
    period: Period,
) -> Result<Report, ChatError> {
    check(viewer, period)?;
    let counts = repo::reports::counts(ctx.store(), Grouping::Agent, period).await?;
    let names = repo::reports::agent_names(ctx.store()).await?;
    let mut rows: Vec<(ReportRow, ReportCounts)> = counts
        .into_iter()
        .filter_map(|(k, c)| match k {
            ReportKey::Agent(id) => Some((
                ReportRow {
                    agent_id: Some(id),
                    display_name: names.get(&id).cloned(),
                    ..c.row()
                },
                c,
            )),
            ReportKey::Queue(_) => None,
        })
        .collect();
    rows.sort_by(|a, b| (&a.0.display_name, a.0.agent_id).cmp(&(&b.0.display_name, b.0.agent_id)));
    Ok(report(rows))
}

/// Rows with their totals (the counts added up, percentiles over all durations).
fn report(rows: Vec<(ReportRow, ReportCounts)>) -> Report {
    let mut total = ReportCounts::default();
    for (_, c) in &rows {
        total.merge(c);
    }
    Report {
        rows: rows.into_iter().map(|(r, _)| r).collect(),
        total: total.row(),
        waits: Some(total.wait),
    }
}

/// Deflections made over `period` by flow and input method, with their totals.
pub(crate) async fn deflections(
    ctx: &Ctx,
    viewer: &Viewer,
    period: Period,
) -> Result<DeflectionReport, ChatError> {
    check(viewer, period)?;
    let rows = repo::reports::deflections(ctx.store(), period).await?;
    let total = DeflectionRow {
        flow: None,
        input_method: "all".into(),
        deflections: rows.iter().map(|r| r.deflections).sum(),
        answered: rows.iter().map(|r| r.answered).sum(),
    };
    Ok(DeflectionReport { rows, total })
}

/// Conversations that entered a queue over `period`, per hour (periods up to 3 days) or day.
pub(crate) async fn volume(
    ctx: &Ctx,
    viewer: &Viewer,
    period: Period,
) -> Result<Volume, ChatError> {
    check(viewer, period)?;
    Ok(repo::reports::volume(ctx.store(), period).await?)
}
