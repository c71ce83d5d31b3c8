//! The `Node` a phone app embeds (DESIGN.md §1, §7, §9): it owns a small tokio runtime,
//! its wallet (sign-once SQLite), its own certified chain (SQLite) and a libp2p swarm, and
//! serves commands (send, receive pending, balance, history, status) and events.
//!
//! Every async method runs on the node's own runtime, so the caller's thread (a Kotlin
//! coroutine, a Swift task, a test) never blocks and its runtime does not matter.
//! Operations on the account are serialised: one block at a time, heights in order.
//!
//! Durability: a block is signed through the wallet's sign-once guard (recorded before the
//! signature exists), and its certificate is written to the chain store before the node
//! reports it. After a crash between the two, [`Node::start`] finds the signed block at
//! head + 1 and submits it again (the same block: sign-once makes that idempotent).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use libp2p::{identity, Multiaddr};

use super::events::{EventQueue, QueuedEvent};
use super::NodeError;
use crate::crypto::{AccountId, SeedPhrase, Signature};
use crate::genesis::Genesis;
use crate::ledger::{
    apply_certified, next_receive, next_send, AccountState, Block, BlockBody, DmappId, Op,
};
use crate::net::push::{PushPlatform, PushRegistration};
use crate::net::{NetConfig, NetEvent, NetHandle, Network};
use crate::poc::{AttestRequest, Certificate, Epoch};
use crate::store::{ChainStore, SqliteWitnessStore, Store, TransferEvent, TransferEventKind};
use crate::wallet::Wallet;

/// How to start a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Where the node keeps its databases and transport key (the app's no-backup dir).
    pub data_dir: PathBuf,
    /// The network's genesis (TOML, R_0).
    pub genesis_toml: String,
    /// Home stations: multiaddrs ending in `/p2p/<peer id>` (at least one; two from
    /// different operators in production).
    pub home_stations: Vec<String>,
    /// The dmapp this app is (its blocks carry this id); must be reviewed in the genesis
    /// registry. `DmappId::WALLET` (all zeros) is the built-in wallet.
    pub dmapp: DmappId,
    /// Threads of the node's runtime (phones: 1–2).
    pub worker_threads: usize,
    /// What the user and the app chose for the mobile-life policy (Full in the
    /// background, witness opt-in); `Preferences::default()`: neither.
    pub preferences: super::Preferences,
    /// The policy's hysteresis and debounce (battery thresholds, Full entry delay,
    /// background grace); `PolicyConfig::default()` is DESIGN.md §7's.
    pub policy: super::PolicyConfig,
}

/// Something that happened, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// A transfer of this account was certified.
    TransferCertified {
        /// Block height.
        height: u64,
        /// Recipient.
        to: AccountId,
        /// Amount.
        amount: u64,
        /// Submit → certificate, in milliseconds.
        latency_ms: u64,
    },
    /// A payment to this account was received (its `Receive` certified).
    TransferReceived {
        /// Block height of the `Receive`.
        height: u64,
        /// Sender.
        from: AccountId,
        /// Amount.
        amount: u64,
    },
    /// An inbox sync finished: `received` payments taken, `waiting` still pending (out of
    /// order, to be taken next time).
    SyncDone {
        /// Payments received in this sync.
        received: usize,
        /// Certified sends still waiting.
        waiting: usize,
    },
    /// A home station connected (`true`) or was lost (`false`).
    StationConnection {
        /// The station's PeerId.
        peer: String,
        /// Connected or lost.
        connected: bool,
    },
    /// After `network_changed()`: reachable again after this many milliseconds.
    Reachable {
        /// Milliseconds since the change was reported.
        after_ms: u64,
    },
    /// The mobile-life profile changed (DESIGN.md §7) and was applied.
    ProfileChanged {
        /// Before.
        from: super::Profile,
        /// Now.
        to: super::Profile,
    },
    /// A relay reservation on a home station was accepted (`held`) or lost (Full holds
    /// them, so that other phones can reach this one through its stations).
    RelayReservation {
        /// The station's PeerId.
        station: String,
        /// Held now, or lost.
        held: bool,
    },
    /// Work the node does on its own failed (no call to return the error to): the
    /// resubmission of a block signed before a crash, applying a profile change that was
    /// due, restarting the network for new profile settings, the push registration before
    /// entering Saver. The node goes on; the app may tell the user or retry.
    BackgroundError {
        /// What failed.
        operation: String,
        /// Why.
        message: String,
    },
    /// The node paused (sockets and SQLite closed).
    Paused,
    /// The node resumed.
    Resumed,
}

/// A snapshot of the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// This account.
    pub account: AccountId,
    /// Certified balance.
    pub balance: u64,
    /// Certified head height.
    pub height: u64,
    /// Home stations connected now.
    pub stations_connected: usize,
    /// Whether the node is paused.
    pub paused: bool,
    /// The mobile-life profile applied now.
    pub profile: super::Profile,
    /// Whether the network is running (Active/Full, or during a `sync_once`).
    pub online: bool,
}

