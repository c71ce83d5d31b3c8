//! Attestations and certificates (DESIGN.md §4).
//!
//! An attestation is a committee member's signature over `(e, account, height, block
//! hash)` under `zeropole/attest/v1`. A certificate is the block, a signer bitmap over the
//! account's committee (nearest first) and the signers' signatures in committee order; it
//! is valid with ≥ q of them, and anyone holding `W_e` can check it.
//!
//! Each signer's proof is either a signature over the statement (the single form) or a
//! batch root signature with the statement's inclusion path ([`super::batch`]).
//!
//! Certificate encoding (integers big-endian):
//! ```text
//! v1   = 0x01 block:bytes epoch:u64 signers:bytes count:u32 signature:bytes{count}
//! v2   = 0x02 block:bytes epoch:u64 signers:bytes count:u32 proof{count}
//! proof = 0x00 signature:bytes | 0x01 batch-proof (batch.rs, without its version byte)
//! ```
//! A certificate whose proofs are all single is written as v1 (the bytes of before
//! batching, so single-form certificates do not grow and stored ones still decode); one
//! with at least one batch proof as v2, and a v2 encoding with no batch proof is refused, so
//! every certificate has exactly one encoding.

use thiserror::Error;

use super::batch::{AttestationForm, BatchProof};
use super::{Epoch, VerifiedRoots, Witness, WitnessId};
use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{AccountId, CryptoError, Domain, Hash, KeyPair, Signature};
use crate::ledger::Block;

/// Format version of attestations (the signed statement) and of single-form certificates.
pub const ATTESTATION_VERSION: u8 = 1;
/// Format version of certificates carrying at least one batch proof.
pub const CERTIFICATE_VERSION: u8 = 2;
/// Largest committee a certificate may describe.
pub const MAX_COMMITTEE: usize = 1024;
const MAX_SIGNATURE_LEN: usize = 1024;
const PROOF_SINGLE: u8 = 0;
const PROOF_BATCH: u8 = 1;

/// Reads one length-prefixed signature (at most 1024 bytes).
pub(super) fn read_signature(r: &mut Reader<'_>) -> Result<Signature, DecodeError> {
    Signature::from_bytes(r.bytes("signature", MAX_SIGNATURE_LEN)?).map_err(|e| {
        DecodeError::Invalid {
            field: "signature",
            reason: e.to_string(),
        }
    })
}

/// How one signer of a certificate attests its statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttestationProof {
    /// A signature over the encoded statement (`zeropole/attest/v1`).
    Single(Signature),
    /// A batch root signature and the statement's inclusion path.
    Batch(BatchProof),
}

impl From<Signature> for AttestationProof {
    fn from(signature: Signature) -> Self {
        AttestationProof::Single(signature)
    }
}

impl AttestationProof {
    /// Whether this is a batch proof.
    pub fn is_batch(&self) -> bool {
        matches!(self, AttestationProof::Batch(_))
    }
}

/// What a witness signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Statement {
    /// The epoch the attestation is given in.
    pub epoch: u64,
    /// The account.
    pub account: AccountId,
    /// The height.
    pub height: u64,
    /// The block's hash.
    pub block_hash: Hash,
}

impl Statement {
    /// The statement a block at `epoch` yields.
    pub fn for_block(epoch: u64, block: &Block) -> Self {
        Statement {
            epoch,
            account: block.body.account,
            height: block.body.height,
            block_hash: block.hash(),
        }
    }

    /// Canonical encoding (what is signed).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(ATTESTATION_VERSION)
            .u64(self.epoch)
            .fixed(&self.account.0)
            .u64(self.height)
            .fixed(&self.block_hash.0);
        w.finish()
    }
}

/// One witness's attestation of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attestation {
    /// What is attested.
    pub statement: Statement,
    /// Who attests.
    pub witness: WitnessId,
    /// The witness's signature over the encoded statement.
    pub signature: Signature,
}

impl Attestation {
    /// Signs `statement` as `witness`.
    pub fn sign(
        statement: Statement,
        witness: WitnessId,
        keys: &mut KeyPair,
    ) -> Result<Self, CryptoError> {
        let signature = keys.sign(Domain::Attest, &statement.encode())?;
        Ok(Attestation {
            statement,
            witness,
            signature,
        })
    }

    /// Whether `witness` (the attester's registered key) made this signature.
    pub fn verify(&self, witness: &Witness) -> bool {
        witness.id == self.witness
            && witness
                .public_key
                .verify(Domain::Attest, &self.statement.encode(), &self.signature)
    }
}

