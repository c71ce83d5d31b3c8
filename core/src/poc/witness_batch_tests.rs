//! A witness attesting batches: the same rules as one by one, locks durable first.

use std::collections::BTreeSet;

use super::*;
use crate::crypto::KeyPair;
use crate::ledger::{AccountState, BlockBody, DmappId, EpochRules, Op};
use crate::poc::{
    Certificate, CertificateOutcome, Epoch, MemoryWitnessStore, VerifiedRoots, Witness, WitnessId,
};
use crate::sim::{genesis_state, sim_key, sim_members};
use crate::store::{SqliteWitnessStore, Store};

/// Four witnesses (every committee is all four, q = 3) and `wallets` funded wallets.
struct Fixture {
    epoch: Epoch,
    members: Vec<(Witness, KeyPair)>,
    owners: Vec<KeyPair>,
    genesis: Vec<(AccountId, AccountState)>,
}

fn fixture(wallets: usize) -> Fixture {
    let members = sim_members(800..804);
    let rules = EpochRules {
        epoch: 0,
        min_amount: 1,
        dmapps: BTreeSet::new(),
    };
    let epoch = Epoch::new(
        rules,
        [2; 32],
        4,
        members.iter().map(|(w, _)| w.clone()).collect(),
    );
    let owners: Vec<KeyPair> = (0..wallets).map(|i| sim_key(810 + i)).collect();
    let genesis = owners
        .iter()
        .map(|k| (k.public_key().account_id(), genesis_state(k, 1_000)))
        .collect();
    Fixture {
        epoch,
        members,
        owners,
        genesis,
    }
}

impl Fixture {
    fn node<S: WitnessStore>(&self, i: usize, store: S) -> WitnessNode<S> {
        let (w, k) = &self.members[i];
        WitnessNode::start(
            w.clone(),
            k.clone(),
            self.epoch.clone(),
            store,
            &self.genesis,
        )
        .expect("start")
    }

    /// Wallet `o`'s first send of `amount` (height 1).
    fn send(&mut self, o: usize, amount: u64) -> Block {
        let state = self.genesis[o].1.clone();
        BlockBody {
            account: state.public_key.account_id(),
            height: 1,
            previous: state.head_hash,
            epoch: 0,
            op: Op::Send {
                to: AccountId([9; 32]),
                amount,
                memo: vec![],
                prev_to: None,
            },
            balance: state.balance - amount,
            timestamp_ms: 1,
            dmapp: DmappId::WALLET,
        }
        .sign(&mut self.owners[o])
        .expect("sign")
    }
}

fn request(block: &Block) -> AttestRequest {
    AttestRequest {
        block: block.clone(),
        send: None,
    }
}

fn attested(reply: &BatchReply) -> &crate::poc::BatchAttestation {
    match reply {
        BatchReply::Attested(a) => a,
        BatchReply::Refused(r) => panic!("refused: {r:?}"),
    }
}

#[test]
fn a_batch_is_locked_then_signed_once_and_refusals_are_those_of_single_requests() {
    let mut fx = fixture(4);
    let good: Vec<Block> = (0..3).map(|o| fx.send(o, 10 + o as u64)).collect();
    // Altered after signing: refused as invalid.
    let mut bad = fx.send(3, 10);
    bad.body.balance += 1;
    let requests = vec![
        request(&good[0]),
        request(&bad),
        request(&good[1]),
        request(&good[2]),
    ];
    let mut node = fx.node(0, MemoryWitnessStore::default());
    let replies = node.handle_attest_batch(&requests);
    assert_eq!(replies.len(), 4);
    let mut alone = fx.node(1, MemoryWitnessStore::default());
    assert_eq!(
        replies[1],
        BatchReply::Refused(Box::new(alone.handle_attest(&request(&bad)))),
        "the refusal a single request gets"
    );
    assert!(matches!(
        &replies[1],
        BatchReply::Refused(r) if matches!(**r, AttestReply::Invalid(_))
    ));
    let me = &fx.members[0].0;
    let atts: Vec<_> = [0, 2, 3].iter().map(|i| attested(&replies[*i])).collect();
    for (a, block) in atts.iter().zip(&good) {
        assert_eq!(a.statement, Statement::for_block(0, block));
        assert!(a.verify(me));
        assert_eq!(a.proof.size, 3, "the refused request is not a leaf");
    }
    // One root, one signature for the batch.
    assert!(atts
        .iter()
        .all(|a| a.proof.signature == atts[0].proof.signature));
    let mut cache = VerifiedRoots::new(4);
    assert!(atts.iter().all(|a| a.verify_cached(me, &mut cache)));
    assert_eq!(cache.stats(), (2, 1));
    // Every accepted block's lock is durable; the refused one is not locked.
    let store = node.into_store();
    for block in &good {
        assert_eq!(
            store.lock(0, &block.body.account, 1).expect("read"),
            Some(block.clone())
        );
    }
    assert_eq!(store.lock(0, &bad.body.account, 1).expect("read"), None);
    // After a restart, a different block at a locked height is an equivocation.
    let mut node = fx.node(0, store);
    let twin = fx.send(0, 77);
    assert!(matches!(
        &node.handle_attest_batch(&[request(&twin)])[0],
        BatchReply::Refused(r) if matches!(**r, AttestReply::Equivocation(_))
    ));
}

