use proptest::prelude::*;

use super::*;
use crate::sim::sim_key;

const E: u64 = 5;

struct Authorities {
    keys: Vec<KeyPair>,
    parts: Vec<SeedContribution>,
}

fn authorities(m: usize) -> Authorities {
    let keys: Vec<KeyPair> = (0..m).map(|i| sim_key(1_200 + i)).collect();
    let parts = (0..m)
        .map(|i| SeedContribution::new(E, i as u8, [i as u8 + 1; 32]))
        .collect();
    Authorities { keys, parts }
}

impl Authorities {
    fn ceremony(&self, k: usize) -> SeedCeremony {
        SeedCeremony::new(
            E,
            self.keys.iter().map(|k| k.public_key().clone()).collect(),
            k,
        )
        .expect("threshold")
    }

    fn commit(&mut self, i: usize) -> SignedCommit {
        self.parts[i].commit(&mut self.keys[i]).expect("sign")
    }
}

const ROOT: Hash = Hash([0xAB; 32]);

#[test]
fn three_authorities_agree_on_a_seed_over_the_frozen_set() {
    let mut a = authorities(3);
    let mut ceremony = a.ceremony(2);
    assert_eq!(ceremony.poll_seed(0), SeedPoll::Committing);
    for i in 0..3 {
        let c = a.commit(i);
        assert_eq!(SignedCommit::decode(&c.encode()), Ok(c.clone()));
        ceremony.handle_commit(&c).expect("commit");
        ceremony
            .handle_commit(&c)
            .expect("the same commit again is harmless");
    }
    ceremony.freeze(ROOT, 1_000, 500).expect("freeze");
    for i in 0..2 {
        ceremony
            .handle_reveal(&a.parts[i].reveal())
            .expect("reveal");
    }
    // Two of three revealed: wait for the third until the deadline.
    assert_eq!(
        ceremony.poll_seed(1_499),
        SeedPoll::Waiting { until_ms: 1_500 }
    );
    ceremony
        .handle_reveal(&a.parts[2].reveal())
        .expect("reveal");
    let SeedPoll::Ready(outcome) = ceremony.poll_seed(1_001) else {
        panic!("every committed authority revealed")
    };
    let all: BTreeMap<u8, [u8; 32]> = (0..3u8).map(|i| (i, [i + 1; 32])).collect();
    assert_eq!(outcome.seed, derive_seed(E, &ROOT, &all));
    assert_eq!(outcome.reveals, all);
    // The seed depends on the frozen root, and it is not any Falcon signature's bytes.
    assert_ne!(derive_seed(E, &Hash([0; 32]), &all), outcome.seed);
}

#[test]
fn at_the_deadline_k_reveals_are_enough() {
    let mut a = authorities(3);
    let mut ceremony = a.ceremony(2);
    for i in 0..3 {
        let c = a.commit(i);
        ceremony.handle_commit(&c).expect("commit");
    }
    ceremony.freeze(ROOT, 0, 100).expect("freeze");
    for i in [0, 2] {
        ceremony
            .handle_reveal(&a.parts[i].reveal())
            .expect("reveal");
    }
    let SeedPoll::Ready(outcome) = ceremony.poll_seed(100) else {
        panic!("two of three reveals at the deadline")
    };
    assert_eq!(
        outcome.reveals.keys().copied().collect::<Vec<_>>(),
        vec![0, 2]
    );
}

#[test]
fn a_withheld_reveal_below_k_blocks_the_seed() {
    let mut a = authorities(3);
    let mut ceremony = a.ceremony(2);
    for i in 0..3 {
        let c = a.commit(i);
        ceremony.handle_commit(&c).expect("commit");
    }
    ceremony.freeze(ROOT, 0, 100).expect("freeze");
    ceremony
        .handle_reveal(&a.parts[1].reveal())
        .expect("reveal");
    assert_eq!(ceremony.poll_seed(99), SeedPoll::Waiting { until_ms: 100 });
    assert_eq!(
        ceremony.poll_seed(100),
        SeedPoll::Blocked { have: 1, need: 2 }
    );
}

