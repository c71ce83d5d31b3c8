//! Pruning beyond `K` and the quota's count, on the in-memory store and on file-backed
//! SQLite stores, across restarts (a restart replays every record since genesis).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::crypto::{AccountId, KeyPair};
use crate::ledger::{apply_certified, AccountState, Block, BlockBody, DmappId, EpochRules, Op};
use crate::poc::{
    AttestReply, AttestRequest, Attestation, Certificate, Epoch, HandoverError, MemoryWitnessStore,
    Witness, WitnessId, WitnessNode, WitnessStore,
};
use crate::sim::{genesis_state, sim_key};
use crate::store::SqliteWitnessStore;

/// Opens the durable store of witness `i` again (a new process).
trait Disk: WitnessStore + Sized {
    fn reopen(self, i: usize, dir: &std::path::Path) -> Self;
    fn fresh(i: usize, dir: &std::path::Path) -> Self;
}

impl Disk for MemoryWitnessStore {
    fn reopen(self, _: usize, _: &std::path::Path) -> Self {
        self
    }
    fn fresh(_: usize, _: &std::path::Path) -> Self {
        MemoryWitnessStore::default()
    }
}

fn db(i: usize, dir: &std::path::Path) -> PathBuf {
    dir.join(format!("witness-{i}.db"))
}

impl Disk for SqliteWitnessStore {
    fn reopen(self, i: usize, dir: &std::path::Path) -> Self {
        drop(self);
        SqliteWitnessStore::open(db(i, dir)).expect("reopen")
    }
    fn fresh(i: usize, dir: &std::path::Path) -> Self {
        SqliteWitnessStore::open(db(i, dir)).expect("open")
    }
}

/// Four witnesses serving epochs 0-3 (FastPay, q = 3), `K = 1`, quota 1.
struct World<S: Disk> {
    dir: tempfile::TempDir,
    ids: Vec<(Witness, KeyPair)>,
    epochs: Vec<Epoch>,
    owner: KeyPair,
    state: AccountState,
    genesis: Vec<(AccountId, AccountState)>,
    nodes: Vec<Option<WitnessNode<S>>>,
}

impl<S: Disk> World<S> {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let ids: Vec<(Witness, KeyPair)> = (0..4)
            .map(|i| {
                let keys = sim_key(1_400 + i);
                let id = WitnessId(*blake3::hash(&keys.public_key().to_bytes()).as_bytes());
                let w = Witness {
                    id,
                    public_key: keys.public_key().clone(),
                };
                (w, keys)
            })
            .collect();
        let epochs: Vec<Epoch> = (0..4)
            .map(|e| {
                let rules = EpochRules {
                    epoch: e,
                    min_amount: 1,
                    dmapps: BTreeSet::new(),
                };
                let set = ids.iter().map(|(w, _)| w.clone()).collect();
                Epoch::new(rules, [e as u8; 32], 4, set)
                    .with_retention(1)
                    .with_attest_quota(1)
            })
            .collect();
        let owner = sim_key(1_410);
        let state = genesis_state(&owner, 1_000);
        let genesis = vec![(owner.public_key().account_id(), state.clone())];
        let nodes = (0..4)
            .map(|i| {
                let (w, k) = &ids[i];
                let store = S::fresh(i, dir.path());
                Some(
                    WitnessNode::start(w.clone(), k.clone(), epochs[0].clone(), store, &genesis)
                        .expect("start"),
                )
            })
            .collect();
        World {
            dir,
            ids,
            epochs,
            owner,
            state,
            genesis,
            nodes,
        }
    }

    fn node(&mut self, i: usize) -> &mut WitnessNode<S> {
        self.nodes[i].as_mut().expect("running")
    }

    fn account(&self) -> AccountId {
        self.owner.public_key().account_id()
    }

    fn send(&mut self, epoch: u64) -> Block {
        let to = AccountId([9; 32]);
        BlockBody {
            account: self.account(),
            height: self.state.head_height + 1,
            previous: self.state.head_hash,
            epoch,
            op: Op::Send {
                to,
                amount: 10,
                memo: vec![],
                prev_to: self.state.last_sent_to.get(&to).copied(),
            },
            balance: self.state.balance - 10,
            timestamp_ms: 1,
            dmapp: DmappId::WALLET,
        }
        .sign(&mut self.owner)
        .expect("sign")
    }

    fn attest(&mut self, i: usize, block: &Block) -> AttestReply {
        self.node(i).handle_attest(&AttestRequest {
            block: block.clone(),
            send: None,
        })
    }

    fn certify(&mut self, block: &Block, epoch: usize) {
        let attestations: Vec<Attestation> = (0..3)
            .map(|i| match self.attest(i, block) {
                AttestReply::Attested(a) => a,
                other => panic!("member {i} did not attest: {other:?}"),
            })
            .collect();
        let cert = Certificate::assemble(block.clone(), &self.epochs[epoch], &attestations);
        for i in 0..4 {
            self.node(i).handle_certificate(&cert);
        }
        self.state = apply_certified(&self.state, block);
    }

    fn advance(&mut self, to: usize) {
        let next = self.epochs[to].clone();
        for i in 0..4 {
            self.node(i).advance_epoch(next.clone()).expect("advance");
        }
    }

    /// Witness `i` crashes and restarts from its durable store, replaying `R_1..R_upto`.
    fn restart(&mut self, i: usize, upto: usize) {
        let store = self.nodes[i].take().expect("running").into_store();
        let store = store.reopen(i, self.dir.path());
        let (w, k) = &self.ids[i];
        let mut node = WitnessNode::start(
            w.clone(),
            k.clone(),
            self.epochs[0].clone(),
            store,
            &self.genesis,
        )
        .expect("restart");
        for e in &self.epochs[1..=upto] {
            node.advance_epoch(e.clone()).expect("replay");
        }
        self.nodes[i] = Some(node);
    }

    fn store(&mut self, i: usize) -> S {
        self.nodes[i].take().expect("running").into_store()
    }
}

