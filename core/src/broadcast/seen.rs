//! The bounded set of broadcast ids already handled, for duplicate suppression.

use std::collections::{HashSet, VecDeque};

use super::wire::MessageId;

/// Default capacity: 65,536 ids (≈ 4 MiB with the index), hours of broadcasts at the
/// rates the ledger produces, far longer than a broadcast takes to cross the overlay.
pub const DEFAULT_SEEN_CAPACITY: usize = 65_536;

/// Remembers the last `capacity` ids, evicting the oldest first (FIFO, by first sighting).
///
/// Eviction is the only way a duplicate gets through: an id seen again after `capacity`
/// newer ids is treated as new, delivered and re-broadcast once more. Receivers therefore
/// handle payloads idempotently (certificates, proofs and revocations already are), and
/// the capacity is sized so that this happens only for replays, not for live traffic.
#[derive(Debug, Clone)]
pub struct SeenSet {
    capacity: usize,
    order: VecDeque<MessageId>,
    set: HashSet<MessageId>,
}

impl SeenSet {
    /// An empty set holding at most `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        SeenSet {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }

    /// Records `id`; `true` if it was not already present (the caller then handles it).
    pub fn insert(&mut self, id: MessageId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    /// Whether `id` is remembered.
    pub fn contains(&self, id: &MessageId) -> bool {
        self.set.contains(id)
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
        assert!(s.insert(id(1)));
        assert!(!s.insert(id(1)));
        assert!(s.insert(id(2)));
        assert!(s.insert(id(3)));
        assert_eq!(s.len(), 2);
        assert!(!s.contains(&id(1)) && s.contains(&id(2)) && s.contains(&id(3)));
        // A re-sighting does not refresh an id: 2 is still the oldest.
        assert!(!s.insert(id(2)));
        assert!(s.insert(id(4)));
        assert!(!s.contains(&id(2)) && s.contains(&id(3)));
    }
}
