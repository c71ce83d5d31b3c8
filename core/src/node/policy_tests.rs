//! The mobile-life policy rule by rule (DESIGN.md §7 table, tie-breaks, hysteresis,
//! witness opt-in), the safety properties over all inputs, and the idle wake-up and byte
//! budgets of DESIGN.md §11 computed from the settings.

use proptest::prelude::*;

use super::*;

const FULL_BATTERY: Power = Power {
    battery_percent: 80,
    charging: false,
    power_saver: false,
};

fn signals(app: AppState, power: Power, network: Network) -> Signals {
    Signals {
        app,
        power,
        network,
        epoch: 7,
    }
}

fn charging(battery_percent: u8) -> Power {
    Power {
        battery_percent,
        charging: true,
        power_saver: false,
    }
}

fn battery(battery_percent: u8) -> Power {
    Power {
        battery_percent,
        ..FULL_BATTERY
    }
}

fn opt_in(epoch: u64) -> WitnessOptIn {
    WitnessOptIn {
        epoch,
        epoch_ms: 4 * 3_600_000,
        handover_ms: 30 * 60_000,
        os_window_ms: 6 * 3_600_000,
    }
}

fn opted_in() -> Preferences {
    Preferences {
        full_in_background: false,
        witness: Some(opt_in(7)),
    }
}

fn profile(s: Signals, p: Preferences) -> Profile {
    decide(&s, &p).profile
}

// ---- The §7 table, row by row ----

#[test]
fn full_when_charging_on_unmetered_wifi_in_the_foreground() {
    let d = decide(
        &signals(AppState::Foreground, charging(60), Network::WIFI),
        &opted_in(),
    );
    assert_eq!((d.profile, d.reason), (Profile::Full, Reason::Charging));
    let s = d.settings;
    assert!(s.listen && s.dcutr && s.relay_reservations && s.broadcast_overlay);
    assert!(s.autonat_probe.is_some() && s.kad_bootstrap.is_some());
    assert_eq!(s.kad_mode, KadMode::ServerIfDirectlyReachable);
    assert!(s.witness_duty);
    assert_eq!(d.witness, WitnessStatus::On);
    assert_eq!(s.sync, SyncMode::Live);
}

#[test]
fn full_in_the_background_only_when_the_app_allows_it() {
    let s = signals(AppState::Background, charging(60), Network::WIFI);
    assert_eq!(profile(s, Preferences::default()), Profile::Saver);
    let allowed = Preferences {
        full_in_background: true,
        ..Preferences::default()
    };
    assert_eq!(profile(s, allowed), Profile::Full);
}

#[test]
fn active_in_the_foreground_holds_one_home_connection_without_bootstrap() {
    let d = decide(
        &signals(AppState::Foreground, FULL_BATTERY, Network::CELLULAR),
        &opted_in(),
    );
    assert_eq!((d.profile, d.reason), (Profile::Active, Reason::Foreground));
    let s = d.settings;
    assert_eq!(s.home_connections, 1);
    assert_eq!(s.kad_mode, KadMode::Client);
    assert_eq!(s.kad_bootstrap, None);
    assert!(!s.listen && s.autonat_probe.is_none() && !s.dcutr && !s.relay_reservations);
    let ping = s.ping.expect("keep-alive");
    assert!((25..=30).contains(&ping.as_secs()));
    assert!(!s.witness_duty);
    assert_eq!(d.witness, WitnessStatus::NotFull);
}

#[test]
fn active_on_wifi_runs_identify_hourly_and_may_hole_punch() {
    let s = decide(
        &signals(AppState::Foreground, FULL_BATTERY, Network::WIFI),
        &Preferences::default(),
    )
    .settings;
    assert_eq!(s.profile, Profile::Active);
    assert_eq!(s.identify, Some(Duration::from_secs(3600)));
    assert!(s.dcutr && !s.listen);
    let ping = s.ping.expect("keep-alive");
    assert!((25..=30).contains(&ping.as_secs()));
}

