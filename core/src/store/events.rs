//! A node's durable events (DESIGN.md §9): the certified transfers of its account that the
//! app has not acknowledged yet, in the chain database (table `node_events`).
//!
//! Invariant: a transfer's event row is written in the same transaction as its certificate
//! ([`ChainStore::put_with_event`]), so after any crash either both are on disk or neither
//! is, and a certified transfer is never left without its event. Rows are deleted when the
//! app acknowledges them ([`ChainStore::delete_events`]).

use rusqlite::params;

use super::{height_to_sql, to_array, ChainStore, StoreError};
use crate::crypto::AccountId;
use crate::poc::Certificate;

/// Which side of a transfer an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferEventKind {
    /// A send of this account was certified.
    Certified,
    /// A payment to this account was received (its `Receive` block certified).
    Received,
}

impl TransferEventKind {
    fn as_sql(self) -> &'static str {
        match self {
            TransferEventKind::Certified => "certified",
            TransferEventKind::Received => "received",
        }
    }

    fn from_sql(s: &str) -> Result<Self, StoreError> {
        match s {
            "certified" => Ok(TransferEventKind::Certified),
            "received" => Ok(TransferEventKind::Received),
            other => Err(StoreError::Corrupt(format!("node event kind {other:?}"))),
        }
    }
}

/// A durable event: a certified transfer of `account`, with the queue id it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferEvent {
    /// The event's id in the node's queue (≥ 1, unique in this database).
    pub id: u64,
    /// The account whose chain holds the block.
    pub account: AccountId,
    /// Sent or received.
    pub kind: TransferEventKind,
    /// The block's height.
    pub height: u64,
    /// The recipient of a send, the sender of a payment.
    pub counterparty: AccountId,
    /// The amount moved.
    pub amount: u64,
    /// Submit → certificate, in milliseconds (0 for received payments).
    pub latency_ms: u64,
}

fn u64_to_sql(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{what} {value} exceeds i64::MAX")))
}

fn u64_from_sql(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{what} {value} is negative")))
}

impl ChainStore {
    /// Records `cert` (like [`ChainStore::put`]) and, in the same transaction, `event`.
    /// Returns `false` and writes nothing if the certificate was already recorded (then its
    /// event was too, or was already acknowledged).
    pub fn put_with_event(
        &mut self,
        cert: &Certificate,
        event: Option<&TransferEvent>,
    ) -> Result<bool, StoreError> {
        let body = &cert.block.body;
        let tx = self.store.conn.transaction()?;
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO chain_certificates (account, height, cert) VALUES (?1, ?2, ?3)",
            params![
                &body.account.0[..],
                height_to_sql(body.height)?,
                cert.encode()
            ],
        )?;
        if inserted == 0 {
            return Ok(false);
        }
        if let Some(e) = event {
            tx.execute(
                "INSERT INTO node_events
                     (id, account, kind, height, counterparty, amount, latency_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    u64_to_sql(e.id, "event id")?,
                    &e.account.0[..],
                    e.kind.as_sql(),
                    height_to_sql(e.height)?,
                    &e.counterparty.0[..],
                    u64_to_sql(e.amount, "amount")?,
                    u64_to_sql(e.latency_ms, "latency")?,
                ],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// The unacknowledged events of `account`, oldest (smallest id) first.
    pub fn events(&self, account: &AccountId) -> Result<Vec<TransferEvent>, StoreError> {
        let mut stmt = self.store.conn.prepare(
            "SELECT id, kind, height, counterparty, amount, latency_ms FROM node_events
             WHERE account = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![&account.0[..]], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, height, counterparty, amount, latency_ms) = row?;
            out.push(TransferEvent {
                id: u64_from_sql(id, "event id")?,
                account: *account,
                kind: TransferEventKind::from_sql(&kind)?,
                height: u64_from_sql(height, "height")?,
                counterparty: AccountId(to_array(&counterparty, "counterparty")?),
                amount: u64_from_sql(amount, "amount")?,
                latency_ms: u64_from_sql(latency_ms, "latency")?,
            });
        }
        Ok(out)
    }

    /// The largest event id ever stored here, deleted rows included (0 if none): the
    /// node numbers new events above it, so an id never names two events.
    pub fn max_event_id(&self) -> Result<u64, StoreError> {
        let max: Option<i64> = self.store.conn.query_row(
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'node_events'), 0),
                        coalesce((SELECT max(id) FROM node_events), 0))",
            [],
            |r| r.get(0),
        )?;
        u64_from_sql(max.unwrap_or(0), "event id")
    }

    /// Deletes the acknowledged events `ids` (ids not stored are ignored), in one
    /// transaction.
    pub fn delete_events(&mut self, ids: &[u64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let tx = self.store.conn.transaction()?;
        {
            let mut stmt = tx.prepare("DELETE FROM node_events WHERE id = ?1")?;
            for id in ids {
                stmt.execute(params![u64_to_sql(*id, "event id")?])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
