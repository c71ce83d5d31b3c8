import Foundation
import XCTest

import ZeroPoleFFI

// README example (start) ---------------------------------------------------------------
import ZeroPole

/// Sends 5 000 units to `friend`, prints the events meanwhile, then takes incoming payments.
func readmeExample(genesisToml: String, stations: [String], dataDir: String, phrase: String, friend: String) async throws {
    let config = ZeroPoleNodeConfig(dataDir: dataDir, genesisToml: genesisToml, homeStations: stations)
    let node = try await ZeroPoleNode.start(config: config, phrase: phrase)  // Application Support
    defer { node.stop() }
    let events = Task { for await event in node.events { print("event: \(event)") } }
    do {
        let t = try await node.send(to: friend, amount: 5_000)               // returns once certified
        print("sent at height \(t.height), balance \(t.balance)")
    } catch ZeroPoleNodeError.InsufficientFunds(let message) {
        print("not enough: \(message)")
    }
    for payment in try await node.receivePending() {
        print("received \(payment.amount) from \(payment.counterparty)")
    }
    print("balance \(try await node.balance()), history \(try await node.history().count) blocks")
    events.cancel()
}
// README example (end) -----------------------------------------------------------------

final class ReadmeExampleTests: XCTestCase {
    func testTheReadmeExampleRuns() async throws {
        let net = try await TestNet.start(self, wallets: 2)
        let friend = try await ZeroPoleWallet.restore(
            databasePath: net.dir.appendingPathComponent("w1.db").path, phrase: net.phrases[1]
        ).accountId
        let dataDir = net.dir.appendingPathComponent("node").path
        try await bounded {
            try await readmeExample(
                genesisToml: net.devnet.genesisToml(), stations: Array(net.devnet.stationAddrs().prefix(2)),
                dataDir: dataDir, phrase: net.phrases[0], friend: friend
            )
        }
        // The example's send went through: the node reopened from its directory shows it.
        let again = try await ZeroPoleNode.start(config: net.config("node"), phrase: net.phrases[0])
        defer { again.stop() }
        let balance = try await again.balance()
        XCTAssertEqual(balance, funds - 5_000)
    }
}
