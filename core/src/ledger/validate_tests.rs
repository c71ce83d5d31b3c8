use std::collections::BTreeSet;

use super::*;
use crate::crypto::KeyPair;
use crate::ledger::BlockBody;

const T0: u64 = 1_764_000_000_000;

fn rules() -> EpochRules {
    EpochRules {
        epoch: 0,
        min_amount: 10,
        dmapps: BTreeSet::from([DmappId([7; 32])]),
    }
}

/// An account owner that builds blocks on its own certified state.
struct Owner {
    keys: KeyPair,
    state: AccountState,
}

impl Owner {
    /// An account opened with `funds` (as a genesis allocation would).
    fn funded(seed: u8, funds: u64) -> Self {
        let mut keys = KeyPair::from_seed(&[seed; 32]).expect("keygen");
        let open = body(
            &keys,
            0,
            Hash([0; 32]),
            Op::Open {
                public_key: keys.public_key().clone(),
            },
            0,
        )
        .sign(&mut keys)
        .expect("sign");
        let mut state = validate_open(&open, &rules()).expect("valid open");
        state.balance = funds;
        Owner { keys, state }
    }

    fn id(&self) -> AccountId {
        self.keys.public_key().account_id()
    }

    fn next(&mut self, op: Op, balance: u64) -> Block {
        body(
            &self.keys,
            self.state.head_height + 1,
            self.state.head_hash,
            op,
            balance,
        )
        .sign(&mut self.keys)
        .expect("sign")
    }

    fn send(&mut self, to: AccountId, amount: u64) -> Block {
        let prev_to = self.state.last_sent_to.get(&to).copied();
        self.next(
            Op::Send {
                to,
                amount,
                memo: vec![],
                prev_to,
            },
            self.state.balance - amount,
        )
    }

    fn receive(&mut self, send: &CertifiedSend) -> Block {
        let op = Op::Receive {
            from: send.from,
            send_height: send.height,
            send_hash: send.hash,
            amount: send.amount,
        };
        self.next(op, self.state.balance + send.amount)
    }

    fn apply(
        &mut self,
        block: &Block,
        send: Option<&CertifiedSend>,
    ) -> Result<(), ValidationError> {
        self.state = validate_next(&self.state, block, &rules(), send)?;
        Ok(())
    }
}

fn body(keys: &KeyPair, height: u64, previous: Hash, op: Op, balance: u64) -> BlockBody {
    BlockBody {
        account: keys.public_key().account_id(),
        height,
        previous,
        epoch: 0,
        op,
        balance,
        timestamp_ms: T0 + height,
        dmapp: DmappId::WALLET,
    }
}

fn resign(owner: &mut Owner, mut block: Block, change: impl FnOnce(&mut BlockBody)) -> Block {
    change(&mut block.body);
    block.body.sign(&mut owner.keys).expect("sign")
}

#[test]
fn an_open_block_starts_an_empty_account() {
    let owner = Owner::funded(1, 0);
    assert_eq!(owner.state.head_height, 0);
    assert_eq!(owner.state.balance, 0);
}

#[test]
fn open_blocks_are_checked() {
    let mut keys = KeyPair::from_seed(&[1; 32]).expect("keygen");
    let other = KeyPair::from_seed(&[2; 32]).expect("keygen");
    let open = |keys: &mut KeyPair, pk: &PublicKey, balance: u64| {
        body(
            keys,
            0,
            Hash([0; 32]),
            Op::Open {
                public_key: pk.clone(),
            },
            balance,
        )
        .sign(keys)
        .expect("sign")
    };
    let pk = keys.public_key().clone();
    assert_eq!(
        validate_open(&open(&mut keys, &pk, 5), &rules()),
        Err(ValidationError::OpenWithBalance(5))
    );
    let other_pk = other.public_key().clone();
    assert_eq!(
        validate_open(&open(&mut keys, &other_pk, 0), &rules()),
        Err(ValidationError::KeyDoesNotMatchAccount)
    );
    let mut forged = open(&mut keys, &pk, 0);
    forged.body.timestamp_ms += 1;
    assert_eq!(
        validate_open(&forged, &rules()),
        Err(ValidationError::BadSignature)
    );
}

