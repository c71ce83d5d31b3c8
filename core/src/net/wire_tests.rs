//! Every message round-trips; arbitrary and mutated bytes never panic the decoder.

use proptest::prelude::*;

use super::*;
use crate::devnet::Devnet;
use crate::ledger::{next_send, DmappId};
use crate::poc::{AttestRequest, Collector, CollectorStep, WitnessNode};
use crate::store::SqliteWitnessStore;

/// A real certificate from a 4-witness devnet, and the block's attestations.
fn sample() -> (Certificate, Vec<Attestation>, PeerRecord) {
    let mut devnet = Devnet::generate(11, 4, 2, None).expect("devnet");
    let epoch = devnet.genesis.epoch0();
    let states = devnet.genesis.genesis_states();
    let state = states[0].1.clone();
    let to = states[1].0;
    let body = next_send(&state, 0, to, 5_000, b"hi".to_vec(), 1, DmappId::WALLET).expect("body");
    let owner = devnet
        .wallet_keys
        .iter_mut()
        .find(|k| k.public_key().account_id() == states[0].0)
        .expect("owner key");
    let block = body.sign(owner).expect("sign");
    let request = AttestRequest { block, send: None };
    let mut collector = Collector::new(epoch.clone(), request.clone(), vec![]);
    let mut attestations = Vec::new();
    let mut cert = None;
    for i in 0..4 {
        let store = SqliteWitnessStore::new(crate::store::Store::open_in_memory().expect("db"))
            .expect("store");
        let witness = devnet.witness(i).expect("witness");
        let mut node = WitnessNode::start(
            witness.clone(),
            devnet.station_keys[i].clone(),
            epoch.clone(),
            store,
            &states,
        )
        .expect("node");
        let reply = node.handle_attest(&request);
        let answer = MemberAnswer::from(&reply);
        if let MemberAnswer::Attested(a) = &answer {
            attestations.push(a.clone());
        }
        for step in collector.on_answer(witness.id, answer) {
            if let CollectorStep::Certified(c) = step {
                cert = Some(*c);
            }
        }
    }
    let record = PeerRecord::sign(
        devnet.witness(0).expect("w").id,
        libp2p::PeerId::random(),
        vec!["/ip4/127.0.0.1/udp/4001/quic-v1".parse().expect("addr")],
        7,
        &mut devnet.station_keys[0],
    )
    .expect("record");
    assert!(record.verify(&epoch));
    (cert.expect("certified"), attestations, record)
}

fn all_messages() -> (Vec<Request>, Vec<Response>) {
    let (cert, attestations, record) = sample();
    let account = cert.block.body.account;
    let mut devnet = Devnet::generate(11, 4, 2, None).expect("devnet");
    let witness = devnet.witness(0).expect("witness").id;
    let handover = crate::poc::Handover::sign(
        0,
        account,
        witness,
        None,
        None,
        None,
        vec![],
        &mut devnet.station_keys[0],
    )
    .expect("handover");
    let mut owner = crate::crypto::KeyPair::from_seed(&[7; 32]).expect("keys");
    let push = super::super::push::PushRegistration::sign(
        &mut owner,
        super::super::push::PushPlatform::Apns,
        "0123abcd",
        42,
    )
    .expect("registration");
    let requests = vec![
        Request::Submit {
            request: AttestRequest {
                block: cert.block.clone(),
                send: Some(cert.clone()),
            },
            history: vec![cert.clone(), cert.clone()],
        },
        Request::Attest(AttestRequest {
            block: cert.block.clone(),
            send: None,
        }),
        Request::Certificate(Box::new(cert.clone())),
        Request::Inbox(account),
        Request::Head(account),
        Request::Records(vec![record.clone()]),
        Request::Broadcast(vec![1, 2, 3]),
        Request::RegisterPush(Box::new(push.clone())),
        Request::WatchPayments(Box::new(push)),
        Request::HandoverRequest { account, epoch: 3 },
        Request::Handover(Box::new(handover.clone())),
    ];
    let responses = vec![
        Response::Certified(Box::new(cert.clone())),
        Response::Refused("refused by 2 committee members: invalid block".into()),
        Response::Answer(MemberAnswer::Attested(attestations[0].clone())),
        Response::Answer(MemberAnswer::NeedCertificate { height: 3 }),
        Response::Answer(MemberAnswer::Rejected("no".into())),
        Response::Answer(MemberAnswer::Conflict(Box::new(
            crate::poc::EquivocationProof {
                first: cert.block.clone(),
                second: cert.block.clone(),
            },
        ))),
        Response::Answer(MemberAnswer::Unavailable("disk".into())),
        Response::Ack,
        Response::Inbox(vec![cert.clone()]),
        Response::Head(Some(Box::new(cert.clone()))),
        Response::Head(None),
        Response::Records(vec![record]),
        Response::Error("not a station".into()),
        Response::Answer(MemberAnswer::NeedHandover { epoch: 2 }),
        Response::Handover(Box::new(handover)),
    ];
    (requests, responses)
}

#[test]
fn every_message_round_trips() {
    let (requests, responses) = all_messages();
    for r in requests {
        assert_eq!(Request::decode(&r.encode()).expect("request"), r);
    }
    for r in responses {
        assert_eq!(Response::decode(&r.encode()).expect("response"), r);
    }
}

#[test]
fn a_tampered_peer_record_does_not_verify() {
    let (_, _, record) = sample();
    let devnet = Devnet::generate(11, 4, 2, None).expect("devnet");
    let epoch = devnet.genesis.epoch0();
    let mut moved = record.clone();
    moved.addrs = vec!["/ip4/127.0.0.9/tcp/1".parse().expect("addr")];
    assert!(!moved.verify(&epoch), "addresses are signed");
    let mut other = record;
    other.witness = devnet.witness(1).expect("w").id;
    assert!(
        !other.verify(&epoch),
        "a record cannot claim another witness"
    );
}

#[test]
fn long_reasons_are_cut_at_a_character_boundary() {
    let reason = "é".repeat(MAX_REASON_LEN);
    let decoded = Response::decode(&Response::Refused(reason).encode()).expect("decode");
    let Response::Refused(cut) = decoded else {
        panic!("variant")
    };
    assert!(cut.len() <= MAX_REASON_LEN && cut.chars().all(|c| c == 'é'));
}

#[test]
fn unknown_versions_and_tags_are_refused() {
    assert!(matches!(
        Request::decode(&[2, 1]),
        Err(DecodeError::UnsupportedVersion { .. })
    ));
    assert!(matches!(
        Response::decode(&[WIRE_VERSION, 99]),
        Err(DecodeError::UnknownTag { .. })
    ));
    let mut ack = Response::Ack.encode();
    ack.push(0);
    assert!(matches!(
        Response::decode(&ack),
        Err(DecodeError::TrailingBytes(1))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = Request::decode(&bytes);
        let _ = Response::decode(&bytes);
        let _ = PeerRecord::decode(&bytes);
    }

    #[test]
    fn mutated_messages_never_panic(index in any::<prop::sample::Index>(), byte in any::<u8>(), which in 0usize..20) {
        static MESSAGES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        let messages = MESSAGES.get_or_init(|| {
            let (requests, responses) = all_messages();
            requests.iter().map(Request::encode).chain(responses.iter().map(Response::encode)).collect()
        });
        let mut bytes = messages[which % messages.len()].clone();
        let i = index.index(bytes.len());
        bytes[i] = byte;
        let _ = Request::decode(&bytes);
        let _ = Response::decode(&bytes);
    }
}
