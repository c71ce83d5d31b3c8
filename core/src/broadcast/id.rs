//! Overlay identities and the XOR metric that Kadcast's buckets are built on.

use std::fmt;

/// BLAKE3 key-derivation context that maps a libp2p PeerId to its overlay position.
/// Stable on the wire: changing it moves every node in the overlay.
pub const OVERLAY_ID_CONTEXT: &str = "zeropole/overlay-id/v1";

/// Number of buckets of a routing table: one per bit of an [`OverlayId`].
pub const BUCKETS: usize = 256;

/// A node's 256-bit position in the broadcast overlay.
///
/// The network layer derives it from the node's libp2p PeerId with
/// [`OverlayId::from_peer_id_bytes`], so a node cannot choose its position without also
/// choosing (and being admitted with) a new PeerId.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OverlayId(pub [u8; 32]);

impl OverlayId {
    /// The overlay position of a libp2p PeerId, given its canonical bytes
    /// (`PeerId::to_bytes()`): BLAKE3 in key-derivation mode under [`OVERLAY_ID_CONTEXT`].
    pub fn from_peer_id_bytes(peer_id: &[u8]) -> Self {
        OverlayId(blake3::derive_key(OVERLAY_ID_CONTEXT, peer_id))
    }

    /// The XOR distance to `other`, as a big-endian 256-bit number.
    pub fn distance(&self, other: &OverlayId) -> [u8; 32] {
        let mut d = [0u8; 32];
        for (i, byte) in d.iter_mut().enumerate() {
            *byte = self.0[i] ^ other.0[i];
        }
        d
    }

    /// The bucket `other` falls into in this node's table: `i` such that the XOR distance
    /// lies in `[2^i, 2^(i+1))`, i.e. `255 −` the length of the common prefix. `None` for
    /// `self` (distance 0).
    ///
    /// Bucket `i` is the half of the id space that agrees with `self` on bits above `i` and
    /// differs at bit `i`; for any `b` in it, `b`'s buckets `0..i` partition exactly that
    /// half minus `b` — the subtree a Kadcast receiver at height `i` is responsible for.
    pub fn bucket_of(&self, other: &OverlayId) -> Option<usize> {
        let d = self.distance(other);
        let mut prefix = 0usize;
        for byte in d {
            if byte == 0 {
                prefix += 8;
            } else {
                prefix += byte.leading_zeros() as usize;
                return Some(BUCKETS - 1 - prefix);
            }
        }
        None
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for OverlayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Eight hex digits tell nodes apart in logs and test failures.
        write!(f, "OverlayId({}…)", &self.to_hex()[..8])
    }
}

impl fmt::Display for OverlayId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_with_bit(bit: usize) -> OverlayId {
        // Bit 255 is the most significant bit of byte 0.
        let mut b = [0u8; 32];
        b[31 - bit / 8] = 1 << (bit % 8);
        OverlayId(b)
    }

    #[test]
    fn bucket_is_the_highest_differing_bit() {
        let zero = OverlayId([0; 32]);
        assert_eq!(zero.bucket_of(&zero), None);
        for bit in [0, 1, 7, 8, 100, 254, 255] {
            assert_eq!(zero.bucket_of(&id_with_bit(bit)), Some(bit), "bit {bit}");
        }
        // Lower bits do not change the bucket.
        let mut mixed = id_with_bit(100);
        mixed.0[31] = 0xFF;
        assert_eq!(zero.bucket_of(&mixed), Some(100));
    }

    #[test]
    fn bucket_membership_is_symmetric() {
        let a = OverlayId::from_peer_id_bytes(b"a");
        let b = OverlayId::from_peer_id_bytes(b"b");
        assert_eq!(a.bucket_of(&b), b.bucket_of(&a));
        assert_eq!(a.distance(&b), b.distance(&a));
    }

    const PINNED_EMPTY_PEER_ID: &str =
        "25688b960da5555e6be3f5c32b725fa0129ec8c1a815d618b7da5ef244d741dc";

    #[test]
    fn peer_id_mapping_is_pinned() {
        // A change here moves every node in the overlay: a protocol version change.
        let id = OverlayId::from_peer_id_bytes(b"");
        assert_eq!(id.to_hex(), PINNED_EMPTY_PEER_ID);
        assert_ne!(id, OverlayId::from_peer_id_bytes(b"\0"));
    }
}
