//! The `Node` object of the FFI and its records (DESIGN.md §9).
//!
//! The core [`zeropole_core::node::Node`] owns its tokio runtime and runs every operation
//! there, so its async methods only wait on channels: they can be polled by any executor
//! (Kotlin coroutines, Swift tasks). That is why these exports need no `async_runtime`:
//! nothing here requires a tokio reactor on the caller's thread.
//!
//! Cancellation: when Kotlin cancels a coroutine or Swift a task, UniFFI drops the Rust
//! future. Dropping `send`/`receive_pending`/`sync_once`/`pause`/`resume`/a signal call only
//! drops the wait: the core runs the operation to completion on its runtime (its result
//! then shows in `history`, `balance`, `status` and the events). Dropping `next_event`
//! loses no event: it only peeks (the core's `wait_event`); events leave the queue through
//! `event_handled` alone.
//!
//! Stop: the core `Node::stop` takes the node by value, while foreign code holds a shared
//! handle. So this object keeps the core node in an `Option` and a stop signal: `stop`
//! takes the node out and signals; every call in flight returns `NotRunning` (or `None`
//! for `next_event`) at once, and the core node shuts down when the last of them lets go.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use zeropole_core::ledger::{DmappId, Op};
use zeropole_core::node::{
    AppState as CoreAppState, HistoryEntry as CoreHistoryEntry, Network as CoreNetwork,
    NetworkKind as CoreNetworkKind, Node as CoreNode, NodeConfig as CoreNodeConfig,
    NodeEvent as CoreNodeEvent, NodeStatus as CoreNodeStatus, PolicyConfig, Power, Preferences,
    Profile as CoreProfile, QueuedEvent as CoreQueuedEvent, Signals, Transfer as CoreTransfer,
};

use crate::NodeError;

/// How to start a [`Node`]. Build it with [`NodeConfigBuilder`](crate::NodeConfigBuilder),
/// which checks every field and names the wrong one; a record written by hand is checked
/// by [`Node::start`] (as `NodeError::Config`).
#[derive(Debug, Clone, uniffi::Record)]
pub struct NodeConfig {
    /// Where the node keeps its databases and transport key: an app-private directory
    /// excluded from backups (Android `noBackupFilesDir`, iOS Application Support with
    /// `isExcludedFromBackup`).
    pub data_dir: String,
    /// The network's genesis (TOML).
    pub genesis_toml: String,
    /// Home stations: multiaddrs ending in `/p2p/<peer id>`; at least one (two from
    /// different operators in production).
    pub home_stations: Vec<String>,
    /// The dmapp this app is, as 64 hex characters; it must be reviewed in the genesis
    /// registry. Empty: the built-in wallet.
    #[uniffi(default = "")]
    pub dmapp_id: String,
    /// Threads of the node's runtime (phones: 1–2; 0 counts as 1).
    #[uniffi(default = 1)]
    pub worker_threads: u32,
    /// Profile override: Full may run while the app is in the background (the app runs a
    /// foreground service and the user allowed it). Default: Full only in the foreground.
    #[uniffi(default = false)]
    pub full_in_background: bool,
    /// Profile override: how long Active/Full waits after the app went to the background
    /// before Saver, in milliseconds. Default (`None`): 10 s.
    #[uniffi(default = None)]
    pub background_grace_ms: Option<u64>,
    /// Profile override: how long the conditions of Full must hold before Full, in
    /// milliseconds. Default (`None`): 60 s.
    #[uniffi(default = None)]
    pub full_entry_ms: Option<u64>,
    /// Profile override: the battery percentage below which the node enters Saver (when
    /// not charging). Default (`None`): 20.
    #[uniffi(default = None)]
    pub low_battery_percent: Option<u8>,
    /// Profile override: the battery percentage at which a low battery counts as
    /// recovered (≥ `low_battery_percent`). Default (`None`): 25.
    #[uniffi(default = None)]
    pub battery_recovered_percent: Option<u8>,
}