/// Why a certificate is not valid.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CertificateError {
    /// Issued in another epoch than the one it is checked against.
    #[error("the certificate is from epoch {found}, checked against epoch {expected}")]
    WrongEpoch {
        /// The epoch checked against.
        expected: u64,
        /// The certificate's epoch.
        found: u64,
    },
    /// Issued more than `K` epochs ago: refused unless re-certified.
    #[error("the certificate is from epoch {issued}, more than K epochs before {current}")]
    Expired {
        /// The certificate's epoch.
        issued: u64,
        /// The current epoch.
        current: u64,
    },
    /// The bitmap does not fit the committee.
    #[error("the signer bitmap does not match a committee of {0}")]
    BadBitmap(usize),
    /// Fewer signatures than the bitmap names.
    #[error("the bitmap names {named} signers but {present} signatures are present")]
    SignatureCount {
        /// Signers named by the bitmap.
        named: usize,
        /// Signatures carried.
        present: usize,
    },
    /// Not enough signers.
    #[error("{signers} signers, a quorum is {quorum}")]
    NoQuorum {
        /// Signers present.
        signers: usize,
        /// Quorum needed.
        quorum: usize,
    },
    /// A signature does not verify.
    #[error("the signature of committee member {0} does not verify")]
    BadSignature(usize),
}

/// A certified block: final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    /// The certified block.
    pub block: Block,
    /// The epoch of the attestations.
    pub epoch: u64,
    /// Bit `i` (LSB first in byte `i / 8`) set iff committee member `i` signed.
    pub signers: Vec<u8>,
    /// The signers' proofs (single signatures or batch proofs), in committee order.
    pub proofs: Vec<AttestationProof>,
}

impl Certificate {
    /// Assembles a certificate from attestations of `block`, in either form (any order,
    /// duplicates and strangers ignored). It is not checked here: call
    /// [`verify`](Self::verify).
    pub fn assemble<A: AttestationForm>(block: Block, epoch: &Epoch, attestations: &[A]) -> Self {
        let committee = epoch.committee(&block.body.account);
        let statement = Statement::for_block(epoch.number(), &block);
        let mut signers = vec![0u8; committee.len().div_ceil(8)];
        let mut proofs = Vec::new();
        for (i, member) in committee.iter().enumerate() {
            if let Some(a) = attestations
                .iter()
                .find(|a| a.witness() == *member && *a.statement() == statement)
            {
                signers[i / 8] |= 1 << (i % 8);
                proofs.push(a.proof());
            }
        }
        Certificate {
            block,
            epoch: epoch.number(),
            signers,
            proofs,
        }
    }

