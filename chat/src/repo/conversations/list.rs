//! Listing conversations: the filters of [`ConversationFilter`] and the viewer's access as one
//! query, its values bound.

use super::{CONVERSATION_COLUMNS, CONVERSATION_FROM};
use crate::model::{Conversation, ConversationFilter, StoreError, Viewer};
use crate::store::Store;

/// Conversations the viewer may see, newest first, narrowed by `filter`.
pub(crate) async fn list(
    store: &Store,
    viewer: &Viewer,
    filter: &ConversationFilter,
) -> Result<Vec<Conversation>, StoreError> {
    enum Arg {
        I(i64),
        S(String),
    }
    let mut wh: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let p = |args: &mut Vec<Arg>, a: Arg| {
        args.push(a);
        format!("${}", args.len())
    };
    if !filter.status.is_empty() {
        let list: Vec<String> = filter
            .status
            .iter()
            .map(|s| p(&mut args, Arg::S(s.as_str().into())))
            .collect();
        wh.push(format!("c.status IN ({})", list.join(", ")));
    }
    if let Some(ch) = filter.channel {
        wh.push(format!(
            "c.channel = {}",
            p(&mut args, Arg::S(ch.as_str().into()))
        ));
    }
    if let Some(o) = filter.origin {
        wh.push(format!(
            "c.origin = {}",
            p(&mut args, Arg::S(o.as_str().into()))
        ));
    }
    if let Some(q) = &filter.queue {
        wh.push(format!("c.queue = {}", p(&mut args, Arg::S(q.clone()))));
    }
    if let Some(a) = filter.agent_id {
        wh.push(format!("c.agent_id = {}", p(&mut args, Arg::I(a))));
    }
    if let Some(a) = &filter.account {
        wh.push(format!("c.account = {}", p(&mut args, Arg::S(a.clone()))));
    }
    if let Some(t) = filter.created_from {
        wh.push(format!("c.created_at >= {}", p(&mut args, Arg::I(t))));
    }
    if let Some(t) = filter.created_to {
        wh.push(format!("c.created_at < {}", p(&mut args, Arg::I(t))));
    }
    if let Some(label) = &filter.label {
        wh.push(format!(
            "EXISTS (SELECT 1 FROM conversation_labels l WHERE l.conversation_id = c.id AND l.label = {})",
            p(&mut args, Arg::S(label.clone()))
        ));
    }
    if let Some(k) = filter.contact_id {
        wh.push(format!("c.contact_id = {}", p(&mut args, Arg::I(k))));
    }
    if let Some(b) = filter.before_id {
        wh.push(format!("c.id < {}", p(&mut args, Arg::I(b))));
    }
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let like = format!(
            "%{}%",
            text.to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let n = p(&mut args, Arg::S(like));
        wh.push(format!(
            "(LOWER(COALESCE(k.name, '')) LIKE {n} ESCAPE '\\' OR LOWER(COALESCE(k.phone, '')) LIKE {n} ESCAPE '\\' \
             OR LOWER(c.reference) LIKE {n} ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m \
             WHERE m.conversation_id = c.id AND LOWER(COALESCE(m.body, '')) LIKE {n} ESCAPE '\\'))"
        ));
    }
    if !viewer.role.sees_everything() {
        let me = p(&mut args, Arg::I(viewer.agent_id));
        let queues: Vec<String> = viewer
            .queues
            .iter()
            .map(|q| p(&mut args, Arg::S(q.clone())))
            .collect();
        let queue_ok = if queues.is_empty() {
            "0 = 1".to_string()
        } else {
            format!("c.queue IN ({})", queues.join(", "))
        };
        let account_ok = crate::repo::agents::agent_works_account_sql(&me, "c.account");
        wh.push(format!(
            "(c.agent_id = {me} OR ({queue_ok} AND {account_ok}))"
        ));
    }
    let limit = i64::from(filter.limit.unwrap_or(100).clamp(1, 1000));
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM}{}{} ORDER BY c.id DESC LIMIT {limit}",
        if wh.is_empty() { "" } else { " WHERE " },
        wh.join(" AND ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for a in args {
        q = match a {
            Arg::I(i) => q.bind(i),
            Arg::S(s) => q.bind(s),
        };
    }
    let rows = q.fetch_all(store.pool()).await?;
    Ok(rows.iter().map(super::from_row).collect())
}