impl NodeConfig {
    /// The policy parameters with the overrides applied; an error names a bad override.
    pub(crate) fn policy(&self) -> Result<PolicyConfig, String> {
        let mut policy = PolicyConfig::default();
        if let Some(ms) = self.background_grace_ms {
            policy.background_grace_ms = ms;
        }
        if let Some(ms) = self.full_entry_ms {
            policy.full_entry_ms = ms;
        }
        if let Some(p) = self.low_battery_percent {
            policy.battery_enter_below = p;
            if self.battery_recovered_percent.is_none() {
                policy.battery_leave_at = p.saturating_add(5).min(100);
            }
        }
        if let Some(p) = self.battery_recovered_percent {
            policy.battery_leave_at = p;
        }
        if policy.battery_enter_below > 100 || policy.battery_leave_at > 100 {
            return Err(format!(
                "battery percentages must be 0–100 (low {}, recovered {})",
                policy.battery_enter_below, policy.battery_leave_at
            ));
        }
        if policy.battery_leave_at < policy.battery_enter_below {
            return Err(format!(
                "the recovered battery level {} is below the low level {}",
                policy.battery_leave_at, policy.battery_enter_below
            ));
        }
        Ok(policy)
    }

    fn into_core(self) -> Result<CoreNodeConfig, NodeError> {
        let policy = self.policy().map_err(NodeError::Config)?;
        let dmapp = if self.dmapp_id.is_empty() {
            DmappId::WALLET
        } else {
            let bytes: [u8; 32] = hex::decode(&self.dmapp_id)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| {
                    NodeError::Config(format!(
                        "dmapp id {:?} is not 64 hex characters (empty for the wallet)",
                        self.dmapp_id
                    ))
                })?;
            DmappId(bytes)
        };
        Ok(CoreNodeConfig {
            data_dir: PathBuf::from(self.data_dir),
            genesis_toml: self.genesis_toml,
            home_stations: self.home_stations,
            dmapp,
            worker_threads: self.worker_threads.max(1) as usize,
            preferences: Preferences {
                full_in_background: self.full_in_background,
                // Witness duty is never opted into from the FFI yet (the runtime does not
                // serve it): phones are never witnesses through this SDK.
                witness: None,
            },
            policy,
        })
    }
}

/// A certified block of this account: a send it made or a payment it received.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Transfer {
    /// The block's height in this account's chain.
    pub height: u64,
    /// This account's certified balance after the block.
    pub balance: u64,
    /// The amount moved.
    pub amount: u64,
    /// The other account (recipient of a send, sender of a payment), 64 hex characters.
    pub counterparty: String,
    /// `true` for a send, `false` for a received payment.
    pub outgoing: bool,
    /// The block's hash, 64 hex characters (its id in the certificate).
    pub block_hash: String,
}

impl From<CoreTransfer> for Transfer {
    fn from(t: CoreTransfer) -> Self {
        let (amount, counterparty, outgoing) = match &t.certificate.block.body.op {
            Op::Send { to, amount, .. } => (*amount, to.to_hex(), true),
            Op::Receive { from, amount, .. } => (*amount, from.to_hex(), false),
            Op::Open { .. } => (0, String::new(), false),
        };
        Transfer {
            height: t.height,
            balance: t.balance,
            amount,
            counterparty,
            outgoing,
            block_hash: t.certificate.block_hash().to_hex(),
        }
    }
}

/// One certified block of this account, for a history screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HistoryEntry {
    /// Height.
    pub height: u64,
    /// Sent (`true`) or received.
    pub outgoing: bool,
    /// The other account, 64 hex characters.
    pub counterparty: String,
    /// Amount.
    pub amount: u64,
    /// Balance after the block.
    pub balance: u64,
}

impl From<CoreHistoryEntry> for HistoryEntry {
    fn from(h: CoreHistoryEntry) -> Self {
        HistoryEntry {
            height: h.height,
            outgoing: h.outgoing,
            counterparty: h.counterparty.to_hex(),
            amount: h.amount,
            balance: h.balance,
        }
    }
}

