//! The witness set `W_e` as a Merkle tree (DESIGN.md §4 "Epoch record … Merkle root of
//! W_e"): the epoch record commits to the root, and a verifier that does not hold `W_e`
//! checks a certificate's signer with a membership proof instead.
//!
//! Leaves are the witnesses in ascending id order (the order [`Epoch::witnesses`] gives);
//! an odd node at the end of a level is carried up unchanged (never paired with itself, so
//! no two sets share a tree). Under the domain `zeropole/witness-set/v1`:
//! ```text
//! leaf  = H(0x00 ‖ id:[32] ‖ public key:bytes(≤ 1024))
//! node  = H(0x01 ‖ left:[32] ‖ right:[32])
//! root  = H(0x02 ‖ count:u32 ‖ top:[32])          (top = 32 zero bytes when count = 0)
//! proof = version:u8 index:u32 count:u32 siblings:u8(≤ 32) sibling:[32]×siblings
//! ```
//! The root binds the count, so a proof's index and count fix the path's shape: a proof
//! verifies only with exactly the siblings that shape needs. Decoding never panics.

use super::{Epoch, Witness};
use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{hash_tagged, Domain, Hash};

/// Format version of [`MembershipProof`].
pub const MEMBERSHIP_PROOF_VERSION: u8 = 1;
/// Most witnesses one set may hold (the proof format's index is a `u32`).
pub const MAX_WITNESS_SET: usize = u32::MAX as usize;
/// Most siblings a proof may carry (a tree over `u32` leaves is at most 32 levels deep).
const MAX_SIBLINGS: usize = 32;

fn leaf(w: &Witness) -> Hash {
    let mut wr = Writer::new();
    wr.u8(0x00).fixed(&w.id.0).bytes(&w.public_key.to_bytes());
    hash_tagged(Domain::WitnessSet, &wr.finish())
}

fn node(left: &Hash, right: &Hash) -> Hash {
    let mut wr = Writer::new();
    wr.u8(0x01).fixed(&left.0).fixed(&right.0);
    hash_tagged(Domain::WitnessSet, &wr.finish())
}

fn seal(count: u32, top: &Hash) -> Hash {
    let mut wr = Writer::new();
    wr.u8(0x02).u32(count).fixed(&top.0);
    hash_tagged(Domain::WitnessSet, &wr.finish())
}

/// The Merkle tree over a witness set, every level kept so proofs are cheap.
#[derive(Debug, Clone)]
pub struct WitnessSetTree {
    /// `levels[0]` are the leaves; the last level has one node (none if empty).
    levels: Vec<Vec<Hash>>,
    ids: Vec<super::WitnessId>,
}

impl WitnessSetTree {
    /// The tree over `witnesses`, which must be in ascending id order without duplicates
    /// (as [`Epoch::witnesses`] gives them; [`WitnessSetTree::of_epoch`] is the usual way).
    /// More than [`MAX_WITNESS_SET`] witnesses: `None`.
    pub fn new<'a>(witnesses: impl IntoIterator<Item = &'a Witness>) -> Option<Self> {
        let (ids, leaves): (Vec<_>, Vec<_>) =
            witnesses.into_iter().map(|w| (w.id, leaf(w))).unzip();
        if leaves.len() > MAX_WITNESS_SET || ids.windows(2).any(|p| p[0] >= p[1]) {
            return None;
        }
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let below = levels.last().map(Vec::as_slice).unwrap_or(&[]);
            let above = below
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] => node(l, r),
                    [single] => *single,
                    _ => unreachable!("chunks(2) yields one or two"),
                })
                .collect();
            levels.push(above);
        }
        Some(WitnessSetTree { levels, ids })
    }

    /// The tree of an epoch's `W_e`.
    pub fn of_epoch(epoch: &Epoch) -> Self {
        // An epoch's witnesses are ordered by id and unique; its size fits in memory,
        // far below u32::MAX.
        Self::new(epoch.witnesses())
            .unwrap_or_else(|| unreachable!("an epoch's witness set is ordered and unique"))
    }

    /// Witnesses in the set.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The root the epoch record carries.
    pub fn root(&self) -> Hash {
        let top = self
            .levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or(Hash([0; 32]));
        seal(self.ids.len() as u32, &top)
    }

    /// The membership proof of the witness with `id`, if it is in the set.
    pub fn prove(&self, id: &super::WitnessId) -> Option<MembershipProof> {
        let index = self.ids.binary_search(id).ok()?;
        let mut siblings = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len().saturating_sub(1)] {
            let sibling = i ^ 1;
            if sibling < level.len() {
                siblings.push(level[sibling]);
            }
            i /= 2;
        }
        Some(MembershipProof {
            index: index as u32,
            count: self.ids.len() as u32,
            siblings,
        })
    }
}

/// A proof that one witness is in the set of a given root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipProof {
    /// The witness's position in id order.
    pub index: u32,
    /// The size of the set.
    pub count: u32,
    /// The sibling hashes from the leaf up (levels where the node is carried up have none).
    pub siblings: Vec<Hash>,
}

impl MembershipProof {
    /// Whether `witness` (its id *and* key) is at `index` of the set whose root is `root`.
    pub fn verify(&self, root: &Hash, witness: &Witness) -> bool {
        if self.index >= self.count {
            return false;
        }
        let mut hash = leaf(witness);
        let (mut i, mut len) = (self.index as usize, self.count as usize);
        let mut siblings = self.siblings.iter();
        while len > 1 {
            let last_alone = i == len - 1 && len % 2 == 1;
            if !last_alone {
                let Some(s) = siblings.next() else {
                    return false;
                };
                hash = if i % 2 == 0 {
                    node(&hash, s)
                } else {
                    node(s, &hash)
                };
            }
            i /= 2;
            len = len.div_ceil(2);
        }
        siblings.next().is_none() && seal(self.count, &hash) == *root
    }

    /// The canonical encoding (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        // At most 32 siblings are ever produced; a longer list does not verify anyway.
        w.u8(MEMBERSHIP_PROOF_VERSION)
            .u32(self.index)
            .u32(self.count)
            .u8(self.siblings.len().min(u8::MAX as usize) as u8);
        for s in self.siblings.iter().take(u8::MAX as usize) {
            w.fixed(&s.0);
        }
        w.finish()
    }

    /// Decodes exactly one proof; any malformed input is a typed error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("membership proof version")?;
        if version != MEMBERSHIP_PROOF_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "membership proof",
                version,
            });
        }
        let index = r.u32("index")?;
        let count = r.u32("count")?;
        let n = r.u8("sibling count")? as usize;
        if n > MAX_SIBLINGS {
            return Err(DecodeError::TooLong {
                field: "siblings",
                len: n,
                max: MAX_SIBLINGS,
            });
        }
        let siblings = (0..n)
            .map(|_| r.array("sibling").map(Hash))
            .collect::<Result<Vec<_>, _>>()?;
        r.finish()?;
        Ok(MembershipProof {
            index,
            count,
            siblings,
        })
    }
}

impl Epoch {
    /// The Merkle root of `W_e` (what the epoch record carries).
    pub fn witness_root(&self) -> Hash {
        WitnessSetTree::of_epoch(self).root()
    }
}

#[cfg(test)]
#[path = "witness_set_tests.rs"]
mod tests;
