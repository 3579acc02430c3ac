//! The Lua libraries Redis ships inside its interpreter, reimplemented in
//! Rust on mlua so that scripts run by EVAL see the same functions, results
//! and error texts as under Redis 7.0/7.2.
//!
//! | module | global | original |
//! |---|---|---|
//! | [`bit`] | `bit` | LuaBitOp 1.0.2 |
//! | [`cjson`] | `cjson` | lua-cjson 2.1.0 as patched by Redis |
//! | [`cmsgpack`] | `cmsgpack` | lua-cmsgpack 0.4.0 |
//! | [`structlib`] | `struct` | Roberto Ierusalimschy's struct 1.4 with Redis' fixes |
//!
//! This module owns what the four share: argument checks that mirror
//! `lauxlib` (`luaL_checknumber`, `luaL_checklstring`, ...), and the way a
//! library function reports an error. It does not create or configure the
//! Lua state, nor protect globals: that is the VM's job (`script/`), which
//! calls [`register_all`] once per state.
//!
//! # Errors are Lua strings, raised from a C frame
//!
//! The C libraries fail with `luaL_error` / `luaL_argerror`, which raise a
//! plain string prefixed with the caller's position and naming the function
//! as the caller spelled it: `user_script:1: bad argument #1 to 'pack'
//! (invalid format option 'z')`, or `bad argument #1 to '?' (...)` when the
//! function was called through `pcall`. mlua turns the `Err` of a Rust
//! callback into a userdata instead, and a Lua wrapper function would lose
//! the position on tail calls (`return cjson.decode(x)`). So each library
//! function is a small C closure, [`trampoline`], which calls the Rust
//! function (its upvalue) and, when that returns an error tag, raises the
//! error with the real `luaL_argerror` / `luaL_where` from its own C frame,
//! exactly where the original C function would have.
//!
//! mlua keeps every live handle to a Lua string or table in a fixed-size
//! auxiliary stack (about 8,000 slots; it fails or panics when full), so
//! nothing here may hold one handle per argument, result or nesting level.
//! The trampoline hands more than [`SPILL_ARGS`] arguments over in one
//! table, spreads results handed back in a table ([`Ret::Spread`], for
//! `cmsgpack.unpack` and `struct.unpack`), and deep walks park their
//! tables in a [`Spine`].

pub mod bit;
pub mod cjson;
pub mod cmsgpack;
pub mod structlib;

use mlua::{ffi, Function, LightUserData, Lua, MultiValue, Table, Value};
use std::os::raw::{c_int, c_void};

/// `LUAI_MAXCSTACK` of Lua 5.1: how many slots a C function may use on the
/// Lua stack. The C libraries hit it (through `lua_checkstack`) on deep or
/// long inputs; the Rust versions count the slots the C code would use and
/// fail at the same point with the same message.
pub(crate) const LUA_MAX_C_STACK: usize = 8000;

/// Install every library as a global table in `lua`.
pub fn register_all(lua: &Lua) -> mlua::Result<()> {
    let globals = lua.globals();
    globals.set("bit", bit::module(lua)?)?;
    globals.set("cjson", cjson::module(lua)?)?;
    globals.set("cmsgpack", cmsgpack::module(lua)?)?;
    globals.set("struct", structlib::module(lua)?)?;
    Ok(())
}

/// How a library function fails; [`trampoline`] turns it into a Lua error.
#[derive(Debug)]
pub(crate) enum Raise {
    /// `luaL_argerror(L, narg, msg)`: "bad argument #narg to 'name' (msg)",
    /// prefixed with the caller's position.
    Arg(i32, Vec<u8>),
    /// `luaL_error(L, msg)`: the message prefixed with the caller's position.
    Located(Vec<u8>),
    /// An error the Lua core raises inside the C function, which carries no
    /// position because the running function is a C one ("table index is nil").
    Bare(Vec<u8>),
    /// Anything mlua reports (allocation failure, an erroring metamethod).
    Lua(mlua::Error),
}

impl From<mlua::Error> for Raise {
    fn from(e: mlua::Error) -> Self {
        Raise::Lua(e)
    }
}

/// Result of a library function body.
pub(crate) type LibResult<T> = Result<T, Raise>;

/// What a library function returns.
pub(crate) enum Ret {
    /// These values, as they are.
    Values(MultiValue),
    /// Elements `1..=n` of the table, spread as `n` results (see the module doc).
    Spread(Table, usize),
}

impl From<Value> for Ret {
    fn from(v: Value) -> Self {
        Ret::Values(MultiValue::from_vec(vec![v]))
    }
}

/// `luaL_error`-style failure.
pub(crate) fn located<T>(msg: impl Into<Vec<u8>>) -> LibResult<T> {
    Err(Raise::Located(msg.into()))
}

