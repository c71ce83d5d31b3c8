import Foundation
import ZeroPoleFFI

/// Where the platform's signals go (DESIGN.md §7): the app's state, the power situation and
/// the default network. ``ZeroPoleNode`` is one; ``SignalQueue`` (and, on iOS,
/// `ZeroPoleIOS.attach`) delivers to it. Each call returns the profile the node applied.
public protocol PlatformSignals: Sendable {
    /// The app's state changed.
    @discardableResult
    func setAppState(_ state: AppState) async throws -> Profile
    /// Battery level 0–100, on a charger, Low Power Mode.
    @discardableResult
    func setPower(batteryPercent: UInt8, charging: Bool, powerSaver: Bool) async throws -> Profile
    /// The default network changed, also when only its address did.
    @discardableResult
    func networkChanged(kind: NetworkKind, metered: Bool) async throws -> Profile
}

/// The one unit of background work (DESIGN.md §7), run by the sync schedulers.
public protocol SyncTarget: Sendable {
    /// Connects if needed, receives what is waiting, disconnects again if the profile says so.
    @discardableResult
    func syncOnce() async throws -> [Transfer]
}

extension ZeroPoleNode: PlatformSignals, SyncTarget {}

/// One platform signal, as the node takes it.
public enum PlatformSignal: Sendable, Equatable, CustomStringConvertible {
    /// The app's state.
    case appState(AppState)
    /// Battery level 0–100, on a charger, Low Power Mode.
    case power(batteryPercent: UInt8, charging: Bool, powerSaver: Bool)
    /// The default network's kind and metering.
    case network(kind: NetworkKind, metered: Bool)

    /// Hands the signal to `target`; returns the profile it applied.
    @discardableResult
    public func deliver(to target: any PlatformSignals) async throws -> Profile {
        switch self {
        case .appState(let state):
            return try await target.setAppState(state)
        case .power(let percent, let charging, let saver):
            return try await target.setPower(batteryPercent: percent, charging: charging, powerSaver: saver)
        case .network(let kind, let metered):
            return try await target.networkChanged(kind: kind, metered: metered)
        }
    }

    public var description: String {
        switch self {
        case .appState(let state): return "app state \(state)"
        case .power(let p, let c, let s): return "power \(p) % charging=\(c) saver=\(s)"
        case .network(let k, let m): return "network \(k) metered=\(m)"
        }
    }
}

/// Hands signals to a ``PlatformSignals`` one at a time, in the order they were offered (the
/// node applies each with the others it last got, so order matters). Offering never waits
/// for the node, so OS callbacks can call ``offer(_:)`` directly.
///
/// A signal the node refuses (stopped, paused, an invalid value) is reported to
/// `onDelivered` and the next one is delivered all the same. ``close()`` (also on deinit)
/// stops taking signals.
public final class SignalQueue: Sendable {
    private struct Item: Sendable {
        let signal: PlatformSignal
        let done: (@Sendable (Result<Profile, any Error>) -> Void)?
    }

    private let continuation: AsyncStream<Item>.Continuation
    private let worker: Task<Void, Never>

    /// Starts delivering to `target`; `onDelivered` sees every outcome, in order.
    public init(
        target: any PlatformSignals,
        onDelivered: @escaping @Sendable (PlatformSignal, Result<Profile, any Error>) -> Void = { _, _ in }
    ) {
        let (stream, continuation) = AsyncStream.makeStream(of: Item.self)
        self.continuation = continuation
        self.worker = Task {
            for await item in stream {
                let outcome: Result<Profile, any Error>
                do {
                    outcome = .success(try await item.signal.deliver(to: target))
                } catch {
                    outcome = .failure(error)
                }
                onDelivered(item.signal, outcome)
                item.done?(outcome)
            }
        }
    }

    deinit {
        close()
    }

    /// Queues `signal`; `false` once closed.
    @discardableResult
    public func offer(_ signal: PlatformSignal) -> Bool {
        if case .enqueued = continuation.yield(Item(signal: signal, done: nil)) {
            return true
        }
        return false
    }

