//! Building a shard's Lua state the way Redis builds its own.
//!
//! Libraries: base, table, string, math, plus bit, cjson, cmsgpack and
//! struct ([`super::libs`]); `os` holds only `clock` (Redis 7.2). `debug`
//! is used by the prelude and then removed from the globals, as are
//! `dofile`, `loadfile` and `print`.
//!
//! Globals are protected like Redis 7's: a script runs with an empty
//! environment table whose reads fall through to the globals and whose
//! writes fail with "Attempt to modify a readonly table"; reading a global
//! that does not exist fails with "Script attempted to access nonexistent
//! global variable". (Redis marks every table read-only inside its patched
//! Lua; here the library tables themselves stay writable.)
//!
//! `math.random` is Redis's: the libc-independent lrand48 sequence from
//! the same initial state, continuing across scripts (Redis 7 no longer
//! reseeds it per EVAL; `math.randomseed` does). Each shard has its own
//! sequence.

use mlua::{ffi, Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value};
use std::cell::Cell;

/// A shard's Lua state and the handles the runner needs. Cloning is cheap
/// (handles into one state).
#[derive(Clone)]
pub struct Vm {
    /// The state.
    pub lua: Lua,
    /// The real globals table (KEYS and ARGV are set on it raw).
    pub globals: Table,
    /// The environment script functions run in (empty, read-through).
    pub env: Table,
    /// The body of the runner thread (see prelude.lua).
    pub runner: Function,
    /// The runner thread between invocations (reused while they succeed).
    idle_runner: std::rc::Rc<std::cell::RefCell<Option<mlua::Thread>>>,
    /// The environment of function libraries: reads go to the globals, or
    /// to `libapi` while a library loads.
    fenv: Table,
    fenv_meta: Table,
    /// What a loading library sees ([`super::functions::library_api`]).
    libapi: Table,
}

const PRELUDE: &str = include_str!("prelude.lua");

thread_local! {
    /// lrand48 state of this shard's scripts (Redis's `redisLrand48`).
    static RAND48: Cell<u64> = const { Cell::new(0x1234_ABCD_330E) };
}

/// Reseed the script PRNG (`redisSrand48`).
pub fn srand48(seed: i32) {
    // Seeds are the low 32 bits of the seed above 0x330E, as srand48 does.
    let s = (u64::from(seed as u32) << 16) | 0x330E;
    RAND48.with(|r| r.set(s));
}

/// Next lrand48 value: 31 random bits.
fn lrand48() -> i64 {
    RAND48.with(|r| {
        let x = r.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & 0xFFFF_FFFF_FFFF;
        r.set(x);
        (x >> 17) as i64
    })
}

/// `math.random([m [, n]])` on lrand48, Lua 5.1's algorithm otherwise.
fn math_random(_: &Lua, args: MultiValue) -> mlua::Result<f64> {
    const MAX: i64 = i32::MAX as i64;
    let r = (lrand48() % MAX) as f64 / MAX as f64;
    let int_arg = |v: Option<&Value>, n: usize| -> mlua::Result<i64> {
        match v {
            Some(Value::Integer(i)) => Ok(*i),
            Some(Value::Number(f)) => Ok(*f as i64),
            Some(Value::String(s)) => s
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse::<f64>().ok())
                .map(|f| f as i64)
                .ok_or_else(|| {
                    mlua::Error::runtime(format!(
                        "bad argument #{n} to 'random' (number expected, got string)"
                    ))
                }),
            other => Err(mlua::Error::runtime(format!(
                "bad argument #{n} to 'random' (number expected, got {})",
                other.map_or("no value", |v| v.type_name())
            ))),
        }
    };
    match args.len() {
        0 => Ok(r),
        1 => {
            let u = int_arg(args.front(), 1)?;
            if u < 1 {
                return Err(mlua::Error::runtime(
                    "bad argument #1 to 'random' (interval is empty)",
                ));
            }
            Ok((r * u as f64).floor() + 1.0)
        }
        2 => {
            let l = int_arg(args.front(), 1)?;
            let u = int_arg(args.get(1), 2)?;
            if l > u {
                return Err(mlua::Error::runtime(
                    "bad argument #2 to 'random' (interval is empty)",
                ));
            }
            Ok((r * (u - l + 1) as f64).floor() + l as f64)
        }
        _ => Err(mlua::Error::runtime("wrong number of arguments")),
    }
}

