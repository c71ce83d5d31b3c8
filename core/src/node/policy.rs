//! The mobile-life policy (DESIGN.md §7): from what the platform reports (app state, power,
//! network) to a [`Profile`] and the [`ProfileSettings`] the runtime applies to the swarm.
//!
//! Sans-IO and deterministic: nothing here reads a clock, a socket or the OS. Time is an
//! argument (`now_ms`, milliseconds on any monotonic scale the caller keeps).
//!
//! - [`decide`] is the pure rule: one [`Signals`] + [`Preferences`] → one [`Decision`].
//! - [`PolicyState`] adds hysteresis and debounce on top of it, so a battery hovering at
//!   20 % or a flaky charger cable does not thrash the swarm:
//!   - inputs: [`PolicyState::update`] (new signals), [`PolicyState::set_preferences`],
//!     [`PolicyState::handle_timeout`] (a deadline passed);
//!   - outputs: each input returns at most one [`ProfileChange`]; then ask
//!     [`PolicyState::poll_timeout`] for the next deadline and call `handle_timeout` when
//!     it passes. Nothing else is periodic.
//!
//! ```
//! use zeropole_core::node::policy::*;
//! let signals = Signals {
//!     app: AppState::Foreground,
//!     power: Power { battery_percent: 80, charging: false, power_saver: false },
//!     network: Network::CELLULAR,
//!     epoch: 0,
//! };
//! let mut policy = PolicyState::new(PolicyConfig::default(), Preferences::default(), signals, 0);
//! assert_eq!(policy.current().profile, Profile::Active);
//! // The user leaves the app: Saver after the background grace, not at once.
//! let background = Signals { app: AppState::Background, ..signals };
//! assert!(policy.update(background, 1_000).is_none());
//! let due = policy.poll_timeout().expect("a pending change");
//! let change = policy.handle_timeout(due).expect("the change");
//! assert_eq!(change.to, Profile::Saver);
//! assert_eq!(change.settings.idle_wakeups_per_hour(), 0);
//! ```
//!
//! The byte and wake-up figures computed here are model estimates from the settings; the
//! measurement on a loopback devnet belongs to the runtime (`docs/mobile.md`).

use std::time::Duration;

use crate::net::{NetConfig, Timers};

/// Whether the app is visible, running hidden, or frozen by the OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppState {
    /// Visible to the user (Android: an activity started; iOS: `didBecomeActive`).
    Foreground,
    /// Running but not visible (Android: no started activity; iOS: `didEnterBackground`
    /// before suspension, or a background task / notification service extension).
    Background,
    /// The OS froze or is about to freeze the process (Android: cached/`TRIM_MEMORY`
    /// background with no work; iOS: background time expired).
    Suspended,
}

/// The power situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Power {
    /// Battery level, 0–100 (values above 100 are treated as 100).
    pub battery_percent: u8,
    /// On external power (any charger, wired or wireless).
    pub charging: bool,
    /// The OS power saver (Android battery saver, iOS Low Power Mode) is on.
    pub power_saver: bool,
}

/// The kind of the default network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkKind {
    /// No usable network.
    None,
    /// Wi-Fi, or any other non-cellular link (Ethernet, USB tethering to a computer).
    Wifi,
    /// Cellular. Always treated as metered, whatever the OS says (DESIGN.md §6: phones on
    /// cellular neither listen nor hole-punch).
    Cellular,
}

/// The default network as the OS reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Network {
    /// Its kind.
    pub kind: NetworkKind,
    /// The OS marks it metered or expensive (Android `!NET_CAPABILITY_NOT_METERED`; iOS
    /// `NWPath.isExpensive || isConstrained`), e.g. Wi-Fi from another phone's hotspot.
    pub metered: bool,
}

impl Network {
    /// No network.
    pub const NONE: Network = Network {
        kind: NetworkKind::None,
        metered: false,
    };
    /// Unmetered Wi-Fi.
    pub const WIFI: Network = Network {
        kind: NetworkKind::Wifi,
        metered: false,
    };
    /// Cellular (metered).
    pub const CELLULAR: Network = Network {
        kind: NetworkKind::Cellular,
        metered: true,
    };