#[test]
fn a_send_then_its_receive_moves_the_funds() {
    let mut alice = Owner::funded(1, 1_000);
    let mut bob = Owner::funded(2, 0);
    let send = alice.send(bob.id(), 300);
    alice.apply(&send, None).expect("valid send");
    assert_eq!(alice.state.balance, 700);
    let certified = CertifiedSend::from_block(&send).expect("a send");
    let receive = bob.receive(&certified);
    bob.apply(&receive, Some(&certified))
        .expect("valid receive");
    assert_eq!(bob.state.balance, 300);
    assert_eq!(bob.state.recv_cursor.get(&alice.id()), Some(&1));
}

#[test]
fn a_send_is_received_once_and_in_order() {
    let mut alice = Owner::funded(1, 1_000);
    let mut bob = Owner::funded(2, 0);
    let first = alice.send(bob.id(), 100);
    alice.apply(&first, None).expect("send 1");
    let second = alice.send(bob.id(), 200);
    alice.apply(&second, None).expect("send 2");
    let (first, second) = (
        CertifiedSend::from_block(&first).expect("send"),
        CertifiedSend::from_block(&second).expect("send"),
    );
    assert_eq!(second.prev_to, Some(first.height));

    let out_of_order = bob.receive(&second);
    assert_eq!(
        bob.apply(&out_of_order, Some(&second)),
        Err(ValidationError::ReceiveOutOfOrder {
            expected: None,
            found: Some(1)
        })
    );
    let r1 = bob.receive(&first);
    bob.apply(&r1, Some(&first)).expect("first receive");
    let again = bob.receive(&first);
    assert_eq!(
        bob.apply(&again, Some(&first)),
        Err(ValidationError::ReceiveOutOfOrder {
            expected: Some(1),
            found: None
        })
    );
    let r2 = bob.receive(&second);
    bob.apply(&r2, Some(&second)).expect("second receive");
    assert_eq!(bob.state.balance, 300);
}

#[test]
fn receives_must_match_a_send_addressed_here() {
    let mut alice = Owner::funded(1, 1_000);
    let mut bob = Owner::funded(2, 0);
    let carol = Owner::funded(3, 0);
    let send = alice.send(carol.id(), 100);
    let certified = CertifiedSend::from_block(&send).expect("send");
    let steal = bob.receive(&certified);
    assert_eq!(
        bob.apply(&steal, Some(&certified)),
        Err(ValidationError::NotAddressedHere)
    );
    assert_eq!(bob.apply(&steal, None), Err(ValidationError::MissingSend));
    let mut inflated = certified.clone();
    inflated.amount += 1;
    let lie = bob.receive(&inflated);
    assert_eq!(
        bob.apply(&lie, Some(&certified)),
        Err(ValidationError::ReceiveMismatch)
    );
}

#[test]
fn sends_are_checked() {
    let mut alice = Owner::funded(1, 1_000);
    let bob = Owner::funded(2, 0).id();
    let r = rules();
    let check = |owner: &Owner, block: &Block| validate_next(&owner.state, block, &r, None);

    let too_much = alice.next(
        Op::Send {
            to: bob,
            amount: 1_001,
            memo: vec![],
            prev_to: None,
        },
        0,
    );
    assert_eq!(
        check(&alice, &too_much),
        Err(ValidationError::InsufficientFunds {
            balance: 1_000,
            amount: 1_001
        })
    );
    let dust = alice.send(bob, 9);
    assert_eq!(
        check(&alice, &dust),
        Err(ValidationError::BelowMinimum { amount: 9, min: 10 })
    );
    let me = alice.id();
    let to_self = alice.send(me, 10);
    assert_eq!(check(&alice, &to_self), Err(ValidationError::SendToSelf));
    let wrong_balance = alice.next(
        Op::Send {
            to: bob,
            amount: 10,
            memo: vec![],
            prev_to: None,
        },
        991,
    );
    assert_eq!(
        check(&alice, &wrong_balance),
        Err(ValidationError::BalanceMismatch {
            expected: 990,
            found: 991
        })
    );
    let wrong_prev_to = alice.next(
        Op::Send {
            to: bob,
            amount: 10,
            memo: vec![],
            prev_to: Some(0),
        },
        990,
    );
    assert_eq!(
        check(&alice, &wrong_prev_to),
        Err(ValidationError::WrongPrevTo {
            expected: None,
            found: Some(0)
        })
    );

    let good = alice.send(bob, 10);
    let wrong_height = resign(&mut alice, good.clone(), |b| b.height = 5);
    assert_eq!(
        check(&alice, &wrong_height),
        Err(ValidationError::WrongHeight {
            expected: 1,
            found: 5
        })
    );
    let wrong_previous = resign(&mut alice, good.clone(), |b| b.previous = Hash([9; 32]));
    assert_eq!(
        check(&alice, &wrong_previous),
        Err(ValidationError::WrongPrevious)
    );
    let wrong_epoch = resign(&mut alice, good.clone(), |b| b.epoch = 1);
    assert_eq!(
        check(&alice, &wrong_epoch),
        Err(ValidationError::WrongEpoch {
            expected: 0,
            found: 1
        })
    );
    let unreviewed = resign(&mut alice, good.clone(), |b| b.dmapp = DmappId([8; 32]));
    assert_eq!(
        check(&alice, &unreviewed),
        Err(ValidationError::DmappNotApproved(DmappId([8; 32])))
    );
    let reviewed = resign(&mut alice, good.clone(), |b| b.dmapp = DmappId([7; 32]));
    assert!(check(&alice, &reviewed).is_ok());
    let backwards = resign(&mut alice, good.clone(), |b| b.timestamp_ms = T0 - 1);
    assert_eq!(
        check(&alice, &backwards),
        Err(ValidationError::TimestampBackwards {
            previous: T0,
            found: T0 - 1
        })
    );
    let mut forged = good.clone();
    forged.body.memo_mut_for_test();
    assert_eq!(check(&alice, &forged), Err(ValidationError::BadSignature));
    let reopen = resign(&mut alice, good.clone(), |b| {
        b.op = Op::Open {
            public_key: KeyPair::from_seed(&[1; 32])
                .expect("k")
                .public_key()
                .clone(),
        }
    });
    assert_eq!(check(&alice, &reopen), Err(ValidationError::MisplacedOpen));
    assert!(check(&alice, &good).is_ok());
}

