//! The witness's rules one by one (the simulator exercises them together).

use std::collections::BTreeSet;

use super::*;
use crate::ledger::{BlockBody, DmappId, EpochRules};
use crate::poc::{Epoch, MemoryWitnessStore, WitnessId};
use crate::sim::{genesis_state, sim_key};

const REVIEWED: DmappId = DmappId([7; 32]);

struct Fixture {
    epoch: Epoch,
    members: Vec<(Witness, KeyPair)>,
    owner: KeyPair,
    owner_state: AccountState,
    genesis: Vec<(AccountId, AccountState)>,
}

/// Four witnesses (FastPay mode: every account's committee is all four, q = 3) and one
/// funded wallet.
fn fixture() -> Fixture {
    let members: Vec<(Witness, KeyPair)> = (0..4)
        .map(|i| {
            let keys = sim_key(500 + i);
            let id = WitnessId(*blake3::hash(&keys.public_key().to_bytes()).as_bytes());
            (
                Witness {
                    id,
                    public_key: keys.public_key().clone(),
                },
                keys,
            )
        })
        .collect();
    let rules = EpochRules {
        epoch: 0,
        min_amount: 1,
        dmapps: BTreeSet::from([REVIEWED]),
    };
    let epoch = Epoch::new(
        rules,
        [1; 32],
        4,
        members.iter().map(|(w, _)| w.clone()).collect(),
    );
    let owner = sim_key(600);
    let owner_state = genesis_state(&owner, 1_000);
    let genesis = vec![(owner.public_key().account_id(), owner_state.clone())];
    Fixture {
        epoch,
        members,
        owner,
        owner_state,
        genesis,
    }
}

impl Fixture {
    fn node(&self, i: usize) -> WitnessNode<MemoryWitnessStore> {
        let (w, k) = &self.members[i];
        WitnessNode::start(
            w.clone(),
            k.clone(),
            self.epoch.clone(),
            MemoryWitnessStore::default(),
            &self.genesis,
        )
        .expect("start")
    }

    fn send(&mut self, height: u64, amount: u64, dmapp: DmappId) -> Block {
        let to = AccountId([9; 32]);
        let prev_to = self.owner_state.last_sent_to.get(&to).copied();
        BlockBody {
            account: self.owner.public_key().account_id(),
            height,
            previous: self.owner_state.head_hash,
            epoch: 0,
            op: Op::Send {
                to,
                amount,
                memo: vec![],
                prev_to,
            },
            balance: self.owner_state.balance - amount,
            timestamp_ms: 1,
            dmapp,
        }
        .sign(&mut self.owner)
        .expect("sign")
    }
}

fn request(block: &Block) -> AttestRequest {
    AttestRequest {
        block: block.clone(),
        send: None,
    }
}

#[test]
fn a_valid_block_is_locked_before_it_is_attested_and_re_attested_on_retry() {
    let mut fx = fixture();
    let block = fx.send(1, 10, DmappId::WALLET);
    let mut node = fx.node(0);
    let AttestReply::Attested(a) = node.handle_attest(&request(&block)) else {
        panic!("not attested")
    };
    assert!(a.verify(&fx.members[0].0));
    let store = node.into_store();
    assert_eq!(
        store.lock(0, &block.body.account, 1).expect("read"),
        Some(block.clone()),
        "the lock is durable"
    );
    // After a restart from that store, the same block is attested again.
    let (w, k) = &fx.members[0];
    let mut node = WitnessNode::start(w.clone(), k.clone(), fx.epoch.clone(), store, &fx.genesis)
        .expect("restart");
    assert!(matches!(
        node.handle_attest(&request(&block)),
        AttestReply::Attested(_)
    ));
}

