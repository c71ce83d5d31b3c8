use std::collections::BTreeSet;

use super::*;
use crate::crypto::KeyPair;
use crate::ledger::{BlockBody, DmappId, EpochRules, Op};

fn witness(i: u8) -> (Witness, KeyPair) {
    let keys = KeyPair::from_seed(&[100 + i; 32]).expect("keygen");
    let id = WitnessId(*blake3::hash(&[i]).as_bytes());
    (
        Witness {
            id,
            public_key: keys.public_key().clone(),
        },
        keys,
    )
}

fn setup(count: u8, n: usize) -> (Epoch, Vec<(Witness, KeyPair)>, Block) {
    let members: Vec<_> = (0..count).map(witness).collect();
    let rules = EpochRules {
        epoch: 3,
        min_amount: 1,
        dmapps: BTreeSet::new(),
    };
    let epoch = Epoch::new(
        rules,
        [7; 32],
        n,
        members.iter().map(|(w, _)| w.clone()).collect(),
    );
    let mut owner = KeyPair::from_seed(&[1; 32]).expect("keygen");
    let block = BlockBody {
        account: owner.public_key().account_id(),
        height: 1,
        previous: Hash([0; 32]),
        epoch: 3,
        op: Op::Send {
            to: AccountId([2; 32]),
            amount: 5,
            memo: vec![],
            prev_to: None,
        },
        balance: 10,
        timestamp_ms: 0,
        dmapp: DmappId::WALLET,
    }
    .sign(&mut owner)
    .expect("sign");
    (epoch, members, block)
}

fn attest(
    epoch: &Epoch,
    members: &mut [(Witness, KeyPair)],
    block: &Block,
    how_many: usize,
) -> Vec<Attestation> {
    let committee = epoch.committee(&block.body.account);
    committee
        .iter()
        .take(how_many)
        .map(|id| {
            let (w, k) = members
                .iter_mut()
                .find(|(w, _)| w.id == *id)
                .expect("member");
            Attestation::sign(Statement::for_block(epoch.number(), block), w.id, k).expect("sign")
        })
        .collect()
}

#[test]
fn a_quorum_of_attestations_makes_a_valid_certificate() {
    let (epoch, mut members, block) = setup(10, 7);
    assert_eq!(epoch.quorum(), 5);
    let attestations = attest(&epoch, &mut members, &block, 5);
    let cert = Certificate::assemble(block, &epoch, &attestations);
    assert_eq!(cert.signer_count(), 5);
    assert_eq!(cert.verify(&epoch), Ok(()));
    let decoded = Certificate::decode(&cert.encode()).expect("decode");
    assert_eq!(decoded, cert);
    assert_eq!(decoded.verify(&epoch), Ok(()));
    assert_eq!(
        cert.signer_ids(&epoch),
        epoch.committee(&cert.block.body.account)[..5].to_vec()
    );
}

#[test]
fn fewer_than_q_attestations_are_not_a_certificate() {
    let (epoch, mut members, block) = setup(10, 7);
    let attestations = attest(&epoch, &mut members, &block, 4);
    let cert = Certificate::assemble(block, &epoch, &attestations);
    assert_eq!(
        cert.verify(&epoch),
        Err(CertificateError::NoQuorum {
            signers: 4,
            quorum: 5
        })
    );
}

#[test]
fn forged_or_misplaced_signatures_are_caught() {
    let (epoch, mut members, block) = setup(10, 7);
    let attestations = attest(&epoch, &mut members, &block, 6);
    let good = Certificate::assemble(block.clone(), &epoch, &attestations);

    // A signature moved to another member's slot.
    let mut swapped = good.clone();
    swapped.proofs.swap(0, 1);
    assert_eq!(
        swapped.verify(&epoch),
        Err(CertificateError::BadSignature(0))
    );

    // The same attestations over another block.
    let mut other = good.clone();
    other.block.body.balance += 1;
    assert!(matches!(
        other.verify(&epoch),
        Err(CertificateError::BadSignature(_))
    ));

    // A bit set beyond the committee, or a missing signature.
    let mut bitmap = good.clone();
    bitmap.signers[0] |= 0x80;
    assert_eq!(bitmap.verify(&epoch), Err(CertificateError::BadBitmap(7)));
    let mut short = good.clone();
    short.proofs.pop();
    assert_eq!(
        short.verify(&epoch),
        Err(CertificateError::SignatureCount {
            named: 6,
            present: 5
        })
    );

    // Another epoch.
    let mut stale = good.clone();
    stale.epoch = 2;
    assert_eq!(
        stale.verify(&epoch),
        Err(CertificateError::WrongEpoch {
            expected: 3,
            found: 2
        })
    );
}

#[test]
fn attestations_from_outside_the_committee_do_not_count() {
    let (epoch, mut members, block) = setup(10, 4);
    let committee = epoch.committee(&block.body.account);
    let statement = Statement::for_block(3, &block);
    let outsiders: Vec<_> = members
        .iter_mut()
        .filter(|(w, _)| !committee.contains(&w.id))
        .map(|(w, k)| Attestation::sign(statement, w.id, k).expect("sign"))
        .collect();
    assert_eq!(outsiders.len(), 6);
    let cert = Certificate::assemble(block, &epoch, &outsiders);
    assert_eq!(cert.signer_count(), 0);
    assert!(cert.verify(&epoch).is_err());
}

#[test]
fn an_attestation_verifies_only_for_its_witness() {
    let (epoch, mut members, block) = setup(4, 4);
    let a = attest(&epoch, &mut members, &block, 1).remove(0);
    let signer = members
        .iter()
        .find(|(w, _)| w.id == a.witness)
        .expect("signer")
        .0
        .clone();
    let other = members
        .iter()
        .find(|(w, _)| w.id != a.witness)
        .expect("other")
        .0
        .clone();
    assert!(a.verify(&signer));
    assert!(!a.verify(&other));
}

#[test]
fn decoding_garbage_certificates_never_panics() {
    for len in 0..200usize {
        let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        let _ = Certificate::decode(&bytes);
    }
}
