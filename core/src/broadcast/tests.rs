//! Unit tests of the [`Broadcaster`]'s delegation, suppression and retry rules.

use super::*;

const ME: OverlayId = OverlayId([0; 32]);

/// A peer in bucket `bit` of [`ME`]'s table (highest set bit `bit`), told apart by `tag`
/// in lower bits.
fn peer(bit: usize, tag: u8) -> OverlayId {
    let mut b = [0u8; 32];
    b[31 - bit / 8] |= 1 << (bit % 8);
    if bit >= 16 {
        b[31] = tag;
    } else {
        assert!(
            u32::from(tag) < (1 << bit),
            "tag must stay below the bucket bit"
        );
        b[31] |= tag;
    }
    OverlayId(b)
}

fn node(peers: &[OverlayId], config: Config) -> Broadcaster {
    let mut table = RoutingTable::new(ME, 20);
    for p in peers {
        assert_eq!(table.insert(*p), Insert::Added);
    }
    Broadcaster::new(table, config, 7)
}

fn beta(beta: usize) -> Config {
    Config {
        beta,
        ..Config::default()
    }
}

fn classic(beta: usize) -> Config {
    Config {
        beta,
        independent_trees: false,
        ..Config::default()
    }
}

fn payload() -> Payload {
    Payload::Opaque(b"certificate".to_vec())
}

/// `(recipient, height)` of every copy in `out`, sorted.
fn copies(out: &[Outgoing]) -> Vec<(OverlayId, u16)> {
    let mut v: Vec<_> = trees(out).into_iter().map(|(to, _, h)| (to, h)).collect();
    v.sort();
    v
}

/// `(recipient, tree, height)` of every copy in `out`, sorted.
fn trees(out: &[Outgoing]) -> Vec<(OverlayId, u8, u16)> {
    let mut v: Vec<_> = out
        .iter()
        .filter_map(|o| match &o.message {
            Message::Broadcast { tree, height, .. } => Some((o.to, *tree, *height)),
            Message::Ack { .. } => None,
        })
        .collect();
    v.sort();
    v
}

fn acks(out: &[Outgoing]) -> Vec<OverlayId> {
    out.iter()
        .filter(|o| matches!(o.message, Message::Ack { .. }))
        .map(|o| o.to)
        .collect()
}

#[test]
fn originator_starts_beta_trees_with_distinct_delegates_where_the_bucket_allows() {
    let peers = [peer(255, 1), peer(255, 2), peer(255, 3), peer(254, 1)];
    let mut n = node(&peers, beta(2));
    let sent = trees(&n.originate(payload(), 0).expect("fresh"));
    let top: Vec<_> = sent.iter().filter(|(_, _, h)| *h == 255).collect();
    assert_eq!(top.len(), 2);
    assert_ne!(top[0].0, top[1].0, "distinct delegates");
    let mut top_trees: Vec<u8> = top.iter().map(|(_, t, _)| *t).collect();
    top_trees.sort();
    assert_eq!(top_trees, vec![0, 1]);
    // A one-peer bucket carries both trees through its only peer.
    let small: Vec<_> = sent.iter().filter(|(_, _, h)| *h == 254).collect();
    assert_eq!(
        small,
        vec![&(peer(254, 1), 0, 254), &(peer(254, 1), 1, 254)]
    );
}

#[test]
fn a_relay_forwards_each_tree_once_with_one_delegate_per_bucket() {
    let peers = [peer(255, 1), peer(9, 1), peer(9, 2), peer(3, 1)];
    let mut n = node(&peers, beta(2));
    let copy = |tree| Message::Broadcast {
        tree,
        height: 10,
        payload: payload(),
    };
    let (first, out) = n.handle(peer(255, 1), copy(1), 0);
    assert!(first.is_some());
    let sent = trees(&out);
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|(_, t, _)| *t == 1));
    // The other tree's copy is forwarded too, but not delivered again.
    let (second, out) = n.handle(peer(255, 1), copy(0), 1);
    assert!(second.is_none());
    assert_eq!(trees(&out).len(), 2);
    assert_eq!(acks(&out), vec![peer(255, 1)]);
    // A second copy on a tree already seen is dropped.
    let (third, out) = n.handle(peer(9, 1), copy(1), 2);
    assert!(third.is_none() && trees(&out).is_empty());
}

