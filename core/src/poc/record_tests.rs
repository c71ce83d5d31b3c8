//! Epoch records: the chain link, k-of-m signatures, the seed's reveals, the fields, the
//! encoding, and the runtime epoch built from a verified record.

use proptest::prelude::*;

use super::*;
use crate::crypto::AccountId;
use crate::dmapp::{DmappManifest, DmappRevocation, SignedManifest};
use crate::ledger::{validate_next, BlockBody, Op, ValidationError};
use crate::poc::{SeedCeremony, SeedContribution, SeedPoll, WitnessId};
use crate::sim::{genesis_state, sim_key};

const K: usize = 2;

struct Net {
    authorities: Vec<KeyPair>,
    reviewer: KeyPair,
    registry: Registry,
    witnesses: Vec<Witness>,
    e0: Epoch,
    r0: EpochRecord,
}

fn witness(i: usize) -> Witness {
    let keys = sim_key(1_300 + i);
    Witness {
        id: WitnessId(*blake3::hash(&keys.public_key().to_bytes()).as_bytes()),
        public_key: keys.public_key().clone(),
    }
}

fn net() -> Net {
    let authorities: Vec<KeyPair> = (0..3).map(|i| sim_key(1_320 + i)).collect();
    let reviewer = sim_key(1_330);
    let mut registry = Registry::new(vec![reviewer.public_key().clone()]);
    registry.seal(0);
    let witnesses: Vec<Witness> = (0..5).map(witness).collect();
    let rules = EpochRules {
        epoch: 0,
        min_amount: 10,
        dmapps: registry.rules_for_epoch(0),
    };
    let e0 = Epoch::new(rules, [7; 32], 4, witnesses[..4].to_vec())
        .with_retention(3)
        .with_attest_quota(50);
    let r0 = EpochRecord::initial(&e0, registry.root(0), &Hash([1; 32]));
    Net {
        authorities,
        reviewer,
        registry,
        witnesses,
        e0,
        r0,
    }
}

impl Net {
    fn keys(&self) -> Vec<PublicKey> {
        self.authorities
            .iter()
            .map(|k| k.public_key().clone())
            .collect()
    }

    /// A full ceremony for `epoch` over `set`, authorities `revealing` revealing.
    fn seed(&mut self, epoch: u64, set: &[Witness], revealing: &[usize]) -> SeedOutcome {
        let mut ceremony = SeedCeremony::new(epoch, self.keys(), K).expect("threshold");
        let parts: Vec<SeedContribution> = (0..3)
            .map(|i| SeedContribution::new(epoch, i as u8, [epoch as u8 * 16 + i as u8; 32]))
            .collect();
        for (i, p) in parts.iter().enumerate() {
            let c = p.commit(&mut self.authorities[i]).expect("sign");
            ceremony.handle_commit(&c).expect("commit");
        }
        let mut sorted = set.to_vec();
        sorted.sort_by_key(|w| w.id);
        let root = WitnessSetTree::new(&sorted).expect("tree").root();
        ceremony.freeze(root, 0, 10).expect("freeze");
        for i in revealing {
            ceremony.handle_reveal(&parts[*i].reveal()).expect("reveal");
        }
        match ceremony.poll_seed(10) {
            SeedPoll::Ready(outcome) => outcome,
            other => panic!("no seed: {other:?}"),
        }
    }

    /// `R_{e}` after `prev` over `set`, signed by `signers`.
    fn record(
        &mut self,
        prev: &EpochRecord,
        set: &[Witness],
        signers: &[usize],
    ) -> SignedEpochRecord {
        let e = prev.epoch + 1;
        let seed = self.seed(e, set, &[0, 1, 2]);
        let record = EpochRecord::next(
            prev,
            set,
            4,
            10,
            self.registry.root(e),
            &seed,
            Some(1_000 * e),
        )
        .expect("record");
        let mut signed = SignedEpochRecord::new(record);
        for i in signers {
            signed
                .sign_as(*i as u8, &mut self.authorities[*i])
                .expect("sign");
        }
        signed
    }

    fn set1(&self) -> Vec<Witness> {
        self.witnesses[1..].to_vec()
    }
}