#[test]
fn saver_in_the_background_or_on_low_battery_or_power_saver() {
    let p = Preferences::default();
    let cases = [
        (
            signals(AppState::Background, FULL_BATTERY, Network::WIFI),
            Reason::Background,
        ),
        (
            signals(AppState::Foreground, battery(19), Network::CELLULAR),
            Reason::LowBattery,
        ),
        (
            signals(
                AppState::Foreground,
                Power {
                    power_saver: true,
                    ..FULL_BATTERY
                },
                Network::WIFI,
            ),
            Reason::PowerSaver,
        ),
    ];
    for (s, reason) in cases {
        let d = decide(&s, &p);
        assert_eq!((d.profile, d.reason), (Profile::Saver, reason), "{s:?}");
        assert_eq!(d.settings.home_connections, 0);
        assert!(!d.settings.relay_reservations);
        assert!(d.settings.periodic_timers().is_empty());
        assert_eq!(d.settings.sync, SyncMode::OnDemand);
        assert!(d.settings.store_open);
    }
}

#[test]
fn suspended_when_the_os_suspends_the_app_whatever_else_holds() {
    for network in [Network::WIFI, Network::CELLULAR, Network::NONE] {
        let d = decide(
            &signals(AppState::Suspended, charging(90), network),
            &Preferences {
                full_in_background: true,
                witness: Some(opt_in(7)),
            },
        );
        assert_eq!(
            (d.profile, d.reason),
            (Profile::Suspended, Reason::Suspended)
        );
        assert!(!d.settings.store_open);
        assert_eq!(d.settings.sync, SyncMode::Paused);
        assert!(d.settings.periodic_timers().is_empty());
        assert!(d.settings.net_timers().is_none());
    }
}

#[test]
fn no_network_means_no_connection_at_all() {
    for app in [AppState::Foreground, AppState::Background] {
        let d = decide(&signals(app, charging(90), Network::NONE), &opted_in());
        assert_eq!((d.profile, d.reason), (Profile::Saver, Reason::NoNetwork));
        assert_eq!(d.settings.home_connections, 0);
        assert!(!d.settings.listen && !d.settings.witness_duty);
        assert_eq!(d.settings.idle_wakeups_per_hour(), 0);
    }
}

// ---- Tie-breaks ----

#[test]
fn foreground_with_low_battery_and_no_charger_is_saver() {
    let s = signals(AppState::Foreground, battery(15), Network::WIFI);
    assert_eq!(profile(s, Preferences::default()), Profile::Saver);
}

#[test]
fn charging_lifts_the_low_battery_rule_but_not_into_full() {
    // Foreground, 15 %, charging, Wi-Fi: Active, not Full (an unplug would drop a fresh
    // witness commitment at once) and not Saver (power flows in).
    let d = decide(
        &signals(AppState::Foreground, charging(15), Network::WIFI),
        &opted_in(),
    );
    assert_eq!((d.profile, d.reason), (Profile::Active, Reason::Foreground));
    // At 20 % the threshold is passed.
    let s = signals(AppState::Foreground, charging(20), Network::WIFI);
    assert_eq!(profile(s, opted_in()), Profile::Full);
}

#[test]
fn power_saver_beats_foreground_and_charging() {
    let power = Power {
        battery_percent: 90,
        charging: true,
        power_saver: true,
    };
    let d = decide(
        &signals(AppState::Foreground, power, Network::WIFI),
        &opted_in(),
    );
    assert_eq!((d.profile, d.reason), (Profile::Saver, Reason::PowerSaver));
}

#[test]
fn charging_on_cellular_or_metered_wifi_is_not_full() {
    let metered_wifi = Network {
        kind: NetworkKind::Wifi,
        metered: true,
    };
    for network in [Network::CELLULAR, metered_wifi] {
        let d = decide(
            &signals(AppState::Foreground, charging(90), network),
            &opted_in(),
        );
        assert_eq!(d.profile, Profile::Active, "{network:?}");
        assert!(!d.settings.listen && !d.settings.witness_duty);
    }
    let d = decide(
        &signals(AppState::Background, charging(90), Network::CELLULAR),
        &Preferences {
            full_in_background: true,
            ..opted_in()
        },
    );
    assert_eq!((d.profile, d.reason), (Profile::Saver, Reason::Background));
}

