//! Android: `JNI_OnLoad` (DESIGN.md §9), run by the JVM when the app loads this library with
//! `System.loadLibrary("zeropole_ffi")` (the Kotlin layer does so on Android before the
//! first call; JNA's own loading does not run it).
//!
//! It enables the logcat logger at `Info` and keeps the `JavaVM` (in `jni`'s process-wide
//! singleton, see [`java_vm`]) for code that must call into the platform.
//!
//! Not done here: `ndk-context` also wants the application `Context`, which `JNI_OnLoad`
//! does not receive. Nothing in this library needs it yet (no code asks the platform for
//! DNS or network state: home stations are IP multiaddrs and the wrappers report the
//! network); when something does, the Kotlin layer will pass the `Context` once through a
//! JNI call that calls `ndk_context::initialize_android_context`.
//!
//! This file compiles only for Android targets (`scripts/check-mobile.sh` type-checks it);
//! it runs only on a device.

use std::ffi::c_void;
use std::sync::OnceLock;

use jni::sys::{jint, JNI_ERR, JNI_VERSION_1_6};

use crate::LogLevel;

static VM: OnceLock<jni::JavaVM> = OnceLock::new();

/// The `JavaVM` this library was loaded into, once `JNI_OnLoad` ran.
#[allow(dead_code)]
pub(crate) fn java_vm() -> Option<&'static jni::JavaVM> {
    VM.get()
}

/// Called by the JVM when the library is loaded with `System.loadLibrary`.
///
/// # Safety
/// The JVM passes a valid `JavaVM` pointer (checked for null, never dereferenced here).
#[no_mangle]
pub unsafe extern "system" fn JNI_OnLoad(
    vm: *mut jni::sys::JavaVM,
    _reserved: *mut c_void,
) -> jint {
    if vm.is_null() {
        return JNI_ERR;
    }
    // SAFETY: non-null, and the JVM guarantees it points to its JavaVM for the lifetime
    // of the process.
    let vm = unsafe { jni::JavaVM::from_raw(vm) };
    let _ = VM.set(vm);
    crate::logging::enable_platform_log(LogLevel::Info);
    log::info!(target: "zeropole_ffi", "loaded (JNI_OnLoad); logcat tag \"zeropole\"");
    JNI_VERSION_1_6
}
