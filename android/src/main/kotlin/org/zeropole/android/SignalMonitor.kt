package org.zeropole.android

/** A source of one platform signal: reports the current value on [start], then changes. */
interface SignalMonitor : AutoCloseable {
    /** Reports the value now and registers for changes. Idempotent. */
    fun start()

    /** Unregisters; nothing is reported after this. Idempotent. */
    override fun close()
}