    /// Queues `signal` and waits until the node has taken it (after everything queued
    /// before it), for a caller that must not go on before, such as a background task's
    /// expiration handler delivering `.suspended`. `nil` if the queue is closed.
    public func deliver(_ signal: PlatformSignal) async -> Result<Profile, any Error>? {
        await withCheckedContinuation { (waiter: CheckedContinuation<Result<Profile, any Error>?, Never>) in
            let item = Item(signal: signal, done: { waiter.resume(returning: $0) })
            if case .enqueued = continuation.yield(item) {
                return
            }
            waiter.resume(returning: nil)
        }
    }

    /// Takes no more signals; those already queued are still delivered (so every
    /// ``deliver(_:)`` waiting gets its answer), then the worker ends.
    public func close() {
        continuation.finish()
    }

    /// Waits until every signal queued before ``close()`` has been delivered.
    public func finished() async {
        await worker.value
    }
}

/// Turns raw platform readings into signals, dropping repeats: the OS reports the battery
/// for temperature changes and the network path for every detail, but the node only needs
/// changes of what it uses. Not thread-safe: feed it from one queue (the glue uses the main
/// queue).
public struct SignalFilter: Sendable {
    private var lastAppState: AppState?
    private var lastPower: PlatformSignal?
    private var lastNetwork: PlatformSignal?

    public init() {}

    /// The app's state, or `nil` if unchanged.
    public mutating func appState(_ state: AppState) -> PlatformSignal? {
        guard state != lastAppState else { return nil }
        lastAppState = state
        return .appState(state)
    }

    /// The power situation from `UIDevice.batteryLevel` (0…1, or −1 when unknown, e.g. in
    /// the simulator, which counts as full), whether it charges (`.charging` or `.full`) and
    /// `ProcessInfo.isLowPowerModeEnabled`; `nil` if unchanged.
    public mutating func power(batteryLevel: Float, charging: Bool, lowPowerMode: Bool) -> PlatformSignal? {
        let percent: UInt8
        if batteryLevel < 0 || !batteryLevel.isFinite {
            percent = 100
        } else {
            percent = UInt8((min(batteryLevel, 1) * 100).rounded())
        }
        let signal = PlatformSignal.power(batteryPercent: percent, charging: charging, powerSaver: lowPowerMode)
        guard signal != lastPower else { return nil }
        lastPower = signal
        return signal
    }

    /// The default network from an `NWPath`: satisfied or not, the interface types it uses,
    /// `isExpensive` and `isConstrained` (Low Data Mode). Cellular always counts as metered;
    /// Wi-Fi, wired and other interfaces report `.wifi`, metered when expensive or
    /// constrained; an unsatisfied path is `.offline`. `pathChanged` (the path differs from
    /// the one before, e.g. a new address or interface): reported even when kind and
    /// metering stay the same, since the node's connections are bound to the old path.
    /// `nil` if nothing the node needs changed.
    public mutating func network(
        satisfied: Bool,
        usesCellular: Bool,
        isExpensive: Bool,
        isConstrained: Bool,
        pathChanged: Bool
    ) -> PlatformSignal? {
        let signal: PlatformSignal
        if !satisfied {
            signal = .network(kind: .offline, metered: false)
        } else if usesCellular {
            signal = .network(kind: .cellular, metered: true)
        } else {
            signal = .network(kind: .wifi, metered: isExpensive || isConstrained)
        }
        let offline = signal == .network(kind: .offline, metered: false)
        guard signal != lastNetwork || (pathChanged && !offline) else { return nil }
        lastNetwork = signal
        return signal
    }
}

/// Runs a ``SyncTarget``'s `syncOnce()` for a background task (`BGAppRefreshTask`, a
/// notification service extension): `true` when done, `false` when it should be retried
/// (no target yet, or the sync failed). Cancellation (the task's expiration) gives `false`.
public func runSyncOnce(_ target: (any SyncTarget)?) async -> Bool {
    guard let target else { return false }
    do {
        try await target.syncOnce()
        return !Task.isCancelled
    } catch {
        return false
    }
}
