//! Tests of the broadcast simulator and, through it, of Kadcast at scale.

use super::*;

fn config(nodes: usize, churn: f64, seed: u64) -> SimConfig {
    SimConfig {
        seed,
        nodes,
        churn,
        broadcasts: 5,
        ..SimConfig::default()
    }
}

#[test]
fn sampled_tables_put_every_peer_in_its_true_bucket_and_fill_small_buckets() {
    let c = config(300, 0.0, 3);
    let overlay = Overlay::new(&c);
    for (me, table) in overlay.ids.iter().zip(&overlay.tables) {
        for i in 0..BUCKETS {
            let members = overlay
                .ids
                .iter()
                .filter(|x| me.bucket_of(x) == Some(i))
                .count();
            let known = table.bucket(i);
            assert_eq!(known.len(), members.min(c.bucket_size), "bucket {i}");
            assert!(known.iter().all(|e| me.bucket_of(&e.id) == Some(i)));
        }
    }
}

#[test]
fn beta_one_without_churn_reaches_every_node_exactly_once() {
    for nodes in [10, 100, 1000] {
        let c = config(nodes, 0.0, 11);
        let overlay = Overlay::new(&c);
        for reliable in [false, true] {
            let p = Protocol::Kadcast {
                beta: 1,
                independent_trees: true,
                reliable,
            };
            let r = run(&overlay, &c, p);
            for b in &r.broadcasts {
                assert_eq!(b.covered, b.online, "{nodes} nodes");
                assert_eq!(b.max_copies, 1, "{nodes} nodes");
                assert_eq!(b.messages, b.online as u64, "{nodes} nodes");
            }
        }
    }
}

#[test]
fn acknowledged_kadcast_covers_every_online_node_at_twenty_percent_churn() {
    let c = config(1000, 0.2, 5);
    let overlay = Overlay::new(&c);
    for beta in [1, 2, 3] {
        let r = run(&overlay, &c, Protocol::kadcast(beta));
        assert_eq!(r.min_coverage(), 1.0, "β = {beta}");
        assert!(r.mean_copies() <= beta as f64 + 1.0, "β = {beta}: {r:?}");
    }
}

#[test]
fn independent_trees_give_every_node_exactly_beta_copies_without_churn() {
    let c = config(500, 0.0, 8);
    let overlay = Overlay::new(&c);
    for beta in [2, 3] {
        let r = run(&overlay, &c, Protocol::kadcast(beta));
        for b in &r.broadcasts {
            assert_eq!(b.covered, b.online, "β = {beta}");
            assert_eq!(b.max_copies as usize, beta, "β = {beta}");
            assert_eq!(b.mean_copies, beta as f64, "β = {beta}");
        }
    }
}

#[test]
fn classic_kadcast_compounds_copies_beyond_beta() {
    // Why independent trees are the default: β delegates per bucket at every hop
    // multiply with depth.
    let c = config(500, 0.0, 8);
    let overlay = Overlay::new(&c);
    let p = Protocol::Kadcast {
        beta: 3,
        independent_trees: false,
        reliable: true,
    };
    let r = run(&overlay, &c, p);
    assert_eq!(r.min_coverage(), 1.0);
    assert!(r.mean_copies() > 3.0, "{r:?}");
}

#[test]
fn fire_and_forget_kadcast_loses_subtrees_under_churn() {
    // The reason for acknowledgements: without them an offline delegate silently
    // takes its subtree with it.
    let c = config(1000, 0.2, 5);
    let overlay = Overlay::new(&c);
    let r = run(
        &overlay,
        &c,
        Protocol::Kadcast {
            beta: 1,
            independent_trees: true,
            reliable: false,
        },
    );
    assert!(r.min_coverage() < 1.0, "{r:?}");
}

#[test]
fn flood_covers_everything_with_many_copies_and_gossip_with_fewer() {
    let c = config(300, 0.2, 9);
    let overlay = Overlay::new(&c);
    let flood = run(&overlay, &c, Protocol::Flood);
    let gossip = run(&overlay, &c, Protocol::Gossip { fanout: 6 });
    assert_eq!(flood.min_coverage(), 1.0);
    assert!(flood.mean_copies() > gossip.mean_copies());
    assert!(gossip.mean_copies() > 2.0);
}

#[test]
fn liveness_hints_spare_the_sends_to_offline_delegates() {
    let c = config(500, 0.2, 4);
    let overlay = Overlay::new(&c);
    let blind = run(&overlay, &c, Protocol::kadcast(1));
    let hinted = SimConfig {
        liveness_hints: 1.0,
        ..c.clone()
    };
    let hinted = run(&overlay, &hinted, Protocol::kadcast(1));
    assert_eq!(blind.min_coverage(), 1.0);
    assert_eq!(hinted.min_coverage(), 1.0);
    // Copies sent beyond the online nodes went to offline delegates.
    let wasted = |r: &Report| {
        r.broadcasts
            .iter()
            .map(|s| s.messages - s.online as u64)
            .sum::<u64>()
    };
    assert!(wasted(&hinted) < wasted(&blind), "{blind:?}\n{hinted:?}");
    // No online node waits for a timeout any more: only a bucket whose peers are all
    // offline still gets one copy (a stale flag must not cost a subtree).
    let ticks = |r: &Report| r.mean_ticks_to_full().unwrap_or(f64::MAX);
    assert!(ticks(&hinted) < ticks(&blind), "{blind:?}\n{hinted:?}");
}

#[test]
fn independent_trees_route_around_silent_droppers() {
    // 5 % of the nodes acknowledge and forward nothing: timeouts cannot see them, only
    // redundancy helps. One tree loses their subtrees; three trees almost never do.
    let c = SimConfig {
        droppers: 0.05,
        ..config(1000, 0.0, 6)
    };
    let overlay = Overlay::new(&c);
    let one = run(&overlay, &c, Protocol::kadcast(1));
    let three = run(&overlay, &c, Protocol::kadcast(3));
    assert!(one.mean_coverage() < 1.0, "{one:?}");
    assert!(three.mean_coverage() > one.mean_coverage(), "{three:?}");
    assert!(three.mean_copies() <= 3.0);
}

#[test]
fn one_seed_gives_one_run() {
    let c = config(200, 0.2, 21);
    let overlay = Overlay::new(&c);
    let p = Protocol::kadcast(2);
    assert_eq!(run(&overlay, &c, p), run(&Overlay::new(&c), &c, p));
}
