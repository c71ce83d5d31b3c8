//! A node's own chain: the certificate of every certified block of its account, written
//! before the node reports the block as certified (so a restart never forgets a transfer).
//!
//! **Pruning** (DESIGN.md §8 "Old blocks below a certified head may be pruned
//! (configurable)"). [`ChainStore::prune`] folds the certificates below the head into a
//! *base*: the account state after the highest pruned block (table `chain_base`, schema
//! v5). It always keeps the head and its certificate (the next block names its hash and
//! catches lagging members up from it), the [`ChainPruning::keep_recent`] most recent
//! certificates (catch-up of members further behind), and every `Send` certificate whose
//! epoch is still claimable (`K` epochs, DESIGN.md §4: the full certificate stays with the
//! sender). The state to build the next block from is then [`ChainStore::head_state`]:
//! the base (or the initial state) with the certificates above it applied. Pruning is
//! off unless the node calls it; a pruned chain must be read with `head_state`, not by
//! replaying [`ChainStore::certificates`] from genesis.

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{Store, StoreError};
use crate::crypto::AccountId;
use crate::ledger::{apply_certified, AccountState, Op};
use crate::poc::Certificate;

/// How much of its own chain a node keeps when it prunes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainPruning {
    /// Certificates kept at the top of the chain, the head's included (0 counts as 1: the
    /// head's certificate is never pruned).
    pub keep_recent: u64,
    /// `K` (genesis `retention_epochs`): a `Send` certificate of epoch `s` is kept while
    /// `s + K ≥` the current epoch, since its recipient may still claim it.
    pub retention_epochs: u64,
}

impl Default for ChainPruning {
    /// 16 recent certificates, `K` = [`crate::poc::DEFAULT_RETENTION`].
    fn default() -> Self {
        ChainPruning {
            keep_recent: 16,
            retention_epochs: crate::poc::DEFAULT_RETENTION,
        }
    }
}

/// What [`ChainStore::prune`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneOutcome {
    /// The height the base now stands at (the state after that block is stored).
    pub base_height: u64,
    /// Certificates deleted.
    pub removed: usize,
}

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

    /// Every stored certificate of `account`, by height. A row that does not decode is a
    /// typed error (a damaged store), never silently skipped. After a [`prune`](Self::prune)
    /// this is no longer a chain from genesis: use [`head_state`](Self::head_state).
    pub fn certificates(&self, account: &AccountId) -> Result<Vec<Certificate>, StoreError> {
        read_certificates(&self.store.conn, account)
    }

    /// The base left by pruning: the height and the state after that block, if any.
    pub fn base(&self, account: &AccountId) -> Result<Option<(u64, AccountState)>, StoreError> {
        read_base(&self.store.conn, account)
    }

    /// The state after the highest certified block stored, to build the next block from:
    /// the base if pruned (else `initial`, the genesis or empty state of the account) with
    /// the contiguous certificates above it applied.
    pub fn head_state(
        &self,
        account: &AccountId,
        initial: &AccountState,
    ) -> Result<AccountState, StoreError> {
        let base = read_base(&self.store.conn, account)?;
        let certs = read_certificates(&self.store.conn, account)?;
        let (state, _) = replay(
            base.map_or_else(|| initial.clone(), |(_, s)| s),
            &certs,
            None,
        );
        Ok(state)
    }

    /// Prunes `account`'s chain below its head as `policy` says, in one immediate
    /// transaction (durable on `Ok`; a crash leaves the chain before or after, never in
    /// between). Pruning again later moves the base up and drops the `Send` certificates
    /// kept earlier that are no longer claimable. `initial` is the account's state before its first certificate (used only
    /// if nothing was pruned before); `current_epoch` decides which `Send` certificates are
    /// still claimable. Only a contiguous chain is folded: a gap stops it there.
    pub fn prune(
        &mut self,
        account: &AccountId,
        initial: &AccountState,
        current_epoch: u64,
        policy: ChainPruning,
    ) -> Result<PruneOutcome, StoreError> {
        let tx = self
            .store
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let base = read_base(&tx, account)?;
        let base_height = base.as_ref().map_or(initial.head_height, |(h, _)| *h);
        let certs = read_certificates(&tx, account)?;
        let (_, head) = replay(
            base.clone().map_or_else(|| initial.clone(), |(_, s)| s),
            &certs,
            None,
        );
        let target = head
            .saturating_sub(policy.keep_recent.max(1))
            .max(base_height);
        if target > base_height {
            let (state, reached) = replay(
                base.map_or_else(|| initial.clone(), |(_, s)| s),
                &certs,
                Some(target),
            );
            if reached != target {
                return Err(StoreError::Corrupt(format!(
                    "the chain of {account} stops at height {reached} below the pruning target {target}"
                )));
            }
            tx.execute(
                "INSERT INTO chain_base (account, height, state) VALUES (?1, ?2, ?3)
                 ON CONFLICT(account) DO UPDATE SET height = excluded.height, state = excluded.state",
                params![&account.0[..], sql_height(target)?, state.encode()],
            )?;
        }
        // Below the base, only claimable sends stay; a send kept by an earlier prune goes
        // once its epoch is more than K behind.
        let mut removed = 0;
        for cert in certs.iter().filter(|c| c.block.body.height <= target) {
            let claimable = matches!(cert.block.body.op, Op::Send { .. })
                && cert.epoch.saturating_add(policy.retention_epochs) >= current_epoch;
            if !claimable {
                removed += tx.execute(
                    "DELETE FROM chain_certificates WHERE account = ?1 AND height = ?2",
                    params![&account.0[..], sql_height(cert.block.body.height)?],
                )?;
            }
        }
        tx.commit()?;
        Ok(PruneOutcome {
            base_height: target,
            removed,
        })
    }
}

fn sql_height(height: u64) -> Result<i64, StoreError> {
    super::height_to_sql(height)
}

/// Applies the certificates that continue `state`'s chain (height head + 1, + 2, ...),
/// up to `until` if given; returns the state and the height reached.
fn replay(
    mut state: AccountState,
    certs: &[Certificate],
    until: Option<u64>,
) -> (AccountState, u64) {
    for cert in certs {
        let height = cert.block.body.height;
        if height <= state.head_height {
            continue;
        }
        if height != state.head_height + 1 || until.is_some_and(|u| height > u) {
            break;
        }
        state = apply_certified(&state, &cert.block);
    }
    let reached = state.head_height;
    (state, reached)
}

fn read_base(
    conn: &rusqlite::Connection,
    account: &AccountId,
) -> Result<Option<(u64, AccountState)>, StoreError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT height, state FROM chain_base WHERE account = ?1",
            params![&account.0[..]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(height, bytes)| {
        let state = AccountState::decode(&bytes)
            .map_err(|e| StoreError::Corrupt(format!("the chain base of {account}: {e}")))?;
        let height = u64::try_from(height)
            .ok()
            .filter(|h| *h == state.head_height)
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "the chain base of {account} at height {height} holds a state at height {}",
                    state.head_height
                ))
            })?;
        Ok((height, state))
    })
    .transpose()
}

fn read_certificates(
    conn: &rusqlite::Connection,
    account: &AccountId,
) -> Result<Vec<Certificate>, StoreError> {
    let mut stmt = conn.prepare(
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

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;
