//! A node's own chain: the certificate of every certified block of its account, written
//! before the node reports the block as certified (so a restart never forgets a transfer).

use rusqlite::params;

use super::{Store, StoreError};
use crate::crypto::AccountId;
use crate::poc::Certificate;

/// The chain table of a [`Store`].
pub struct ChainStore {
    pub(super) store: Store,
}

impl ChainStore {
    /// Wraps a store; its connection writes with `synchronous=FULL`.
    pub fn new(store: Store) -> Result<Self, StoreError> {
        store.conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(ChainStore { store })
    }

    /// Records the certificate of a certified block of `account` (idempotent).
    pub fn put(&mut self, cert: &Certificate) -> Result<(), StoreError> {
        let body = &cert.block.body;
        self.store.conn.execute(
            "INSERT OR IGNORE INTO chain_certificates (account, height, cert) VALUES (?1, ?2, ?3)",
            params![&body.account.0[..], body.height as i64, cert.encode()],
        )?;
        Ok(())
    }

    /// Every certificate of `account`, by height. A row that does not decode is a typed
    /// error (a damaged store), never silently skipped.
    pub fn certificates(&self, account: &AccountId) -> Result<Vec<Certificate>, StoreError> {
        let mut stmt = self.store.conn.prepare(
            "SELECT height, cert FROM chain_certificates WHERE account = ?1 ORDER BY height",
        )?;
        let rows = stmt.query_map(params![&account.0[..]], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (height, bytes) = row?;
            let cert = Certificate::decode(&bytes).map_err(|e| {
                StoreError::Corrupt(format!("chain certificate at height {height}: {e}"))
            })?;
            out.push(cert);
        }
        Ok(out)
    }
}
