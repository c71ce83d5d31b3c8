//! What travels on the broadcast protocol, and its canonical, versioned encoding.
//!
//! ```text
//! message   = version:u8 (=1) kind:u8 body
//! kind 0    = Broadcast: tree:u8 (< 16) height:u32 (≤ 256) payload
//! kind 1    = Ack:       tree:u8 (< 16) id:[u8;32]
//! payload   = tag:u8 bytes:u32-length-prefixed (≤ MAX_PAYLOAD_LEN)
//!   tag 0 certificate (Certificate::encode), 1 equivocation proof (two blocks),
//!   2 dmapp revocation (SignedRevocation::encode), 3 opaque bytes (≤ MAX_OPAQUE_LEN)
//! ```
//!
//! Decoding checks structure only (lengths, tags, nested decoders); signatures are the
//! receiver's business once the payload is [`Delivered`](super::Delivered).

use crate::codec::{DecodeError, Reader, Writer};
use crate::dmapp::SignedRevocation;
use crate::ledger::{Block, MAX_BLOCK_LEN};
use crate::poc::{Certificate, EquivocationProof};

use super::id::BUCKETS;
use super::BroadcastError;

/// Version byte of every broadcast-protocol message.
pub const WIRE_VERSION: u8 = 1;
/// BLAKE3 key-derivation context of [`MessageId`]s.
pub const MESSAGE_ID_CONTEXT: &str = "zeropole/broadcast/v1";
/// Largest encoded payload body: a certificate at the largest committee
/// (`MAX_COMMITTEE` signatures of ≤ 1 KiB) fits.
pub const MAX_PAYLOAD_LEN: usize = 2 * 1024 * 1024;
/// Number of independent dissemination trees a broadcast may use (so β ≤ 16).
pub const MAX_TREES: u8 = 16;
/// Largest opaque payload.
pub const MAX_OPAQUE_LEN: usize = 64 * 1024;
/// Largest encoded message: header, height and the largest payload.
pub const MAX_MESSAGE_LEN: usize = 2 + 1 + 4 + 1 + 4 + MAX_PAYLOAD_LEN;

/// The identity of a broadcast: BLAKE3 (key-derivation mode, [`MESSAGE_ID_CONTEXT`]) of
/// the encoded payload. Two originators of the same payload produce one broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub [u8; 32]);

/// What a broadcast carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A POC certificate (e.g. a confirmed block every station should learn).
    Certificate(Box<Certificate>),
    /// An equivocation proof freezing one account.
    Equivocation(Box<EquivocationProof>),
    /// A dmapp revocation signed by a review authority.
    Revocation(Box<SignedRevocation>),
    /// Bytes this layer does not interpret (at most [`MAX_OPAQUE_LEN`]).
    Opaque(Vec<u8>),
}

impl Payload {
    fn tag(&self) -> u8 {
        match self {
            Payload::Certificate(_) => 0,
            Payload::Equivocation(_) => 1,
            Payload::Revocation(_) => 2,
            Payload::Opaque(_) => 3,
        }
    }

    fn body(&self) -> Vec<u8> {
        match self {
            Payload::Certificate(c) => c.encode(),
            Payload::Equivocation(p) => {
                let mut w = Writer::new();
                w.bytes(&p.first.encode()).bytes(&p.second.encode());
                w.finish()
            }
            Payload::Revocation(r) => r.encode(),
            Payload::Opaque(b) => b.clone(),
        }
    }

    /// The canonical encoding (tag, then length-prefixed body).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.write(&mut w);
        w.finish()
    }

    fn write(&self, w: &mut Writer) {
        w.u8(self.tag()).bytes(&self.body());
    }

    /// The broadcast's identity.
    pub fn id(&self) -> MessageId {
        MessageId(blake3::derive_key(MESSAGE_ID_CONTEXT, &self.encode()))
    }

    /// Refuses a payload whose encoded body exceeds its limit: receivers could not decode
    /// it, so it cannot be originated.
    pub fn check_len(&self) -> Result<(), BroadcastError> {
        let len = self.body().len();
        let max = match self {
            Payload::Opaque(_) => MAX_OPAQUE_LEN,
            _ => MAX_PAYLOAD_LEN,
        };
        if len > max {
            return Err(BroadcastError::PayloadTooLarge { len, max });
        }
        Ok(())
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = r.u8("payload tag")?;
        Ok(match tag {
            0 => Payload::Certificate(Box::new(Certificate::decode(
                r.bytes("certificate", MAX_PAYLOAD_LEN)?,
            )?)),
            1 => {
                let mut inner = Reader::new(r.bytes("equivocation proof", MAX_PAYLOAD_LEN)?);
                let first = Block::decode(inner.bytes("first block", MAX_BLOCK_LEN)?)?;
                let second = Block::decode(inner.bytes("second block", MAX_BLOCK_LEN)?)?;
                inner.finish()?;
                Payload::Equivocation(Box::new(EquivocationProof { first, second }))
            }
            2 => Payload::Revocation(Box::new(SignedRevocation::decode(
                r.bytes("revocation", MAX_PAYLOAD_LEN)?,
            )?)),
            3 => Payload::Opaque(r.bytes("opaque payload", MAX_OPAQUE_LEN)?.to_vec()),
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "broadcast payload",
                    tag,
                })
            }
        })
    }
}

