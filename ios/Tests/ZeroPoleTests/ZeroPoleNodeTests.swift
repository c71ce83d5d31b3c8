import Foundation
import XCTest

import ZeroPole
import ZeroPoleFFI

/// Funds of each test account.
let funds: UInt64 = 1_000_000

/// A devnet of four stations started in this process through the FFI, funding `count` new
/// wallets (phrases from ``ZeroPoleWallet``), plus a temporary directory. Both are removed
/// by the test's teardown.
struct TestNet: Sendable {
    let devnet: LocalDevnet
    let phrases: [String]
    let dir: URL

    static func start(_ test: XCTestCase, wallets count: Int) async throws -> TestNet {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("zeropole-node-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        var phrases: [String] = []
        for i in 0..<count {
            let wallet = try await ZeroPoleWallet.create(databasePath: dir.appendingPathComponent("w\(i).db").path)
            phrases.append(wallet.exportPhrase())
        }
        let devnet = try LocalDevnet.start(stations: 4, phrases: phrases, funds: funds)
        test.addTeardownBlock { devnet.stop() }
        return TestNet(devnet: devnet, phrases: phrases, dir: dir)
    }

    func config(_ name: String) -> ZeroPoleNodeConfig {
        ZeroPoleNodeConfig(
            dataDir: dir.appendingPathComponent(name).path,
            genesisToml: devnet.genesisToml(),
            homeStations: Array(devnet.stationAddrs().prefix(2))
        )
    }

    func node(_ name: String, _ phrase: Int) async throws -> ZeroPoleNode {
        try await ZeroPoleNode.start(config: config(name), phrase: phrases[phrase])
    }
}

struct TimedOut: Error {}

/// Runs `body`, failing after `seconds` (a bound against hangs, not a timing assertion).
func bounded(_ seconds: UInt64 = 120, _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: seconds * 1_000_000_000)
            throw TimedOut()
        }
        try await group.next()
        group.cancelAll()
    }
}

/// The first event for which `matches` holds (`nil` if the node stopped first).
func firstEvent(_ node: ZeroPoleNode, _ matches: (ZeroPoleEvent) -> Bool) async -> ZeroPoleEvent? {
    for await event in node.events where matches(event) {
        return event
    }
    return nil
}

