//! A bounded cache of verified batch-root signatures (DESIGN.md §4: "verifiers cache
//! verified (witness, root) pairs").
//!
//! Every certificate whose signer attested in one batch carries that signer's same root
//! signature; with this cache the Falcon verification is paid once per `(witness, root)`
//! and every further certificate costs a path walk (a few BLAKE3 calls) and a lookup.
//!
//! An entry remembers the exact key and signature bytes that verified, and a hit requires
//! both to be equal: a certificate carrying a verified root with *other* signature bytes is
//! checked afresh (and fails if they are garbage), so a certificate is valid with the cache
//! exactly when it is valid without it — a verifier never accepts, stores or forwards a
//! certificate that another verifier would refuse. Eviction is least-recently-used, with
//! one approximation: a hit refreshes an entry's age only if more than `capacity / 4`
//! lookups happened since its last refresh (a hot root is hit once per signer of every
//! certificate, and re-ordering it each time would cost more than the lookup).

use std::collections::BTreeMap;

use super::batch::root_message;
use super::{Witness, WitnessId};
use crate::crypto::{Domain, Hash, PublicKey, Signature};

/// Default capacity of [`VerifiedRoots`]: a verifier sees at most one root per witness per
/// batch, so this covers a few batches of a few hundred witnesses (≈ 1.6 KB per entry).
pub const DEFAULT_VERIFIED_ROOTS: usize = 4096;

type Key = (WitnessId, u32, Hash);

#[derive(Debug, Clone)]
struct Entry {
    key: PublicKey,
    signature: Signature,
    stamp: u64,
}

/// A bounded LRU set of verified `(witness, batch size, root)` signatures.
#[derive(Debug, Clone)]
pub struct VerifiedRoots {
    capacity: usize,
    entries: BTreeMap<Key, Entry>,
    by_age: BTreeMap<u64, Key>,
    clock: u64,
    hits: u64,
    misses: u64,
}

impl Default for VerifiedRoots {
    fn default() -> Self {
        Self::new(DEFAULT_VERIFIED_ROOTS)
    }
}

impl VerifiedRoots {
    /// An empty cache holding at most `capacity` roots (at least one).
    pub fn new(capacity: usize) -> Self {
        VerifiedRoots {
            capacity: capacity.max(1),
            entries: BTreeMap::new(),
            by_age: BTreeMap::new(),
            clock: 0,
            hits: 0,
            misses: 0,
        }
    }

    /// Roots held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no root is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most roots held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// `(hits, misses)` so far: misses are the Falcon verifications made.
    pub fn stats(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }

    /// Whether `witness` signed the batch root `(size, root)` with `signature`: from the
    /// cache if this exact signature by this exact key verified before, else by one Falcon
    /// verification (remembered if it succeeds; failures are not cached).
    pub fn verify(
        &mut self,
        witness: &Witness,
        size: u32,
        root: &Hash,
        signature: &Signature,
    ) -> bool {
        let key = (witness.id, size, *root);
        self.clock += 1;
        let stamp = self.clock;
        if let Some(entry) = self.entries.get_mut(&key) {
            if entry.key == witness.public_key && entry.signature == *signature {
                self.hits += 1;
                if stamp - entry.stamp > (self.capacity / 4) as u64 {
                    self.by_age.remove(&entry.stamp);
                    entry.stamp = stamp;
                    self.by_age.insert(stamp, key);
                }
                return true;
            }
        }
        self.misses += 1;
        let valid =
            witness
                .public_key
                .verify(Domain::AttestBatch, &root_message(size, root), signature);
        if !valid {
            return false;
        }
        if let Some(old) = self.entries.insert(
            key,
            Entry {
                key: witness.public_key.clone(),
                signature: signature.clone(),
                stamp,
            },
        ) {
            self.by_age.remove(&old.stamp);
        }
        self.by_age.insert(stamp, key);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        true
    }
}
