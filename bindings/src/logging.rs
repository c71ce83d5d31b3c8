//! A foreign log sink: the core's `log` records, forwarded to Kotlin or Swift.
//!
//! On a device the plan (DESIGN.md §9) is `android_logger` (logcat, installed from
//! `JNI_OnLoad`) and `oslog` (unified logging) behind `cfg(target_os)`; they are not in
//! this crate yet (no Android NDK or Apple SDK here to build them). The sink works
//! everywhere: an app forwards records to its own logger (Timber, `os.Logger`, …).

use std::sync::{Arc, Once, RwLock};

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
static INSTALL: Once = Once::new();

struct Forwarder;

impl log::Log for Forwarder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        SINK.read().is_ok_and(|s| s.is_some())
    }

    fn log(&self, record: &log::Record<'_>) {
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

    fn flush(&self) {}
}

static FORWARDER: Forwarder = Forwarder;

/// Sends the library's log records at `max_level` and above to `sink`, replacing any
/// previous sink. Returns `false` if another logger already owns the process's `log`
/// facade (records then go there, not to `sink`).
#[uniffi::export]
pub fn set_log_sink(sink: Box<dyn LogSink>, max_level: LogLevel) -> bool {
    let mut installed = false;
    INSTALL.call_once(|| installed = log::set_logger(&FORWARDER).is_ok());
    if let Ok(mut s) = SINK.write() {
        *s = Some(Arc::from(sink));
    }
    log::set_max_level(max_level.into());
    installed || std::ptr::addr_eq(log::logger(), &FORWARDER as &dyn log::Log)
}

/// Stops forwarding log records (the sink is released).
#[uniffi::export]
pub fn clear_log_sink() {
    if let Ok(mut s) = SINK.write() {
        *s = None;
    }
    log::set_max_level(log::LevelFilter::Off);
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