#[test]
fn a_record_signed_by_k_authorities_verifies_and_round_trips() {
    let mut n = net();
    let set = n.set1();
    let r1 = n.record(&n.r0.clone(), &set, &[0, 2]);
    assert_eq!(r1.verify(&n.r0, &n.keys(), K), Ok(()));
    let bytes = r1.encode();
    assert_eq!(SignedEpochRecord::decode(&bytes), Ok(r1.clone()));
    assert_eq!(
        EpochRecord::decode(&r1.record.encode()),
        Ok(r1.record.clone())
    );
    assert_eq!(r1.record.previous, n.r0.hash());
    // All three signing is fine too.
    let mut all = r1.clone();
    all.sign_as(1, &mut n.authorities[1]).expect("sign");
    assert_eq!(all.verify(&n.r0, &n.keys(), K), Ok(()));
    // The seed came from the reveals, never from a signature.
    assert_eq!(
        r1.record.seed,
        crate::poc::derive_seed(1, &r1.record.witness_root, &r1.record.reveals)
    );
}

#[test]
fn a_record_signed_by_only_k_minus_1_authorities_is_refused() {
    let mut n = net();
    let set = n.set1();
    let r1 = n.record(&n.r0.clone(), &set, &[1]);
    assert_eq!(
        r1.verify(&n.r0, &n.keys(), K),
        Err(RecordError::NotEnoughSignatures { have: 1, need: 2 })
    );
    // One authority's signature under two indices is one forged signature, not two.
    let mut doubled = r1.clone();
    let sig = doubled.signatures[&1].clone();
    doubled.add_signature(0, sig);
    assert_eq!(
        doubled.verify(&n.r0, &n.keys(), K),
        Err(RecordError::BadSignature(0))
    );
}

#[test]
fn a_record_with_a_wrong_previous_hash_or_number_is_refused() {
    let mut n = net();
    let set = n.set1();
    let r1 = n.record(&n.r0.clone(), &set, &[0, 1]);
    // Verified against another R_0 (another genesis): the chain link breaks.
    let other_r0 = EpochRecord::initial(&n.e0, n.registry.root(0), &Hash([2; 32]));
    assert!(matches!(
        r1.verify(&other_r0, &n.keys(), K),
        Err(RecordError::WrongPrevious { .. })
    ));
    // A record whose previous field was rewritten, re-signed by k authorities: still
    // refused, the link is checked, not only the signatures.
    let mut relinked = SignedEpochRecord::new(EpochRecord {
        previous: Hash([3; 32]),
        ..r1.record.clone()
    });
    relinked.sign_as(0, &mut n.authorities[0]).expect("sign");
    relinked.sign_as(1, &mut n.authorities[1]).expect("sign");
    assert!(matches!(
        relinked.verify(&n.r0, &n.keys(), K),
        Err(RecordError::WrongPrevious { .. })
    ));
    // R_2 presented as the successor of R_0.
    let r2 = n.record(&r1.record, &set, &[0, 1]);
    assert_eq!(r2.verify(&r1.record, &n.keys(), K), Ok(()));
    assert_eq!(
        r2.verify(&n.r0, &n.keys(), K),
        Err(RecordError::WrongEpoch {
            expected: 1,
            found: 2
        })
    );
}

#[test]
fn changing_any_field_after_signing_breaks_the_signatures() {
    let mut n = net();
    let set = n.set1();
    let r1 = n.record(&n.r0.clone(), &set, &[0, 1]);
    let mut later = r1.clone();
    later.record.not_after = Some(99_999);
    assert_eq!(
        later.verify(&n.r0, &n.keys(), K),
        Err(RecordError::BadSignature(0))
    );
    let mut stranger = r1.clone();
    let sig = stranger.signatures[&0].clone();
    stranger.add_signature(9, sig);
    assert_eq!(
        stranger.verify(&n.r0, &n.keys(), K),
        Err(RecordError::UnknownAuthority(9))
    );
}

