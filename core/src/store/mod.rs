//! SQLite storage (rusqlite, bundled SQLite): pragmas, versioned migrations, the wallet's
//! accounts and the sign-once guard (DESIGN.md §3, §8).
//!
//! This connection writes the sign-once records, so it runs with `synchronous=FULL`: a
//! record is on disk before [`Store::record_signature`] returns, and the caller releases a
//! signature only after that.

mod chain;
mod events;
mod migrations;
mod witness;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use thiserror::Error;

use crate::crypto::{AccountId, Hash};

pub use chain::{ChainPruning, ChainStore, PruneOutcome};
pub use events::{TransferEvent, TransferEventKind};
pub use migrations::SCHEMA_VERSION;
pub use witness::{SqliteWitnessStore, WITNESS_RECORD_VERSION};

/// Errors of the storage layer.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite reported an error (I/O, corruption, locking, ...).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database's directory could not be created.
    #[error("cannot create the database directory {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The database was written by a newer version of ZeroPole; opening it with this one
    /// could lose data, so it is refused.
    #[error("the database has schema version {found}, this build supports up to {supported}: update the app")]
    SchemaTooNew {
        /// Version found on disk.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// A value in the database is not what this version wrote (bad length, ...).
    #[error("the database holds a corrupt value: {0}")]
    Corrupt(String),
}

/// An account of this wallet, as stored (public data only: the phrase is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// BLAKE3 of the encoded public key.
    pub account_id: AccountId,
    /// Derivation index under the phrase.
    pub account_index: u32,
    /// Derivation version, e.g. `zeropole/fn-dsa-512/v1`.
    pub derivation: String,
    /// Encoded public key (algorithm byte ‖ key).
    pub public_key: Vec<u8>,
}

/// "Account `a` signed payload hash `X` at height `h`", with the signature released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOnceRecord {
    /// The signing account.
    pub account_id: AccountId,
    /// The slot.
    pub height: u64,
    /// Domain-tagged hash of the payload.
    pub payload_hash: Hash,
    /// The payload itself, so it can be re-sent verbatim after a crash.
    pub payload: Vec<u8>,
    /// The encoded signature that was released.
    pub signature: Vec<u8>,
}

/// The outcome of trying to record a signature at a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotClaim {
    /// The record was written durably: the signature may be released.
    Recorded,
    /// The slot already holds a record (returned), which the caller must honour.
    Taken(SignOnceRecord),
}

/// One SQLite database.
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path)?;
        Self::init(conn, Some(path.to_path_buf()))
    }

    /// An in-memory database (tests and the simulator).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, None)
    }

    fn init(conn: Connection, path: Option<PathBuf>) -> Result<Self, StoreError> {
        // page_size only takes effect before the first table exists, hence first.
        conn.pragma_update(None, "page_size", 4096)?;
        let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        #[cfg(any(target_os = "ios", target_os = "macos"))]
        conn.pragma_update(None, "fullfsync", "ON")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let mut store = Store { conn, path };
        migrations::migrate(&mut store.conn)?;
        Ok(store)
    }

    /// Where the database lives (`None` in memory).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version on disk.
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// The SQLite journal mode in force (`wal` for file databases).
    pub fn journal_mode(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))?)
    }

    /// Stores an account (idempotent for an identical record).
    pub fn put_account(&mut self, account: &AccountRecord) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO accounts (account_id, account_index, derivation, public_key)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(account_index) DO NOTHING",
            params![
                &account.account_id.0[..],
                account.account_index,
                account.derivation,
                account.public_key
            ],
        )?;
        Ok(())
    }

    /// The account at a derivation index, if stored.
    pub fn account(&self, account_index: u32) -> Result<Option<AccountRecord>, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT account_id, derivation, public_key FROM accounts WHERE account_index = ?1",
                params![account_index],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(id, derivation, public_key)| {
            Ok(AccountRecord {
                account_id: AccountId(to_array(&id, "account_id")?),
                account_index,
                derivation,
                public_key,
            })
        })
        .transpose()
    }

    /// The sign-once record at `(account, height)`, if any.
    pub fn signature_at(
        &self,
        account_id: &AccountId,
        height: u64,
    ) -> Result<Option<SignOnceRecord>, StoreError> {
        let height_sql = height_to_sql(height)?;
        let row = self
            .conn
            .query_row(
                "SELECT payload_hash, payload, signature FROM sign_once
                 WHERE account_id = ?1 AND height = ?2",
                params![&account_id.0[..], height_sql],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(hash, payload, signature)| {
            Ok(SignOnceRecord {
                account_id: *account_id,
                height,
                payload_hash: Hash(to_array(&hash, "payload_hash")?),
                payload,
                signature,
            })
        })
        .transpose()
    }

    /// Durably claims the slot `(account, height)` for `record`, or returns the record that
    /// already holds it. Runs in one immediate transaction, so two writers cannot both win.
    pub fn record_signature(&mut self, record: &SignOnceRecord) -> Result<SlotClaim, StoreError> {
        let height_sql = height_to_sql(record.height)?;
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let inserted = tx.execute(
            "INSERT INTO sign_once (account_id, height, payload_hash, payload, signature)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(account_id, height) DO NOTHING",
            params![
                &record.account_id.0[..],
                height_sql,
                &record.payload_hash.0[..],
                record.payload,
                record.signature
            ],
        )?;
        tx.commit()?;
        if inserted == 1 {
            return Ok(SlotClaim::Recorded);
        }
        match self.signature_at(&record.account_id, record.height)? {
            Some(existing) => Ok(SlotClaim::Taken(existing)),
            None => Err(StoreError::Corrupt(
                "sign-once row vanished during the claim".into(),
            )),
        }
    }
}

/// SQLite integers are signed 64-bit: heights above `i64::MAX` cannot be stored (and will
/// never be reached), so they are refused instead of wrapping.
fn height_to_sql(height: u64) -> Result<i64, StoreError> {
    i64::try_from(height)
        .map_err(|_| StoreError::Corrupt(format!("height {height} exceeds i64::MAX")))
}

fn to_array<const N: usize>(bytes: &[u8], what: &str) -> Result<[u8; N], StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("{what} has {} bytes, expected {N}", bytes.len())))
}

#[cfg(test)]
mod tests;
