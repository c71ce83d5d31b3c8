import Foundation
import ZeroPoleFFI

/// What a ``ZeroPoleNode`` reports, in order: the generated enum `NodeEvent`
/// (`transferCertified`, `transferReceived`, `syncDone`, `stationConnection`, `reachable`,
/// `paused`, `resumed`), used as is.
public typealias ZeroPoleEvent = NodeEvent

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
/// `BelowMinimum`, `SendToSelf`, `Refused`, `Network`, `Storage`, `NotRunning`, `Internal`.
public typealias ZeroPoleNodeError = NodeError

/// How to start a ``ZeroPoleNode`` (data directory, genesis, home stations, dmapp id,
/// worker threads): the generated record `NodeConfig`.
public typealias ZeroPoleNodeConfig = NodeConfig

/// A ZeroPole node inside the app: this account's wallet, its certified chain and its
/// connection to its home stations, running on a small native runtime of its own.
///
/// Every operation is `async` and never blocks the caller's thread. Cancelling a task that
/// awaits ``send(to:amount:)`` does not cancel the send (the node completes it; its result
/// shows in ``history()``, ``balance()`` and ``events``); cancelling a task that awaits
/// ``nextEvent()`` returns `nil` to it and loses no event.
///
/// Lifecycle: ``pause()`` in the background, ``resume()`` on return, ``networkChanged()``
/// when connectivity changes, ``stop()`` when done (also on deinit). After ``stop()`` every
/// call throws `ZeroPoleNodeError.NotRunning` and ``events`` finishes.
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

    /// A snapshot: balance, height, home stations connected, paused.
    public func status() async throws -> NodeStatus {
        try await inner.status()
    }

    /// The next event, waiting for one; `nil` once the node is stopped or when the calling
    /// task is cancelled (the event stays queued for the next call).
    public func nextEvent() async -> ZeroPoleEvent? {
        // UniFFI's Swift bindings do not drop the Rust future when a task is cancelled, so
        // the wait is given a cancellation signal of its own.
        let cancellation = Cancellation()
        return await withTaskCancellationHandler {
            await inner.nextEventUnless(cancel: cancellation)
        } onCancel: {
            cancellation.cancel()
        }
    }

    /// The node's events, pulled with ``nextEvent()`` one at a time as the consumer asks
    /// (nothing is fetched ahead, so breaking out of a `for await` loses no event);
    /// finishes when the node stops. Events come from one queue: iterate one at a time.
    public var events: AsyncStream<ZeroPoleEvent> {
        let node = self
        return AsyncStream(unfolding: { await node.nextEvent() })
    }

    /// Pauses: finishes the operation in progress, then closes sockets and databases.
    public func pause() async throws {
        try await inner.pause()
    }

    /// Resumes after ``pause()``: reopens the databases and reconnects. Idempotent.
    public func resume() async throws {
        try await inner.resume()
    }

    /// Tells the node that connectivity changed (e.g. from `NWPathMonitor`).
    public func networkChanged() async throws {
        try await inner.networkChanged()
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
