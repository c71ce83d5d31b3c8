//! Epoch transitions and handover, rule by rule (DESIGN.md §4 "Epochs and handover"); the
//! simulator exercises them together under faults.
//!
//! Setting: epoch 0 has witnesses A, B, C, D; epoch 1 has C, D, E, F (A and B leave, E and
//! F join). Both are in FastPay mode (n = 4, so every account's committee is the whole set,
//! q = 3, f = 1).

use std::collections::BTreeSet;

use crate::crypto::{AccountId, KeyPair};
use crate::ledger::{apply_certified, AccountState, Block, BlockBody, DmappId, EpochRules, Op};
use crate::poc::{
    AttestReply, AttestRequest, Attestation, Certificate, CertificateError, CertificateOutcome,
    Epoch, Handover, HandoverError, HandoverOutcome, MemoryWitnessStore, PendingEntry,
    PendingReply, Witness, WitnessId, WitnessNode, WitnessStore,
};
use crate::sim::{genesis_state, sim_key};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;
const D: usize = 3;
const E: usize = 4;
const F: usize = 5;

struct World {
    ids: Vec<(Witness, KeyPair)>,
    e0: Epoch,
    e1: Epoch,
    owner: KeyPair,
    state: AccountState,
    genesis: Vec<(AccountId, AccountState)>,
    nodes: Vec<WitnessNode<MemoryWitnessStore>>,
}

fn rules(epoch: u64) -> EpochRules {
    EpochRules {
        epoch,
        min_amount: 1,
        dmapps: BTreeSet::new(),
    }
}