#[test]
fn a_second_block_at_a_locked_height_freezes_the_account_even_after_a_restart() {
    let mut fx = fixture();
    let first = fx.send(1, 10, DmappId::WALLET);
    let second = fx.send(1, 20, DmappId::WALLET);
    let mut node = fx.node(1);
    assert!(matches!(
        node.handle_attest(&request(&first)),
        AttestReply::Attested(_)
    ));
    let store = node.into_store();
    let (w, k) = &fx.members[1];
    let mut node = WitnessNode::start(w.clone(), k.clone(), fx.epoch.clone(), store, &fx.genesis)
        .expect("restart");
    let AttestReply::Equivocation(proof) = node.handle_attest(&request(&second)) else {
        panic!("no proof")
    };
    assert!(proof.verify(fx.owner.public_key()));
    // Frozen: even the first block is no longer attested, and the freeze is durable.
    assert!(matches!(
        node.handle_attest(&request(&first)),
        AttestReply::Frozen(_)
    ));
    let store = node.into_store();
    assert_eq!(store.frozen(0).expect("read").len(), 1);
}

#[test]
fn blocks_of_unreviewed_dmapps_are_refused() {
    let mut fx = fixture();
    let unknown = fx.send(1, 10, DmappId([8; 32]));
    let reviewed = fx.send(1, 10, REVIEWED);
    let mut node = fx.node(2);
    assert_eq!(
        node.handle_attest(&request(&unknown)),
        AttestReply::Invalid(ValidationError::DmappNotApproved(DmappId([8; 32])))
    );
    assert!(matches!(
        node.handle_attest(&request(&reviewed)),
        AttestReply::Attested(_)
    ));
}

#[test]
fn a_lagging_member_asks_for_the_missing_certificate_then_catches_up() {
    let mut fx = fixture();
    let first = fx.send(1, 10, DmappId::WALLET);
    // Members 0..3 certify height 1; member 3 never hears of it.
    let attestations: Vec<Attestation> = (0..3)
        .map(|i| match fx.node(i).handle_attest(&request(&first)) {
            AttestReply::Attested(a) => a,
            other => panic!("{other:?}"),
        })
        .collect();
    let cert = Certificate::assemble(first.clone(), &fx.epoch, &attestations);
    assert_eq!(cert.verify(&fx.epoch), Ok(()));
    fx.owner_state = crate::ledger::apply_certified(&fx.owner_state, &first);
    let second = fx.send(2, 10, DmappId::WALLET);

    let mut lagging = fx.node(3);
    assert_eq!(
        lagging.handle_attest(&request(&second)),
        AttestReply::NeedCertificate {
            account: first.body.account,
            height: 1
        }
    );
    assert_eq!(
        lagging.handle_certificate(&cert),
        CertificateOutcome::Applied(vec![(first.body.account, 1)])
    );
    let reply = lagging.handle_attest(&request(&second));
    assert!(matches!(reply, AttestReply::Attested(_)), "{reply:?}");
}