/// One certified block of this account, for the app's history screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Height.
    pub height: u64,
    /// Sent (`true`) or received.
    pub outgoing: bool,
    /// The other account.
    pub counterparty: AccountId,
    /// Amount.
    pub amount: u64,
    /// Balance after the block.
    pub balance: u64,
}

/// A certified transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The block's height.
    pub height: u64,
    /// Balance after it.
    pub balance: u64,
    /// Its certificate.
    pub certificate: Certificate,
}

struct Book {
    wallet: Option<Wallet>,
    chain: Option<ChainStore>,
    state: AccountState,
    certs: Vec<Certificate>,
}

struct Shared {
    config: NodeConfig,
    phrase: SeedPhrase,
    account: AccountId,
    epoch: Epoch,
    transport_key: identity::Keypair,
    home: Vec<Multiaddr>,
    book: tokio::sync::Mutex<Book>,
    net: Mutex<Option<NetHandle>>,
    /// The profile settings the running network was started with.
    applied: Mutex<Option<super::ProfileSettings>>,
    /// Incremented each time a network starts (see `close_on_demand`).
    net_generation: std::sync::atomic::AtomicU64,
    /// The app's push token (DESIGN.md §7), also kept in `<data_dir>/push-token`.
    push: Mutex<Option<(PushPlatform, String)>>,
    events: Arc<EventQueue>,
    policy: Mutex<super::PolicyState>,
    started: Instant,
}

/// A running node. Dropping it stops it.
pub struct Node {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn transport_key(dir: &std::path::Path) -> Result<identity::Keypair, NodeError> {
    let path = dir.join("transport.key");
    if let Ok(bytes) = std::fs::read(&path) {
        return identity::Keypair::from_protobuf_encoding(&bytes)
            .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())));
    }
    let key = identity::Keypair::generate_ed25519();
    let bytes = key
        .to_protobuf_encoding()
        .map_err(|e| NodeError::Config(e.to_string()))?;
    std::fs::write(&path, bytes)
        .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(key)
}