fn world() -> World {
    let ids: Vec<(Witness, KeyPair)> = (0..6)
        .map(|i| {
            let keys = sim_key(700 + i);
            let id = WitnessId(*blake3::hash(&keys.public_key().to_bytes()).as_bytes());
            let w = Witness {
                id,
                public_key: keys.public_key().clone(),
            };
            (w, keys)
        })
        .collect();
    let set = |members: &[usize]| members.iter().map(|i| ids[*i].0.clone()).collect();
    let e0 = Epoch::new(rules(0), [1; 32], 4, set(&[A, B, C, D]));
    let e1 = Epoch::new(rules(1), [2; 32], 4, set(&[C, D, E, F]));
    let owner = sim_key(800);
    let state = genesis_state(&owner, 1_000);
    let genesis = vec![(owner.public_key().account_id(), state.clone())];
    let nodes = ids
        .iter()
        .map(|(w, k)| {
            WitnessNode::start(
                w.clone(),
                k.clone(),
                e0.clone(),
                MemoryWitnessStore::default(),
                &genesis,
            )
            .expect("start")
        })
        .collect();
    World {
        ids,
        e0,
        e1,
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

    /// The owner's send at its next height, naming `epoch`.
    fn send(&mut self, epoch: u64, amount: u64) -> Block {
        let to = AccountId([9; 32]);
        BlockBody {
            account: self.account(),
            height: self.state.head_height + 1,
            previous: self.state.head_hash,
            epoch,
            op: Op::Send {
                to,
                amount,
                memo: vec![],
                prev_to: self.state.last_sent_to.get(&to).copied(),
            },
            balance: self.state.balance - amount,
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

    fn attested(&mut self, i: usize, block: &Block) -> Attestation {
        match self.attest(i, block) {
            AttestReply::Attested(a) => a,
            other => panic!("witness {i} did not attest: {other:?}"),
        }
    }

    /// Every node sees `R_1`.
    fn advance(&mut self) {
        for n in &mut self.nodes {
            n.advance_epoch(self.e1.clone()).expect("advance");
        }
    }

    fn handover(&mut self, i: usize) -> Handover {
        let account = self.account();
        self.nodes[i]
            .handle_handover_request(&account, 0)
            .expect("handover")
    }

    fn restart(&mut self, i: usize, epochs: &[Epoch]) {
        let store = std::mem::replace(
            &mut self.nodes[i],
            WitnessNode::start(
                self.ids[i].0.clone(),
                self.ids[i].1.clone(),
                self.e0.clone(),
                MemoryWitnessStore::default(),
                &[],
            )
            .expect("placeholder"),
        )
        .into_store();
        let (w, k) = &self.ids[i];
        let mut node =
            WitnessNode::start(w.clone(), k.clone(), self.e0.clone(), store, &self.genesis)
                .expect("restart");
        for e in epochs {
            node.advance_epoch(e.clone()).expect("replay");
        }
        self.nodes[i] = node;
    }
}

#[test]
fn an_old_member_refuses_to_attest_in_e_once_it_has_seen_r_e_plus_1() {
    let mut w = world();
    let block = w.send(0, 10);
    w.nodes[A].advance_epoch(w.e1.clone()).expect("advance");
    assert_eq!(w.attest(A, &block), AttestReply::EpochClosed { epoch: 0 });
    let store = std::mem::replace(&mut w.nodes[A], world().nodes.remove(0)).into_store();
    assert!(store.closed(0).expect("read"), "closed(0) is durable");
    assert_eq!(store.lock(0, &w.account(), 1).expect("read"), None);
}

#[test]
fn epoch_records_come_in_order_and_replaying_one_is_harmless() {
    let mut w = world();
    let e2 = Epoch::new(rules(2), [3; 32], 4, w.e1.witnesses().cloned().collect());
    assert!(
        w.nodes[C].advance_epoch(e2.clone()).is_err(),
        "a gap is refused"
    );
    w.nodes[C].advance_epoch(w.e1.clone()).expect("advance");
    w.nodes[C].advance_epoch(w.e1.clone()).expect("again");
    w.nodes[C]
        .advance_epoch(w.e0.clone())
        .expect("an old record");
    assert_eq!(w.nodes[C].epoch(), 1);
    w.nodes[C].advance_epoch(e2).expect("next");
    assert_eq!(w.nodes[C].epoch(), 2);
}

#[test]
fn handover_requests_are_refused_while_the_epoch_is_open() {
    let mut w = world();
    let account = w.account();
    assert_eq!(
        w.nodes[A].handle_handover_request(&account, 0),
        Err(HandoverError::NotClosed(0))
    );
    assert_eq!(
        w.nodes[A].handle_handover_request(&account, 7),
        Err(HandoverError::NotRetained(7))
    );
}

#[test]
fn a_crash_between_closed_e_and_the_answer_leaves_the_epoch_closed() {
    let mut w = world();
    let block = w.send(0, 10);
    w.attested(A, &block);
    w.nodes[A].advance_epoch(w.e1.clone()).expect("advance");
    // Crash right after closed(0) is durable, before any handover answer: the witness comes
    // back knowing only R_0 (it has not re-read R_1 yet).
    w.restart(A, &[]);
    assert_eq!(w.nodes[A].epoch(), 0);
    assert_eq!(w.attest(A, &block), AttestReply::EpochClosed { epoch: 0 });
    let other = w.send(0, 11);
    assert_eq!(w.attest(A, &other), AttestReply::EpochClosed { epoch: 0 });
    // It still answers handovers about epoch 0, reporting its lock.
    let h = w.handover(A);
    assert_eq!(h.lock, Some(block));
    assert_eq!(h.verify(&w.e0), Ok(()));
}

#[test]
fn a_new_member_needs_handovers_from_q_distinct_old_members() {
    let mut w = world();
    w.advance();
    let block = w.send(1, 10);
    let account = w.account();
    assert_eq!(
        w.attest(E, &block),
        AttestReply::NeedHandover { account, epoch: 0 }
    );
    assert_eq!(
        w.nodes[E].handle_pending_query(&account),
        PendingReply::NeedHandover { account, epoch: 0 }
    );
    let (ha, hb, hc) = (w.handover(A), w.handover(B), w.handover(C));
    assert_eq!(
        w.nodes[E].handle_handover(&ha),
        HandoverOutcome::Collecting { have: 1, need: 3 }
    );
    // The same member twice still counts once.
    assert_eq!(
        w.nodes[E].handle_handover(&ha),
        HandoverOutcome::Collecting { have: 1, need: 3 }
    );
    assert_eq!(
        w.nodes[E].handle_handover(&hb),
        HandoverOutcome::Collecting { have: 2, need: 3 }
    );
    // q − 1 handovers are not enough.
    assert_eq!(
        w.attest(E, &block),
        AttestReply::NeedHandover { account, epoch: 0 }
    );
    assert_eq!(
        w.nodes[E].handle_handover(&hc),
        HandoverOutcome::TookOver { epoch: 1 }
    );
    assert!(w.nodes[E].has_taken_over(&account));
    let a = w.attested(E, &block);
    assert_eq!(a.statement.epoch, 1);
}

#[test]
fn a_member_of_both_committees_counts_its_own_report() {
    let mut w = world();
    w.advance();
    let block = w.send(1, 10);
    let (ha, hb) = (w.handover(A), w.handover(B));
    assert!(matches!(
        w.nodes[C].handle_handover(&ha),
        HandoverOutcome::Collecting { have: 2, .. }
    ));
    assert_eq!(
        w.nodes[C].handle_handover(&hb),
        HandoverOutcome::TookOver { epoch: 1 }
    );
    w.attested(C, &block);
}

#[test]
fn a_forged_handover_is_rejected_and_not_counted() {
    let mut w = world();
    w.advance();
    let mut forged = w.handover(A);
    // B's name on A's signature.
    forged.witness = w.ids[B].0.id;
    assert_eq!(
        w.nodes[E].handle_handover(&forged),
        HandoverOutcome::Rejected(HandoverError::BadSignature)
    );
    // A's own report with its content changed after signing.
    let mut tampered = w.handover(A);
    tampered.pending.push(PendingEntry {
        from: AccountId([3; 32]),
        height: 1,
        amount: 5,
        send_hash: crate::crypto::Hash([4; 32]),
    });
    assert_eq!(
        w.nodes[E].handle_handover(&tampered),
        HandoverOutcome::Rejected(HandoverError::BadSignature)
    );
    let (hb, hc) = (w.handover(B), w.handover(C));
    w.nodes[E].handle_handover(&hb);
    assert!(matches!(
        w.nodes[E].handle_handover(&hc),
        HandoverOutcome::Collecting { have: 2, .. }
    ));
}

#[test]
fn a_handover_from_a_non_member_is_rejected() {
    let mut w = world();
    w.advance();
    let account = w.account();
    // E was not in W_0; it signs a well-formed report about epoch 0 anyway.
    let (e_id, mut e_keys) = (w.ids[E].0.id, w.ids[E].1.clone());
    let bogus =
        Handover::sign(0, account, e_id, None, None, None, vec![], &mut e_keys).expect("sign");
    assert_eq!(
        w.nodes[F].handle_handover(&bogus),
        HandoverOutcome::Rejected(HandoverError::NotInCommittee(0))
    );
    // And A, which left, does not serve epoch 1: reports are not for it.
    let hb = w.handover(B);
    assert_eq!(
        w.nodes[A].handle_handover(&hb),
        HandoverOutcome::Rejected(HandoverError::NotNextMember(1))
    );
}

#[test]
fn a_byzantine_member_cannot_make_a_new_member_adopt_a_bogus_state() {
    let mut w = world();
    w.advance();
    let account = w.account();
    // D is byzantine: it signs (with its real key) a report with an inflated balance.
    let mut rich = w.state.clone();
    rich.balance += 1_000_000;
    let (d_id, mut d_keys) = (w.ids[D].0.id, w.ids[D].1.clone());
    let bogus = Handover::sign(
        0,
        account,
        d_id,
        Some(crate::poc::CertifiedAccount {
            state: rich,
            head: None,
        }),
        None,
        None,
        vec![],
        &mut d_keys,
    )
    .expect("sign");
    let (ha, hb) = (w.handover(A), w.handover(B));
    assert!(matches!(
        w.nodes[E].handle_handover(&bogus),
        HandoverOutcome::Collecting { .. }
    ));
    w.nodes[E].handle_handover(&ha);
    // q reports are in, but the two honest ones agree and outvote it (f + 1 = 2).
    assert_eq!(
        w.nodes[E].handle_handover(&hb),
        HandoverOutcome::TookOver { epoch: 1 }
    );
    assert_eq!(
        w.nodes[E].account(&account).map(|r| r.state.balance),
        Some(1_000)
    );
}

#[test]
fn a_block_locked_in_e_and_reported_completes_in_e_plus_1() {
    let mut w = world();
    let block = w.send(0, 10);
    // A and B lock and attest it in epoch 0; then the epoch ends before a quorum.
    w.attested(A, &block);
    w.attested(B, &block);
    w.advance();
    let (ha, hb, hc) = (w.handover(A), w.handover(B), w.handover(C));
    assert_eq!(ha.lock.as_ref(), Some(&block));
    for n in [C, D, E, F] {
        for h in [&ha, &hb, &hc] {
            w.nodes[n].handle_handover(h);
        }
        assert!(w.nodes[n].has_taken_over(&w.account()), "{n}");
    }
    // The block names epoch 0, yet every new member attests it in epoch 1.
    let attestations: Vec<Attestation> = [C, D, E].iter().map(|n| w.attested(*n, &block)).collect();
    let cert = Certificate::assemble(block.clone(), &w.e1, &attestations);
    assert_eq!(cert.verify(&w.e1), Ok(()));
    // A different owner-signed block at that height is an equivocation for them.
    let twin = w.send(1, 11);
    assert!(matches!(w.attest(F, &twin), AttestReply::Equivocation(_)));
}

#[test]
fn an_unreported_block_of_the_previous_epoch_is_not_stranded() {
    let mut w = world();
    let block = w.send(0, 10);
    w.advance();
    let (ha, hb, hc) = (w.handover(A), w.handover(B), w.handover(C));
    for h in [&ha, &hb, &hc] {
        w.nodes[E].handle_handover(h);
    }
    // A block naming an epoch this witness has not reached is refused (and not locked).
    let future = w.send(5, 10);
    assert_eq!(
        w.attest(E, &future),
        AttestReply::Invalid(crate::ledger::ValidationError::WrongEpoch {
            expected: 1,
            found: 5
        })
    );
    // Nobody locked `block` in epoch 0; it is the owner's block at height 1 (sign-once),
    // valid under epoch 0's rules, so the new member locks and attests it in epoch 1.
    let a = w.attested(E, &block);
    assert_eq!(a.statement.epoch, 1);
}

#[test]
fn two_different_reported_locks_freeze_the_account() {
    let mut w = world();
    let first = w.send(0, 10);
    let second = w.send(0, 20);
    w.attested(A, &first);
    w.attested(B, &second);
    w.advance();
    let (ha, hb, hc) = (w.handover(A), w.handover(B), w.handover(C));
    w.nodes[E].handle_handover(&ha);
    w.nodes[E].handle_handover(&hb);
    assert_eq!(
        w.nodes[E].handle_handover(&hc),
        HandoverOutcome::TookOver { epoch: 1 }
    );
    let Some(proof) = w.nodes[E].frozen(&w.account()).cloned() else {
        panic!("not frozen")
    };
    assert!(proof.verify(w.owner.public_key()));
    assert!(matches!(w.attest(E, &first), AttestReply::Frozen(_)));
}

#[test]
fn a_frozen_account_stays_frozen_across_the_boundary() {
    let mut w = world();
    let first = w.send(0, 10);
    let second = w.send(0, 20);
    w.attested(A, &first);
    assert!(matches!(w.attest(A, &second), AttestReply::Equivocation(_)));
    w.advance();
    let (ha, hb, hc) = (w.handover(A), w.handover(B), w.handover(C));
    assert!(ha.frozen.is_some());
    for h in [&ha, &hb, &hc] {
        w.nodes[F].handle_handover(h);
    }
    assert!(matches!(w.attest(F, &first), AttestReply::Frozen(_)));
}

#[test]
fn the_highest_certificate_is_adopted_and_pending_entries_merged() {
    let mut w = world();
    let block = w.send(0, 10);
    let attestations: Vec<Attestation> = [A, B, C].iter().map(|n| w.attested(*n, &block)).collect();
    let cert = Certificate::assemble(block.clone(), &w.e0, &attestations);
    for n in [A, B, C, D] {
        assert!(matches!(
            w.nodes[n].handle_certificate(&cert),
            CertificateOutcome::Applied(_)
        ));
    }
    w.advance();
    // D learns nothing more; A, B, C report the certificate at height 1.
    let reports: Vec<Handover> = [A, B, D].iter().map(|n| w.handover(*n)).collect();
    for h in &reports {
        w.nodes[E].handle_handover(h);
    }
    let record = w.nodes[E].account(&w.account()).expect("taken over");
    assert_eq!(record.state.head_height, 1);
    assert_eq!(record.head.as_ref(), Some(&cert));
    // The certificate of epoch 0 is accepted in epoch 1 …
    w.state = apply_certified(&w.state, &block);
    let next = w.send(1, 10);
    w.attested(E, &next);
    assert!(!matches!(
        w.nodes[F].handle_certificate(&cert),
        CertificateOutcome::Invalid(_)
    ));
}

#[test]
fn certificates_older_than_k_epochs_are_refused() {
    let mut w = world();
    let block = w.send(0, 10);
    let attestations: Vec<Attestation> = [A, B, C].iter().map(|n| w.attested(*n, &block)).collect();
    let cert = Certificate::assemble(block, &w.e0, &attestations);
    let strict = w.e1.clone().with_retention(0);
    w.nodes[E].advance_epoch(strict).expect("advance");
    assert_eq!(
        w.nodes[E].handle_certificate(&cert),
        CertificateOutcome::Invalid(CertificateError::Expired {
            issued: 0,
            current: 1
        })
    );
}

#[test]
fn handovers_round_trip_and_garbage_never_panics() {
    let mut w = world();
    let first = w.send(0, 10);
    let second = w.send(0, 20);
    w.attested(A, &first);
    w.attest(A, &second);
    w.advance();
    let h = w.handover(A);
    assert!(h.frozen.is_some() && h.lock.is_some() && h.record.is_some());
    let bytes = h.encode();
    assert_eq!(Handover::decode(&bytes), Ok(h.clone()));
    for cut in [0, 1, 9, 41, 73, bytes.len() / 2, bytes.len() - 1] {
        assert!(Handover::decode(&bytes[..cut]).is_err(), "{cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Handover::decode(&longer).is_err());
    let mut bad_flag = bytes;
    bad_flag[73] = 7;
    assert!(Handover::decode(&bad_flag).is_err());
    let mut x = 0x1234_5678u32;
    for len in 0..300 {
        let noise: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let _ = Handover::decode(&noise);
    }
}

#[test]
fn a_new_member_does_not_answer_free_to_a_lock_query_before_the_takeover() {
    let mut w = world();
    let block = w.send(0, 10);
    w.attested(A, &block);
    w.advance();
    let account = w.account();
    assert_eq!(
        w.nodes[E].handle_lock_query(&account, 1),
        crate::poc::LockReply::NotTakenOver
    );
    let (ha, hb, hc) = (w.handover(A), w.handover(B), w.handover(C));
    for h in [&ha, &hb, &hc] {
        w.nodes[E].handle_handover(h);
    }
    assert_eq!(
        w.nodes[E].handle_lock_query(&account, 1),
        crate::poc::LockReply::Locked(Box::new(block))
    );
}

#[test]
fn an_account_unused_for_an_epoch_is_handed_over_step_by_step() {
    let mut w = world();
    let block = w.send(0, 10);
    w.attested(A, &block);
    w.attested(B, &block);
    w.advance();
    // Epoch 2 (same members as epoch 1): nobody took the account over in epoch 1.
    let e2 = Epoch::new(rules(2), [3; 32], 4, w.e1.witnesses().cloned().collect());
    for n in [C, D, E, F] {
        w.nodes[n].advance_epoch(e2.clone()).expect("advance");
    }
    let account = w.account();
    assert_eq!(
        w.attest(E, &block),
        AttestReply::NeedHandover { account, epoch: 1 }
    );
    assert_eq!(
        w.nodes[F].handle_handover_request(&account, 1),
        Err(HandoverError::NotTakenOver(1))
    );
    // The reports of epoch 0 let the epoch-1 members take their (closed) records over …
    let (ha, hb, hc) = (w.handover(A), w.handover(B), w.handover(C));
    w.nodes[F].handle_handover(&ha);
    w.nodes[F].handle_handover(&hb);
    assert_eq!(
        w.nodes[F].handle_handover(&hc),
        HandoverOutcome::TookOver { epoch: 1 }
    );
    // C and D, members of epochs 0 and 1, count their own reports.
    for n in [C, D] {
        w.nodes[n].handle_handover(&ha);
        assert_eq!(
            w.nodes[n].handle_handover(&hb),
            HandoverOutcome::TookOver { epoch: 1 }
        );
    }
    // … so they can report on epoch 1, carrying epoch 0's lock forward.
    let reports: Vec<Handover> = [C, D, F]
        .iter()
        .map(|n| {
            w.nodes[*n]
                .handle_handover_request(&account, 1)
                .expect("report on epoch 1")
        })
        .collect();
    assert!(reports.iter().all(|h| h.lock.as_ref() == Some(&block)));
    for h in &reports {
        w.nodes[E].handle_handover(h);
    }
    assert!(w.nodes[E].has_taken_over(&account));
    assert_eq!(w.attested(E, &block).statement.epoch, 2);
    // The twin is an equivocation for the member that carried the lock.
    let twin = w.send(2, 11);
    assert!(matches!(w.attest(E, &twin), AttestReply::Equivocation(_)));
}

#[test]
fn honest_members_holding_different_certificates_of_one_block_still_agree() {
    let mut w = world();
    let block = w.send(0, 10);
    let atts: Vec<Attestation> = [A, B, C, D]
        .iter()
        .map(|n| w.attested(*n, &block))
        .collect();
    let first = Certificate::assemble(block.clone(), &w.e0, &atts[..3]);
    let second = Certificate::assemble(block.clone(), &w.e0, &atts[1..]);
    assert_ne!(first, second);
    assert!(matches!(
        w.nodes[A].handle_certificate(&first),
        CertificateOutcome::Applied(_)
    ));
    assert!(matches!(
        w.nodes[C].handle_certificate(&second),
        CertificateOutcome::Applied(_)
    ));
    w.advance();
    // B never heard of either certificate; A and C vouch for the same state.
    let reports: Vec<Handover> = [A, B, C].iter().map(|n| w.handover(*n)).collect();
    w.nodes[E].handle_handover(&reports[0]);
    w.nodes[E].handle_handover(&reports[1]);
    assert_eq!(
        w.nodes[E].handle_handover(&reports[2]),
        HandoverOutcome::TookOver { epoch: 1 }
    );
    assert_eq!(
        w.nodes[E]
            .account(&w.account())
            .map(|r| r.state.head_height),
        Some(1)
    );
}