/// A snapshot of a node.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NodeStatus {
    /// This account, 64 hex characters.
    pub account_id: String,
    /// Certified balance.
    pub balance: u64,
    /// Certified head height (0: nothing certified yet).
    pub height: u64,
    /// Home stations connected now.
    pub stations_connected: u32,
    /// Whether the node is paused.
    pub paused: bool,
    /// The mobile-life profile applied now.
    pub profile: Profile,
    /// Whether the network is running (Active/Full, or during a `sync_once` or a user
    /// action in Saver).
    pub online: bool,
}

impl From<CoreNodeStatus> for NodeStatus {
    fn from(s: CoreNodeStatus) -> Self {
        NodeStatus {
            account_id: s.account.to_hex(),
            balance: s.balance,
            height: s.height,
            stations_connected: u32::try_from(s.stations_connected).unwrap_or(u32::MAX),
            paused: s.paused,
            profile: s.profile.into(),
            online: s.online,
        }
    }
}

/// Something that happened to a node, in order (see [`Node::next_event`]).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum NodeEvent {
    /// A send of this account was certified.
    TransferCertified {
        /// Block height.
        height: u64,
        /// Recipient, 64 hex characters.
        to: String,
        /// Amount.
        amount: u64,
        /// Submit → certificate, in milliseconds.
        latency_ms: u64,
    },
    /// A payment to this account was received (its `Receive` block certified).
    TransferReceived {
        /// Block height of the `Receive`.
        height: u64,
        /// Sender, 64 hex characters.
        from: String,
        /// Amount.
        amount: u64,
    },
    /// A `receive_pending` finished: `received` payments taken, `waiting` still pending
    /// (out of order; taken by a later call).
    SyncDone {
        /// Payments received by this sync.
        received: u32,
        /// Certified sends still waiting.
        waiting: u32,
    },
    /// A home station connected (`true`) or was lost (`false`).
    StationConnection {
        /// The station's peer id.
        peer: String,
        /// Connected or lost.
        connected: bool,
    },
    /// After `network_changed()`: reachable again after this many milliseconds.
    Reachable {
        /// Milliseconds since the change was reported.
        after_ms: u64,
    },
    /// The mobile-life profile changed (DESIGN.md §7), or only its settings did (`from`
    /// and `to` equal, e.g. Active from Wi-Fi to cellular).
    ProfileChanged {
        /// Before.
        from: Profile,
        /// Now.
        to: Profile,
    },
    /// A relay reservation on a home station was accepted (`held`) or lost.
    RelayReservation {
        /// The station's peer id.
        station: String,
        /// Held now, or lost.
        held: bool,
    },
    /// Work the node does on its own failed (a block resubmitted after a restart, a due
    /// profile change, a network restart, the push registration before Saver); it goes
    /// on.
    BackgroundError {
        /// What failed.
        operation: String,
        /// Why.
        message: String,
    },
    /// The node paused (sockets and databases closed).
    Paused,
    /// The node resumed.
    Resumed,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<CoreNodeEvent> for NodeEvent {
    fn from(e: CoreNodeEvent) -> Self {
        match e {
            CoreNodeEvent::TransferCertified {
                height,
                to,
                amount,
                latency_ms,
            } => NodeEvent::TransferCertified {
                height,
                to: to.to_hex(),
                amount,
                latency_ms,
            },
            CoreNodeEvent::TransferReceived {
                height,
                from,
                amount,
            } => NodeEvent::TransferReceived {
                height,
                from: from.to_hex(),
                amount,
            },
            CoreNodeEvent::SyncDone { received, waiting } => NodeEvent::SyncDone {
                received: count(received),
                waiting: count(waiting),
            },
            CoreNodeEvent::StationConnection { peer, connected } => {
                NodeEvent::StationConnection { peer, connected }
            }
            CoreNodeEvent::Reachable { after_ms } => NodeEvent::Reachable { after_ms },
            CoreNodeEvent::ProfileChanged { from, to } => NodeEvent::ProfileChanged {
                from: from.into(),
                to: to.into(),
            },
            CoreNodeEvent::RelayReservation { station, held } => {
                NodeEvent::RelayReservation { station, held }
            }
            CoreNodeEvent::BackgroundError { operation, message } => {
                NodeEvent::BackgroundError { operation, message }
            }
            CoreNodeEvent::Paused => NodeEvent::Paused,
            CoreNodeEvent::Resumed => NodeEvent::Resumed,
        }
    }
}

