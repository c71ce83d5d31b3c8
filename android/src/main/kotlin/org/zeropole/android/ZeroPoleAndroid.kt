package org.zeropole.android

import android.app.Application
import android.net.ConnectivityManager
import kotlinx.coroutines.CoroutineScope
import org.zeropole.PlatformSignals
import org.zeropole.ffi.Profile

/**
 * Feeds a node the platform's signals on Android (DESIGN.md §7): the app's visibility
 * ([AppStateMonitor]), the power situation ([PowerMonitor]) and the default network
 * ([NetworkMonitor]), each reported at once and then on every change, in order, on
 * [scope]. Framework APIs only: the app needs no androidx dependency.
 *
 * ```kotlin
 * class App : Application() {
 *     val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
 *     lateinit var node: ZeroPoleNode
 *     private var signals: AutoCloseable? = null
 *
 *     override fun onCreate() {
 *         super.onCreate()
 *         scope.launch {
 *             node = ZeroPoleNode.start(config, phrase)
 *             signals = ZeroPoleAndroid.attach(this@App, node, scope)
 *             ZeroPoleSync.schedule(this@App, node)   // sync_once() in Saver
 *         }
 *     }
 * }
 * ```
 *
 * Needs `android.permission.ACCESS_NETWORK_STATE` in the app's manifest.
 */
object ZeroPoleAndroid {
    /**
     * Starts reporting to [node]; close the returned handle to stop (before stopping the
     * node). [onDelivered] sees each signal's outcome: the profile applied, or why the
     * node refused it (it is logged under the tag `zeropole` too).
     */
    fun attach(
        application: Application,
        node: PlatformSignals,
        scope: CoroutineScope,
        onDelivered: (String, Result<Profile>) -> Unit = { _, _ -> },
    ): AutoCloseable {
        val queue = SignalQueue(scope, node, onDelivered)
        val connectivity = application.getSystemService(ConnectivityManager::class.java)
        val monitors: List<SignalMonitor> = listOfNotNull(
            AppStateMonitor(application) { state ->
                queue.offer("app state $state") { setAppState(state) }
            },
            PowerMonitor(application) { percent, charging, saver ->
                queue.offer("power $percent % charging=$charging saver=$saver") {
                    setPower(percent, charging, saver)
                }
            },
            connectivity?.let { cm ->
                NetworkMonitor(cm) { kind, metered ->
                    queue.offer("network $kind metered=$metered") { networkChanged(kind, metered) }
                }
            },
        )
        val started = mutableListOf<SignalMonitor>()
        try {
            for (monitor in monitors) {
                monitor.start()
                started += monitor
            }
        } catch (e: RuntimeException) {
            started.forEach { it.close() }
            queue.close()
            throw e
        }
        return AutoCloseable {
            started.forEach { it.close() }
            queue.close()
        }
    }
}
