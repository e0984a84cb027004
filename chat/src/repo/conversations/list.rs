//! Listing conversations: the filters of [`ConversationFilter`] and the viewer's access as one
//! query, its values bound; the list's rows with what the inbox shows of them (last message,
//! unread count, waiting time, offer deadline), and the views counted.

use super::{CONVERSATION_COLUMNS, CONVERSATION_FROM};
use crate::model::{
    Conversation, ConversationFilter, ConversationSummary, Direction, Preview, Sender, Status,
    StoreError, ViewCount, Viewer,
};
use crate::store::{Store, opt_i64, opt_str};
use sqlx::Row;
use sqlx::any::AnyRow;

/// A bound value.
enum Arg {
    I(i64),
    S(String),
}

/// A query's bound values, numbered as they are added.
#[derive(Default)]
struct Args(Vec<Arg>);

impl Args {
    /// Adds `a`; its placeholder.
    fn add(&mut self, a: Arg) -> String {
        self.0.push(a);
        format!("${}", self.0.len())
    }

    fn bind<'q>(
        self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        for a in self.0 {
            q = match a {
                Arg::I(i) => q.bind(i),
                Arg::S(s) => q.bind(s),
            };
        }
        q
    }
}

/// Conversations the viewer may see, newest first, narrowed by `filter`.
pub(crate) async fn list(
    store: &Store,
    viewer: &Viewer,
    filter: &ConversationFilter,
) -> Result<Vec<Conversation>, StoreError> {
    let mut args = Args::default();
    let wh = conditions(&mut args, viewer, filter);
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS} FROM {CONVERSATION_FROM}{} ORDER BY c.id DESC LIMIT {}",
        where_clause(&wh),
        limit(filter)
    );
    let rows = args
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .fetch_all(store.pool())
        .await?;
    Ok(rows.iter().map(super::from_row).collect())
}

/// [`list`], each conversation with what its row in the viewer's list shows.
pub(crate) async fn summaries(
    store: &Store,
    viewer: &Viewer,
    filter: &ConversationFilter,
) -> Result<Vec<ConversationSummary>, StoreError> {
    let mut args = Args::default();
    let me = args.add(Arg::I(viewer.agent_id));
    let wh = conditions(&mut args, viewer, filter);
    let sql = format!(
        "SELECT {CONVERSATION_COLUMNS}, {unread} AS unread, {waiting} AS waiting_since, \
         {offer} AS offer_expires_at, lm.id AS last_id, lm.direction AS last_direction, \
         lm.sender AS last_sender, lm.kind AS last_kind, lm.body AS last_body, \
         lm.created_at AS last_at, lm.agent_id AS last_agent_id, lm.sender_name AS last_sender_name \
         FROM {CONVERSATION_FROM} LEFT JOIN messages lm ON lm.id = {last}{} \
         ORDER BY c.id DESC LIMIT {}",
        where_clause(&wh),
        limit(filter),
        unread = unread_sql(&me),
        waiting = WAITING_SINCE,
        offer = OFFER_EXPIRES_AT,
        last = LAST_MESSAGE,
    );
    let rows = args
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .fetch_all(store.pool())
        .await?;
    Ok(rows.iter().map(summary).collect())
}

/// How many conversations `filter` lists for the viewer, and their customers' messages the
/// viewer has not read.
pub(crate) async fn count(
    store: &Store,
    viewer: &Viewer,
    filter: &ConversationFilter,
) -> Result<ViewCount, StoreError> {
    let mut args = Args::default();
    let me = args.add(Arg::I(viewer.agent_id));
    let wh = conditions(&mut args, viewer, filter);
    let sql = format!(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(unread), 0) AS BIGINT) AS unread FROM \
         (SELECT {unread} AS unread FROM {CONVERSATION_FROM}{}) v",
        where_clause(&wh),
        unread = unread_sql(&me),
    );
    let row = args
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .fetch_one(store.pool())
        .await?;
    Ok(ViewCount {
        conversations: row.get("n"),
        unread: row.get("unread"),
    })
}

/// The newest message of conversation `c` that is not an internal note (its id).
const LAST_MESSAGE: &str = "(SELECT m.id FROM messages m WHERE m.conversation_id = c.id \
     AND m.internal = 0 ORDER BY m.id DESC LIMIT 1)";

/// When the customer's first message after the last agent's answer came, while `c` is open:
/// the same two index walks as `messages::turn`.
const WAITING_SINCE: &str = "CASE WHEN c.status IN ('queued', 'offered', 'assigned') THEN \
     (SELECT w.created_at FROM messages w WHERE w.conversation_id = c.id AND w.direction = 'in' \
     AND w.id > COALESCE((SELECT a.id FROM messages a WHERE a.conversation_id = c.id \
     AND a.direction = 'out' AND a.internal = 0 AND a.agent_id IS NOT NULL \
     ORDER BY a.id DESC LIMIT 1), 0) ORDER BY w.id LIMIT 1) END";

