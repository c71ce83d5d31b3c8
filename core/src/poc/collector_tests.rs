//! The collector against real witnesses (n = 4, q = 3, f = 1).

use std::collections::BTreeSet;

use super::*;
use crate::crypto::{AccountId, KeyPair};
use crate::ledger::{apply_certified, AccountState, Block, BlockBody, DmappId, EpochRules, Op};
use crate::poc::{MemoryWitnessStore, Witness, WitnessNode};
use crate::sim::{genesis_state, sim_key};

struct Net {
    epoch: Epoch,
    members: Vec<(Witness, KeyPair)>,
    nodes: Vec<WitnessNode<MemoryWitnessStore>>,
    owner: KeyPair,
    state: AccountState,
}

fn net() -> Net {
    let members: Vec<(Witness, KeyPair)> = (0..4)
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
    let rules = EpochRules {
        epoch: 0,
        min_amount: 1,
        dmapps: BTreeSet::new(),
    };
    let epoch = Epoch::new(
        rules,
        [3; 32],
        4,
        members.iter().map(|(w, _)| w.clone()).collect(),
    );
    let owner = sim_key(710);
    let state = genesis_state(&owner, 1_000);
    let genesis = vec![(owner.public_key().account_id(), state.clone())];
    let nodes = members
        .iter()
        .map(|(w, k)| {
            WitnessNode::start(
                w.clone(),
                k.clone(),
                epoch.clone(),
                MemoryWitnessStore::default(),
                &genesis,
            )
            .expect("start")
        })
        .collect();
    Net {
        epoch,
        members,
        nodes,
        owner,
        state,
    }
}

impl Net {
    fn index(&self, id: &WitnessId) -> usize {
        self.members
            .iter()
            .position(|(w, _)| w.id == *id)
            .expect("member")
    }

    fn send(&mut self, amount: u64, memo: &[u8]) -> Block {
        let to = AccountId([9; 32]);
        BlockBody {
            account: self.owner.public_key().account_id(),
            height: self.state.head_height + 1,
            previous: self.state.head_hash,
            epoch: 0,
            op: Op::Send {
                to,
                amount,
                memo: memo.to_vec(),
                prev_to: self.state.last_sent_to.get(&to).copied(),
            },
            balance: self.state.balance - amount,
            timestamp_ms: 1,
            dmapp: DmappId::WALLET,
        }
        .sign(&mut self.owner)
        .expect("sign")
    }

    /// Delivers steps to the members listed in `reachable` until the collector finishes
    /// or nothing is left to do; returns the final step.
    fn drive(
        &mut self,
        collector: &mut Collector,
        reachable: &[usize],
        mut steps: Vec<CollectorStep>,
    ) -> Option<CollectorStep> {
        while let Some(step) = steps.pop() {
            match step {
                CollectorStep::Ask(members) => {
                    for m in members {
                        let i = self.index(&m);
                        if !reachable.contains(&i) {
                            continue;
                        }
                        let reply = self.nodes[i].handle_attest(collector.request());
                        steps.extend(collector.on_answer(m, MemberAnswer::from(&reply)));
                    }
                }
                CollectorStep::CatchUp {
                    member,
                    certificates,
                } => {
                    let i = self.index(&member);
                    for c in &certificates {
                        self.nodes[i].handle_certificate(c);
                    }
                    steps.push(CollectorStep::Ask(vec![member]));
                }
                done @ (CollectorStep::Certified(_) | CollectorStep::Failed(_)) => {
                    return Some(done)
                }
            }
        }
        None
    }
}

#[test]
fn a_quorum_of_honest_members_certifies_the_block() {
    let mut net = net();
    let block = net.send(10, b"");
    let request = AttestRequest { block, send: None };
    let mut c = Collector::new(net.epoch.clone(), request, vec![]);
    let first = c.start();
    let Some(CollectorStep::Certified(cert)) = net.drive(&mut c, &[0, 1, 2, 3], first) else {
        panic!("not certified")
    };
    assert!(cert.verify(&net.epoch).is_ok());
    assert!(c.is_finished());
    assert!(c.retry().is_empty(), "nothing to retry once finished");
}

#[test]
fn one_unreachable_member_is_tolerated_and_retry_asks_only_the_silent() {
    let mut net = net();
    let block = net.send(10, b"");
    let mut c = Collector::new(
        net.epoch.clone(),
        AttestRequest { block, send: None },
        vec![],
    );
    let first = c.start();
    // Only two members answer: no quorum yet, nothing final.
    assert_eq!(net.drive(&mut c, &[0, 1], first), None);
    assert_eq!(c.attestation_count(), 2);
    let retry = c.retry();
    let [CollectorStep::Ask(silent)] = retry.as_slice() else {
        panic!("expected one Ask, got {retry:?}")
    };
    assert_eq!(silent.len(), 2, "asks the two silent members only");
    assert!(matches!(
        net.drive(&mut c, &[2], retry),
        Some(CollectorStep::Certified(_))
    ));
}

