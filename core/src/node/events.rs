//! The node's event queue (DESIGN.md §9): events are peeked, then acknowledged.
//!
//! - Input: [`EventQueue::push`] (a transient event), [`EventQueue::reserve_id`] +
//!   [`EventQueue::push_durable`] (an event whose row the caller wrote to the chain store
//!   under that id), [`EventQueue::handled`] (the app acknowledged an id).
//! - Output: [`EventQueue::wait`] (the oldest unacknowledged event, waiting for one),
//!   [`EventQueue::take_acked`] (durable ids acknowledged but not yet deleted from the
//!   store; the runtime deletes them when it holds the store).
//!
//! Which events are durable: `TransferCertified` and `TransferReceived` (a payment the app
//! must show even if it was killed before handling it). The others describe the node's
//! state at one moment (`SyncDone`, `StationConnection`, `Reachable`, `ProfileChanged`,
//! `Paused`, `Resumed`) and live in memory only: after a restart they are stale anyway.
//!
//! Ids increase in the order events are queued within a run; durable events keep theirs
//! across restarts, and a restarted node numbers new events above every durable id the
//! database ever held (acknowledged ones included). Only the ids of transient events of an
//! earlier run may be given again: those events are gone with that run.
//! Delivery is at least once: an event acknowledged just before the process dies may be
//! delivered again after the restart (its id is the same), never lost.
//!
//! Bounded: an app that never reads events must not grow the node's memory, so beyond
//! [`MAX_QUEUED`] events the oldest transient one is dropped (durable ones never are; they
//! are in the database anyway).
//!
//! Cancel-safe by construction: [`EventQueue::wait`] removes nothing, so a caller that
//! stops waiting (a cancelled coroutine or task) loses nothing.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::sync::Notify;

use super::NodeEvent;

/// Queued events beyond which the oldest transient event is dropped.
pub(super) const MAX_QUEUED: usize = 4096;

/// An event with its queue id, as [`super::Node::wait_event`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedEvent {
    /// Its id: pass it to [`super::Node::event_handled`].
    pub id: u64,
    /// What happened.
    pub event: NodeEvent,
    /// Stored in the chain database until acknowledged (it survives a restart).
    pub durable: bool,
}

#[derive(Default)]
struct State {
    next_id: u64,
    queue: BTreeMap<u64, (NodeEvent, bool)>,
    acked: Vec<u64>,
}

/// The queue; see the module docs.
pub(super) struct EventQueue {
    state: Mutex<State>,
    notify: Notify,
}