/// The deadline of `c`'s offer, while it is offered.
const OFFER_EXPIRES_AT: &str = "CASE WHEN c.status = 'offered' THEN (SELECT t.due_at FROM timers t \
     WHERE t.conversation_id = c.id AND t.kind = 'offer') END";

/// The customer's messages in `c` after the newest one agent `me` has read.
fn unread_sql(me: &str) -> String {
    format!(
        "(SELECT COUNT(*) FROM messages u WHERE u.conversation_id = c.id AND u.direction = 'in' \
         AND u.internal = 0 AND u.id > COALESCE((SELECT r.message_id FROM conversation_reads r \
         WHERE r.agent_id = {me} AND r.conversation_id = c.id), 0))"
    )
}

fn summary(r: &AnyRow) -> ConversationSummary {
    let conversation = super::from_row(r);
    let last_message = opt_i64(r, "last_id").map(|id| Preview {
        id,
        direction: if r.get::<String, _>("last_direction") == "in" {
            Direction::In
        } else {
            Direction::Out
        },
        sender: Sender::parse(&r.get::<String, _>("last_sender")),
        kind: r.get("last_kind"),
        body: opt_str(r, "last_body").map(|b| Preview::cut(&b)),
        created_at: r.get("last_at"),
        agent_id: opt_i64(r, "last_agent_id"),
        sender_name: opt_str(r, "last_sender_name"),
    });
    let open = matches!(
        conversation.status,
        Status::Queued | Status::Offered | Status::Assigned
    );
    ConversationSummary {
        last_message,
        unread: r.get("unread"),
        waiting_since: opt_i64(r, "waiting_since").filter(|_| open),
        offer_expires_at: opt_i64(r, "offer_expires_at"),
        conversation,
    }
}

fn where_clause(wh: &[String]) -> String {
    if wh.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", wh.join(" AND "))
    }
}

fn limit(filter: &ConversationFilter) -> i64 {
    i64::from(filter.limit.unwrap_or(100).clamp(1, 1000))
}

/// The conditions of `filter` and of the viewer's access, their values added to `args`.
fn conditions(args: &mut Args, viewer: &Viewer, filter: &ConversationFilter) -> Vec<String> {
    let mut wh: Vec<String> = Vec::new();
    if !filter.status.is_empty() {
        let list: Vec<String> = filter
            .status
            .iter()
            .map(|s| args.add(Arg::S(s.as_str().into())))
            .collect();
        wh.push(format!("c.status IN ({})", list.join(", ")));
    }
    if let Some(ch) = filter.channel {
        wh.push(format!(
            "c.channel = {}",
            args.add(Arg::S(ch.as_str().into()))
        ));
    }
    if let Some(o) = filter.origin {
        wh.push(format!(
            "c.origin = {}",
            args.add(Arg::S(o.as_str().into()))
        ));
    }
    if let Some(q) = &filter.queue {
        wh.push(format!("c.queue = {}", args.add(Arg::S(q.clone()))));
    }
    if let Some(a) = filter.agent_id {
        wh.push(format!("c.agent_id = {}", args.add(Arg::I(a))));
    }
    if let Some(a) = &filter.account {
        wh.push(format!("c.account = {}", args.add(Arg::S(a.clone()))));
    }
    if let Some(t) = filter.created_from {
        wh.push(format!("c.created_at >= {}", args.add(Arg::I(t))));
    }
    if let Some(t) = filter.created_to {
        wh.push(format!("c.created_at < {}", args.add(Arg::I(t))));
    }
    if let Some(label) = &filter.label {
        wh.push(format!(
            "EXISTS (SELECT 1 FROM conversation_labels l WHERE l.conversation_id = c.id AND l.label = {})",
            args.add(Arg::S(label.clone()))
        ));
    }
    if let Some(k) = filter.contact_id {
        wh.push(format!("c.contact_id = {}", args.add(Arg::I(k))));
    }
    if let Some(b) = filter.before_id {
        wh.push(format!("c.id < {}", args.add(Arg::I(b))));
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
        let n = args.add(Arg::S(like));
        wh.push(format!(
            "(LOWER(COALESCE(k.name, '')) LIKE {n} ESCAPE '\\' OR LOWER(COALESCE(k.phone, '')) LIKE {n} ESCAPE '\\' \
             OR LOWER(c.reference) LIKE {n} ESCAPE '\\' OR EXISTS (SELECT 1 FROM messages m \
             WHERE m.conversation_id = c.id AND LOWER(COALESCE(m.body, '')) LIKE {n} ESCAPE '\\'))"
        ));
    }
    if !viewer.role.sees_everything() {
        let me = args.add(Arg::I(viewer.agent_id));
        let queues: Vec<String> = viewer
            .queues
            .iter()
            .map(|q| args.add(Arg::S(q.clone())))
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
    wh
}
