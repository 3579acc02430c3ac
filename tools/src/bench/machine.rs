//! Facts about the machine and the servers, for the reports.
//!
//! A benchmark number without its conditions is not worth pasting: the report
//! records the CPU model, core count, kernel and load average of the machine
//! that ran the generator, and each server's `INFO server` fields and
//! persistence settings (`CONFIG GET save` / `appendonly`, which redis-benchmark
//! prints too). Everything here is best effort: a missing file is "unknown".

use crate::bench::conn::{text, Blocking};
use resp::Frame;
use serde::Serialize;
use std::collections::BTreeMap;

/// The generator's machine.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// Online CPUs.
    pub cores: usize,
    /// CPUs this process may run on (taskset).
    pub allowed_cpus: String,
    /// /proc/sys/kernel/osrelease
    pub kernel: String,
    /// /proc/loadavg at the start.
    pub loadavg: String,
    /// Host name.
    pub hostname: String,
}

fn read_trim(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

impl Machine {
    /// Read the facts now.
    pub fn probe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .and_then(|r| r.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let allowed_cpus = std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                l.strip_prefix("Cpus_allowed_list:")
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpu_model,
            // Online CPUs of the machine, not of this process (taskset narrows the latter).
            cores: cpuinfo
                .lines()
                .filter(|l| l.starts_with("processor"))
                .count()
                .max(1),
            allowed_cpus,
            kernel: read_trim("/proc/sys/kernel/osrelease"),
            loadavg: read_trim("/proc/loadavg"),
            hostname: read_trim("/proc/sys/kernel/hostname"),
        }
    }
}

/// Parse INFO text (`field:value` lines, `#` sections) into a map.
pub fn parse_info(info: &str) -> BTreeMap<String, String> {
    info.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// `INFO server` of a server, or an empty map when it refuses.
pub fn info_server(c: &mut Blocking) -> Result<BTreeMap<String, String>, String> {
    let reply = c.call(&["INFO", "server"])?;
    Ok(match reply {
        Frame::Error(_) => BTreeMap::new(),
        other => parse_info(&text(&other)),
    })
}

/// `CONFIG GET name`'s value, `None` when the server does not say.
pub fn config_get(c: &mut Blocking, name: &str) -> Result<Option<String>, String> {
    let reply = c.call(&["CONFIG", "GET", name])?;
    if let Frame::Error(e) = &reply {
        let e = String::from_utf8_lossy(e);
        if e.starts_with("NOAUTH") {
            return Err(format!("{}: {e}", c.endpoint()));
        }
        return Ok(None);
    }
    let value = match &reply {
        Frame::Map(kv) => kv.first().map(|(_, v)| text(v)),
        other => other.as_array().and_then(|a| a.get(1)).map(text),
    };
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_info_fields() {
        let m = parse_info("# Server\r\nredis_version:7.0.15\r\nos:Linux 6.1 x86_64\r\n\r\n");
        assert_eq!(m.get("redis_version").map(String::as_str), Some("7.0.15"));
        assert_eq!(m.get("os").map(String::as_str), Some("Linux 6.1 x86_64"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn probes_this_machine() {
        let m = Machine::probe();
        assert!(m.cores >= 1);
        assert_ne!(m.kernel, "", "{m:?}");
    }
}
