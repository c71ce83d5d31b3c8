package org.zeropole

import java.nio.file.Path
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.test.runTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir
import org.zeropole.ffi.WalletException

/**
 * JVM tests of [ZeroPoleWallet] against the host build of the Rust library
 * (libzeropole_ffi.so, found through `jna.library.path`).
 */
class WalletTest {

    @TempDir
    lateinit var dir: Path

    private fun db(name: String): String = dir.resolve(name).toString()

    /** Asserts that [e] is exactly of class [T] and that its message is readable text. */
    private inline fun <reified T : WalletException> assertExact(e: WalletException, vararg words: String) {
        assertEquals<Class<*>>(T::class.java, e.javaClass, "exception subtype, message: ${e.message}")
        val message = e.message
        assertTrue(!message.isNullOrBlank(), "exception message must not be empty")
        assertTrue(message.any { it.isLetter() } && ' ' in message, "message should be a sentence: '$message'")
        assertTrue(
            words.any { message.contains(it, ignoreCase = true) },
            "message '$message' should mention one of ${words.toList()}",
        )
    }

    @Test
    fun createExportRestoreGivesSameAccount() = runTest {
        val (phrase, accountId) = ZeroPoleWallet.create(db("a.db")).use { w ->
            w.exportPhrase() to w.accountId
        }
        val words = phrase.split(" ")
        assertEquals(24, words.size, "phrase: $phrase")
        assertTrue(words.all { it.isNotEmpty() && it.all(Char::isLowerCase) }, "phrase: $phrase")
        assertTrue(Regex("[0-9a-f]{64}").matches(accountId), "account id: $accountId")

        ZeroPoleWallet.validatePhrase(phrase)

        ZeroPoleWallet.restore(db("restored.db"), phrase).use { restored ->
            assertEquals(accountId, restored.accountId)
            assertEquals(phrase, restored.exportPhrase())
        }
        // Reopening the original database with its own phrase is allowed.
        ZeroPoleWallet.restore(db("a.db"), phrase).use { reopened ->
            assertEquals(accountId, reopened.accountId)
        }
    }

    @Test
    fun twoNewWalletsHaveDifferentAccounts() = runTest {
        val a = ZeroPoleWallet.create(db("a.db")).use { it.accountId }
        val b = ZeroPoleWallet.create(db("b.db")).use { it.accountId }
        assertNotEquals(a, b)
    }

    @Test
    fun signAndVerify() = runTest {
        ZeroPoleWallet.create(db("w.db")).use { w ->
            val payload = "block 7 payload".encodeToByteArray()
            val signature = w.sign(7, payload)
            assertTrue(signature.isNotEmpty())
            assertTrue(w.verify(payload, signature))

            val modified = payload.copyOf().also { it[0] = (it[0].toInt() xor 1).toByte() }
            assertFalse(w.verify(modified, signature))
        }
    }

    @Test
    fun signatureVerifiesWithRestoredWallet() = runTest {
        val payload = byteArrayOf(1, 2, 3, 4)
        val (phrase, signature) = ZeroPoleWallet.create(db("w.db")).use { w ->
            w.exportPhrase() to w.sign(1, payload)
        }
        ZeroPoleWallet.restore(db("other.db"), phrase).use { w ->
            assertTrue(w.verify(payload, signature))
        }
    }

    @Test
    fun signingTwiceAtOneHeight() = runTest {
        ZeroPoleWallet.create(db("w.db")).use { w ->
            val payload = "first".encodeToByteArray()
            val first = w.sign(10, payload)

            // Same payload, same height: idempotent, the recorded signature comes back.
            val again = w.sign(10, payload)
            assertTrue(w.verify(payload, again))
            assertContentEquals(first, again)

            // Different payload, same height: refused.
            val e = assertFailsWith<WalletException> { w.sign(10, "second".encodeToByteArray()) }
            assertExact<WalletException.AlreadySigned>(e, "already", "signed", "height")

            // Another height is fine.
            val other = "second".encodeToByteArray()
            assertTrue(w.verify(other, w.sign(11, other)))
        }
    }

