//! `seed_e` by commit–reveal among the admission authorities (DESIGN.md §4: "`seed_e`
//! comes from a commit–reveal among those authorities, revealed after `W_e` is frozen —
//! never from a Falcon signature (randomized, hence grindable)").
//!
//! Each authority `i` draws a 32-byte secret (from its own RNG: this module takes it as an
//! input) and, while `W_e` is still open, sends a signed commit of
//! `c_i = H_commit(0x00 ‖ e:u64 ‖ i:u8 ‖ secret)`. Once `W_e` is frozen (its Merkle root
//! fixed), each reveals its secret; a reveal that does not hash to its commit is refused
//! ([`SeedError::RevealMismatch`]). With at least `k` valid reveals,
//! ```text
//! seed_e = H_seed(e:u64 ‖ root(W_e):[32] ‖ count:u8 ‖ (i:u8 ‖ secret_i:[32]) × count)
//! ```
//! over the reveals in ascending authority order. `H_commit` is BLAKE3 under
//! `zeropole/seed-commit/v1`, `H_seed` under `zeropole/epoch-seed/v1`. Binding `e` and `i`
//! into the commitment stops an authority from copying another's commit (or an old one) and
//! later revealing the copied secret. Nobody can choose `W_e` knowing the seed (the secrets
//! are hidden until it is frozen), and nobody can change a secret after seeing the others;
//! the only choice left is to withhold a reveal, which is why the ceremony waits for every
//! committed authority until its deadline and uses all the reveals it has then.
//!
//! [`SeedCeremony`] is the sans-IO state machine each authority (and any auditor) runs:
//! inputs [`SeedCeremony::handle_commit`], [`SeedCeremony::freeze`] (time enters here, as
//! the reveal deadline), [`SeedCeremony::handle_reveal`]; output
//! [`SeedCeremony::poll_seed`]`(now)`. [`SeedContribution`] is one authority's own side.
//!
//! Signed commit format (version 1): `0x01 e:u64 authority:u8 commitment:[32]
//! signature:bytes(≤ 1024)`, the signature (domain `zeropole/seed-commit/v1`) over
//! everything before it.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{hash_tagged, CryptoError, Domain, Hash, KeyPair, PublicKey, Signature};

/// Format version of [`SignedCommit`].
pub const SEED_COMMIT_VERSION: u8 = 1;
/// Most admission authorities a network may have (authorities are named by a `u8` index
/// into the genesis list).
pub const MAX_AUTHORITIES: usize = 64;
const MAX_SIGNATURE_LEN: usize = 1024;

/// `H_commit(0x00 ‖ e ‖ i ‖ secret)`: authority `i`'s commitment for epoch `e`.
pub fn commitment(epoch: u64, authority: u8, secret: &[u8; 32]) -> Hash {
    let mut w = Writer::new();
    w.u8(0x00).u64(epoch).u8(authority).fixed(secret);
    hash_tagged(Domain::SeedCommit, &w.finish())
}

/// `seed_e` from the reveals (ascending authority order, as a `BTreeMap` iterates).
pub fn derive_seed(epoch: u64, witness_root: &Hash, reveals: &BTreeMap<u8, [u8; 32]>) -> [u8; 32] {
    let mut w = Writer::new();
    // At most MAX_AUTHORITIES (64) reveals: the count fits in a u8.
    w.u64(epoch)
        .fixed(&witness_root.0)
        .u8(reveals.len().min(u8::MAX as usize) as u8);
    for (i, secret) in reveals {
        w.u8(*i).fixed(secret);
    }
    hash_tagged(Domain::EpochSeed, &w.finish()).0
}

/// Why a commit, a reveal or the ceremony is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SeedError {
    /// `k` must be in `1..=m` with `m ≤ MAX_AUTHORITIES`.
    #[error("threshold {k} of {m} authorities is not in 1..=m (m ≤ {MAX_AUTHORITIES})")]
    BadThreshold {
        /// The threshold.
        k: usize,
        /// The number of authorities.
        m: usize,
    },
    /// The message is about another epoch.
    #[error("the message is for epoch {found}, this ceremony is for epoch {expected}")]
    WrongEpoch {
        /// The ceremony's epoch.
        expected: u64,
        /// The message's epoch.
        found: u64,
    },
    /// The authority index names no admission authority.
    #[error("authority {0} is not an admission authority")]
    UnknownAuthority(u8),
    /// The commit's signature does not verify under the authority's key.
    #[error("the commit of authority {0} is not signed by it")]
    BadSignature(u8),
    /// An authority sent two different commits.
    #[error("authority {0} committed twice to different secrets")]
    ConflictingCommit(u8),
    /// A commit after `W_e` was frozen: it could depend on the witness set.
    #[error("authority {0} committed after the witness set was frozen")]
    CommitAfterFreeze(u8),
    /// A reveal before `W_e` is frozen would let the others grind the set.
    #[error("authority {0} revealed before the witness set was frozen")]
    RevealBeforeFreeze(u8),
    /// A reveal from an authority that did not commit.
    #[error("authority {0} reveals without a commit")]
    NoCommit(u8),
    /// The revealed secret does not hash to the commitment.
    #[error("the reveal of authority {0} does not match its commit")]
    RevealMismatch(u8),
    /// Fewer than `k` commits when the set was frozen: no seed can come of it.
    #[error("{have} commits when the witness set was frozen, {need} are needed")]
    NotEnoughCommits {
        /// Commits received.
        have: usize,
        /// `k`.
        need: usize,
    },
    /// Malformed bytes.
    #[error("malformed commit: {0}")]
    Decode(#[from] DecodeError),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Crypto(#[from] CryptoError),
}