/// `luaL_argerror`-style failure.
pub(crate) fn arg_error<T>(narg: i32, msg: impl Into<Vec<u8>>) -> LibResult<T> {
    Err(Raise::Arg(narg, msg.into()))
}

// Tags put first among the values passed between the trampoline and the
// Rust side. Only their addresses matter (distinct values keep the statics
// from being merged); a script can never get hold of these pointers.
static ERROR_TAG: u8 = 1;
static SPREAD_TAG: u8 = 2;
static ARGS_TAG: u8 = 3;

/// Calls with more arguments than this pass them in a table.
const SPILL_ARGS: c_int = 16;

const KIND_ARG: i64 = 0;
const KIND_LOCATED: i64 = 1;
const KIND_BARE: i64 = 2;

fn tag(t: &'static u8) -> Value {
    Value::LightUserData(LightUserData(std::ptr::from_ref(t).cast_mut().cast()))
}

/// Make a Lua function out of a library function body (see the module doc).
pub(crate) fn function<F>(lua: &Lua, body: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, Args) -> LibResult<Ret> + 'static,
{
    let inner = lua.create_function(move |lua, args: MultiValue| {
        let (kind, narg, msg) = match body(lua, Args::new(args.into_vec())) {
            Ok(Ret::Values(v)) => return Ok(v),
            Ok(Ret::Spread(t, n)) => {
                return Ok(MultiValue::from_vec(vec![
                    tag(&SPREAD_TAG),
                    Value::Table(t),
                    Value::Integer(n as i64),
                ]))
            }
            Err(Raise::Lua(e)) => return Err(e),
            Err(Raise::Arg(n, m)) => (KIND_ARG, n, m),
            Err(Raise::Located(m)) => (KIND_LOCATED, 0, m),
            Err(Raise::Bare(m)) => (KIND_BARE, 0, m),
        };
        // The C libraries format messages as C strings: a NUL ends them.
        let msg = match msg.iter().position(|&b| b == 0) {
            Some(end) => &msg[..end],
            None => &msg[..],
        };
        Ok(MultiValue::from_vec(vec![
            tag(&ERROR_TAG),
            Value::Integer(kind),
            Value::Integer(i64::from(narg)),
            Value::String(lua.create_string(msg)?),
        ]))
    })?;
    // SAFETY: exec_raw runs the closure in protected mode with `inner` as the
    // only value on the stack; lua_pushcclosure pops it as the upvalue of
    // `trampoline` and pushes the closure, the single result.
    unsafe {
        lua.exec_raw(inner, |state| {
            ffi::lua_pushcclosure(state, trampoline, 1);
        })
    }
}

/// The C face of every library function: call the Rust body (upvalue 1)
/// with all arguments, then either return its results, spread a result
/// table, or raise its error from this C frame.
///
/// IMPORTANT: `lua_error` and `luaL_argerror` longjmp out of this frame, so
/// nothing here may own a value with a destructor.
unsafe extern "C-unwind" fn trampoline(state: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls this with a valid state; `function` created it with
    // exactly one upvalue, the Rust body. All stack indices below are within
    // the results the body returned, which the checks establish first.
    unsafe {
        let nargs = ffi::lua_gettop(state);
        if nargs > SPILL_ARGS {
            // Call body(ARGS_TAG, {args...}, nargs). A C function always has
            // LUA_MINSTACK free slots, enough for what this pushes.
            ffi::lua_createtable(state, nargs, 0);
            ffi::lua_insert(state, 1);
            for i in (1..=nargs).rev() {
                ffi::lua_rawseti(state, 1, ffi::lua_Integer::from(i));
            }
            ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
            ffi::lua_insert(state, 1);
            ffi::lua_pushlightuserdata(state, tag_ptr(&ARGS_TAG));
            ffi::lua_insert(state, 2);
            ffi::lua_pushinteger(state, ffi::lua_Integer::from(nargs));
            ffi::lua_call(state, 3, ffi::LUA_MULTRET);
        } else {
            ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
            ffi::lua_insert(state, 1);
            ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
        }
        let nres = ffi::lua_gettop(state);
        if nres == 0 || ffi::lua_type(state, 1) != ffi::LUA_TLIGHTUSERDATA {
            return nres;
        }
        let t = ffi::lua_touserdata(state, 1);
        if t == tag_ptr(&SPREAD_TAG) && nres == 3 {
            let n = ffi::lua_tointeger(state, 3);
            ffi::lua_settop(state, 2);
            ffi::lua_replace(state, 1);
            let n = c_int::try_from(n).unwrap_or(c_int::MAX);
            if ffi::lua_checkstack(state, n) == 0 {
                ffi::luaL_error(state, c"too many results".as_ptr());
            }
            for i in 1..=n {
                ffi::lua_rawgeti(state, 1, ffi::lua_Integer::from(i));
            }
            return n;
        }
        if t == tag_ptr(&ERROR_TAG) && nres == 4 {
            let kind = ffi::lua_tointeger(state, 2);
            let narg = c_int::try_from(ffi::lua_tointeger(state, 3)).unwrap_or(0);
            match kind {
                KIND_ARG => {
                    ffi::luaL_argerror(state, narg, ffi::lua_tostring(state, 4));
                }
                KIND_LOCATED => {
                    ffi::luaL_where(state, 1);
                    ffi::lua_pushvalue(state, 4);
                    ffi::lua_concat(state, 2);
                    ffi::lua_error(state);
                }
                _ => {
                    ffi::lua_pushvalue(state, 4);
                    ffi::lua_error(state);
                }
            }
        }
        nres
    }
}

