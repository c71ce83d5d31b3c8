//! Merkle batches, batch proofs, certificates carrying them and the root cache.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;
use crate::crypto::{hash_tagged, AccountId, Hash};
use crate::ledger::{Block, BlockBody, DmappId, EpochRules, Op};
use crate::poc::{
    Attestation, AttestationProof, Certificate, CertificateError, Epoch, VerifiedRoots,
    ATTESTATION_VERSION, CERTIFICATE_VERSION,
};
use crate::sim::{sim_key, sim_members};

fn statement(i: u64) -> Statement {
    Statement {
        epoch: 3,
        account: AccountId([i as u8; 32]),
        height: i,
        block_hash: Hash(*blake3::hash(&i.to_be_bytes()).as_bytes()),
    }
}

fn statements(n: usize) -> Vec<Statement> {
    (0..n as u64).map(statement).collect()
}

/// One real Falcon signature (made once: signing costs milliseconds in a debug build).
fn some_signature() -> Signature {
    static SIG: OnceLock<Signature> = OnceLock::new();
    SIG.get_or_init(|| {
        sim_key(700)
            .sign(Domain::AttestBatch, b"any")
            .expect("sign")
    })
    .clone()
}

#[test]
fn every_leaf_of_every_small_tree_leads_to_the_root_by_a_path_of_the_computed_length() {
    for size in 1..=40usize {
        let st = statements(size);
        let tree = BatchTree::new(&st).expect("tree");
        assert_eq!(tree.len(), size);
        for (i, s) in st.iter().enumerate() {
            let path = tree.path(i).expect("leaf");
            assert_eq!(Some(path.len()), path_len(i as u32, size as u32));
            assert!(path.len() <= MAX_BATCH_DEPTH);
            assert_eq!(
                root_from_path(leaf_hash(s), i as u32, size as u32, &path),
                Some(tree.root()),
                "size {size} leaf {i}"
            );
        }
        assert_eq!(tree.path(size), None);
    }
    // A one-leaf tree's root is its leaf hash, with an empty path.
    let one = BatchTree::new(&statements(1)).expect("tree");
    assert_eq!(one.root(), leaf_hash(&statement(0)));
    assert_eq!(one.path(0), Some(Vec::new()));
}

#[test]
fn batch_sizes_and_path_lengths_are_bounded() {
    assert!(matches!(BatchTree::new(&[]), Err(BatchError::Size(0))));
    let too_many = vec![statement(1); MAX_BATCH + 1];
    assert!(matches!(
        BatchTree::new(&too_many),
        Err(BatchError::Size(n)) if n == MAX_BATCH + 1
    ));
    let full = BatchTree::new(&vec![statement(1); MAX_BATCH]).expect("the largest batch");
    assert_eq!(
        full.path(MAX_BATCH - 1).map(|p| p.len()),
        Some(MAX_BATCH_DEPTH)
    );
    assert_eq!(path_len(0, MAX_BATCH as u32 + 1), None);
    assert_eq!(path_len(5, 5), None);
    assert_eq!(path_len(0, 0), None);
}

#[test]
fn leaves_and_nodes_are_hashed_in_different_domains() {
    // A two-leaf tree's root is a node hash of the two leaves, which differs from hashing
    // the same 64 bytes as a leaf.
    let st = statements(2);
    let tree = BatchTree::new(&st).expect("tree");
    let (a, b) = (leaf_hash(&st[0]), leaf_hash(&st[1]));
    let mut both = a.0.to_vec();
    both.extend_from_slice(&b.0);
    assert_eq!(tree.root(), hash_tagged(Domain::AttestBatchNode, &both));
    assert_ne!(tree.root(), hash_tagged(Domain::AttestBatchLeaf, &both));
    assert_ne!(
        leaf_hash(&st[0]),
        hash_tagged(Domain::Attest, &st[0].encode())
    );
    // The cached context keys give BLAKE3's derive_key output.
    assert_eq!(
        leaf_hash(&st[0]),
        hash_tagged(Domain::AttestBatchLeaf, &st[0].encode())
    );
}

