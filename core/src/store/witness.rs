//! A witness's durable state in SQLite: [`SqliteWitnessStore`] implements
//! [`WitnessStore`] on a [`Store`] (DESIGN.md §4, §8).
//!
//! Tables (schema v3; every row keyed by its epoch): `attest_locks(epoch, account, height,
//! block)`, `witness_accounts(epoch, account, state, head_cert)`, `frozen(epoch, account,
//! proof)`, `pending(epoch, recipient, entries)` and `closed_epochs(epoch)`. Migration v3
//! moves a v2 database's rows (a static witness set) to epoch 0. Schema v5 adds
//! `witness_pruned(floor)`: [`WitnessStore::prune_before`] deletes every row of the epochs
//! below the floor from the five tables and raises it in one transaction. Every value is a canonical, versioned, length-limited
//! encoding: a block is [`Block::encode`], a state [`AccountState::encode`], a certificate
//! [`Certificate::encode`]; equivocation proofs and pending lists use the formats below
//! (version [`WITNESS_RECORD_VERSION`], integers big-endian):
//! ```text
//! proof   = version:u8 first:bytes(≤ MAX_BLOCK_LEN) second:bytes(≤ MAX_BLOCK_LEN)
//! pending = version:u8 count:u32 (from:[32] height:u64 amount:u64 send_hash:[32]){count}
//!           count ≤ 1024, entries in the witness's order
//! ```
//!
//! **Durability.** The connection runs with `synchronous=FULL`, and every write is its own
//! transaction (a batch of locks, [`WitnessStore::put_locks`], is one transaction): when a
//! method returns `Ok`, the rows are on disk. [`WitnessStore::put_lock`]
//! is an `INSERT` in an immediate transaction that refuses (never overwrites) a different
//! block at an existing `(epoch, account, height)`: the first lock survives whatever the caller
//! does, and the refusal is a SQLite primary-key constraint error
//! ([`StoreError::is_lock_conflict`]).
//!
//! **Corruption.** Every read returns [`StoreError::Corrupt`] for a row that does not
//! decode, so a damaged lock stops the witness attesting at that height (it answers
//! `Storage`) instead of looking like "no lock". [`SqliteWitnessStore::new`] and
//! [`SqliteWitnessStore::open`] also run [`SqliteWitnessStore::check`], which decodes and
//! cross-checks every row, so a corrupt database is refused before a witness starts.

use std::path::Path;

use rusqlite::{ffi, params, OptionalExtension, TransactionBehavior};

use super::{height_to_sql, to_array, Store, StoreError};
use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{AccountId, Hash};
use crate::ledger::{AccountState, Block, MAX_BLOCK_LEN};
use crate::poc::{
    Certificate, CertifiedAccount, EquivocationProof, PendingEntry, WitnessStore,
    MAX_PENDING_PER_RECIPIENT,
};

/// Format version of the equivocation-proof and pending-list values this build writes.
pub const WITNESS_RECORD_VERSION: u8 = 1;
/// Most pending entries one stored list may hold (a format limit, above the witness's
/// policy limit [`MAX_PENDING_PER_RECIPIENT`] so that limit can grow without a migration).
const MAX_STORED_PENDING: usize = 1024;
const _: () = assert!(MAX_PENDING_PER_RECIPIENT <= MAX_STORED_PENDING);
/// Encoded size of one pending entry.
const PENDING_ENTRY_LEN: usize = 32 + 8 + 8 + 32;

/// [`WitnessStore`] on SQLite. See the module documentation for durability and how
/// corrupt rows are surfaced.
pub struct SqliteWitnessStore {
    store: Store,
}

