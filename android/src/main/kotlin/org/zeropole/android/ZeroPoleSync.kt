package org.zeropole.android

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.app.job.JobService
import android.content.ComponentName
import android.content.Context
import android.util.Log
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.cancelChildren
import kotlinx.coroutines.launch
import org.zeropole.SyncTarget

/**
 * Schedules the node's one unit of background work, `syncOnce()` (DESIGN.md §7), with the
 * framework's `JobScheduler`: a periodic job (at least every 15 minutes, Android's floor)
 * that needs a network, run by [ZeroPoleSyncService]. In Saver the node holds no
 * connection, so this (and a wake-up push, see `registerPushToken`) is how payments
 * arrive while the app is in the background.
 *
 * The app declares the service in its manifest (the library's `AndroidManifest.xml` has
 * the same entry for when it is packaged as an AAR):
 * ```xml
 * <service android:name="org.zeropole.android.ZeroPoleSyncService"
 *     android:permission="android.permission.BIND_JOB_SERVICE" android:exported="false" />
 * ```
 * The job runs in the app's process: call [schedule] from `Application.onCreate` once the
 * node is started, so a process the system restarted for the job has its node again.
 * A job that finds no node (not started yet) finishes and asks to be retried.
 */
object ZeroPoleSync {
    /** The job id used unless the app passes its own. */
    const val DEFAULT_JOB_ID: Int = 0x5A50_0001

    /** Android's shortest period for a periodic job. */
    const val MIN_PERIOD_MS: Long = 15 * 60 * 1000L

    @Volatile
    internal var target: SyncTarget? = null

    /**
     * Schedules the periodic sync of [target] (replacing an earlier schedule with the same
     * [jobId]); [periodMs] is raised to [MIN_PERIOD_MS]. With [unmeteredOnly] the job waits
     * for an unmetered network. Returns whether the system accepted the job.
     */
    fun schedule(
        context: Context,
        target: SyncTarget,
        periodMs: Long = MIN_PERIOD_MS,
        unmeteredOnly: Boolean = false,
        jobId: Int = DEFAULT_JOB_ID,
    ): Boolean {
        this.target = target
        val job = JobInfo.Builder(jobId, ComponentName(context, ZeroPoleSyncService::class.java))
            .setPeriodic(periodMs.coerceAtLeast(MIN_PERIOD_MS))
            .setRequiredNetworkType(
                if (unmeteredOnly) JobInfo.NETWORK_TYPE_UNMETERED else JobInfo.NETWORK_TYPE_ANY,
            )
            .build()
        val scheduler = context.getSystemService(JobScheduler::class.java) ?: return false
        return scheduler.schedule(job) == JobScheduler.RESULT_SUCCESS
    }

    /** Cancels the periodic sync and forgets the target. */
    fun cancel(context: Context, jobId: Int = DEFAULT_JOB_ID) {
        context.getSystemService(JobScheduler::class.java)?.cancel(jobId)
        target = null
    }

    /**
     * One sync of the scheduled target: `true` when done (payments received, or none
     * waiting), `false` when it should be retried (no node yet, or the sync failed).
     */
    suspend fun runOnce(): Boolean {
        val node = target ?: run {
            Log.i(SignalQueue.TAG, "sync job: no node to sync yet")
            return false
        }
        return try {
            val received = node.syncOnce()
            Log.i(SignalQueue.TAG, "sync job: ${received.size} payment(s) received")
            true
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            Log.w(SignalQueue.TAG, "sync job failed: ${e.message}")
            false
        }
    }
}

/** Runs [ZeroPoleSync.runOnce] for each periodic job the system starts. */
class ZeroPoleSyncService : JobService() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    override fun onStartJob(params: JobParameters): Boolean {
        scope.launch {
            val done = ZeroPoleSync.runOnce()
            jobFinished(params, !done)
        }
        return true
    }

    /** The system stops the job (constraints lost, time out): retry it later. */
    override fun onStopJob(params: JobParameters): Boolean {
        scope.coroutineContext.cancelChildren()
        return true
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }
}