#[test]
fn classic_originator_hands_beta_delegates_of_every_bucket_tagged_with_the_bucket() {
    let peers = [
        peer(255, 1),
        peer(255, 2),
        peer(255, 3),
        peer(254, 1),
        peer(3, 1),
        peer(3, 2),
    ];
    let mut n = node(&peers, classic(2));
    let out = n.originate(payload(), 0).expect("fresh");
    let sent = copies(&out);
    assert_eq!(sent.len(), 5);
    assert_eq!(sent.iter().filter(|(_, h)| *h == 255).count(), 2);
    assert_eq!(sent.iter().filter(|(_, h)| *h == 254).count(), 1);
    assert_eq!(sent.iter().filter(|(_, h)| *h == 3).count(), 2);
    // Each delegate sits in the bucket its height names, and none is chosen twice.
    for (to, h) in &sent {
        assert_eq!(ME.bucket_of(to), Some(usize::from(*h)));
    }
    let mut distinct: Vec<_> = sent.iter().map(|(to, _)| *to).collect();
    distinct.dedup();
    assert_eq!(distinct.len(), 5);
    assert_eq!(n.pending_delegates(), 5);
}

#[test]
fn receiver_rebroadcasts_only_to_the_buckets_below_its_height() {
    let peers = [peer(255, 1), peer(10, 1), peer(2, 1)];
    let from = peer(255, 1);
    let mut n = node(&peers, beta(1));
    let message = |height| Message::Broadcast {
        tree: 0,
        height,
        payload: payload(),
    };
    let (delivered, out) = n.handle(from, message(10), 0);
    assert_eq!(delivered.map(|d| d.from), Some(from));
    assert_eq!(copies(&out), vec![(peer(2, 1), 2)]);
    assert_eq!(acks(&out), vec![from]);

    // At height 0 a node is a leaf: it acknowledges and forwards nothing.
    let mut leaf = node(&peers, beta(1));
    let (delivered, out) = leaf.handle(from, message(0), 0);
    assert!(delivered.is_some());
    assert!(copies(&out).is_empty());
    assert_eq!(acks(&out), vec![from]);
}

#[test]
fn a_duplicate_is_acknowledged_but_neither_delivered_nor_forwarded() {
    let peers = [peer(255, 1), peer(200, 1), peer(5, 1)];
    let mut n = node(&peers, beta(1));
    let message = Message::Broadcast {
        tree: 0,
        height: 256,
        payload: payload(),
    };
    let (first, out) = n.handle(peer(255, 1), message.clone(), 0);
    assert!(first.is_some());
    assert_eq!(copies(&out).len(), 3);
    let (second, out) = n.handle(peer(200, 1), message, 5);
    assert!(second.is_none());
    assert!(copies(&out).is_empty());
    assert_eq!(acks(&out), vec![peer(200, 1)]);
    // Its own broadcast coming back is a duplicate too.
    let mut origin = node(&peers, beta(1));
    origin.originate(payload(), 0).expect("fresh");
    let (again, _) = origin.handle(
        peer(5, 1),
        Message::Broadcast {
            tree: 0,
            height: 3,
            payload: payload(),
        },
        9,
    );
    assert!(again.is_none());
    assert_eq!(
        origin.originate(payload(), 10),
        Err(BroadcastError::AlreadySeen(payload().id()))
    );
    // A broadcast received on any one tree cannot be originated again either.
    let mut relay = node(&peers, beta(3));
    let copy = Message::Broadcast {
        tree: 2,
        height: 1,
        payload: payload(),
    };
    assert!(relay.handle(peer(5, 1), copy, 0).0.is_some());
    assert_eq!(
        relay.originate(payload(), 1),
        Err(BroadcastError::AlreadySeen(payload().id()))
    );
}

#[test]
fn an_acknowledgement_stops_the_retry_timer() {
    let mut n = node(&[peer(255, 1)], beta(1));
    n.originate(payload(), 0).expect("fresh");
    assert_eq!(n.poll_timeout(), Some(Config::default().ack_timeout));
    // An acknowledgement from someone else, or for another broadcast, changes nothing.
    n.handle(
        peer(255, 2),
        Message::Ack {
            tree: 0,
            id: payload().id(),
        },
        5,
    );
    n.handle(
        peer(255, 1),
        Message::Ack {
            tree: 0,
            id: Payload::Opaque(vec![]).id(),
        },
        5,
    );
    assert_eq!(n.pending_delegates(), 1);
    n.handle(
        peer(255, 1),
        Message::Ack {
            tree: 0,
            id: payload().id(),
        },
        6,
    );
    assert_eq!(n.poll_timeout(), None);
    assert!(n.tick(10_000).is_empty());
}