    /// Wi-Fi that the OS does not mark metered: the only network Full runs on.
    pub fn is_unmetered_wifi(&self) -> bool {
        self.kind == NetworkKind::Wifi && !self.metered
    }
}

/// Everything the policy looks at. The first three fields come from the platform
/// wrappers; `epoch` comes from the core (the epoch record the node follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signals {
    /// App state.
    pub app: AppState,
    /// Power.
    pub power: Power,
    /// Default network.
    pub network: Network,
    /// The current epoch `e`, to match a [`WitnessOptIn`] against.
    pub epoch: u64,
}

/// The user's opt-in to witness duty for one epoch, with what the OS guarantees.
///
/// Witness duty is a signed commitment to serve epoch `e` and its handover (DESIGN.md §4),
/// so a phone may take it only if the whole epoch plus the handover fits in the time the OS
/// guarantees it can run (Android 15: data-sync foreground services get 6 h a day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WitnessOptIn {
    /// The epoch the user opted in for.
    pub epoch: u64,
    /// Length of that epoch, in milliseconds.
    pub epoch_ms: u64,
    /// Time to serve the handover after the epoch closes, in milliseconds.
    pub handover_ms: u64,
    /// Background run time the OS still guarantees, in milliseconds (Android: what is left
    /// of today's data-sync foreground-service budget; iOS: 0, nothing is guaranteed).
    pub os_window_ms: u64,
}

impl WitnessOptIn {
    /// The epoch plus its handover fits in the OS window.
    pub fn fits(&self) -> bool {
        self.epoch_ms
            .checked_add(self.handover_ms)
            .is_some_and(|need| need <= self.os_window_ms)
    }
}

/// What the user and the app chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Preferences {
    /// Full may run while the app is in the background (the app runs a foreground service
    /// and the user allowed it). Off: Full only in the foreground.
    pub full_in_background: bool,
    /// Witness duty opt-in, if any.
    pub witness: Option<WitnessOptIn>,
}

/// The four profiles of DESIGN.md §7, from the most to the least active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Profile {
    /// Suspended by the OS: nothing open, SQLite closed.
    Suspended,
    /// No connection, no timer: `sync_once()` in OS windows and on push.
    Saver,
    /// One connection to a home station: own transactions, live sync.
    Active,
    /// Charging on unmetered Wi-Fi: listens, overlay member, witness duty if opted in.
    Full,
}

/// The rule of [`decide`] that chose the profile (first match wins, in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// 1. The OS suspends the app.
    Suspended,
    /// 2. No network: no connection at all.
    NoNetwork,
    /// 3. Charging on unmetered Wi-Fi, no power saver, battery not low, and the app in
    ///    the foreground or allowed to run Full in the background.
    Charging,
    /// 4. The OS power saver is on (even in the foreground).
    PowerSaver,
    /// 5. Battery low (below the threshold, with hysteresis) and not charging.
    LowBattery,
    /// 6. In the foreground.
    Foreground,
    /// 7. In the background.
    Background,
}

/// Why witness duty is on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WitnessStatus {
    /// Serving: Full, opted in for this epoch, and it fits the OS window.
    On,
    /// No opt-in.
    NotOptedIn,
    /// The opt-in is for another epoch.
    OtherEpoch,
    /// The epoch plus handover does not fit the OS window.
    DoesNotFit,
    /// A valid opt-in for this epoch, but the profile is not Full: the commitment lapses
    /// (one silent committee member; committees tolerate f of them).
    NotFull,
}

/// The kad mode a profile asks for. The mode is always pinned (`set_mode(Some(..))`): a
/// relay reservation must never flip kad to server (DESIGN.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KadMode {
    /// Client, always.
    Client,
    /// Server once AutoNAT confirmed a *direct* (non-relayed) external address, client
    /// until then.
    ServerIfDirectlyReachable,
}

/// How the node syncs with its home stations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncMode {
    /// Over the held connection, as things happen.
    Live,
    /// Only `sync_once()`: called from OS windows (JobScheduler, BGAppRefreshTask), a push,
    /// or a user action. Connect, pull the inbox, submit the queue, disconnect.
    OnDemand,
    /// Nothing: the process is frozen.
    Paused,
}

