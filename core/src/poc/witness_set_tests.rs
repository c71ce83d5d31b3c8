use proptest::prelude::*;

use super::*;
use crate::crypto::PublicKey;
use crate::poc::WitnessId;
use crate::sim::sim_key;

/// `count` witnesses in id order. Keys cycle through a few real ones (key generation
/// costs milliseconds; a proof's size and shape do not depend on which key it is).
fn set(count: usize) -> Vec<Witness> {
    let keys: Vec<PublicKey> = (0..4)
        .map(|i| sim_key(1_100 + i).public_key().clone())
        .collect();
    let mut out: Vec<Witness> = (0..count)
        .map(|i| Witness {
            id: WitnessId(*blake3::hash(&(i as u64).to_be_bytes()).as_bytes()),
            public_key: keys[i % keys.len()].clone(),
        })
        .collect();
    out.sort_by_key(|w| w.id);
    out
}

#[test]
fn every_member_of_sets_of_every_small_size_has_a_verifying_proof() {
    for count in 1..=17 {
        let ws = set(count);
        let tree = WitnessSetTree::new(&ws).expect("tree");
        let root = tree.root();
        for (i, w) in ws.iter().enumerate() {
            let proof = tree.prove(&w.id).expect("member");
            assert_eq!(proof.index as usize, i);
            assert!(proof.verify(&root, w), "size {count}, index {i}");
            assert_eq!(MembershipProof::decode(&proof.encode()), Ok(proof.clone()));
            // Another witness, another key, another position or another root: refused.
            let other = &ws[(i + 1) % count];
            if count > 1 {
                assert!(!proof.verify(&root, other));
                let moved = MembershipProof {
                    index: (proof.index + 1) % count as u32,
                    ..proof.clone()
                };
                assert!(!moved.verify(&root, w));
            }
            let mut rekeyed = w.clone();
            rekeyed.public_key = sim_key(1_120).public_key().clone();
            assert!(!proof.verify(&root, &rekeyed));
            assert!(!proof.verify(&Hash([0; 32]), w));
            let mut longer = proof.clone();
            longer.siblings.push(Hash([1; 32]));
            assert!(!longer.verify(&root, w));
        }
        assert!(tree.prove(&WitnessId([0xFF; 32])).is_none());
    }
}

#[test]
fn the_root_commits_to_the_count_and_every_member() {
    let ws = set(6);
    let root = WitnessSetTree::new(&ws).expect("tree").root();
    let fewer = WitnessSetTree::new(&ws[..5]).expect("tree").root();
    assert_ne!(root, fewer);
    let mut changed = ws.clone();
    changed[3].public_key = sim_key(1_120).public_key().clone();
    assert_ne!(WitnessSetTree::new(&changed).expect("tree").root(), root);
    // Out of order or duplicated input is refused rather than silently reordered.
    let mut swapped = ws.clone();
    swapped.swap(0, 1);
    assert!(WitnessSetTree::new(&swapped).is_none());
    let mut doubled = ws.clone();
    doubled.push(ws[5].clone());
    assert!(WitnessSetTree::new(&doubled).is_none());
    assert!(WitnessSetTree::new(&[]).expect("empty").is_empty());
}

/// DESIGN §4 "measure the bytes": a membership proof per signer against the full `W_e`.
/// Run: `cargo test -p zeropole-core --lib witness_set_proof_sizes -- --nocapture`.
#[test]
fn witness_set_proof_sizes() {
    let entry = |w: &Witness| 32 + 4 + w.public_key.to_bytes().len();
    println!("|W_e|   proof (witness + path)   full W_e        ratio");
    for count in [100usize, 1_000, 10_000] {
        let ws = set(count);
        let tree = WitnessSetTree::new(&ws).expect("tree");
        let root = tree.root();
        let sizes: Vec<usize> = ws
            .iter()
            .map(|w| {
                let proof = tree.prove(&w.id).expect("member");
                assert!(proof.verify(&root, w));
                entry(w) + proof.encode().len()
            })
            .collect();
        let max = *sizes.iter().max().expect("non-empty");
        let full: usize = ws.iter().map(entry).sum();
        let depth = (count as f64).log2().ceil() as usize;
        assert_eq!(max, entry(&ws[0]) + 10 + 32 * depth);
        println!(
            "{count:>6}   {max:>6} B                {full:>10} B   1 : {:.0}",
            full as f64 / max as f64
        );
    }
}

proptest! {
    #[test]
    fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = MembershipProof::decode(&bytes);
    }
}