/// An event with its queue id, as [`Node::next_event`] returns it: acknowledge it with
/// [`Node::event_handled`] once the app has handled it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QueuedEvent {
    /// The id to acknowledge. Ids increase in the order events are queued; a durable
    /// event keeps its id across restarts.
    pub id: u64,
    /// What happened.
    pub event: NodeEvent,
    /// Stored until acknowledged, so it is delivered again after a restart:
    /// `TransferCertified` and `TransferReceived`. The other events live in memory only.
    pub durable: bool,
}

impl From<CoreQueuedEvent> for QueuedEvent {
    fn from(q: CoreQueuedEvent) -> Self {
        QueuedEvent {
            id: q.id,
            event: q.event.into(),
            durable: q.durable,
        }
    }
}

/// The four mobile-life profiles of DESIGN.md §7, from the least to the most active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Profile {
    /// Suspended by the OS: nothing open, databases closed.
    Suspended,
    /// No connection and no timer: `sync_once` in OS windows, on a push, and user actions
    /// connect for themselves.
    Saver,
    /// One connection to a home station: own transactions, live sync.
    Active,
    /// Charging on unmetered Wi-Fi: listens, overlay member.
    Full,
}

impl From<CoreProfile> for Profile {
    fn from(p: CoreProfile) -> Self {
        match p {
            CoreProfile::Suspended => Profile::Suspended,
            CoreProfile::Saver => Profile::Saver,
            CoreProfile::Active => Profile::Active,
            CoreProfile::Full => Profile::Full,
        }
    }
}

/// Whether the app is visible, running hidden, or about to be frozen by the OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AppState {
    /// Visible (Android: an activity started; iOS: `didBecomeActive`).
    Foreground,
    /// Running but not visible (Android: no started activity; iOS:
    /// `didEnterBackground`, a background task, a notification service extension).
    Background,
    /// The OS is about to freeze the process: the node closes sockets and databases.
    Suspended,
}

impl From<AppState> for CoreAppState {
    fn from(a: AppState) -> Self {
        match a {
            AppState::Foreground => CoreAppState::Foreground,
            AppState::Background => CoreAppState::Background,
            AppState::Suspended => CoreAppState::Suspended,
        }
    }
}

/// The push service a device token belongs to (DESIGN.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PushPlatform {
    /// Firebase Cloud Messaging (Android).
    Fcm,
    /// Apple Push Notification service (iOS).
    Apns,
}

impl From<PushPlatform> for zeropole_core::net::push::PushPlatform {
    fn from(p: PushPlatform) -> Self {
        match p {
            PushPlatform::Fcm => zeropole_core::net::push::PushPlatform::Fcm,
            PushPlatform::Apns => zeropole_core::net::push::PushPlatform::Apns,
        }
    }
}

/// The kind of the default network, as the OS reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NetworkKind {
    /// No usable network (named so that Swift's `.offline` never reads as `Optional.none`).
    Offline,
    /// Wi-Fi, or any other non-cellular link (Ethernet, USB tethering).
    Wifi,
    /// Cellular (always treated as metered).
    Cellular,
}