/// One message of the broadcast protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A broadcast handed to a delegate responsible for the subtree below `height`: the
    /// receiver re-broadcasts to its buckets `0..height` (the originator uses 256, every
    /// bucket).
    Broadcast {
        /// The dissemination tree this copy travels on (below [`MAX_TREES`]).
        tree: u8,
        /// The receiver covers its buckets `0..height`; at most 256.
        height: u16,
        /// What is broadcast.
        payload: Payload,
    },
    /// "I have `id` on `tree`": stops the sender's retry timer for this delegate.
    Ack {
        /// The tree of the acknowledged copy.
        tree: u8,
        /// The acknowledged broadcast.
        id: MessageId,
    },
}

impl Message {
    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u8(WIRE_VERSION);
        match self {
            Message::Broadcast {
                tree,
                height,
                payload,
            } => {
                w.u8(0).u8(*tree).u32(u32::from(*height));
                payload.write(&mut w);
            }
            Message::Ack { tree, id } => {
                w.u8(1).u8(*tree).fixed(&id.0);
            }
        }
        w.finish()
    }

    /// Decodes exactly one message; any other input is a typed error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(DecodeError::TooLong {
                field: "broadcast message",
                len: bytes.len(),
                max: MAX_MESSAGE_LEN,
            });
        }
        let mut r = Reader::new(bytes);
        let version = r.u8("broadcast version")?;
        if version != WIRE_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what: "broadcast message",
                version,
            });
        }
        let message = match r.u8("broadcast kind")? {
            0 => {
                let tree = read_tree(&mut r)?;
                let height = r.u32("height")?;
                let height = u16::try_from(height)
                    .ok()
                    .filter(|h| usize::from(*h) <= BUCKETS)
                    .ok_or_else(|| DecodeError::Invalid {
                        field: "height",
                        reason: format!("{height} exceeds {BUCKETS}"),
                    })?;
                Message::Broadcast {
                    tree,
                    height,
                    payload: Payload::read(&mut r)?,
                }
            }
            1 => Message::Ack {
                tree: read_tree(&mut r)?,
                id: MessageId(r.array("message id")?),
            },
            tag => {
                return Err(DecodeError::UnknownTag {
                    what: "broadcast message",
                    tag,
                })
            }
        };
        r.finish()?;
        Ok(message)
    }
}

