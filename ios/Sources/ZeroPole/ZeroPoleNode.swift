import Foundation
import ZeroPoleFFI

/// What a ``ZeroPoleNode`` reports, in order: the generated enum `NodeEvent`
/// (`transferCertified`, `transferReceived`, `syncDone`, `stationConnection`, `reachable`,
/// `profileChanged`, `paused`, `resumed`), used as is. `transferCertified` and
/// `transferReceived` are durable: stored until acknowledged, so they are delivered again
/// after a restart (see ``ZeroPoleNode/events``).
public typealias ZeroPoleEvent = NodeEvent

/// An event with its queue id (`id`, `event`, `durable`), from ``ZeroPoleNode/nextEvent()``:
/// acknowledge it with ``ZeroPoleNode/eventHandled(_:)``.
public typealias ZeroPoleQueuedEvent = QueuedEvent

/// The error thrown by `NodeConfigBuilder.build()`: the generated enum `ConfigError`, whose
/// case names the wrong field (`InvalidDataDir`, `InvalidGenesis`, `NoHomeStation`,
/// `InvalidHomeStation`, `InvalidDmapp`, `UnreviewedDmapp`, `InvalidSetting`), each with a
/// `message`.
public typealias ZeroPoleConfigError = ConfigError

/// Builds a checked ``ZeroPoleNodeConfig`` (the generated `NodeConfigBuilder`), by chaining:
///
/// ```swift
/// let config = try ZeroPoleNodeConfigBuilder(dataDir: dir, genesisToml: genesis)
///     .homeStation(addr: station)
///     .fullInBackground(allowed: false)
///     .build()
/// ```
///
/// Without a home station, the genesis's bootstrap stations are used. Also: `dmappId`,
/// `dmappManifest` (checked against the genesis's review authorities), `workerThreads`,
/// `backgroundGraceMs`, `fullEntryMs`, `batteryThresholds`.
public typealias ZeroPoleNodeConfigBuilder = NodeConfigBuilder

/// The error thrown by every node operation: the generated enum `NodeError`. Each case
/// carries a human-readable `message`; match on the case, the stable kind:
///
/// ```swift
/// do {
///     _ = try await node.send(to: friend, amount: 5_000)
/// } catch ZeroPoleNodeError.InsufficientFunds(let message) {
///     show(message)
/// }
/// ```
///
/// Cases: `Config`, `InvalidPhrase`, `PhraseChecksum`, `AccountMismatch`, `AlreadySigned`,
/// `UnreviewedDmapp`, `InvalidAccount`, `UnknownAccount`, `InsufficientFunds`,
/// `BelowMinimum`, `SendToSelf`, `Refused`, `Network`, `Storage`, `InvalidSignal`,
/// `NotRunning`, `Internal`.
public typealias ZeroPoleNodeError = NodeError

/// How to start a ``ZeroPoleNode`` (data directory, genesis, home stations, dmapp id,
/// worker threads, profile overrides): the generated record `NodeConfig`. Build it checked
/// with ``ZeroPoleNodeConfigBuilder``.
public typealias ZeroPoleNodeConfig = NodeConfig

/// A ZeroPole node inside the app: this account's wallet, its certified chain and its
/// connection to its home stations, running on a small native runtime of its own.
///
/// Every operation is `async` and never blocks the caller's thread. Cancelling a task that
/// awaits ``send(to:amount:)`` does not cancel the send (the node completes it; its result
/// shows in ``history()``, ``balance()`` and ``events``); cancelling a task that awaits
/// ``nextEvent()`` returns `nil` to it and loses no event.
///
/// Mobile life (DESIGN.md §7): report the platform's signals with ``setAppState(_:)``,
/// ``setPower(batteryPercent:charging:powerSaver:)`` and ``networkChanged(kind:metered:)``;
/// the node keeps the last value of each, picks a profile (full, active, saver, suspended),
/// applies it and reports `profileChanged`. In saver it holds no connection: call
/// ``syncOnce()`` from a `BGAppRefreshTask` or a notification service extension.
/// ``pause()``/``resume()`` remain for apps that drive the lifecycle themselves. ``stop()``
/// when done (also on deinit). After ``stop()`` every call throws
/// `ZeroPoleNodeError.NotRunning` and ``events`` finishes.
public final class ZeroPoleNode: Sendable {
    private let inner: Node

