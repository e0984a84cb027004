//! The SQL of the settings admins override (`setting_overrides`): one JSON object per scope.

use crate::clock::Millis;
use crate::model::StoreError;
use crate::store::Tx;
use sqlx::Row;

/// One scope's overrides as stored.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StoredOverrides {
    /// `inbox`, `account:NAME`, `site:NAME`, `flow:NAME` or `queue:NAME`.
    pub(crate) scope: String,
    /// The overridden keys, a JSON object.
    pub(crate) value: String,
    /// The admin who last changed them (none once deleted).
    pub(crate) updated_by: Option<i64>,
    pub(crate) updated_at: Millis,
}

/// Every scope's overrides, by scope.
pub(crate) async fn all<'c>(
    conn: impl sqlx::Executor<'c, Database = sqlx::Any>,
) -> Result<Vec<StoredOverrides>, StoreError> {
    let rows = sqlx::query(
        "SELECT scope, value, updated_by, updated_at FROM setting_overrides ORDER BY scope",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| StoredOverrides {
            scope: r.get(0),
            value: r.get(1),
            updated_by: r.get(2),
            updated_at: r.get(3),
        })
        .collect())
}

/// Stores scope `o.scope`'s overrides, replacing any.
pub(crate) async fn put(tx: &mut Tx, o: &StoredOverrides) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO setting_overrides (scope, value, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (scope) DO UPDATE SET value = excluded.value, \
         updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(&o.scope)
    .bind(&o.value)
    .bind(o.updated_by)
    .bind(o.updated_at)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Deletes scope `scope`'s overrides; whether there were any.
pub(crate) async fn delete(tx: &mut Tx, scope: &str) -> Result<bool, StoreError> {
    let done = sqlx::query("DELETE FROM setting_overrides WHERE scope = $1")
        .bind(scope)
        .execute(tx.conn())
        .await?;
    Ok(done.rows_affected() > 0)
}
