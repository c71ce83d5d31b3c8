//! Peer records: a witness's Falcon key binding its `WitnessId` to a libp2p `PeerId` and
//! the addresses it listens on (DESIGN.md §2: transport keys are separate from ledger
//! keys, and a node's ledger key signs a record binding them).
//!
//! Stations exchange records when they connect; a record counts only if it verifies
//! against the epoch's witness set, so a node cannot pose as another witness. A higher
//! `seq` replaces a lower one (a restarted station re-signs with new addresses).

use libp2p::{Multiaddr, PeerId};

use crate::codec::{DecodeError, Reader, Writer};
use crate::crypto::{CryptoError, Domain, KeyPair, Signature};
use crate::poc::{Epoch, WitnessId};

/// Largest encoded record.
pub const MAX_RECORD_LEN: usize = 4096;
const RECORD_VERSION: u8 = 1;
const MAX_ADDRS: usize = 16;
const MAX_ADDR_LEN: usize = 256;
const MAX_PEER_ID_LEN: usize = 64;
const MAX_SIGNATURE_LEN: usize = 1024;

/// A signed binding of a witness to its libp2p identity and addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// The witness.
    pub witness: WitnessId,
    /// Its libp2p identity.
    pub peer_id: PeerId,
    /// Where it listens (dialable addresses, without `/p2p/`).
    pub addrs: Vec<Multiaddr>,
    /// Sequence number: a higher one replaces a lower one.
    pub seq: u64,
    /// The witness key's signature over the record body.
    pub signature: Signature,
}

fn body(witness: &WitnessId, peer_id: &PeerId, addrs: &[Multiaddr], seq: u64) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(RECORD_VERSION)
        .fixed(&witness.0)
        .bytes(&peer_id.to_bytes())
        .u64(seq)
        .u32(addrs.len() as u32);
    for a in addrs {
        w.bytes(&a.to_vec());
    }
    w.finish()
}

impl PeerRecord {
    /// Signs a record with the witness key. At most 16 addresses are kept.
    pub fn sign(
        witness: WitnessId,
        peer_id: PeerId,
        addrs: Vec<Multiaddr>,
        seq: u64,
        keys: &mut KeyPair,
    ) -> Result<Self, CryptoError> {
        let addrs: Vec<Multiaddr> = addrs
            .into_iter()
            .filter(|a| a.len() <= MAX_ADDR_LEN)
            .take(MAX_ADDRS)
            .collect();
        let signature = keys.sign(Domain::PeerRecord, &body(&witness, &peer_id, &addrs, seq))?;
        Ok(PeerRecord {
            witness,
            peer_id,
            addrs,
            seq,
            signature,
        })
    }

    /// Whether the record is signed by its witness's key in `epoch`.
    pub fn verify(&self, epoch: &Epoch) -> bool {
        epoch.witness(&self.witness).is_some_and(|w| {
            w.public_key.verify(
                Domain::PeerRecord,
                &body(&self.witness, &self.peer_id, &self.addrs, self.seq),
                &self.signature,
            )
        })
    }

    /// Canonical encoding (body, then signature).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes(&body(&self.witness, &self.peer_id, &self.addrs, self.seq))
            .bytes(&self.signature.to_bytes());
        w.finish()
    }

    /// Decodes one record (structure only; call [`verify`](Self::verify)).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut outer = Reader::new(bytes);
        let body = outer.bytes("record body", MAX_RECORD_LEN)?;
        let signature = Signature::from_bytes(outer.bytes("signature", MAX_SIGNATURE_LEN)?)
            .map_err(|e| DecodeError::Invalid {
                field: "signature",
                reason: e.to_string(),
            })?;
        outer.finish()?;
        let mut r = Reader::new(body);
        match r.u8("record version")? {
            RECORD_VERSION => {}
            version => {
                return Err(DecodeError::UnsupportedVersion {
                    what: "peer record",
                    version,
                })
            }
        }
        let witness = WitnessId(r.array("witness")?);
        let peer_id = PeerId::from_bytes(r.bytes("peer id", MAX_PEER_ID_LEN)?).map_err(|e| {
            DecodeError::Invalid {
                field: "peer id",
                reason: e.to_string(),
            }
        })?;
        let seq = r.u64("seq")?;
        let n = r.u32("address count")? as usize;
        if n > MAX_ADDRS {
            return Err(DecodeError::TooLong {
                field: "addresses",
                len: n,
                max: MAX_ADDRS,
            });
        }
        let mut addrs = Vec::with_capacity(n);
        for _ in 0..n {
            let raw = r.bytes("address", MAX_ADDR_LEN)?;
            addrs.push(
                Multiaddr::try_from(raw.to_vec()).map_err(|e| DecodeError::Invalid {
                    field: "address",
                    reason: e.to_string(),
                })?,
            );
        }
        r.finish()?;
        Ok(PeerRecord {
            witness,
            peer_id,
            addrs,
            seq,
            signature,
        })
    }
}