#[test]
fn two_blocks_at_one_height_in_one_batch_meet_as_they_would_one_after_the_other() {
    let mut fx = fixture(2);
    let first = fx.send(0, 10);
    let twin = fx.send(0, 20);
    let other = fx.send(1, 10);
    let mut node = fx.node(2, MemoryWitnessStore::default());
    let replies = node.handle_attest_batch(&[
        request(&first),
        request(&first),
        request(&twin),
        request(&other),
    ]);
    // The same block twice: two leaves, both attested.
    assert_eq!(
        attested(&replies[0]).statement,
        attested(&replies[1]).statement
    );
    assert_ne!(
        attested(&replies[0]).proof.index,
        attested(&replies[1]).proof.index
    );
    // The twin: an equivocation proof, and the account is frozen (durably).
    let BatchReply::Refused(refusal) = &replies[2] else {
        panic!("{:?}", replies[2])
    };
    let AttestReply::Equivocation(proof) = &**refusal else {
        panic!("{refusal:?}")
    };
    assert!(proof.verify(fx.owners[0].public_key()));
    assert_eq!(attested(&replies[3]).proof.size, 3);
    assert!(node.frozen(&first.body.account).is_some());
    let store = node.into_store();
    assert_eq!(store.frozen(0).expect("read").len(), 1);
    assert_eq!(
        store.lock(0, &first.body.account, 1).expect("read"),
        Some(first),
        "the first block keeps the slot"
    );
}

#[test]
fn certificates_of_batch_attestations_are_adopted_and_the_roots_are_cached() {
    let mut fx = fixture(3);
    let blocks: Vec<Block> = (0..3).map(|o| fx.send(o, 10)).collect();
    let requests: Vec<AttestRequest> = blocks.iter().map(request).collect();
    // Members 0..3 attest the three blocks in one batch each.
    let per_member: Vec<Vec<BatchReply>> = (0..3)
        .map(|i| {
            fx.node(i, MemoryWitnessStore::default())
                .handle_attest_batch(&requests)
        })
        .collect();
    let certs: Vec<Certificate> = (0..3)
        .map(|b| {
            let atts: Vec<_> = per_member.iter().map(|r| attested(&r[b]).clone()).collect();
            Certificate::assemble(blocks[b].clone(), &fx.epoch, &atts)
        })
        .collect();
    let mut lagging = fx.node(3, MemoryWitnessStore::default());
    for (cert, block) in certs.iter().zip(&blocks) {
        assert_eq!(cert.verify(&fx.epoch), Ok(()));
        assert_eq!(
            lagging.handle_certificate(cert),
            CertificateOutcome::Applied(vec![(block.body.account, 1)])
        );
    }
    // Three certificates, three signers with one root each: three Falcon verifications.
    assert_eq!(lagging.roots.stats(), (6, 3));
    // A tampered copy of a certificate is still refused.
    let mut forged = certs[0].clone();
    if let crate::poc::AttestationProof::Batch(b) = &mut forged.proofs[0] {
        b.index = 1;
    }
    assert!(matches!(
        lagging.handle_certificate(&forged),
        CertificateOutcome::Invalid(_)
    ));
}