#[test]
fn a_seed_not_derived_from_k_reveals_is_refused() {
    let mut n = net();
    let set = n.set1();
    let r1 = n.record(&n.r0.clone(), &set, &[0, 1]);
    let keys = n.keys();
    let resign = |n: &mut Net, record: EpochRecord| {
        let mut s = SignedEpochRecord::new(record);
        s.sign_as(0, &mut n.authorities[0]).expect("sign");
        s.sign_as(1, &mut n.authorities[1]).expect("sign");
        s
    };
    // A ground seed (not the one the reveals give), even signed by k authorities.
    let ground = resign(
        &mut n,
        EpochRecord {
            seed: [0x55; 32],
            ..r1.record.clone()
        },
    );
    assert!(matches!(
        ground.verify(&n.r0, &keys, K),
        Err(RecordError::BadSeed { .. })
    ));
    // One reveal only, with the seed derived from it: below k.
    let mut one = r1.record.clone();
    one.reveals.retain(|i, _| *i == 0);
    one.seed = crate::poc::derive_seed(1, &one.witness_root, &one.reveals);
    let one = resign(&mut n, one);
    assert_eq!(
        one.verify(&n.r0, &keys, K),
        Err(RecordError::BadSeed { have: 1, need: 2 })
    );
    // The ceremony itself refuses a seed over another witness set than the record's.
    let four: Vec<Witness> = n.witnesses[..4].to_vec();
    let other = n.seed(1, &four, &[0, 1]);
    assert!(matches!(
        EpochRecord::next(&n.r0, &set, 4, 10, n.registry.root(1), &other, None),
        Err(RecordError::Field { field: "seed", .. })
    ));
}

#[test]
fn fields_out_of_range_are_refused() {
    let mut n = net();
    let set = n.set1();
    let r1 = n.record(&n.r0.clone(), &set, &[0, 1]);
    let bad = |f: &dyn Fn(&mut EpochRecord)| {
        let mut r = r1.record.clone();
        f(&mut r);
        SignedEpochRecord::new(r).verify(&n.r0, &n.keys(), K)
    };
    for (name, edit) in [
        (
            "q",
            &(|r: &mut EpochRecord| r.q += 1) as &dyn Fn(&mut EpochRecord),
        ),
        ("n", &|r: &mut EpochRecord| r.n = 0),
        ("witness_count", &|r: &mut EpochRecord| r.witness_count = 0),
        ("min_amount", &|r: &mut EpochRecord| r.min_amount = 0),
    ] {
        assert!(
            matches!(bad(edit), Err(RecordError::Field { field, .. }) if field == name),
            "{name}"
        );
    }
    // not_after never moves back.
    let r2 = n.record(&r1.record, &set, &[0, 1]);
    let mut earlier = r2.record.clone();
    earlier.not_after = Some(1);
    assert!(matches!(
        SignedEpochRecord::new(earlier).verify(&r1.record, &n.keys(), K),
        Err(RecordError::Field {
            field: "not_after",
            ..
        })
    ));
    assert!(matches!(
        r1.verify(&n.r0, &n.keys(), 4),
        Err(RecordError::BadThreshold { k: 4, m: 3 })
    ));
}

#[test]
fn the_epoch_is_built_from_a_verified_record_and_the_set_its_root_names() {
    let mut n = net();
    let set = n.set1();
    let r1 = n.record(&n.r0.clone(), &set, &[0, 1]);
    let e1 = Epoch::from_record(&r1.record, set.clone(), &n.registry, &n.e0).expect("epoch");
    assert_eq!(e1.number(), 1);
    assert_eq!(e1.seed, r1.record.seed);
    assert_eq!(e1.not_after, Some(1_000));
    assert_eq!(
        (e1.retention, e1.attest_quota),
        (3, 50),
        "carried over from R_0"
    );
    assert_eq!(e1.quorum(), r1.record.q as usize);
    assert_eq!(e1.witness_root(), r1.record.witness_root);
    // Every member proves its membership against the record's root alone.
    let tree = WitnessSetTree::of_epoch(&e1);
    for w in e1.witnesses() {
        let proof = tree.prove(&w.id).expect("member");
        assert!(proof.verify(&r1.record.witness_root, w));
    }
    // A set missing a witness, with an extra one, or with a swapped key: refused.
    let short = set[1..].to_vec();
    let mut extra = set.clone();
    extra.push(n.witnesses[0].clone());
    let mut swapped = set.clone();
    swapped[0].public_key = n.witnesses[0].public_key.clone();
    for s in [short, extra, swapped] {
        assert!(matches!(
            Epoch::from_record(&r1.record, s, &n.registry, &n.e0),
            Err(RecordError::WitnessSetMismatch(_))
        ));
    }
}

fn manifest(n: &mut Net) -> SignedManifest {
    DmappManifest::new(
        "Shop",
        sim_key(1_331).public_key().clone(),
        1,
        &["funds.send"],
    )
    .expect("manifest")
    .sign(&mut n.reviewer)
    .expect("sign")
}