/// Rough size of one idle ping exchange on a connection (both directions, 32-byte payloads,
/// QUIC/UDP/IP headers, AEAD tags and ACKs). An estimate, not a measurement.
pub const EST_PING_BYTES: u64 = 250;
/// Rough size of one identify exchange (keys, addresses, protocol list, stream setup).
/// An estimate.
pub const EST_IDENTIFY_BYTES: u64 = 1_500;
/// Rough size of one kad bootstrap (a handful of `FIND_NODE` lookups). An estimate.
pub const EST_KAD_BOOTSTRAP_BYTES: u64 = 16_000;
/// Rough size of one AutoNAT v2 probe (request, dial-back, response). An estimate.
pub const EST_AUTONAT_PROBE_BYTES: u64 = 2_000;
/// Rough size of one relay reservation renewal. An estimate.
pub const EST_RELAY_RENEWAL_BYTES: u64 = 1_000;
/// Rough size of one QUIC keep-alive (a PING frame and its ACK). An estimate.
pub const EST_QUIC_KEEP_ALIVE_BYTES: u64 = 120;

/// Relay reservations are renewed by libp2p at 3/4 of their duration; our stations grant
/// 1 h ([`crate::net::RelayLimits`]), hence 45 min. Set by the station, listed here so the
/// count of periodic timers is complete.
pub const RELAY_RENEWAL: Duration = Duration::from_secs(45 * 60);

/// libp2p 0.57's identify cannot stop its periodic re-run; a profile that wants identify
/// on connect only maps to this period in [`ProfileSettings::net_timers`]. Every network
/// change closes all connections, so a phone connection does not live this long.
pub const IDENTIFY_ON_CONNECT_ONLY: Duration = Duration::from_secs(7 * 24 * 3600);

/// One kind of periodic timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// libp2p ping on each held connection (the keep-alive).
    Ping,
    /// QUIC keep-alive (quinn; inactivity-based: it fires only after that long without
    /// sending, so a ping at the same or a shorter period suppresses it).
    QuicKeepAlive,
    /// identify re-run on each held connection.
    Identify,
    /// kad periodic bootstrap.
    KadBootstrap,
    /// AutoNAT v2 client probe.
    AutoNatProbe,
    /// Relay reservation renewal, per reservation.
    RelayRenewal,
}

/// A periodic timer a profile leaves running while idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeriodicTimer {
    /// What it is.
    pub kind: TimerKind,
    /// Its period.
    pub period: Duration,
    /// How many run (e.g. one per held connection).
    pub instances: u32,
}

impl PeriodicTimer {
    /// Firings per hour, rounded up (conservative).
    pub fn per_hour(&self) -> u64 {
        let period_ms = u64::try_from(self.period.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        3_600_000u64.div_ceil(period_ms) * u64::from(self.instances)
    }

    /// Estimated bytes of one firing (sent + received). See the `EST_*` constants.
    pub fn est_bytes(&self) -> u64 {
        match self.kind {
            TimerKind::Ping => EST_PING_BYTES,
            TimerKind::QuicKeepAlive => EST_QUIC_KEEP_ALIVE_BYTES,
            TimerKind::Identify => EST_IDENTIFY_BYTES,
            TimerKind::KadBootstrap => EST_KAD_BOOTSTRAP_BYTES,
            TimerKind::AutoNatProbe => EST_AUTONAT_PROBE_BYTES,
            TimerKind::RelayRenewal => EST_RELAY_RENEWAL_BYTES,
        }
    }
}

/// What a profile turns on and off. The runtime applies it to the swarm; every rust-libp2p
/// timer that matters on a phone is named here (DESIGN.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProfileSettings {
    /// The profile these settings belong to.
    pub profile: Profile,
    /// Serve witness duty (Full only, and only with a valid opt-in for this epoch).
    pub witness_duty: bool,
    /// Listen for inbound connections (Full only: Full is never on cellular).
    pub listen: bool,
    /// kad mode (pinned).
    pub kad_mode: KadMode,
    /// kad periodic bootstrap period; `None`: never (and none on new peers either).
    pub kad_bootstrap: Option<Duration>,
    /// AutoNAT v2 client probe period; `None`: no AutoNAT client (never on cellular).
    pub autonat_probe: Option<Duration>,
    /// DCUtR hole punching (never on cellular).
    pub dcutr: bool,
    /// Hold relay reservations on the home stations.
    pub relay_reservations: bool,
    /// Member of the broadcast overlay.
    pub broadcast_overlay: bool,
    /// Home-station connections held while idle (Saver: 0, `sync_once()` opens one and
    /// closes it).
    pub home_connections: u8,
    /// libp2p ping period on held connections; `None`: no held connection.
    pub ping: Option<Duration>,
    /// QUIC keep-alive (inactivity) period; `None`: no held connection.
    pub quic_keep_alive: Option<Duration>,
    /// identify re-run period; `None`: on connect only.
    pub identify: Option<Duration>,
    /// Idle connection timeout (swarm and QUIC `max_idle_timeout`); in Saver it bounds the
    /// `sync_once()` connection.
    pub idle_timeout: Duration,
    /// How syncing happens.
    pub sync: SyncMode,
    /// SQLite stays open (closed while suspended: iOS kills suspended apps holding locks).
    pub store_open: bool,
}