#[test]
fn the_tree_and_the_signed_message_are_pinned() {
    // Pins the construction: a change here is a wire-format change.
    let tree = BatchTree::new(&statements(3)).expect("tree");
    assert_eq!(
        tree.root().to_hex(),
        "f911d3cae2a7aa5efeb59893e1c9211fa1b284810c60d1c950c0dba67ad6056d",
        "root of statements 0..3"
    );
    let m = root_message(3, &tree.root());
    assert_eq!(m[..5], [BATCH_VERSION, 0, 0, 0, 3]);
    assert_eq!(m[5..], tree.root().0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_wrong_leaf_index_or_path_does_not_lead_to_the_root(
        size in 1usize..300,
        pick in any::<u32>(),
        other in any::<u32>(),
        flip in any::<(usize, u8)>(),
    ) {
        let st = statements(size);
        let tree = BatchTree::new(&st).expect("tree");
        let root = tree.root();
        let i = pick as usize % size;
        let path = tree.path(i).expect("leaf");
        let leaf = leaf_hash(&st[i]);
        prop_assert_eq!(root_from_path(leaf, i as u32, size as u32, &path), Some(root));

        // Another statement at this position.
        let wrong = leaf_hash(&statement(size as u64 + 1));
        prop_assert_ne!(root_from_path(wrong, i as u32, size as u32, &path), Some(root));

        // Another index with this path (the leaf is not at that index).
        let j = other as usize % size;
        if j != i {
            prop_assert_ne!(root_from_path(leaf, j as u32, size as u32, &path), Some(root));
        }

        // A changed byte anywhere in the path.
        if !path.is_empty() {
            let mut bad = path.clone();
            let k = flip.0 % bad.len();
            bad[k].0[flip.0 % 32] ^= flip.1 | 1;
            prop_assert_ne!(root_from_path(leaf, i as u32, size as u32, &bad), Some(root));
        }

        // A path one hash too long or too short is refused outright.
        let mut long = path.clone();
        long.push(root);
        prop_assert_eq!(root_from_path(leaf, i as u32, size as u32, &long), None);
        if !path.is_empty() {
            prop_assert_eq!(root_from_path(leaf, i as u32, size as u32, &path[1..]), None);
        }

        // Another claimed size (the signed message carries the size).
        let other_size = (size as u32 % MAX_BATCH as u32) + 1;
        if other_size != size as u32 {
            prop_assert_ne!(
                root_from_path(leaf, i as u32, other_size, &path)
                    .map(|r| root_message(other_size, &r)),
                Some(root_message(size as u32, &root))
            );
        }
    }

    #[test]
    fn batch_proofs_round_trip_and_arbitrary_bytes_never_panic(
        size in 1usize..600,
        pick in any::<u32>(),
        garbage in proptest::collection::vec(any::<u8>(), 0..800),
        cut in any::<usize>(),
    ) {
        let st = statements(size);
        let tree = BatchTree::new(&st).expect("tree");
        let i = pick as usize % size;
        let proof = BatchProof {
            size: size as u32,
            index: i as u32,
            path: tree.path(i).expect("leaf"),
            signature: some_signature(),
        };
        let bytes = proof.encode();
        prop_assert_eq!(BatchProof::decode(&bytes), Ok(proof.clone()));
        prop_assert_eq!(proof.root(&st[i]), Some(tree.root()));
        // Truncations are errors, garbage never panics.
        let at = cut % bytes.len();
        prop_assert!(BatchProof::decode(&bytes[..at]).is_err());
        let _ = BatchProof::decode(&garbage);
        let mut spliced = bytes[..at].to_vec();
        spliced.extend_from_slice(&garbage);
        let _ = BatchProof::decode(&spliced);
    }
}

#[test]
fn non_canonical_proofs_are_refused() {
    let st = statements(5);
    let tree = BatchTree::new(&st).expect("tree");
    let proof = BatchProof {
        size: 5,
        index: 4,
        path: tree.path(4).expect("leaf"),
        signature: some_signature(),
    };
    // Leaf 4 of 5 is carried up twice: its path is one hash long.
    assert_eq!(proof.path.len(), 1);
    let good = proof.encode();
    let mut bad_version = good.clone();
    bad_version[0] = 9;
    assert!(matches!(
        BatchProof::decode(&bad_version),
        Err(DecodeError::UnsupportedVersion { version: 9, .. })
    ));
    // Index past the size, zero size, size over the maximum.
    for (size, index) in [(5u32, 5u32), (0, 0), (MAX_BATCH as u32 + 1, 0)] {
        let mut b = good.clone();
        b[1..5].copy_from_slice(&size.to_be_bytes());
        b[5..9].copy_from_slice(&index.to_be_bytes());
        assert!(
            matches!(BatchProof::decode(&b), Err(DecodeError::Invalid { .. })),
            "size {size} index {index}"
        );
    }
    // A path length that does not fit the position (with the hashes present).
    let mut longer = proof.clone();
    longer.path.push(Hash([1; 32]));
    assert!(matches!(
        BatchProof::decode(&longer.encode()),
        Err(DecodeError::Invalid {
            field: "batch path",
            ..
        })
    ));
    let mut huge = good.clone();
    huge[9] = 200;
    assert!(matches!(
        BatchProof::decode(&huge),
        Err(DecodeError::TooLong { .. })
    ));
    let mut trailing = good;
    trailing.push(0);
    assert_eq!(
        BatchProof::decode(&trailing),
        Err(DecodeError::TrailingBytes(1))
    );
}

// ---- signatures, certificates and the cache ----

/// Seven witnesses, committee n = 7 (q = 5), and `blocks` blocks of distinct accounts.
struct Net {
    epoch: Epoch,
    members: Vec<(Witness, KeyPair)>,
    blocks: Vec<Block>,
}

fn net(blocks: usize) -> Net {
    let members = sim_members(710..717);
    let rules = EpochRules {
        epoch: 3,
        min_amount: 1,
        dmapps: BTreeSet::new(),
    };
    let epoch = Epoch::new(
        rules,
        [5; 32],
        7,
        members.iter().map(|(w, _)| w.clone()).collect(),
    );
    let blocks = (0..blocks)
        .map(|i| {
            let mut owner = sim_key(720 + i);
            BlockBody {
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
            .expect("sign")
        })
        .collect();
    Net {
        epoch,
        members,
        blocks,
    }
}

impl Net {
    /// Every member signs one batch over all the blocks: per member, one attestation per
    /// block.
    fn batch_attest(&mut self) -> Vec<Vec<BatchAttestation>> {
        let st: Vec<Statement> = self
            .blocks
            .iter()
            .map(|b| Statement::for_block(3, b))
            .collect();
        self.members
            .iter_mut()
            .map(|(w, k)| sign_batch(&st, w.id, k).expect("sign"))
            .collect()
    }

    fn certificate(&self, per_member: &[Vec<BatchAttestation>], block: usize) -> Certificate {
        let mine: Vec<BatchAttestation> = per_member.iter().map(|a| a[block].clone()).collect();
        Certificate::assemble(self.blocks[block].clone(), &self.epoch, &mine)
    }
}

#[test]
fn batch_attestations_verify_for_their_witness_only() {
    let mut n = net(3);
    let all = n.batch_attest();
    let a = &all[0][1];
    assert!(a.verify(&n.members[0].0));
    assert!(!a.verify(&n.members[1].0));
    let mut moved = a.clone();
    moved.statement = all[0][2].statement;
    assert!(
        !moved.verify(&n.members[0].0),
        "the path is for another leaf"
    );
    let mut cache = VerifiedRoots::new(8);
    assert!(a.verify_cached(&n.members[0].0, &mut cache));
    assert!(all[0][2].verify_cached(&n.members[0].0, &mut cache));
    assert_eq!(
        cache.stats(),
        (1, 1),
        "one Falcon verification for the batch"
    );
}

#[test]
fn a_certificate_of_batch_attestations_verifies_with_and_without_the_cache() {
    let mut n = net(4);
    let all = n.batch_attest();
    let mut cache = VerifiedRoots::new(64);
    for b in 0..4 {
        let cert = n.certificate(&all, b);
        assert_eq!(cert.signer_count(), 7);
        assert!(cert.proofs.iter().all(AttestationProof::is_batch));
        assert_eq!(cert.verify(&n.epoch), Ok(()));
        assert_eq!(cert.verify_with_cache(&n.epoch, &mut cache), Ok(()));
        let bytes = cert.encode();
        assert_eq!(bytes[0], CERTIFICATE_VERSION);
        let decoded = Certificate::decode(&bytes).expect("decode");
        assert_eq!(decoded, cert);
        assert_eq!(decoded.verify_with_cache(&n.epoch, &mut cache), Ok(()));
    }
    // 7 witnesses, one root each: 7 Falcon verifications for 8 certificate checks.
    assert_eq!(cache.stats(), (8 * 7 - 7, 7));
}

#[test]
fn forged_batch_proofs_are_caught_with_and_without_the_cache() {
    let mut n = net(3);
    let all = n.batch_attest();
    let good = n.certificate(&all, 0);
    let mut cache = VerifiedRoots::new(64);
    assert_eq!(good.verify_with_cache(&n.epoch, &mut cache), Ok(()));

    let mutate = |f: &dyn Fn(&mut BatchProof)| {
        let mut c = good.clone();
        if let AttestationProof::Batch(b) = &mut c.proofs[2] {
            f(b);
        }
        c
    };
    let forged = [
        // Another leaf's index.
        mutate(&|b| b.index = (b.index + 1) % b.size),
        // A changed path hash.
        mutate(&|b| b.path[0].0[0] ^= 1),
        // Another claimed size.
        mutate(&|b| b.size += 1),
        // The root signature of another member (a verified root, other signature bytes).
        mutate(&|b| {
            if let AttestationProof::Batch(o) = &good.proofs[3] {
                b.signature = o.signature.clone();
            }
        }),
    ];
    for (k, bad) in forged.iter().enumerate() {
        assert!(
            matches!(bad.verify(&n.epoch), Err(CertificateError::BadSignature(_))),
            "forgery {k} without the cache"
        );
        assert!(
            matches!(
                bad.verify_with_cache(&n.epoch, &mut cache),
                Err(CertificateError::BadSignature(_))
            ),
            "forgery {k} with the cache"
        );
    }
    // The proofs of one block moved onto another block.
    let mut other = n.certificate(&all, 1);
    other.proofs = good.proofs.clone();
    assert!(other.verify_with_cache(&n.epoch, &mut cache).is_err());
    assert!(other.verify(&n.epoch).is_err());
}

#[test]
fn certificates_may_mix_forms_and_single_form_ones_keep_the_v1_bytes() {
    let mut n = net(2);
    let all = n.batch_attest();
    let statement = Statement::for_block(3, &n.blocks[0]);
    let committee = n.epoch.committee(&n.blocks[0].body.account);
    let singles: Vec<Attestation> = committee
        .iter()
        .map(|id| {
            let (w, k) = n
                .members
                .iter_mut()
                .find(|(w, _)| w.id == *id)
                .expect("member");
            Attestation::sign(statement, w.id, k).expect("sign")
        })
        .collect();
    let single = Certificate::assemble(n.blocks[0].clone(), &n.epoch, &singles);
    assert_eq!(single.verify(&n.epoch), Ok(()));
    let bytes = single.encode();
    assert_eq!(bytes[0], ATTESTATION_VERSION, "all single: still v1");
    // The v1 layout, byte for byte: version, block, epoch, bitmap, count, signatures.
    let mut w = Writer::new();
    w.u8(1)
        .bytes(&single.block.encode())
        .u64(3)
        .bytes(&single.signers)
        .u32(7);
    for s in &singles {
        w.bytes(&s.signature.to_bytes());
    }
    assert_eq!(bytes, w.finish(), "single-form certificates do not grow");

    // Mixed: members 0..3 single, the rest batched.
    let mut mixed_atts: Vec<AnyAttestation> = Vec::new();
    for (k, (w, _)) in n.members.iter().enumerate() {
        if k < 3 {
            let a = singles.iter().find(|a| a.witness == w.id).expect("signed");
            mixed_atts.push(AnyAttestation::Single(a.clone()));
        } else {
            mixed_atts.push(AnyAttestation::Batch(all[k][0].clone()));
        }
    }
    let mixed = Certificate::assemble(n.blocks[0].clone(), &n.epoch, &mixed_atts);
    assert_eq!(mixed.signer_count(), 7);
    assert_eq!(mixed.verify(&n.epoch), Ok(()));
    let bytes = mixed.encode();
    assert_eq!(bytes[0], CERTIFICATE_VERSION);
    assert_eq!(Certificate::decode(&bytes), Ok(mixed.clone()));

    // A v2 encoding without a batch proof is not canonical.
    let mut w = Writer::new();
    w.u8(CERTIFICATE_VERSION)
        .bytes(&single.block.encode())
        .u64(3)
        .bytes(&single.signers)
        .u32(7);
    for s in &singles {
        w.u8(0).bytes(&s.signature.to_bytes());
    }
    assert!(matches!(
        Certificate::decode(&w.finish()),
        Err(DecodeError::Invalid {
            field: "certificate version",
            ..
        })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn decoding_mutated_batch_certificates_never_panics(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
        let bytes = BYTES.get_or_init(|| {
            let mut n = net(3);
            let all = n.batch_attest();
            n.certificate(&all, 1).encode()
        });
        let mut b = bytes.clone();
        for (at, x) in flips {
            let at = at % b.len();
            b[at] ^= x;
        }
        let _ = Certificate::decode(&b);
        let _ = Certificate::decode(&b[..cut % b.len()]);
        prop_assert!(Certificate::decode(&bytes[..cut % bytes.len()]).is_err());
    }
}

#[test]
fn the_root_cache_is_bounded_and_evicts_the_least_recently_used() {
    let mut n = net(1);
    let st = [Statement::for_block(3, &n.blocks[0])];
    let (w, k) = &mut n.members[0];
    // Three batches (three roots) by one witness.
    let roots: Vec<(Hash, Signature)> = (0..3u64)
        .map(|i| {
            let batch = vec![st[0], statement(100 + i)];
            let tree = BatchTree::new(&batch).expect("tree");
            let sig = k
                .sign(Domain::AttestBatch, &root_message(2, &tree.root()))
                .expect("sign");
            (tree.root(), sig)
        })
        .collect();
    let mut cache = VerifiedRoots::new(2);
    assert!(cache.verify(w, 2, &roots[0].0, &roots[0].1));
    assert!(cache.verify(w, 2, &roots[1].0, &roots[1].1));
    assert!(
        cache.verify(w, 2, &roots[0].0, &roots[0].1),
        "hit: 0 is now the newest"
    );
    assert!(cache.verify(w, 2, &roots[2].0, &roots[2].1), "evicts 1");
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.stats(), (1, 3));
    assert!(cache.verify(w, 2, &roots[0].0, &roots[0].1));
    assert_eq!(cache.stats(), (2, 3), "0 stayed");
    assert!(cache.verify(w, 2, &roots[1].0, &roots[1].1));
    assert_eq!(cache.stats(), (2, 4), "1 was evicted and verified again");
    // A wrong signature on a cached root is checked, fails, and is not cached.
    assert!(!cache.verify(w, 2, &roots[1].0, &roots[0].1));
    assert!(
        !cache.verify(w, 3, &roots[1].0, &roots[1].1),
        "another size"
    );
    assert_eq!(cache.len(), 2);
}