fn tag_ptr(t: &'static u8) -> *mut c_void {
    std::ptr::from_ref(t).cast_mut().cast()
}

/// The arguments of a call, 1-based like the Lua C API; a missing argument
/// ("no value") is distinct from an explicit nil. Many arguments stay in the
/// table the trampoline put them in (see the module doc).
pub(crate) struct Args {
    inline: Vec<Value>,
    spilled: Option<Table>,
    len: usize,
}

impl Args {
    fn new(mut values: Vec<Value>) -> Args {
        if let [Value::LightUserData(t), Value::Table(_), Value::Integer(n)] = &values[..] {
            if t.0 == tag_ptr(&ARGS_TAG) {
                let len = usize::try_from(*n).unwrap_or(0);
                let spilled = match values.swap_remove(1) {
                    Value::Table(t) => Some(t),
                    _ => None,
                };
                return Args {
                    inline: Vec::new(),
                    spilled,
                    len,
                };
            }
        }
        Args {
            len: values.len(),
            inline: values,
            spilled: None,
        }
    }

    /// `lua_gettop`.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Argument `n` (1-based), `None` when absent.
    pub(crate) fn get(&self, n: usize) -> Option<Value> {
        if n == 0 || n > self.len {
            return None;
        }
        match &self.spilled {
            // A raw read of an existing index cannot fail.
            Some(t) => Some(t.raw_get(n).unwrap_or(Value::Nil)),
            None => self.inline.get(n - 1).cloned(),
        }
    }

    /// `lua_isnoneornil`.
    pub(crate) fn is_none_or_nil(&self, n: usize) -> bool {
        matches!(self.get(n), None | Some(Value::Nil))
    }
}

/// `luaL_typename`: the type of an argument as error messages spell it.
pub(crate) fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// `lua_tonumber` with `lua_isnumber`: the number a value converts to
/// (strings through Lua's own conversion), `None` when it does not.
pub(crate) fn to_number(lua: &Lua, v: Option<&Value>) -> LibResult<Option<f64>> {
    Ok(match v {
        Some(Value::Integer(i)) => Some(*i as f64),
        Some(Value::Number(n)) => Some(*n),
        Some(s @ Value::String(_)) => lua.coerce_number(s.clone())?,
        _ => None,
    })
}

/// `luaL_typerror`: "<expected> expected, got <type>" for argument `n`.
pub(crate) fn type_error<T>(args: &Args, n: usize, expected: &str) -> LibResult<T> {
    type_error_at(args.get(n).as_ref(), narg(n), expected)
}

fn type_error_at<T>(v: Option<&Value>, narg: i32, expected: &str) -> LibResult<T> {
    arg_error(narg, format!("{expected} expected, got {}", type_name(v)))
}