#[test]
fn a_dmapp_revocation_takes_effect_in_the_next_record_never_mid_epoch() {
    let mut n = net();
    let shop = manifest(&mut n);
    let id = shop.manifest().id();
    n.registry.admit(&shop).expect("admit");
    let set = n.set1();
    // R_1 seals epoch 1 with the shop approved.
    let r1 = n.record(&n.r0.clone(), &set, &[0, 1]);
    n.registry.seal(1);
    let e1 = Epoch::from_record(&r1.record, set.clone(), &n.registry, &n.e0).expect("epoch 1");
    assert!(e1.rules.dmapps.contains(&id));
    // Mid-epoch 1, a revocation for epoch 1 itself is refused; one for epoch 2 is taken.
    let now = DmappRevocation::new(id, "fraud", 1)
        .expect("valid")
        .sign(&mut n.reviewer)
        .expect("sign");
    assert!(n.registry.revoke(&now).is_err());
    let next = DmappRevocation::new(id, "fraud", 2)
        .expect("valid")
        .sign(&mut n.reviewer)
        .expect("sign");
    let mut stale = n.registry.clone();
    n.registry.revoke(&next).expect("revoke");
    // Epoch 1 is unchanged by it: its record still builds, with the shop approved.
    let again = Epoch::from_record(&r1.record, set.clone(), &n.registry, &n.e0).expect("epoch 1");
    assert!(again.rules.dmapps.contains(&id));
    let owner = sim_key(1_340);
    let state = genesis_state(&owner, 1_000);
    let block = |epoch: u64, owner: &mut KeyPair| {
        BlockBody {
            account: owner.public_key().account_id(),
            height: 1,
            previous: state.head_hash,
            epoch,
            op: Op::Send {
                to: AccountId([9; 32]),
                amount: 10,
                memo: vec![],
                prev_to: None,
            },
            balance: 990,
            timestamp_ms: 1,
            dmapp: id,
        }
        .sign(owner)
        .expect("sign")
    };
    let mut owner = owner;
    assert!(validate_next(&state, &block(1, &mut owner), &again.rules, None).is_ok());
    // R_2 carries the registry root without the shop: from epoch 2 on, its blocks fail.
    let r2 = n.record(&r1.record, &set, &[1, 2]);
    assert_eq!(r2.verify(&r1.record, &n.keys(), K), Ok(()));
    assert_ne!(r2.record.registry_root, r1.record.registry_root);
    let e2 = Epoch::from_record(&r2.record, set.clone(), &n.registry, &e1).expect("epoch 2");
    assert!(!e2.rules.dmapps.contains(&id));
    assert_eq!(
        validate_next(&state, &block(2, &mut owner), &e2.rules, None),
        Err(ValidationError::DmappNotApproved(id))
    );
    // A node that missed the revocation cannot build epoch 2 (it would disagree).
    stale.seal(1);
    assert!(matches!(
        Epoch::from_record(&r2.record, set, &stale, &e1),
        Err(RecordError::RegistryMismatch { epoch: 2, .. })
    ));
}

proptest! {
    #[test]
    fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = SignedEpochRecord::decode(&bytes);
        let _ = EpochRecord::decode(&bytes);
    }
}

#[test]
fn every_truncation_of_a_signed_record_is_an_error_and_trailing_bytes_are_refused() {
    let mut n = net();
    let set = n.set1();
    let bytes = n.record(&n.r0.clone(), &set, &[0, 1]).encode();
    for len in 0..bytes.len() {
        assert!(
            SignedEpochRecord::decode(&bytes[..len]).is_err(),
            "length {len}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        SignedEpochRecord::decode(&longer),
        Err(DecodeError::TrailingBytes(1))
    );
    // Authorities out of order (one authority listed twice) are not a canonical encoding.
    let record = n.r0.encode();
    let mut dup = record.clone();
    let sig = n.authorities[0]
        .sign(Domain::EpochRecord, &record)
        .expect("sign")
        .to_bytes();
    dup.push(2);
    for _ in 0..2 {
        dup.push(0);
        dup.extend_from_slice(&(sig.len() as u32).to_be_bytes());
        dup.extend_from_slice(&sig);
    }
    assert!(matches!(
        SignedEpochRecord::decode(&dup),
        Err(DecodeError::Invalid { .. })
    ));
}
