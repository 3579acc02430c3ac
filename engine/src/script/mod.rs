//! Lua scripting: the interpreter behind EVAL, EVALSHA and FUNCTION.
//!
//! Every shard owns one Lua 5.1 state (mlua, vendored), created on first
//! use and never shared: a script runs on the shard of the connection that
//! sent it. Its `redis.call`s go through the ordinary dispatch path under
//! the transaction layer's locks, so a command on a key of another shard
//! hops there like any other.
//!
//! | module | owns |
//! |---|---|
//! | [`vm`] | building a state: libraries, the sandboxed globals, `redis.*`, the Lua prelude |
//! | [`run`] | running one script: the resume loop, `redis.call`, the time-limit hook, SCRIPT KILL |
//! | [`functions`] | FUNCTION libraries: metadata, loading, registration, DUMP payloads |
//! | [`api`] | the `redis` table's Rust half (`sha1hex`, `error_reply`, `log`, `setresp`, ...) |
//! | [`call`] | `redis.call` / `redis.pcall` as C functions (answer at once or yield) |
//! | [`control`] | the count hook: time limit, BUSY, pauses, SCRIPT KILL; which Lua threads may pause |
//! | [`convert`] | RESP reply → Lua value and Lua value → reply, Redis's conversion rules |
//! | [`scope`] | proving a script touches only its declared keys (it may then run on their shard alone) |
//! | [`libs`] | the libraries Redis ships inside its Lua: bit, cjson, cmsgpack, struct |
//!
//! What this module must not do: touch a keyspace directly. Every data
//! access of a script is a command dispatched like a client's.
//!
//! Script bodies are known by the SHA1 of their text. SCRIPT LOAD and
//! EVAL of a new body compile it on every shard (so EVALSHA works on any
//! connection); FUNCTION libraries are likewise loaded everywhere.

pub mod api;
pub mod call;
pub mod control;
pub mod convert;
pub mod functions;
pub mod libs;
pub mod run;
pub mod scope;
pub mod vm;

use std::cell::RefCell;
use std::collections::HashMap;

/// Hex SHA1 of `body`, lowercase (the EVALSHA name of a script).
pub fn sha1hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

/// Flags a script may declare in its `#!lua flags=...` line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// `no-writes`: the script only reads.
    pub no_writes: bool,
    /// `allow-oom`
    pub allow_oom: bool,
    /// `allow-stale`
    pub allow_stale: bool,
    /// `no-cluster`
    pub no_cluster: bool,
    /// `allow-cross-slot-keys`
    pub allow_cross_slot: bool,
    /// The body has a shebang line at all (Redis 7 semantics then apply).
    pub declared: bool,
}

impl ScriptFlags {
    /// Apply one flag name; false when it is not a flag Redis knows.
    pub fn set(&mut self, name: &[u8]) -> bool {
        match name {
            b"no-writes" => self.no_writes = true,
            b"allow-oom" => self.allow_oom = true,
            b"allow-stale" => self.allow_stale = true,
            b"no-cluster" => self.no_cluster = true,
            b"allow-cross-slot-keys" => self.allow_cross_slot = true,
            _ => return false,
        }
        true
    }

    /// The flag names, for FUNCTION LIST.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        for (on, name) in [
            (self.no_writes, "no-writes"),
            (self.allow_oom, "allow-oom"),
            (self.allow_stale, "allow-stale"),
            (self.no_cluster, "no-cluster"),
            (self.allow_cross_slot, "allow-cross-slot-keys"),
        ] {
            if on {
                v.push(name);
            }
        }
        v
    }
}

/// Split an EVAL body into its shebang flags and the offset where Lua
/// starts. The shebang's newline stays in the body so line numbers in
/// error messages match the user's text (as Redis does).
pub fn parse_shebang(body: &[u8]) -> Result<(ScriptFlags, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((ScriptFlags::default(), 0));
    }
    let end = memchr::memchr(b'\n', body).unwrap_or(body.len());
    let line = body.get(..end).unwrap_or(body);
    let mut parts = line.split(|&c| c == b' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or(b"#!");
    if engine != b"#!lua" {
        return Err(format!(
            "ERR Unexpected engine in script shebang: {}",
            String::from_utf8_lossy(line)
        ));
    }
    let mut flags = ScriptFlags {
        declared: true,
        ..ScriptFlags::default()
    };
    for part in parts {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!(
                "ERR Unknown lua shebang option: {}",
                String::from_utf8_lossy(part)
            ));
        };
        for name in list.split(|&c| c == b',').filter(|n| !n.is_empty()) {
            if !flags.set(name) {
                return Err(format!(
                    "ERR Unexpected flag in script shebang: {}",
                    String::from_utf8_lossy(name)
                ));
            }
        }
    }
    Ok((flags, end))
}

/// One compiled EVAL script.
#[derive(Clone)]
pub struct Script {
    /// The compiled body.
    pub func: mlua::Function,
    /// Its shebang flags.
    pub flags: ScriptFlags,
    /// Provably touches only `KEYS` ([`scope::declared_only`]).
    pub declared_only: bool,
    /// It once touched a key outside its declared keys' shard: it runs
    /// holding every shard from then on.
    pub strays: std::rc::Rc<std::cell::Cell<bool>>,
}