#[test]
fn a_receive_that_would_overflow_is_refused() {
    let mut alice = Owner::funded(1, 1_000);
    let mut bob = Owner::funded(2, u64::MAX - 5);
    let send = alice.send(bob.id(), 10);
    let certified = CertifiedSend::from_block(&send).expect("send");
    let op = Op::Receive {
        from: certified.from,
        send_height: certified.height,
        send_hash: certified.hash,
        amount: 10,
    };
    let receive = bob.next(op, 0);
    assert_eq!(
        bob.apply(&receive, Some(&certified)),
        Err(ValidationError::Overflow)
    );
}

impl BlockBody {
    /// Changes a signed field without re-signing (forgery in tests).
    fn memo_mut_for_test(&mut self) {
        if let Op::Send { memo, .. } = &mut self.op {
            memo.push(1);
        }
    }
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn funded_pair() -> (Owner, AccountId) {
        (Owner::funded(1, 1_000), Owner::funded(2, 0).id())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Flipping any byte of a valid block's encoding never yields a different valid
        /// block: either it no longer decodes, or validation refuses it, or its body (what
        /// the hash covers) is unchanged.
        #[test]
        fn a_mutated_valid_block_is_refused_or_means_the_same(pos in any::<usize>(), xor in 1u8..=255) {
            let (mut alice, bob) = funded_pair();
            let block = alice.send(bob, 100);
            prop_assert!(validate_next(&alice.state, &block, &rules(), None).is_ok());
            let mut bytes = block.encode();
            let i = pos % bytes.len();
            bytes[i] ^= xor;
            if let Ok(mutated) = Block::decode(&bytes) {
                if validate_next(&alice.state, &mutated, &rules(), None).is_ok() {
                    prop_assert_eq!(mutated.body, block.body);
                }
            }
        }

        /// Whatever a block says, validation returns a verdict (never panics), and a
        /// block it accepts conserves value: the new balance is the old one minus what was
        /// sent.
        #[test]
        fn validation_of_arbitrary_sends_never_panics_and_conserves_value(
            amount in any::<u64>(), balance in any::<u64>(), height in 0u64..4, epoch in 0u64..2,
            timestamp in any::<u64>(), prev_to in any::<Option<u64>>(),
        ) {
            let (mut alice, bob) = funded_pair();
            let body = BlockBody {
                account: alice.id(),
                height,
                previous: alice.state.head_hash,
                epoch,
                op: Op::Send { to: bob, amount, memo: vec![], prev_to },
                balance,
                timestamp_ms: timestamp,
                dmapp: DmappId::WALLET,
            };
            let block = body.sign(&mut alice.keys).expect("sign");
            if let Ok(next) = validate_next(&alice.state, &block, &rules(), None) {
                prop_assert_eq!(next.balance as u128 + amount as u128, alice.state.balance as u128);
                prop_assert_eq!(next.head_height, alice.state.head_height + 1);
            }
        }
    }
}
