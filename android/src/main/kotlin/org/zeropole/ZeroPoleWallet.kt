package org.zeropole

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import org.zeropole.ffi.Wallet
import org.zeropole.ffi.WalletException

/**
 * A ZeroPole wallet: one account key, derived from a 24-word BIP-39 recovery phrase, with a
 * local database file holding its public data and sign-once records.
 *
 * The phrase itself is never written to the database: keep it in the platform's secure
 * storage (see [exportPhrase]) and reopen the wallet later with [restore].
 *
 * This is the idiomatic Kotlin face of the generated UniFFI object [org.zeropole.ffi.Wallet].
 * Calls that touch the database or do signing work are `suspend` functions that run on
 * [Dispatchers.IO], so they are safe to call from the main thread of an app.
 *
 * Errors are reported as the generated sealed class [WalletException]; match its subclasses
 * (for example [WalletException.PhraseChecksum] or [WalletException.AlreadySigned]) to
 * react to a specific failure. Every subclass carries a human-readable [Throwable.message].
 *
 * A wallet holds a native handle: [close] it when done (or use `use { }`). After [close],
 * every other call throws [IllegalStateException].
 *
 * ```kotlin
 * ZeroPoleWallet.create(File(context.filesDir, "wallet.db").path).use { wallet ->
 *     val signature = wallet.sign(height = 42, payload = bytes)
 *     check(wallet.verify(bytes, signature))
 * }
 * ```
 */
class ZeroPoleWallet private constructor(
    private val inner: Wallet,
    /**
     * The account identifier: 64 lowercase hexadecimal characters, derived from the
     * account's public key. The same recovery phrase always gives the same identifier.
     */
    val accountId: String,
) : AutoCloseable {

    /**
     * Returns the 24-word recovery phrase of this wallet, words separated by single spaces.
     *
     * The phrase is the account's secret: show it to the user only to back it up, and
     * never log or transmit it.
     *
     * @throws IllegalStateException if the wallet has been closed.
     */
    fun exportPhrase(): String = inner.phrase()

    /**
     * Signs [payload] for the given block [height] and returns the signature.
     *
     * At most one payload may be signed per height (this protects against equivocation,
     * and the record survives restarts because it is kept in the wallet database).
     * Signing the same payload again at the same height succeeds and returns a valid
     * signature; signing a different payload at a height already used throws
     * [WalletException.AlreadySigned].
     *
     * Runs on [Dispatchers.IO].
     *
     * @param height the block height, must not be negative.
     * @param payload the bytes to sign.
     * @return the signature, verifiable with [verify].
     * @throws WalletException.AlreadySigned if a different payload was signed at [height].
     * @throws WalletException if the database or the signer fails.
     * @throws IllegalArgumentException if [height] is negative.
     * @throws IllegalStateException if the wallet has been closed.
     */
    suspend fun sign(height: Long, payload: ByteArray): ByteArray {
        require(height >= 0) { "height must not be negative, was $height" }
        return withContext(Dispatchers.IO) { inner.sign(height.toULong(), payload) }
    }

    /**
     * Checks that [signature] is a valid signature of [payload] by this wallet's key.
     *
     * @return `true` if the signature is valid, `false` otherwise (including for a modified
     *   payload or a malformed signature).
     * @throws IllegalStateException if the wallet has been closed.
     */
    fun verify(payload: ByteArray, signature: ByteArray): Boolean = inner.verify(payload, signature)

    /**
     * Releases the native wallet and its database connection. Calling it more than once
     * has no further effect.
     */
    override fun close() {
        inner.close()
    }

    /** Returns a description that names the account but never the recovery phrase. */
    override fun toString(): String = "ZeroPoleWallet(accountId=$accountId)"

    /** Factory functions and phrase validation. */
    companion object {
        /**
         * Creates a new wallet with a fresh random 24-word recovery phrase and a new database
         * at [databasePath]. To open an existing wallet, use [restore] with its phrase.
         *
         * Runs on [Dispatchers.IO].
         *
         * @param databasePath path of the wallet database file.
         * @throws WalletException.AlreadyExists if a wallet database already exists at
         *   [databasePath] (it is never replaced).
         * @throws WalletException.Storage if the database cannot be opened or written.
         * @throws WalletException for any other failure of the native library.
         */
        suspend fun create(databasePath: String): ZeroPoleWallet =
            withContext(Dispatchers.IO) { NativeLibrary.ensureLoaded(); wrap(Wallet.create(databasePath)) }

        /**
         * Opens the wallet of a recovery [phrase] with its database at [databasePath].
         *
         * The database is created if absent (restoring a backup on a new device); if it exists
         * it must belong to the same account (reopening a wallet after an app restart).
         *
         * Runs on [Dispatchers.IO].
         *
         * @param databasePath path of the wallet database file.
         * @param phrase the 24-word BIP-39 recovery phrase, words separated by spaces.
         * @throws WalletException.InvalidPhrase if a word is not in the BIP-39 English list
         *   or the word count is wrong.
         * @throws WalletException.PhraseChecksum if the words are valid but the checksum is not
         *   (usually a mistyped or swapped word).
         * @throws WalletException.AccountMismatch if the database already holds a different
         *   account.
         * @throws WalletException.Storage if the database cannot be opened or written.
         */
        suspend fun restore(databasePath: String, phrase: String): ZeroPoleWallet =
            withContext(Dispatchers.IO) { NativeLibrary.ensureLoaded(); wrap(Wallet.restore(databasePath, phrase)) }

        /**
         * Checks a recovery [phrase] without touching any database, e.g. to validate user
         * input before calling [restore]. Returns normally if the phrase is valid.
         *
         * @throws WalletException.InvalidPhrase if a word is unknown or the word count is wrong.
         * @throws WalletException.PhraseChecksum if the checksum does not match.
         */
        fun validatePhrase(phrase: String) {
            org.zeropole.ffi.validatePhrase(phrase)
        }

        private fun wrap(wallet: Wallet): ZeroPoleWallet {
            try {
                return ZeroPoleWallet(wallet, wallet.accountId())
            } catch (t: Throwable) {
                wallet.close()
                throw t
            }
        }
    }
}