    /// This node's account id: 64 lowercase hexadecimal characters.
    public let accountId: String

    private init(_ inner: Node) {
        self.inner = inner
        self.accountId = inner.accountId()
    }

    deinit {
        inner.stop()
    }

    /// Opens (or creates) the node of the 24-word `phrase` in `config.dataDir` and connects
    /// to its home stations. Runs off the caller's task (it opens databases and sockets).
    ///
    /// - Throws: ``ZeroPoleNodeError``: `InvalidPhrase` or `PhraseChecksum` for a bad phrase,
    ///   `AccountMismatch` if the directory holds another account, `UnreviewedDmapp` if
    ///   `config.dmappId` is not reviewed on this network, `Config` for an unusable genesis,
    ///   station address or dmapp id.
    public static func start(config: ZeroPoleNodeConfig, phrase: String) async throws -> ZeroPoleNode {
        try await Task.detached {
            try ZeroPoleNode(Node.start(config: config, phrase: phrase))
        }.value
    }

    /// Sends `amount` base units to the account `to` (64 hex characters) and returns once
    /// the committee has certified the transfer.
    ///
    /// - Throws: ``ZeroPoleNodeError``: `InvalidAccount`, `InsufficientFunds`,
    ///   `BelowMinimum`, `SendToSelf`, `Network`, `Refused`, `NotRunning`.
    public func send(to: String, amount: UInt64) async throws -> Transfer {
        try await inner.send(to: to, amount: amount)
    }

    /// Receives every certified payment waiting for this account and returns them.
    public func receivePending() async throws -> [Transfer] {
        try await inner.receivePending()
    }

    /// The certified balance, in base units.
    public func balance() async throws -> UInt64 {
        try await inner.balance()
    }

    /// Every certified block of this account, oldest first.
    public func history() async throws -> [HistoryEntry] {
        try await inner.history()
    }

    /// A snapshot: balance, height, home stations connected, paused, profile, online.
    public func status() async throws -> NodeStatus {
        try await inner.status()
    }