impl ProfileSettings {
    /// The settings of `profile` on `network`, with or without witness duty.
    ///
    /// Safety rules hold whatever the arguments: nothing listens, probes AutoNAT or
    /// hole-punches on cellular, and witness duty is off outside Full.
    pub fn for_profile(profile: Profile, network: Network, witness_duty: bool) -> Self {
        let cellular = network.kind == NetworkKind::Cellular;
        let wifi = network.kind == NetworkKind::Wifi;
        let off = ProfileSettings {
            profile,
            witness_duty: false,
            listen: false,
            kad_mode: KadMode::Client,
            kad_bootstrap: None,
            autonat_probe: None,
            dcutr: false,
            relay_reservations: false,
            broadcast_overlay: false,
            home_connections: 0,
            ping: None,
            quic_keep_alive: None,
            identify: None,
            idle_timeout: Duration::from_secs(15),
            sync: SyncMode::OnDemand,
            store_open: true,
        };
        match profile {
            Profile::Full if wifi => ProfileSettings {
                witness_duty,
                listen: true,
                kad_mode: KadMode::ServerIfDirectlyReachable,
                kad_bootstrap: Some(Duration::from_secs(10 * 60)),
                autonat_probe: Some(Duration::from_secs(120)),
                dcutr: true,
                relay_reservations: true,
                broadcast_overlay: true,
                home_connections: 2,
                ping: Some(Duration::from_secs(15)),
                quic_keep_alive: Some(Duration::from_secs(15)),
                identify: Some(Duration::from_secs(300)),
                idle_timeout: Duration::from_secs(120),
                sync: SyncMode::Live,
                ..off
            },
            // Full off Wi-Fi cannot come out of `decide`; if asked, fall back to Active.
            Profile::Full | Profile::Active if network.kind != NetworkKind::None => {
                let keep_alive = Duration::from_secs(if cellular { 30 } else { 25 });
                ProfileSettings {
                    profile: Profile::Active,
                    dcutr: wifi,
                    home_connections: 1,
                    ping: Some(keep_alive),
                    quic_keep_alive: Some(keep_alive),
                    // On cellular the phone never listens, so observed addresses are of no
                    // use, and the station's protocols only change when it restarts (which
                    // closes the connection): identify on connect is enough, and it keeps
                    // Active within 1 wake-up per 30 s (DESIGN.md §11).
                    identify: (!cellular).then_some(Duration::from_secs(3600)),
                    idle_timeout: Duration::from_secs(90),
                    sync: SyncMode::Live,
                    ..off
                }
            }
            Profile::Full | Profile::Active | Profile::Saver => ProfileSettings {
                profile: Profile::Saver,
                ..off
            },
            Profile::Suspended => ProfileSettings {
                idle_timeout: Duration::ZERO,
                sync: SyncMode::Paused,
                store_open: false,
                ..off
            },
        }
    }