#[test]
fn a_silent_delegate_is_replaced_by_another_peer_of_its_bucket_and_avoided_later() {
    let (a, b) = (peer(255, 1), peer(255, 2));
    let mut n = node(&[a, b], beta(1));
    let out = n.originate(payload(), 0).expect("fresh");
    let first = copies(&out)[0].0;
    let other = if first == a { b } else { a };
    let timeout = n.config().ack_timeout;
    assert!(n.tick(timeout - 1).is_empty());
    let retry = n.tick(timeout);
    // Same height: the replacement is responsible for the same subtree.
    assert_eq!(copies(&retry), vec![(other, 255)]);
    assert_eq!(n.table().entry(&first).map(|e| e.responsive), Some(false));
    n.handle(
        other,
        Message::Ack {
            tree: 0,
            id: payload().id(),
        },
        timeout + 1,
    );
    assert_eq!(n.poll_timeout(), None);

    // The next broadcasts prefer the peer that answered, whatever the draw.
    for i in 0..10u8 {
        let out = n.originate(Payload::Opaque(vec![i]), 1000).expect("fresh");
        assert_eq!(copies(&out), vec![(other, 255)]);
    }
    // Hearing from the flagged peer clears its flag.
    n.handle(
        first,
        Message::Ack {
            tree: 0,
            id: payload().id(),
        },
        2000,
    );
    assert_eq!(n.table().entry(&first).map(|e| e.responsive), Some(true));
}

#[test]
fn retries_stop_when_the_bucket_is_exhausted() {
    let mut n = node(&[peer(255, 1), peer(255, 2)], beta(1));
    n.originate(payload(), 0).expect("fresh");
    let t = n.config().ack_timeout;
    assert_eq!(copies(&n.tick(t)).len(), 1);
    assert!(n.tick(2 * t).is_empty());
    assert_eq!(n.poll_timeout(), None);
    assert_eq!(n.pending_delegates(), 0);
}

#[test]
fn fire_and_forget_neither_acknowledges_nor_arms_timers() {
    let config = Config {
        reliable: false,
        ..Config::default()
    };
    let mut n = node(&[peer(255, 1), peer(4, 1)], config);
    let (_, out) = n.handle(
        peer(255, 1),
        Message::Broadcast {
            tree: 0,
            height: 256,
            payload: payload(),
        },
        0,
    );
    assert!(acks(&out).is_empty());
    assert_eq!(copies(&out).len(), 2);
    assert_eq!(n.poll_timeout(), None);
}

#[test]
fn bad_bytes_and_oversized_payloads_are_typed_errors() {
    let mut n = node(&[peer(255, 1)], beta(1));
    assert!(matches!(
        n.handle_bytes(peer(255, 1), &[1, 7], 0),
        Err(BroadcastError::Decode(_))
    ));
    let bytes = Message::Broadcast {
        tree: 0,
        height: 1,
        payload: payload(),
    }
    .encode();
    let (delivered, _) = n.handle_bytes(peer(255, 1), &bytes, 0).expect("valid");
    assert_eq!(delivered.map(|d| d.payload), Some(payload()));
    assert!(matches!(
        n.originate(Payload::Opaque(vec![0; wire::MAX_OPAQUE_LEN + 1]), 0),
        Err(BroadcastError::PayloadTooLarge { .. })
    ));
}

#[test]
fn an_evicted_id_is_delivered_again() {
    let config = Config {
        seen_capacity: 1,
        ..Config::default()
    };
    let mut n = node(&[peer(255, 1)], config);
    let copy = |p: Payload| Message::Broadcast {
        tree: 0,
        height: 0,
        payload: p,
    };
    assert!(n.handle(peer(255, 1), copy(payload()), 0).0.is_some());
    assert!(n.handle(peer(255, 1), copy(payload()), 1).0.is_none());
    assert!(n
        .handle(peer(255, 1), copy(Payload::Opaque(vec![])), 2)
        .0
        .is_some());
    // The documented cost of bounded memory: a replay after eviction gets through.
    assert!(n.handle(peer(255, 1), copy(payload()), 3).0.is_some());
}

#[test]
fn retry_state_is_bounded_by_max_pending() {
    let config = Config {
        max_pending: 1,
        ..Config::default()
    };
    let mut n = node(&[peer(255, 1), peer(200, 1), peer(100, 1)], config);
    let out = n.originate(payload(), 0).expect("fresh");
    // Every bucket still gets its copy; only the first delegate has a retry timer.
    assert_eq!(copies(&out).len(), 3);
    assert_eq!(n.pending_delegates(), 1);
}

#[test]
fn max_retries_caps_the_replacements_of_one_bucket() {
    let config = Config {
        max_retries: 1,
        ..Config::default()
    };
    let peers: Vec<_> = (1..=5).map(|t| peer(255, t)).collect();
    let mut n = node(&peers, config);
    n.originate(payload(), 0).expect("fresh");
    let t = n.config().ack_timeout;
    assert_eq!(copies(&n.tick(t)).len(), 1);
    assert!(n.tick(2 * t).is_empty());
    assert_eq!(n.poll_timeout(), None);
}