impl SqliteWitnessStore {
    /// Opens (creating and migrating if needed) the database at `path`, then
    /// [`check`](Self::check)s it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::new(Store::open(path)?)
    }

    /// Uses `store` (already migrated by [`Store::open`]): forces `synchronous=FULL` on its
    /// connection, then [`check`](Self::check)s every row. Cost: one pass over the witness
    /// tables, the same order as [`crate::poc::WitnessNode::start`]'s own load.
    pub fn new(store: Store) -> Result<Self, StoreError> {
        store.conn.pragma_update(None, "synchronous", "FULL")?;
        let this = SqliteWitnessStore { store };
        this.check()?;
        Ok(this)
    }

    /// Decodes and cross-checks every row of the witness tables, returning the first
    /// problem as [`StoreError::Corrupt`] (or [`StoreError::Sqlite`] if SQLite fails):
    /// every value decodes under its format's limits; a lock's block is at its row's
    /// `(account, height)`; an account's state has the row's account as key hash and its
    /// head certificate, if any, certifies the state's head; a proof freezes its row's
    /// account; a pending list is within the format limit.
    pub fn check(&self) -> Result<(), StoreError> {
        let conn = &self.store.conn;
        let mut stmt = conn.prepare("SELECT account, height, block FROM attest_locks")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            decode_lock_row(row.get(0)?, row.get(1)?, row.get(2)?)?;
        }
        let mut stmt = conn.prepare("SELECT account, state, head_cert FROM witness_accounts")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            decode_account_row(row.get(0)?, row.get(1)?, row.get(2)?)?;
        }
        let mut stmt = conn.prepare("SELECT account, proof FROM frozen")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            decode_frozen_row(row.get(0)?, row.get(1)?)?;
        }
        let mut stmt = conn.prepare("SELECT recipient, entries FROM pending")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            decode_pending_row(row.get(0)?, row.get(1)?)?;
        }
        Ok(())
    }

    /// The underlying database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Gives the database back.
    pub fn into_store(self) -> Store {
        self.store
    }

    fn try_lock(
        &self,
        epoch: u64,
        account: &AccountId,
        height: u64,
    ) -> Result<Option<Block>, StoreError> {
        let height_sql = height_to_sql(height)?;
        let bytes: Option<Vec<u8>> = self
            .store
            .conn
            .prepare_cached(
                "SELECT block FROM attest_locks WHERE epoch = ?1 AND account = ?2 AND height = ?3",
            )?
            .query_row(
                params![height_to_sql(epoch)?, &account.0[..], height_sql],
                |r| r.get(0),
            )
            .optional()?;
        bytes
            .map(|b| decode_lock_row(account.0.to_vec(), height_sql, b))
            .transpose()
    }

    /// Collects the rows of `sql` (one `?1` parameter: the epoch) through `decode`.
    fn read_all<T>(
        &self,
        sql: &str,
        epoch: u64,
        decode: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        let mut stmt = self.store.conn.prepare(sql)?;
        let mut rows = stmt.query(params![height_to_sql(epoch)?])?;
        while let Some(row) = rows.next()? {
            out.push(decode(row)?);
        }
        Ok(out)
    }
}

impl StoreError {
    /// Whether this is [`WitnessStore::put_lock`] refusing a different block at an
    /// already locked `(account, height)` (a primary-key constraint violation).
    pub fn is_lock_conflict(&self) -> bool {
        matches!(
            self,
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        )
    }
}

impl WitnessStore for SqliteWitnessStore {
    /// The locked block; a row that does not decode is [`StoreError::Corrupt`].
    fn lock(
        &self,
        epoch: u64,
        account: &AccountId,
        height: u64,
    ) -> Result<Option<Block>, StoreError> {
        self.try_lock(epoch, account, height)
    }