impl EventQueue {
    /// A queue holding the durable events found in the store, numbering new events above
    /// `max_stored_id`.
    pub(super) fn new(stored: Vec<(u64, NodeEvent)>, max_stored_id: u64) -> Self {
        let queue = stored.into_iter().map(|(id, e)| (id, (e, true))).collect();
        EventQueue {
            state: Mutex::new(State {
                next_id: max_stored_id.saturating_add(1).max(1),
                queue,
                acked: Vec::new(),
            }),
            notify: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent at every await-free step, so a poisoned lock (a panic
        // elsewhere while holding it) still guards valid data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a transient event; returns its id.
    pub(super) fn push(&self, event: NodeEvent) -> u64 {
        let id = self.reserve_id();
        self.push_with(id, event, false);
        id
    }

    /// The id the next durable event will be stored under.
    pub(super) fn reserve_id(&self) -> u64 {
        let mut s = self.state();
        let id = s.next_id;
        s.next_id = s.next_id.saturating_add(1);
        id
    }

    /// Queues a durable event already written to the store under `id` (from
    /// [`Self::reserve_id`]).
    pub(super) fn push_durable(&self, id: u64, event: NodeEvent) {
        self.push_with(id, event, true);
    }

    fn push_with(&self, id: u64, event: NodeEvent, durable: bool) {
        {
            let mut s = self.state();
            s.queue.insert(id, (event, durable));
            if s.queue.len() > MAX_QUEUED {
                let oldest_transient = s.queue.iter().find(|(_, (_, d))| !d).map(|(id, _)| *id);
                if let Some(old) = oldest_transient {
                    s.queue.remove(&old);
                }
            }
        }
        self.notify.notify_waiters();
    }

    /// The oldest unacknowledged event, if any, without waiting.
    pub(super) fn peek(&self) -> Option<QueuedEvent> {
        self.state()
            .queue
            .iter()
            .next()
            .map(|(id, (event, durable))| QueuedEvent {
                id: *id,
                event: event.clone(),
                durable: *durable,
            })
    }

    /// The oldest unacknowledged event, waiting until there is one. Cancel-safe.
    pub(super) async fn wait(&self) -> QueuedEvent {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            // Registered before looking, so a push between the look and the wait wakes us.
            notified.as_mut().enable();
            if let Some(event) = self.peek() {
                return event;
            }
            notified.await;
        }
    }

    /// Acknowledges `id`: removes it from the queue. Returns whether it was queued. A
    /// durable id is remembered for [`Self::take_acked`].
    pub(super) fn handled(&self, id: u64) -> bool {
        let mut s = self.state();
        match s.queue.remove(&id) {
            Some((_, durable)) => {
                if durable {
                    s.acked.push(id);
                }
                true
            }
            None => false,
        }
    }

    /// Durable ids acknowledged since the last call: the caller deletes them from the store
    /// (and gives them back with [`Self::restore_acked`] if that fails).
    pub(super) fn take_acked(&self) -> Vec<u64> {
        std::mem::take(&mut self.state().acked)
    }

    /// Gives back ids whose deletion failed, to be tried again later.
    pub(super) fn restore_acked(&self, ids: Vec<u64>) {
        self.state().acked.extend(ids);
    }

    /// How many events are queued (acknowledged ones excluded).
    pub(super) fn len(&self) -> usize {
        self.state().queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paused() -> NodeEvent {
        NodeEvent::Paused
    }

    #[test]
    fn events_are_peeked_in_id_order_until_acknowledged() {
        let q = EventQueue::new(vec![(3, NodeEvent::Resumed)], 3);
        let a = q.push(paused());
        assert_eq!(a, 4, "numbered above the stored ids");
        let first = q.peek().expect("queued");
        assert_eq!((first.id, first.durable), (3, true));
        assert_eq!(q.peek(), Some(first.clone()), "peeking takes nothing");
        assert!(q.handled(3));
        assert!(!q.handled(3), "a second acknowledgement is a no-op");
        assert_eq!(q.take_acked(), vec![3]);
        assert_eq!(q.peek().map(|e| (e.id, e.durable)), Some((4, false)));
        assert!(q.handled(4));
        assert!(q.take_acked().is_empty(), "transient ids need no deletion");
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn an_unread_queue_drops_its_oldest_transient_events_and_keeps_durable_ones() {
        let q = EventQueue::new(vec![(1, NodeEvent::Resumed)], 1);
        for _ in 0..MAX_QUEUED + 10 {
            q.push(paused());
        }
        assert_eq!(q.len(), MAX_QUEUED);
        let first = q.peek().expect("queued");
        assert_eq!(
            (first.id, first.durable),
            (1, true),
            "the durable event stays"
        );
        assert!(q.handled(1));
        // 1 durable + (MAX_QUEUED - 1) transient remain: ids 2..=12 were dropped.
        assert_eq!(q.peek().map(|e| e.id), Some(13));
    }

    #[test]
    fn a_durable_event_reserved_earlier_is_ordered_by_its_id() {
        let q = EventQueue::new(Vec::new(), 0);
        let id = q.reserve_id();
        q.push(paused());
        q.push_durable(id, NodeEvent::Resumed);
        assert_eq!(
            q.peek().map(|e| (e.id, e.event)),
            Some((1, NodeEvent::Resumed))
        );
    }

    #[test]
    fn a_cancelled_wait_loses_nothing_and_a_wait_wakes_on_push() {
        let q = std::sync::Arc::new(EventQueue::new(Vec::new(), 0));
        futures::executor::block_on(async {
            // Polled once (registers, finds nothing), then dropped: a cancelled wait.
            let mut wait = Box::pin(q.wait());
            assert!(futures::poll!(wait.as_mut()).is_pending());
            drop(wait);
            let mut wait = Box::pin(q.wait());
            assert!(futures::poll!(wait.as_mut()).is_pending());
            q.push(paused());
            assert_eq!(wait.await.event, NodeEvent::Paused);
            assert_eq!(q.len(), 1, "still queued until acknowledged");
        });
    }
}
