package org.zeropole.android

import android.app.Activity
import android.content.ComponentCallbacks2
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.RuntimeEnvironment
import org.zeropole.ffi.AppState

@RunWith(RobolectricTestRunner::class)
class AppStateMonitorTest {
    private val app = RuntimeEnvironment.getApplication()
    private val reports = mutableListOf<AppState>()
    private val monitor = AppStateMonitor(app) { reports += it }

    @After
    fun close() = monitor.close()

    @Test
    fun followsTheStartedActivities() {
        monitor.start()
        // The first report comes from the process importance (Robolectric: foreground).
        assertEquals(1, reports.size)
        val screen = Robolectric.buildActivity(Activity::class.java).setup()
        assertEquals(AppState.FOREGROUND, reports.last())
        val first = reports.toList()
        // A second screen on top, then back: still in the foreground, nothing reported.
        val second = Robolectric.buildActivity(Activity::class.java).setup()
        val count = reports.size
        second.pause().stop().destroy()
        assertEquals(count, reports.size)
        // Home button: the last activity stops.
        screen.pause().stop()
        assertEquals(AppState.BACKGROUND, reports.last())
        screen.start()
        assertEquals(AppState.FOREGROUND, reports.last())
        assertEquals(first.size + 2, reports.size)
    }

    @Test
    fun theSystemHidingTheUiMeansBackground() {
        monitor.start()
        val screen = Robolectric.buildActivity(Activity::class.java).setup()
        screen.pause().stop()
        reports.clear()
        app.onTrimMemory(ComponentCallbacks2.TRIM_MEMORY_UI_HIDDEN)
        // Already reported: the same state is not sent twice.
        assertEquals(emptyList<AppState>(), reports)
        monitor.close()
        screen.start()
        assertEquals(emptyList<AppState>(), reports)
    }
}
