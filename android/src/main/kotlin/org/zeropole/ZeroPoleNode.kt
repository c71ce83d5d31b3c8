package org.zeropole

import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.withContext
import org.zeropole.ffi.AppState
import org.zeropole.ffi.ConfigException
import org.zeropole.ffi.HistoryEntry
import org.zeropole.ffi.NetworkKind
import org.zeropole.ffi.Node
import org.zeropole.ffi.NodeConfig
import org.zeropole.ffi.NodeConfigBuilder
import org.zeropole.ffi.NodeEvent
import org.zeropole.ffi.NodeException
import org.zeropole.ffi.NodeStatus
import org.zeropole.ffi.Profile
import org.zeropole.ffi.PushPlatform
import org.zeropole.ffi.QueuedEvent
import org.zeropole.ffi.Transfer

/**
 * What a [ZeroPoleNode] reports, in order: the generated sealed class [NodeEvent]
 * (`TransferCertified`, `TransferReceived`, `SyncDone`, `StationConnection`, `Reachable`,
 * `ProfileChanged`, `Paused`, `Resumed`), used as is because it already is idiomatic Kotlin.
 * `TransferCertified` and `TransferReceived` are durable: stored until acknowledged, so
 * they are delivered again after a restart (see [ZeroPoleNode.events]).
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
 * `Storage`, `InvalidSignal`, `NotRunning`, …); each carries a human-readable
 * [Throwable.message]. [config] builds a checked [NodeConfig] and throws the sealed
 * [ConfigException], whose subclass names the wrong field.
 *
 * Mobile life (DESIGN.md §7): report the platform's signals with [setAppState], [setPower]
 * and [networkChanged]; the node keeps the last value of each, picks a profile (Full,
 * Active, Saver, Suspended), applies it and reports `ProfileChanged`. In Saver it holds no
 * connection: schedule [syncOnce] from JobScheduler/WorkManager or a push. [pause] and
 * [resume] remain for apps that drive the lifecycle themselves. [stop] (or [close]) when
 * done. After [stop] every call throws [NodeException.NotRunning] and [events] completes;
 * after [close] the native handle is released and calls throw [IllegalStateException].
 */