#[test]
fn battery_above_100_is_just_full() {
    let s = signals(AppState::Foreground, battery(255), Network::CELLULAR);
    assert_eq!(profile(s, Preferences::default()), Profile::Active);
}

// ---- Witness opt-in ----

#[test]
fn witness_duty_needs_an_opt_in_for_this_epoch_that_fits_the_os_window() {
    let s = signals(AppState::Foreground, charging(80), Network::WIFI);
    let with = |witness| Preferences {
        full_in_background: false,
        witness,
    };
    let status = |p: Preferences| {
        let d = decide(&s, &p);
        assert_eq!(d.profile, Profile::Full);
        assert_eq!(d.settings.witness_duty, d.witness == WitnessStatus::On);
        d.witness
    };
    assert_eq!(status(with(None)), WitnessStatus::NotOptedIn);
    assert_eq!(status(with(Some(opt_in(6)))), WitnessStatus::OtherEpoch);
    assert_eq!(status(with(Some(opt_in(7)))), WitnessStatus::On);
    let too_long = WitnessOptIn {
        epoch_ms: 6 * 3_600_000,
        ..opt_in(7)
    };
    assert_eq!(status(with(Some(too_long))), WitnessStatus::DoesNotFit);
}

#[test]
fn an_opt_in_fits_exactly_at_the_window_and_overflow_never_fits() {
    let exact = WitnessOptIn {
        epoch: 0,
        epoch_ms: 5 * 3_600_000,
        handover_ms: 3_600_000,
        os_window_ms: 6 * 3_600_000,
    };
    assert!(exact.fits());
    assert!(!WitnessOptIn {
        os_window_ms: exact.os_window_ms - 1,
        ..exact
    }
    .fits());
    assert!(!WitnessOptIn {
        epoch_ms: u64::MAX,
        handover_ms: 1,
        os_window_ms: u64::MAX,
        ..exact
    }
    .fits());
}

#[test]
fn leaving_full_mid_epoch_reports_the_witness_lapse() {
    let plugged = signals(AppState::Foreground, charging(80), Network::WIFI);
    let mut policy = PolicyState::new(PolicyConfig::default(), opted_in(), plugged, 0);
    assert_eq!(policy.current().witness, WitnessStatus::On);
    let unplugged = Signals {
        power: FULL_BATTERY,
        ..plugged
    };
    let change = policy
        .update(unplugged, 5)
        .expect("leaving Full is immediate");
    assert_eq!((change.from, change.to), (Profile::Full, Profile::Active));
    assert!(change.witness_lapsed);
    assert!(!change.settings.witness_duty);
}

// ---- Hysteresis and debounce ----

fn policy_at(s: Signals) -> PolicyState {
    PolicyState::new(PolicyConfig::default(), Preferences::default(), s, 0)
}

#[test]
fn battery_enters_saver_below_20_and_leaves_at_25() {
    let at = |pct| signals(AppState::Foreground, battery(pct), Network::CELLULAR);
    let mut policy = policy_at(at(30));
    assert_eq!(policy.current().profile, Profile::Active);
    assert!(policy.update(at(20), 1).is_none());
    let change = policy.update(at(19), 2).expect("enters Saver");
    assert_eq!(
        (change.to, change.reason),
        (Profile::Saver, Reason::LowBattery)
    );
    // Flapping between 19 and 24 % changes nothing.
    for (i, pct) in [20, 19, 24, 21, 19, 24].into_iter().enumerate() {
        assert!(policy.update(at(pct), 3 + i as u64).is_none(), "{pct} %");
        assert_eq!(policy.current().profile, Profile::Saver);
    }
    let change = policy.update(at(25), 20).expect("leaves Saver");
    assert_eq!(change.to, Profile::Active);
    assert!(!policy.battery_low());
}