#[test]
fn f_refusals_do_not_fail_a_block_but_f_plus_one_do() {
    let mut net = net();
    let block = net.send(10, b"");
    let committee = net.epoch.committee(&block.body.account);
    let mut c = Collector::new(
        net.epoch.clone(),
        AttestRequest { block, send: None },
        vec![],
    );
    assert!(c
        .on_answer(committee[0], MemberAnswer::Rejected("no".into()))
        .is_empty());
    assert!(!c.is_finished(), "f = 1 refusal is not final");
    let steps = c.on_answer(committee[1], MemberAnswer::Rejected("still no".into()));
    let [CollectorStep::Failed(CollectFailure::Rejected(reasons))] = steps.as_slice() else {
        panic!("expected failure, got {steps:?}")
    };
    assert_eq!(reasons.len(), 2);
    assert!(c.is_finished());
}

#[test]
fn forged_or_foreign_attestations_do_not_count() {
    let mut net = net();
    let block = net.send(10, b"");
    let other = net.send(11, b"other");
    let committee = net.epoch.committee(&block.body.account);
    let mut c = Collector::new(
        net.epoch.clone(),
        AttestRequest {
            block: block.clone(),
            send: None,
        },
        vec![],
    );
    // Member 0's attestation of another block, and member 1's attestation presented as
    // member 2's.
    let i0 = net.index(&committee[0]);
    let AttestReply::Attested(wrong_block) = net.nodes[i0].handle_attest(&AttestRequest {
        block: other,
        send: None,
    }) else {
        panic!("attest")
    };
    assert!(c
        .on_answer(committee[0], MemberAnswer::Attested(wrong_block))
        .is_empty());
    let i1 = net.index(&committee[1]);
    let AttestReply::Attested(a1) = net.nodes[i1].handle_attest(&AttestRequest {
        block: block.clone(),
        send: None,
    }) else {
        panic!("attest")
    };
    // An answer from outside the committee is ignored altogether.
    assert!(c
        .on_answer(WitnessId([0xEE; 32]), MemberAnswer::Attested(a1.clone()))
        .is_empty());
    assert_eq!(c.attestation_count(), 0);
    // A bad attestation is that member's refusal: the second one (f + 1) ends the block.
    let steps = c.on_answer(committee[2], MemberAnswer::Attested(a1));
    assert_eq!(c.attestation_count(), 0);
    assert!(
        matches!(
            steps.as_slice(),
            [CollectorStep::Failed(CollectFailure::Rejected(_))]
        ),
        "{steps:?}"
    );
}

#[test]
fn a_lagging_member_is_caught_up_from_the_submitted_history() {
    let mut net = net();
    // Height 1 certified by members 0..3 but member 3 never learns the certificate.
    let b1 = net.send(10, b"");
    let mut c1 = Collector::new(
        net.epoch.clone(),
        AttestRequest {
            block: b1,
            send: None,
        },
        vec![],
    );
    let first = c1.start();
    let Some(CollectorStep::Certified(cert1)) = net.drive(&mut c1, &[0, 1, 2], first) else {
        panic!("height 1 not certified")
    };
    for i in 0..3 {
        net.nodes[i].handle_certificate(&cert1);
    }
    net.state = apply_certified(&net.state, &cert1.block);
    // Height 2: only members 1, 2, 3 are reachable, so member 3 must catch up.
    let b2 = net.send(20, b"");
    let mut c2 = Collector::new(
        net.epoch.clone(),
        AttestRequest {
            block: b2,
            send: None,
        },
        vec![(*cert1).clone()],
    );
    let first = c2.start();
    assert!(matches!(
        net.drive(&mut c2, &[1, 2, 3], first),
        Some(CollectorStep::Certified(_))
    ));
    assert_eq!(
        net.nodes[3]
            .account(&net.owner.public_key().account_id())
            .map(|a| a.state.head_height),
        Some(1),
        "member 3 adopted height 1 on the way"
    );
}

#[test]
fn missing_history_counts_as_a_refusal() {
    let mut net = net();
    let block = net.send(10, b"");
    let committee = net.epoch.committee(&block.body.account);
    let mut c = Collector::new(
        net.epoch.clone(),
        AttestRequest { block, send: None },
        vec![],
    );
    assert!(c
        .on_answer(committee[0], MemberAnswer::NeedCertificate { height: 1 })
        .is_empty());
    let steps = c.on_answer(committee[1], MemberAnswer::NeedCertificate { height: 1 });
    let [CollectorStep::Failed(CollectFailure::Rejected(reasons))] = steps.as_slice() else {
        panic!("expected failure, got {steps:?}")
    };
    assert!(reasons[0].contains("height 1"), "{reasons:?}");
}

#[test]
fn an_equivocation_seen_by_more_than_f_members_fails_with_the_proof() {
    let mut net = net();
    let first = net.send(10, b"a");
    let second = net.send(20, b"b");
    // Members 0 and 1 lock the first block; then the second is collected.
    for i in 0..2 {
        net.nodes[i].handle_attest(&AttestRequest {
            block: first.clone(),
            send: None,
        });
    }
    let mut c = Collector::new(
        net.epoch.clone(),
        AttestRequest {
            block: second,
            send: None,
        },
        vec![],
    );
    let steps = c.start();
    let outcome = net.drive(&mut c, &[0, 1, 2, 3], steps);
    let Some(CollectorStep::Failed(CollectFailure::Conflict(proof))) = outcome else {
        panic!("expected a conflict, got {outcome:?}")
    };
    assert!(proof.verify(net.owner.public_key()));
}
