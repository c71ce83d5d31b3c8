//! Logging (DESIGN.md §9): the core's `log` records go to the platform's log on a device
//! and to a foreign log sink everywhere.
//!
//! One `log` logger is installed for the process (the [`Forwarder`]); it hands each record
//! to two destinations, each with its own level:
//! - the platform logger, installed by [`enable_platform_log`]: logcat through
//!   `android_logger` (tag `zeropole`; `JNI_OnLoad` enables it at `Info`, see
//!   `android.rs`), unified logging through `oslog` on Apple platforms (subsystem
//!   `org.zeropole`; `Node.start` enables it at `Info` unless the app chose a level). There
//!   is none on other systems (the JVM and Linux test hosts).
//! - the foreign sink ([`set_log_sink`]): an app forwards records to its own logger
//!   (Timber, `os.Logger`, …); works on every system.
//!
//! The platform loggers compile only for their targets (checked by
//! `scripts/check-mobile.sh`); they run only on a device, never in this repository's tests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once, OnceLock, RwLock};

use crate::LogSinkError;

/// A log record's level, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something unexpected that the node recovered from.
    Warn,
    /// Milestones (started, connected, a block resubmitted).
    Info,
    /// Detail for debugging.
    Debug,
    /// Everything.
    Trace,
}

impl From<log::Level> for LogLevel {
    fn from(l: log::Level) -> Self {
        match l {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }
}

impl From<LogLevel> for log::LevelFilter {
    fn from(l: LogLevel) -> Self {
        match l {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }
}

/// Receives the library's log records. Called from the library's own threads, possibly
/// several at once: implementations must be thread-safe, quick, and must not block. An
/// exception thrown by `log` drops that record and nothing else.
#[uniffi::export(callback_interface)]
pub trait LogSink: Send + Sync {
    /// One record: its level, its target (the Rust module, e.g. `zeropole_core::node`)
    /// and its message.
    fn log(&self, level: LogLevel, target: String, message: String) -> Result<(), LogSinkError>;
}

static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);
/// The sink's level, as `log::LevelFilter as usize` (0: off).
static SINK_LEVEL: AtomicUsize = AtomicUsize::new(0);
/// The platform logger, once installed (never replaced).
static PLATFORM: OnceLock<Box<dyn log::Log>> = OnceLock::new();
/// The platform logger's level, as `log::LevelFilter as usize` (0: off).
static PLATFORM_LEVEL: AtomicUsize = AtomicUsize::new(0);
static INSTALL: Once = Once::new();

fn filter_from(n: usize) -> log::LevelFilter {
    log::LevelFilter::iter()
        .find(|f| *f as usize == n)
        .unwrap_or(log::LevelFilter::Off)
}

fn passes(level: log::Level, filter: &AtomicUsize) -> bool {
    level <= filter_from(filter.load(Ordering::Relaxed))
}

/// The process's `log` logger: hands each record to the platform logger and the sink.
struct Forwarder;

impl log::Log for Forwarder {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        (PLATFORM.get().is_some() && passes(metadata.level(), &PLATFORM_LEVEL))
            || (passes(metadata.level(), &SINK_LEVEL) && SINK.read().is_ok_and(|s| s.is_some()))
    }

    fn log(&self, record: &log::Record<'_>) {
        if let Some(platform) = PLATFORM.get() {
            if passes(record.level(), &PLATFORM_LEVEL) {
                platform.log(record);
            }
        }
        if !passes(record.level(), &SINK_LEVEL) {
            return;
        }
        // Clone the sink out of the lock: a sink that logs through us must not deadlock.
        let sink = SINK.read().ok().and_then(|s| s.clone());
        if let Some(sink) = sink {
            let _ = sink.log(
                record.level().into(),
                record.target().to_string(),
                record.args().to_string(),
            );
        }
    }

    fn flush(&self) {
        if let Some(platform) = PLATFORM.get() {
            platform.flush();
        }
    }
}

static FORWARDER: Forwarder = Forwarder;