/// Authority `authority`'s signed commitment for `epoch`'s seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCommit {
    /// The epoch whose seed this is for.
    pub epoch: u64,
    /// Index of the authority in genesis' admission authorities.
    pub authority: u8,
    /// [`commitment`] of its secret.
    pub commitment: Hash,
    /// The authority's signature over the encoding without it.
    pub signature: Signature,
}

impl SignedCommit {
    fn signed_bytes(epoch: u64, authority: u8, commitment: &Hash) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(SEED_COMMIT_VERSION)
            .u64(epoch)
            .u8(authority)
            .fixed(&commitment.0);
        w.finish()
    }

    /// Whether `key` signed this commit.
    pub fn verify(&self, key: &PublicKey) -> bool {
        key.verify(
            Domain::SeedCommit,
            &Self::signed_bytes(self.epoch, self.authority, &self.commitment),
            &self.signature,
        )
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.fixed(&Self::signed_bytes(
            self.epoch,
            self.authority,
            &self.commitment,
        ))
        .bytes(&self.signature.to_bytes());
        w.finish()
    }

    /// Decodes exactly one signed commit; malformed input is a typed error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let version = r.u8("seed commit version")?;
        if version != SEED_COMMIT_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "seed commit",
                version,
            });
        }
        let epoch = r.u64("epoch")?;
        let authority = r.u8("authority")?;
        let commitment = Hash(r.array("commitment")?);
        let signature =
            Signature::from_bytes(r.bytes("signature", MAX_SIGNATURE_LEN)?).map_err(|e| {
                DecodeError::Invalid {
                    field: "signature",
                    reason: e.to_string(),
                }
            })?;
        r.finish()?;
        Ok(SignedCommit {
            epoch,
            authority,
            commitment,
            signature,
        })
    }
}

/// Authority `authority`'s revealed secret for `epoch`'s seed (authenticated by its
/// commit: only the committer knows a preimage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReveal {
    /// The epoch.
    pub epoch: u64,
    /// The authority's index.
    pub authority: u8,
    /// The secret.
    pub secret: [u8; 32],
}

/// One authority's part: its secret for one epoch.
#[derive(Clone)]
pub struct SeedContribution {
    epoch: u64,
    authority: u8,
    secret: [u8; 32],
}

impl std::fmt::Debug for SeedContribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedContribution")
            .field("epoch", &self.epoch)
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

impl SeedContribution {
    /// Authority `authority`'s contribution to `epoch` with `secret`, which the caller
    /// draws from a cryptographic RNG and keeps (durably) until it reveals it.
    pub fn new(epoch: u64, authority: u8, secret: [u8; 32]) -> Self {
        SeedContribution {
            epoch,
            authority,
            secret,
        }
    }

    /// The signed commit to send while `W_e` is open.
    pub fn commit(&self, keys: &mut KeyPair) -> Result<SignedCommit, CryptoError> {
        let c = commitment(self.epoch, self.authority, &self.secret);
        let signature = keys.sign(
            Domain::SeedCommit,
            &SignedCommit::signed_bytes(self.epoch, self.authority, &c),
        )?;
        Ok(SignedCommit {
            epoch: self.epoch,
            authority: self.authority,
            commitment: c,
            signature,
        })
    }

    /// The reveal to send once `W_e` is frozen.
    pub fn reveal(&self) -> SeedReveal {
        SeedReveal {
            epoch: self.epoch,
            authority: self.authority,
            secret: self.secret,
        }
    }
}

/// The seed, with what it was derived from (the epoch record carries all of it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedOutcome {
    /// The epoch.
    pub epoch: u64,
    /// The frozen `root(W_e)`.
    pub witness_root: Hash,
    /// The valid reveals used, by authority index.
    pub reveals: BTreeMap<u8, [u8; 32]>,
    /// `seed_e`.
    pub seed: [u8; 32],
}

/// What [`SeedCeremony::poll_seed`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedPoll {
    /// `W_e` is not frozen yet: commits are still being taken.
    Committing,
    /// Waiting for reveals until the deadline (milliseconds), unless every committed
    /// authority reveals sooner.
    Waiting {
        /// The reveal deadline.
        until_ms: u64,
    },
    /// The seed.
    Ready(SeedOutcome),
    /// The deadline passed with fewer than `k` valid reveals: no seed (withheld reveals
    /// block it; the authorities must run a new ceremony).
    Blocked {
        /// Valid reveals.
        have: usize,
        /// `k`.
        need: usize,
    },
}

