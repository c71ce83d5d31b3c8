package org.zeropole.android

import android.app.Activity
import android.app.ActivityManager
import android.app.Application
import android.content.ComponentCallbacks2
import android.content.res.Configuration
import android.os.Bundle
import org.zeropole.ffi.AppState

/**
 * The app's visibility (DESIGN.md §7), without androidx: `FOREGROUND` while at least one
 * activity is started, `BACKGROUND` when the last one stops (not for a configuration
 * change such as a rotation, which restarts it at once) or when the system says the UI is
 * hidden (`onTrimMemory(TRIM_MEMORY_UI_HIDDEN)`). The first report comes from the process's
 * importance when [start] is called (an app attaching from `Application.onCreate` has no
 * activity yet and starts in the background until its first activity starts).
 */
class AppStateMonitor(
    private val application: Application,
    private val report: (AppState) -> Unit,
) : SignalMonitor {
    private val lock = Any()
    private var startedActivities = 0
    private var last: AppState? = null
    private var started = false

    private val activities = object : Application.ActivityLifecycleCallbacks {
        override fun onActivityStarted(activity: Activity) {
            synchronized(lock) {
                startedActivities += 1
                send(AppState.FOREGROUND)
            }
        }

        override fun onActivityStopped(activity: Activity) {
            synchronized(lock) {
                startedActivities = (startedActivities - 1).coerceAtLeast(0)
                if (startedActivities == 0 && !activity.isChangingConfigurations) {
                    send(AppState.BACKGROUND)
                }
            }
        }

        override fun onActivityCreated(activity: Activity, savedInstanceState: Bundle?) {}
        override fun onActivityResumed(activity: Activity) {}
        override fun onActivityPaused(activity: Activity) {}
        override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) {}
        override fun onActivityDestroyed(activity: Activity) {}
    }

    private val memory = object : ComponentCallbacks2 {
        override fun onTrimMemory(level: Int) {
            if (level >= ComponentCallbacks2.TRIM_MEMORY_UI_HIDDEN) {
                synchronized(lock) {
                    if (startedActivities == 0) send(AppState.BACKGROUND)
                }
            }
        }

        override fun onConfigurationChanged(newConfig: Configuration) {}

        @Deprecated("Deprecated in Android")
        override fun onLowMemory() {}
    }

    override fun start() {
        synchronized(lock) {
            if (started) return
            started = true
            send(if (isForegroundNow()) AppState.FOREGROUND else AppState.BACKGROUND)
        }
        application.registerActivityLifecycleCallbacks(activities)
        application.registerComponentCallbacks(memory)
    }

    override fun close() {
        synchronized(lock) {
            if (!started) return
            started = false
        }
        application.unregisterActivityLifecycleCallbacks(activities)
        application.unregisterComponentCallbacks(memory)
    }

    private fun send(state: AppState) {
        if (!started || state == last) return
        last = state
        report(state)
    }

    private fun isForegroundNow(): Boolean {
        if (startedActivities > 0) return true
        val info = ActivityManager.RunningAppProcessInfo()
        ActivityManager.getMyMemoryState(info)
        return info.importance <= ActivityManager.RunningAppProcessInfo.IMPORTANCE_FOREGROUND
    }
}
