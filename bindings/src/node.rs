//! The `Node` object of the FFI and its records (DESIGN.md §9).
//!
//! The core [`zeropole_core::node::Node`] owns its tokio runtime and runs every operation
//! there, so its async methods only wait on channels: they can be polled by any executor
//! (Kotlin coroutines, Swift tasks). That is why these exports need no `async_runtime`:
//! nothing here requires a tokio reactor on the caller's thread.
//!
//! Cancellation: when Kotlin cancels a coroutine or Swift a task, UniFFI drops the Rust
//! future. Dropping `send`/`receive_pending`/`pause`/`resume` only drops the wait: the core
//! runs the operation to completion on its runtime (its result then shows in `history`,
//! `balance` and the events). Dropping `next_event` loses no event (the core's
//! `next_event` is cancel-safe).
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
    HistoryEntry as CoreHistoryEntry, Node as CoreNode, NodeConfig as CoreNodeConfig,
    NodeEvent as CoreNodeEvent, NodeStatus as CoreNodeStatus, Transfer as CoreTransfer,
};

use crate::NodeError;

/// How to start a [`Node`].
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
}

impl NodeConfig {
    fn into_core(self) -> Result<CoreNodeConfig, NodeError> {
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
}

impl From<CoreNodeStatus> for NodeStatus {
    fn from(s: CoreNodeStatus) -> Self {
        NodeStatus {
            account_id: s.account.to_hex(),
            balance: s.balance,
            height: s.height,
            stations_connected: u32::try_from(s.stations_connected).unwrap_or(u32::MAX),
            paused: s.paused,
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
    /// The mobile-life profile changed (`Full`, `Active`, `Saver` or `Suspended`).
    ProfileChanged {
        /// Before.
        from: String,
        /// Now.
        to: String,
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
                from: format!("{from:?}"),
                to: format!("{to:?}"),
            },
            CoreNodeEvent::Paused => NodeEvent::Paused,
            CoreNodeEvent::Resumed => NodeEvent::Resumed,
        }
    }
}

/// A running ZeroPole node: this account's wallet (sign-once), its certified chain and a
/// connection to its home stations, on a small runtime of its own.
///
/// - Commands: `send`, `receive_pending`, `pause`, `resume`, `network_changed`, `stop`.
/// - Getters: `account_id`, `balance`, `history`, `status`.
/// - Output: `next_event`, pulled in a loop (a Kotlin `Flow`, a Swift `AsyncStream`).
///
/// Every async call may be cancelled by the caller without harm (see the module docs).
/// After `stop`, every call fails with `NotRunning` and `next_event` returns `None`.
#[derive(uniffi::Object)]
pub struct Node {
    inner: Mutex<Option<Arc<CoreNode>>>,
    stop: watch::Sender<bool>,
    account_id: String,
}

impl Node {
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
        let core = CoreNode::start(config.into_core()?, &phrase)?;
        let (stop, _) = watch::channel(false);
        Ok(Arc::new(Node {
            account_id: core.account().to_hex(),
            inner: Mutex::new(Some(Arc::new(core))),
            stop,
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

    /// The next event, waiting for one; `None` once the node is stopped. Cancel-safe: a
    /// cancelled call loses no event, the next call returns it.
    pub async fn next_event(&self) -> Option<NodeEvent> {
        self.with_core(|core| async move { Ok(core.next_event().await) })
            .await
            .ok()
            .flatten()
            .map(NodeEvent::from)
    }

    /// Like `next_event`, but also returns `None` as soon as `cancel` is cancelled (even
    /// if it was before the call). For foreign async runtimes whose task cancellation does
    /// not drop the Rust future (UniFFI's Swift bindings): the Swift layer cancels the
    /// token from `withTaskCancellationHandler`. No event is lost either way.
    pub async fn next_event_unless(&self, cancel: Arc<Cancellation>) -> Option<NodeEvent> {
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

    /// The OS reported a network change (Wi-Fi ↔ cellular, a new address): the node
    /// reconnects and reports `Reachable` when its stations answer again.
    pub async fn network_changed(&self) -> Result<(), NodeError> {
        self.with_core(|core| async move { Ok(core.network_changed().await?) })
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