/// The commit–reveal ceremony for one epoch's seed (see the module docs).
#[derive(Debug, Clone)]
pub struct SeedCeremony {
    epoch: u64,
    authorities: Vec<PublicKey>,
    k: usize,
    commits: BTreeMap<u8, Hash>,
    reveals: BTreeMap<u8, [u8; 32]>,
    frozen: Option<(Hash, u64)>,
}

impl SeedCeremony {
    /// A ceremony for `epoch` among `authorities` (genesis order), `k` of them needed.
    pub fn new(epoch: u64, authorities: Vec<PublicKey>, k: usize) -> Result<Self, SeedError> {
        let m = authorities.len();
        if k == 0 || k > m || m > MAX_AUTHORITIES {
            return Err(SeedError::BadThreshold { k, m });
        }
        Ok(SeedCeremony {
            epoch,
            authorities,
            k,
            commits: BTreeMap::new(),
            reveals: BTreeMap::new(),
            frozen: None,
        })
    }

    /// Takes an authority's signed commit (the same one again is harmless). Refused after
    /// the freeze, from a non-authority, unsigned, or conflicting with an earlier commit.
    pub fn handle_commit(&mut self, commit: &SignedCommit) -> Result<(), SeedError> {
        if commit.epoch != self.epoch {
            return Err(SeedError::WrongEpoch {
                expected: self.epoch,
                found: commit.epoch,
            });
        }
        let i = commit.authority;
        let key = self
            .authorities
            .get(i as usize)
            .ok_or(SeedError::UnknownAuthority(i))?;
        if !commit.verify(key) {
            return Err(SeedError::BadSignature(i));
        }
        match self.commits.get(&i) {
            Some(c) if *c == commit.commitment => return Ok(()),
            Some(_) => return Err(SeedError::ConflictingCommit(i)),
            None => {}
        }
        if self.frozen.is_some() {
            return Err(SeedError::CommitAfterFreeze(i));
        }
        self.commits.insert(i, commit.commitment);
        Ok(())
    }

    /// `W_e` is frozen with root `witness_root` at `now_ms`: no more commits; reveals are
    /// taken until `now_ms + reveal_window_ms`. Refused (and nothing changes) with fewer
    /// than `k` commits, since no seed could come of it. Freezing again is a no-op.
    pub fn freeze(
        &mut self,
        witness_root: Hash,
        now_ms: u64,
        reveal_window_ms: u64,
    ) -> Result<(), SeedError> {
        if self.frozen.is_some() {
            return Ok(());
        }
        if self.commits.len() < self.k {
            return Err(SeedError::NotEnoughCommits {
                have: self.commits.len(),
                need: self.k,
            });
        }
        self.frozen = Some((witness_root, now_ms.saturating_add(reveal_window_ms)));
        Ok(())
    }

    /// Takes a reveal: only after the freeze, only from a committed authority, and only if
    /// it matches the commit ([`SeedError::RevealMismatch`] otherwise: a forged reveal).
    pub fn handle_reveal(&mut self, reveal: &SeedReveal) -> Result<(), SeedError> {
        if reveal.epoch != self.epoch {
            return Err(SeedError::WrongEpoch {
                expected: self.epoch,
                found: reveal.epoch,
            });
        }
        let i = reveal.authority;
        if self.frozen.is_none() {
            return Err(SeedError::RevealBeforeFreeze(i));
        }
        let committed = self.commits.get(&i).ok_or(SeedError::NoCommit(i))?;
        if commitment(self.epoch, i, &reveal.secret) != *committed {
            return Err(SeedError::RevealMismatch(i));
        }
        self.reveals.insert(i, reveal.secret);
        Ok(())
    }

    /// The seed once every committed authority revealed, or at the deadline with at least
    /// `k` reveals; [`SeedPoll::Blocked`] at the deadline with fewer.
    pub fn poll_seed(&self, now_ms: u64) -> SeedPoll {
        let Some((root, deadline)) = self.frozen else {
            return SeedPoll::Committing;
        };
        let all = self.reveals.len() == self.commits.len();
        if !all && now_ms < deadline {
            return SeedPoll::Waiting { until_ms: deadline };
        }
        if self.reveals.len() < self.k {
            return SeedPoll::Blocked {
                have: self.reveals.len(),
                need: self.k,
            };
        }
        SeedPoll::Ready(SeedOutcome {
            epoch: self.epoch,
            witness_root: root,
            seed: derive_seed(self.epoch, &root, &self.reveals),
            reveals: self.reveals.clone(),
        })
    }
}

#[cfg(test)]
#[path = "seed_tests.rs"]
mod tests;