    /// Inserts the lock in its own immediate transaction, durable (`synchronous=FULL`) when
    /// this returns `Ok`. The same block (same hash) again is `Ok` and keeps the stored
    /// copy; a different block is refused with a primary-key constraint error
    /// ([`StoreError::is_lock_conflict`]); an undecodable row at the slot is
    /// [`StoreError::Corrupt`]. Nothing is ever overwritten.
    fn put_lock(&mut self, epoch: u64, block: &Block) -> Result<(), StoreError> {
        let epoch_sql = height_to_sql(epoch)?;
        let account = block.body.account;
        let height = block.body.height;
        let height_sql = height_to_sql(height)?;
        let encoded = block.encode();
        let tx = self
            .store
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<Vec<u8>> = tx
            .query_row(
                "SELECT block FROM attest_locks WHERE epoch = ?1 AND account = ?2 AND height = ?3",
                params![epoch_sql, &account.0[..], height_sql],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(bytes) = existing {
            let locked = decode_lock_row(account.0.to_vec(), height_sql, bytes)?;
            if locked.hash() == block.hash() {
                return Ok(());
            }
            return Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                ffi::Error::new(ffi::SQLITE_CONSTRAINT_PRIMARYKEY),
                Some(format!(
                    "attest_locks: account {account} is already locked on another block at height {height} in epoch {epoch}"
                )),
            )));
        }
        // A plain INSERT: even if the read above were wrong, the primary key refuses.
        tx.execute(
            "INSERT INTO attest_locks (epoch, account, height, block) VALUES (?1, ?2, ?3, ?4)",
            params![epoch_sql, &account.0[..], height_sql, encoded],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Inserts every lock of a batch in one immediate transaction: all are durable
    /// (`synchronous=FULL`) when this returns `Ok`, none is written if any fails. Each
    /// block is checked as in [`put_lock`](WitnessStore::put_lock): the same block again is
    /// kept, a different one at a locked slot refuses the whole batch.
    fn put_locks(&mut self, epoch: u64, blocks: &[Block]) -> Result<(), StoreError> {
        let epoch_sql = height_to_sql(epoch)?;
        let tx = self
            .store
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for block in blocks {
            let account = block.body.account;
            let height = block.body.height;
            let height_sql = height_to_sql(height)?;
            let existing: Option<Vec<u8>> = tx
                .prepare_cached(
                    "SELECT block FROM attest_locks WHERE epoch = ?1 AND account = ?2 AND height = ?3",
                )?
                .query_row(params![epoch_sql, &account.0[..], height_sql], |r| r.get(0))
                .optional()?;
            if let Some(bytes) = existing {
                let locked = decode_lock_row(account.0.to_vec(), height_sql, bytes)?;
                if locked.hash() == block.hash() {
                    continue;
                }
                return Err(StoreError::Sqlite(rusqlite::Error::SqliteFailure(
                    ffi::Error::new(ffi::SQLITE_CONSTRAINT_PRIMARYKEY),
                    Some(format!(
                        "attest_locks: account {account} is already locked on another block at height {height} in epoch {epoch}"
                    )),
                )));
            }
            tx.prepare_cached(
                "INSERT INTO attest_locks (epoch, account, height, block) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                epoch_sql,
                &account.0[..],
                height_sql,
                block.encode()
            ])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every account whose row decodes (bad rows are logged, counted and skipped).
    fn accounts(&self, epoch: u64) -> Result<Vec<(AccountId, CertifiedAccount)>, StoreError> {
        self.read_all(
            "SELECT account, state, head_cert FROM witness_accounts WHERE epoch = ?1
             ORDER BY account",
            epoch,
            |r| decode_account_row(r.get(0)?, r.get(1)?, r.get(2)?),
        )
    }

    /// Inserts or replaces the account's row. Refuses (as [`StoreError::Corrupt`], writing
    /// nothing) a record that [`check`](SqliteWitnessStore::check) would reject.
    fn put_account(
        &mut self,
        epoch: u64,
        account: AccountId,
        record: &CertifiedAccount,
    ) -> Result<(), StoreError> {
        validate_account(&account, record)?;
        self.store.conn.execute(
            "INSERT INTO witness_accounts (epoch, account, state, head_cert)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(epoch, account) DO UPDATE SET state = excluded.state,
                                                       head_cert = excluded.head_cert",
            params![
                height_to_sql(epoch)?,
                &account.0[..],
                record.state.encode(),
                record.head.as_ref().map(Certificate::encode)
            ],
        )?;
        Ok(())
    }

    /// Every frozen account's proof whose row decodes (bad rows are logged, counted and
    /// skipped).
    fn frozen(&self, epoch: u64) -> Result<Vec<EquivocationProof>, StoreError> {
        self.read_all(
            "SELECT account, proof FROM frozen WHERE epoch = ?1 ORDER BY account",
            epoch,
            |r| decode_frozen_row(r.get(0)?, r.get(1)?),
        )
    }

    /// Freezes the proof's account. Freezing is permanent: an account already frozen keeps
    /// its first proof.
    fn put_frozen(&mut self, epoch: u64, proof: &EquivocationProof) -> Result<(), StoreError> {
        validate_proof(proof)?;
        self.store.conn.execute(
            "INSERT INTO frozen (epoch, account, proof) VALUES (?1, ?2, ?3)
             ON CONFLICT(epoch, account) DO NOTHING",
            params![
                height_to_sql(epoch)?,
                &proof.account().0[..],
                encode_proof(proof)
            ],
        )?;
        Ok(())
    }

    /// Every recipient with at least one pending entry, whose row decodes (bad rows are
    /// logged, counted and skipped).
    fn pending(&self, epoch: u64) -> Result<Vec<(AccountId, Vec<PendingEntry>)>, StoreError> {
        self.read_all(
            "SELECT recipient, entries FROM pending WHERE epoch = ?1 ORDER BY recipient",
            epoch,
            |r| decode_pending_row(r.get(0)?, r.get(1)?),
        )
    }

    /// Replaces the recipient's list; an empty list deletes the row (so
    /// [`pending`](WitnessStore::pending) omits recipients with nothing pending). More than
    /// the format limit (1024 entries) is refused.
    fn put_pending(
        &mut self,
        epoch: u64,
        recipient: AccountId,
        entries: &[PendingEntry],
    ) -> Result<(), StoreError> {
        let epoch_sql = height_to_sql(epoch)?;
        if entries.is_empty() {
            self.store.conn.execute(
                "DELETE FROM pending WHERE epoch = ?1 AND recipient = ?2",
                params![epoch_sql, &recipient.0[..]],
            )?;
            return Ok(());
        }
        let encoded = encode_pending(entries)?;
        self.store.conn.execute(
            "INSERT INTO pending (epoch, recipient, entries) VALUES (?1, ?2, ?3)
             ON CONFLICT(epoch, recipient) DO UPDATE SET entries = excluded.entries",
            params![epoch_sql, &recipient.0[..], encoded],
        )?;
        Ok(())
    }

    /// Whether `epoch` is below the pruning floor or a `closed_epochs` row exists for it.
    fn closed(&self, epoch: u64) -> Result<bool, StoreError> {
        if epoch < self.pruned_below()? {
            return Ok(true);
        }
        let found: Option<i64> = self
            .store
            .conn
            .prepare_cached("SELECT epoch FROM closed_epochs WHERE epoch = ?1")?
            .query_row(params![height_to_sql(epoch)?], |r| r.get(0))
            .optional()?;
        Ok(found.is_some())
    }

    /// Inserts the `closed_epochs` row (idempotent), durable when this returns `Ok`. An
    /// epoch below the pruning floor is closed already and writes nothing.
    fn put_closed(&mut self, epoch: u64) -> Result<(), StoreError> {
        if epoch < self.pruned_below()? {
            return Ok(());
        }
        self.store.conn.execute(
            "INSERT INTO closed_epochs (epoch) VALUES (?1) ON CONFLICT(epoch) DO NOTHING",
            params![height_to_sql(epoch)?],
        )?;
        Ok(())
    }

    /// `COUNT(*)` over the `(epoch, account)` prefix of the locks' primary key.
    fn lock_count(&self, epoch: u64, account: &AccountId) -> Result<u64, StoreError> {
        let count: i64 = self
            .store
            .conn
            .prepare_cached("SELECT COUNT(*) FROM attest_locks WHERE epoch = ?1 AND account = ?2")?
            .query_row(params![height_to_sql(epoch)?, &account.0[..]], |r| r.get(0))?;
        u64::try_from(count).map_err(|_| StoreError::Corrupt(format!("lock count {count}")))
    }

    /// Deletes the rows of every epoch below `epoch` from the five witness tables and
    /// raises the floor, in one immediate transaction (all or nothing, durable on `Ok`).
    fn prune_before(&mut self, epoch: u64) -> Result<(), StoreError> {
        let epoch_sql = height_to_sql(epoch)?;
        if epoch <= self.pruned_below()? {
            return Ok(());
        }
        let tx = self
            .store
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for table in [
            "attest_locks",
            "witness_accounts",
            "frozen",
            "pending",
            "closed_epochs",
        ] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE epoch < ?1"),
                params![epoch_sql],
            )?;
        }
        tx.execute(
            "INSERT INTO witness_pruned (id, floor) VALUES (0, ?1)
             ON CONFLICT(id) DO UPDATE SET floor = max(floor, excluded.floor)",
            params![epoch_sql],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The `witness_pruned` row's floor, 0 without one.
    fn pruned_below(&self) -> Result<u64, StoreError> {
        let floor: Option<i64> = self
            .store
            .conn
            .prepare_cached("SELECT floor FROM witness_pruned WHERE id = 0")?
            .query_row([], |r| r.get(0))
            .optional()?;
        let floor = floor.unwrap_or(0);
        u64::try_from(floor).map_err(|_| StoreError::Corrupt(format!("pruning floor {floor}")))
    }
}

// ---- rows ----

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn decode_lock_row(account: Vec<u8>, height: i64, block: Vec<u8>) -> Result<Block, StoreError> {
    let account = AccountId(to_array(&account, "attest_locks.account")?);
    let block = Block::decode(&block).map_err(|e| {
        corrupt(
            &format!("the lock of {account} at height {height} does not decode"),
            e,
        )
    })?;
    if block.body.account != account || i64::try_from(block.body.height) != Ok(height) {
        return Err(StoreError::Corrupt(format!(
            "the lock row ({account}, {height}) holds a block of ({}, {})",
            block.body.account, block.body.height
        )));
    }
    Ok(block)
}

fn decode_account_row(
    account: Vec<u8>,
    state: Vec<u8>,
    head: Option<Vec<u8>>,
) -> Result<(AccountId, CertifiedAccount), StoreError> {
    let account = AccountId(to_array(&account, "witness_accounts.account")?);
    let state = AccountState::decode(&state)
        .map_err(|e| corrupt(&format!("the state of {account} does not decode"), e))?;
    let head = head
        .map(|bytes| Certificate::decode(&bytes))
        .transpose()
        .map_err(|e| {
            corrupt(
                &format!("the head certificate of {account} does not decode"),
                e,
            )
        })?;
    let record = CertifiedAccount { state, head };
    validate_account(&account, &record)?;
    Ok((account, record))
}

/// What [`SqliteWitnessStore::check`] requires of an account row.
fn validate_account(account: &AccountId, record: &CertifiedAccount) -> Result<(), StoreError> {
    let state = &record.state;
    if state.public_key.account_id() != *account {
        return Err(StoreError::Corrupt(format!(
            "the state stored for {account} holds the key of {}",
            state.public_key.account_id()
        )));
    }
    if !state.fits_encoding() {
        return Err(StoreError::Corrupt(format!(
            "the state of {account} exceeds the state format's limits"
        )));
    }
    if let Some(cert) = &record.head {
        let body = &cert.block.body;
        if body.account != *account
            || body.height != state.head_height
            || cert.block_hash() != state.head_hash
        {
            return Err(StoreError::Corrupt(format!(
                "the head certificate of {account} (height {}) does not certify its state's head (height {})",
                body.height, state.head_height
            )));
        }
    }
    Ok(())
}

fn decode_frozen_row(account: Vec<u8>, proof: Vec<u8>) -> Result<EquivocationProof, StoreError> {
    let account = AccountId(to_array(&account, "frozen.account")?);
    let proof = decode_proof(&proof).map_err(|e| {
        corrupt(
            &format!("the equivocation proof of {account} does not decode"),
            e,
        )
    })?;
    validate_proof(&proof)?;
    if proof.account() != account {
        return Err(StoreError::Corrupt(format!(
            "the frozen row of {account} holds a proof against {}",
            proof.account()
        )));
    }
    Ok(proof)
}

/// A proof's two blocks are at one `(account, height)` (signatures are the verifier's job).
fn validate_proof(proof: &EquivocationProof) -> Result<(), StoreError> {
    let (a, b) = (&proof.first.body, &proof.second.body);
    if a.account != b.account || a.height != b.height {
        return Err(StoreError::Corrupt(format!(
            "an equivocation proof's blocks are at ({}, {}) and ({}, {})",
            a.account, a.height, b.account, b.height
        )));
    }
    Ok(())
}

fn decode_pending_row(
    recipient: Vec<u8>,
    entries: Vec<u8>,
) -> Result<(AccountId, Vec<PendingEntry>), StoreError> {
    let recipient = AccountId(to_array(&recipient, "pending.recipient")?);
    let entries = decode_pending(&entries).map_err(|e| {
        corrupt(
            &format!("the pending list of {recipient} does not decode"),
            e,
        )
    })?;
    Ok((recipient, entries))
}

// ---- value formats ----

fn encode_proof(proof: &EquivocationProof) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(WITNESS_RECORD_VERSION)
        .bytes(&proof.first.encode())
        .bytes(&proof.second.encode());
    w.finish()
}