    /// The oldest event not yet acknowledged, with its id, waiting for one; `nil` once the
    /// node is stopped or when the calling task is cancelled. The same event comes back
    /// until ``eventHandled(_:)`` is called with its id (durable ones even after a
    /// restart). Prefer ``events``, which acknowledges for you.
    public func nextEvent() async -> ZeroPoleQueuedEvent? {
        // UniFFI's Swift bindings do not drop the Rust future when a task is cancelled, so
        // the wait is given a cancellation signal of its own.
        let cancellation = Cancellation()
        return await withTaskCancellationHandler {
            await inner.nextEventUnless(cancel: cancellation)
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// Acknowledges the event `id` once the app has handled it (a durable event is deleted
    /// from the database). Returns whether it was queued; a second call is a no-op.
    @discardableResult
    public func eventHandled(_ id: UInt64) -> Bool {
        inner.eventHandled(id: id)
    }

    /// The node's events, oldest first, pulled with ``nextEvent()`` one at a time as the
    /// consumer asks; finishes when the node stops or the iterating task is cancelled.
    ///
    /// An event is acknowledged when the consumer asks for the next one, i.e. after the
    /// body of a `for await` loop handled it. Breaking out of the loop (or a crash while
    /// handling) leaves that event queued: it comes first to the next iteration, and a
    /// durable one even after a restart. Events come from one queue: iterate one at a time.
    public var events: AsyncStream<ZeroPoleEvent> {
        let node = self
        let handled = PendingAck()
        return AsyncStream(unfolding: {
            if let id = handled.take() {
                node.eventHandled(id)
            }
            guard let queued = await node.nextEvent() else { return nil }
            handled.set(queued.id)
            return queued.event
        })
    }

    /// The app's state changed (`didBecomeActive`, `didEnterBackground`, the background
    /// task's expiration): the node applies the profile this gives with the other signals
    /// last reported, and returns it. Going to the background from active waits a grace
    /// period (10 s by default) first.
    @discardableResult
    public func setAppState(_ state: AppState) async throws -> Profile {
        try await inner.setAppState(state: state)
    }

    /// The power situation changed (`UIDevice.batteryLevel`/`batteryState`,
    /// `ProcessInfo.isLowPowerModeEnabled`): battery level 0–100, on a charger, Low Power
    /// Mode. Returns the profile applied.
    ///
    /// - Throws: `ZeroPoleNodeError.InvalidSignal` if `batteryPercent` is above 100.
    @discardableResult
    public func setPower(batteryPercent: UInt8, charging: Bool, powerSaver: Bool) async throws -> Profile {
        try await inner.setPower(batteryPercent: batteryPercent, charging: charging, powerSaver: powerSaver)
    }

    /// The default network changed (`NWPathMonitor`), also when only its address did: its
    /// `kind` and whether it is `metered` (`isExpensive || isConstrained`; cellular always
    /// counts as metered). The node applies the resulting profile and, if it keeps a
    /// connection, reconnects (`reachable` follows). Returns the profile applied.
    @discardableResult
    public func networkChanged(kind: NetworkKind, metered: Bool = false) async throws -> Profile {
        try await inner.networkChanged(kind: kind, metered: metered)
    }

    /// The one unit of background work, for a `BGAppRefreshTask` or a notification service
    /// extension: connects if the profile holds no connection (saver), receives every
    /// waiting payment, submits what is queued and disconnects again. Returns the payments
    /// received.
    @discardableResult
    public func syncOnce() async throws -> [Transfer] {
        try await inner.syncOnce()
    }

    /// Registers the device's push token (APNs: the hex of the token from
    /// `didRegisterForRemoteNotificationsWithDeviceToken`; an empty token unregisters) with a
    /// home station, which then sends a content-free push when a payment arrives while the
    /// node holds no connection (saver): answer it with ``syncOnce()`` (a notification
    /// service extension can). Kept across restarts and registered again on entering saver.
    /// - Throws: `NodeError.InvalidPushToken` for a malformed token (nothing is stored),
    ///   `NodeError.Network` if no home station took it (it is sent again later).
    public func registerPushToken(_ token: String, platform: PushPlatform = .apns) async throws {
        try await inner.registerPushToken(platform: platform, token: token)
    }

    /// Pauses: finishes the operation in progress, then closes sockets and databases.
    public func pause() async throws {
        try await inner.pause()
    }

    /// Resumes after ``pause()``: reopens the databases and reconnects. Idempotent.
    public func resume() async throws {
        try await inner.resume()
    }

    /// Whether ``stop()`` has been called.
    public var isStopped: Bool {
        inner.isStopped()
    }

    /// Stops the node: calls in flight end (`NotRunning`, or `nil` for ``nextEvent()``),
    /// the network and the databases close. Idempotent.
    public func stop() {
        inner.stop()
    }
}

/// The id of the event an ``ZeroPoleNode/events`` stream handed out last, acknowledged when
/// the consumer asks for the next one. A lock, because the unfolding closure must be
/// `Sendable` (the stream may be iterated from any task, one at a time).
private final class PendingAck: @unchecked Sendable {
    private let lock = NSLock()
    private var id: UInt64?

    func set(_ id: UInt64) {
        lock.lock(); defer { lock.unlock() }
        self.id = id
    }

    func take() -> UInt64? {
        lock.lock(); defer { lock.unlock() }
        let id = self.id
        self.id = nil
        return id
    }
}
