//! A short `zeropole devnet` through its library function: 2 stations, 2 phone witnesses
//! and 6 phones on loopback for 3 s. Transfers must be certified and received, the supply
//! must hold and every phone's state must equal its certified head on the network.
//! Bounded in time; the kept data directory is removed at the end.

use std::time::Duration;

use zeropole::devnet::{run_devnet, DevnetArgs, ProgressSink};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_devnet_certifies_receives_and_conserves_the_supply() {
    let args = DevnetArgs {
        phones: 6,
        duration: 3,
        seed: 42,
        keep: true,
        ..DevnetArgs::default()
    };
    let report = tokio::time::timeout(
        Duration::from_secs(120),
        run_devnet(&args, ProgressSink::Quiet),
    )
    .await
    .expect("the devnet finished in time")
    .expect("the devnet ran");
    let dir = report
        .data_dir
        .clone()
        .expect("--keep keeps the data directory");
    let kept_genesis = dir.join("genesis.toml").is_file();
    let kept_stores = std::fs::read_dir(&dir)
        .expect("data directory")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".sqlite"))
        })
        .count();
    std::fs::remove_dir_all(&dir).expect("remove the kept directory");

    assert_eq!((report.witnesses, report.committee), (4, 4));
    assert!(report.certified > 0, "{report:?}");
    assert!(report.received > 0, "{report:?}");
    assert_eq!(report.refused, 0, "{report:?}");
    assert!(report.supply_ok, "{report:?}");
    assert_eq!(
        report.supply_balances + report.supply_in_flight,
        report.supply_genesis
    );
    assert_eq!(
        report.supply_genesis,
        6 * zeropole_core::devnet::WALLET_FUNDS
    );
    assert_eq!(report.head_mismatches, 0, "{report:?}");
    assert!(report.passed());
    assert!(report.latency.p50_ms > 0.0 && report.latency.p50_ms <= report.latency.p99_ms);
    assert!(kept_genesis, "genesis.toml in the kept directory");
    assert_eq!(kept_stores, 4, "one witness store per witness");
}