#[test]
fn a_receive_needs_a_valid_certificate_of_its_send() {
    let fx = fixture();
    let recipient = sim_key(601);
    let recipient_id = recipient.public_key().account_id();
    let mut genesis = fx.genesis.clone();
    genesis.push((recipient_id, genesis_state(&recipient, 0)));
    let mut sender = fx.owner.clone();
    let send = BlockBody {
        account: sender.public_key().account_id(),
        height: 1,
        previous: fx.owner_state.head_hash,
        epoch: 0,
        op: Op::Send {
            to: recipient_id,
            amount: 50,
            memo: vec![],
            prev_to: None,
        },
        balance: 950,
        timestamp_ms: 1,
        dmapp: DmappId::WALLET,
    }
    .sign(&mut sender)
    .expect("sign");
    let nodes: Vec<_> = (0..4)
        .map(|i| {
            let (w, k) = &fx.members[i];
            WitnessNode::start(
                w.clone(),
                k.clone(),
                fx.epoch.clone(),
                MemoryWitnessStore::default(),
                &genesis,
            )
            .expect("start")
        })
        .collect();
    let attestations: Vec<Attestation> = nodes
        .into_iter()
        .take(3)
        .map(|mut n| match n.handle_attest(&request(&send)) {
            AttestReply::Attested(a) => a,
            other => panic!("{other:?}"),
        })
        .collect();
    let good = Certificate::assemble(send.clone(), &fx.epoch, &attestations);
    let mut weak = good.clone();
    weak.proofs.pop();
    weak.signers = vec![0b0000_0011];

    let mut recipient_keys = recipient.clone();
    let receive = BlockBody {
        account: recipient_id,
        height: 1,
        previous: genesis_state(&recipient, 0).head_hash,
        epoch: 0,
        op: Op::Receive {
            from: send.body.account,
            send_height: 1,
            send_hash: send.hash(),
            amount: 50,
        },
        balance: 50,
        timestamp_ms: 2,
        dmapp: DmappId::WALLET,
    }
    .sign(&mut recipient_keys)
    .expect("sign");
    let receive_again = receive.clone();
    let (w, k) = &fx.members[3];
    let mut node = WitnessNode::start(
        w.clone(),
        k.clone(),
        fx.epoch.clone(),
        MemoryWitnessStore::default(),
        &genesis,
    )
    .expect("start");
    assert_eq!(
        node.handle_attest(&AttestRequest {
            block: receive.clone(),
            send: None
        }),
        AttestReply::Invalid(ValidationError::MissingSend)
    );
    assert!(matches!(
        node.handle_attest(&AttestRequest {
            block: receive.clone(),
            send: Some(weak.clone())
        }),
        AttestReply::BadSendCertificate(CertificateError::NoQuorum { .. })
    ));
    assert!(matches!(
        node.handle_attest(&AttestRequest {
            block: receive.clone(),
            send: Some(good.clone())
        }),
        AttestReply::Attested(_)
    ));
    // The recipient's committee keeps the pending entry until the receive is certified.
    assert_eq!(
        node.handle_certificate(&good),
        CertificateOutcome::Applied(vec![(send.body.account, 1)])
    );
    assert_eq!(node.pending_for(&recipient_id).len(), 1);
    // A member that has verified (and remembered) the good certificate still refuses a
    // weak copy of the same send: the verified-certificate cache keys on the whole
    // certificate, not on the block.
    let (w, k) = &fx.members[2];
    let mut fresh = WitnessNode::start(
        w.clone(),
        k.clone(),
        fx.epoch.clone(),
        MemoryWitnessStore::default(),
        &genesis,
    )
    .expect("start");
    assert!(matches!(
        fresh.handle_certificate(&good),
        CertificateOutcome::Applied(_)
    ));
    assert!(matches!(
        fresh.handle_attest(&AttestRequest {
            block: receive_again,
            send: Some(weak)
        }),
        AttestReply::BadSendCertificate(CertificateError::NoQuorum { .. })
    ));
}

#[test]
fn requests_outside_the_committee_are_declined() {
    let mut fx = fixture();
    let block = fx.send(1, 10, DmappId::WALLET);
    let stranger_keys = sim_key(700);
    let stranger = Witness {
        id: WitnessId([0xEE; 32]),
        public_key: stranger_keys.public_key().clone(),
    };
    let mut node = WitnessNode::start(
        stranger,
        stranger_keys,
        fx.epoch.clone(),
        MemoryWitnessStore::default(),
        &fx.genesis,
    )
    .expect("start");
    assert_eq!(
        node.handle_attest(&request(&block)),
        AttestReply::NotInCommittee
    );
}

mod restore {
    use super::*;
    use crate::poc::{LockReply, RestoreCheck, RestoreDecision};

    fn ask_all(
        fx: &Fixture,
        nodes: &[WitnessNode<MemoryWitnessStore>],
        height: u64,
    ) -> RestoreDecision {
        let mut check = RestoreCheck::new(&fx.epoch, fx.owner.public_key().clone(), height);
        let mut decision = RestoreDecision::Pending;
        for node in nodes {
            let reply = node.handle_lock_query(&fx.owner.public_key().account_id(), height);
            decision = check.handle_reply(node.witness().id, reply);
        }
        decision
    }