#[test]
fn a_policy_started_at_22_percent_is_not_low() {
    let policy = policy_at(signals(AppState::Foreground, battery(22), Network::WIFI));
    assert!(!policy.battery_low());
    assert_eq!(policy.current().profile, Profile::Active);
}

#[test]
fn entering_full_waits_for_stable_conditions_and_runs_active_meanwhile() {
    let cfg = PolicyConfig::default();
    let saver = signals(AppState::Background, charging(80), Network::WIFI);
    let mut policy = policy_at(saver);
    assert_eq!(policy.current().profile, Profile::Saver);
    // The user opens the app on the charger: Active at once, Full after full_entry_ms.
    let fg = Signals {
        app: AppState::Foreground,
        ..saver
    };
    let change = policy.update(fg, 1_000).expect("Active at once");
    assert_eq!(change.to, Profile::Active);
    assert_eq!(policy.poll_timeout(), Some(1_000 + cfg.full_entry_ms));
    assert!(policy
        .handle_timeout(1_000 + cfg.full_entry_ms - 1)
        .is_none());
    let change = policy
        .handle_timeout(1_000 + cfg.full_entry_ms)
        .expect("Full");
    assert_eq!((change.from, change.to), (Profile::Active, Profile::Full));
    assert_eq!(policy.poll_timeout(), None);
}

#[test]
fn a_flaky_charger_never_reaches_full_and_restarts_the_wait() {
    let cfg = PolicyConfig::default();
    let plugged = signals(AppState::Foreground, charging(80), Network::WIFI);
    let unplugged = Signals {
        power: FULL_BATTERY,
        ..plugged
    };
    let mut policy = policy_at(unplugged);
    let mut now = 0;
    for _ in 0..10 {
        now += cfg.full_entry_ms / 2;
        assert!(policy.update(plugged, now).is_none());
        assert_eq!(policy.current().profile, Profile::Active);
        now += 1;
        assert!(policy.update(unplugged, now).is_none());
        assert_eq!(policy.poll_timeout(), None);
    }
    assert!(policy.update(plugged, now).is_none());
    assert_eq!(policy.poll_timeout(), Some(now + cfg.full_entry_ms));
}

#[test]
fn backgrounding_waits_the_grace_and_returning_cancels_it() {
    let cfg = PolicyConfig::default();
    let fg = signals(AppState::Foreground, FULL_BATTERY, Network::CELLULAR);
    let bg = Signals {
        app: AppState::Background,
        ..fg
    };
    let mut policy = policy_at(fg);
    assert!(policy.update(bg, 100).is_none());
    assert_eq!(policy.current().profile, Profile::Active);
    assert!(
        policy.update(fg, 200).is_none(),
        "back before the grace ends"
    );
    assert_eq!(policy.poll_timeout(), None);
    assert!(policy.update(bg, 300).is_none());
    let change = policy
        .handle_timeout(300 + cfg.background_grace_ms)
        .expect("Saver after the grace");
    assert_eq!(
        (change.to, change.reason),
        (Profile::Saver, Reason::Background)
    );
}

#[test]
fn hard_constraints_apply_at_once() {
    let plugged = signals(AppState::Foreground, charging(80), Network::WIFI);
    let cases = [
        Signals {
            network: Network::CELLULAR,
            ..plugged
        },
        Signals {
            network: Network::NONE,
            ..plugged
        },
        Signals {
            app: AppState::Suspended,
            ..plugged
        },
        Signals {
            power: Power {
                power_saver: true,
                ..plugged.power
            },
            ..plugged
        },
    ];
    for s in cases {
        let mut policy = policy_at(plugged);
        assert_eq!(policy.current().profile, Profile::Full);
        let change = policy.update(s, 1).expect("immediate");
        assert_ne!(change.to, Profile::Full, "{s:?}");
        assert!(!change.settings.listen && change.settings.autonat_probe.is_none());
    }
}

