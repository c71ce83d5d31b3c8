//! A new member's collection of handovers for one account (DESIGN.md §4): the pure
//! decision of when it may serve the account in the next epoch, and with what.
//!
//! Rules (the reports given here are already verified by [`super::Handover::verify`]):
//! - Nothing is decided before reports from `q` distinct epoch-`e` members are in.
//! - `H_max` is the highest head certificate that verified against its epoch.
//! - The adopted record (state and head block) must be reported *identically* by at least
//!   `f + 1` members — so at least one honest member vouches for the whole state, receive
//!   cursors included, not just for the head block — and must reach `H_max`. A record
//!   whose certificate is older than `K` epochs cannot be checked here; `f + 1` identical
//!   reports are what re-certifies it. Until such a record exists the member keeps asking
//!   for handovers (honest old members converge: they keep adopting certificates of `e`).
//! - The locks that count are those reported at the adopted head + 1; two different ones
//!   are an equivocation proof.

use std::collections::BTreeMap;

use super::{CertifiedAccount, EquivocationProof, Handover, PendingEntry, WitnessId};
use crate::crypto::Hash;
use crate::ledger::Block;

/// One verified report and whether its head certificate verified (or it has none).
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) handover: Handover,
    pub(crate) head_verified: bool,
}

/// What a completed collection decided.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    /// The adopted record (`None`: the account is not opened).
    pub(crate) record: Option<CertifiedAccount>,
    /// Distinct owner-signed blocks reported as locked at the adopted head + 1.
    pub(crate) locks: Vec<Block>,
    /// A reported (verified) proof that froze the account.
    pub(crate) frozen: Option<EquivocationProof>,
    /// Every reported pending entry (merged by the caller).
    pub(crate) pending: Vec<PendingEntry>,
}

/// Handovers collected for one account.
#[derive(Debug, Clone, Default)]
pub(crate) struct Takeover {
    reports: BTreeMap<WitnessId, Report>,
}

/// `-1` for "no record", else the head height: heights of records compare with it.
fn rank(record: Option<&CertifiedAccount>) -> i128 {
    record.map_or(-1, |r| i128::from(r.state.head_height))
}

impl Takeover {
    /// Adds a report, keeping per member the one with the higher head (a lagging member
    /// that caught up replaces its older report).
    pub(crate) fn add(&mut self, report: Report) {
        let id = report.handover.witness;
        let better = self.reports.get(&id).is_none_or(|old| {
            rank(report.handover.record.as_ref()) > rank(old.handover.record.as_ref())
        });
        if better {
            self.reports.insert(id, report);
        }
    }

    /// Whether `member` has reported.
    pub(crate) fn has(&self, member: &WitnessId) -> bool {
        self.reports.contains_key(member)
    }

    /// Distinct members heard from.
    pub(crate) fn count(&self) -> usize {
        self.reports.len()
    }

    /// The decision, once `quorum` reports are in and a record reaching `H_max` is vouched
    /// for by `f + 1` identical reports.
    pub(crate) fn decide(&self, quorum: usize, f: usize) -> Option<Decision> {
        if self.reports.len() < quorum {
            return None;
        }
        let h_max = self
            .reports
            .values()
            .filter(|r| r.head_verified)
            .filter(|r| r.handover.record.as_ref().is_some_and(|c| c.head.is_some()))
            .map(|r| rank(r.handover.record.as_ref()))
            .max()
            .unwrap_or(-1);
        // Per identical record: its voters, and a report to take it from (one whose head
        // certificate verified, if any did).
        let mut votes: BTreeMap<Hash, (usize, &Handover)> = BTreeMap::new();
        for r in self.reports.values() {
            let entry = votes
                .entry(r.handover.record_digest())
                .or_insert((0, &r.handover));
            entry.0 += 1;
            if r.head_verified {
                entry.1 = &r.handover;
            }
        }
        let chosen = votes
            .values()
            .filter(|(count, _)| *count > f)
            .map(|(_, h)| *h)
            .max_by_key(|h| rank(h.record.as_ref()))?;
        if rank(chosen.record.as_ref()) < h_max {
            return None;
        }
        let next = chosen.next_height();
        let mut locks: BTreeMap<Hash, Block> = BTreeMap::new();
        for r in self.reports.values() {
            let h = &r.handover;
            // `Handover::verify` checked that a lock is the owner's block at the
            // reporter's next height; only the adopted next height matters.
            if let Some(lock) = h.lock.as_ref().filter(|_| h.next_height() == next) {
                locks.insert(lock.hash(), lock.clone());
            }
        }
        Some(Decision {
            record: chosen.record.clone(),
            locks: locks.into_values().collect(),
            frozen: self
                .reports
                .values()
                .find_map(|r| r.handover.frozen.clone()),
            pending: self
                .reports
                .values()
                .flat_map(|r| r.handover.pending.iter().copied())
                .collect(),
        })
    }
}
