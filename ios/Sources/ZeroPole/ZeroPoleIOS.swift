// The iOS glue of the platform adapters: UIKit notifications, NWPathMonitor and
// BGTaskScheduler feeding `SignalQueue` / `runSyncOnce`. Apple-only: this project's CI runs
// on Linux, which has none of these frameworks, so this file is NOT compiled or run here
// (README, status table). Everything it decides is in `SignalFilter` and `SignalQueue`,
// which are tested on Linux.
#if canImport(UIKit) && canImport(Network)
import Foundation
import Network
import UIKit
import ZeroPoleFFI

/// Feeds a node the iOS signals (DESIGN.md §7): the app's state (`didBecomeActive`,
/// `willEnterForeground`, `didEnterBackground`; `suspended` when the background task the
/// adapter starts on entering the background expires), the power situation
/// (`UIDevice.batteryLevel`/`batteryState`, `ProcessInfo.isLowPowerModeEnabled`) and the
/// default network (`NWPathMonitor`: cellular, Wi-Fi/wired, offline; `isExpensive` or
/// `isConstrained` counts as metered). Each is reported at once and then on every change
/// that matters to the node, in order.
///
/// ```swift
/// let node = try await ZeroPoleNode.start(config: config, phrase: phrase)
/// let signals = await ZeroPoleIOS.attach(node: node)   // keep it; stop() when done
/// ```
public final class ZeroPoleIOS: @unchecked Sendable {
    // Every mutable field below is guarded by `lock`.
    private let lock = NSLock()
    private let queue: SignalQueue
    private var filter = SignalFilter()
    private var lastPath: String?
    private var observers: [NSObjectProtocol] = []
    private var backgroundTask: UIBackgroundTaskIdentifier = .invalid
    private let pathMonitor = NWPathMonitor()
    private let pathQueue = DispatchQueue(label: "org.zeropole.path")

    private init(queue: SignalQueue) {
        self.queue = queue
    }

    /// Starts reporting to `node`. `onDelivered` sees each signal's outcome: the profile
    /// applied, or why the node refused it.
    @MainActor
    public static func attach(
        node: any PlatformSignals,
        onDelivered: @escaping @Sendable (PlatformSignal, Result<Profile, any Error>) -> Void = { _, _ in }
    ) -> ZeroPoleIOS {
        let adapter = ZeroPoleIOS(queue: SignalQueue(target: node, onDelivered: onDelivered))
        adapter.start()
        return adapter
    }

