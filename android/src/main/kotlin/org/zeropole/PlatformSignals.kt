package org.zeropole

import org.zeropole.ffi.AppState
import org.zeropole.ffi.NetworkKind
import org.zeropole.ffi.Profile
import org.zeropole.ffi.Transfer

/**
 * Where the platform's signals go (DESIGN.md §7): the app's state, the power situation and
 * the default network. [ZeroPoleNode] is one; the Android adapters in
 * `org.zeropole.android` report to it. Each call returns the profile the node applied.
 */
interface PlatformSignals {
    /** The app's visibility changed. */
    suspend fun setAppState(state: AppState): Profile

    /** Battery level 0–100, on a charger, battery saver on. */
    suspend fun setPower(batteryPercent: Int, charging: Boolean, powerSaver: Boolean): Profile

    /** The default network changed, also when only its address did. */
    suspend fun networkChanged(kind: NetworkKind, metered: Boolean = false): Profile
}

/** The one unit of background work (DESIGN.md §7), run by the sync schedulers. */
fun interface SyncTarget {
    /** Connects if needed, receives what is waiting, disconnects again if the profile says so. */
    suspend fun syncOnce(): List<Transfer>
}
