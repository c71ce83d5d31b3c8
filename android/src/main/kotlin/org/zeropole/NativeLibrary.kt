package org.zeropole

/**
 * Loading the native library the Android way.
 *
 * The generated bindings load `libzeropole_ffi.so` through JNA (`dlopen`), which does not
 * run the library's `JNI_OnLoad`. On Android, [ensureLoaded] first loads it with
 * [System.loadLibrary], so that `JNI_OnLoad` enables the logcat logger (tag `zeropole`)
 * and keeps the `JavaVM` (DESIGN.md §9); JNA then finds the library already loaded. On a
 * desktop JVM (the tests) it does nothing: there is no logcat, and the foreign log sink
 * ([org.zeropole.ffi.setLogSink]) is the way to see the records.
 */
internal object NativeLibrary {
    private val loadedForAndroid: Boolean by lazy {
        val android = System.getProperty("java.vm.name") == "Dalvik" ||
            System.getProperty("java.vendor")?.contains("Android") == true
        if (android) System.loadLibrary("zeropole_ffi")
        android
    }

    /** Loads the library with [System.loadLibrary] on Android (once); returns whether it did. */
    fun ensureLoaded(): Boolean = loadedForAndroid
}