impl Node {
    /// Opens (or creates) the node of `phrase` in `config.data_dir` and starts its
    /// network. Fails with a typed error on a bad phrase, genesis, address or dmapp.
    pub fn start(config: NodeConfig, phrase: &str) -> Result<Node, NodeError> {
        let genesis = Genesis::from_toml_str(&config.genesis_toml)
            .map_err(|e| NodeError::Config(format!("genesis: {e}")))?;
        let epoch = genesis.epoch0();
        if config.dmapp != DmappId::WALLET && !epoch.rules.dmapps.contains(&config.dmapp) {
            return Err(NodeError::UnreviewedDmapp(hex::encode(config.dmapp.0)));
        }
        if config.home_stations.is_empty() {
            return Err(NodeError::Config("no home station".into()));
        }
        let home = config
            .home_stations
            .iter()
            .map(|s| {
                s.parse::<Multiaddr>()
                    .map_err(|e| NodeError::Config(format!("home station {s:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| NodeError::Config(format!("{}: {e}", config.data_dir.display())))?;
        let wallet = Wallet::restore(config.data_dir.join("wallet.db"), phrase)?;
        let phrase = SeedPhrase::parse(phrase).map_err(crate::wallet::WalletError::Phrase)?;
        let account = wallet.account_id();
        let chain = ChainStore::new(Store::open(config.data_dir.join("chain.db"))?)?;
        let genesis_state = genesis
            .genesis_states()
            .into_iter()
            .find(|(a, _)| *a == account)
            .map(|(_, s)| s);
        let certs = chain.certificates(&account)?;
        let events = EventQueue::new(
            chain
                .events(&account)?
                .into_iter()
                .map(|e| (e.id, transfer_event(&e)))
                .collect(),
            chain.max_event_id()?,
        );
        // Accounts without an allocation start from an empty state at height 0 (they
        // can receive; their first block will need an `Open` — not supported yet).
        let mut state = genesis_state.unwrap_or_else(|| AccountState {
            public_key: wallet.public_key().clone(),
            head_height: 0,
            head_hash: crate::crypto::hash_tagged(
                crate::crypto::Domain::Block,
                &wallet.public_key().to_bytes(),
            ),
            balance: 0,
            last_timestamp_ms: 0,
            last_sent_to: Default::default(),
            recv_cursor: Default::default(),
        });
        for c in &certs {
            state = apply_certified(&state, &c.block);
        }
        let transport_key = transport_key(&config.data_dir)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.worker_threads.max(1))
            .thread_name("zeropole-node")
            .on_thread_start(|| ON_NODE_RUNTIME.with(|on| on.set(true)))
            .enable_all()
            .build()
            .map_err(|e| NodeError::Config(format!("runtime: {e}")))?;
        let data_dir = config.data_dir.clone();
        let (policy, preferences) = (config.policy, config.preferences);
        let shared = Arc::new(Shared {
            config,
            phrase,
            account,
            epoch,
            transport_key,
            home,
            book: tokio::sync::Mutex::new(Book {
                wallet: Some(wallet),
                chain: Some(chain),
                state,
                certs,
            }),
            net: Mutex::new(None),
            applied: Mutex::new(None),
            net_generation: std::sync::atomic::AtomicU64::new(0),
            push: Mutex::new(read_push_token(&data_dir)),
            events: Arc::new(events),
            policy: Mutex::new(super::PolicyState::new(
                policy,
                preferences,
                default_signals(),
                0,
            )),
            started: Instant::now(),
        });
        {
            let _guard = runtime.enter();
            // An expired network is left alone: stored state stays readable.
            if shared.expired().is_none() {
                shared.start_network(false)?;
            }
        }
        let node = Node {
            runtime: Some(runtime),
            shared,
        };
        // A block signed before a crash but never certified goes out again.
        let shared = node.shared.clone();
        node.rt()?.spawn(async move {
            if let Err(e) = shared.resubmit_signed().await {
                log::warn!("resubmitting the pending block failed: {e}");
                shared.background_error("resubmitting a block signed before a restart", &e);
            }
        });
        Ok(node)
    }

    fn rt(&self) -> Result<&tokio::runtime::Runtime, NodeError> {
        self.runtime
            .as_ref()
            .ok_or(NodeError::NotRunning("stopped"))
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl std::future::Future<Output = Result<T, NodeError>> + Send + 'static,
    ) -> Result<T, NodeError> {
        self.rt()?
            .spawn(f)
            .await
            .map_err(|_| NodeError::NotRunning("stopped"))?
    }

    /// Runs `op` on the node's runtime with the network up: a profile that keeps no
    /// connection (Saver) gets one for this operation only.
    async fn run_online<T, F, Fut>(&self, op: F) -> Result<T, NodeError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Shared>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<T, NodeError>> + Send + 'static,
    {
        let shared = self.shared.clone();
        if let Some(t) = shared.expired() {
            log::warn!("epoch record expired at {t}: refusing to use the network");
            return Err(NodeError::EpochExpired(t));
        }
        self.run(async move {
            let opened = shared.ensure_online().await?;
            let result = op(shared.clone()).await;
            if let Some(generation) = opened {
                shared.close_on_demand(generation);
            }
            result
        })
        .await
    }

    /// This node's account.
    pub fn account(&self) -> AccountId {
        self.shared.account
    }

    /// Sends `amount` to `to` (64 hex characters) and waits for the certificate.
    pub async fn send(&self, to: &str, amount: u64) -> Result<Transfer, NodeError> {
        let to: AccountId = to
            .parse()
            .map_err(|_| NodeError::InvalidAccount(to.to_string()))?;
        self.run_online(move |shared| async move { shared.send(to, amount).await })
            .await
    }

    /// Receives every certified payment waiting for this account that is next in its
    /// sender's order; returns them.
    pub async fn receive_pending(&self) -> Result<Vec<Transfer>, NodeError> {
        self.run_online(|shared| async move { shared.receive_pending().await })
            .await
    }

    /// Certified balance.
    pub async fn balance(&self) -> u64 {
        self.shared.book.lock().await.state.balance
    }

    /// Every certified block of this account since genesis, oldest first.
    pub async fn history(&self) -> Vec<HistoryEntry> {
        let book = self.shared.book.lock().await;
        book.certs
            .iter()
            .filter_map(|c| {
                let b = &c.block.body;
                match &b.op {
                    Op::Send { to, amount, .. } => Some(HistoryEntry {
                        height: b.height,
                        outgoing: true,
                        counterparty: *to,
                        amount: *amount,
                        balance: b.balance,
                    }),
                    Op::Receive { from, amount, .. } => Some(HistoryEntry {
                        height: b.height,
                        outgoing: false,
                        counterparty: *from,
                        amount: *amount,
                        balance: b.balance,
                    }),
                    Op::Open { .. } => None,
                }
            })
            .collect()
    }

    /// The node's state.
    pub async fn status(&self) -> NodeStatus {
        let net = self.shared.net();
        let connected = match net {
            Some(net) => match net.status().await {
                Ok(s) => {
                    let home: Vec<_> = self
                        .shared
                        .home
                        .iter()
                        .filter_map(crate::net::peer_id_of)
                        .collect();
                    s.connected.iter().filter(|p| home.contains(p)).count()
                }
                Err(_) => 0,
            },
            None => 0,
        };
        let online = self.shared.net().is_some();
        let profile = self.shared.profile();
        let book = self.shared.book.lock().await;
        NodeStatus {
            account: self.shared.account,
            balance: book.state.balance,
            height: book.state.head_height,
            stations_connected: connected,
            paused: book.wallet.is_none(),
            profile,
            online,
        }
    }

    /// Takes the next event: waits for the oldest unacknowledged one, acknowledges it and
    /// returns it (always `Some`; the `Option` is kept for callers written when a stopped
    /// node returned `None`). Cancel-safe: a cancelled call loses no event. Apps that must
    /// not lose a transfer event to a crash use [`Node::wait_event`] and acknowledge it
    /// after handling it.
    pub async fn next_event(&self) -> Option<NodeEvent> {
        let queued = self.wait_event().await;
        self.event_handled(queued.id);
        Some(queued.event)
    }

    /// The oldest event not yet acknowledged, waiting for one; the same event again until
    /// [`Node::event_handled`] is called with its id. Transfer events are durable: they are
    /// returned again after a restart until acknowledged (see `node::events`). Cancel-safe.
    pub async fn wait_event(&self) -> QueuedEvent {
        self.shared.events.wait().await
    }

    /// Acknowledges the event `id` (it is deleted from the store if durable). Returns
    /// whether it was queued; acknowledging twice, or an unknown id, is a no-op.
    pub fn event_handled(&self, id: u64) -> bool {
        let queued = self.shared.events.handled(id);
        if !queued {
            return false;
        }
        // The row is deleted now if the store is free, else as soon as it is (an operation
        // in progress may hold it for a network round trip). A crash before that delivers
        // the event again after the restart; it is never lost.
        if let Ok(mut book) = self.shared.book.try_lock() {
            self.shared.flush_acked(&mut book);
        } else if let Ok(rt) = self.rt() {
            let shared = self.shared.clone();
            rt.spawn(async move {
                let mut book = shared.book.lock().await;
                shared.flush_acked(&mut book);
            });
        }
        true
    }

    /// Events queued and not yet acknowledged.
    pub fn events_queued(&self) -> usize {
        self.shared.events.len()
    }

    /// The platform signals the policy last received (the start-up defaults until
    /// [`Node::set_signals`]): wrappers that report one signal at a time update these.
    pub fn signals(&self) -> super::Signals {
        self.shared
            .policy
            .lock()
            .map(|p| *p.signals())
            .unwrap_or_else(|_| default_signals())
    }

    /// The OS reported a network change (forwarded to the swarm; see `NetHandle`).
    pub async fn network_changed(&self) -> Result<(), NodeError> {
        let net = self.shared.net().ok_or(NodeError::NotRunning("paused"))?;
        net.network_changed().await?;
        Ok(())
    }

    /// Registers the app's push token (FCM on Android, APNs on iOS; empty: unregister)
    /// with a home station, which then wakes the app with a content-free push when a
    /// payment to this account arrives while it holds no connection (DESIGN.md §7). The
    /// token is kept (also across restarts) and registered again each time the node
    /// enters Saver. Opens the network for the registration if the profile keeps none.
    pub async fn register_push_token(
        &self,
        platform: PushPlatform,
        token: &str,
    ) -> Result<(), NodeError> {
        let token = token.to_string();
        // Checked (and signed) before anything is stored.
        self.shared.push_registration(platform, &token)?;
        write_push_token(&self.shared.config.data_dir, platform, &token)?;
        if let Ok(mut push) = self.shared.push.lock() {
            *push = (!token.is_empty()).then_some((platform, token));
        }
        self.run_online(move |shared| async move { shared.send_push_registration().await })
            .await
    }

    /// The platform's signals changed (app state, power, network; DESIGN.md §7): the
    /// policy picks a profile and the node applies it. Saver closes the network (no
    /// connection, no timer; `sync_once` and user actions open it on demand); Suspended
    /// also closes the databases (like `pause`); Active and Full run the network with their
    /// timers. Returns the profile now applied.
    pub async fn set_signals(&self, signals: super::Signals) -> Result<super::Profile, NodeError> {
        let shared = self.shared.clone();
        self.run(async move { shared.set_signals(signals).await })
            .await
    }

    /// The one unit of background work (DESIGN.md §7): connect if needed, take what is
    /// waiting, and disconnect again if the profile keeps no connection (Saver).
    pub async fn sync_once(&self) -> Result<Vec<Transfer>, NodeError> {
        self.receive_pending().await
    }

    /// Pauses: waits for the operation in progress, closes the sockets and both SQLite
    /// databases (iOS kills suspended apps that hold file locks).
    pub async fn pause(&self) -> Result<(), NodeError> {
        let shared = self.shared.clone();
        self.run(async move { shared.pause().await }).await
    }

    /// Resumes after [`pause`](Self::pause): reopens the databases and the network.
    pub async fn resume(&self) -> Result<(), NodeError> {
        let shared = self.shared.clone();
        self.run(async move { shared.resume().await }).await
    }

    /// Stops the node: the network closes its connections properly (waiting at most two
    /// seconds), then every task ends and the databases close. Dropping the node does
    /// the same.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // Acknowledgements not yet written go to the store now if it is free (otherwise
        // those events are delivered again after the restart).
        if let Ok(mut book) = self.shared.book.try_lock() {
            self.shared.flush_acked(&mut book);
        }
        let net = self.shared.take_network();
        if let Some(rt) = self.runtime.take() {
            if let Some(net) = net {
                // Close the connections properly before the runtime goes: peers then drop
                // this node at once instead of keeping it until their idle timeout.
                let close = async move {
                    let _ = tokio::time::timeout(NETWORK_CLOSE_WAIT, net.shutdown()).await;
                };
                if ON_NODE_RUNTIME.with(|on| on.get()) {
                    // The last reference went with a task of the node's own runtime: its
                    // workers cannot be waited on from here, so the close is not awaited
                    // (the peers then drop this node at their idle timeout).
                    log::debug!("node dropped on its own runtime; connections not closed");
                } else if tokio::runtime::Handle::try_current().is_err() {
                    rt.block_on(close);
                } else {
                    // Called from async code (a runtime cannot be entered from inside
                    // another): wait from a thread of its own, at most NETWORK_CLOSE_WAIT.
                    std::thread::scope(|scope| {
                        scope.spawn(|| rt.block_on(close));
                    });
                }
            }
            rt.shutdown_background();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Shared {
    fn net(&self) -> Option<NetHandle> {
        self.net.lock().ok().and_then(|n| n.clone())
    }

    /// The profile's settings now.
    fn settings(&self) -> super::ProfileSettings {
        self.policy
            .lock()
            .map(|p| p.current().settings)
            .unwrap_or_else(|_| {
                super::ProfileSettings::for_profile(
                    super::Profile::Active,
                    super::Network::WIFI,
                    false,
                )
            })
    }

    /// Starts the network as the current profile configures it (DESIGN.md §7: held home
    /// connections, reservations, AutoNAT, DCUtR, kad, timers). `on_demand`: for one
    /// operation of a profile that holds no connection (Saver), with one home station.
    fn start_network(self: &Arc<Self>, on_demand: bool) -> Result<(), NodeError> {
        if let Some(t) = self.expired() {
            return Err(NodeError::EpochExpired(t));
        }
        let settings = self.settings();
        let mut config = settings
            .net_config(&NetConfig::phone(self.home.clone()))
            .ok_or(NodeError::NotRunning("suspended"))?;
        if on_demand {
            config.home_connections = config.home_connections.max(1);
        }
        if let Ok(mut applied) = self.applied.lock() {
            *applied = Some(settings);
        }
        let handle = Network::start::<SqliteWitnessStore>(
            config,
            self.transport_key.clone(),
            self.epoch.clone(),
            None,
        )?;
        let mut events = handle.events();
        let home: Vec<_> = self
            .home
            .iter()
            .filter_map(crate::net::peer_id_of)
            .collect();
        let queue = self.events.clone();
        tokio::spawn(async move {
            loop {
                let event = match events.recv().await {
                    Ok(NetEvent::Connected { peer, .. }) if home.contains(&peer) => {
                        NodeEvent::StationConnection {
                            peer: peer.to_string(),
                            connected: true,
                        }
                    }
                    Ok(NetEvent::Disconnected { peer }) if home.contains(&peer) => {
                        NodeEvent::StationConnection {
                            peer: peer.to_string(),
                            connected: false,
                        }
                    }
                    Ok(NetEvent::Reachable { after }) => NodeEvent::Reachable {
                        after_ms: after.as_millis() as u64,
                    },
                    Ok(NetEvent::ReservationAccepted { relay, .. }) => {
                        NodeEvent::RelayReservation {
                            station: relay.to_string(),
                            held: true,
                        }
                    }
                    Ok(NetEvent::ReservationLost { relay, .. }) => NodeEvent::RelayReservation {
                        station: relay.to_string(),
                        held: false,
                    },
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                queue.push(event);
            }
        });
        if let Ok(mut net) = self.net.lock() {
            *net = Some(handle);
        }
        self.net_generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }

    fn emit(&self, event: NodeEvent) {
        self.events.push(event);
    }

    /// Reports a failure of work the node does on its own.
    fn background_error(&self, operation: &str, error: &NodeError) {
        self.emit(NodeEvent::BackgroundError {
            operation: operation.to_string(),
            message: error.to_string(),
        });
    }

    /// Deletes the durable events acknowledged so far, if the chain store is open (paused:
    /// kept for later).
    fn flush_acked(&self, book: &mut Book) {
        let ids = self.events.take_acked();
        if ids.is_empty() {
            return;
        }
        let result = match book.chain.as_mut() {
            Some(chain) => chain.delete_events(&ids),
            None => {
                self.events.restore_acked(ids);
                return;
            }
        };
        if let Err(e) = result {
            log::warn!("deleting acknowledged events: {e}");
            self.events.restore_acked(ids);
        }
    }

    fn profile(&self) -> super::Profile {
        self.policy
            .lock()
            .map(|p| p.current().profile)
            .unwrap_or(super::Profile::Active)
    }

    /// The epoch record's `not_after`, if this phone's clock is past it (DESIGN.md §4).
    fn expired(&self) -> Option<u64> {
        self.epoch
            .not_after
            .filter(|_| self.epoch.is_expired(now_ms()))
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Starts the network for one operation if the profile keeps none (Saver); returns
    /// whether it did (the caller closes it again).
    async fn ensure_online(self: &Arc<Self>) -> Result<Option<u64>, NodeError> {
        if self.net().is_some() {
            return Ok(None);
        }
        if self.book.lock().await.wallet.is_none() {
            return Err(NodeError::NotRunning("paused"));
        }
        self.start_network(true)?;
        // Wait (bounded) for a home station, so the operation does not race the dial.
        if let Some(net) = self.net() {
            let home: Vec<_> = self
                .home
                .iter()
                .filter_map(crate::net::peer_id_of)
                .collect();
            for _ in 0..100 {
                if let Ok(s) = net.status().await {
                    if s.connected.iter().any(|p| home.contains(p)) {
                        break;
                    }
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        Ok(Some(
            self.net_generation
                .load(std::sync::atomic::Ordering::SeqCst),
        ))
    }

    /// Closes the network an operation opened on demand (`generation`, from
    /// [`ensure_online`](Self::ensure_online)), unless a profile change has replaced it
    /// since or the profile now keeps a connection.
    fn close_on_demand(&self, generation: u64) {
        let current = self
            .net_generation
            .load(std::sync::atomic::Ordering::SeqCst);
        if current == generation && self.settings().home_connections == 0 {
            self.go_offline();
        }
    }

    fn push_token(&self) -> Option<(PushPlatform, String)> {
        self.push.lock().ok().and_then(|p| p.clone())
    }

    /// A registration of `token` signed by the account key now.
    fn push_registration(
        &self,
        platform: PushPlatform,
        token: &str,
    ) -> Result<PushRegistration, NodeError> {
        let mut keys = self
            .phrase
            .derive_key_pair(0)
            .map_err(|e| NodeError::Config(format!("account key: {e}")))?;
        PushRegistration::sign(&mut keys, platform, token, now_ms()).map_err(|e| match e {
            crate::net::push::PushError::InvalidToken(m) => NodeError::InvalidPushToken(m),
            crate::net::push::PushError::Crypto(c) => NodeError::Config(c.to_string()),
        })
    }

    /// Sends the current push token (or its removal) to a home station.
    async fn send_push_registration(&self) -> Result<(), NodeError> {
        let (platform, token) = self
            .push_token()
            .unwrap_or((PushPlatform::Fcm, String::new()));
        let registration = self.push_registration(platform, &token)?;
        let net = self.net().ok_or(NodeError::NotRunning("offline"))?;
        net.register_push(registration).await?;
        Ok(())
    }

    /// Restarts a running network whose profile settings changed without a profile
    /// change (e.g. Active moving from Wi-Fi to cellular: longer keep-alive, no DCUtR).
    fn reconfigure(self: &Arc<Self>) {
        let settings = self.settings();
        let stale = self
            .applied
            .lock()
            .map(|a| a.is_some_and(|a| a != settings))
            .unwrap_or(false);
        if stale && self.net().is_some() && settings.home_connections > 0 {
            log::info!("profile settings changed; restarting the network");
            self.go_offline();
            if let Err(e) = self.start_network(false) {
                log::warn!("restarting the network: {e}");
                self.background_error("restarting the network for new profile settings", &e);
            }
        }
    }

    /// Takes the network away and closes it in the background (connections closed
    /// properly, not left to the peers' idle timeouts).
    fn go_offline(&self) {
        if let Some(net) = self.take_network() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move { net.shutdown().await });
            }
        }
    }

    /// The network handle, taken out: nothing starts new work on it after this.
    fn take_network(&self) -> Option<NetHandle> {
        self.net.lock().ok().and_then(|mut net| net.take())
    }

    async fn set_signals(
        self: Arc<Self>,
        signals: super::Signals,
    ) -> Result<super::Profile, NodeError> {
        let now = self.now_ms();
        let change = self
            .policy
            .lock()
            .map_err(|_| NodeError::NotRunning("stopped"))?
            .update(signals, now);
        if let Some(change) = change {
            self.apply(change.from, change.to).await?;
        } else {
            self.reconfigure();
        }
        // A pending change (debounce, background grace) is applied when it is due.
        let due = self.policy.lock().ok().and_then(|p| p.poll_timeout());
        if let Some(due) = due {
            let shared = self.clone();
            tokio::spawn(async move {
                let wait = due.saturating_sub(shared.now_ms());
                tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                let now = shared.now_ms();
                let change = shared
                    .policy
                    .lock()
                    .ok()
                    .and_then(|mut p| p.handle_timeout(now));
                if let Some(change) = change {
                    if let Err(e) = shared.apply(change.from, change.to).await {
                        log::warn!("applying profile {:?}: {e}", change.to);
                        shared.background_error(&format!("applying profile {:?}", change.to), &e);
                    }
                }
            });
        }
        Ok(self.profile())
    }

    async fn apply(
        self: &Arc<Self>,
        from: super::Profile,
        to: super::Profile,
    ) -> Result<(), NodeError> {
        use super::Profile;
        match to {
            Profile::Suspended => self.pause().await?,
            Profile::Saver => {
                if self.book.lock().await.wallet.is_none() {
                    self.clone().resume().await?;
                }
                // The last thing before the connection closes: make sure the home
                // station can wake the app (a restarted station forgot the token).
                if self.net().is_some() && self.push_token().is_some() {
                    let sent = tokio::time::timeout(
                        std::time::Duration::from_secs(3),
                        self.send_push_registration(),
                    )
                    .await;
                    match sent {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            log::warn!("push registration: {e}");
                            self.background_error("push registration before Saver", &e);
                        }
                        Err(_) => {
                            log::warn!("push registration: timed out");
                            self.emit(NodeEvent::BackgroundError {
                                operation: "push registration before Saver".into(),
                                message: "no home station answered within 3 s".into(),
                            });
                        }
                    }
                }
                self.go_offline();
            }
            Profile::Active | Profile::Full => {
                if self.book.lock().await.wallet.is_none() {
                    self.clone().resume().await?;
                } else if self.net().is_none() {
                    self.start_network(false)?;
                } else {
                    self.reconfigure();
                }
            }
        }
        log::info!("profile {from:?} → {to:?}");
        self.emit(NodeEvent::ProfileChanged { from, to });
        Ok(())
    }

    /// Signs `body` through the sign-once guard.
    fn sign(book: &Book, body: BlockBody) -> Result<Block, NodeError> {
        let wallet = book
            .wallet
            .as_ref()
            .ok_or(NodeError::NotRunning("paused"))?;
        let signature = wallet.sign(body.height, &body.encode())?;
        Ok(Block { body, signature })
    }

    /// Submits `request`, then records and applies the certificate.
    async fn certify(
        &self,
        book: &mut Book,
        request: AttestRequest,
    ) -> Result<Certificate, NodeError> {
        let net = self.net().ok_or(NodeError::NotRunning("paused"))?;
        let history = book.certs.last().cloned().into_iter().collect();
        let started = Instant::now();
        let cert = match net.submit(request, history).await {
            Ok(c) => c,
            Err(crate::net::NetError::Refused(reason)) => return Err(NodeError::Refused(reason)),
            Err(e) => return Err(e.into()),
        };
        let latency_ms = started.elapsed().as_millis() as u64;
        // The transfer's event is durable: written with the certificate, in one
        // transaction, so no restart can report the one without the other.
        let body = &cert.block.body;
        let event = match &body.op {
            Op::Send { to, amount, .. } => Some((TransferEventKind::Certified, *to, *amount)),
            Op::Receive { from, amount, .. } => Some((TransferEventKind::Received, *from, *amount)),
            Op::Open { .. } => None,
        }
        .map(|(kind, counterparty, amount)| TransferEvent {
            id: self.events.reserve_id(),
            account: body.account,
            kind,
            height: body.height,
            counterparty,
            amount,
            latency_ms: if kind == TransferEventKind::Certified {
                latency_ms
            } else {
                0
            },
        });
        self.flush_acked(book);
        let recorded = book
            .chain
            .as_mut()
            .ok_or(NodeError::NotRunning("paused"))?
            .put_with_event(&cert, event.as_ref())?;
        book.state = apply_certified(&book.state, &cert.block);
        book.certs.push(cert.clone());
        if let (true, Some(e)) = (recorded, event) {
            self.events.push_durable(e.id, transfer_event(&e));
        }
        Ok(cert)
    }

    async fn resubmit_signed(&self) -> Result<(), NodeError> {
        let mut book = self.book.lock().await;
        let next = book.state.head_height + 1;
        let Some(record) = book
            .wallet
            .as_ref()
            .ok_or(NodeError::NotRunning("paused"))?
            .signed_at(next)?
        else {
            return Ok(());
        };
        let body = BlockBody::decode(&record.payload)
            .map_err(|e| NodeError::Storage(crate::store::StoreError::Corrupt(e.to_string())))?;
        let signature = Signature::from_bytes(&record.signature)
            .map_err(|e| NodeError::Storage(crate::store::StoreError::Corrupt(e.to_string())))?;
        let block = Block { body, signature };
        log::info!("resubmitting the block signed at height {next}");
        // A Receive needs its send certificate: fetch it from the inbox.
        let send = match &block.body.op {
            Op::Receive { send_hash, .. } => {
                let net = self.net().ok_or(NodeError::NotRunning("paused"))?;
                let inbox = net.inbox(self.account).await?;
                inbox.into_iter().find(|c| c.block_hash() == *send_hash)
            }
            _ => None,
        };
        self.certify(&mut book, AttestRequest { block, send })
            .await?;
        Ok(())
    }

    async fn send(&self, to: AccountId, amount: u64) -> Result<Transfer, NodeError> {
        let book = self.book.lock().await;
        if book.wallet.is_none() {
            return Err(NodeError::NotRunning("paused"));
        }
        if to == self.account {
            return Err(NodeError::SendToSelf);
        }
        let min = self.epoch.rules.min_amount;
        if amount < min {
            return Err(NodeError::BelowMinimum { amount, min });
        }
        if amount > book.state.balance {
            return Err(NodeError::InsufficientFunds {
                balance: book.state.balance,
                amount,
            });
        }
        drop(book);
        // Whatever was signed before (a crash) goes first; it holds the next height.
        self.resubmit_signed().await?;
        let mut book = self.book.lock().await;
        let body = next_send(
            &book.state,
            self.epoch.number(),
            to,
            amount,
            Vec::new(),
            now_ms(),
            self.config.dmapp,
        )
        .map_err(|e| match e {
            crate::ledger::ValidationError::InsufficientFunds { balance, amount } => {
                NodeError::InsufficientFunds { balance, amount }
            }
            other => NodeError::Refused(other.to_string()),
        })?;
        let block = Self::sign(&book, body)?;
        // `certify` queues the durable `TransferCertified` event.
        let cert = self
            .certify(&mut book, AttestRequest { block, send: None })
            .await?;
        Ok(Transfer {
            height: cert.block.body.height,
            balance: book.state.balance,
            certificate: cert,
        })
    }

    async fn receive_pending(&self) -> Result<Vec<Transfer>, NodeError> {
        self.resubmit_signed().await?;
        let net = self.net().ok_or(NodeError::NotRunning("paused"))?;
        let mut inbox = net.inbox(self.account).await?;
        let mut book = self.book.lock().await;
        let mut received = Vec::new();
        loop {
            let epoch = self.epoch.number();
            let state = &book.state;
            let Some(i) = inbox
                .iter()
                .position(|c| next_receive(state, epoch, c, 0, self.config.dmapp).is_ok())
            else {
                break;
            };
            let send = inbox.remove(i);
            let body = next_receive(&book.state, epoch, &send, now_ms(), self.config.dmapp)
                .map_err(|e| NodeError::Refused(e.to_string()))?;
            let block = Self::sign(&book, body)?;
            // `certify` queues the durable `TransferReceived` event.
            let cert = self
                .certify(
                    &mut book,
                    AttestRequest {
                        block,
                        send: Some(send),
                    },
                )
                .await?;
            received.push(Transfer {
                height: cert.block.body.height,
                balance: book.state.balance,
                certificate: cert,
            });
        }
        // Sends already received (a cursor past them) are not waiting.
        let waiting = inbox
            .iter()
            .filter(|c| {
                let cursor = book.state.recv_cursor.get(&c.block.body.account).copied();
                cursor.is_none_or(|h| h < c.block.body.height)
            })
            .count();
        self.emit(NodeEvent::SyncDone {
            received: received.len(),
            waiting,
        });
        Ok(received)
    }

    async fn pause(&self) -> Result<(), NodeError> {
        let mut book = self.book.lock().await;
        self.flush_acked(&mut book);
        if let Some(net) = self.take_network() {
            // The sockets are closed when `pause` returns.
            let _ = tokio::time::timeout(NETWORK_CLOSE_WAIT, net.shutdown()).await;
        }
        book.wallet = None;
        book.chain = None;
        self.emit(NodeEvent::Paused);
        Ok(())
    }

    async fn resume(self: Arc<Self>) -> Result<(), NodeError> {
        let mut book = self.book.lock().await;
        if book.wallet.is_some() {
            return Ok(());
        }
        let dir = &self.config.data_dir;
        book.wallet = Some(Wallet::restore(
            dir.join("wallet.db"),
            self.phrase.as_str(),
        )?);
        book.chain = Some(ChainStore::new(Store::open(dir.join("chain.db"))?)?);
        // Acknowledgements made while paused are written now.
        self.flush_acked(&mut book);
        if self.settings().home_connections > 0 {
            self.start_network(false)?;
        }
        self.emit(NodeEvent::Resumed);
        Ok(())
    }
}

/// What the node assumes until the wrappers report: an app in the foreground, on an
/// unmetered network, not charging (the Active profile).
fn default_signals() -> super::Signals {
    super::Signals {
        app: super::AppState::Foreground,
        power: super::Power {
            battery_percent: 100,
            charging: false,
            power_saver: false,
        },
        network: super::Network::WIFI,
        epoch: 0,
    }
}

const PUSH_TOKEN_FILE: &str = "push-token";

thread_local! {
    /// Set on the node runtime's own threads.
    static ON_NODE_RUNTIME: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How long `stop` and `pause` wait for the network to close its connections (the
/// network task itself gives a dial in its handshake one second).
const NETWORK_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The push token kept in `dir` (`<platform> <token>`), if any.
fn read_push_token(dir: &std::path::Path) -> Option<(PushPlatform, String)> {
    let text = std::fs::read_to_string(dir.join(PUSH_TOKEN_FILE)).ok()?;
    let (platform, token) = text.trim().split_once(' ')?;
    let platform = match platform {
        "fcm" => PushPlatform::Fcm,
        "apns" => PushPlatform::Apns,
        _ => return None,
    };
    (!token.is_empty()).then(|| (platform, token.to_string()))
}

/// Keeps the push token in `dir` (removes the file for an empty token).
fn write_push_token(
    dir: &std::path::Path,
    platform: PushPlatform,
    token: &str,
) -> Result<(), NodeError> {
    let path = dir.join(PUSH_TOKEN_FILE);
    let result = if token.is_empty() {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    } else {
        std::fs::write(&path, format!("{} {token}\n", platform.name()))
    };
    result.map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))
}

/// The event a stored transfer event reports.
fn transfer_event(e: &TransferEvent) -> NodeEvent {
    match e.kind {
        TransferEventKind::Certified => NodeEvent::TransferCertified {
            height: e.height,
            to: e.counterparty,
            amount: e.amount,
            latency_ms: e.latency_ms,
        },
        TransferEventKind::Received => NodeEvent::TransferReceived {
            height: e.height,
            from: e.counterparty,
            amount: e.amount,
        },
    }
}