/// A shard's scripting state: the Lua state and what it has compiled.
#[derive(Default)]
pub struct Scripting {
    /// The state EVAL scripts run in (SCRIPT FLUSH replaces it).
    vm: RefCell<Option<vm::Vm>>,
    /// The state FUNCTION libraries live in (Redis keeps them apart too).
    fvm: RefCell<Option<vm::Vm>>,
    scripts: RefCell<HashMap<String, (Script, bytes::Bytes)>>,
    /// FUNCTION libraries.
    pub functions: RefCell<functions::Functions>,
}

impl Scripting {
    /// The shard's Lua state for EVAL, created on first use.
    pub fn vm(&self) -> mlua::Result<vm::Vm> {
        Self::lazy(&self.vm)
    }

    /// The shard's Lua state for functions, created on first use.
    pub fn function_vm(&self) -> mlua::Result<vm::Vm> {
        Self::lazy(&self.fvm)
    }

    fn lazy(slot: &RefCell<Option<vm::Vm>>) -> mlua::Result<vm::Vm> {
        if let Some(vm) = slot.borrow().as_ref() {
            return Ok(vm.clone());
        }
        let vm = vm::Vm::new()?;
        *slot.borrow_mut() = Some(vm.clone());
        Ok(vm)
    }

    /// The script with this SHA1 (lowercase hex), if loaded.
    pub fn script(&self, sha: &str) -> Option<Script> {
        self.scripts.borrow().get(sha).map(|(s, _)| s.clone())
    }

    /// The body of the script with this SHA1, if loaded.
    pub fn body(&self, sha: &str) -> Option<bytes::Bytes> {
        self.scripts.borrow().get(sha).map(|(_, b)| b.clone())
    }

    /// True when a script with this SHA1 is loaded.
    pub fn has(&self, sha: &str) -> bool {
        self.scripts.borrow().contains_key(sha)
    }

    /// Compile `body` and remember it under its SHA1: the SHA1, the
    /// script, and whether it was new here. Compilation errors come back as
    /// Redis's error text.
    pub fn load(&self, body: &bytes::Bytes) -> Result<(String, Script, bool), String> {
        let sha = sha1hex(body);
        if let Some(s) = self.script(&sha) {
            return Ok((sha, s, false));
        }
        let (flags, start) = parse_shebang(body)?;
        let vm = self.vm().map_err(|e| format!("ERR {e}"))?;
        let code = body.get(start..).unwrap_or(&[]);
        let func = vm
            .compile(code, "@user_script")
            .map_err(|e| format!("ERR Error compiling script (new function): {e}"))?;
        let script = Script {
            func,
            flags,
            declared_only: scope::declared_only(code),
            strays: Default::default(),
        };
        self.scripts
            .borrow_mut()
            .insert(sha.clone(), (script.clone(), body.clone()));
        Ok((sha, script, true))
    }

    /// Forget every script and start a fresh Lua state (SCRIPT FLUSH);
    /// a script still running keeps the old state until it ends.
    pub fn flush(&self) {
        self.scripts.borrow_mut().clear();
        self.vm.borrow_mut().take();
    }

    /// Number of cached scripts (INFO memory's `number_of_cached_scripts`).
    pub fn count(&self) -> usize {
        self.scripts.borrow().len()
    }

    /// Bytes the EVAL and the function Lua states use (INFO memory's
    /// `used_memory_vm_eval` / `used_memory_vm_functions`).
    pub fn memory(&self) -> (usize, usize) {
        (
            self.vm.borrow().as_ref().map_or(0, vm::Vm::memory),
            self.fvm.borrow().as_ref().map_or(0, vm::Vm::memory),
        )
    }

    /// Bytes of cached script bodies (`used_memory_scripts_eval`).
    pub fn bodies(&self) -> usize {
        self.scripts.borrow().values().map(|(_, b)| b.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_of_scripts() {
        assert_eq!(sha1hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            sha1hex(b"return 1"),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }

    #[test]
    fn shebangs() {
        assert_eq!(parse_shebang(b"return 1"), Ok((ScriptFlags::default(), 0)));
        let (f, at) = parse_shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1").expect("ok");
        assert!(f.no_writes && f.allow_oom && f.declared && !f.allow_stale);
        assert_eq!(at, 31);
        assert_eq!(
            parse_shebang(b"#!luax\nreturn 1"),
            Err("ERR Unexpected engine in script shebang: #!luax".into())
        );
        assert_eq!(
            parse_shebang(b"#!lua flags=bogus\n"),
            Err("ERR Unexpected flag in script shebang: bogus".into())
        );
        assert!(parse_shebang(b"#!lua name=x\n").is_err());
        let (f, _) = parse_shebang(b"#!lua").expect("ok");
        assert!(f.declared && !f.no_writes);
    }
}
