//! The attestation quota: refused beyond it, reset by the next epoch, kept across a
//! restart (the count is the durable locks).

use std::collections::BTreeSet;

use crate::crypto::{AccountId, KeyPair};
use crate::ledger::{apply_certified, AccountState, Block, BlockBody, DmappId, EpochRules, Op};
use crate::poc::{
    AttestReply, AttestRequest, Attestation, Certificate, Epoch, MemberAnswer, MemoryWitnessStore,
    Witness, WitnessId, WitnessNode,
};
use crate::sim::{genesis_state, sim_key};

/// Four witnesses serving epochs 0 and 1 (FastPay, q = 3), quota 1 block per account.
struct World {
    ids: Vec<(Witness, KeyPair)>,
    epochs: Vec<Epoch>,
    owner: KeyPair,
    state: AccountState,
    genesis: Vec<(AccountId, AccountState)>,
    nodes: Vec<WitnessNode<MemoryWitnessStore>>,
}

fn world() -> World {
    let ids: Vec<(Witness, KeyPair)> = (0..4)
        .map(|i| {
            let keys = sim_key(1_000 + i);
            let id = WitnessId(*blake3::hash(&keys.public_key().to_bytes()).as_bytes());
            let w = Witness {
                id,
                public_key: keys.public_key().clone(),
            };
            (w, keys)
        })
        .collect();
    let epochs: Vec<Epoch> = (0..2)
        .map(|e| {
            let rules = EpochRules {
                epoch: e,
                min_amount: 1,
                dmapps: BTreeSet::new(),
            };
            Epoch::new(
                rules,
                [e as u8; 32],
                4,
                ids.iter().map(|(w, _)| w.clone()).collect(),
            )
            .with_attest_quota(1)
        })
        .collect();
    let owner = sim_key(1_010);
    let state = genesis_state(&owner, 1_000);
    let genesis = vec![(owner.public_key().account_id(), state.clone())];
    let nodes = ids
        .iter()
        .map(|(w, k)| {
            WitnessNode::start(
                w.clone(),
                k.clone(),
                epochs[0].clone(),
                MemoryWitnessStore::default(),
                &genesis,
            )
            .expect("start")
        })
        .collect();
    World {
        ids,
        epochs,
        owner,
        state,
        genesis,
        nodes,
    }
}

impl World {
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
        self.nodes[i].handle_attest(&AttestRequest {
            block: block.clone(),
            send: None,
        })
    }

    /// Members 0-2 attest `block` in `epoch`; every member adopts the certificate.
    fn certify(&mut self, block: &Block, epoch: usize) -> Certificate {
        let attestations: Vec<Attestation> = (0..3)
            .map(|i| match self.attest(i, block) {
                AttestReply::Attested(a) => a,
                other => panic!("member {i} did not attest: {other:?}"),
            })
            .collect();
        let cert = Certificate::assemble(block.clone(), &self.epochs[epoch], &attestations);
        for n in &mut self.nodes {
            n.handle_certificate(&cert);
        }
        self.state = apply_certified(&self.state, block);
        cert
    }

    fn restart(&mut self, i: usize) {
        let placeholder = WitnessNode::start(
            self.ids[i].0.clone(),
            self.ids[i].1.clone(),
            self.epochs[0].clone(),
            MemoryWitnessStore::default(),
            &[],
        )
        .expect("placeholder");
        let store = std::mem::replace(&mut self.nodes[i], placeholder).into_store();
        let (w, k) = &self.ids[i];
        let mut node = WitnessNode::start(
            w.clone(),
            k.clone(),
            self.epochs[0].clone(),
            store,
            &self.genesis,
        )
        .expect("restart");
        for e in &self.epochs[1..=self.nodes[(i + 1) % 4].epoch() as usize] {
            node.advance_epoch(e.clone()).expect("replay");
        }
        self.nodes[i] = node;
    }
}

#[test]
fn beyond_its_quota_an_account_is_refused_without_a_lock_and_the_refusal_is_not_a_conflict() {
    let mut w = world();
    let account = w.account();
    let first = w.send(0);
    w.certify(&first, 0);
    assert_eq!(w.nodes[0].quota_used(&account).expect("count"), 1);
    let second = w.send(0);
    let reply = w.attest(0, &second);
    assert_eq!(
        reply,
        AttestReply::QuotaExceeded {
            account,
            epoch: 0,
            quota: 1
        }
    );
    // Nothing was locked for the refused block; the certified one is still re-attested.
    assert_eq!(w.nodes[0].quota_used(&account).expect("count"), 1);
    assert!(matches!(w.attest(0, &first), AttestReply::Attested(_)));
    // To a collector it is an ordinary refusal: neither a conflict nor "try again now".
    match MemberAnswer::from(&reply) {
        MemberAnswer::Rejected(reason) => assert!(reason.contains("quota"), "{reason}"),
        other => panic!("a quota refusal became {other:?}"),
    }
}

#[test]
fn the_count_survives_a_restart() {
    let mut w = world();
    let account = w.account();
    let first = w.send(0);
    w.certify(&first, 0);
    let second = w.send(0);
    w.restart(0);
    assert_eq!(w.nodes[0].quota_used(&account).expect("count"), 1);
    assert!(matches!(
        w.attest(0, &second),
        AttestReply::QuotaExceeded { .. }
    ));
}

#[test]
fn the_next_epoch_resets_the_quota_and_the_refused_block_is_attested_there() {
    let mut w = world();
    let account = w.account();
    let first = w.send(0);
    w.certify(&first, 0);
    let second = w.send(0);
    assert!(matches!(
        w.attest(0, &second),
        AttestReply::QuotaExceeded { .. }
    ));
    let next = w.epochs[1].clone();
    for n in &mut w.nodes {
        n.advance_epoch(next.clone()).expect("advance");
    }
    let reports: Vec<_> = (1..4)
        .map(|i| {
            w.nodes[i]
                .handle_handover_request(&account, 0)
                .expect("report")
        })
        .collect();
    for r in &reports {
        w.nodes[0].handle_handover(r);
    }
    assert!(w.nodes[0].has_taken_over(&account));
    assert_eq!(w.nodes[0].quota_used(&account).expect("count"), 0);
    // The block signed in epoch 0 and refused there is attested in epoch 1.
    match w.attest(0, &second) {
        AttestReply::Attested(a) => assert_eq!(a.statement.epoch, 1),
        other => panic!("not attested after the reset: {other:?}"),
    }
    assert_eq!(w.nodes[0].quota_used(&account).expect("count"), 1);
}

#[test]
fn a_collector_gives_the_block_up_for_this_epoch_when_more_than_f_members_are_out_of_quota() {
    use crate::poc::{CollectFailure, Collector, CollectorStep};
    let mut w = world();
    let first = w.send(0);
    let cert = w.certify(&first, 0);
    let second = w.send(0);
    let request = AttestRequest {
        block: second.clone(),
        send: None,
    };
    let mut collector = Collector::new(w.epochs[0].clone(), request, vec![cert]);
    collector.start();
    let mut steps = Vec::new();
    for i in 0..2 {
        let reply = w.attest(i, &second);
        let member = w.ids[i].0.id;
        steps = collector.on_answer(member, MemberAnswer::from(&reply));
    }
    // f = 1: two refusals mean no quorum of 3 can form in this epoch. It is a refusal
    // with its reason, not an equivocation.
    match steps.as_slice() {
        [CollectorStep::Failed(CollectFailure::Rejected(reasons))] => {
            assert_eq!(reasons.len(), 2);
            assert!(reasons.iter().all(|r| r.contains("quota")), "{reasons:?}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