    /// Every timer left running while idle, with its period and instance count.
    pub fn periodic_timers(&self) -> Vec<PeriodicTimer> {
        let conns = u32::from(self.home_connections);
        let mut timers = Vec::new();
        let mut push = |kind, period: Option<Duration>, instances: u32| {
            if let Some(period) = period {
                if instances > 0 && !period.is_zero() {
                    timers.push(PeriodicTimer {
                        kind,
                        period,
                        instances,
                    });
                }
            }
        };
        push(TimerKind::Ping, self.ping, conns);
        push(TimerKind::QuicKeepAlive, self.quic_keep_alive, conns);
        push(TimerKind::Identify, self.identify, conns);
        push(TimerKind::KadBootstrap, self.kad_bootstrap, 1);
        push(TimerKind::AutoNatProbe, self.autonat_probe, 1);
        push(
            TimerKind::RelayRenewal,
            self.relay_reservations.then_some(RELAY_RENEWAL),
            conns,
        );
        timers
    }

    /// Timers that actually wake the phone while idle: the QUIC keep-alive is dropped when
    /// a ping at the same or a shorter period already keeps the connection busy.
    fn waking_timers(&self) -> impl Iterator<Item = PeriodicTimer> {
        let ping = self.ping;
        self.periodic_timers().into_iter().filter(move |t| {
            !(t.kind == TimerKind::QuicKeepAlive && ping.is_some_and(|p| p <= t.period))
        })
    }

    /// Self-initiated wake-ups per idle hour (model; timers are not assumed to coalesce,
    /// except the inactivity-based QUIC keep-alive behind an equal or faster ping).
    pub fn idle_wakeups_per_hour(&self) -> u64 {
        self.waking_timers().map(|t| t.per_hour()).sum()
    }

    /// Estimated bytes (sent + received) per idle hour from the `EST_*` sizes.
    pub fn est_idle_bytes_per_hour(&self) -> u64 {
        self.waking_timers()
            .map(|t| t.per_hour() * t.est_bytes())
            .sum()
    }

    /// The net timers to run with; `None` while suspended (nothing may be open). In Saver
    /// they apply to the `sync_once()` connection only.
    pub fn net_timers(&self) -> Option<Timers> {
        if self.profile == Profile::Suspended {
            return None;
        }
        let base = Timers::phone_active();
        Some(Timers {
            idle_timeout: self.idle_timeout,
            ping_interval: self.ping.unwrap_or(base.ping_interval),
            identify_interval: self.identify.unwrap_or(IDENTIFY_ON_CONNECT_ONLY),
            ..base
        })
    }

    /// A phone's `NetConfig` for these settings, from the one it was built with: keeps the
    /// home stations and `base.listen` (used only when listening); sets the held home
    /// connections, AutoNAT, relay reservations, DCUtR, kad bootstrap and mode, and the
    /// timers (the QUIC keep-alive follows the ping interval). `None` while suspended. In
    /// Saver (no held connection) it is the configuration of a `sync_once()`, which dials
    /// one home station for its request.
    pub fn net_config(&self, base: &NetConfig) -> Option<NetConfig> {
        let timers = self.net_timers()?;
        let mut config = base.clone();
        if !self.listen {
            config.listen.clear();
            config.external.clear();
        }
        config.home_connections = usize::from(self.home_connections);
        config.autonat_client = self.autonat_probe.is_some();
        if let Some(period) = self.autonat_probe {
            config.autonat_probe = period;
        }
        config.reserve_relays = self.relay_reservations;
        config.dcutr = self.dcutr;
        config.kad_bootstrap = self.kad_bootstrap;
        config.kad_server_if_reachable = self.kad_mode == KadMode::ServerIfDirectlyReachable;
        config.timers = timers;
        Some(config)
    }
}

/// The outcome of [`decide`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision {
    /// The profile.
    pub profile: Profile,
    /// The rule that chose it.
    pub reason: Reason,
    /// Witness duty, and why.
    pub witness: WitnessStatus,
    /// What to apply.
    pub settings: ProfileSettings,
}

