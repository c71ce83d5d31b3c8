package org.zeropole.android

import android.util.Log
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import org.zeropole.PlatformSignals
import org.zeropole.ffi.Profile

/**
 * Hands the platform's signals to a [PlatformSignals] one at a time, in the order the OS
 * gave them (the node applies each with the others it last got, so order matters), on
 * [scope]. The OS callbacks only enqueue: they never wait for the node.
 *
 * A signal the node refuses (stopped, paused, an invalid value) is logged and the next one
 * is delivered all the same; [onDelivered] sees every outcome (tests, app diagnostics).
 */
internal class SignalQueue(
    scope: CoroutineScope,
    private val target: PlatformSignals,
    private val onDelivered: (String, Result<Profile>) -> Unit = { _, _ -> },
) : AutoCloseable {
    private class Signal(val what: String, val call: suspend PlatformSignals.() -> Profile)

    private val queue = Channel<Signal>(Channel.UNLIMITED)

    private val worker = scope.launch {
        for (signal in queue) {
            val outcome = try {
                Result.success(signal.call(target))
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                Log.w(TAG, "the node did not take ${signal.what}: ${e.message}")
                Result.failure(e)
            }
            onDelivered(signal.what, outcome)
        }
    }

    /** Queues a signal; `false` once closed. */
    fun offer(what: String, call: suspend PlatformSignals.() -> Profile): Boolean =
        queue.trySend(Signal(what, call)).isSuccess

    /** Drops what is still queued and stops delivering. */
    override fun close() {
        queue.close()
        worker.cancel()
    }

    companion object {
        const val TAG = "zeropole"
    }
}
