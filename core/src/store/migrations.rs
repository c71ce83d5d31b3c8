//! Versioned schema migrations, tracked in `PRAGMA user_version`.
//!
//! Append a new entry to [`MIGRATIONS`] for every schema change; never edit a shipped one.
//! Each migration runs in its own transaction together with the version bump, so a crash
//! leaves the database at the previous version or the next, never between.

use rusqlite::Connection;

use super::StoreError;

/// Migration `i` (0-based) brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // v1: the wallet's accounts and the sign-once guard.
    "CREATE TABLE accounts (
         account_index INTEGER PRIMARY KEY,
         account_id    BLOB NOT NULL UNIQUE CHECK (length(account_id) = 32),
         derivation    TEXT NOT NULL,
         public_key    BLOB NOT NULL
     ) STRICT;
     CREATE TABLE sign_once (
         account_id   BLOB NOT NULL REFERENCES accounts(account_id),
         height       INTEGER NOT NULL CHECK (height >= 0),
         payload_hash BLOB NOT NULL CHECK (length(payload_hash) = 32),
         payload      BLOB NOT NULL,
         signature    BLOB NOT NULL,
         PRIMARY KEY (account_id, height)
     ) STRICT, WITHOUT ROWID;",
    // v2: a witness's durable state (DESIGN.md §4): attestation locks, certified accounts,
    // frozen accounts, pending receivables. Values are canonical encodings (see
    // store/witness.rs). Rows are large (a block is ~1.6 KiB, a certificate up to tens of
    // KiB), so these are rowid tables: WITHOUT ROWID suits small rows only.
    "CREATE TABLE attest_locks (
         account BLOB NOT NULL CHECK (length(account) = 32),
         height  INTEGER NOT NULL CHECK (height >= 0),
         block   BLOB NOT NULL,
         PRIMARY KEY (account, height)
     ) STRICT;
     CREATE TABLE witness_accounts (
         account   BLOB NOT NULL PRIMARY KEY CHECK (length(account) = 32),
         state     BLOB NOT NULL,
         head_cert BLOB
     ) STRICT;
     CREATE TABLE frozen (
         account BLOB NOT NULL PRIMARY KEY CHECK (length(account) = 32),
         proof   BLOB NOT NULL
     ) STRICT;
     CREATE TABLE pending (
         recipient BLOB NOT NULL PRIMARY KEY CHECK (length(recipient) = 32),
         entries   BLOB NOT NULL
     ) STRICT;",
    // v3: epochs (DESIGN.md §4 "Epochs and handover"): every witness record is keyed by
    // its epoch, and `closed_epochs` records `closed(e)`. A v2 database served epoch 0
    // only (the static witness set), so its rows move to epoch 0.
    "CREATE TABLE attest_locks_v3 (
         epoch   INTEGER NOT NULL CHECK (epoch >= 0),
         account BLOB NOT NULL CHECK (length(account) = 32),
         height  INTEGER NOT NULL CHECK (height >= 0),
         block   BLOB NOT NULL,
         PRIMARY KEY (epoch, account, height)
     ) STRICT;
     INSERT INTO attest_locks_v3 (epoch, account, height, block)
         SELECT 0, account, height, block FROM attest_locks;
     DROP TABLE attest_locks;
     ALTER TABLE attest_locks_v3 RENAME TO attest_locks;
     CREATE TABLE witness_accounts_v3 (
         epoch     INTEGER NOT NULL CHECK (epoch >= 0),
         account   BLOB NOT NULL CHECK (length(account) = 32),
         state     BLOB NOT NULL,
         head_cert BLOB,
         PRIMARY KEY (epoch, account)
     ) STRICT;
     INSERT INTO witness_accounts_v3 (epoch, account, state, head_cert)
         SELECT 0, account, state, head_cert FROM witness_accounts;
     DROP TABLE witness_accounts;
     ALTER TABLE witness_accounts_v3 RENAME TO witness_accounts;
     CREATE TABLE frozen_v3 (
         epoch   INTEGER NOT NULL CHECK (epoch >= 0),
         account BLOB NOT NULL CHECK (length(account) = 32),
         proof   BLOB NOT NULL,
         PRIMARY KEY (epoch, account)
     ) STRICT;
     INSERT INTO frozen_v3 (epoch, account, proof) SELECT 0, account, proof FROM frozen;
     DROP TABLE frozen;
     ALTER TABLE frozen_v3 RENAME TO frozen;
     CREATE TABLE pending_v3 (
         epoch     INTEGER NOT NULL CHECK (epoch >= 0),
         recipient BLOB NOT NULL CHECK (length(recipient) = 32),
         entries   BLOB NOT NULL,
         PRIMARY KEY (epoch, recipient)
     ) STRICT;
     INSERT INTO pending_v3 (epoch, recipient, entries)
         SELECT 0, recipient, entries FROM pending;
     DROP TABLE pending;
     ALTER TABLE pending_v3 RENAME TO pending;
     CREATE TABLE closed_epochs (
         epoch INTEGER NOT NULL PRIMARY KEY CHECK (epoch >= 0)
     ) STRICT;",
    // v4: a node's own chain (DESIGN.md §8): the certificate of every certified block of
    // its account, by height (the state is rebuilt from genesis + these).
    "CREATE TABLE chain_certificates (
         account BLOB NOT NULL CHECK (length(account) = 32),
         height  INTEGER NOT NULL CHECK (height >= 1),
         cert    BLOB NOT NULL,
         PRIMARY KEY (account, height)
     ) STRICT;",
    // v5: pruning (DESIGN.md §4 "keeps its e state for K epochs", §8 "Old blocks below a
    // certified head may be pruned"). `witness_pruned` holds the witness's pruning floor
    // (one row: every epoch below it was dropped); `chain_base` holds, per account of a
    // node's own chain, the state after the highest block whose certificate was pruned, so
    // the state is rebuilt from it and the certificates above.
    "CREATE TABLE witness_pruned (
         id    INTEGER PRIMARY KEY CHECK (id = 0),
         floor INTEGER NOT NULL CHECK (floor >= 0)
     ) STRICT;
     CREATE TABLE chain_base (
         account BLOB NOT NULL PRIMARY KEY CHECK (length(account) = 32),
         height  INTEGER NOT NULL CHECK (height >= 0),
         state   BLOB NOT NULL
     ) STRICT;",
    // v6: a node's events that must outlive a restart until the
    // app acknowledges them (DESIGN.md §9, store/events.rs). One row per certified transfer
    // of this account, written in the transaction that records its certificate.
    // AUTOINCREMENT: `sqlite_sequence` remembers the largest id ever stored, so ids are
    // never reused after acknowledged rows are deleted.
    "CREATE TABLE node_events (
         id           INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT CHECK (id >= 1),
         account      BLOB NOT NULL CHECK (length(account) = 32),
         kind         TEXT NOT NULL CHECK (kind IN ('certified', 'received')),
         height       INTEGER NOT NULL CHECK (height >= 1),
         counterparty BLOB NOT NULL CHECK (length(counterparty) = 32),
         amount       INTEGER NOT NULL CHECK (amount >= 0),
         latency_ms   INTEGER NOT NULL CHECK (latency_ms >= 0)
     ) STRICT;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database to [`SCHEMA_VERSION`], refusing databases from a newer build.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let found: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
        tx.commit()?;
        log::info!("store: migrated schema to version {}", index + 1);
    }
    Ok(())
}