    /// Number of signers the bitmap names.
    pub fn signer_count(&self) -> usize {
        self.signers.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// The committee members (ids) that signed, given the epoch.
    pub fn signer_ids(&self, epoch: &Epoch) -> Vec<WitnessId> {
        epoch
            .committee(&self.block.body.account)
            .into_iter()
            .enumerate()
            .filter(|(i, _)| {
                self.signers
                    .get(i / 8)
                    .is_some_and(|b| b & (1 << (i % 8)) != 0)
            })
            .map(|(_, w)| w)
            .collect()
    }

    /// Checks the certificate against the epoch's witness set: right epoch, a well-formed
    /// bitmap over the account's committee, ≥ q signers, every proof valid (a batch proof:
    /// its path leads the statement to a root the signer signed).
    pub fn verify(&self, epoch: &Epoch) -> Result<(), CertificateError> {
        self.check(epoch, None)
    }

    /// [`verify`](Self::verify), with batch roots checked through `roots`: one Falcon
    /// verification per distinct `(witness, root, signature)` across every certificate
    /// verified with the same cache. The result is the same as without the cache.
    pub fn verify_with_cache(
        &self,
        epoch: &Epoch,
        roots: &mut VerifiedRoots,
    ) -> Result<(), CertificateError> {
        self.check(epoch, Some(roots))
    }

    fn check(
        &self,
        epoch: &Epoch,
        mut roots: Option<&mut VerifiedRoots>,
    ) -> Result<(), CertificateError> {
        if self.epoch != epoch.number() {
            return Err(CertificateError::WrongEpoch {
                expected: epoch.number(),
                found: self.epoch,
            });
        }
        let committee = epoch.committee(&self.block.body.account);
        if self.signers.len() != committee.len().div_ceil(8)
            || (!committee.len().is_multiple_of(8)
                && self
                    .signers
                    .last()
                    .is_some_and(|b| b >> (committee.len() % 8) != 0))
        {
            return Err(CertificateError::BadBitmap(committee.len()));
        }
        let named = self.signer_count();
        if named != self.proofs.len() {
            return Err(CertificateError::SignatureCount {
                named,
                present: self.proofs.len(),
            });
        }
        let quorum = epoch.quorum();
        if named < quorum {
            return Err(CertificateError::NoQuorum {
                signers: named,
                quorum,
            });
        }
        let statement = Statement::for_block(self.epoch, &self.block);
        let message = statement.encode();
        // Computed once: every batched signer's path starts from the same leaf.
        let leaf = self
            .proofs
            .iter()
            .any(AttestationProof::is_batch)
            .then(|| super::batch::leaf_hash(&statement));
        let mut proofs = self.proofs.iter();
        for (i, member) in committee.iter().enumerate() {
            if self.signers[i / 8] & (1 << (i % 8)) == 0 {
                continue;
            }
            let (Some(proof), Some(witness)) = (proofs.next(), epoch.witness(member)) else {
                return Err(CertificateError::BadSignature(i));
            };
            let valid = match (proof, leaf) {
                (AttestationProof::Single(signature), _) => {
                    witness
                        .public_key
                        .verify(Domain::Attest, &message, signature)
                }
                (AttestationProof::Batch(batch), Some(leaf)) => batch
                    .root_from_leaf(leaf)
                    .is_some_and(|root| match roots.as_deref_mut() {
                        Some(cache) => cache.verify(witness, batch.size, &root, &batch.signature),
                        None => witness.public_key.verify(
                            Domain::AttestBatch,
                            &super::batch::root_message(batch.size, &root),
                            &batch.signature,
                        ),
                    }),
                (AttestationProof::Batch(_), None) => false,
            };
            if !valid {
                return Err(CertificateError::BadSignature(i));
            }
        }
        Ok(())
    }

    /// Canonical encoding: v1 when every proof is a single signature, else v2 (see the
    /// module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let batched = self.proofs.iter().any(AttestationProof::is_batch);
        let mut w = Writer::new();
        w.u8(if batched {
            CERTIFICATE_VERSION
        } else {
            ATTESTATION_VERSION
        })
        .bytes(&self.block.encode())
        .u64(self.epoch)
        .bytes(&self.signers);
        w.u32(self.proofs.len() as u32);
        for proof in &self.proofs {
            match (proof, batched) {
                (AttestationProof::Single(s), false) => {
                    w.bytes(&s.to_bytes());
                }
                (AttestationProof::Single(s), true) => {
                    w.u8(PROOF_SINGLE).bytes(&s.to_bytes());
                }
                (AttestationProof::Batch(b), _) => {
                    w.u8(PROOF_BATCH);
                    b.write(&mut w);
                }
            }
        }
        w.finish()
    }

    /// Decodes one certificate (structure only; call [`verify`](Self::verify)).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("certificate version")?;
        if version != ATTESTATION_VERSION && version != CERTIFICATE_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "certificate",
                version,
            });
        }
        let block = Block::decode(r.bytes("block", crate::ledger::MAX_BLOCK_LEN)?)?;
        let epoch = r.u64("epoch")?;
        let signers = r.bytes("signers", MAX_COMMITTEE / 8)?.to_vec();
        let count = r.u32("signature count")? as usize;
        if count > MAX_COMMITTEE {
            return Err(DecodeError::TooLong {
                field: "signatures",
                len: count,
                max: MAX_COMMITTEE,
            });
        }
        // Allocation is bounded by the count limit above and by the input present.
        let mut proofs = Vec::with_capacity(count.min(bytes.len() / 8));
        for _ in 0..count {
            let proof = if version == ATTESTATION_VERSION {
                AttestationProof::Single(read_signature(&mut r)?)
            } else {
                match r.u8("proof form")? {
                    PROOF_SINGLE => AttestationProof::Single(read_signature(&mut r)?),
                    PROOF_BATCH => AttestationProof::Batch(BatchProof::read(&mut r)?),
                    tag => {
                        return Err(DecodeError::UnknownTag {
                            what: "proof form",
                            tag,
                        })
                    }
                }
            };
            proofs.push(proof);
        }
        r.finish()?;
        if version == CERTIFICATE_VERSION && !proofs.iter().any(AttestationProof::is_batch) {
            return Err(DecodeError::Invalid {
                field: "certificate version",
                reason: "a v2 certificate without a batch proof (single-form ones are v1)".into(),
            });
        }
        Ok(Certificate {
            block,
            epoch,
            signers,
            proofs,
        })
    }

    /// The certified block's hash.
    pub fn block_hash(&self) -> Hash {
        self.block.hash()
    }
}

#[cfg(test)]
#[path = "attestation_tests.rs"]
mod tests;