class ZeroPoleNode private constructor(
    private val inner: Node,
    /** This node's account id: 64 lowercase hexadecimal characters. */
    val accountId: String,
) : AutoCloseable, PlatformSignals, SyncTarget {

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

    /** A snapshot: balance, height, home stations connected, paused, profile, online. */
    suspend fun status(): NodeStatus = inner.status()

    /**
     * The oldest event not yet acknowledged, with its id, suspending until there is one;
     * `null` once the node is stopped. The same event comes back until [eventHandled] is
     * called with its id (durable ones even after a restart). Prefer [events], which
     * acknowledges for you.
     */
    suspend fun nextEvent(): QueuedEvent? = inner.nextEvent()

    /**
     * Acknowledges the event [id] once the app has handled it (a durable event is deleted
     * from the database). Returns whether it was queued; a second call is a no-op.
     */
    suspend fun eventHandled(id: ULong): Boolean = withContext(Dispatchers.IO) { inner.eventHandled(id) }

    /**
     * The node's events, oldest first; completes when the node stops.
     *
     * Each event is acknowledged after the collector has handled it (its `emit` returned),
     * so an event whose handling threw, or whose collection was cancelled, is delivered
     * again to the next collector, and a durable one (`TransferCertified`,
     * `TransferReceived`) even after the app was killed. Terminal operators such as
     * `first { }` stop inside `emit`: the event they return stays queued and comes first
     * to the next collection. Events come from one queue: collect this flow once (e.g. in
     * a `ViewModel` or a service), and share it with `shareIn` if several screens need it.
     */
    val events: Flow<ZeroPoleEvent> = flow {
        while (true) {
            val queued = inner.nextEvent() ?: break
            emit(queued.event)
            eventHandled(queued.id)
        }
    }

    /**
     * The app's visibility changed (`ActivityLifecycleCallbacks`, `onTrimMemory`): the node
     * applies the profile this gives with the other signals last reported, and returns it.
     * Going to the background from Active waits a grace period (10 s by default) first.
     */
    override suspend fun setAppState(state: AppState): Profile = inner.setAppState(state)

    /**
     * The power situation changed (`ACTION_BATTERY_CHANGED`, `PowerManager.isPowerSaveMode`):
     * battery level 0–100, on a charger, battery saver on. Returns the profile applied.
     *
     * @throws NodeException.InvalidSignal if [batteryPercent] is above 100.
     */
    override suspend fun setPower(batteryPercent: Int, charging: Boolean, powerSaver: Boolean): Profile {
        if (batteryPercent !in 0..255) {
            throw NodeException.InvalidSignal("battery level $batteryPercent % is not in 0..100")
        }
        return inner.setPower(batteryPercent.toUByte(), charging, powerSaver)
    }

    /**
     * The default network changed (`registerDefaultNetworkCallback`), also when only its
     * address did: its [kind] and whether it is [metered] (`!NET_CAPABILITY_NOT_METERED`;
     * cellular always counts as metered). The node applies the resulting profile and, if it
     * keeps a connection, reconnects (`Reachable` follows). Returns the profile applied.
     */
    override suspend fun networkChanged(kind: NetworkKind, metered: Boolean): Profile =
        inner.networkChanged(kind, metered)

    /**
     * The one unit of background work, for a JobScheduler/WorkManager window or a push:
     * connects if the profile holds no connection (Saver), receives every waiting payment,
     * submits what is queued and disconnects again. Returns the payments received.
     */
    override suspend fun syncOnce(): List<Transfer> = inner.syncOnce()

    /**
     * Registers the device's push token (FCM: from `FirebaseMessaging.getToken()`; an empty
     * token unregisters) with a home station, which then sends a content-free push when a
     * payment arrives while the node holds no connection (Saver): answer it with [syncOnce].
     * The token is kept across restarts and registered again each time the node enters Saver.
     *
     * @throws NodeException.InvalidPushToken for a malformed token (nothing is stored).
     * @throws NodeException.Network if no home station took it (it is sent again later).
     */
    suspend fun registerPushToken(token: String, platform: PushPlatform = PushPlatform.FCM) =
        inner.registerPushToken(platform, token)

    /** Pauses: finishes the operation in progress, then closes sockets and databases. */
    suspend fun pause() = inner.pause()

    /** Resumes after [pause]: reopens the databases and reconnects. Idempotent. */
    suspend fun resume() = inner.resume()

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

    /** Configuring and starting a node. */
    companion object {
        /**
         * A checked [NodeConfig] for a node keeping its data in [dataDir] (absolute; use
         * `noBackupFilesDir`) on the network of [genesisToml]; [configure] sets the rest on
         * a [NodeConfigBuilder] (`homeStation`, `dmappManifest`, `dmappId`,
         * `workerThreads`, `fullInBackground`, `backgroundGraceMs`, `fullEntryMs`,
         * `batteryThresholds`). Without a home station, the genesis's bootstrap stations
         * are used.
         *
         * @throws ConfigException whose subclass names the wrong field (`InvalidDataDir`,
         *   `InvalidGenesis`, `NoHomeStation`, `InvalidHomeStation`, `InvalidDmapp`,
         *   `UnreviewedDmapp`, `InvalidSetting`).
         */
        fun config(dataDir: String, genesisToml: String, configure: NodeConfigBuilder.() -> Unit = {}): NodeConfig {
            NativeLibrary.ensureLoaded()
            return NodeConfigBuilder(dataDir, genesisToml).use { builder ->
                builder.configure()
                builder.build()
            }
        }

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
                NativeLibrary.ensureLoaded()
                val node = Node.start(config, phrase)
                ZeroPoleNode(node, node.accountId())
            }
    }
}