impl Vm {
    /// A fresh state with Redis's libraries, API and protections.
    pub fn new() -> mlua::Result<Vm> {
        // SAFETY: the debug library is loaded only so the prelude can keep
        // `debug.getinfo` for itself; it is removed from the globals before
        // any user code runs.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::default(),
            )
        };
        super::libs::register_all(&lua)?;
        let globals = lua.globals();
        for name in ["dofile", "loadfile", "print"] {
            globals.raw_set(name, Value::Nil)?;
        }
        let os = lua.create_table()?;
        os.set(
            "clock",
            lua.create_function(|_, ()| {
                let mut ts = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                // SAFETY: `ts` is a valid timespec for the call to fill.
                unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
                Ok(ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9)
            })?,
        )?;
        globals.raw_set("os", os)?;
        let math: Table = globals.get("math")?;
        math.set("random", lua.create_function(math_random)?)?;
        math.set(
            "randomseed",
            lua.create_function(|_, seed: f64| {
                srand48(seed as i64 as i32);
                Ok(())
            })?,
        )?;
        let redis = super::api::redis_table(&lua)?;
        // SAFETY: the redis table is argument 1 of the protected call; the
        // two C functions follow Lua's calling convention.
        unsafe {
            lua.exec_raw::<()>(redis.clone(), |state| {
                ffi::lua_pushcfunction(state, super::call::redis_call);
                ffi::lua_setfield(state, 1, c"call".as_ptr());
                ffi::lua_pushcfunction(state, super::call::redis_pcall);
                ffi::lua_setfield(state, 1, c"pcall".as_ptr());
            })?;
        }
        globals.raw_set("redis", redis)?;

        let debug: Table = globals.get("debug")?;
        let rt = lua.create_table()?;
        rt.set("mark", lua.create_function(super::run::lua_mark)?)?;
        rt.set("keep", lua.create_function(super::run::lua_keep)?)?;
        rt.set("DONE", super::run::done_token())?;
        rt.set("getinfo", debug.get::<Function>("getinfo")?)?;
        let runner: Function = lua.load(PRELUDE).set_name("=[shoal]").call(rt)?;
        globals.raw_set("debug", Value::Nil)?;

        protect_globals(&lua, &globals)?;
        let env = lua.create_table()?;
        let env_meta = lua.create_table()?;
        env_meta.set("__index", globals.clone())?;
        env_meta.set("__newindex", readonly_error(&lua)?)?;
        env.set_metatable(Some(env_meta))?;
        let redis: Table = globals.raw_get("redis")?;
        let libapi = super::functions::library_api(&lua, &redis)?;
        let lib_meta = lua.create_table()?;
        lib_meta.set("__index", missing_error(&lua)?)?;
        lib_meta.set("__newindex", readonly_error(&lua)?)?;
        libapi.set_metatable(Some(lib_meta.clone()))?;
        let lib_redis: Table = libapi.raw_get("redis")?;
        lib_redis.set_metatable(Some(lib_meta))?;
        let fenv = lua.create_table()?;
        let fenv_meta = lua.create_table()?;
        fenv_meta.set("__index", globals.clone())?;
        fenv_meta.set("__newindex", readonly_error(&lua)?)?;
        fenv.set_metatable(Some(fenv_meta.clone()))?;
        super::run::install_hook(&lua)?;
        Ok(Vm {
            lua,
            globals,
            env,
            runner,
            idle_runner: Default::default(),
            fenv,
            fenv_meta,
            libapi,
        })
    }

    /// Compile `code` as a chunk named `name` ("@user_script") running in
    /// the protected environment. Errors are Lua's message.
    pub fn compile(&self, code: &[u8], name: &str) -> Result<Function, String> {
        self.compile_in(code, name, &self.env)
    }

    /// Compile a function library's code (chunk `@user_function`).
    pub fn compile_function_library(&self, code: &[u8]) -> Result<Function, String> {
        self.compile_in(code, "@user_function", &self.fenv)
    }

    fn compile_in(&self, code: &[u8], name: &str, env: &Table) -> Result<Function, String> {
        let f = self
            .lua
            .load(code)
            .set_name(name)
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => message,
                other => other.to_string(),
            })?;
        f.set_environment(env.clone()).map_err(|e| e.to_string())?;
        Ok(f)
    }

    /// Run a library chunk with the load-time globals, then restore the
    /// full globals for the functions it registered.
    pub fn run_library(&self, chunk: &Function) -> mlua::Result<()> {
        self.fenv_meta.set("__index", self.libapi.clone())?;
        let r = super::control::with_load_deadline(|| chunk.call::<()>(()));
        self.fenv_meta.set("__index", self.globals.clone())?;
        r
    }

    /// The idle runner thread, if any (the caller owns it while it runs).
    pub fn take_runner(&self) -> Option<mlua::Thread> {
        self.idle_runner.borrow_mut().take()
    }

    /// Park the runner thread for the next invocation.
    pub fn put_runner(&self, t: mlua::Thread) {
        *self.idle_runner.borrow_mut() = Some(t);
    }

    /// A full garbage collection (after SCRIPT FLUSH).
    pub fn collect(&self) {
        let _ = self.lua.gc_collect();
    }

    /// Bytes in use by the state.
    pub fn memory(&self) -> usize {
        self.lua.used_memory()
    }
}

fn readonly_error(lua: &Lua) -> mlua::Result<Function> {
    lua.load("return function() error('Attempt to modify a readonly table', 2) end")
        .set_name("=[shoal]")
        .call(())
}

fn missing_error(lua: &Lua) -> mlua::Result<Function> {
    lua.load(
        "return function(_, k) error(\"Script attempted to access nonexistent global variable '\" .. tostring(k) .. \"'\", 2) end",
    )
    .set_name("=[shoal]")
    .call(())
}

/// Reads of missing globals and writes of new ones fail, as in Redis.
fn protect_globals(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    let meta = lua.create_table()?;
    meta.set("__index", missing_error(lua)?)?;
    meta.set("__newindex", readonly_error(lua)?)?;
    globals.set_metatable(Some(meta))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lrand48_matches_redis() {
        // redis-server 7.0, first EVAL "return tostring(math.random())" 0
        let lua = Lua::new();
        let r = math_random(&lua, MultiValue::new()).expect("random");
        assert_eq!(format!("{:.14}", r), "0.39646477363839");
    }
}
