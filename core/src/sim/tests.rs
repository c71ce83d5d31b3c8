use super::*;

#[test]
fn a_fault_free_run_certifies_every_transfer() {
    let config = SimConfig {
        seed: 1,
        byzantine: 0,
        equivocators: 0,
        boundary_equivocators: 0,
        loss: 0.0,
        crash_probability: 0.0,
        partition_probability: 0.0,
        ..SimConfig::small()
    };
    let report = run(&config).expect("no faults, no failure");
    // Each wallet's 2 sends and every receive of them are certified, across the epoch
    // change.
    assert_eq!(report.certificates, 10 * 2 * 2);
    assert_eq!(report.epoch_changes, 1);
    assert_eq!(report.frozen, 0);
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let config = SimConfig {
        seed: 42,
        ..SimConfig::small()
    };
    assert_eq!(run(&config), run(&config));
}

#[test]
fn invariants_hold_under_every_fault_for_many_seeds() {
    for seed in 0..20 {
        let report = run(&SimConfig {
            seed,
            ..SimConfig::small()
        })
        .unwrap_or_else(|f| panic!("{f}"));
        assert!(report.certificates > 0);
    }
}

/// The checker is not vacuous: with more than `f` byzantine witnesses in a committee an
/// equivocating owner gets two blocks certified at one height, and the run reports it.
#[test]
fn more_than_f_byzantine_witnesses_break_safety_and_the_run_says_so() {
    let broken = (0..20).find_map(|seed| {
        let config = SimConfig {
            seed,
            witnesses: 7,
            byzantine: 4,
            unlimited_byzantine: true,
            owners: 4,
            equivocators: 2,
            loss: 0.0,
            crash_probability: 0.0,
            partition_probability: 0.0,
            ..SimConfig::small()
        };
        match run(&config) {
            Err(SimFailure::Safety { violation, .. }) => Some(violation),
            _ => None,
        }
    });
    let violation = broken.expect("some seed must expose the double certification");
    assert!(violation.contains("two different blocks"), "{violation}");
}

#[test]
fn equivocating_owners_are_frozen_and_honest_ones_finish() {
    let config = SimConfig {
        seed: 5,
        equivocators: 3,
        loss: 0.0,
        crash_probability: 0.0,
        partition_probability: 0.0,
        ..SimConfig::small()
    };
    let report = run(&config).unwrap_or_else(|f| panic!("{f}"));
    assert!(report.frozen >= 1, "{report:?}");
}

#[test]
fn hundreds_of_nodes_with_every_fault() {
    let config = SimConfig {
        seed: 3,
        witnesses: 200,
        byzantine: 30,
        owners: 100,
        equivocators: 5,
        transfers_per_owner: 1,
        ..SimConfig::small()
    };
    let report = run(&config).unwrap_or_else(|f| panic!("{f}"));
    assert!(
        report.byzantine > 0 && report.crashes > 0 && report.dropped > 0,
        "{report:?}"
    );
}

#[test]
fn an_epoch_change_mid_run_hands_the_used_accounts_over() {
    let report = run(&SimConfig {
        seed: 11,
        ..SimConfig::small()
    })
    .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(report.epoch_changes, 1, "{report:?}");
    assert!(report.handovers > 0, "{report:?}");
}

#[test]
fn several_epoch_changes_with_churn_keep_every_invariant() {
    for seed in 0..6 {
        let report = run(&SimConfig {
            seed,
            epochs: 3,
            churn: 4,
            ..SimConfig::small()
        })
        .unwrap_or_else(|f| panic!("{f}"));
        assert_eq!(report.epoch_changes, 3, "{report:?}");
    }
}

#[test]
fn without_epoch_changes_no_handover_happens() {
    let report = run(&SimConfig {
        seed: 11,
        epochs: 0,
        boundary_equivocators: 0,
        ..SimConfig::small()
    })
    .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!((report.epoch_changes, report.handovers), (0, 0));
}

#[test]
fn batched_witnesses_certify_every_transfer_with_fewer_signatures_than_attestations() {
    let config = SimConfig {
        seed: 3,
        byzantine: 0,
        equivocators: 0,
        boundary_equivocators: 0,
        loss: 0.0,
        crash_probability: 0.0,
        partition_probability: 0.0,
        ..SimConfig::small()
    };
    assert!(config.batch_attest, "batching is the default");
    let batched = run(&config).expect("no faults, no failure");
    assert_eq!(batched.certificates, 10 * 2 * 2);
    assert!(batched.batches > 0);
    assert!(
        batched.batches < batched.attestations,
        "some batch covers several requests: {} root signatures for {} attestations",
        batched.batches,
        batched.attestations
    );
    let single = run(&SimConfig {
        batch_attest: false,
        ..config
    })
    .expect("no faults, no failure");
    assert_eq!(single.certificates, 10 * 2 * 2);
    assert_eq!(single.batches, 0);
}
