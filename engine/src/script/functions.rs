//! Redis 7 functions: libraries of named Lua functions (FUNCTION LOAD, FCALL).
//!
//! A library is Lua code opening with `#!lua name=<lib>` that calls
//! `redis.register_function` while it loads. Loading runs the code with a
//! restricted set of globals (only `redis.register_function`, `redis.log`,
//! `redis.setresp` and the version fields), as Redis does; the callbacks it
//! registers later run with the full scripting globals. Every shard holds
//! the same libraries: the command layer applies each change on every
//! shard (loading is deterministic, so they agree).

use super::vm::Vm;
use super::ScriptFlags;
use bytes::Bytes;
use mlua::{Function, Lua, MultiValue, Table, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

/// One registered function.
#[derive(Clone)]
pub struct FunctionInfo {
    /// Its name (FCALL's first argument).
    pub name: String,
    /// `description`, if given.
    pub desc: Option<Bytes>,
    /// `flags`, if given.
    pub flags: ScriptFlags,
    /// The callback.
    pub func: Function,
    /// Like [`super::Script::strays`].
    pub strays: std::rc::Rc<std::cell::Cell<bool>>,
}

/// One library.
#[derive(Clone)]
pub struct Library {
    /// `name=` of its shebang.
    pub name: String,
    /// The whole code, shebang included (FUNCTION LIST WITHCODE, DUMP).
    pub code: Bytes,
    /// Its functions, in registration order.
    pub functions: Vec<FunctionInfo>,
}

/// A shard's libraries and the function-name index.
#[derive(Clone, Default)]
pub struct Functions {
    libs: BTreeMap<String, Library>,
    index: HashMap<String, String>,
}

thread_local! {
    /// Functions registered by the library being loaded.
    static LOADING: RefCell<Option<Vec<FunctionInfo>>> = const { RefCell::new(None) };
}

fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

const BAD_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// The library name of `code` and where its Lua starts (the shebang's
/// newline stays, keeping line numbers).
pub fn parse_metadata(code: &[u8]) -> Result<(String, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let end = memchr::memchr(b'\n', code).unwrap_or(code.len());
    let line = code.get(2..end).unwrap_or(&[]);
    let mut parts = line.split(|&c| c == b' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or(&[]);
    if !engine.eq_ignore_ascii_case(b"lua") {
        return Err(format!(
            "ERR Engine '{}' not found",
            String::from_utf8_lossy(engine)
        ));
    }
    let mut name = None;
    for part in parts {
        match part.strip_prefix(b"name=") {
            Some(n) => name = Some(n.to_vec()),
            None => {
                return Err(format!(
                    "ERR Invalid metadata value given: {}",
                    String::from_utf8_lossy(part)
                ))
            }
        }
    }
    let Some(name) = name else {
        return Err("ERR Library name was not given".into());
    };
    if !valid_name(&name) {
        return Err(format!("ERR {BAD_NAME}"));
    }
    Ok((String::from_utf8_lossy(&name).into_owned(), end))
}

fn raise(text: &str) -> mlua::Error {
    mlua::Error::runtime(format!("-ERR {text}"))
}

fn read_flags(t: &Table) -> Option<ScriptFlags> {
    let mut flags = ScriptFlags {
        declared: true,
        ..ScriptFlags::default()
    };
    for v in t.clone().sequence_values::<Value>() {
        let Ok(Value::String(s)) = v else {
            return None;
        };
        let lower = s.as_bytes().to_ascii_lowercase();
        if !flags.set(&lower) {
            return None;
        }
    }
    Some(flags)
}

/// `redis.register_function(name, callback)` or
/// `redis.register_function{function_name=, callback=, flags=, description=}`.
fn register_function(_: &Lua, args: MultiValue) -> mlua::Result<()> {
    let info = match args.len() {
        1 => {
            let Some(Value::Table(t)) = args.front() else {
                return Err(raise("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."));
            };
            let (mut name, mut desc, mut func, mut flags) = (
                None,
                None,
                None,
                ScriptFlags {
                    declared: true,
                    ..ScriptFlags::default()
                },
            );
            for pair in t.clone().pairs::<Value, Value>() {
                let (k, v) = pair?;
                let Value::String(k) = k else {
                    return Err(raise(
                        "named argument key given to redis.register_function is not a string",
                    ));
                };
                match k.as_bytes().to_ascii_lowercase().as_slice() {
                    b"function_name" => match v {
                        Value::String(s) => name = Some(s.as_bytes().to_vec()),
                        _ => return Err(raise("function_name argument given to redis.register_function must be a string")),
                    },
                    b"description" => match v {
                        Value::String(s) => desc = Some(Bytes::copy_from_slice(&s.as_bytes())),
                        _ => return Err(raise("description argument given to redis.register_function must be a string")),
                    },
                    b"callback" => match v {
                        Value::Function(f) => func = Some(f),
                        _ => return Err(raise("callback argument given to redis.register_function must be a function")),
                    },
                    b"flags" => match v {
                        Value::Table(ft) => match read_flags(&ft) {
                            Some(f) => flags = f,
                            None => return Err(raise("unknown flag given")),
                        },
                        _ => return Err(raise("flags argument to redis.register_function must be a table representing function flags")),
                    },
                    _ => return Err(raise("unknown argument given to redis.register_function")),
                }
            }
            let Some(name) = name else {
                return Err(raise(
                    "redis.register_function must get a function name argument",
                ));
            };
            let Some(func) = func else {
                return Err(raise(
                    "redis.register_function must get a callback argument",
                ));
            };
            (name, desc, func, flags)
        }
        2 => {
            let Some(Value::String(name)) = args.front() else {
                return Err(raise(
                    "first argument to redis.register_function must be a string",
                ));
            };
            let Some(Value::Function(func)) = args.get(1) else {
                return Err(raise(
                    "second argument to redis.register_function must be a function",
                ));
            };
            (
                name.as_bytes().to_vec(),
                None,
                func.clone(),
                ScriptFlags::default(),
            )
        }
        _ => {
            return Err(raise(
                "wrong number of arguments to redis.register_function",
            ))
        }
    };
    let (name, desc, func, flags) = info;
    if !valid_name(&name) {
        return Err(raise(BAD_NAME));
    }
    let name = String::from_utf8_lossy(&name).into_owned();
    LOADING.with(|l| {
        let mut l = l.borrow_mut();
        let Some(list) = l.as_mut() else {
            return Err(raise(
                "redis.register_function can only be called on FUNCTION LOAD command",
            ));
        };
        if list.iter().any(|f| f.name == name) {
            return Err(raise("Function already exists in the library"));
        }
        list.push(FunctionInfo {
            name,
            desc,
            flags,
            func,
            strays: Default::default(),
        });
        Ok(())
    })
}

/// The `redis` table a library sees while it loads.
pub fn library_api(lua: &Lua, full: &Table) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    redis.set("register_function", lua.create_function(register_function)?)?;
    for name in [
        "log",
        "setresp",
        "REDIS_VERSION",
        "REDIS_VERSION_NUM",
        "LOG_DEBUG",
        "LOG_VERBOSE",
        "LOG_NOTICE",
        "LOG_WARNING",
    ] {
        redis.set(name, full.get::<Value>(name)?)?;
    }
    let api = lua.create_table()?;
    api.set("redis", redis)?;
    Ok(api)
}

/// The first line of an mlua error's Lua message (no traceback).
fn lua_message(e: &mlua::Error) -> String {
    let text = match e {
        mlua::Error::CallbackError { cause, .. } => return lua_message(cause),
        mlua::Error::RuntimeError(m) => m.clone(),
        other => other.to_string(),
    };
    text.split("\nstack traceback:")
        .next()
        .unwrap_or("")
        .to_string()
}

impl Functions {
    /// The function called `name`, with its library's name.
    pub fn get(&self, name: &str) -> Option<FunctionInfo> {
        let lib = self.index.get(name)?;
        self.libs
            .get(lib)?
            .functions
            .iter()
            .find(|f| f.name == name)
            .cloned()
    }

    /// Every library, by name.
    pub fn libraries(&self) -> impl Iterator<Item = &Library> {
        self.libs.values()
    }

    /// Every library's code, for FUNCTION DUMP and RDB files.
    pub fn codes(&self) -> Vec<Bytes> {
        self.libs.values().map(|l| l.code.clone()).collect()
    }

    /// (libraries, functions) counts.
    pub fn counts(&self) -> (usize, usize) {
        (self.libs.len(), self.index.len())
    }

    /// Compile and register `code`; the library's name on success.
    pub fn load(&mut self, vm: &Vm, code: &Bytes, replace: bool) -> Result<String, String> {
        let (name, start) = parse_metadata(code)?;
        if self.libs.contains_key(&name) && !replace {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        let body = code.get(start..).unwrap_or(&[]);
        let chunk = vm
            .compile_function_library(body)
            .map_err(|e| format!("ERR Error compiling function: {e}"))?;
        LOADING.with(|l| *l.borrow_mut() = Some(Vec::new()));
        let ran = vm.run_library(&chunk);
        let registered = LOADING.with(|l| l.borrow_mut().take()).unwrap_or_default();
        if let Err(e) = ran {
            let msg = lua_message(&e);
            let msg = match msg.strip_prefix('-') {
                Some(m) => m.to_string(),
                None => format!("ERR {msg}"),
            };
            return Err(format!("ERR Error registering functions: {msg}"));
        }
        if registered.is_empty() {
            return Err("ERR No functions registered".into());
        }
        for f in &registered {
            if let Some(owner) = self.index.get(&f.name) {
                if *owner != name {
                    return Err(format!("ERR Function {} already exists", f.name));
                }
            }
        }
        self.delete(&name);
        for f in &registered {
            self.index.insert(f.name.clone(), name.clone());
        }
        self.libs.insert(
            name.clone(),
            Library {
                name: name.clone(),
                code: code.clone(),
                functions: registered,
            },
        );
        Ok(name)
    }

    /// Drop a library; false when there is none by that name.
    pub fn delete(&mut self, name: &str) -> bool {
        let Some(lib) = self.libs.remove(name) else {
            return false;
        };
        for f in &lib.functions {
            self.index.remove(&f.name);
        }
        true
    }

    /// Drop every library.
    pub fn flush(&mut self) {
        self.libs.clear();
        self.index.clear();
    }
}

/// FUNCTION DUMP's payload: each library's code after the RDB function
/// opcode, then the RDB version and CRC64, like a DUMP payload.
pub fn dump(libs: &[Bytes]) -> Vec<u8> {
    let mut out = Vec::new();
    for code in libs {
        out.push(RDB_OPCODE_FUNCTION2);
        crate::rdb::write_string(&mut out, code, true);
    }
    out.extend_from_slice(&crate::rdb::RDB_VERSION.to_le_bytes());
    let crc = crate::rdb::crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// RDB opcode of a function library (Redis 7.0's `RDB_OPCODE_FUNCTION2`).
pub const RDB_OPCODE_FUNCTION2: u8 = 245;

/// The library codes inside a FUNCTION DUMP payload.
pub fn parse_dump(payload: &[u8]) -> Result<Vec<Bytes>, String> {
    let body = crate::rdb::verify_payload(payload)
        .ok_or_else(|| "ERR DUMP payload version or checksum are wrong".to_string())?;
    let mut r = crate::rdb::Reader::new(body, usize::MAX);
    let mut libs = Vec::new();
    while !r.at_end() {
        let op = r
            .byte()
            .map_err(|_| "ERR DUMP payload version or checksum are wrong".to_string())?;
        if op != RDB_OPCODE_FUNCTION2 {
            return Err("ERR given type is not a function".into());
        }
        let code = r
            .string()
            .map_err(|_| "ERR DUMP payload version or checksum are wrong".to_string())?;
        libs.push(Bytes::from(code));
    }
    Ok(libs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_like_redis() {
        assert_eq!(
            parse_metadata(b"return 1"),
            Err("ERR Missing library metadata".into())
        );
        assert_eq!(
            parse_metadata(b"#!lua\nreturn 1"),
            Err("ERR Library name was not given".into())
        );
        assert_eq!(
            parse_metadata(b"#!js name=x\n"),
            Err("ERR Engine 'js' not found".into())
        );
        assert!(parse_metadata(b"#!lua name=my-lib\n").is_err());
        assert_eq!(
            parse_metadata(b"#!lua name=mylib\nreturn 1"),
            Ok(("mylib".into(), 16))
        );
    }

    #[test]
    fn dump_round_trips() {
        let libs = vec![Bytes::from_static(
            b"#!lua name=a\nredis.register_function('f', function() return 1 end)",
        )];
        let p = dump(&libs);
        assert_eq!(p.first(), Some(&RDB_OPCODE_FUNCTION2));
        assert_eq!(parse_dump(&p), Ok(libs));
        let mut bad = p.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        assert!(parse_dump(&bad).is_err());
    }
}
