//! SQL building blocks the repositories share: rows carried by one bound JSON value, sets of
//! ids, leases on work tables, and reading optional columns.

use super::Tx;
use crate::model::StoreError;
use deflect_config::DatabaseKind;
use sqlx::Row;
use sqlx::any::AnyRow;

/// The type of a [`json_rows`] column.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Column {
    Text,
    BigInt,
}

/// A query (for a `WITH v AS (…)`) whose rows come from one bound value: a JSON array of
/// arrays, bound at `$param` as text, one inner array per row with its values in the order
/// of `columns`. Besides `columns` the rows have `ord`, their position, to keep their order.
///
/// A statement written this way has the same text however many rows it carries, so it is
/// prepared once per connection and its plan reused (PostgreSQL plans a statement with a
/// `VALUES` list of bound values again for each length; SQLite limits bound values to
/// 32,766). The values are still bound, never spliced into the text. PostgreSQL reads the
/// array as `jsonb`, parsed once: taking each column from a `json` row would parse it again.
pub(crate) fn json_rows(kind: DatabaseKind, param: usize, columns: &[(&str, Column)]) -> String {
    let mut out = String::from("SELECT ");
    for (i, (name, column)) in columns.iter().enumerate() {
        let value = match (kind, column) {
            (DatabaseKind::Sqlite, _) => format!("json_extract(r.value, '$[{i}]')"),
            (DatabaseKind::Postgres, Column::Text) => format!("r.value ->> {i}"),
            (DatabaseKind::Postgres, Column::BigInt) => format!("(r.value ->> {i})::bigint"),
        };
        out.push_str(&format!("{value} AS {name}, "));
    }
    match kind {
        DatabaseKind::Sqlite => out.push_str(&format!("r.key AS ord FROM json_each(${param}) r")),
        DatabaseKind::Postgres => out.push_str(&format!(
            "r.ord FROM jsonb_array_elements(${param}::jsonb) WITH ORDINALITY AS r(value, ord)"
        )),
    }
    out
}

/// Ids as rows for a statement: the `WITH v AS (…)` query over the JSON array bound at
/// `$param` (see [`json_rows`]; bind [`ids_value`]) and the condition "`column` is one of
/// them" for its `WHERE`. PostgreSQL finds them through the primary key (`= ANY(ARRAY(…))`):
/// joined to rows whose number it cannot estimate, the planner would scan the whole table.
pub(crate) fn ids_in(kind: DatabaseKind, param: usize, column: &str) -> (String, String) {
    let rows = json_rows(kind, param, &[("id", Column::BigInt)]);
    let condition = match kind {
        DatabaseKind::Sqlite => format!("{column} IN (SELECT id FROM v)"),
        DatabaseKind::Postgres => format!("{column} = ANY(ARRAY(SELECT id FROM v))"),
    };
    (format!("WITH v AS ({rows})"), condition)
}

/// The value to bind for [`ids_in`].
pub(crate) fn ids_value(ids: &[i64]) -> String {
    serde_json::Value::from(
        ids.iter()
            .map(|id| serde_json::json!([id]))
            .collect::<Vec<_>>(),
    )
    .to_string()
}

/// Leases claimed rows of a work table (`outbox`, `hook_deliveries`) to this process: state
/// `sending` until `until`, one more attempt. One statement for all of them.
pub(crate) async fn lease(
    tx: &mut Tx,
    table: &'static str,
    ids: &[i64],
    until: i64,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let (with, wanted) = ids_in(tx.kind(), 3, "id");
    sqlx::query(sql!(
        "{with} UPDATE {table} SET state = 'sending', lease_until = $1, leased_by = $2, \
         attempts = attempts + 1 WHERE {wanted}"
    ))
    .bind(until)
    .bind(tx.node())
    .bind(ids_value(ids))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Reads an optional text column.
pub(crate) fn opt_str(row: &AnyRow, col: &str) -> Option<String> {
    row.try_get::<Option<String>, _>(col).ok().flatten()
}

/// Reads an optional integer column.
pub(crate) fn opt_i64(row: &AnyRow, col: &str) -> Option<i64> {
    row.try_get::<Option<i64>, _>(col).ok().flatten()
}