/// The battery level below which the node enters Saver (when not charging).
pub const LOW_BATTERY_ENTER: u8 = 20;
/// The battery level at which a low battery counts as recovered.
pub const LOW_BATTERY_LEAVE: u8 = 25;

/// The pure rule, without hysteresis: the battery is low below [`LOW_BATTERY_ENTER`].
/// Total: every input gives a decision.
pub fn decide(signals: &Signals, prefs: &Preferences) -> Decision {
    let low = signals.power.battery_percent < LOW_BATTERY_ENTER;
    decide_with(signals, prefs, low, true)
}

/// [`decide`] with the low-battery latch given, and Full allowed or not (while entering
/// Full is debounced, the node runs the best profile short of Full).
fn decide_with(
    signals: &Signals,
    prefs: &Preferences,
    battery_low: bool,
    allow_full: bool,
) -> Decision {
    let power = signals.power;
    let app = signals.app;
    let (profile, reason) = if app == AppState::Suspended {
        (Profile::Suspended, Reason::Suspended)
    } else if signals.network.kind == NetworkKind::None {
        (Profile::Saver, Reason::NoNetwork)
    } else if allow_full
        && power.charging
        && signals.network.is_unmetered_wifi()
        && !power.power_saver
        && !battery_low
        && (app == AppState::Foreground || prefs.full_in_background)
    {
        (Profile::Full, Reason::Charging)
    } else if power.power_saver {
        (Profile::Saver, Reason::PowerSaver)
    } else if battery_low && !power.charging {
        (Profile::Saver, Reason::LowBattery)
    } else if app == AppState::Foreground {
        (Profile::Active, Reason::Foreground)
    } else {
        (Profile::Saver, Reason::Background)
    };
    let witness = match prefs.witness {
        None => WitnessStatus::NotOptedIn,
        Some(w) if w.epoch != signals.epoch => WitnessStatus::OtherEpoch,
        Some(w) if !w.fits() => WitnessStatus::DoesNotFit,
        Some(_) if profile != Profile::Full => WitnessStatus::NotFull,
        Some(_) => WitnessStatus::On,
    };
    Decision {
        profile,
        reason,
        witness,
        settings: ProfileSettings::for_profile(
            profile,
            signals.network,
            witness == WitnessStatus::On,
        ),
    }
}

/// Hysteresis and debounce parameters of [`PolicyState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolicyConfig {
    /// Enter low battery below this percentage.
    pub battery_enter_below: u8,
    /// Leave low battery at or above this percentage.
    pub battery_leave_at: u8,
    /// Full is entered only after its conditions held this long (a loose charger cable,
    /// Wi-Fi at the edge of range). Leaving Full is immediate.
    pub full_entry_ms: u64,
    /// Active/Full → Saver because the app went to the background waits this long (the user
    /// switching apps to copy an address). Every other move to Saver is immediate.
    pub background_grace_ms: u64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            battery_enter_below: LOW_BATTERY_ENTER,
            battery_leave_at: LOW_BATTERY_LEAVE,
            full_entry_ms: 60_000,
            background_grace_ms: 10_000,
        }
    }
}

/// A change of the applied decision, returned by [`PolicyState`]. `from` and `to` may be
/// the same profile when only its settings changed (e.g. Active from Wi-Fi to cellular).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProfileChange {
    /// The profile before.
    pub from: Profile,
    /// The profile now.
    pub to: Profile,
    /// Why.
    pub reason: Reason,
    /// Witness status now.
    pub witness: WitnessStatus,
    /// The settings to apply.
    pub settings: ProfileSettings,
    /// Witness duty was on and is now off within the same committed epoch: the node
    /// breaks its commitment (log it, tell the app).
    pub witness_lapsed: bool,
    /// When the change took effect.
    pub at_ms: u64,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    target: Decision,
    since_ms: u64,
    delay_ms: u64,
}

/// [`decide`] with hysteresis and debounce. See the module docs for the call order.
#[derive(Debug, Clone)]
pub struct PolicyState {
    config: PolicyConfig,
    prefs: Preferences,
    signals: Signals,
    battery_low: bool,
    current: Decision,
    pending: Option<Pending>,
}