#[test]
fn the_sqlite_store_writes_a_batch_of_locks_in_one_transaction() {
    let mut fx = fixture(3);
    let blocks: Vec<Block> = (0..3).map(|o| fx.send(o, 10)).collect();
    let twin = fx.send(1, 99);
    let mut store =
        SqliteWitnessStore::new(Store::open_in_memory().expect("open")).expect("witness store");
    // A batch with a conflicting block is refused as a whole: nothing is written.
    let err = store
        .put_locks(0, &[blocks[0].clone(), blocks[1].clone(), twin.clone()])
        .expect_err("conflict");
    assert!(err.is_lock_conflict(), "{err}");
    assert_eq!(
        store.lock(0, &blocks[0].body.account, 1).expect("read"),
        None
    );
    // A clean batch is written whole; the same blocks again are fine.
    store.put_locks(0, &blocks).expect("locks");
    store.put_locks(0, &blocks[..1]).expect("idempotent");
    for b in &blocks {
        assert_eq!(
            store.lock(0, &b.body.account, 1).expect("read"),
            Some(b.clone())
        );
    }
    // Through the witness: a batch on SQLite, then a twin is an equivocation.
    let mut node = fx.node(0, store);
    let more = fx.send(2, 11);
    let replies = node.handle_attest_batch(&[request(&blocks[0]), request(&more)]);
    assert!(matches!(replies[0], BatchReply::Attested(_)));
    assert!(matches!(
        &replies[1],
        BatchReply::Refused(r) if matches!(**r, AttestReply::Equivocation(_))
    ));
}

#[test]
fn a_batch_in_a_closed_epoch_or_outside_the_committee_is_refused_like_single_requests() {
    let mut fx = fixture(1);
    let block = fx.send(0, 10);
    let mut node = fx.node(0, MemoryWitnessStore::default());
    let next = Epoch::new(
        EpochRules {
            epoch: 1,
            min_amount: 1,
            dmapps: BTreeSet::new(),
        },
        [3; 32],
        4,
        fx.members.iter().map(|(w, _)| w.clone()).collect(),
    );
    node.advance_epoch(next).expect("advance");
    let replies = node.handle_attest_batch(&[request(&block)]);
    let mut single = fx.node(1, MemoryWitnessStore::default());
    single
        .advance_epoch(Epoch::new(
            EpochRules {
                epoch: 1,
                min_amount: 1,
                dmapps: BTreeSet::new(),
            },
            [3; 32],
            4,
            fx.members.iter().map(|(w, _)| w.clone()).collect(),
        ))
        .expect("advance");
    assert_eq!(
        replies,
        vec![BatchReply::Refused(Box::new(
            single.handle_attest(&request(&block))
        ))]
    );
    assert!(node.handle_attest_batch(&[]).is_empty());
}

#[test]
fn a_collector_certifies_from_batch_attestations_with_a_shared_root_cache() {
    use crate::poc::{Collector, CollectorStep};
    let mut fx = fixture(2);
    let blocks: Vec<Block> = (0..2).map(|o| fx.send(o, 10)).collect();
    let requests: Vec<AttestRequest> = blocks.iter().map(request).collect();
    let per_member: Vec<(WitnessId, Vec<BatchReply>)> = (0..4)
        .map(|i| {
            let replies = fx
                .node(i, MemoryWitnessStore::default())
                .handle_attest_batch(&requests);
            (fx.members[i].0.id, replies)
        })
        .collect();
    let mut roots = VerifiedRoots::default();
    for (b, block) in blocks.iter().enumerate() {
        let mut collector = Collector::new(fx.epoch.clone(), request(block), Vec::new());
        // Another block's attestation from member 0 is refused, not counted.
        let wrong = attested(&per_member[0].1[1 - b]).clone();
        assert!(collector
            .on_batch_attestation(per_member[0].0, wrong, &mut roots)
            .is_empty());
        assert_eq!(collector.attestation_count(), 0);
        let mut certified = None;
        for (member, replies) in &per_member[1..] {
            let a = attested(&replies[b]).clone();
            for step in collector.on_batch_attestation(*member, a, &mut roots) {
                if let CollectorStep::Certified(cert) = step {
                    certified = Some(cert);
                }
            }
        }
        let cert = certified.expect("q = 3 batch attestations certify");
        assert_eq!(cert.verify(&fx.epoch), Ok(()));
    }
    // Members 1..4 signed one root each: 3 Falcon verifications for both blocks and both
    // final certificate checks (member 0's attestations name another statement: refused
    // before any signature check).
    assert_eq!(roots.stats().1, 3);
}

