package org.zeropole.android

import android.app.Activity
import android.app.job.JobInfo
import android.app.job.JobScheduler
import android.content.Intent
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import android.os.BatteryManager
import android.os.Looper
import java.util.Collections
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowNetwork
import org.robolectric.shadows.ShadowNetworkCapabilities
import org.zeropole.PlatformSignals
import org.zeropole.SyncTarget
import org.zeropole.ffi.AppState
import org.zeropole.ffi.NetworkKind
import org.zeropole.ffi.NodeException
import org.zeropole.ffi.Profile
import org.zeropole.ffi.Transfer

/** Records what the adapters report, in order; refuses the first power report. */
private class RecordingNode : PlatformSignals {
    val calls: MutableList<String> = Collections.synchronizedList(mutableListOf())
    private var refusedOnce = false

    override suspend fun setAppState(state: AppState): Profile {
        calls += "app $state"
        return Profile.ACTIVE
    }

    override suspend fun setPower(batteryPercent: Int, charging: Boolean, powerSaver: Boolean): Profile {
        calls += "power $batteryPercent $charging $powerSaver"
        if (!refusedOnce) {
            refusedOnce = true
            throw NodeException.NotRunning("paused")
        }
        return if (powerSaver) Profile.SAVER else Profile.ACTIVE
    }

    override suspend fun networkChanged(kind: NetworkKind, metered: Boolean): Profile {
        calls += "network $kind $metered"
        return Profile.ACTIVE
    }
}

@RunWith(RobolectricTestRunner::class)
class ZeroPoleAndroidTest {
    private val app = RuntimeEnvironment.getApplication()
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    @After
    fun cancel() {
        scope.cancel()
        ZeroPoleSync.cancel(app)
    }

    @Suppress("DEPRECATION") // how the system delivers ACTION_BATTERY_CHANGED
    private fun sticky(intent: Intent) = app.sendStickyBroadcast(intent)

    private fun waitFor(what: String, check: () -> Boolean) = runBlocking {
        withTimeout(5_000) {
            while (!check()) delay(10)
        }
    }

    @Test
    fun attachReportsEverySignalInOrderAndKeepsGoingAfterARefusal() {
        sticky(
            Intent(Intent.ACTION_BATTERY_CHANGED)
                .putExtra(BatteryManager.EXTRA_LEVEL, 80)
                .putExtra(BatteryManager.EXTRA_SCALE, 100),
        )
        val node = RecordingNode()
        val outcomes = Collections.synchronizedList(mutableListOf<Result<Profile>>())
        val signals = ZeroPoleAndroid.attach(app, node, scope) { _, outcome -> outcomes += outcome }
        waitFor("the three first reports") { node.calls.size == 3 }
        assertTrue(node.calls[0].startsWith("app "))
        assertEquals("power 80 false false", node.calls[1])
        assertTrue(node.calls[2].startsWith("network "))
        // The refused power report is logged and reported as a failure; later ones go on.
        waitFor("three outcomes") { outcomes.size == 3 }
        assertTrue(outcomes[1].exceptionOrNull() is NodeException.NotRunning)

        Robolectric.buildActivity(Activity::class.java).setup()
        val connectivity = app.getSystemService(ConnectivityManager::class.java)
        val caps = ShadowNetworkCapabilities.newInstance()
        shadowOf(caps).addTransportType(NetworkCapabilities.TRANSPORT_CELLULAR)
        shadowOf(caps).addCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET)
        shadowOf(connectivity).networkCallbacks.single()
            .onCapabilitiesChanged(ShadowNetwork.newInstance(42), caps)
        sticky(
            Intent(Intent.ACTION_BATTERY_CHANGED)
                .putExtra(BatteryManager.EXTRA_LEVEL, 79)
                .putExtra(BatteryManager.EXTRA_SCALE, 100),
        )
        shadowOf(Looper.getMainLooper()).idle()
        val expected = listOf("network CELLULAR true", "power 79 false false")
        waitFor("the later reports") { node.calls.containsAll(expected) }
        assertTrue(node.calls.indexOf("network CELLULAR true") < node.calls.indexOf("power 79 false false"))
        assertEquals(outcomes.size, node.calls.size)

        signals.close()
        assertTrue(shadowOf(connectivity).networkCallbacks.isEmpty())
        val count = node.calls.size
        sticky(
            Intent(Intent.ACTION_BATTERY_CHANGED)
                .putExtra(BatteryManager.EXTRA_LEVEL, 10)
                .putExtra(BatteryManager.EXTRA_SCALE, 100),
        )
        shadowOf(Looper.getMainLooper()).idle()
        Thread.sleep(50)
        assertEquals(count, node.calls.size)
    }

    @Test
    fun theSyncJobIsPeriodicNeedsANetworkAndRunsSyncOnce() {
        var syncs = 0
        val target = SyncTarget {
            syncs += 1
            emptyList<Transfer>()
        }
        assertTrue(ZeroPoleSync.schedule(app, target, periodMs = 60_000))
        val scheduler = app.getSystemService(JobScheduler::class.java)
        val job = scheduler.allPendingJobs.single()
        assertEquals(ZeroPoleSync.DEFAULT_JOB_ID, job.id)
        assertTrue(job.isPeriodic)
        // Raised to Android's floor of 15 minutes.
        assertEquals(ZeroPoleSync.MIN_PERIOD_MS, job.intervalMillis)
        @Suppress("DEPRECATION")
        assertEquals(JobInfo.NETWORK_TYPE_ANY, job.networkType)
        assertEquals(ZeroPoleSyncService::class.java.name, job.service.className)

        assertTrue(runBlocking { ZeroPoleSync.runOnce() })
        assertEquals(1, syncs)

        // Unmetered only, and a failing sync asks for a retry.
        assertTrue(
            ZeroPoleSync.schedule(app, { throw NodeException.Network("no station reachable") }, unmeteredOnly = true),
        )
        @Suppress("DEPRECATION")
        assertEquals(JobInfo.NETWORK_TYPE_UNMETERED, scheduler.allPendingJobs.single().networkType)
        assertFalse(runBlocking { ZeroPoleSync.runOnce() })

        ZeroPoleSync.cancel(app)
        assertTrue(scheduler.allPendingJobs.isEmpty())
        // No node: retried later.
        assertFalse(runBlocking { ZeroPoleSync.runOnce() })
    }
}
