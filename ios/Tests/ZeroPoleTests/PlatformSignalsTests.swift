import Foundation
import XCTest

import ZeroPole
import ZeroPoleFFI

/// Records what it is given, in order; refuses the first power report.
actor RecordingSignals: PlatformSignals {
    private(set) var calls: [String] = []
    private var refused = false

    struct Refused: Error {}

    func setAppState(_ state: AppState) async throws -> Profile {
        calls.append("app \(state)")
        return .active
    }

    func setPower(batteryPercent: UInt8, charging: Bool, powerSaver: Bool) async throws -> Profile {
        calls.append("power \(batteryPercent) \(charging) \(powerSaver)")
        if !refused {
            refused = true
            throw Refused()
        }
        return powerSaver ? .saver : .active
    }

    func networkChanged(kind: NetworkKind, metered: Bool) async throws -> Profile {
        calls.append("network \(kind) \(metered)")
        return .active
    }
}

/// Collects `SignalQueue` outcomes across tasks.
final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [(PlatformSignal, Bool)] = []

    func add(_ signal: PlatformSignal, _ ok: Bool) {
        lock.lock()
        items.append((signal, ok))
        lock.unlock()
    }

    var all: [(PlatformSignal, Bool)] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}

struct SyncFailed: Error {}

struct FixedSync: SyncTarget {
    let fails: Bool
    func syncOnce() async throws -> [Transfer] {
        if fails { throw SyncFailed() }
        return []
    }
}

final class PlatformSignalsTests: XCTestCase {
    func testTheQueueDeliversInOrderAndGoesOnAfterARefusal() async throws {
        try await bounded(30) {
            let node = RecordingSignals()
            let outcomes = Outcomes()
            let queue = SignalQueue(target: node) { signal, outcome in
                if case .success = outcome { outcomes.add(signal, true) } else { outcomes.add(signal, false) }
            }
            XCTAssertTrue(queue.offer(.appState(.foreground)))
            XCTAssertTrue(queue.offer(.power(batteryPercent: 80, charging: false, powerSaver: false)))
            XCTAssertTrue(queue.offer(.network(kind: .cellular, metered: true)))
            let last = await queue.deliver(.power(batteryPercent: 79, charging: false, powerSaver: true))
            XCTAssertEqual(try last?.get(), .saver)
            let calls = await node.calls
            XCTAssertEqual(calls, [
                "app foreground",
                "power 80 false false",
                "network cellular true",
                "power 79 false true",
            ])
            XCTAssertEqual(outcomes.all.map(\.1), [true, false, true, true])
            queue.close()
            XCTAssertFalse(queue.offer(.appState(.background)))
            let none = await queue.deliver(.appState(.background))
            XCTAssertNil(none)
            await queue.finished()
        }
    }

    func testTheFilterDropsWhatTheNodeDoesNotNeed() {
        var filter = SignalFilter()
        XCTAssertEqual(filter.appState(.foreground), .appState(.foreground))
        XCTAssertNil(filter.appState(.foreground))
        XCTAssertEqual(filter.appState(.suspended), .appState(.suspended))

        // Unknown level (the simulator) counts as full; repeats are dropped.
        XCTAssertEqual(filter.power(batteryLevel: -1, charging: false, lowPowerMode: false),
                       .power(batteryPercent: 100, charging: false, powerSaver: false))
        XCTAssertEqual(filter.power(batteryLevel: 0.456, charging: false, lowPowerMode: false),
                       .power(batteryPercent: 46, charging: false, powerSaver: false))
        XCTAssertNil(filter.power(batteryLevel: 0.4561, charging: false, lowPowerMode: false))
        XCTAssertEqual(filter.power(batteryLevel: 0.456, charging: false, lowPowerMode: true),
                       .power(batteryPercent: 46, charging: false, powerSaver: true))

        // Wi-Fi, then the same Wi-Fi again (nothing), then a new path of the same kind
        // (a new address: reported), Low Data Mode (metered), cellular, offline.
        XCTAssertEqual(filter.network(satisfied: true, usesCellular: false, isExpensive: false, isConstrained: false, pathChanged: false),
                       .network(kind: .wifi, metered: false))
        XCTAssertNil(filter.network(satisfied: true, usesCellular: false, isExpensive: false, isConstrained: false, pathChanged: false))
        XCTAssertEqual(filter.network(satisfied: true, usesCellular: false, isExpensive: false, isConstrained: false, pathChanged: true),
                       .network(kind: .wifi, metered: false))
        XCTAssertEqual(filter.network(satisfied: true, usesCellular: false, isExpensive: false, isConstrained: true, pathChanged: false),
                       .network(kind: .wifi, metered: true))
        XCTAssertEqual(filter.network(satisfied: true, usesCellular: true, isExpensive: true, isConstrained: false, pathChanged: true),
                       .network(kind: .cellular, metered: true))
        XCTAssertEqual(filter.network(satisfied: false, usesCellular: false, isExpensive: false, isConstrained: false, pathChanged: true),
                       .network(kind: .offline, metered: false))
        XCTAssertNil(filter.network(satisfied: false, usesCellular: false, isExpensive: false, isConstrained: false, pathChanged: true))
    }

    func testABackgroundSyncSaysWhetherToRetry() async {
        let noNode: (any SyncTarget)? = nil
        let none = await runSyncOnce(noNode)
        XCTAssertFalse(none)
        let failed = await runSyncOnce(FixedSync(fails: true))
        XCTAssertFalse(failed)
        let done = await runSyncOnce(FixedSync(fails: false))
        XCTAssertTrue(done)
    }

    /// The queue against a real node: Low Power Mode gives saver, and a background sync
    /// receives a payment.
    func testSignalsAndTheBackgroundSyncDriveARealNode() async throws {
        let net = try await TestNet.start(self, wallets: 2)
        try await bounded {
            let frank = try await net.node("frank", 0)
            let grace = try await net.node("grace", 1)
            defer { frank.stop(); grace.stop() }
            let queue = SignalQueue(target: frank)
            let saver = await queue.deliver(.power(batteryPercent: 50, charging: false, powerSaver: true))
            XCTAssertEqual(try saver?.get(), .saver)
            _ = try await grace.send(to: frank.accountId, amount: 7_000)
            let synced = await runSyncOnce(frank)
            XCTAssertTrue(synced)
            let balance = try await frank.balance()
            XCTAssertEqual(balance, funds + 7_000)
            queue.close()
        }
    }
}
