import Foundation
import XCTest

import ZeroPole

final class ZeroPoleWalletTests: XCTestCase {
    /// A fresh directory, deleted after the test.
    private func makeTempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("zeropole-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock {
            try? FileManager.default.removeItem(at: dir)
        }
        return dir
    }

    private func dbPath(_ dir: URL, _ name: String) -> String {
        dir.appendingPathComponent(name).path
    }

    /// Runs `body`, expecting it to throw a ZeroPoleWalletError for which `isExpected` holds.
    private func assertWalletError<T>(
        _ expected: String,
        file: StaticString = #filePath,
        line: UInt = #line,
        _ body: () async throws -> T,
        isExpected: (ZeroPoleWalletError) -> Bool
    ) async {
        do {
            let value = try await body()
            XCTFail("expected \(expected), got a result: \(value)", file: file, line: line)
        } catch let error as ZeroPoleWalletError {
            XCTAssertTrue(isExpected(error), "expected \(expected), got \(error)", file: file, line: line)
        } catch {
            XCTFail("expected \(expected), got a non-wallet error: \(error)", file: file, line: line)
        }
    }

    func testCreateExportRestore() async throws {
        let dir = try makeTempDir()
        let wallet = try await ZeroPoleWallet.create(databasePath: dbPath(dir, "a.db"))

        let phrase = wallet.exportPhrase()
        let words = phrase.split(separator: " ")
        XCTAssertEqual(words.count, 24, "phrase: \(words.count) words")
        XCTAssertNoThrow(try ZeroPoleWallet.validatePhrase(phrase))

        let accountId = wallet.accountId
        XCTAssertEqual(accountId.count, 64)
        XCTAssertTrue(accountId.allSatisfy { "0123456789abcdef".contains($0) }, accountId)

        let restored = try await ZeroPoleWallet.restore(databasePath: dbPath(dir, "b.db"), phrase: phrase)
        XCTAssertEqual(restored.accountId, accountId)
        XCTAssertEqual(restored.publicKey, wallet.publicKey)
        XCTAssertEqual(restored.exportPhrase(), phrase)
    }

    func testSignAndVerify() async throws {
        let dir = try makeTempDir()
        let wallet = try await ZeroPoleWallet.create(databasePath: dbPath(dir, "w.db"))
        let payload = Data("block 7 of the ZeroPole chain".utf8)

        let signature = try await wallet.sign(height: 7, payload: payload)
        XCTAssertFalse(signature.isEmpty)
        XCTAssertTrue(wallet.verify(payload: payload, signature: signature))

        var modified = payload
        modified[0] ^= 0x01
        XCTAssertFalse(wallet.verify(payload: modified, signature: signature))

        XCTAssertTrue(try ZeroPoleWallet.verify(
            publicKey: wallet.publicKey, payload: payload, signature: signature))
        XCTAssertFalse(try ZeroPoleWallet.verify(
            publicKey: wallet.publicKey, payload: modified, signature: signature))

        // Another account does not accept it.
        let other = try await ZeroPoleWallet.create(databasePath: dbPath(dir, "other.db"))
        XCTAssertFalse(other.verify(payload: payload, signature: signature))
    }

    func testSigningADifferentPayloadAtTheSameHeightThrowsAlreadySigned() async throws {
        let dir = try makeTempDir()
        let wallet = try await ZeroPoleWallet.create(databasePath: dbPath(dir, "w.db"))
        _ = try await wallet.sign(height: 42, payload: Data("first".utf8))

        await assertWalletError("AlreadySigned", {
            try await wallet.sign(height: 42, payload: Data("second".utf8))
        }) { error in
            if case .AlreadySigned = error { return true }
            return false
        }

        // The same payload again returns the recorded signature.
        let first = try await wallet.sign(height: 42, payload: Data("first".utf8))
        let firstAgain = try await wallet.sign(height: 42, payload: Data("first".utf8))
        XCTAssertEqual(first, firstAgain)

        // Other heights are still signable.
        let next = try await wallet.sign(height: 43, payload: Data("second".utf8))
        XCTAssertTrue(wallet.verify(payload: Data("second".utf8), signature: next))
    }

    func testNonBip39WordThrowsInvalidPhrase() async throws {
        let dir = try makeTempDir()
        let wallet = try await ZeroPoleWallet.create(databasePath: dbPath(dir, "w.db"))
        var words = wallet.exportPhrase().split(separator: " ").map(String.init)
        words[5] = "zeropole" // not in the BIP-39 English list
        let bad = words.joined(separator: " ")

        await assertWalletError("InvalidPhrase", { try ZeroPoleWallet.validatePhrase(bad) }) { error in
            if case .InvalidPhrase = error { return true }
            return false
        }
        await assertWalletError("InvalidPhrase", {
            try await ZeroPoleWallet.restore(databasePath: self.dbPath(dir, "bad.db"), phrase: bad)
        }) { error in
            if case .InvalidPhrase = error { return true }
            return false
        }
    }

    func testWrongChecksumThrowsPhraseChecksum() async throws {
        let dir = try makeTempDir()
        // 24 valid words; the valid all-zero phrase ends in "art", not "abandon".
        let bad = Array(repeating: "abandon", count: 24).joined(separator: " ")

        await assertWalletError("PhraseChecksum", { try ZeroPoleWallet.validatePhrase(bad) }) { error in
            if case .PhraseChecksum = error { return true }
            return false
        }
        await assertWalletError("PhraseChecksum", {
            try await ZeroPoleWallet.restore(databasePath: self.dbPath(dir, "bad.db"), phrase: bad)
        }) { error in
            if case .PhraseChecksum = error { return true }
            return false
        }
    }

    func testRestoringAnotherPhraseIntoAnExistingDatabaseThrowsAccountMismatch() async throws {
        let dir = try makeTempDir()
        let path = dbPath(dir, "mine.db")
        let (myAccount, myPhrase): (String, String) = try await {
            let wallet = try await ZeroPoleWallet.create(databasePath: path)
            return (wallet.accountId, wallet.exportPhrase())
        }() // the wallet is released here, closing its database
        let otherPhrase = try await ZeroPoleWallet.create(databasePath: dbPath(dir, "other.db")).exportPhrase()

        await assertWalletError("AccountMismatch", {
            try await ZeroPoleWallet.restore(databasePath: path, phrase: otherPhrase)
        }) { error in
            if case .AccountMismatch = error { return true }
            return false
        }

        // The database still belongs to the original account, which can restore into it.
        let again = try await ZeroPoleWallet.restore(databasePath: path, phrase: myPhrase)
        XCTAssertEqual(again.accountId, myAccount)
    }

    func testCreatingOverAnExistingWalletThrowsAlreadyExists() async throws {
        let dir = try makeTempDir()
        let path = dbPath(dir, "w.db")
        let wallet = try await ZeroPoleWallet.create(databasePath: path)

        await assertWalletError("AlreadyExists", {
            try await ZeroPoleWallet.create(databasePath: path)
        }) { error in
            if case .AlreadyExists = error { return true }
            return false
        }
        // The existing wallet is untouched.
        let reopened = try await ZeroPoleWallet.restore(databasePath: path, phrase: wallet.exportPhrase())
        XCTAssertEqual(reopened.accountId, wallet.accountId)
    }

    func testAccountIdOfPublicKey() async throws {
        let dir = try makeTempDir()
        let wallet = try await ZeroPoleWallet.create(databasePath: dbPath(dir, "w.db"))
        XCTAssertEqual(try ZeroPoleWallet.accountId(ofPublicKey: wallet.publicKey), wallet.accountId)

        await assertWalletError("InvalidKey", {
            try ZeroPoleWallet.accountId(ofPublicKey: Data([0xff, 0x00, 0x01]))
        }) { error in
            if case .InvalidKey = error { return true }
            return false
        }
    }

    func testCoreVersionIsNotEmpty() {
        XCTAssertFalse(ZeroPoleWallet.coreVersion.isEmpty)
    }
}