fn epochs_beyond_k_are_pruned_and_stay_pruned_across_a_restart<S: Disk>() {
    let mut w: World<S> = World::new();
    let account = w.account();
    let block = w.send(0);
    w.certify(&block, 0);
    w.advance(1);
    // K = 1: epoch 0 is still kept in epoch 1 (handovers about it are needed now).
    assert!(w.node(0).handle_handover_request(&account, 0).is_ok());
    w.advance(2);
    // In epoch 2, epoch 0 is gone from memory and from the store.
    assert_eq!(
        w.node(0).handle_handover_request(&account, 0),
        Err(HandoverError::NotRetained(0))
    );
    w.restart(0, 2);
    assert_eq!(w.node(0).epoch(), 2);
    assert_eq!(
        w.node(0).handle_handover_request(&account, 0),
        Err(HandoverError::NotRetained(0))
    );
    let store = w.store(0);
    assert_eq!(store.pruned_below().expect("floor"), 1);
    assert!(
        store.closed(0).expect("read"),
        "a pruned epoch reads as closed"
    );
    assert!(
        store.closed(1).expect("read"),
        "epoch 1's own marker is kept"
    );
    assert_eq!(store.lock(0, &account, 1).expect("read"), None);
    assert!(
        store.accounts(0).expect("read").is_empty(),
        "genesis is not re-seeded"
    );
    assert_eq!(store.lock_count(0, &account).expect("count"), 0);
}

#[test]
fn epochs_beyond_k_are_pruned_from_the_memory_store() {
    epochs_beyond_k_are_pruned_and_stay_pruned_across_a_restart::<MemoryWitnessStore>();
}

#[test]
fn epochs_beyond_k_are_pruned_from_a_sqlite_file_and_stay_pruned_after_reopening() {
    epochs_beyond_k_are_pruned_and_stay_pruned_across_a_restart::<SqliteWitnessStore>();
}

#[test]
fn pruning_drops_every_table_of_old_epochs_in_sqlite_and_keeps_the_rest() {
    let mut w: World<SqliteWitnessStore> = World::new();
    let block = w.send(0);
    w.certify(&block, 0);
    w.advance(1);
    let path = db(0, w.dir.path());
    let store = w.store(0);
    drop(store);
    let count = |table: &str| -> i64 {
        rusqlite::Connection::open(&path)
            .expect("raw")
            .query_row(
                &format!("SELECT COUNT(*) FROM {table} WHERE epoch < 1"),
                [],
                |r| r.get(0),
            )
            .expect("count")
    };
    assert_eq!(count("attest_locks"), 1);
    assert_eq!(count("witness_accounts"), 1);
    assert_eq!(count("closed_epochs"), 1);
    let mut store = SqliteWitnessStore::open(&path).expect("reopen");
    store.prune_before(1).expect("prune");
    store.prune_before(0).expect("a lower floor is a no-op");
    drop(store);
    let store = SqliteWitnessStore::open(&path).expect("reopen");
    assert_eq!(store.pruned_below().expect("floor"), 1);
    for table in [
        "attest_locks",
        "witness_accounts",
        "frozen",
        "pending",
        "closed_epochs",
    ] {
        assert_eq!(count(table), 0, "{table}");
    }
}

fn the_quota_count_survives_a_restart<S: Disk>() {
    let mut w: World<S> = World::new();
    let account = w.account();
    let first = w.send(0);
    w.certify(&first, 0);
    let second = w.send(0);
    w.restart(0, 0);
    assert_eq!(w.node(0).quota_used(&account).expect("count"), 1);
    assert_eq!(
        w.attest(0, &second),
        AttestReply::QuotaExceeded {
            account,
            epoch: 0,
            quota: 1
        }
    );
}

#[test]
fn the_quota_count_survives_a_restart_on_sqlite() {
    the_quota_count_survives_a_restart::<SqliteWitnessStore>();
}
