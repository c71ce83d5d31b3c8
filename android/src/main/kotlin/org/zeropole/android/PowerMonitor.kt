package org.zeropole.android

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import android.content.IntentFilter
import android.os.BatteryManager
import android.os.Build
import android.os.PowerManager

/**
 * The power situation (DESIGN.md §7): battery level 0–100, on a charger, battery saver on,
 * from the sticky `ACTION_BATTERY_CHANGED` broadcast and
 * `PowerManager.isPowerSaveMode` (`ACTION_POWER_SAVE_MODE_CHANGED`). Reports only when one
 * of the three changes (the battery broadcast also fires for temperature and voltage).
 * A battery that reports no level (some emulators, devices without one) counts as 100 %.
 */
class PowerMonitor(
    private val context: Context,
    private val report: (batteryPercent: Int, charging: Boolean, powerSaver: Boolean) -> Unit,
) : SignalMonitor {
    private val lock = Any()
    private var battery: Intent? = null
    private var last: Triple<Int, Boolean, Boolean>? = null
    private var started = false

    private val receiver = object : BroadcastReceiver() {
        override fun onReceive(context: Context, intent: Intent) {
            synchronized(lock) {
                if (!started) return
                if (intent.action == Intent.ACTION_BATTERY_CHANGED) battery = intent
                update()
            }
        }
    }

    override fun start() {
        val filter = IntentFilter().apply {
            addAction(Intent.ACTION_BATTERY_CHANGED)
            addAction(PowerManager.ACTION_POWER_SAVE_MODE_CHANGED)
        }
        synchronized(lock) {
            if (started) return
            started = true
            // System broadcasts reach a not-exported receiver too.
            val sticky = if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.TIRAMISU) {
                context.registerReceiver(receiver, filter, Context.RECEIVER_NOT_EXPORTED)
            } else {
                context.registerReceiver(receiver, filter)
            }
            battery = sticky ?: battery
            update()
        }
    }

    override fun close() {
        synchronized(lock) {
            if (!started) return
            started = false
        }
        try {
            context.unregisterReceiver(receiver)
        } catch (_: IllegalArgumentException) {
            // Not registered: nothing to undo.
        }
    }

    private fun update() {
        val now = read(battery, context.getSystemService(PowerManager::class.java))
        if (now == last) return
        last = now
        report(now.first, now.second, now.third)
    }

    companion object {
        /** (level %, charging, saver) from a battery broadcast and the power manager. */
        fun read(battery: Intent?, power: PowerManager?): Triple<Int, Boolean, Boolean> {
            val level = battery?.getIntExtra(BatteryManager.EXTRA_LEVEL, -1) ?: -1
            val scale = battery?.getIntExtra(BatteryManager.EXTRA_SCALE, -1) ?: -1
            val percent = if (level >= 0 && scale > 0) (level * 100 / scale).coerceIn(0, 100) else 100
            val plugged = (battery?.getIntExtra(BatteryManager.EXTRA_PLUGGED, 0) ?: 0) != 0
            val status = battery?.getIntExtra(BatteryManager.EXTRA_STATUS, -1) ?: -1
            val charging = plugged ||
                status == BatteryManager.BATTERY_STATUS_CHARGING ||
                status == BatteryManager.BATTERY_STATUS_FULL
            val saver = power?.isPowerSaveMode == true
            return Triple(percent, charging, saver)
        }
    }
}