#[test]
fn a_network_switch_within_active_changes_the_settings_not_the_profile() {
    let wifi = signals(AppState::Foreground, FULL_BATTERY, Network::WIFI);
    let mut policy = policy_at(wifi);
    let change = policy
        .update(
            Signals {
                network: Network::CELLULAR,
                ..wifi
            },
            1,
        )
        .expect("settings change");
    assert_eq!((change.from, change.to), (Profile::Active, Profile::Active));
    assert!(!change.settings.dcutr);
    assert_eq!(change.settings.identify, None);
}

#[test]
fn a_clock_going_backwards_never_panics_nor_applies_early() {
    let fg = signals(AppState::Foreground, FULL_BATTERY, Network::CELLULAR);
    let mut policy = policy_at(fg);
    let bg = Signals {
        app: AppState::Background,
        ..fg
    };
    assert!(policy.update(bg, 10_000).is_none());
    assert!(policy.handle_timeout(0).is_none());
    assert!(policy.handle_timeout(u64::MAX).is_some());
}

// ---- Idle budgets (DESIGN.md §11), from the settings ----

fn settings(app: AppState, power: Power, network: Network) -> ProfileSettings {
    decide(&signals(app, power, network), &opted_in()).settings
}

#[test]
fn saver_and_suspended_have_no_self_initiated_wake_up() {
    for app in [AppState::Background, AppState::Suspended] {
        for network in [Network::WIFI, Network::CELLULAR, Network::NONE] {
            let s = settings(app, FULL_BATTERY, network);
            assert_eq!(s.idle_wakeups_per_hour(), 0, "{app:?} {network:?}");
            assert_eq!(s.est_idle_bytes_per_hour(), 0);
        }
    }
}

#[test]
fn active_on_cellular_wakes_at_most_once_per_30_seconds() {
    let s = settings(AppState::Foreground, FULL_BATTERY, Network::CELLULAR);
    assert_eq!(s.profile, Profile::Active);
    // ≤ 1 per 30 s = ≤ 120 per hour = ≤ 2 per minute.
    assert!(
        s.idle_wakeups_per_hour() <= 120,
        "{}",
        s.idle_wakeups_per_hour()
    );
    assert!(s.idle_wakeups_per_hour() > 0, "the keep-alive must run");
}

#[test]
fn saver_cuts_wake_ups_and_bytes_at_least_5x_against_active() {
    for network in [Network::WIFI, Network::CELLULAR] {
        let active = settings(AppState::Foreground, FULL_BATTERY, network);
        let saver = settings(AppState::Background, FULL_BATTERY, network);
        assert!(active.idle_wakeups_per_hour() > 0);
        assert!(saver.idle_wakeups_per_hour() * 5 <= active.idle_wakeups_per_hour());
        assert!(active.est_idle_bytes_per_hour() > 0);
        assert!(saver.est_idle_bytes_per_hour() * 5 <= active.est_idle_bytes_per_hour());
    }
}

#[test]
fn the_quic_keep_alive_behind_a_faster_ping_is_not_a_wake_up() {
    let mut s = settings(AppState::Foreground, FULL_BATTERY, Network::CELLULAR);
    let with_ping = s.idle_wakeups_per_hour();
    // The libp2p-quic default (5 s) would add 720 wake-ups an hour.
    s.quic_keep_alive = Some(Duration::from_secs(5));
    assert_eq!(s.idle_wakeups_per_hour(), with_ping + 720);
}

#[test]
fn full_lists_every_periodic_timer_it_runs() {
    let s = settings(AppState::Foreground, charging(80), Network::WIFI);
    let kinds: Vec<TimerKind> = s.periodic_timers().iter().map(|t| t.kind).collect();
    for kind in [
        TimerKind::Ping,
        TimerKind::QuicKeepAlive,
        TimerKind::Identify,
        TimerKind::KadBootstrap,
        TimerKind::AutoNatProbe,
        TimerKind::RelayRenewal,
    ] {
        assert!(kinds.contains(&kind), "{kind:?}");
    }
    // Two home connections: 240 pings each + 12 identify each + 6 bootstraps + 30 probes
    // + 2 renewals (rounded up).
    assert_eq!(s.idle_wakeups_per_hour(), 2 * 240 + 2 * 12 + 6 + 30 + 2 * 2);
}