fn decode_proof(bytes: &[u8]) -> Result<EquivocationProof, DecodeError> {
    let mut r = Reader::new(bytes);
    read_version(&mut r, "equivocation proof")?;
    let first = Block::decode(r.bytes("first block", MAX_BLOCK_LEN)?)?;
    let second = Block::decode(r.bytes("second block", MAX_BLOCK_LEN)?)?;
    r.finish()?;
    Ok(EquivocationProof { first, second })
}

fn encode_pending(entries: &[PendingEntry]) -> Result<Vec<u8>, StoreError> {
    if entries.len() > MAX_STORED_PENDING {
        return Err(StoreError::Corrupt(format!(
            "{} pending entries exceed the stored maximum {MAX_STORED_PENDING}",
            entries.len()
        )));
    }
    let mut w = Writer::new();
    w.u8(WITNESS_RECORD_VERSION).u32(entries.len() as u32);
    for e in entries {
        w.fixed(&e.from.0)
            .u64(e.height)
            .u64(e.amount)
            .fixed(&e.send_hash.0);
    }
    Ok(w.finish())
}

fn decode_pending(bytes: &[u8]) -> Result<Vec<PendingEntry>, DecodeError> {
    let mut r = Reader::new(bytes);
    read_version(&mut r, "pending list")?;
    let count = r.u32("pending count")? as usize;
    if count > MAX_STORED_PENDING {
        return Err(DecodeError::TooLong {
            field: "pending entries",
            len: count,
            max: MAX_STORED_PENDING,
        });
    }
    // Allocation is bounded by the limit above and by the input actually present.
    let mut entries = Vec::with_capacity(count.min(bytes.len() / PENDING_ENTRY_LEN));
    for _ in 0..count {
        entries.push(PendingEntry {
            from: AccountId(r.array("pending from")?),
            height: r.u64("pending height")?,
            amount: r.u64("pending amount")?,
            send_hash: Hash(r.array("pending send hash")?),
        });
    }
    r.finish()?;
    Ok(entries)
}

fn read_version(r: &mut Reader<'_>, what: &'static str) -> Result<(), DecodeError> {
    match r.u8("version")? {
        WITNESS_RECORD_VERSION => Ok(()),
        version => Err(DecodeError::UnsupportedVersion { what, version }),
    }
}

#[cfg(test)]
#[path = "witness_tests.rs"]
mod tests;