    /// Stops reporting (before stopping the node).
    @MainActor
    public func stop() {
        let (observers, task): ([NSObjectProtocol], UIBackgroundTaskIdentifier) = locked {
            let current = (self.observers, self.backgroundTask)
            self.observers = []
            self.backgroundTask = .invalid
            return current
        }
        observers.forEach { NotificationCenter.default.removeObserver($0) }
        pathMonitor.cancel()
        if task != .invalid {
            UIApplication.shared.endBackgroundTask(task)
        }
        queue.close()
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// Runs `reading` on the filter and offers what it gives, under the lock (the order of
    /// the OS callbacks is the order of delivery).
    private func report(_ reading: (inout SignalFilter) -> PlatformSignal?) {
        locked {
            if let signal = reading(&filter) {
                queue.offer(signal)
            }
        }
    }

    @MainActor
    private func start() {
        let center = NotificationCenter.default
        let app = UIApplication.shared
        let foreground = app.applicationState != .background
        report { $0.appState(foreground ? .foreground : .background) }
        UIDevice.current.isBatteryMonitoringEnabled = true
        reportPower()

        var tokens: [NSObjectProtocol] = []
        for name in [UIApplication.didBecomeActiveNotification, UIApplication.willEnterForegroundNotification] {
            tokens.append(center.addObserver(forName: name, object: nil, queue: .main) { [weak self] _ in
                MainActor.assumeIsolated { self?.enteredForeground() }
            })
        }
        tokens.append(center.addObserver(forName: UIApplication.didEnterBackgroundNotification, object: nil, queue: .main) { [weak self] _ in
            MainActor.assumeIsolated { self?.enteredBackground() }
        })
        for name in [
            UIDevice.batteryLevelDidChangeNotification,
            UIDevice.batteryStateDidChangeNotification,
            Notification.Name.NSProcessInfoPowerStateDidChange,
        ] {
            tokens.append(center.addObserver(forName: name, object: nil, queue: .main) { [weak self] _ in
                MainActor.assumeIsolated { self?.reportPower() }
            })
        }
        locked { observers = tokens }

        pathMonitor.pathUpdateHandler = { [weak self] path in
            guard let self else { return }
            let identity = "\(path.availableInterfaces.map { "\($0.name)/\($0.type)" })|\(path.gateways)"
            let satisfied = path.status == .satisfied
            let cellular = path.usesInterfaceType(.cellular)
            let expensive = path.isExpensive
            let constrained = path.isConstrained
            self.locked {
                let changed = self.lastPath != nil && self.lastPath != identity
                self.lastPath = identity
                if let signal = self.filter.network(
                    satisfied: satisfied,
                    usesCellular: cellular,
                    isExpensive: expensive,
                    isConstrained: constrained,
                    pathChanged: changed
                ) {
                    self.queue.offer(signal)
                }
            }
        }
        pathMonitor.start(queue: pathQueue)
    }

    @MainActor
    private func reportPower() {
        let device = UIDevice.current
        let level = device.batteryLevel
        let charging = device.batteryState == .charging || device.batteryState == .full
        let lowPower = ProcessInfo.processInfo.isLowPowerModeEnabled
        report { $0.power(batteryLevel: level, charging: charging, lowPowerMode: lowPower) }
    }

    @MainActor
    private func enteredForeground() {
        let task: UIBackgroundTaskIdentifier = locked {
            let task = backgroundTask
            backgroundTask = .invalid
            return task
        }
        if task != .invalid {
            UIApplication.shared.endBackgroundTask(task)
        }
        report { $0.appState(.foreground) }
    }

    /// Background: reported at once; a background task keeps the app running through the
    /// node's grace period, and when it expires the node is told `suspended` (it closes
    /// its sockets and databases, DESIGN.md §7) before the task ends.
    @MainActor
    private func enteredBackground() {
        report { $0.appState(.background) }
        let app = UIApplication.shared
        let id = app.beginBackgroundTask(withName: "zeropole-background") { [weak self] in
            self?.backgroundTaskExpired()
        }
        let previous: UIBackgroundTaskIdentifier = locked {
            let previous = backgroundTask
            backgroundTask = id
            return previous
        }
        if previous != .invalid {
            app.endBackgroundTask(previous)
        }
    }

    /// The background task is about to expire: the node is told `suspended` and the task
    /// ends once the node has taken it.
    private func backgroundTaskExpired() {
        let (task, suspended): (UIBackgroundTaskIdentifier, PlatformSignal?) = locked {
            let task = backgroundTask
            backgroundTask = .invalid
            return (task, filter.appState(.suspended))
        }
        Task { @MainActor in
            if let suspended {
                _ = await self.queue.deliver(suspended)
            }
            if task != .invalid {
                UIApplication.shared.endBackgroundTask(task)
            }
        }
    }
}
#endif

#if canImport(BackgroundTasks) && canImport(UIKit)
import BackgroundTasks

/// Schedules the node's `syncOnce()` (DESIGN.md §7) as a `BGAppRefreshTask`. Add the
/// identifier to `BGTaskSchedulerPermittedIdentifiers` in Info.plist, call ``register``
/// before `application(_:didFinishLaunchingWithOptions:)` returns, and ``schedule`` when
/// the app goes to the background. Each run schedules the next one. Not compiled here.
public enum ZeroPoleBackgroundSync {
    private struct RefreshTask: @unchecked Sendable {
        let task: BGTask
    }

    /// Registers the handler for `identifier`; `target` gives the node at run time (`nil`
    /// if it is not started yet: the run then reports failure and is tried again).
    @discardableResult
    public static func register(
        identifier: String,
        target: @escaping @Sendable () -> (any SyncTarget)?
    ) -> Bool {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            ZeroPoleBackgroundSync.schedule(identifier: identifier)
            let refresh = RefreshTask(task: task)
            let work = Task { await runSyncOnce(target()) }
            refresh.task.expirationHandler = { work.cancel() }
            Task {
                let done = await work.value
                refresh.task.setTaskCompleted(success: done)
            }
        }
    }

    /// Asks for the next run, no earlier than `delay` seconds from now (15 minutes by
    /// default; iOS decides when). Returns whether the request was accepted.
    @discardableResult
    public static func schedule(identifier: String, delay: TimeInterval = 15 * 60) -> Bool {
        let request = BGAppRefreshTaskRequest(identifier: identifier)
        request.earliestBeginDate = Date(timeIntervalSinceNow: delay)
        do {
            try BGTaskScheduler.shared.submit(request)
            return true
        } catch {
            return false
        }
    }
}
#endif
