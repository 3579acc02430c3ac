//! The `redis` table's Rust half: `redis.sha1hex`, `error_reply`,
//! `status_reply`, `log`, `setresp`, `set_repl`, `replicate_commands`,
//! `breakpoint`, `debug`, `acl_check_cmd` and the constants. `redis.call`
//! and `redis.pcall` are C functions of their own ([`super::call`]).
//!
//! Errors these raise carry Redis's error-table text with a leading `-`
//! (see [`raise`]); the runner turns them into `-ERR ...` replies with the
//! script's position, as Redis does for its `luaPushError` + `luaError`.

use super::convert;
use super::run::{lua_bytes, set_script_proto};
use mlua::{Lua, MultiValue, Table, Value};
use resp::Proto;

/// An error raised from Rust with Redis's error-table text (`-CODE msg`).
pub(super) fn raise(text: &str) -> mlua::Error {
    mlua::Error::runtime(format!("-{text}"))
}

/// [`raise`] with the `ERR` code.
pub(super) fn raise_text(text: &str) -> mlua::Error {
    raise(&format!("ERR {text}"))
}

/// C's `lua_tonumber` then `(int)` of an argument (0 when not a number).
fn lua_int(v: Option<&Value>) -> i64 {
    match v {
        Some(Value::Integer(i)) => *i,
        Some(Value::Number(n)) => *n as i64,
        _ => 0,
    }
}

/// The `redis` table's Rust half (call and pcall come from the prelude).
pub fn redis_table(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "sha1hex",
        lua.create_function(|lua, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise_text("wrong number of arguments"));
            }
            let body = args.front().and_then(lua_bytes).unwrap_or_default();
            lua.create_string(super::sha1hex(&body))
        })?,
    )?;
    t.set(
        "error_reply",
        lua.create_function(|lua, args: MultiValue| {
            let text = match (args.len(), args.front()) {
                (1, Some(Value::String(s))) => {
                    let b = s.as_bytes();
                    if b.first() == Some(&b'-') {
                        b.to_vec()
                    } else {
                        let mut v = b"-".to_vec();
                        v.extend_from_slice(&b);
                        v
                    }
                }
                _ => b"wrong number or type of arguments".to_vec(),
            };
            convert::err_table(lua, &text)
        })?,
    )?;
    t.set(
        "status_reply",
        lua.create_function(|lua, args: MultiValue| match (args.len(), args.front()) {
            (1, Some(Value::String(s))) => {
                let t = lua.create_table()?;
                t.raw_set("ok", s.clone())?;
                Ok(t)
            }
            _ => convert::err_table(lua, b"wrong number or type of arguments"),
        })?,
    )?;
    t.set("log", lua.create_function(redis_log)?)?;
    t.set(
        "setresp",
        lua.create_function(|_, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise_text("redis.setresp() requires one argument."));
            }
            let v = lua_int(args.front());
            let proto = match v {
                2 => Proto::Resp2,
                3 => Proto::Resp3,
                _ => return Err(raise_text("RESP version must be 2 or 3.")),
            };
            set_script_proto(proto);
            Ok(())
        })?,
    )?;
    t.set(
        "set_repl",
        lua.create_function(|_, args: MultiValue| {
            if args.len() != 1 {
                return Err(raise_text("redis.set_repl() requires two arguments."));
            }
            let v = lua_int(args.front());
            if v & !3 != 0 {
                return Err(raise_text(
                    "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                ));
            }
            Ok(())
        })?,
    )?;
    t.set("replicate_commands", lua.create_function(|_, ()| Ok(true))?)?;
    t.set("breakpoint", lua.create_function(|_, ()| Ok(false))?)?;
    t.set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    t.set(
        "acl_check_cmd",
        lua.create_function(|_, args: MultiValue| {
            let name = args.front().and_then(lua_bytes);
            let Some(name) = name else {
                return Err(raise_text(
                    "Please specify at least one argument for this redis lib call",
                ));
            };
            if crate::command::table::table().lookup(&name).is_none() {
                return Err(raise_text(
                    "Invalid command passed to redis.acl_check_cmd()",
                ));
            }
            Ok(true)
        })?,
    )?;
    let version = crate::server::REDIS_VERSION;
    t.set("REDIS_VERSION", version)?;
    let num = version
        .split('.')
        .map(|p| p.parse::<i64>().unwrap_or(0))
        .fold(0i64, |acc, p| (acc << 8) | p);
    t.set("REDIS_VERSION_NUM", num)?;
    for (name, v) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        t.set(name, v)?;
    }
    Ok(t)
}

/// `redis.log(level, ...)`: the arguments joined by spaces, at Redis's
/// level (0 debug .. 3 warning).
fn redis_log(_: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() < 2 {
        return Err(raise_text("redis.log() requires two arguments or more."));
    }
    let level = match args.front() {
        Some(Value::Integer(i)) => *i,
        Some(Value::Number(n)) => *n as i64,
        Some(Value::String(s)) => {
            match s.to_str().ok().and_then(|s| s.trim().parse::<f64>().ok()) {
                Some(n) => n as i64,
                None => return Err(raise_text("First argument must be a number (log level).")),
            }
        }
        _ => return Err(raise_text("First argument must be a number (log level).")),
    };
    if !(0..=3).contains(&level) {
        return Err(raise_text("Invalid debug level."));
    }
    let text = args
        .iter()
        .skip(1)
        .filter_map(lua_bytes)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    match level {
        0 => log::debug!("{text}"),
        1 => log::info!("{text}"),
        2 => log::info!("{text}"),
        _ => log::warn!("{text}"),
    }
    Ok(())
}
