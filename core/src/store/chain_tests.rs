//! Pruning a node's own chain (DESIGN.md §8), on file-backed databases across reopens.

use std::collections::BTreeSet;
use std::path::Path;

use super::*;
use crate::crypto::KeyPair;
use crate::ledger::{next_send, Block, DmappId, EpochRules};
use crate::poc::{Attestation, Epoch, Statement, Witness, WitnessId};
use crate::sim::{genesis_state, sim_key};

const TO: AccountId = AccountId([0xEE; 32]);

struct Chain {
    members: Vec<(Witness, KeyPair)>,
    owner: KeyPair,
    initial: AccountState,
    state: AccountState,
    certs: Vec<Certificate>,
}

impl Chain {
    fn new() -> Self {
        let members = (0..4)
            .map(|i| {
                let keys = sim_key(900 + i);
                let id = WitnessId(*blake3::hash(&keys.public_key().to_bytes()).as_bytes());
                let w = Witness {
                    id,
                    public_key: keys.public_key().clone(),
                };
                (w, keys)
            })
            .collect();
        let owner = sim_key(950);
        let initial = genesis_state(&owner, 1_000);
        Chain {
            members,
            owner,
            state: initial.clone(),
            initial,
            certs: Vec::new(),
        }
    }

    fn epoch(&self, number: u64) -> Epoch {
        let rules = EpochRules {
            epoch: number,
            min_amount: 1,
            dmapps: BTreeSet::new(),
        };
        Epoch::new(
            rules,
            [3; 32],
            4,
            self.members.iter().map(|(w, _)| w.clone()).collect(),
        )
    }

    /// A certified send of 1 in `epoch` at the next height.
    fn send(&mut self, epoch: u64) -> Certificate {
        let body = next_send(&self.state, epoch, TO, 1, vec![], 1, DmappId::WALLET).expect("body");
        let block: Block = body.sign(&mut self.owner).expect("sign");
        let e = self.epoch(epoch);
        let statement = Statement::for_block(epoch, &block);
        let attestations: Vec<Attestation> = self
            .members
            .iter_mut()
            .take(3)
            .map(|(w, k)| Attestation::sign(statement, w.id, k).expect("attest"))
            .collect();
        let cert = Certificate::assemble(block, &e, &attestations);
        assert_eq!(cert.verify(&e), Ok(()));
        self.state = apply_certified(&self.state, &cert.block);
        self.certs.push(cert.clone());
        cert
    }

    fn account(&self) -> AccountId {
        self.owner.public_key().account_id()
    }
}

fn open(path: &Path) -> ChainStore {
    ChainStore::new(Store::open(path).expect("open")).expect("chain store")
}

fn heights(store: &ChainStore, account: &AccountId) -> Vec<u64> {
    store
        .certificates(account)
        .expect("read")
        .iter()
        .map(|c| c.block.body.height)
        .collect()
}

#[test]
fn pruning_keeps_the_head_recent_certificates_and_claimable_sends_across_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chain.db");
    let mut chain = Chain::new();
    let account = chain.account();
    let mut store = open(&path);
    // Heights 1-4 in epoch 0, 5-8 in epoch 5.
    for h in 1..=8 {
        let cert = chain.send(if h <= 4 { 0 } else { 5 });
        store.put(&cert).expect("put");
    }
    let full = chain.state.clone();
    let policy = ChainPruning {
        keep_recent: 2,
        retention_epochs: 2,
    };
    // In epoch 6 with K = 2, epoch 0's sends can no longer be claimed, epoch 5's can.
    let outcome = store
        .prune(&account, &chain.initial, 6, policy)
        .expect("prune");
    assert_eq!(
        outcome,
        PruneOutcome {
            base_height: 6,
            removed: 4
        }
    );
    drop(store);

    let mut store = open(&path);
    assert_eq!(heights(&store, &account), vec![5, 6, 7, 8]);
    let (base_height, base) = store.base(&account).expect("read").expect("a base");
    assert_eq!(base_height, 6);
    let mut replayed = chain.initial.clone();
    for c in &chain.certs[..6] {
        replayed = apply_certified(&replayed, &c.block);
    }
    assert_eq!(base, replayed, "the base is the state after height 6");
    assert_eq!(
        store.head_state(&account, &chain.initial).expect("state"),
        full,
        "the state to build the next block from is unchanged by pruning"
    );
    // The head's certificate is kept for the next block and for catch-up.
    assert_eq!(
        store.certificates(&account).expect("read").last(),
        chain.certs.last()
    );

    // Pruning again changes nothing; later, epoch 5's sends expire too.
    let again = store
        .prune(&account, &chain.initial, 6, policy)
        .expect("prune");
    assert_eq!(again.removed, 0);
    let later = store
        .prune(&account, &chain.initial, 8, policy)
        .expect("prune");
    assert_eq!(later.removed, 2);
    assert_eq!(heights(&store, &account), vec![7, 8]);

    // The chain grows on top of the base after a reopen.
    drop(store);
    let mut store = open(&path);
    let next = chain.send(8);
    store.put(&next).expect("put");
    assert_eq!(
        store.head_state(&account, &chain.initial).expect("state"),
        chain.state
    );
}

#[test]
fn keeping_no_recent_certificates_still_keeps_the_head() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chain.db");
    let mut chain = Chain::new();
    let account = chain.account();
    let mut store = open(&path);
    for _ in 0..3 {
        let cert = chain.send(0);
        store.put(&cert).expect("put");
    }
    let policy = ChainPruning {
        keep_recent: 0,
        retention_epochs: 0,
    };
    let outcome = store
        .prune(&account, &chain.initial, 1, policy)
        .expect("prune");
    assert_eq!(outcome.base_height, 2);
    assert_eq!(heights(&store, &account), vec![3]);
    assert_eq!(
        store.head_state(&account, &chain.initial).expect("state"),
        chain.state
    );
}

#[test]
fn a_gap_in_the_chain_stops_pruning_below_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut chain = Chain::new();
    let account = chain.account();
    let mut store = open(&dir.path().join("chain.db"));
    let certs: Vec<Certificate> = (0..5).map(|_| chain.send(0)).collect();
    for c in certs.iter().filter(|c| c.block.body.height != 4) {
        store.put(c).expect("put");
    }
    let policy = ChainPruning {
        keep_recent: 1,
        retention_epochs: 0,
    };
    let outcome = store
        .prune(&account, &chain.initial, 1, policy)
        .expect("prune");
    // The contiguous chain ends at 3: the base is 2, height 3 stays as the head, and the
    // certificate above the gap is untouched.
    assert_eq!(outcome.base_height, 2);
    assert_eq!(heights(&store, &account), vec![3, 5]);
}
