//! The routing-table view Kadcast delegates from: peers grouped by XOR-distance bucket.
//!
//! The table is filled by the caller — the network layer inserts the admitted kad servers
//! it knows, the simulator whatever its scenario wants — and only read by the
//! [`Broadcaster`](super::Broadcaster), which also flags peers that missed an
//! acknowledgement so that later broadcasts prefer peers known to answer.

use super::id::{OverlayId, BUCKETS};

/// Default peers kept per bucket (Kademlia's `k`, libp2p's `K_VALUE`).
pub const DEFAULT_BUCKET_SIZE: usize = 20;

/// One known peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The peer.
    pub id: OverlayId,
    /// `false` once the peer missed an acknowledgement; `true` again as soon as any message
    /// arrives from it. Delegates are chosen among responsive peers first.
    pub responsive: bool,
}

/// Peers by bucket, at most `bucket_size` per bucket, never the local node.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    me: OverlayId,
    bucket_size: usize,
    buckets: Vec<Vec<Entry>>,
}

/// What [`RoutingTable::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// The peer was added.
    Added,
    /// The peer was already present.
    Present,
    /// Its bucket is full; the caller decides whether to [`remove`](RoutingTable::remove)
    /// someone first (kad's own eviction policy stays in the network layer).
    BucketFull,
    /// The peer is the local node.
    IsSelf,
}

impl RoutingTable {
    /// An empty table for node `me`, keeping at most `bucket_size` peers per bucket
    /// (at least one).
    pub fn new(me: OverlayId, bucket_size: usize) -> Self {
        RoutingTable {
            me,
            bucket_size: bucket_size.max(1),
            buckets: vec![Vec::new(); BUCKETS],
        }
    }

    /// The local node.
    pub fn me(&self) -> OverlayId {
        self.me
    }

    /// Adds `peer` (as responsive) if its bucket has room.
    pub fn insert(&mut self, peer: OverlayId) -> Insert {
        let Some(i) = self.me.bucket_of(&peer) else {
            return Insert::IsSelf;
        };
        let bucket = &mut self.buckets[i];
        if bucket.iter().any(|e| e.id == peer) {
            Insert::Present
        } else if bucket.len() >= self.bucket_size {
            Insert::BucketFull
        } else {
            bucket.push(Entry {
                id: peer,
                responsive: true,
            });
            Insert::Added
        }
    }

    /// Removes `peer`; `true` if it was present.
    pub fn remove(&mut self, peer: &OverlayId) -> bool {
        let Some(i) = self.me.bucket_of(peer) else {
            return false;
        };
        let before = self.buckets[i].len();
        self.buckets[i].retain(|e| e.id != *peer);
        self.buckets[i].len() != before
    }

    /// Whether `peer` is in the table.
    pub fn contains(&self, peer: &OverlayId) -> bool {
        self.entry(peer).is_some()
    }

    /// The entry of `peer`, if present.
    pub fn entry(&self, peer: &OverlayId) -> Option<&Entry> {
        let i = self.me.bucket_of(peer)?;
        self.buckets[i].iter().find(|e| e.id == *peer)
    }

    /// Records whether `peer` answers (no-op if absent).
    pub fn set_responsive(&mut self, peer: &OverlayId, responsive: bool) {
        if let Some(i) = self.me.bucket_of(peer) {
            if let Some(e) = self.buckets[i].iter_mut().find(|e| e.id == *peer) {
                e.responsive = responsive;
            }
        }
    }

    /// The peers of bucket `i` (empty for `i >= 256`).
    pub fn bucket(&self, i: usize) -> &[Entry] {
        self.buckets.get(i).map_or(&[], Vec::as_slice)
    }

    /// Every peer, nearest bucket first.
    pub fn peers(&self) -> impl Iterator<Item = &Entry> {
        self.buckets.iter().flatten()
    }

    /// Number of peers.
    pub fn len(&self) -> usize {
        self.buckets.iter().map(Vec::len).sum()
    }

    /// Whether the table holds no peer.
    pub fn is_empty(&self) -> bool {
        self.buckets.iter().all(Vec::is_empty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(first: u8, last: u8) -> OverlayId {
        let mut b = [0u8; 32];
        b[0] = first;
        b[31] = last;
        OverlayId(b)
    }

    #[test]
    fn peers_land_in_the_bucket_of_their_highest_differing_bit() {
        let mut t = RoutingTable::new(id(0, 0), 2);
        assert_eq!(t.insert(id(0x80, 0)), Insert::Added);
        assert_eq!(t.insert(id(0, 1)), Insert::Added);
        assert_eq!(t.insert(id(0, 3)), Insert::Added);
        assert_eq!(t.bucket(255).len(), 1);
        assert_eq!(t.bucket(0).len(), 1);
        assert_eq!(t.bucket(1).len(), 1);
        assert_eq!(t.bucket(1)[0].id, id(0, 3));
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn insert_refuses_self_duplicates_and_full_buckets() {
        let mut t = RoutingTable::new(id(0, 0), 2);
        assert_eq!(t.insert(id(0, 0)), Insert::IsSelf);
        assert_eq!(t.insert(id(0x80, 1)), Insert::Added);
        assert_eq!(t.insert(id(0x80, 1)), Insert::Present);
        assert_eq!(t.insert(id(0x80, 2)), Insert::Added);
        assert_eq!(t.insert(id(0x80, 3)), Insert::BucketFull);
        assert!(t.remove(&id(0x80, 1)));
        assert!(!t.remove(&id(0x80, 1)));
        assert_eq!(t.insert(id(0x80, 3)), Insert::Added);
        assert!(t.contains(&id(0x80, 3)) && !t.contains(&id(0x80, 1)));
    }

    #[test]
    fn responsiveness_is_recorded_per_peer() {
        let mut t = RoutingTable::new(id(0, 0), 4);
        t.insert(id(1, 0));
        t.insert(id(2, 0));
        t.set_responsive(&id(1, 0), false);
        assert_eq!(t.entry(&id(1, 0)).map(|e| e.responsive), Some(false));
        assert_eq!(t.entry(&id(2, 0)).map(|e| e.responsive), Some(true));
    }
}
