use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;
use crate::crypto::{AccountId, Hash, KeyPair, PublicKey};

fn keys(i: u8) -> KeyPair {
    KeyPair::from_seed(&[i; 32]).expect("keygen")
}

fn some_public_key() -> &'static PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    KEY.get_or_init(|| keys(1).public_key().clone())
}

fn send_body() -> BlockBody {
    BlockBody {
        account: AccountId([1; 32]),
        height: 3,
        previous: Hash([2; 32]),
        epoch: 4,
        op: Op::Send {
            to: AccountId([5; 32]),
            amount: 600,
            memo: b"rent".to_vec(),
            prev_to: Some(1),
        },
        balance: 7_000,
        timestamp_ms: 1_764_000_000_000,
        dmapp: DmappId::WALLET,
    }
}

/// Pins the wire format of a Send body and its hash: any change here is a protocol change
/// and must come with a new BLOCK_VERSION.
#[test]
fn wire_format_of_a_send_is_pinned() {
    let body = send_body();
    let expected = concat!(
        "01",                                                               // version
        "0101010101010101010101010101010101010101010101010101010101010101", // account
        "0000000000000003",                                                 // height
        "0202020202020202020202020202020202020202020202020202020202020202", // previous
        "0000000000000004",                                                 // epoch
        "01",                                                               // op = Send
        "0505050505050505050505050505050505050505050505050505050505050505", // to
        "0000000000000258",                                                 // amount 600
        "0000000472656e74",                                                 // memo "rent"
        "010000000000000001",                                               // prev_to = Some(1)
        "0000000000001b58",                                                 // balance 7000
        "0000019ab697e800",                                                 // timestamp
        "0000000000000000000000000000000000000000000000000000000000000000", // dmapp = wallet
    );
    assert_eq!(hex::encode(body.encode()), expected);
    assert_eq!(body.hash().to_hex(), PINNED_SEND_HASH);
}

const PINNED_SEND_HASH: &str = "2399811c5079a9021e16b0d140cd6436b113870783cba142b3c8bccb66466e76";

#[test]
fn a_signed_block_round_trips_and_verifies_only_for_its_owner() {
    let mut owner = keys(9);
    let block = send_body().sign(&mut owner).expect("sign");
    let decoded = Block::decode(&block.encode()).expect("decode");
    assert_eq!(decoded, block);
    assert!(decoded.verify_signature(owner.public_key()));
    assert!(!decoded.verify_signature(keys(8).public_key()));
    assert_eq!(
        decoded.hash(),
        send_body().hash(),
        "the hash ignores the signature"
    );

    let mut tampered = decoded.clone();
    tampered.body.balance += 1;
    assert!(!tampered.verify_signature(owner.public_key()));
}

#[test]
fn malformed_blocks_get_typed_errors() {
    let mut owner = keys(9);
    let bytes = send_body().sign(&mut owner).expect("sign").encode();
    assert!(matches!(
        Block::decode(&bytes[..bytes.len() - 1]),
        Err(crate::codec::DecodeError::UnexpectedEnd { .. })
    ));
    let mut extra = bytes.clone();
    extra.push(0);
    assert_eq!(
        Block::decode(&extra),
        Err(crate::codec::DecodeError::TrailingBytes(1))
    );
    let mut version = bytes.clone();
    version[0] = 2;
    assert!(matches!(
        Block::decode(&version),
        Err(crate::codec::DecodeError::UnsupportedVersion { version: 2, .. })
    ));
    let mut op = bytes.clone();
    op[1 + 32 + 8 + 32 + 8] = 7;
    assert!(matches!(
        Block::decode(&op),
        Err(crate::codec::DecodeError::UnknownTag { what: "op", tag: 7 })
    ));
    let mut open = send_body();
    open.op = Op::Open {
        public_key: some_public_key().clone(),
    };
    let mut bad_key = open.encode();
    bad_key[1 + 32 + 8 + 32 + 8 + 1 + 4] = 0x7F; // algorithm byte of the key
    assert!(matches!(
        BlockBody::read(&mut crate::codec::Reader::new(&bad_key)),
        Err(crate::codec::DecodeError::Invalid {
            field: "public key",
            ..
        })
    ));
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Open {
            public_key: some_public_key().clone()
        }),
        (
            any::<[u8; 32]>(),
            any::<u64>(),
            proptest::collection::vec(any::<u8>(), 0..=MAX_MEMO_LEN),
            any::<Option<u64>>()
        )
            .prop_map(|(to, amount, memo, prev_to)| Op::Send {
                to: AccountId(to),
                amount,
                memo,
                prev_to
            }),
        (
            any::<[u8; 32]>(),
            any::<u64>(),
            any::<[u8; 32]>(),
            any::<u64>()
        )
            .prop_map(|(from, h, hash, amount)| {
                Op::Receive {
                    from: AccountId(from),
                    send_height: h,
                    send_hash: Hash(hash),
                    amount,
                }
            }),
    ]
}

fn arb_body() -> impl Strategy<Value = BlockBody> {
    (
        any::<[u8; 32]>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        arb_op(),
        any::<u64>(),
        any::<u64>(),
        any::<[u8; 32]>(),
    )
        .prop_map(
            |(account, height, previous, epoch, op, balance, timestamp_ms, dmapp)| BlockBody {
                account: AccountId(account),
                height,
                previous: Hash(previous),
                epoch,
                op,
                balance,
                timestamp_ms,
                dmapp: DmappId(dmapp),
            },
        )
}

proptest! {
    #[test]
    fn every_body_round_trips_through_its_encoding(body in arb_body(), sig in proptest::collection::vec(any::<u8>(), 0..700)) {
        let mut sig_bytes = vec![1u8];
        sig_bytes.extend(sig);
        let block = Block { body, signature: crate::crypto::Signature::from_bytes(&sig_bytes).expect("framing") };
        let bytes = block.encode();
        prop_assert!(bytes.len() <= MAX_BLOCK_LEN);
        prop_assert_eq!(Block::decode(&bytes).expect("decode"), block);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Block::decode(&bytes);
    }

    #[test]
    fn decoding_a_mutated_block_never_panics(pos in any::<usize>(), byte in any::<u8>(), body in arb_body()) {
        let block = Block { body, signature: crate::crypto::Signature::from_bytes(&[1, 2, 3]).expect("framing") };
        let mut bytes = block.encode();
        let i = pos % bytes.len();
        bytes[i] = byte;
        if let Ok(decoded) = Block::decode(&bytes) {
            // Canonical: whatever decodes re-encodes to the same bytes.
            prop_assert_eq!(decoded.encode(), bytes);
        }
    }
}