/// Runs `body`, expecting a ``ZeroPoleNodeError`` for which `isExpected` holds, with a
/// non-empty message.
func assertNodeError<T>(
    _ expected: String,
    file: StaticString = #filePath,
    line: UInt = #line,
    _ body: () async throws -> T,
    _ isExpected: (ZeroPoleNodeError) -> Bool
) async {
    do {
        let value = try await body()
        XCTFail("expected \(expected), got \(value)", file: file, line: line)
    } catch let error as ZeroPoleNodeError {
        XCTAssertTrue(isExpected(error), "expected \(expected), got \(error)", file: file, line: line)
        XCTAssertFalse(String(describing: error).isEmpty, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}

final class ZeroPoleNodeTests: XCTestCase {
    func testATransferIsCertifiedReceivedAndSeenInEvents() async throws {
        let net = try await TestNet.start(self, wallets: 2)
        try await bounded {
            let alice = try await net.node("alice", 0)
            let bob = try await net.node("bob", 1)
            defer { alice.stop(); bob.stop() }

            let t = try await alice.send(to: bob.accountId, amount: 25_000)
            XCTAssertEqual(t.height, 1)
            XCTAssertEqual(t.balance, funds - 25_000)
            XCTAssertEqual(t.amount, 25_000)
            XCTAssertEqual(t.counterparty, bob.accountId)
            XCTAssertTrue(t.outgoing)
            let certified = await firstEvent(alice) { if case .transferCertified = $0 { true } else { false } }
            guard case .transferCertified(let height, let to, let amount, _) = certified else {
                return XCTFail("no TransferCertified event: \(String(describing: certified))")
            }
            XCTAssertEqual([height, amount], [1, 25_000])
            XCTAssertEqual(to, bob.accountId)

            let got = try await bob.receivePending()
            XCTAssertEqual(got.count, 1)
            XCTAssertEqual(got.first?.counterparty, alice.accountId)
            XCTAssertEqual(got.first?.outgoing, false)
            let bobBalance = try await bob.balance()
            let aliceBalance = try await alice.balance()
            XCTAssertEqual(bobBalance, funds + 25_000)
            XCTAssertEqual(aliceBalance, funds - 25_000)
            let received = await firstEvent(bob) { if case .transferReceived = $0 { true } else { false } }
            XCTAssertEqual(received, .transferReceived(height: 1, from: alice.accountId, amount: 25_000))
            let sync = await firstEvent(bob) { if case .syncDone = $0 { true } else { false } }
            XCTAssertEqual(sync, .syncDone(received: 1, waiting: 0))

            let history = try await bob.history()
            XCTAssertEqual(history.map(\.counterparty), [alice.accountId])
            XCTAssertEqual(history.map(\.outgoing), [false])
            let status = try await alice.status()
            XCTAssertEqual(status.accountId, alice.accountId)
            XCTAssertEqual(status.height, 1)
            XCTAssertFalse(status.paused)
        }
    }

    func testBadInputGivesTypedErrors() async throws {
        let net = try await TestNet.start(self, wallets: 2)
        try await bounded {
            let carol = try await net.node("carol", 0)
            defer { carol.stop() }
            let other = String(repeating: "ab", count: 32)
            await assertNodeError("InvalidAccount", { try await carol.send(to: "not-an-account", amount: 5_000) }) {
                if case .InvalidAccount(let m) = $0 { m.contains("not-an-account") } else { false }
            }
            await assertNodeError("InvalidAccount", { try await carol.send(to: String(repeating: "ab", count: 31), amount: 5_000) }) {
                if case .InvalidAccount = $0 { true } else { false }
            }
            await assertNodeError("InsufficientFunds", { try await carol.send(to: other, amount: funds * 10) }) {
                if case .InsufficientFunds(let m) = $0 { m.contains("insufficient funds") } else { false }
            }
            await assertNodeError("BelowMinimum", { try await carol.send(to: other, amount: 1) }) {
                if case .BelowMinimum = $0 { true } else { false }
            }
            await assertNodeError("SendToSelf", { try await carol.send(to: carol.accountId, amount: 5_000) }) {
                if case .SendToSelf = $0 { true } else { false }
            }
            await assertNodeError("InvalidPushToken", { try await carol.registerPushToken("not a token") }) {
                if case .InvalidPushToken(let m) = $0 { m.contains("printable") } else { false }
            }
            try await carol.registerPushToken("a1b2c3d4")
            let height = try await carol.status().height
            let balance = try await carol.balance()
            XCTAssertEqual(height, 0)
            XCTAssertEqual(balance, funds)

            await assertNodeError("InvalidPhrase", { try await ZeroPoleNode.start(config: net.config("x1"), phrase: "not a phrase") }) {
                if case .InvalidPhrase = $0 { true } else { false }
            }
            // 24 valid words whose checksum is wrong (the right last word is "art").
            let badChecksum = Array(repeating: "abandon", count: 24).joined(separator: " ")
            await assertNodeError("PhraseChecksum", { try await ZeroPoleNode.start(config: net.config("x2"), phrase: badChecksum) }) {
                if case .PhraseChecksum = $0 { true } else { false }
            }
            var unreviewed = net.config("x3")
            unreviewed.dmappId = String(repeating: "07", count: 32)
            await assertNodeError("UnreviewedDmapp", { try await ZeroPoleNode.start(config: unreviewed, phrase: net.phrases[1]) }) {
                if case .UnreviewedDmapp(let m) = $0 { m.contains("not reviewed") } else { false }
            }
            var badDmapp = net.config("x4")
            badDmapp.dmappId = "xyz"
            await assertNodeError("Config", { try await ZeroPoleNode.start(config: badDmapp, phrase: net.phrases[1]) }) {
                if case .Config = $0 { true } else { false }
            }
            var noHome = net.config("x5")
            noHome.homeStations = []
            await assertNodeError("Config", { try await ZeroPoleNode.start(config: noHome, phrase: net.phrases[1]) }) {
                if case .Config = $0 { true } else { false }
            }
        }
    }

    func testACancelledNextEventLosesNothingAndACancelledSendLeavesTheNodeConsistent() async throws {
        let net = try await TestNet.start(self, wallets: 1)
        try await bounded {
            let dave = try await net.node("dave", 0)
            defer { dave.stop() }
            let bob = String(repeating: "cd", count: 32)
            // A wait for an event, cancelled: it returns (nil, or an event already queued).
            let waiting = Task { await dave.nextEvent() }
            waiting.cancel()
            _ = await waiting.value
            // A send whose task is cancelled: the node completes it or never started it.
            let cancelled = Task { try await dave.send(to: bob, amount: 10_000) }
            cancelled.cancel()
            // The node still serves: the next send is certified after whatever the
            // cancelled one did, and its event arrives.
            let t = try await dave.send(to: bob, amount: 5_000)
            let certified = await firstEvent(dave) {
                if case .transferCertified(let height, _, _, _) = $0 { height == t.height } else { false }
            }
            XCTAssertNotNil(certified)
            _ = await cancelled.result
            let history = try await dave.history()
            let balance = try await dave.balance()
            XCTAssertEqual(history.map(\.height), Array(1...history.count).map(UInt64.init))
            XCTAssertEqual(balance, funds - history.map(\.amount).reduce(0, +))
            XCTAssertTrue((1...2).contains(t.height), "height \(t.height)")
        }
    }

    func testPauseResumeAndStopAreSafe() async throws {
        let net = try await TestNet.start(self, wallets: 1)
        try await bounded {
            let eve = try await net.node("eve", 0)
            try await eve.pause()
            let paused = try await eve.status().paused
            XCTAssertTrue(paused)
            await assertNodeError("NotRunning", { try await eve.send(to: String(repeating: "ab", count: 32), amount: 5_000) }) {
                if case .NotRunning = $0 { true } else { false }
            }
            try await eve.resume()
            let resumed = try await eve.status().paused
            XCTAssertFalse(resumed)
            let p = await firstEvent(eve) { $0 == .paused }
            let r = await firstEvent(eve) { $0 == .resumed }
            XCTAssertEqual(p, .paused)
            XCTAssertEqual(r, .resumed)

            // A waiting next_event and the stream end when the node stops.
            let pending = Task { await eve.nextEvent() }
            let stream = Task { for await _ in eve.events {} }
            eve.stop()
            eve.stop()
            XCTAssertTrue(eve.isStopped)
            _ = await pending.value
            await stream.value
            let after = await eve.nextEvent()
            XCTAssertNil(after)
            await assertNodeError("NotRunning", { try await eve.balance() }) {
                if case .NotRunning = $0 { true } else { false }
            }
        }
    }

    func testLogRecordsReachTheForeignSink() {
        final class Collector: LogSink, @unchecked Sendable {
            private let lock = NSLock()
            private var records: [String] = []
            func log(level: LogLevel, target: String, message: String) {
                lock.lock(); defer { lock.unlock() }
                records.append("\(level) \(target) \(message)")
            }
            var all: [String] {
                lock.lock(); defer { lock.unlock() }
                return records
            }
        }
        let sink = Collector()
        XCTAssertTrue(setLogSink(sink: sink, maxLevel: .info))
        logMessage(level: .info, message: "hello from the test")
        logMessage(level: .debug, message: "filtered out")
        clearLogSink()
        logMessage(level: .error, message: "after clearing")
        XCTAssertEqual(sink.all, ["info zeropole_ffi hello from the test"])
        // No platform log on Linux (os_log exists only on Apple platforms).
        #if !canImport(Darwin)
        XCTAssertFalse(enablePlatformLog(maxLevel: .info))
        #endif
    }

    func testSignalsChangeTheProfileAndSyncOnceReceivesInSaver() async throws {
        let net = try await TestNet.start(self, wallets: 2)
        try await bounded {
            let frank = try await net.node("frank", 0)
            let grace = try await net.node("grace", 1)
            defer { frank.stop(); grace.stop() }
            let initial = try await frank.status().profile
            XCTAssertEqual(initial, .active)
            await assertNodeError("InvalidSignal", { try await frank.setPower(batteryPercent: 101, charging: false, powerSaver: false) }) {
                if case .InvalidSignal(let m) = $0 { m.contains("101") } else { false }
            }
            // Low Power Mode: saver at once, no connection held, and an event.
            let saver = try await frank.setPower(batteryPercent: 80, charging: false, powerSaver: true)
            XCTAssertEqual(saver, .saver)
            let changed = await firstEvent(frank) { if case .profileChanged = $0 { true } else { false } }
            XCTAssertEqual(changed, .profileChanged(from: .active, to: .saver))
            let online = try await frank.status().online
            XCTAssertFalse(online)
            // The other signals are kept: cellular with Low Power Mode still on is saver.
            let cellular = try await frank.networkChanged(kind: .cellular)
            XCTAssertEqual(cellular, .saver)

            // A payment waits; syncOnce connects, receives it and disconnects again.
            _ = try await grace.send(to: frank.accountId, amount: 6_000)
            let got = try await frank.syncOnce()
            XCTAssertEqual(got.map(\.amount), [6_000])
            let stillOffline = try await frank.status().online
            XCTAssertFalse(stillOffline)
            let received = await firstEvent(frank) { if case .transferReceived = $0 { true } else { false } }
            XCTAssertEqual(received, .transferReceived(height: 1, from: grace.accountId, amount: 6_000))

            // Low Power Mode off, in the foreground: active, online again.
            let active = try await frank.setPower(batteryPercent: 80, charging: false, powerSaver: false)
            XCTAssertEqual(active, .active)
            let back = try await frank.status().online
            XCTAssertTrue(back)
        }
    }

    func testEventsSurviveARestartUntilAcknowledged() async throws {
        let net = try await TestNet.start(self, wallets: 1)
        try await bounded {
            let recipient = String(repeating: "cd", count: 32)
            var henry = try await net.node("henry", 0)
            _ = try await henry.send(to: recipient, amount: 8_000)
            // Taken without acknowledging (as if the app died while handling it).
            var certified = await henry.nextEvent()
            while let e = certified, !e.durable {
                henry.eventHandled(e.id)
                certified = await henry.nextEvent()
            }
            guard let certified, case .transferCertified(_, let to, let amount, _) = certified.event else {
                return XCTFail("no TransferCertified event: \(String(describing: certified))")
            }
            XCTAssertEqual(to, recipient)
            XCTAssertEqual(amount, 8_000)
            henry.stop()

            henry = try await net.node("henry", 0)
            let again = await henry.nextEvent()
            XCTAssertEqual(again, certified)
            XCTAssertTrue(henry.eventHandled(certified.id))
            XCTAssertFalse(henry.eventHandled(certified.id))
            henry.stop()

            // Acknowledged: gone. Suspending queues `paused`, which now comes first.
            henry = try await net.node("henry", 0)
            defer { henry.stop() }
            let suspended = try await henry.setAppState(.suspended)
            XCTAssertEqual(suspended, .suspended)
            let first = await firstEvent(henry) { if case .stationConnection = $0 { false } else { true } }
            XCTAssertEqual(first, .paused)
            let active = try await henry.setAppState(.foreground)
            XCTAssertEqual(active, .active)
            let balance = try await henry.balance()
            XCTAssertEqual(balance, funds - 8_000)
        }
    }

    func testTheConfigBuilderNamesTheWrongField() async throws {
        let net = try await TestNet.start(self, wallets: 1)
        let genesis = net.devnet.genesisToml()
        let station = net.devnet.stationAddrs()[0]
        let dataDir = net.dir.appendingPathComponent("built").path
        let builder = { ZeroPoleNodeConfigBuilder(dataDir: dataDir, genesisToml: genesis) }
        let ok = try builder()
            .homeStation(addr: station)
            .workerThreads(threads: 2)
            .fullInBackground(allowed: true)
            .batteryThresholds(lowPercent: 30, recoveredPercent: 40)
            .build()
        XCTAssertEqual(ok.homeStations, [station])
        XCTAssertEqual(ok.workerThreads, 2)
        XCTAssertTrue(ok.fullInBackground)
        XCTAssertEqual(ok.lowBatteryPercent, 30)

        func expect(_ kind: String, _ b: ZeroPoleNodeConfigBuilder, _ matches: (ZeroPoleConfigError) -> Bool) {
            do {
                let config = try b.build()
                XCTFail("expected \(kind), got \(config)")
            } catch let error as ZeroPoleConfigError {
                XCTAssertTrue(matches(error), "expected \(kind), got \(error)")
            } catch {
                XCTFail("expected \(kind), got \(error)")
            }
        }
        expect("InvalidDataDir", ZeroPoleNodeConfigBuilder(dataDir: "relative", genesisToml: genesis).homeStation(addr: station)) {
            if case .InvalidDataDir = $0 { true } else { false }
        }
        expect("InvalidGenesis", ZeroPoleNodeConfigBuilder(dataDir: dataDir, genesisToml: "network = 1")) {
            if case .InvalidGenesis = $0 { true } else { false }
        }
        expect("NoHomeStation", builder()) {
            if case .NoHomeStation(let m) = $0 { m.contains("bootstrap") } else { false }
        }
        expect("InvalidHomeStation", builder().homeStation(addr: "/ip4/127.0.0.1/tcp/1")) {
            if case .InvalidHomeStation = $0 { true } else { false }
        }
        expect("InvalidDmapp", builder().homeStation(addr: station).dmappId(idHex: "xyz")) {
            if case .InvalidDmapp = $0 { true } else { false }
        }
        expect("InvalidDmapp", builder().homeStation(addr: station).dmappManifest(signedManifest: Data([1, 2, 3]))) {
            if case .InvalidDmapp = $0 { true } else { false }
        }
        expect("UnreviewedDmapp", builder().homeStation(addr: station).dmappId(idHex: String(repeating: "07", count: 32))) {
            if case .UnreviewedDmapp = $0 { true } else { false }
        }
        expect("InvalidSetting", builder().homeStation(addr: station).workerThreads(threads: 0)) {
            if case .InvalidSetting = $0 { true } else { false }
        }
        expect("InvalidSetting", builder().homeStation(addr: station).batteryThresholds(lowPercent: 30, recoveredPercent: 20)) {
            if case .InvalidSetting = $0 { true } else { false }
        }
    }
}