#[test]
fn a_batch_certificate_survives_a_restart_from_sqlite() {
    let mut fx = fixture(2);
    let blocks: Vec<Block> = (0..2).map(|o| fx.send(o, 10)).collect();
    let requests: Vec<AttestRequest> = blocks.iter().map(request).collect();
    let per_member: Vec<Vec<BatchReply>> = (0..3)
        .map(|i| {
            fx.node(i, MemoryWitnessStore::default())
                .handle_attest_batch(&requests)
        })
        .collect();
    let atts: Vec<_> = per_member.iter().map(|r| attested(&r[0]).clone()).collect();
    let cert = Certificate::assemble(blocks[0].clone(), &fx.epoch, &atts);
    let store =
        SqliteWitnessStore::new(Store::open_in_memory().expect("open")).expect("witness store");
    let mut node = fx.node(3, store);
    assert_eq!(
        node.handle_certificate(&cert),
        CertificateOutcome::Applied(vec![(blocks[0].body.account, 1)])
    );
    // The stored head certificate (a v2 encoding) passes the store's full check on reopen.
    let store = node.into_store();
    store.check().expect("every row decodes");
    let node = fx.node(3, store);
    let head = node
        .account(&blocks[0].body.account)
        .and_then(|r| r.head.clone())
        .expect("the head certificate is kept");
    assert_eq!(head, cert);
    assert!(head.proofs.iter().all(|p| p.is_batch()));
}

/// A store whose lock writes fail (a full disk): everything else is a memory store.
struct NoLocks(MemoryWitnessStore);

impl WitnessStore for NoLocks {
    fn lock(
        &self,
        epoch: u64,
        account: &AccountId,
        height: u64,
    ) -> Result<Option<Block>, crate::store::StoreError> {
        self.0.lock(epoch, account, height)
    }
    fn put_lock(&mut self, _: u64, _: &Block) -> Result<(), crate::store::StoreError> {
        Err(crate::store::StoreError::Corrupt("disk full".into()))
    }
    fn accounts(
        &self,
        epoch: u64,
    ) -> Result<Vec<(AccountId, crate::poc::CertifiedAccount)>, crate::store::StoreError> {
        self.0.accounts(epoch)
    }
    fn put_account(
        &mut self,
        epoch: u64,
        account: AccountId,
        record: &crate::poc::CertifiedAccount,
    ) -> Result<(), crate::store::StoreError> {
        self.0.put_account(epoch, account, record)
    }
    fn frozen(
        &self,
        epoch: u64,
    ) -> Result<Vec<crate::poc::EquivocationProof>, crate::store::StoreError> {
        self.0.frozen(epoch)
    }
    fn put_frozen(
        &mut self,
        epoch: u64,
        proof: &crate::poc::EquivocationProof,
    ) -> Result<(), crate::store::StoreError> {
        self.0.put_frozen(epoch, proof)
    }
    fn pending(
        &self,
        epoch: u64,
    ) -> Result<Vec<(AccountId, Vec<crate::poc::PendingEntry>)>, crate::store::StoreError> {
        self.0.pending(epoch)
    }
    fn put_pending(
        &mut self,
        epoch: u64,
        recipient: AccountId,
        entries: &[crate::poc::PendingEntry],
    ) -> Result<(), crate::store::StoreError> {
        self.0.put_pending(epoch, recipient, entries)
    }
    fn closed(&self, epoch: u64) -> Result<bool, crate::store::StoreError> {
        self.0.closed(epoch)
    }
    fn put_closed(&mut self, epoch: u64) -> Result<(), crate::store::StoreError> {
        self.0.put_closed(epoch)
    }
    fn lock_count(&self, epoch: u64, account: &AccountId) -> Result<u64, crate::store::StoreError> {
        self.0.lock_count(epoch, account)
    }
    fn prune_before(&mut self, epoch: u64) -> Result<(), crate::store::StoreError> {
        self.0.prune_before(epoch)
    }
    fn pruned_below(&self) -> Result<u64, crate::store::StoreError> {
        self.0.pruned_below()
    }
}

#[test]
fn no_attestation_leaves_a_batch_whose_locks_could_not_be_stored() {
    let mut fx = fixture(2);
    let blocks: Vec<Block> = (0..2).map(|o| fx.send(o, 10)).collect();
    let mut node = fx.node(0, NoLocks(MemoryWitnessStore::default()));
    let replies = node.handle_attest_batch(&blocks.iter().map(request).collect::<Vec<_>>());
    assert_eq!(replies.len(), 2);
    for reply in &replies {
        assert!(
            matches!(reply, BatchReply::Refused(r) if matches!(**r, AttestReply::Storage(_))),
            "{reply:?}"
        );
    }
}