impl From<NetworkKind> for CoreNetworkKind {
    fn from(k: NetworkKind) -> Self {
        match k {
            NetworkKind::Offline => CoreNetworkKind::None,
            NetworkKind::Wifi => CoreNetworkKind::Wifi,
            NetworkKind::Cellular => CoreNetworkKind::Cellular,
        }
    }
}

/// A running ZeroPole node: this account's wallet (sign-once), its certified chain and a
/// connection to its home stations, on a small runtime of its own.
///
/// - Commands: `send`, `receive_pending`, `sync_once`, `pause`, `resume`, `stop`.
/// - Platform signals (DESIGN.md §7): `set_app_state`, `set_power`, `network_changed`;
///   the node keeps the last value of each and applies the profile the policy picks.
///   `register_push_token` lets its home station wake it when it is paid.
/// - Getters: `account_id`, `balance`, `history`, `status`.
/// - Output: `next_event` (the oldest unacknowledged event), then `event_handled(id)`,
///   in a loop (a Kotlin `Flow`, a Swift `AsyncStream`).
///
/// Every async call may be cancelled by the caller without harm (see the module docs).
/// After `stop`, every call fails with `NotRunning` and `next_event` returns `None`.
#[derive(uniffi::Object)]
pub struct Node {
    inner: Mutex<Option<Arc<CoreNode>>>,
    stop: watch::Sender<bool>,
    account_id: String,
    /// Serialises the signal calls, so that each applies the latest value of every
    /// signal, in the order the platform reported them.
    signals: tokio::sync::Mutex<()>,
}

impl Node {
    /// Changes one signal, keeping the last reported value of the others, and applies the
    /// whole set (the core compares; reporting an unchanged value is harmless).
    async fn update_signals(
        &self,
        change: impl FnOnce(&mut Signals) + Send + 'static,
    ) -> Result<Profile, NodeError> {
        let _order = self.signals.lock().await;
        self.with_core(|core| async move {
            let mut signals = core.signals();
            change(&mut signals);
            Ok(core.set_signals(signals).await?.into())
        })
        .await
    }

    fn core(&self) -> Result<Arc<CoreNode>, NodeError> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.clone().ok_or_else(NodeError::stopped)
    }

    /// Completes once `stop` has been called.
    fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.subscribe();
        async move {
            // An error means the sender is gone, i.e. the node object itself: stopped too.
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    }

    /// Runs `f` on the core node unless or until the node is stopped.
    async fn with_core<T, F, Fut>(&self, f: F) -> Result<T, NodeError>
    where
        F: FnOnce(Arc<CoreNode>) -> Fut,
        Fut: Future<Output = Result<T, NodeError>>,
    {
        let stopped = self.stopped();
        let core = self.core()?;
        tokio::select! {
            biased;
            () = stopped => Err(NodeError::stopped()),
            result = f(core) => result,
        }
    }
}