impl PolicyState {
    /// Starts from `signals`, applying their decision at once (no debounce at start).
    pub fn new(config: PolicyConfig, prefs: Preferences, signals: Signals, _now_ms: u64) -> Self {
        let battery_low = signals.power.battery_percent < config.battery_enter_below;
        let current = decide_with(&signals, &prefs, battery_low, true);
        PolicyState {
            config,
            prefs,
            signals,
            battery_low,
            current,
            pending: None,
        }
    }

    /// The decision applied now.
    pub fn current(&self) -> &Decision {
        &self.current
    }

    /// The signals last given (by [`Self::new`] or [`Self::update`]).
    pub fn signals(&self) -> &Signals {
        &self.signals
    }

    /// The low-battery latch.
    pub fn battery_low(&self) -> bool {
        self.battery_low
    }

    /// New signals from the wrappers (send them all on every OS callback).
    pub fn update(&mut self, signals: Signals, now_ms: u64) -> Option<ProfileChange> {
        let pct = signals.power.battery_percent;
        if self.battery_low && pct >= self.config.battery_leave_at {
            self.battery_low = false;
        } else if !self.battery_low && pct < self.config.battery_enter_below {
            self.battery_low = true;
        }
        self.signals = signals;
        self.evaluate(now_ms)
    }

    /// New preferences (opt-in, Full in background).
    pub fn set_preferences(&mut self, prefs: Preferences, now_ms: u64) -> Option<ProfileChange> {
        self.prefs = prefs;
        self.evaluate(now_ms)
    }

    /// When [`Self::handle_timeout`] must be called next, if a change is pending.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.pending.map(|p| p.since_ms.saturating_add(p.delay_ms))
    }

    /// Time passed: applies a pending change whose delay is over.
    pub fn handle_timeout(&mut self, now_ms: u64) -> Option<ProfileChange> {
        self.evaluate(now_ms)
    }

    fn evaluate(&mut self, now_ms: u64) -> Option<ProfileChange> {
        let target = decide_with(&self.signals, &self.prefs, self.battery_low, true);
        if target == self.current {
            self.pending = None;
            return None;
        }
        let delay_ms = self.delay(&target);
        if delay_ms == 0 {
            self.pending = None;
            return Some(self.apply(target, now_ms));
        }
        let pending = match self.pending {
            Some(p) if p.target == target => p,
            _ => Pending {
                target,
                since_ms: now_ms,
                delay_ms,
            },
        };
        if now_ms.saturating_sub(pending.since_ms) >= pending.delay_ms {
            self.pending = None;
            return Some(self.apply(target, now_ms));
        }
        self.pending = Some(pending);
        // While a change waits, the node still follows every other input at once (a
        // network switch must not leave Wi-Fi settings running on cellular).
        let interim = if target.profile == Profile::Full {
            // Entering Full: the best profile short of it.
            decide_with(&self.signals, &self.prefs, self.battery_low, false)
        } else {
            // The background grace: as if the app were still in the foreground, Full
            // kept only if it still qualifies.
            let foreground = Signals {
                app: AppState::Foreground,
                ..self.signals
            };
            let keep_full = self.current.profile == Profile::Full;
            decide_with(&foreground, &self.prefs, self.battery_low, keep_full)
        };
        if interim != self.current {
            return Some(self.apply(interim, now_ms));
        }
        None
    }

    fn delay(&self, target: &Decision) -> u64 {
        let from = self.current.profile;
        if target.profile == Profile::Full && from != Profile::Full {
            self.config.full_entry_ms
        } else if target.reason == Reason::Background
            && matches!(from, Profile::Active | Profile::Full)
        {
            self.config.background_grace_ms
        } else {
            0
        }
    }

    fn apply(&mut self, to: Decision, now_ms: u64) -> ProfileChange {
        let from = std::mem::replace(&mut self.current, to);
        ProfileChange {
            from: from.profile,
            to: to.profile,
            reason: to.reason,
            witness: to.witness,
            settings: to.settings,
            witness_lapsed: from.witness == WitnessStatus::On
                && to.witness == WitnessStatus::NotFull,
            at_ms: now_ms,
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