    @Test
    fun signedHeightsSurviveReopening() = runTest {
        val phrase = ZeroPoleWallet.create(db("w.db")).use { w ->
            w.sign(5, "one".encodeToByteArray())
            w.exportPhrase()
        }
        ZeroPoleWallet.restore(db("w.db"), phrase).use { w ->
            val e = assertFailsWith<WalletException> { w.sign(5, "two".encodeToByteArray()) }
            assertExact<WalletException.AlreadySigned>(e, "already", "signed", "height")
        }
    }

    @Test
    fun negativeHeightIsRejected() = runTest {
        ZeroPoleWallet.create(db("w.db")).use { w ->
            assertFailsWith<IllegalArgumentException> { w.sign(-1, byteArrayOf(1)) }
        }
    }

    @Test
    fun unknownWordIsInvalidPhrase() = runTest {
        val phrase = (List(23) { "abandon" } + "zeropole").joinToString(" ")

        val e1 = assertFailsWith<WalletException> { ZeroPoleWallet.validatePhrase(phrase) }
        assertExact<WalletException.InvalidPhrase>(e1, "word", "phrase", "mnemonic")

        val e2 = assertFailsWith<WalletException> { ZeroPoleWallet.restore(db("w.db"), phrase) }
        assertExact<WalletException.InvalidPhrase>(e2, "word", "phrase", "mnemonic")
    }

    @Test
    fun validWordsWithWrongChecksum() = runTest {
        val phrase = List(24) { "abandon" }.joinToString(" ")

        val e1 = assertFailsWith<WalletException> { ZeroPoleWallet.validatePhrase(phrase) }
        assertExact<WalletException.PhraseChecksum>(e1, "checksum")

        val e2 = assertFailsWith<WalletException> { ZeroPoleWallet.restore(db("w.db"), phrase) }
        assertExact<WalletException.PhraseChecksum>(e2, "checksum")
    }

    @Test
    fun restoringAnotherPhraseIntoExistingWalletFails() = runTest {
        ZeroPoleWallet.create(db("mine.db")).close()
        val otherPhrase = ZeroPoleWallet.create(db("other.db")).use { it.exportPhrase() }

        val e = assertFailsWith<WalletException> { ZeroPoleWallet.restore(db("mine.db"), otherPhrase) }
        assertExact<WalletException.AccountMismatch>(e, "account", "mismatch", "different")
    }

    @Test
    fun createNeverReplacesAnExistingWallet() = runTest {
        val (phrase, accountId) = ZeroPoleWallet.create(db("w.db")).use { it.exportPhrase() to it.accountId }

        val e = assertFailsWith<WalletException> { ZeroPoleWallet.create(db("w.db")) }
        assertExact<WalletException.AlreadyExists>(e, "exists", "already")

        // The original wallet is still there.
        ZeroPoleWallet.restore(db("w.db"), phrase).use { assertEquals(accountId, it.accountId) }
    }

    @Test
    fun closedWalletRefusesCalls() = runTest {
        val w = ZeroPoleWallet.create(db("w.db"))
        val id = w.accountId
        w.close()
        w.close() // idempotent
        assertEquals(id, w.accountId)
        assertFailsWith<IllegalStateException> { w.exportPhrase() }
        assertFailsWith<IllegalStateException> { w.sign(1, byteArrayOf(1)) }
        assertFailsWith<IllegalStateException> { w.verify(byteArrayOf(1), byteArrayOf(2)) }
    }

    @Test
    fun toStringDoesNotLeakPhrase() = runTest {
        ZeroPoleWallet.create(db("w.db")).use { w ->
            val text = w.toString()
            assertTrue(w.accountId in text)
            assertFalse(w.exportPhrase().split(" ").take(3).joinToString(" ") in text)
        }
    }
}