/// Installs the [`Forwarder`] as the process's logger (once); returns whether it is the
/// logger (`false`: another library or the app installed its own first).
fn install() -> bool {
    INSTALL.call_once(|| {
        let _ = log::set_logger(&FORWARDER);
    });
    std::ptr::addr_eq(log::logger(), &FORWARDER as &dyn log::Log)
}

/// Sets the facade's global level to the more verbose of the two destinations.
fn update_max_level() {
    let n = SINK_LEVEL
        .load(Ordering::Relaxed)
        .max(PLATFORM_LEVEL.load(Ordering::Relaxed));
    log::set_max_level(filter_from(n));
}

/// Sends the library's log records at `max_level` and above to `sink`, replacing any
/// previous sink (the platform log keeps its own level). Returns `false` if another logger
/// already owns the process's `log` facade (records then go there, not to `sink`).
#[uniffi::export]
pub fn set_log_sink(sink: Box<dyn LogSink>, max_level: LogLevel) -> bool {
    let installed = install();
    if let Ok(mut s) = SINK.write() {
        *s = Some(Arc::from(sink));
    }
    SINK_LEVEL.store(
        log::LevelFilter::from(max_level) as usize,
        Ordering::Relaxed,
    );
    update_max_level();
    installed
}

/// Stops forwarding log records to the sink (it is released); the platform log goes on.
#[uniffi::export]
pub fn clear_log_sink() {
    if let Ok(mut s) = SINK.write() {
        *s = None;
    }
    SINK_LEVEL.store(0, Ordering::Relaxed);
    update_max_level();
}

/// The platform logger of this target, if it has one.
fn platform_logger() -> Option<Box<dyn log::Log>> {
    #[cfg(target_os = "android")]
    {
        // Every record passes this logger's own filter; the level is ours (PLATFORM_LEVEL).
        let config = android_logger::Config::default()
            .with_max_level(log::LevelFilter::Trace)
            .with_tag("zeropole");
        Some(Box::new(android_logger::AndroidLogger::new(config)))
    }
    #[cfg(target_vendor = "apple")]
    {
        Some(Box::new(oslog::OsLogger::new("org.zeropole")))
    }
    #[cfg(not(any(target_os = "android", target_vendor = "apple")))]
    {
        None
    }
}

/// Sends the library's log records at `max_level` and above to the platform's log:
/// logcat on Android (tag `zeropole`), unified logging on iOS and macOS (subsystem
/// `org.zeropole`, category: the Rust module). Returns `false` where there is no platform
/// log (the JVM and Linux hosts the tests run on) or if another logger owns the process's
/// `log` facade. Calling it again changes the level. On Android, loading the library with
/// `System.loadLibrary` already enables it at `Info` (`JNI_OnLoad`).
#[uniffi::export]
pub fn enable_platform_log(max_level: LogLevel) -> bool {
    let available = PLATFORM.get().is_some()
        || platform_logger().is_some_and(|logger| {
            // Another thread may have won the race: its logger is the same kind.
            let _ = PLATFORM.set(logger);
            true
        });
    if !available || !install() {
        return false;
    }
    PLATFORM_LEVEL.store(
        log::LevelFilter::from(max_level) as usize,
        Ordering::Relaxed,
    );
    update_max_level();
    true
}

/// Enables the platform log at `Info` unless the app already chose a level (used where no
/// load hook exists: Apple platforms, at `Node.start`).
#[cfg_attr(not(target_vendor = "apple"), allow(dead_code))]
pub(crate) fn enable_platform_log_by_default() {
    if PLATFORM_LEVEL.load(Ordering::Relaxed) == 0 {
        enable_platform_log(LogLevel::Info);
    }
}

/// Logs one record through the `log` facade at `level`, target `zeropole_ffi`: lets apps
/// and tests check their sink end to end.
#[uniffi::export]
pub fn log_message(level: LogLevel, message: String) {
    let level = match level {
        LogLevel::Error => log::Level::Error,
        LogLevel::Warn => log::Level::Warn,
        LogLevel::Info => log::Level::Info,
        LogLevel::Debug => log::Level::Debug,
        LogLevel::Trace => log::Level::Trace,
    };
    log::log!(target: "zeropole_ffi", level, "{message}");
}