    #[test]
    fn a_wallet_with_nothing_locked_may_sign_once_q_members_say_so() {
        let fx = fixture();
        let nodes: Vec<_> = (0..4).map(|i| fx.node(i)).collect();
        let mut check = RestoreCheck::new(&fx.epoch, fx.owner.public_key().clone(), 1);
        let account = fx.owner.public_key().account_id();
        // q = 3: two answers are not enough, a repeated answer does not count twice.
        assert_eq!(
            check.handle_reply(
                nodes[0].witness().id,
                nodes[0].handle_lock_query(&account, 1)
            ),
            RestoreDecision::Pending
        );
        assert_eq!(
            check.handle_reply(nodes[0].witness().id, LockReply::Free),
            RestoreDecision::Pending
        );
        assert_eq!(
            check.handle_reply(
                nodes[1].witness().id,
                nodes[1].handle_lock_query(&account, 1)
            ),
            RestoreDecision::Pending
        );
        assert_eq!(
            check.handle_reply(WitnessId([0xAB; 32]), LockReply::Free),
            RestoreDecision::Pending,
            "a stranger does not count"
        );
        assert_eq!(
            check.handle_reply(
                nodes[2].witness().id,
                nodes[2].handle_lock_query(&account, 1)
            ),
            RestoreDecision::FreeToSign
        );
    }

    #[test]
    fn a_block_signed_on_the_old_phone_is_resent_verbatim() {
        let mut fx = fixture();
        let old_phone_block = fx.send(1, 10, DmappId::WALLET);
        let mut nodes: Vec<_> = (0..4).map(|i| fx.node(i)).collect();
        // The old phone reached only one member before it was lost.
        assert!(matches!(
            nodes[3].handle_attest(&request(&old_phone_block)),
            AttestReply::Attested(_)
        ));
        assert_eq!(
            ask_all(&fx, &nodes, 1),
            RestoreDecision::Resend(Box::new(old_phone_block))
        );
    }

    #[test]
    fn a_forged_lock_from_a_byzantine_member_is_ignored() {
        let mut fx = fixture();
        let nodes: Vec<_> = (0..4).map(|i| fx.node(i)).collect();
        let mut forged = fx.send(1, 10, DmappId::WALLET);
        forged.body.balance += 1; // no longer the owner's signature
        let mut check = RestoreCheck::new(&fx.epoch, fx.owner.public_key().clone(), 1);
        let account = fx.owner.public_key().account_id();
        check.handle_reply(nodes[0].witness().id, LockReply::Locked(Box::new(forged)));
        check.handle_reply(
            nodes[1].witness().id,
            nodes[1].handle_lock_query(&account, 1),
        );
        check.handle_reply(
            nodes[2].witness().id,
            nodes[2].handle_lock_query(&account, 1),
        );
        assert_eq!(
            check.decision(),
            RestoreDecision::Pending,
            "the forged answer is not an answer"
        );
        assert_eq!(
            check.handle_reply(
                nodes[3].witness().id,
                nodes[3].handle_lock_query(&account, 1)
            ),
            RestoreDecision::FreeToSign
        );
    }

    #[test]
    fn two_devices_that_both_signed_are_reported_as_equivocation() {
        let mut fx = fixture();
        let phone_a = fx.send(1, 10, DmappId::WALLET);
        let phone_b = fx.send(1, 20, DmappId::WALLET);
        let mut nodes: Vec<_> = (0..4).map(|i| fx.node(i)).collect();
        assert!(matches!(
            nodes[0].handle_attest(&request(&phone_a)),
            AttestReply::Attested(_)
        ));
        assert!(matches!(
            nodes[1].handle_attest(&request(&phone_b)),
            AttestReply::Attested(_)
        ));
        assert!(matches!(
            ask_all(&fx, &nodes, 1),
            RestoreDecision::Equivocated(_)
        ));
    }
}
