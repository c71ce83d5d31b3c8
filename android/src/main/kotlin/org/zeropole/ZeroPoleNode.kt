package org.zeropole

import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.withContext
import org.zeropole.ffi.HistoryEntry
import org.zeropole.ffi.Node
import org.zeropole.ffi.NodeConfig
import org.zeropole.ffi.NodeEvent
import org.zeropole.ffi.NodeException
import org.zeropole.ffi.NodeStatus
import org.zeropole.ffi.Transfer

/**
 * What a [ZeroPoleNode] reports, in order: the generated sealed class [NodeEvent]
 * (`TransferCertified`, `TransferReceived`, `SyncDone`, `StationConnection`, `Reachable`,
 * `Paused`, `Resumed`), used as is because it already is idiomatic Kotlin.
 */
typealias ZeroPoleEvent = NodeEvent

/**
 * A ZeroPole node inside the app: this account's wallet, its certified chain and its
 * connection to its home stations, running on a small native runtime of its own.
 *
 * Every operation is a `suspend` function that never blocks the calling thread; it can be
 * called from the main thread. Cancelling a call (leaving a screen, a timeout) is safe:
 * a cancelled [send] still completes in the node (its result shows in [history], [balance]
 * and [events]), and a cancelled [nextEvent] loses no event.
 *
 * Errors: the generated sealed class [NodeException], used directly (like
 * [org.zeropole.ffi.WalletException] for [ZeroPoleWallet]). Its subclasses are the stable
 * kinds to match (`InvalidAccount`, `InsufficientFunds`, `BelowMinimum`, `SendToSelf`,
 * `InvalidPhrase`, `PhraseChecksum`, `UnreviewedDmapp`, `Config`, `Refused`, `Network`,
 * `Storage`, `NotRunning`, …); each carries a human-readable [Throwable.message].
 *
 * Lifecycle: [pause] when the app goes to the background, [resume] when it returns,
 * [networkChanged] when connectivity changes, [stop] (or [close]) when done. After [stop]
 * every call throws [NodeException.NotRunning] and [events] completes; after [close] the
 * native handle is released and calls throw [IllegalStateException].
 */
class ZeroPoleNode private constructor(
    private val inner: Node,
    /** This node's account id: 64 lowercase hexadecimal characters. */
    val accountId: String,
) : AutoCloseable {

    /**
     * Sends [amount] base units to the account [to] (64 hex characters) and returns once
     * the committee has certified the transfer.
     *
     * @throws NodeException.InvalidAccount if [to] is not an account id.
     * @throws NodeException.InsufficientFunds if the balance cannot cover [amount].
     * @throws NodeException.BelowMinimum if [amount] is below the network minimum.
     * @throws NodeException.SendToSelf if [to] is this account.
     * @throws NodeException.Network if no station answers; [NodeException.Refused] if the
     *   committee refuses; [NodeException.NotRunning] if paused or stopped.
     */
    suspend fun send(to: String, amount: ULong): Transfer = inner.send(to, amount)

    /** Receives every certified payment waiting for this account and returns them. */
    suspend fun receivePending(): List<Transfer> = inner.receivePending()

    /** The certified balance, in base units. */
    suspend fun balance(): ULong = inner.balance()

    /** Every certified block of this account, oldest first. */
    suspend fun history(): List<HistoryEntry> = inner.history()

    /** A snapshot: balance, height, home stations connected, paused. */
    suspend fun status(): NodeStatus = inner.status()

    /** The next event, suspending until there is one; `null` once the node is stopped. */
    suspend fun nextEvent(): ZeroPoleEvent? = inner.nextEvent()

    /**
     * The node's events, pulled with [nextEvent]; completes when the node stops.
     *
     * Events are taken from one queue: collect this flow once (e.g. in a `ViewModel` or a
     * service), and share it with `shareIn` if several screens need it.
     */
    val events: Flow<ZeroPoleEvent> = flow {
        while (true) {
            emit(inner.nextEvent() ?: break)
        }
    }

    /** Pauses: finishes the operation in progress, then closes sockets and databases. */
    suspend fun pause() = inner.pause()

    /** Resumes after [pause]: reopens the databases and reconnects. Idempotent. */
    suspend fun resume() = inner.resume()

    /** Tells the node that connectivity changed (e.g. from `ConnectivityManager`). */
    suspend fun networkChanged() = inner.networkChanged()

    /** Whether [stop] has been called. */
    val isStopped: Boolean get() = inner.isStopped()

    /**
     * Stops the node: calls in flight end with [NodeException.NotRunning] (or `null` for
     * [nextEvent]), the network and the databases close. Idempotent.
     */
    fun stop() = inner.stop()

    /** Stops the node and releases its native handle. Idempotent. */
    override fun close() {
        if (closed.compareAndSet(false, true)) {
            inner.stop()
            inner.close()
        }
    }

    private val closed = AtomicBoolean(false)

    /** Returns a description that names the account, never the phrase. */
    override fun toString(): String = "ZeroPoleNode(accountId=$accountId)"

    /** Starting a node. */
    companion object {
        /**
         * Opens (or creates) the node of the 24-word [phrase] in [NodeConfig.dataDir] and
         * connects to its home stations. Runs on [Dispatchers.IO].
         *
         * @throws NodeException.InvalidPhrase or [NodeException.PhraseChecksum] for a bad
         *   phrase; [NodeException.AccountMismatch] if the directory holds another account.
         * @throws NodeException.UnreviewedDmapp if [NodeConfig.dmappId] is not reviewed on
         *   this network.
         * @throws NodeException.Config for an unusable genesis, station address or dmapp id.
         */
        suspend fun start(config: NodeConfig, phrase: String): ZeroPoleNode =
            withContext(Dispatchers.IO) {
                val node = Node.start(config, phrase)
                ZeroPoleNode(node, node.accountId())
            }
    }
}
