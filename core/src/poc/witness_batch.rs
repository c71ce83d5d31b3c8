//! A witness attesting many requests at once under one root signature (DESIGN.md §4).
//!
//! The batch's outcome is that of handling its requests one by one, in order, with
//! [`WitnessNode::handle_attest`] — the same rules, the same refusals, the same durable
//! freezes — except that the attestations of the accepted requests leave together, after
//! every lock of the batch is durable ([`WitnessStore::put_locks`], one transaction on
//! SQLite), under one Falcon signature over the Merkle root of their statements.
//!
//! Two requests of one batch at one `(account, height)` meet exactly as they would one
//! after the other: the first admitted counts as a lock for the ones after it, so the same
//! block is attested twice (two leaves) and a different owner-signed block is an
//! equivocation that freezes the account.

use std::collections::BTreeMap;

use super::{Admit, AttestReply, AttestRequest, WitnessNode};
use crate::crypto::AccountId;
use crate::ledger::Block;
use crate::poc::batch::{sign_batch, BatchAttestation};
use crate::poc::{Statement, WitnessStore, MAX_BATCH};

/// A witness's answer to one request of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchReply {
    /// Valid and locked: the batch attestation (root signature and this block's path).
    Attested(BatchAttestation),
    /// Refused, as [`WitnessNode::handle_attest`] would have refused it alone (never
    /// [`AttestReply::Attested`]).
    Refused(Box<AttestReply>),
}

impl<S: WitnessStore> WitnessNode<S> {
    /// Answers `requests` as one batch: one reply per request, in order. Requests beyond
    /// [`MAX_BATCH`] go into further batches of at most that many, each with its own root
    /// (and each batch's locks are durable before the next batch is looked at).
    pub fn handle_attest_batch(&mut self, requests: &[AttestRequest]) -> Vec<BatchReply> {
        requests
            .chunks(MAX_BATCH)
            .flat_map(|chunk| self.attest_chunk(chunk))
            .collect()
    }

    fn attest_chunk(&mut self, requests: &[AttestRequest]) -> Vec<BatchReply> {
        let mut admitted: BTreeMap<(AccountId, u64), Block> = BTreeMap::new();
        let mut locks: Vec<Block> = Vec::new();
        let mut accepted: Vec<usize> = Vec::new();
        let mut replies: Vec<Option<BatchReply>> = Vec::with_capacity(requests.len());
        for (i, request) in requests.iter().enumerate() {
            match self.admit(request, &admitted) {
                Err(refusal) => replies.push(Some(BatchReply::Refused(Box::new(refusal)))),
                Ok(admit) => {
                    let block = &request.block;
                    if admit == Admit::NewLock {
                        admitted.insert((block.body.account, block.body.height), block.clone());
                        locks.push(block.clone());
                    }
                    accepted.push(i);
                    replies.push(None);
                }
            }
        }
        if !accepted.is_empty() {
            // Every lock is durable before the root (hence any attestation) exists.
            let signed = self
                .store
                .put_locks(self.current, &locks)
                .map_err(|e| e.to_string())
                .and_then(|()| {
                    let statements: Vec<Statement> = accepted
                        .iter()
                        .map(|i| Statement::for_block(self.current, &requests[*i].block))
                        .collect();
                    sign_batch(&statements, self.me.id, &mut self.keys).map_err(|e| e.to_string())
                });
            match signed {
                Ok(attestations) => {
                    for (i, a) in accepted.iter().zip(attestations) {
                        replies[*i] = Some(BatchReply::Attested(a));
                    }
                }
                Err(e) => {
                    for i in &accepted {
                        replies[*i] = Some(BatchReply::Refused(Box::new(AttestReply::Storage(
                            e.clone(),
                        ))));
                    }
                }
            }
        }
        replies
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    unreachable!("every request is answered: refused, or attested or failed")
                })
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "witness_batch_tests.rs"]
mod tests;
