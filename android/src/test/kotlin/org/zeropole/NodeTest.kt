package org.zeropole

import java.nio.file.Files
import java.nio.file.Path
import kotlin.io.path.deleteRecursively
import kotlin.io.path.ExperimentalPathApi
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.yield
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.io.TempDir
import org.zeropole.ffi.AppState
import org.zeropole.ffi.ConfigException
import org.zeropole.ffi.LocalDevnet
import org.zeropole.ffi.LogLevel
import org.zeropole.ffi.NetworkKind
import org.zeropole.ffi.Profile
import org.zeropole.ffi.LogSink
import org.zeropole.ffi.NodeEvent
import org.zeropole.ffi.NodeException
import org.zeropole.ffi.clearLogSink
import org.zeropole.ffi.enablePlatformLog
import org.zeropole.ffi.logMessage
import org.zeropole.ffi.setLogSink

/**
 * [ZeroPoleNode] against a real devnet: four stations started in this JVM through the FFI
 * ([LocalDevnet]), and wallets whose phrases are generated with [ZeroPoleWallet]. Each
 * test sends from its own account, so the tests do not depend on each other's order.
 * Timeouts only bound the tests; nothing asserts how fast anything is.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NodeTest {
    private val funds = 1_000_000uL
    private lateinit var devnet: LocalDevnet
    private lateinit var phrases: List<String>
    private lateinit var phraseDir: Path

    @TempDir
    lateinit var dir: Path

    @BeforeAll
    fun startDevnet() = runBlocking {
        phraseDir = Files.createTempDirectory("zeropole-phrases")
        phrases = (0 until 9).map { i ->
            ZeroPoleWallet.create(phraseDir.resolve("w$i.db").toString()).use { it.exportPhrase() }
        }
        devnet = LocalDevnet.start(4u, phrases, funds)
    }

    @OptIn(ExperimentalPathApi::class)
    @AfterAll
    fun stopDevnet() {
        devnet.stop()
        devnet.close()
        phraseDir.deleteRecursively()
    }

    private fun config(name: String) = ZeroPoleNode.config(dir.resolve(name).toString(), devnet.genesisToml()) {
        homeStations(devnet.stationAddrs().take(2))
    }

    private suspend fun node(name: String, phrase: Int) = ZeroPoleNode.start(config(name), phrases[phrase])

    private fun bounded(block: suspend kotlinx.coroutines.CoroutineScope.() -> Unit) =
        runBlocking { withTimeout(120_000) { block() } }

    @Test
    fun aTransferIsCertifiedReceivedAndSeenInEvents() = bounded {
        node("alice", 0).use { alice ->
            node("bob", 1).use { bob ->
                val t = alice.send(bob.accountId, 25_000u)
                assertEquals(1uL, t.height)
                assertEquals(funds - 25_000u, t.balance)
                assertEquals(25_000uL, t.amount)
                assertEquals(bob.accountId, t.counterparty)
                assertTrue(t.outgoing)
                val certified = alice.events.first { it is NodeEvent.TransferCertified }
                assertEquals(NodeEvent.TransferCertified(1u, bob.accountId, 25_000u, (certified as NodeEvent.TransferCertified).latencyMs), certified)

                val got = bob.receivePending()
                assertEquals(1, got.size)
                assertEquals(alice.accountId, got[0].counterparty)
                assertEquals(false, got[0].outgoing)
                assertEquals(funds + 25_000u, bob.balance())
                assertEquals(funds - 25_000u, alice.balance())
                val received = bob.events.first { it is NodeEvent.TransferReceived }
                assertEquals(NodeEvent.TransferReceived(1u, alice.accountId, 25_000u), received)
                val sync = bob.events.first { it is NodeEvent.SyncDone }
                assertEquals(NodeEvent.SyncDone(1u, 0u), sync)

                val history = bob.history()
                assertEquals(1, history.size)
                assertEquals(alice.accountId, history[0].counterparty)
                assertEquals(false, history[0].outgoing)
                val status = alice.status()
                assertEquals(alice.accountId, status.accountId)
                assertEquals(1uL, status.height)
                assertEquals(false, status.paused)
            }
        }
    }

    @Test
    fun badInputGivesTypedErrors() = bounded {
        node("carol", 2).use { carol ->
            val other = "ab".repeat(32)
            val malformed = assertFailsWith<NodeException.InvalidAccount> { carol.send("not-an-account", 5_000u) }
            assertTrue("not-an-account" in malformed.message!!, malformed.message)
            assertFailsWith<NodeException.InvalidAccount> { carol.send("ab".repeat(31), 5_000u) }
            val poor = assertFailsWith<NodeException.InsufficientFunds> { carol.send(other, funds * 10u) }
            assertTrue("insufficient funds" in poor.message!!, poor.message)
            assertFailsWith<NodeException.BelowMinimum> { carol.send(other, 1u) }
            assertFailsWith<NodeException.SendToSelf> { carol.send(carol.accountId, 5_000u) }
            val badToken = assertFailsWith<NodeException.InvalidPushToken> { carol.registerPushToken("not a token") }
            assertTrue("printable" in badToken.message!!, badToken.message)
            carol.registerPushToken("fcm-token-1")
            // Nothing was signed or certified by the refused sends.
            assertEquals(0uL, carol.status().height)
            assertEquals(funds, carol.balance())
        }
        assertFailsWith<NodeException.InvalidPhrase> { ZeroPoleNode.start(config("x1"), "not a phrase") }
        // 24 valid words whose checksum is wrong (the right last word is "art").
        val badChecksum = List(24) { "abandon" }.joinToString(" ")
        assertFailsWith<NodeException.PhraseChecksum> { ZeroPoleNode.start(config("x2"), badChecksum) }
        val unreviewed = assertFailsWith<NodeException.UnreviewedDmapp> {
            ZeroPoleNode.start(config("x3").copy(dmappId = "07".repeat(32)), phrases[3])
        }
        assertTrue("not reviewed" in unreviewed.message!!, unreviewed.message)
        assertFailsWith<NodeException.Config> { ZeroPoleNode.start(config("x4").copy(dmappId = "xyz"), phrases[3]) }
        assertFailsWith<NodeException.Config> { ZeroPoleNode.start(config("x5").copy(homeStations = listOf()), phrases[3]) }
        assertFailsWith<NodeException.Config> { ZeroPoleNode.start(config("x6").copy(genesisToml = "network = 1"), phrases[3]) }
    }

    @Test
    fun aCancelledNextEventLosesNothingAndACancelledSendLeavesTheNodeConsistent() = bounded {
        node("dave", 4).use { dave ->
            val bob = "cd".repeat(32)
            // A wait for an event, cancelled while it waits.
            val waiting = async(start = CoroutineStart.UNDISPATCHED) { dave.nextEvent() }
            yield()
            waiting.cancelAndJoin()
            // A send, cancelled at once: the node finishes it or never started it.
            val cancelled = async(start = CoroutineStart.UNDISPATCHED) { dave.send(bob, 10_000u) }
            cancelled.cancelAndJoin()
            // The node still serves: the next send is certified right after whatever the
            // cancelled one did, and the events still arrive.
            val t = dave.send(bob, 5_000u)
            val certified = dave.events.first { it is NodeEvent.TransferCertified && it.height == t.height }
            assertIs<NodeEvent.TransferCertified>(certified)
            val history = dave.history()
            assertEquals((1uL..t.height).toList(), history.map { it.height })
            assertEquals(funds - history.sumOf { it.amount }, dave.balance())
            assertEquals(t.balance, dave.balance())
            assertTrue(t.height in 1uL..2uL, "height ${t.height}")
        }
    }

    @Test
    fun pauseResumeAndStopAreSafe() = bounded {
        val eve = node("eve", 5)
        eve.pause()
        assertTrue(eve.status().paused)
        assertFailsWith<NodeException.NotRunning> { eve.send("ab".repeat(32), 5_000u) }
        eve.resume()
        assertEquals(false, eve.status().paused)
        assertIs<NodeEvent.Paused>(eve.events.first { it is NodeEvent.Paused })
        assertIs<NodeEvent.Resumed>(eve.events.first { it is NodeEvent.Resumed })

        // The flow (which acknowledges everything queued, then waits) and a nextEvent end
        // when the node stops.
        val waiting = async(start = CoroutineStart.UNDISPATCHED) { eve.events.toList() }
        val pending = async(start = CoroutineStart.UNDISPATCHED) { eve.nextEvent() }
        eve.stop()
        eve.stop()
        assertTrue(eve.isStopped)
        waiting.await()
        pending.await()
        assertNull(eve.nextEvent())
        assertFailsWith<NodeException.NotRunning> { eve.balance() }
        assertFailsWith<NodeException.NotRunning> { eve.send("ab".repeat(32), 5_000u) }
        eve.close()
        eve.close()
    }

    @Test
    fun logRecordsReachTheForeignSink() {
        val records = java.util.concurrent.ConcurrentLinkedQueue<String>()
        val sink = object : LogSink {
            override fun log(level: LogLevel, target: String, message: String) {
                records.add("$level $target $message")
            }
        }
        assertTrue(setLogSink(sink, LogLevel.INFO))
        logMessage(LogLevel.INFO, "hello from the test")
        logMessage(LogLevel.DEBUG, "filtered out")
        clearLogSink()
        logMessage(LogLevel.ERROR, "after clearing")
        assertEquals(listOf("INFO zeropole_ffi hello from the test"), records.toList())
        // No platform log on a desktop JVM (logcat and os_log exist only on devices), and
        // the library was not loaded the Android way.
        assertEquals(false, enablePlatformLog(LogLevel.INFO))
        assertEquals(false, NativeLibrary.ensureLoaded())
    }

    @Test
    fun signalsChangeTheProfileAndSyncOnceReceivesInSaver() = bounded {
        node("frank", 6).use { frank ->
            node("grace", 7).use { grace ->
                assertEquals(Profile.ACTIVE, frank.status().profile)
                val tooFull = assertFailsWith<NodeException.InvalidSignal> { frank.setPower(101, false, false) }
                assertTrue("101" in tooFull.message!!, tooFull.message)
                // The OS battery saver: Saver at once, no connection held, and an event.
                assertEquals(Profile.SAVER, frank.setPower(80, charging = false, powerSaver = true))
                val changed = frank.events.first { it is NodeEvent.ProfileChanged }
                assertEquals(NodeEvent.ProfileChanged(Profile.ACTIVE, Profile.SAVER), changed)
                assertEquals(false, frank.status().online)
                // The other signals are kept: cellular with the saver still on is Saver.
                assertEquals(Profile.SAVER, frank.networkChanged(NetworkKind.CELLULAR))

                // A payment waits; syncOnce connects, receives it and disconnects again.
                grace.send(frank.accountId, 6_000u)
                val got = frank.syncOnce()
                assertEquals(listOf(6_000uL), got.map { it.amount })
                assertEquals(false, frank.status().online)
                val received = frank.events.first { it is NodeEvent.TransferReceived }
                assertEquals(NodeEvent.TransferReceived(1u, grace.accountId, 6_000u), received)

                // Back in the foreground without the saver: Active, online again.
                assertEquals(Profile.SAVER, frank.setAppState(AppState.FOREGROUND))
                assertEquals(Profile.ACTIVE, frank.setPower(80, charging = false, powerSaver = false))
                assertEquals(true, frank.status().online)
            }
        }
    }

    @Test
    fun eventsSurviveARestartUntilAcknowledged() = bounded {
        val recipient = "cd".repeat(32)
        val certified = node("henry", 8).use { henry ->
            henry.send(recipient, 8_000u)
            // Taken without acknowledging (as if the app died while handling it).
            var e = henry.nextEvent()!!
            while (e.event !is NodeEvent.TransferCertified) {
                henry.eventHandled(e.id)
                e = henry.nextEvent()!!
            }
            assertTrue(e.durable)
            e
        }
        val again = node("henry", 8).use { henry ->
            val e = henry.nextEvent()!!
            assertEquals(certified.id, e.id)
            assertEquals(certified.event, e.event)
            assertTrue(henry.eventHandled(e.id))
            assertEquals(false, henry.eventHandled(e.id))
            e
        }
        node("henry", 8).use { henry ->
            // Acknowledged: gone. Suspending queues `Paused`, which now comes first.
            assertEquals(Profile.SUSPENDED, henry.setAppState(AppState.SUSPENDED))
            val first = henry.events.first { it !is NodeEvent.StationConnection }
            assertEquals(NodeEvent.Paused, first)
            assertEquals(Profile.ACTIVE, henry.setAppState(AppState.FOREGROUND))
            assertEquals(funds - 8_000u, henry.balance())
        }
        assertTrue(again.durable)
    }

    @Test
    fun theConfigBuilderNamesTheWrongField() {
        val genesis = devnet.genesisToml()
        val station = devnet.stationAddrs().first()
        val dataDir = dir.resolve("built").toString()
        val ok = ZeroPoleNode.config(dataDir, genesis) {
            homeStation(station)
            workerThreads(2u)
            fullInBackground(true)
            batteryThresholds(30u, 40u)
        }
        assertEquals(listOf(station), ok.homeStations)
        assertEquals(2u, ok.workerThreads)
        assertEquals(true, ok.fullInBackground)
        assertEquals(30.toUByte(), ok.lowBatteryPercent)

        assertFailsWith<ConfigException.InvalidDataDir> { ZeroPoleNode.config("relative", genesis) { homeStation(station) } }
        assertFailsWith<ConfigException.InvalidGenesis> { ZeroPoleNode.config(dataDir, "network = 1") }
        val none = assertFailsWith<ConfigException.NoHomeStation> { ZeroPoleNode.config(dataDir, genesis) }
        assertTrue("bootstrap" in none.message!!, none.message)
        assertFailsWith<ConfigException.InvalidHomeStation> { ZeroPoleNode.config(dataDir, genesis) { homeStation("/ip4/127.0.0.1/tcp/1") } }
        assertFailsWith<ConfigException.InvalidDmapp> { ZeroPoleNode.config(dataDir, genesis) { homeStation(station); dmappId("xyz") } }
        assertFailsWith<ConfigException.InvalidDmapp> { ZeroPoleNode.config(dataDir, genesis) { homeStation(station); dmappManifest(byteArrayOf(1, 2, 3)) } }
        assertFailsWith<ConfigException.UnreviewedDmapp> { ZeroPoleNode.config(dataDir, genesis) { homeStation(station); dmappId("07".repeat(32)) } }
        assertFailsWith<ConfigException.InvalidSetting> { ZeroPoleNode.config(dataDir, genesis) { homeStation(station); workerThreads(0u) } }
        assertFailsWith<ConfigException.InvalidSetting> { ZeroPoleNode.config(dataDir, genesis) { homeStation(station); batteryThresholds(30u, 20u) } }
    }
}
