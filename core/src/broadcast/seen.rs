//! The bounded set of broadcast ids already handled, for duplicate suppression.

use std::collections::{HashMap, VecDeque};

use super::wire::MessageId;

/// Default capacity: 65,536 ids (≈ 4 MiB with the index), hours of broadcasts at the
/// rates the ledger produces, far longer than a broadcast takes to cross the overlay.
pub const DEFAULT_SEEN_CAPACITY: usize = 65_536;

/// Whether a copy of broadcast `id` on tree `t` is news.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sighting {
    /// The broadcast was never seen: deliver it and forward it on this tree.
    New,
    /// The broadcast was seen, but not on this tree: forward only.
    NewTree,
    /// Seen on this tree already: drop.
    Duplicate,
}

/// Remembers the last `capacity` ids, with the trees each was seen on, evicting the oldest
/// id first (FIFO, by first sighting).
///
/// Eviction is the only way a duplicate gets through: an id seen again after `capacity`
/// newer ids is treated as new, delivered and re-broadcast once more. Receivers therefore
/// handle payloads idempotently (certificates, proofs and revocations already are), and
/// the capacity is sized so that this happens only for replays, not for live traffic.
#[derive(Debug, Clone)]
pub struct SeenSet {
    capacity: usize,
    order: VecDeque<MessageId>,
    trees: HashMap<MessageId, u16>,
}

impl SeenSet {
    /// An empty set holding at most `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        SeenSet {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            trees: HashMap::new(),
        }
    }

    /// Records a copy of `id` on `tree` (below [`MAX_TREES`](super::wire::MAX_TREES)).
    pub fn insert(&mut self, id: MessageId, tree: u8) -> Sighting {
        let bit = 1u16 << (tree % 16);
        if let Some(mask) = self.trees.get_mut(&id) {
            if *mask & bit != 0 {
                return Sighting::Duplicate;
            }
            *mask |= bit;
            return Sighting::NewTree;
        }
        self.trees.insert(id, bit);
        self.order.push_back(id);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.trees.remove(&old);
            }
        }
        Sighting::New
    }

    /// Whether `id` is remembered.
    pub fn contains(&self, id: &MessageId) -> bool {
        self.trees.contains_key(id)
    }

    /// Number of remembered ids (≤ capacity).
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> MessageId {
        MessageId([n; 32])
    }

    #[test]
    fn duplicates_are_refused_and_the_oldest_is_evicted_first() {
        let mut s = SeenSet::new(2);
        assert_eq!(s.insert(id(1), 0), Sighting::New);
        assert_eq!(s.insert(id(1), 0), Sighting::Duplicate);
        assert_eq!(s.insert(id(2), 0), Sighting::New);
        assert_eq!(s.insert(id(3), 0), Sighting::New);
        assert_eq!(s.len(), 2);
        assert!(!s.contains(&id(1)) && s.contains(&id(2)) && s.contains(&id(3)));
        // A re-sighting does not refresh an id: 2 is still the oldest.
        assert_eq!(s.insert(id(2), 0), Sighting::Duplicate);
        assert_eq!(s.insert(id(4), 0), Sighting::New);
        assert!(!s.contains(&id(2)) && s.contains(&id(3)));
    }

    #[test]
    fn each_tree_of_a_broadcast_is_news_once() {
        let mut s = SeenSet::new(4);
        assert_eq!(s.insert(id(1), 2), Sighting::New);
        assert_eq!(s.insert(id(1), 0), Sighting::NewTree);
        assert_eq!(s.insert(id(1), 15), Sighting::NewTree);
        assert_eq!(s.insert(id(1), 2), Sighting::Duplicate);
        assert_eq!(s.insert(id(1), 0), Sighting::Duplicate);
        assert_eq!(s.len(), 1);
    }
}
