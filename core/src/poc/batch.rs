//! Batched attestations (DESIGN.md §4): a witness signs the Merkle root of a batch of
//! statements once, and each statement's attestation is that root signature plus the
//! statement's inclusion path.
//!
//! **Tree.** Leaves are `H_leaf(statement.encode())`, inner nodes `H_node(left ‖ right)`,
//! with BLAKE3 keyed by two different domain tags (`zeropole/attest-batch-leaf/v1` and
//! `zeropole/attest-batch-node/v1`), so a leaf can never be read as a node or the reverse.
//! Levels are built bottom-up by pairing neighbours; the last node of an odd level is
//! carried up unchanged (never duplicated, so no two batches of different content share a
//! root). A batch holds 1 to [`MAX_BATCH`] statements, so a path has at most
//! [`MAX_BATCH_DEPTH`] hashes, and its exact length follows from `(index, size)`.
//!
//! **Signature.** The witness signs, under `zeropole/attest-batch/v1`,
//! `BATCH_VERSION:u8 ‖ size:u32 ‖ root:[32]` (big-endian). The size is signed so a path
//! can only be checked against the tree shape the witness committed to.
//!
//! **Encoding** of a [`BatchProof`] (what a certificate carries per batched signer):
//! ```text
//! proof = version:u8 size:u32 index:u32 depth:u8 path:[32]{depth} signature:bytes(≤ 1024)
//! ```
//! with `1 ≤ size ≤ MAX_BATCH`, `index < size` and `depth` exactly the number of siblings
//! on the way from leaf `index` to the root of a `size`-leaf tree: one value has one
//! encoding. Inside a certificate the version byte is left out (the certificate's covers it).
//!
//! **Security.** A root signature commits to every leaf (BLAKE3 is collision resistant and
//! the two domains separate leaves from nodes), so a batch attestation of a statement is
//! exactly as binding as a single signature over it; the lock rule (DESIGN §4) is checked per
//! leaf before the root is signed ([`super::WitnessNode::handle_attest_batch`]).

use std::sync::OnceLock;

use thiserror::Error;

use super::attestation::{read_signature, AttestationProof};
use super::{Statement, Witness, WitnessId};
use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{CryptoError, Domain, Hash, KeyPair, PublicKey, Signature};

/// Format version of batch proofs and of the signed root message.
pub const BATCH_VERSION: u8 = 1;
/// Most statements one batch signature may cover.
pub const MAX_BATCH: usize = 4096;
/// Longest inclusion path: `⌈log2 MAX_BATCH⌉`.
pub const MAX_BATCH_DEPTH: usize = 12;
const _: () = assert!(1 << MAX_BATCH_DEPTH == MAX_BATCH);

/// Why a batch cannot be built or signed.
#[derive(Debug, Error)]
pub enum BatchError {
    /// A batch holds 1 to [`MAX_BATCH`] statements.
    #[error("a batch holds 1 to {MAX_BATCH} statements, not {0}")]
    Size(usize),
    /// The witness could not sign the root.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// `hash_tagged(domain, data)` with the domain's context key derived once: the same
/// BLAKE3 `derive_key` output, without re-hashing the tag on every call (a verifier walks
/// `depth` nodes per batched signer of every certificate).
fn tagged(hasher: &'static OnceLock<blake3::Hasher>, domain: Domain, data: &[u8]) -> Hash {
    let mut h = hasher
        .get_or_init(|| blake3::Hasher::new_derive_key(domain.tag()))
        .clone();
    h.update(data);
    Hash(*h.finalize().as_bytes())
}

static LEAF: OnceLock<blake3::Hasher> = OnceLock::new();
static NODE: OnceLock<blake3::Hasher> = OnceLock::new();

/// The leaf hash of a statement: `hash_tagged(AttestBatchLeaf, statement.encode())`.
pub fn leaf_hash(statement: &Statement) -> Hash {
    tagged(&LEAF, Domain::AttestBatchLeaf, &statement.encode())
}

/// An inner node: `hash_tagged(AttestBatchNode, left ‖ right)`.
fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut both = [0u8; 64];
    both[..32].copy_from_slice(&left.0);
    both[32..].copy_from_slice(&right.0);
    tagged(&NODE, Domain::AttestBatchNode, &both)
}

/// The number of hashes on the path from leaf `index` to the root of a `size`-leaf tree
/// (levels where the node has a sibling; a carried-up node has none). `None` if `index` is
/// not a leaf of such a tree or `size` exceeds [`MAX_BATCH`].
pub fn path_len(index: u32, size: u32) -> Option<usize> {
    if index >= size || size as usize > MAX_BATCH {
        return None;
    }
    let (mut i, mut n, mut len) = (index, size, 0);
    while n > 1 {
        if (i ^ 1) < n {
            len += 1;
        }
        i >>= 1;
        n = n.div_ceil(2);
    }
    Some(len)
}