/// Argument positions are small; error messages print them as C ints.
pub(crate) fn narg(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// `luaL_checknumber`.
pub(crate) fn check_number(lua: &Lua, args: &Args, n: usize) -> LibResult<f64> {
    check_number_at(lua, args.get(n).as_ref(), narg(n))
}

/// `luaL_checknumber` on the value at stack position `narg`.
pub(crate) fn check_number_at(lua: &Lua, v: Option<&Value>, narg: i32) -> LibResult<f64> {
    match to_number(lua, v)? {
        Some(x) => Ok(x),
        None => type_error_at(v, narg, "number"),
    }
}

/// `luaL_checkinteger`: the number truncated as the C cast does on x86-64.
pub(crate) fn check_integer(lua: &Lua, args: &Args, n: usize) -> LibResult<i64> {
    check_number(lua, args, n).map(trunc_i64)
}

/// `luaL_optinteger`.
pub(crate) fn opt_integer(lua: &Lua, args: &Args, n: usize, default: i64) -> LibResult<i64> {
    if args.is_none_or_nil(n) {
        Ok(default)
    } else {
        check_integer(lua, args, n)
    }
}

/// `luaL_checklstring`: strings, and numbers converted as Lua does ("%.14g").
pub(crate) fn check_string(lua: &Lua, args: &Args, n: usize) -> LibResult<mlua::String> {
    check_string_at(lua, args.get(n).as_ref(), narg(n))
}

/// `luaL_checklstring` on the value at stack position `narg`.
pub(crate) fn check_string_at(lua: &Lua, v: Option<&Value>, narg: i32) -> LibResult<mlua::String> {
    match v {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(n @ (Value::Integer(_) | Value::Number(_))) => match lua.coerce_string(n.clone())? {
            Some(s) => Ok(s),
            None => type_error_at(v, narg, "string"),
        },
        _ => type_error_at(v, narg, "string"),
    }
}

/// A double converted to a 64-bit integer as x86-64's `cvttsd2si` does it
/// (the C cast the originals use): truncation, and `i64::MIN` for NaN and
/// out-of-range values, where Rust's `as` would saturate.
pub(crate) fn trunc_i64(x: f64) -> i64 {
    // ±2^63 are exactly representable; NaN is in no range.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if (-TWO_63..TWO_63).contains(&x) {
        x as i64
    } else {
        i64::MIN
    }
}

/// A double converted to a 32-bit integer as `cvttsd2si` does it:
/// truncation, `i32::MIN` when out of range.
pub(crate) fn trunc_i32(x: f64) -> i32 {
    // Truncation toward zero must land in i32: (-2^31 - 1, 2^31).
    if x > -2_147_483_649.0 && x < 2_147_483_648.0 {
        x as i32
    } else {
        i32::MIN
    }
}

/// A double converted to a 64-bit unsigned integer as GCC compiles the C
/// cast on x86-64: values from 2^63 up are reduced by 2^63 first, NaN and
/// out-of-range values come out as 2^63 (or 0 from 2^64 up).
pub(crate) fn trunc_u64(x: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if x >= TWO_63 {
        (trunc_i64(x - TWO_63) as u64) ^ (1 << 63)
    } else {
        trunc_i64(x) as u64
    }
}

/// A Lua table used as a stack, to park values while walking deep
/// structures without holding one mlua handle per level (see the module
/// doc for why handles are scarce).
pub(crate) struct Spine {
    table: Table,
    len: usize,
}

impl Spine {
    pub(crate) fn new(lua: &Lua) -> mlua::Result<Spine> {
        Ok(Spine {
            table: lua.create_table()?,
            len: 0,
        })
    }

    pub(crate) fn push(&mut self, v: Value) -> mlua::Result<()> {
        self.len += 1;
        self.table.raw_set(self.len, v)
    }

    /// How many values are parked.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The value at `slot` (1-based, as [`Spine::len`] counts).
    pub(crate) fn get(&self, slot: usize) -> mlua::Result<Value> {
        self.table.raw_get(slot)
    }

    pub(crate) fn pop(&mut self) -> mlua::Result<Value> {
        let v = self.table.raw_get(self.len)?;
        self.table.raw_set(self.len, Value::Nil)?;
        self.len = self.len.saturating_sub(1);
        Ok(v)
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    //! Helpers for the libraries' unit tests.

    use mlua::{Lua, Value};

    /// A fresh state with the libraries installed.
    pub(crate) fn lua() -> Lua {
        let lua = Lua::new();
        super::register_all(&lua).expect("register libraries");
        lua
    }

    /// Run `code` as a chunk named like Redis names scripts; return its
    /// first result as bytes (`tostring`-converted), or the error text.
    pub(crate) fn run(lua: &Lua, code: &str) -> Result<Vec<u8>, String> {
        match lua.load(code).set_name("=user_script").eval::<Value>() {
            Ok(v) => {
                let tostring: mlua::Function = lua.globals().get("tostring").expect("tostring");
                let s: mlua::String = tostring.call(v).expect("tostring result");
                Ok(s.as_bytes().to_vec())
            }
            // mlua appends a traceback to errors reaching Rust; Redis does not.
            Err(mlua::Error::RuntimeError(m)) => Err(match m.split_once("\nstack traceback:") {
                Some((m, _)) => m.to_string(),
                None => m,
            }),
            Err(e) => Err(e.to_string()),
        }
    }

    /// `run`, expecting success, as a string.
    pub(crate) fn ok(lua: &Lua, code: &str) -> String {
        match run(lua, code) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => panic!("{code}: unexpected error {e}"),
        }
    }

    /// `run`, expecting an error, its text.
    pub(crate) fn err(lua: &Lua, code: &str) -> String {
        match run(lua, code) {
            Ok(b) => panic!(
                "{code}: expected an error, got {}",
                String::from_utf8_lossy(&b)
            ),
            Err(e) => e,
        }
    }
}