// ---- Mapping onto the net configuration ----

#[test]
fn settings_map_onto_net_timers_and_config() {
    let active = settings(AppState::Foreground, FULL_BATTERY, Network::CELLULAR);
    let t = active.net_timers().expect("timers");
    assert_eq!(Some(t.ping_interval), active.ping);
    assert_eq!(t.identify_interval, IDENTIFY_ON_CONNECT_ONLY);
    assert_eq!(t.idle_timeout, active.idle_timeout);

    let base = NetConfig {
        listen: vec!["/ip4/0.0.0.0/udp/0/quic-v1".parse().expect("addr")],
        ..NetConfig::phone(Vec::new())
    };
    let c = active.net_config(&base).expect("config");
    assert!(c.listen.is_empty() && !c.autonat_client && !c.reserve_relays);
    assert_eq!(c.home_connections, 1);
    assert!(!c.dcutr && c.kad_bootstrap.is_none() && !c.kad_server_if_reachable);
    let full = settings(AppState::Foreground, charging(80), Network::WIFI);
    let c = full.net_config(&base).expect("config");
    assert_eq!(c.listen, base.listen);
    assert!(c.autonat_client && c.reserve_relays);
    assert_eq!(c.home_connections, 2);
    assert_eq!(Some(c.autonat_probe), full.autonat_probe);
    assert!(c.dcutr && c.kad_server_if_reachable);
    assert_eq!(c.kad_bootstrap, full.kad_bootstrap);
    let saver = settings(AppState::Background, FULL_BATTERY, Network::WIFI);
    let c = saver.net_config(&base).expect("config");
    assert_eq!(c.home_connections, 0);
    assert!(!c.reserve_relays && !c.autonat_client && !c.dcutr);
    let suspended = settings(AppState::Suspended, FULL_BATTERY, Network::WIFI);
    assert!(suspended.net_config(&base).is_none());
}

// ---- Properties over all inputs ----

fn any_signals() -> impl Strategy<Value = Signals> {
    (
        prop_oneof![
            Just(AppState::Foreground),
            Just(AppState::Background),
            Just(AppState::Suspended)
        ],
        any::<u8>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![
            Just(NetworkKind::None),
            Just(NetworkKind::Wifi),
            Just(NetworkKind::Cellular)
        ],
        any::<bool>(),
        0u64..4,
    )
        .prop_map(
            |(app, battery_percent, charging, power_saver, kind, metered, epoch)| Signals {
                app,
                power: Power {
                    battery_percent,
                    charging,
                    power_saver,
                },
                network: Network { kind, metered },
                epoch,
            },
        )
}

fn any_preferences() -> impl Strategy<Value = Preferences> {
    (
        any::<bool>(),
        proptest::option::of((
            0u64..4,
            0u64..36_000_000,
            0u64..7_200_000,
            prop_oneof![0u64..36_000_000, any::<u64>()],
        )),
    )
        .prop_map(|(full_in_background, w)| Preferences {
            full_in_background,
            witness: w.map(
                |(epoch, epoch_ms, handover_ms, os_window_ms)| WitnessOptIn {
                    epoch,
                    epoch_ms,
                    handover_ms,
                    os_window_ms,
                },
            ),
        })
}

fn check_safe(s: &Signals, d: &Decision) -> Result<(), TestCaseError> {
    let set = &d.settings;
    prop_assert_eq!(set.profile, d.profile);
    if s.network.kind != NetworkKind::Wifi {
        prop_assert!(!set.listen && set.autonat_probe.is_none() && !set.dcutr);
        prop_assert!(d.profile != Profile::Full);
    }
    if d.profile != Profile::Full {
        prop_assert!(!set.witness_duty && !set.listen && !set.broadcast_overlay);
        prop_assert_eq!(set.kad_mode, KadMode::Client);
        prop_assert!(set.kad_bootstrap.is_none() && !set.relay_reservations);
    }
    prop_assert_eq!(set.witness_duty, d.witness == WitnessStatus::On);
    if matches!(d.profile, Profile::Saver | Profile::Suspended) {
        prop_assert_eq!(set.idle_wakeups_per_hour(), 0);
        prop_assert_eq!(set.home_connections, 0);
    }
    if s.network.kind == NetworkKind::None || s.app == AppState::Suspended {
        prop_assert_eq!(set.home_connections, 0);
    }
    if s.app == AppState::Suspended {
        prop_assert_eq!(d.profile, Profile::Suspended);
    }
    Ok(())
}