/// The root that `path` leads to from `leaf` at `index` in a `size`-leaf tree, or `None` if
/// the path does not have exactly the length that position requires.
pub fn root_from_path(leaf: Hash, index: u32, size: u32, path: &[Hash]) -> Option<Hash> {
    if path_len(index, size)? != path.len() {
        return None;
    }
    let (mut i, mut n, mut h) = (index, size, leaf);
    let mut siblings = path.iter();
    while n > 1 {
        if i & 1 == 1 {
            h = node_hash(siblings.next()?, &h);
        } else if i + 1 < n {
            h = node_hash(&h, siblings.next()?);
        }
        i >>= 1;
        n = n.div_ceil(2);
    }
    Some(h)
}

/// The bytes a batch signature covers (under [`Domain::AttestBatch`]).
pub fn root_message(size: u32, root: &Hash) -> [u8; 37] {
    let mut m = [0u8; 37];
    m[0] = BATCH_VERSION;
    m[1..5].copy_from_slice(&size.to_be_bytes());
    m[5..].copy_from_slice(&root.0);
    m
}

/// A Merkle tree over a batch of statements (see the module documentation for its shape).
#[derive(Debug, Clone)]
pub struct BatchTree {
    /// `levels[0]` are the leaves, the last level is the root alone.
    levels: Vec<Vec<Hash>>,
}

impl BatchTree {
    /// The tree of `statements`, in order (1 to [`MAX_BATCH`] of them; duplicates allowed).
    pub fn new(statements: &[Statement]) -> Result<Self, BatchError> {
        if statements.is_empty() || statements.len() > MAX_BATCH {
            return Err(BatchError::Size(statements.len()));
        }
        let mut levels = vec![statements.iter().map(leaf_hash).collect::<Vec<_>>()];
        while let Some(level) = levels.last().filter(|l| l.len() > 1) {
            let next = level
                .chunks(2)
                .map(|pair| match pair {
                    [left, right] => node_hash(left, right),
                    [single] => *single,
                    _ => unreachable!("chunks(2) yields one or two nodes"),
                })
                .collect();
            levels.push(next);
        }
        Ok(BatchTree { levels })
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Always `false`: a tree has at least one leaf.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The root.
    pub fn root(&self) -> Hash {
        self.levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or_else(|| unreachable!("a tree has at least one leaf"))
    }

    /// The inclusion path of leaf `index` (siblings from the leaf up), or `None` past the end.
    pub fn path(&self, index: usize) -> Option<Vec<Hash>> {
        if index >= self.len() {
            return None;
        }
        let mut i = index;
        let mut path = Vec::new();
        for level in &self.levels[..self.levels.len() - 1] {
            if let Some(sibling) = level.get(i ^ 1) {
                path.push(*sibling);
            }
            i >>= 1;
        }
        Some(path)
    }
}

/// A batched signer's proof for one statement: the root signature and the path to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchProof {
    /// Leaves in the batch.
    pub size: u32,
    /// The statement's leaf index.
    pub index: u32,
    /// Sibling hashes from the leaf up (exactly [`path_len`]`(index, size)` of them).
    pub path: Vec<Hash>,
    /// The witness's signature over [`root_message`]`(size, root)`.
    pub signature: Signature,
}

impl BatchProof {
    /// The root this proof leads `statement` to, or `None` if the path does not fit.
    pub fn root(&self, statement: &Statement) -> Option<Hash> {
        self.root_from_leaf(leaf_hash(statement))
    }

    pub(super) fn root_from_leaf(&self, leaf: Hash) -> Option<Hash> {
        root_from_path(leaf, self.index, self.size, &self.path)
    }

    /// Whether `key` signed a batch containing `statement` at this proof's position.
    pub fn verify(&self, statement: &Statement, key: &PublicKey) -> bool {
        self.root(statement).is_some_and(|root| {
            key.verify(
                Domain::AttestBatch,
                &root_message(self.size, &root),
                &self.signature,
            )
        })
    }

    /// [`verify`](Self::verify) through `cache`: one Falcon verification per distinct
    /// `(key, root, signature)`.
    pub fn verify_cached(
        &self,
        statement: &Statement,
        witness: &Witness,
        cache: &mut super::VerifiedRoots,
    ) -> bool {
        self.root(statement)
            .is_some_and(|root| cache.verify(witness, self.size, &root, &self.signature))
    }