fn read_tree(r: &mut Reader<'_>) -> Result<u8, DecodeError> {
    let tree = r.u8("tree")?;
    if tree >= MAX_TREES {
        return Err(DecodeError::Invalid {
            field: "tree",
            reason: format!("{tree} is not below {MAX_TREES}"),
        });
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn opaque(bytes: &[u8]) -> Message {
        Message::Broadcast {
            tree: 2,
            height: 7,
            payload: Payload::Opaque(bytes.to_vec()),
        }
    }

    #[test]
    fn messages_round_trip_and_the_layout_is_pinned() {
        let m = opaque(b"hi");
        let bytes = m.encode();
        assert_eq!(bytes, [1, 0, 2, 0, 0, 0, 7, 3, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(Message::decode(&bytes), Ok(m));
        let ack = Message::Ack {
            tree: 1,
            id: MessageId([9; 32]),
        };
        assert_eq!(Message::decode(&ack.encode()), Ok(ack));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = opaque(b"hello").encode();
        for len in 0..bytes.len() {
            assert!(Message::decode(&bytes[..len]).is_err(), "length {len}");
        }
    }

    #[test]
    fn bad_version_height_tag_and_trailing_bytes_are_refused() {
        let mut bytes = opaque(b"x").encode();
        bytes[0] = 2;
        assert!(matches!(
            Message::decode(&bytes),
            Err(DecodeError::UnsupportedVersion { .. })
        ));
        let mut bytes = opaque(b"x").encode();
        bytes[3..7].copy_from_slice(&257u32.to_be_bytes());
        assert!(matches!(
            Message::decode(&bytes),
            Err(DecodeError::Invalid {
                field: "height",
                ..
            })
        ));
        let mut bytes = opaque(b"x").encode();
        bytes[2] = MAX_TREES;
        assert!(matches!(
            Message::decode(&bytes),
            Err(DecodeError::Invalid { field: "tree", .. })
        ));
        let mut bytes = opaque(b"x").encode();
        bytes[7] = 9;
        assert!(matches!(
            Message::decode(&bytes),
            Err(DecodeError::UnknownTag { tag: 9, .. })
        ));
        let mut bytes = opaque(b"x").encode();
        bytes.push(0);
        assert_eq!(Message::decode(&bytes), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn ids_depend_on_kind_and_content() {
        let a = Payload::Opaque(b"a".to_vec());
        assert_eq!(a.id(), Payload::Opaque(b"a".to_vec()).id());
        assert_ne!(a.id(), Payload::Opaque(b"b".to_vec()).id());
        assert!(Payload::Opaque(vec![0; MAX_OPAQUE_LEN + 1])
            .check_len()
            .is_err());
        assert!(Payload::Opaque(vec![0; MAX_OPAQUE_LEN]).check_len().is_ok());
    }

    /// One owner-signed `Send` at height 1, differing by `amount`.
    fn block(owner: &mut crate::crypto::KeyPair, amount: u64) -> Block {
        use crate::crypto::{AccountId, Hash};
        use crate::ledger::{BlockBody, DmappId, Op};
        BlockBody {
            account: owner.public_key().account_id(),
            height: 1,
            previous: Hash([0; 32]),
            epoch: 3,
            op: Op::Send {
                to: AccountId([2; 32]),
                amount,
                memo: vec![],
                prev_to: None,
            },
            balance: 10,
            timestamp_ms: 0,
            dmapp: DmappId::WALLET,
        }
        .sign(owner)
        .expect("sign")
    }

    #[test]
    fn every_payload_kind_round_trips_and_kinds_never_share_an_id() {
        use crate::crypto::KeyPair;
        use crate::dmapp::DmappRevocation;
        use crate::ledger::DmappId;

        let mut owner = KeyPair::from_seed(&[1; 32]).expect("keygen");
        let (first, second) = (block(&mut owner, 5), block(&mut owner, 6));
        let certificate = Certificate {
            block: first.clone(),
            epoch: 3,
            signers: vec![0b1],
            proofs: vec![first.signature.clone().into()],
        };
        let revocation = DmappRevocation::new(DmappId([5; 32]), "drains wallets", 7)
            .expect("valid")
            .sign(&mut KeyPair::from_seed(&[2; 32]).expect("keygen"))
            .expect("sign");
        let payloads = [
            Payload::Certificate(Box::new(certificate)),
            Payload::Equivocation(Box::new(EquivocationProof { first, second })),
            Payload::Revocation(Box::new(revocation)),
            Payload::Opaque(b"bytes".to_vec()),
        ];
        let mut ids = Vec::new();
        for payload in payloads {
            let message = Message::Broadcast {
                tree: 0,
                height: 256,
                payload: payload.clone(),
            };
            let bytes = message.encode();
            assert_eq!(Message::decode(&bytes), Ok(message));
            for len in 0..bytes.len() {
                assert!(Message::decode(&bytes[..len]).is_err(), "length {len}");
            }
            payload.check_len().expect("within limits");
            ids.push(payload.id());
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 4);
    }

    proptest! {
        #[test]
        fn decoding_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let _ = Message::decode(&bytes);
        }

        #[test]
        fn decoding_mutated_messages_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..200),
            flip in any::<usize>(),
            value in any::<u8>(),
        ) {
            let mut bytes = opaque(&body).encode();
            let i = flip % bytes.len();
            bytes[i] = value;
            if let Ok(m) = Message::decode(&bytes) {
                prop_assert_eq!(m.encode(), bytes);
            }
        }
    }
}
