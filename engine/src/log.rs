//! Logging in Redis's line format, behind the standard `log` facade.
//!
//! `pid:M 22 Nov 2026 07:51:00.123 * message` — role letter `M`, then the
//! level mark: `.` debug, `-` verbose, `*` notice, `#` warning. Lines go to
//! `logfile` (appended) or to stdout when `logfile` is empty. `loglevel`
//! maps debug/verbose/notice/warning onto log's Trace/Debug/Info/Warn.

use log::{Level, LevelFilter, Log, Metadata, Record};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Mutex;

struct RedisLogger {
    // Logging is rare and off the hot path: a mutex around the sink is fine.
    sink: Mutex<Option<File>>,
}

static LOGGER: RedisLogger = RedisLogger {
    sink: Mutex::new(None),
};

/// Map a Redis `loglevel` value to a filter; `None` for an unknown name.
pub fn level_from_name(name: &str) -> Option<LevelFilter> {
    match name.to_ascii_lowercase().as_str() {
        "debug" => Some(LevelFilter::Trace),
        "verbose" => Some(LevelFilter::Debug),
        "notice" => Some(LevelFilter::Info),
        "warning" => Some(LevelFilter::Warn),
        "nothing" => Some(LevelFilter::Off),
        _ => None,
    }
}

/// Install the logger. `logfile` empty means stdout.
pub fn init(logfile: &str, level: LevelFilter) -> std::io::Result<()> {
    let sink = if logfile.is_empty() {
        None
    } else {
        Some(OpenOptions::new().create(true).append(true).open(logfile)?)
    };
    if let Ok(mut g) = LOGGER.sink.lock() {
        *g = sink;
    }
    // A second init (tests) keeps the first logger; only the level changes.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
    Ok(())
}

/// Change the level at run time (CONFIG SET loglevel).
pub fn set_level(level: LevelFilter) {
    log::set_max_level(level);
}

fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = libc::time_t::try_from(now.as_secs()).unwrap_or(0);
    // SAFETY: localtime_r writes into the zeroed `tm` we own; both pointers are valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe {
        libc::localtime_r(&secs, &mut tm);
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = usize::try_from(tm.tm_mon)
        .ok()
        .and_then(|m| MONTHS.get(m))
        .unwrap_or(&"Jan");
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        tm.tm_mday,
        month,
        tm.tm_year + 1900,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        now.subsec_millis()
    )
}

impl Log for RedisLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mark = match record.level() {
            Level::Error | Level::Warn => '#',
            Level::Info => '*',
            Level::Debug => '-',
            Level::Trace => '.',
        };
        let line = format!(
            "{}:M {} {} {}\n",
            std::process::id(),
            timestamp(),
            mark,
            record.args()
        );
        if let Ok(mut g) = self.sink.lock() {
            match g.as_mut() {
                Some(f) => {
                    let _ = f.write_all(line.as_bytes());
                }
                None => {
                    let _ = std::io::stdout().write_all(line.as_bytes());
                }
            }
        }
    }

    fn flush(&self) {
        if let Ok(mut g) = self.sink.lock() {
            if let Some(f) = g.as_mut() {
                let _ = f.flush();
            }
        }
    }
}