    /// Canonical encoding (versioned).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(BATCH_VERSION);
        self.write(&mut w);
        w.finish()
    }

    /// Decodes one proof (shape checked; call [`verify`](Self::verify) for the signature).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("batch proof version")?;
        if version != BATCH_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "batch proof",
                version,
            });
        }
        let proof = Self::read(&mut r)?;
        r.finish()?;
        Ok(proof)
    }

    /// Writes the proof without a version byte (inside a versioned container).
    pub(super) fn write(&self, w: &mut Writer) {
        w.u32(self.size).u32(self.index).u8(self.path.len() as u8);
        for h in &self.path {
            w.fixed(&h.0);
        }
        w.bytes(&self.signature.to_bytes());
    }

    /// Reads what [`write`](Self::write) wrote, refusing every non-canonical shape.
    pub(super) fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let size = r.u32("batch size")?;
        let index = r.u32("batch index")?;
        let depth = r.u8("batch path length")? as usize;
        if depth > MAX_BATCH_DEPTH {
            return Err(DecodeError::TooLong {
                field: "batch path",
                len: depth,
                max: MAX_BATCH_DEPTH,
            });
        }
        let Some(expected) = path_len(index, size) else {
            return Err(DecodeError::Invalid {
                field: "batch index",
                reason: format!("leaf {index} of a batch of {size} (1 to {MAX_BATCH})"),
            });
        };
        if depth != expected {
            return Err(DecodeError::Invalid {
                field: "batch path",
                reason: format!("{depth} hashes, leaf {index} of {size} needs exactly {expected}"),
            });
        }
        let mut path = Vec::with_capacity(depth);
        for _ in 0..depth {
            path.push(Hash(r.array("batch path hash")?));
        }
        let signature = read_signature(r)?;
        Ok(BatchProof {
            size,
            index,
            path,
            signature,
        })
    }
}

/// One witness's batch attestation of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchAttestation {
    /// What is attested.
    pub statement: Statement,
    /// Who attests.
    pub witness: WitnessId,
    /// The root signature and the statement's path.
    pub proof: BatchProof,
}

impl BatchAttestation {
    /// Whether `witness` (the attester's registered key) signed a batch holding the statement.
    pub fn verify(&self, witness: &Witness) -> bool {
        witness.id == self.witness && self.proof.verify(&self.statement, &witness.public_key)
    }

    /// [`verify`](Self::verify) through a cache of verified roots.
    pub fn verify_cached(&self, witness: &Witness, cache: &mut super::VerifiedRoots) -> bool {
        witness.id == self.witness && self.proof.verify_cached(&self.statement, witness, cache)
    }
}

/// Signs `statements` as one batch: one Falcon signature over the root, one
/// [`BatchAttestation`] per statement, in order.
pub fn sign_batch(
    statements: &[Statement],
    witness: WitnessId,
    keys: &mut KeyPair,
) -> Result<Vec<BatchAttestation>, BatchError> {
    let tree = BatchTree::new(statements)?;
    let size = tree.len() as u32;
    let signature = keys.sign(Domain::AttestBatch, &root_message(size, &tree.root()))?;
    Ok(statements
        .iter()
        .enumerate()
        .map(|(i, statement)| BatchAttestation {
            statement: *statement,
            witness,
            proof: BatchProof {
                size,
                index: i as u32,
                path: tree.path(i).unwrap_or_default(),
                signature: signature.clone(),
            },
        })
        .collect())
}

/// Either form of a witness's attestation of one statement, as a certificate takes it.
pub trait AttestationForm {
    /// What is attested.
    fn statement(&self) -> &Statement;
    /// Who attests.
    fn witness(&self) -> WitnessId;
    /// The proof a certificate carries for this signer.
    fn proof(&self) -> AttestationProof;
}

impl AttestationForm for super::Attestation {
    fn statement(&self) -> &Statement {
        &self.statement
    }
    fn witness(&self) -> WitnessId {
        self.witness
    }
    fn proof(&self) -> AttestationProof {
        AttestationProof::Single(self.signature.clone())
    }
}

impl AttestationForm for BatchAttestation {
    fn statement(&self) -> &Statement {
        &self.statement
    }
    fn witness(&self) -> WitnessId {
        self.witness
    }
    fn proof(&self) -> AttestationProof {
        AttestationProof::Batch(self.proof.clone())
    }
}

/// An attestation in either form (what a collector keeps per member).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyAttestation {
    /// A signature over the statement itself.
    Single(super::Attestation),
    /// A root signature and the statement's path.
    Batch(BatchAttestation),
}

impl AnyAttestation {
    /// Whether `witness` made this attestation (a batch form through `cache`).
    pub fn verify_cached(&self, witness: &Witness, cache: &mut super::VerifiedRoots) -> bool {
        match self {
            AnyAttestation::Single(a) => a.verify(witness),
            AnyAttestation::Batch(a) => a.verify_cached(witness, cache),
        }
    }
}

impl AttestationForm for AnyAttestation {
    fn statement(&self) -> &Statement {
        match self {
            AnyAttestation::Single(a) => &a.statement,
            AnyAttestation::Batch(a) => &a.statement,
        }
    }
    fn witness(&self) -> WitnessId {
        match self {
            AnyAttestation::Single(a) => a.witness,
            AnyAttestation::Batch(a) => a.witness,
        }
    }
    fn proof(&self) -> AttestationProof {
        match self {
            AnyAttestation::Single(a) => a.proof(),
            AnyAttestation::Batch(a) => a.proof(),
        }
    }
}

#[cfg(test)]
#[path = "batch_tests.rs"]
mod tests;
