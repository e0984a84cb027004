//! Named locks for the length of a write transaction, for changes two processes could
//! otherwise make at once on PostgreSQL (SQLite's write transactions already run one at a
//! time): PostgreSQL's transaction-scoped advisory locks, one per name, its id the first
//! eight bytes of the name's SHA-256, taken in a fixed order so two holders never deadlock.

use crate::model::StoreError;
use crate::store::Tx;
use deflect_config::DatabaseKind;
use sha2::{Digest, Sha256};

/// Locks `names` until the end of `tx` (nothing to do on SQLite).
pub(crate) async fn lock(tx: &mut Tx, names: &[&str]) -> Result<(), StoreError> {
    if tx.kind() != DatabaseKind::Postgres {
        return Ok(());
    }
    let mut ids: Vec<i64> = names.iter().map(|name| lock_id(name)).collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        // The lock function returns void, which the Any driver cannot decode: select a
        // constant from it instead.
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
            .bind(id)
            .execute(tx.conn())
            .await?;
    }
    Ok(())
}

/// The advisory lock id of a name: the first eight bytes of its SHA-256.
fn lock_id(name: &str) -> i64 {
    let digest = Sha256::digest(name.as_bytes());
    let mut id = [0u8; 8];
    id.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(id)
}