#[test]
fn a_forged_reveal_is_refused_and_does_not_count() {
    let mut a = authorities(3);
    let mut ceremony = a.ceremony(2);
    for i in 0..3 {
        let c = a.commit(i);
        ceremony.handle_commit(&c).expect("commit");
    }
    let early = a.parts[0].reveal();
    assert_eq!(
        ceremony.handle_reveal(&early),
        Err(SeedError::RevealBeforeFreeze(0))
    );
    ceremony.freeze(ROOT, 0, 100).expect("freeze");
    let mut forged = a.parts[0].reveal();
    forged.secret[0] ^= 1;
    assert_eq!(
        ceremony.handle_reveal(&forged),
        Err(SeedError::RevealMismatch(0))
    );
    // Authority 1's secret under authority 2's index does not match 2's commit either.
    let mut copied = a.parts[1].reveal();
    copied.authority = 2;
    assert_eq!(
        ceremony.handle_reveal(&copied),
        Err(SeedError::RevealMismatch(2))
    );
    ceremony
        .handle_reveal(&a.parts[1].reveal())
        .expect("reveal");
    assert_eq!(
        ceremony.poll_seed(100),
        SeedPoll::Blocked { have: 1, need: 2 }
    );
}

#[test]
fn commits_are_authenticated_bound_to_their_epoch_and_closed_by_the_freeze() {
    let mut a = authorities(3);
    let mut ceremony = a.ceremony(2);
    // Signed by another authority's key.
    let mut stolen = a.commit(0);
    stolen.authority = 1;
    assert_eq!(
        ceremony.handle_commit(&stolen),
        Err(SeedError::BadSignature(1))
    );
    // Beyond the authority list.
    let mut stranger = a.commit(0);
    stranger.authority = 7;
    assert_eq!(
        ceremony.handle_commit(&stranger),
        Err(SeedError::UnknownAuthority(7))
    );
    // Another epoch.
    let other = SeedContribution::new(E + 1, 0, [1; 32])
        .commit(&mut a.keys[0])
        .expect("sign");
    assert!(matches!(
        ceremony.handle_commit(&other),
        Err(SeedError::WrongEpoch { .. })
    ));
    // Two different commits from one authority.
    let first = a.commit(0);
    ceremony.handle_commit(&first).expect("commit");
    let second = SeedContribution::new(E, 0, [9; 32])
        .commit(&mut a.keys[0])
        .expect("sign");
    assert_eq!(
        ceremony.handle_commit(&second),
        Err(SeedError::ConflictingCommit(0))
    );
    // Fewer than k commits: the set cannot be frozen into a seed.
    assert_eq!(
        ceremony.freeze(ROOT, 0, 10),
        Err(SeedError::NotEnoughCommits { have: 1, need: 2 })
    );
    let c1 = a.commit(1);
    ceremony.handle_commit(&c1).expect("commit");
    ceremony.freeze(ROOT, 0, 10).expect("freeze");
    let late = a.commit(2);
    assert_eq!(
        ceremony.handle_commit(&late),
        Err(SeedError::CommitAfterFreeze(2))
    );
    assert_eq!(
        ceremony.handle_reveal(&a.parts[2].reveal()),
        Err(SeedError::NoCommit(2))
    );
}

#[test]
fn thresholds_outside_one_to_m_are_refused() {
    let a = authorities(2);
    let keys: Vec<PublicKey> = a.keys.iter().map(|k| k.public_key().clone()).collect();
    for k in [0, 3] {
        assert!(matches!(
            SeedCeremony::new(E, keys.clone(), k),
            Err(SeedError::BadThreshold { .. })
        ));
    }
}

proptest! {
    #[test]
    fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = SignedCommit::decode(&bytes);
    }
}
