package org.zeropole.android

import android.content.Intent
import android.os.BatteryManager
import android.os.Looper
import android.os.PowerManager
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.robolectric.Shadows.shadowOf

@RunWith(RobolectricTestRunner::class)
class PowerMonitorTest {
    private val app = RuntimeEnvironment.getApplication()
    private val power = app.getSystemService(PowerManager::class.java)
    private val reports = mutableListOf<Triple<Int, Boolean, Boolean>>()
    private val monitor = PowerMonitor(app) { percent, charging, saver -> reports += Triple(percent, charging, saver) }

    @After
    fun close() = monitor.close()

    private fun battery(level: Int, scale: Int = 100, plugged: Int = 0, temperature: Int = 250) =
        Intent(Intent.ACTION_BATTERY_CHANGED)
            .putExtra(BatteryManager.EXTRA_LEVEL, level)
            .putExtra(BatteryManager.EXTRA_SCALE, scale)
            .putExtra(BatteryManager.EXTRA_PLUGGED, plugged)
            .putExtra(BatteryManager.EXTRA_TEMPERATURE, temperature)

    @Suppress("DEPRECATION") // how the system delivers ACTION_BATTERY_CHANGED
    private fun sticky(intent: Intent) = app.sendStickyBroadcast(intent)

    private fun deliver(intent: Intent) {
        sticky(intent)
        shadowOf(Looper.getMainLooper()).idle()
    }

    @Test
    fun reportsTheStickyBatteryAtStartThenOnlyRealChanges() {
        sticky(battery(level = 30, scale = 200))
        monitor.start()
        assertEquals(listOf(Triple(15, false, false)), reports)

        // Temperature only: not a change the node cares about.
        deliver(battery(level = 30, scale = 200, temperature = 300))
        assertEquals(1, reports.size)

        // Battery saver switched on.
        shadowOf(power).setIsPowerSaveMode(true)
        app.sendBroadcast(Intent(PowerManager.ACTION_POWER_SAVE_MODE_CHANGED))
        shadowOf(Looper.getMainLooper()).idle()
        assertEquals(Triple(15, false, true), reports.last())

        // Plugged in.
        deliver(battery(level = 32, scale = 200, plugged = BatteryManager.BATTERY_PLUGGED_AC))
        assertEquals(Triple(16, true, true), reports.last())
        assertEquals(3, reports.size)
    }

    @Test
    fun aBatteryWithoutLevelCountsAsFull() {
        assertEquals(Triple(100, false, false), PowerMonitor.read(Intent(Intent.ACTION_BATTERY_CHANGED), null))
        assertEquals(Triple(100, false, false), PowerMonitor.read(null, null))
        val full = Intent(Intent.ACTION_BATTERY_CHANGED)
            .putExtra(BatteryManager.EXTRA_LEVEL, 100)
            .putExtra(BatteryManager.EXTRA_SCALE, 100)
            .putExtra(BatteryManager.EXTRA_STATUS, BatteryManager.BATTERY_STATUS_FULL)
        assertEquals(Triple(100, true, false), PowerMonitor.read(full, null))
    }

    @Test
    fun closeStopsReporting() {
        monitor.start()
        val count = reports.size
        monitor.close()
        deliver(battery(level = 3))
        assertEquals(count, reports.size)
    }
}