#[uniffi::export]
impl Node {
    /// Opens (or creates) the node of `phrase` in `config.data_dir` and starts its
    /// network. Blocks on SQLite and socket setup: call it off the UI thread.
    #[uniffi::constructor]
    pub fn start(config: NodeConfig, phrase: String) -> Result<Arc<Self>, NodeError> {
        // Apple platforms have no load hook (Android's is `JNI_OnLoad`): the unified log is
        // enabled here unless the app chose a level.
        #[cfg(target_vendor = "apple")]
        crate::logging::enable_platform_log_by_default();
        let core = CoreNode::start(config.into_core()?, &phrase)?;
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(Node {
            account_id: core.account().to_hex(),
            inner: Mutex::new(Some(Arc::new(core))),
            stop,
            signals: tokio::sync::Mutex::new(()),
        }))
    }

    /// This node's account id: 64 lowercase hex characters (valid after `stop` too).
    pub fn account_id(&self) -> String {
        self.account_id.clone()
    }

    /// Sends `amount` to the account `to` (64 hex characters) and returns once the
    /// committee certified it. Cancelling the call does not cancel the send.
    pub async fn send(&self, to: String, amount: u64) -> Result<Transfer, NodeError> {
        self.with_core(|core| async move { Ok(core.send(&to, amount).await?.into()) })
            .await
    }

    /// Receives every certified payment waiting for this account (that is next in its
    /// sender's order) and returns them, oldest first.
    pub async fn receive_pending(&self) -> Result<Vec<Transfer>, NodeError> {
        self.with_core(|core| async move {
            Ok(core
                .receive_pending()
                .await?
                .into_iter()
                .map(Transfer::from)
                .collect())
        })
        .await
    }

    /// The certified balance.
    pub async fn balance(&self) -> Result<u64, NodeError> {
        self.with_core(|core| async move { Ok(core.balance().await) })
            .await
    }

    /// Every certified block of this account, oldest first.
    pub async fn history(&self) -> Result<Vec<HistoryEntry>, NodeError> {
        self.with_core(|core| async move {
            Ok(core
                .history()
                .await
                .into_iter()
                .map(HistoryEntry::from)
                .collect())
        })
        .await
    }

    /// A snapshot of the node (balance, height, stations connected, paused).
    pub async fn status(&self) -> Result<NodeStatus, NodeError> {
        self.with_core(|core| async move { Ok(core.status().await.into()) })
            .await
    }

    /// The oldest event not yet acknowledged, waiting for one; `None` once the node is
    /// stopped. The same event is returned again until `event_handled(id)`; transfer
    /// events (`durable`) are returned again after a restart until then. Cancel-safe: a
    /// cancelled call takes nothing.
    pub async fn next_event(&self) -> Option<QueuedEvent> {
        self.with_core(|core| async move { Ok(core.wait_event().await) })
            .await
            .ok()
            .map(QueuedEvent::from)
    }

    /// Acknowledges the event `id` after the app handled it: it is removed (and deleted
    /// from the database if durable). Returns whether it was queued; acknowledging twice,
    /// an unknown id, or on a stopped node, is a no-op returning `false`.
    pub fn event_handled(&self, id: u64) -> bool {
        self.core().is_ok_and(|core| core.event_handled(id))
    }

    /// Like `next_event`, but also returns `None` as soon as `cancel` is cancelled (even
    /// if it was before the call). For foreign async runtimes whose task cancellation does
    /// not drop the Rust future (UniFFI's Swift bindings): the Swift layer cancels the
    /// token from `withTaskCancellationHandler`. No event is lost either way.
    pub async fn next_event_unless(&self, cancel: Arc<Cancellation>) -> Option<QueuedEvent> {
        let mut cancelled = cancel.tx.subscribe();
        tokio::select! {
            biased;
            _ = cancelled.wait_for(|c| *c) => None,
            event = self.next_event() => event,
        }
    }

    /// Pauses (the app goes to the background): waits for the operation in progress, then
    /// closes the sockets and both databases. Commands fail with `NotRunning` until
    /// `resume`.
    pub async fn pause(&self) -> Result<(), NodeError> {
        self.with_core(|core| async move { Ok(core.pause().await?) })
            .await
    }

    /// Resumes after `pause`: reopens the databases and the network. Idempotent.
    pub async fn resume(&self) -> Result<(), NodeError> {
        self.with_core(|core| async move { Ok(core.resume().await?) })
            .await
    }

    /// The app's state changed (foreground, background, suspended): the node applies the
    /// profile the policy picks with the other signals last reported, and returns it.
    /// `ProfileChanged` is queued when it changes. Backgrounding from Active waits a grace
    /// period (10 s by default) before Saver; the returned profile is the one applied now.
    pub async fn set_app_state(&self, state: AppState) -> Result<Profile, NodeError> {
        self.update_signals(move |s| s.app = state.into()).await
    }

    /// The power situation changed: battery level (0–100), on a charger, OS power saver
    /// (Android battery saver, iOS Low Power Mode). Returns the profile applied now.
    ///
    /// Errors: `InvalidSignal` for a battery level above 100 (nothing is changed).
    pub async fn set_power(
        &self,
        battery_percent: u8,
        charging: bool,
        power_saver: bool,
    ) -> Result<Profile, NodeError> {
        if battery_percent > 100 {
            return Err(NodeError::InvalidSignal(format!(
                "battery level {battery_percent} % is above 100 %"
            )));
        }
        self.update_signals(move |s| {
            s.power = Power {
                battery_percent,
                charging,
                power_saver,
            }
        })
        .await
    }

    /// The OS reported a network change: the default network's kind and whether it is
    /// metered (cellular always counts as metered), also when only the address changed.
    /// The node applies the profile this gives (no network: Saver) and, if it keeps a
    /// connection, reconnects and queues `Reachable` when its stations answer again.
    /// Returns the profile applied now.
    #[uniffi::method(default(metered = false))]
    pub async fn network_changed(
        &self,
        kind: NetworkKind,
        metered: bool,
    ) -> Result<Profile, NodeError> {
        let profile = self
            .update_signals(move |s| {
                s.network = CoreNetwork {
                    kind: kind.into(),
                    metered: metered || kind == NetworkKind::Cellular,
                }
            })
            .await?;
        if kind != NetworkKind::Offline && matches!(profile, Profile::Active | Profile::Full) {
            let redial = self
                .with_core(|core| async move { Ok(core.network_changed().await?) })
                .await;
            match redial {
                Ok(()) => {}
                // The network was closed meanwhile (a pause, another signal): nothing to
                // redial, the profile's next start dials afresh.
                Err(NodeError::NotRunning(_)) if !self.is_stopped() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(profile)
    }

    /// The one unit of background work (DESIGN.md §7), for JobScheduler / WorkManager
    /// windows, BGAppRefreshTask, a notification service extension or a push: connects if
    /// the profile keeps no connection (Saver), receives every payment waiting, submits
    /// what is queued, and disconnects again. Returns the payments received, oldest first
    /// (each also queued as a durable `TransferReceived` event).
    pub async fn sync_once(&self) -> Result<Vec<Transfer>, NodeError> {
        self.with_core(|core| async move {
            Ok(core
                .sync_once()
                .await?
                .into_iter()
                .map(Transfer::from)
                .collect())
        })
        .await
    }

    /// Registers the device's push token (FCM on Android, APNs on iOS; an empty token
    /// unregisters) with a home station, which then wakes the app with a content-free
    /// push when a payment arrives while the node holds no connection (Saver). Answer the
    /// push with `sync_once()`. The token is kept across restarts and registered again
    /// each time the node enters Saver. Fails with `InvalidPushToken` for a malformed
    /// token (nothing stored), `Network` if no home station took it (it is kept and sent
    /// again on the next move to Saver).
    pub async fn register_push_token(
        &self,
        platform: PushPlatform,
        token: String,
    ) -> Result<(), NodeError> {
        self.with_core(|core| async move {
            core.register_push_token(platform.into(), &token)
                .await
                .map_err(NodeError::from)
        })
        .await
    }

    /// Whether `stop` has been called.
    pub fn is_stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Stops the node: calls in flight return (`NotRunning`, or `None` for
    /// `next_event`), then the network and every task end and the databases close.
    /// Idempotent; the object stays safe to call.
    pub fn stop(&self) {
        let core = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.stop.send_replace(true);
        // The core node shuts down when the last call in flight drops its reference; if
        // there is none, right here.
        drop(core);
    }
}

/// A one-shot cancellation signal for [`Node::next_event_unless`]: once cancelled, it
/// stays cancelled. Make one per wait.
#[derive(uniffi::Object)]
pub struct Cancellation {
    tx: watch::Sender<bool>,
}

#[uniffi::export]
impl Cancellation {
    /// A signal not yet cancelled.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Cancellation {
            tx: watch::channel(false).0,
        })
    }

    /// Cancels: the wait using this signal returns `None` now or as soon as it starts.
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        *self.tx.borrow()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}
