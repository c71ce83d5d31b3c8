//! The simulator's epoch records: every epoch after genesis comes out of a real
//! commit–reveal among [`AUTHORITIES`] admission authorities and a record signed by at
//! least [`THRESHOLD`] of them, verified against the previous record and turned into the
//! runtime [`Epoch`] the witnesses see (DESIGN.md §4).
//!
//! Per epoch change, from the run's seed: each authority draws its secret and commits while
//! the new witness set is open; the set is frozen; with probability 1/3 one authority
//! withholds its reveal (the other two still make `k`); the seed is taken at the reveal
//! deadline; a random subset of at least `k` authorities signs. The record must pass
//! [`SignedEpochRecord::verify`] and [`Epoch::from_record`] (witness root, registry root)
//! before any witness sees it.

use super::SimRng;
use crate::crypto::{hash_tagged, Domain, KeyPair, PublicKey};
use crate::dmapp::Registry;
use crate::poc::Epoch;
use crate::poc::{
    EpochRecord, SeedCeremony, SeedContribution, SeedPoll, SignedEpochRecord, Witness,
    WitnessSetTree,
};

/// Admission authorities of the simulated network (`m`).
pub const AUTHORITIES: usize = 3;
/// Signatures and reveals an epoch record needs (`k`).
pub const THRESHOLD: usize = 2;
/// Milliseconds the authorities wait for reveals after freezing `W_e` (simulated time).
const REVEAL_WINDOW_MS: u64 = 1_000;

/// The authorities and the chain of records so far.
pub struct Authorities {
    keys: Vec<KeyPair>,
    registry: Registry,
    last: EpochRecord,
}

impl Authorities {
    /// Authorities with the pool keys `first_key..first_key + AUTHORITIES`, over `R_0` of
    /// `epoch0` (anchored to the run's seed). The simulated registry is empty (only the
    /// wallet dmapp), so its root is the empty registry's of every epoch.
    pub fn new(first_key: usize, epoch0: &Epoch, seed: u64) -> Self {
        let keys = (first_key..first_key + AUTHORITIES)
            .map(super::sim_key)
            .collect();
        let mut registry = Registry::new(Vec::new());
        registry.seal(0);
        let anchor = hash_tagged(Domain::EpochRecord, &seed.to_be_bytes());
        let last = EpochRecord::initial(epoch0, registry.root(0), &anchor);
        Authorities {
            keys,
            registry,
            last,
        }
    }

    fn public_keys(&self) -> Vec<PublicKey> {
        self.keys.iter().map(|k| k.public_key().clone()).collect()
    }

    /// The latest record (`R_0` until the first change).
    pub fn last(&self) -> &EpochRecord {
        &self.last
    }

    /// `R_{e+1}` over `set` after `prev` (the epoch of the latest record), as the
    /// verified runtime epoch.
    pub fn next(
        &mut self,
        prev: &Epoch,
        set: Vec<Witness>,
        rng: &mut SimRng,
    ) -> Result<(Epoch, SignedEpochRecord), String> {
        let e = self.last.epoch + 1;
        let mut ceremony =
            SeedCeremony::new(e, self.public_keys(), THRESHOLD).map_err(|err| err.to_string())?;
        let parts: Vec<SeedContribution> = (0..AUTHORITIES)
            .map(|i| SeedContribution::new(e, i as u8, rng.bytes32()))
            .collect();
        for (part, keys) in parts.iter().zip(self.keys.iter_mut()) {
            let commit = part.commit(keys).map_err(|err| err.to_string())?;
            ceremony
                .handle_commit(&commit)
                .map_err(|err| err.to_string())?;
        }
        // W_e is frozen: its root fixes what the secrets are mixed with.
        let mut sorted = set.clone();
        sorted.sort_by_key(|w| w.id);
        let root = WitnessSetTree::new(&sorted)
            .ok_or("the witness set is too large")?
            .root();
        let now = e * 10 * REVEAL_WINDOW_MS;
        ceremony
            .freeze(root, now, REVEAL_WINDOW_MS)
            .map_err(|err| err.to_string())?;
        let withheld = rng
            .chance(1.0 / 3.0)
            .then(|| rng.below(AUTHORITIES as u64) as usize);
        for (i, part) in parts.iter().enumerate() {
            if Some(i) != withheld {
                ceremony
                    .handle_reveal(&part.reveal())
                    .map_err(|err| err.to_string())?;
            }
        }
        let seed = match ceremony.poll_seed(now + REVEAL_WINDOW_MS) {
            SeedPoll::Ready(seed) => seed,
            other => return Err(format!("no seed for epoch {e}: {other:?}")),
        };
        self.registry.seal(e);
        let record = EpochRecord::next(
            &self.last,
            &set,
            prev.n,
            prev.rules.min_amount,
            self.registry.root(e),
            &seed,
            None,
        )
        .map_err(|err| err.to_string())?;
        let mut signed = SignedEpochRecord::new(record);
        let mut signers: Vec<usize> = (0..AUTHORITIES).collect();
        rng.shuffle(&mut signers);
        let count = THRESHOLD + rng.below((AUTHORITIES - THRESHOLD + 1) as u64) as usize;
        for i in &signers[..count] {
            signed
                .sign_as(*i as u8, &mut self.keys[*i])
                .map_err(|err| err.to_string())?;
        }
        // What every witness does with a record before it changes epoch.
        signed
            .verify(&self.last, &self.public_keys(), THRESHOLD)
            .map_err(|err| format!("R_{e} does not verify: {err}"))?;
        let epoch = Epoch::from_record(&signed.record, set, &self.registry, prev)
            .map_err(|err| format!("R_{e}: {err}"))?;
        self.last = signed.record.clone();
        Ok((epoch, signed))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::ledger::EpochRules;
    use crate::poc::RecordError;

    #[test]
    fn the_simulated_chain_of_records_verifies_link_by_link_and_nothing_else_does() {
        let (_, witnesses) = super::super::sim_witnesses(6);
        let rules = EpochRules {
            epoch: 0,
            min_amount: 10,
            dmapps: BTreeSet::new(),
        };
        let e0 = Epoch::new(rules, [0; 32], 4, witnesses[..4].to_vec());
        let mut authorities = Authorities::new(2_000, &e0, 9);
        let keys = authorities.public_keys();
        let mut rng = SimRng::new(9);
        let r0 = authorities.last().clone();
        let (e1, r1) = authorities
            .next(&e0, witnesses[1..5].to_vec(), &mut rng)
            .expect("R_1");
        let (e2, r2) = authorities
            .next(&e1, witnesses[2..6].to_vec(), &mut rng)
            .expect("R_2");
        assert_eq!((e1.number(), e2.number()), (1, 2));
        assert_eq!(r2.verify(&r1.record, &keys, THRESHOLD), Ok(()));
        assert!(r2.signatures.len() >= THRESHOLD && r2.record.reveals.len() >= THRESHOLD);
        assert_eq!(e2.seed, r2.record.seed);
        // Out of order, or signed by fewer than k: refused.
        assert!(matches!(
            r2.verify(&r0, &keys, THRESHOLD),
            Err(RecordError::WrongEpoch { .. })
        ));
        let mut short = r2.clone();
        while short.signatures.len() >= THRESHOLD {
            short.signatures.pop_first();
        }
        assert!(matches!(
            short.verify(&r1.record, &keys, THRESHOLD),
            Err(RecordError::NotEnoughSignatures { .. })
        ));
    }
}