proptest! {
    #[test]
    fn decide_is_total_and_safe(s in any_signals(), p in any_preferences()) {
        let d = decide(&s, &p);
        check_safe(&s, &d)?;
        prop_assert_eq!(d, decide(&s, &p));
    }

    #[test]
    fn policy_state_stays_safe_through_any_sequence(
        start in any_signals(),
        p in any_preferences(),
        steps in proptest::collection::vec((any_signals(), 0u64..120_000), 0..40),
    ) {
        let mut policy = PolicyState::new(PolicyConfig::default(), p, start, 0);
        let mut now = 0u64;
        let mut last = start;
        for (s, dt) in steps {
            now += dt;
            if let Some(change) = policy.handle_timeout(now) {
                prop_assert_eq!(change.settings, policy.current().settings);
            }
            policy.update(s, now);
            last = s;
            check_safe(&s, policy.current())?;
            if let Some(due) = policy.poll_timeout() {
                prop_assert!(due > now);
            }
        }
        // Once every deadline has passed, the state agrees with the pure rule under its
        // latch (no change stays pending forever).
        if let Some(due) = policy.poll_timeout() {
            policy.handle_timeout(due);
        }
        prop_assert_eq!(policy.poll_timeout(), None);
        let expected = decide_with(&last, &p, policy.battery_low(), true);
        prop_assert_eq!(*policy.current(), expected);
    }
}

#[test]
fn a_network_switch_during_the_background_grace_applies_at_once() {
    // Found by the property test: Active on Wi-Fi (DCUtR on) backgrounded onto cellular
    // kept hole punching on cellular for the whole grace.
    let wifi = signals(AppState::Foreground, FULL_BATTERY, Network::WIFI);
    let mut policy = policy_at(wifi);
    let change = policy
        .update(
            Signals {
                app: AppState::Background,
                network: Network::CELLULAR,
                ..wifi
            },
            1,
        )
        .expect("cellular settings at once");
    assert_eq!(change.to, Profile::Active);
    assert!(!change.settings.dcutr);
    assert!(
        policy.poll_timeout().is_some(),
        "Saver still follows the grace"
    );
}

#[test]
fn full_backgrounded_onto_cellular_stops_listening_at_once() {
    let plugged = signals(AppState::Foreground, charging(80), Network::WIFI);
    let mut policy = policy_at(plugged);
    let change = policy
        .update(
            Signals {
                app: AppState::Background,
                network: Network::CELLULAR,
                ..plugged
            },
            1,
        )
        .expect("leaves Full at once");
    assert_eq!((change.from, change.to), (Profile::Full, Profile::Active));
    assert!(!change.settings.listen && change.settings.autonat_probe.is_none());
}

#[test]
fn the_idle_budget_table_of_docs_mobile_md_holds() {
    let full = settings(AppState::Foreground, charging(80), Network::WIFI);
    let active_wifi = settings(AppState::Foreground, FULL_BATTERY, Network::WIFI);
    let active_cell = settings(AppState::Foreground, FULL_BATTERY, Network::CELLULAR);
    let rows = [
        (full, 544, 316_000),
        (active_wifi, 145, 37_500),
        (active_cell, 120, 30_000),
    ];
    for (s, wakeups, bytes) in rows {
        assert_eq!(s.idle_wakeups_per_hour(), wakeups, "{:?}", s.profile);
        assert_eq!(s.est_idle_bytes_per_hour(), bytes, "{:?}", s.profile);
    }
}
