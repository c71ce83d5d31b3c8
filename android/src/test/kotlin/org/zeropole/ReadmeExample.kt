package org.zeropole

import java.nio.file.Files
import kotlin.test.assertEquals
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Test
import org.zeropole.ffi.LocalDevnet

// README example (start) ---------------------------------------------------------------
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.launchIn
import kotlinx.coroutines.flow.onEach
import org.zeropole.ffi.NodeConfig
import org.zeropole.ffi.NodeException

/** Sends 5 000 units to [friend], prints the events meanwhile, then takes incoming payments. */
suspend fun readmeExample(genesisToml: String, stations: List<String>, dataDir: String, phrase: String, friend: String) =
    coroutineScope {
        val config = NodeConfig(dataDir = dataDir, genesisToml = genesisToml, homeStations = stations)
        ZeroPoleNode.start(config, phrase).use { node ->            // dataDir: noBackupFilesDir
            val events = node.events.onEach { println("event: $it") }.launchIn(this)
            try {
                val t = node.send(to = friend, amount = 5_000u)      // returns once certified
                println("sent at height ${t.height}, balance ${t.balance}")
            } catch (e: NodeException.InsufficientFunds) {
                println("not enough: ${e.message}")
            }
            node.receivePending().forEach { println("received ${it.amount} from ${it.counterparty}") }
            println("balance ${node.balance()}, history ${node.history().size} blocks")
            events.cancel()
        }
    }
// README example (end) -----------------------------------------------------------------

/** Runs the README example against a devnet started in this JVM. */
class ReadmeExampleTest {
    @Test
    fun theReadmeExampleRuns() = runBlocking {
        val dir = Files.createTempDirectory("zeropole-readme").toFile()
        try {
            val phrases = listOf("a", "b").map { ZeroPoleWallet.create(dir.resolve("$it.db").path).use { w -> w.exportPhrase() } }
            LocalDevnet.start(4u, phrases, 1_000_000u).use { devnet ->
                val friend = ZeroPoleWallet.restore(dir.resolve("b.db").path, phrases[1]).use { it.accountId }
                withTimeout(120_000) {
                    readmeExample(devnet.genesisToml(), devnet.stationAddrs().take(2), dir.resolve("node").path, phrases[0], friend)
                }
                // The example's send went through: the node reopened from its directory shows it.
                val config = NodeConfig(dir.resolve("node").path, devnet.genesisToml(), devnet.stationAddrs().take(2))
                ZeroPoleNode.start(config, phrases[0]).use { assertEquals(1_000_000uL - 5_000u, it.balance()) }
            }
        } finally {
            dir.deleteRecursively()
        }
    }
}
