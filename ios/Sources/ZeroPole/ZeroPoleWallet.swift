import Foundation
import ZeroPoleFFI

/// The error thrown by every ZeroPole wallet operation.
///
/// Each case carries a human-readable `message` from the Rust core. Match on the case:
///
/// ```swift
/// do {
///     try ZeroPoleWallet.validatePhrase(phrase)
/// } catch ZeroPoleWalletError.PhraseChecksum {
///     // a typo in one of the words
/// }
/// ```
///
/// Cases: `InvalidPhrase` (a word not in the BIP-39 English list, or not 24 words),
/// `PhraseChecksum` (valid words, wrong checksum: a typo or words out of order),
/// `AlreadyExists` (`create` would replace an existing wallet database), `AccountMismatch`
/// (the database belongs to another phrase), `AlreadySigned` (a different payload was already
/// signed at this height), `InvalidKey` (a malformed public key), `Storage` (the SQLite
/// database failed) and `Internal` (a bug; please report it with the message).
public typealias ZeroPoleWalletError = WalletError

/// A ZeroPole wallet: one Falcon-512 account derived from a 24-word recovery phrase, with a
/// SQLite database on the device for its public data and sign-once records.
///
/// The phrase itself is never stored in the database: keep it in the Keychain and reopen the
/// wallet with ``restore(databasePath:phrase:)``.
///
/// Creating, restoring and signing touch the database, so they are `async` and run off the
/// caller's task (never on the main actor). Instances are immutable and safe to share between
/// tasks.
public final class ZeroPoleWallet: Sendable {
    private let inner: Wallet

    private init(_ inner: Wallet) {
        self.inner = inner
    }

    /// Creates a new account with a fresh 24-word recovery phrase and stores it in a new
    /// database at `databasePath`.
    ///
    /// - Parameter databasePath: Path of the SQLite database file to create.
    /// - Throws: ``ZeroPoleWalletError``: `AlreadyExists` if a wallet database is already
    ///   there (it is never replaced), `Storage` if the database cannot be created.
    public static func create(databasePath: String) async throws -> ZeroPoleWallet {
        try await Task.detached {
            try ZeroPoleWallet(Wallet.create(dbPath: databasePath))
        }.value
    }

    /// Opens the wallet of `phrase` with its database at `databasePath`: both to reopen a
    /// wallet on every app start and to restore a backup on a new device.
    ///
    /// If the database does not exist it is created. If it exists, it must belong to the
    /// same account.
    ///
    /// - Parameters:
    ///   - databasePath: Path of the SQLite database file.
    ///   - phrase: The 24-word recovery phrase, words separated by spaces.
    /// - Throws: ``ZeroPoleWalletError``: `InvalidPhrase`, `PhraseChecksum`,
    ///   `AccountMismatch` (the database belongs to another account) or `Storage`.
    public static func restore(databasePath: String, phrase: String) async throws -> ZeroPoleWallet {
        try await Task.detached {
            try ZeroPoleWallet(Wallet.restore(dbPath: databasePath, phrase: phrase))
        }.value
    }

    /// Checks a recovery phrase without touching any database, e.g. while the user types it.
    ///
    /// - Throws: ``ZeroPoleWalletError``: `InvalidPhrase` for an unknown word or a wrong word
    ///   count, `PhraseChecksum` when every word is valid but the checksum is not.
    public static func validatePhrase(_ phrase: String) throws {
        try ZeroPoleFFI.validatePhrase(phrase: phrase)
    }

    /// Checks `signature` over `payload` against any account's public key.
    ///
    /// - Returns: `true` if the signature is valid.
    /// - Throws: ``ZeroPoleWalletError`` `InvalidKey` if `publicKey` is malformed.
    public static func verify(publicKey: Data, payload: Data, signature: Data) throws -> Bool {
        try verifySignature(publicKey: publicKey, payload: payload, signature: signature)
    }

    /// The account identifier (64 lowercase hexadecimal characters) of an encoded public
    /// key, e.g. one received from a peer.
    ///
    /// - Throws: ``ZeroPoleWalletError`` `InvalidKey` if `publicKey` is malformed.
    public static func accountId(ofPublicKey publicKey: Data) throws -> String {
        try accountIdOf(publicKey: publicKey)
    }

    /// The version of the Rust core library.
    public static var coreVersion: String {
        ZeroPoleFFI.coreVersion()
    }

    /// The account identifier: 64 lowercase hexadecimal characters.
    public var accountId: String {
        inner.accountId()
    }

    /// The account's encoded public key (algorithm byte followed by the key).
    public var publicKey: Data {
        inner.publicKey()
    }

    /// Returns the 24-word recovery phrase, words separated by spaces.
    ///
    /// Anyone holding it controls the account: show it only on an explicit user request and
    /// never log it.
    public func exportPhrase() -> String {
        inner.phrase()
    }

    /// Signs `payload` for block `height`.
    ///
    /// A height is signed at most once: signing the same payload again returns the recorded
    /// signature, while a *different* payload at a height that already has a signature throws
    /// `AlreadySigned`. This protects against equivocation even across restarts (the guard is
    /// stored in the database).
    ///
    /// - Returns: The signature.
    /// - Throws: ``ZeroPoleWalletError``: `AlreadySigned` or `Storage`.
    public func sign(height: UInt64, payload: Data) async throws -> Data {
        let inner = self.inner
        return try await Task.detached {
            try inner.sign(height: height, payload: payload)
        }.value
    }

    /// Checks that `signature` is this account's signature over `payload`.
    ///
    /// - Returns: `true` if the signature is valid, `false` otherwise.
    public func verify(payload: Data, signature: Data) -> Bool {
        inner.verify(payload: payload, signature: signature)
    }
}
