//! `redis.call` and `redis.pcall` as C functions on the raw Lua API.
//!
//! Why raw: Redis's versions are C functions, and that is observable. A C
//! function called in tail position (`return redis.call(...)`) keeps the
//! script's frame on the stack, so an error it raises is reported at the
//! script's line ("script: <sha>, on @user_script:3."); and only a C
//! function can `lua_yield` with its caller resuming right after the call,
//! which is how a command that must wait (another shard, a lock) suspends
//! the script without blocking the shard's thread.
//!
//! A call either answers at once (the reply is converted onto the Lua
//! stack here; an error reply is raised for `redis.call`), or yields one
//! value to the resume loop in [`super::run`], which finishes the command
//! and resumes the script with the converted reply as the call's result.
//!
//! IMPORTANT: `lua_error` and `lua_yield` leave the C frame with a longjmp
//! or a special return; no Rust value with a destructor may be alive at
//! that point, so every step that allocates ends before them.

use mlua::ffi;
use resp::Frame;
use std::os::raw::c_int;

/// What became of one call, decided in [`super::run::execute`].
pub enum Step {
    /// The reply, to convert (`resp3`: the script's protocol is RESP3).
    Reply(Frame, bool),
    /// Refused before running (Redis's text, without code).
    Refuse(&'static str),
    /// In flight: yield to the resume loop.
    Pending,
}

/// Gather the call's arguments as Redis does: numbers as `%.17g`,
/// strings as they are, anything else refused.
///
/// # Safety
/// `l` is the calling state inside a C function.
unsafe fn read_args(l: *mut ffi::lua_State) -> Result<Vec<Vec<u8>>, &'static str> {
    // SAFETY: reading the C function's own arguments.
    let n = unsafe { ffi::lua_gettop(l) };
    if n == 0 {
        return Err("Please specify at least one argument for this redis lib call");
    }
    let mut argv = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    for i in 1..=n {
        // SAFETY: `i` is a valid stack index (1..=top).
        let t = unsafe { ffi::lua_type(l, i) };
        if t == ffi::LUA_TNUMBER {
            // SAFETY: as above.
            let v = unsafe { ffi::lua_tonumber(l, i) };
            argv.push(resp::numfmt::g17(v).into_bytes());
        } else if t == ffi::LUA_TSTRING {
            let mut len = 0usize;
            // SAFETY: a string at `i`; Lua owns the bytes while it stays on the stack.
            let p = unsafe { ffi::lua_tolstring(l, i, &mut len) };
            if p.is_null() {
                return Err("Lua redis lib command arguments must be strings or integers");
            }
            // SAFETY: `p` points at `len` bytes.
            argv.push(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }.to_vec());
        } else {
            return Err("Lua redis lib command arguments must be strings or integers");
        }
    }
    Ok(argv)
}

/// Push `{err = "<CODE> msg"}` for `text` (see [`super::convert::error_text`]).
///
/// # Safety
/// `l` is a running state with room for 3 more slots.
pub(super) unsafe fn push_err_table(l: *mut ffi::lua_State, text: &[u8]) {
    let msg = super::convert::error_text(text);
    // SAFETY: plain stack operations on `l`.
    unsafe {
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_pushlstring(l, msg.as_ptr().cast(), msg.len());
        ffi::lua_setfield(l, -2, c"err".as_ptr());
    }
}

/// Push `{name = <top of stack>}` consuming the top value.
///
/// # Safety
/// `l` has a value on top and room for 2 more slots.
unsafe fn wrap_field(l: *mut ffi::lua_State, name: &std::ffi::CStr) {
    // SAFETY: plain stack operations on `l`.
    unsafe {
        ffi::lua_createtable(l, 0, 1);
        ffi::lua_insert(l, -2);
        ffi::lua_setfield(l, -2, name.as_ptr());
    }
}

/// Push a reply as a Lua value (the rules of [`super::convert`]).
///
/// # Safety
/// `l` is a running state.
unsafe fn push_frame(l: *mut ffi::lua_State, f: &Frame, resp3: bool) {
    // SAFETY: every branch grows the stack by one value after making room.
    unsafe {
        ffi::lua_checkstack(l, 4);
        match f {
            Frame::Simple(s) => {
                ffi::lua_pushlstring(l, s.as_ptr().cast(), s.len());
                wrap_field(l, c"ok");
            }
            Frame::Error(e) => {
                let mut text = Vec::with_capacity(e.len() + 1);
                text.push(b'-');
                text.extend_from_slice(e);
                push_err_table(l, &text);
            }
            Frame::Integer(n) => ffi::lua_pushnumber(l, *n as f64),
            Frame::Bulk(b) => {
                ffi::lua_pushlstring(l, b.as_ptr().cast(), b.len());
            }
            Frame::Null if resp3 => ffi::lua_pushnil(l),
            Frame::Null | Frame::NullArray => ffi::lua_pushboolean(l, 0),
            Frame::Array(items) | Frame::Push(items) => {
                ffi::lua_createtable(l, c_int::try_from(items.len()).unwrap_or(0), 0);
                for (i, item) in items.iter().enumerate() {
                    push_frame(l, item, resp3);
                    ffi::lua_rawseti(l, -2, i64::try_from(i + 1).unwrap_or(i64::MAX));
                }
            }
            Frame::Map(pairs) => {
                ffi::lua_createtable(l, 0, c_int::try_from(pairs.len()).unwrap_or(0));
                for (k, v) in pairs {
                    push_frame(l, k, resp3);
                    push_frame(l, v, resp3);
                    ffi::lua_rawset(l, -3);
                }
                wrap_field(l, c"map");
            }
            Frame::Set(items) => {
                ffi::lua_createtable(l, 0, c_int::try_from(items.len()).unwrap_or(0));
                for item in items {
                    push_frame(l, item, resp3);
                    ffi::lua_pushboolean(l, 1);
                    ffi::lua_rawset(l, -3);
                }
                wrap_field(l, c"set");
            }
            Frame::Double(d) => {
                ffi::lua_pushnumber(l, *d);
                wrap_field(l, c"double");
            }
            Frame::Boolean(b) => ffi::lua_pushboolean(l, c_int::from(*b)),
            Frame::BigNumber(n) => {
                ffi::lua_pushlstring(l, n.as_ptr().cast(), n.len());
                wrap_field(l, c"big_number");
            }
            Frame::Verbatim(format, text) => {
                ffi::lua_createtable(l, 0, 2);
                ffi::lua_pushlstring(l, text.as_ptr().cast(), text.len());
                ffi::lua_setfield(l, -2, c"string".as_ptr());
                ffi::lua_pushlstring(l, format.as_ptr().cast(), format.len());
                ffi::lua_setfield(l, -2, c"format".as_ptr());
                wrap_field(l, c"verbatim_string");
            }
            #[allow(unreachable_patterns)]
            _ => ffi::lua_pushnil(l),
        }
    }
}

/// A reply as a Lua value (for resuming a script with the reply of a
/// command that completed after a yield).
pub(super) fn frame_value(lua: &mlua::Lua, f: &Frame, resp3: bool) -> mlua::Result<mlua::Value> {
    // SAFETY: exec_raw hands us its own protected stack; push_frame pushes
    // exactly one value, which becomes the result.
    unsafe { lua.exec_raw::<mlua::Value>((), |state| push_frame(state, f, resp3)) }
}

/// Token the pending yield carries (only its presence matters).
static PENDING: u8 = 0;

/// # Safety
/// Called by Lua as a C function.
unsafe fn call(l: *mut ffi::lua_State, raise: bool) -> c_int {
    // Everything that allocates happens in this block and is dropped
    // before the longjmp of lua_error or the yield.
    let (raise_now, pending) = {
        // SAFETY: inside a C function of `l`.
        let step = match unsafe { read_args(l) } {
            Err(text) => Step::Refuse(text),
            Ok(argv) => super::run::execute(argv, raise, l as usize),
        };
        match step {
            Step::Reply(frame, resp3) => {
                let is_err = matches!(frame, Frame::Error(_));
                // SAFETY: `l` is running this C function.
                unsafe { push_frame(l, &frame, resp3) };
                (raise && is_err, false)
            }
            Step::Refuse(text) => {
                // SAFETY: as above.
                unsafe {
                    ffi::lua_checkstack(l, 3);
                    push_err_table(l, text.as_bytes());
                }
                (raise, false)
            }
            Step::Pending => (false, true),
        }
    };
    if raise_now {
        // SAFETY: the error table is on top; no Rust value is alive.
        unsafe { ffi::lua_error(l) }
    }
    if pending {
        // SAFETY: a C function may yield as its return; the resume loop
        // resumes us with the call's result.
        unsafe {
            ffi::lua_pushlightuserdata(l, std::ptr::addr_of!(PENDING).cast_mut().cast());
            return ffi::lua_yield(l, 1);
        }
    }
    1
}

/// `redis.call`
///
/// # Safety
/// Only Lua may call it, as a C function.
pub unsafe extern "C-unwind" fn redis_call(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls us as a C function.
    unsafe { call(l, true) }
}

/// `redis.pcall`
///
/// # Safety
/// Only Lua may call it, as a C function.
pub unsafe extern "C-unwind" fn redis_pcall(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls us as a C function.
    unsafe { call(l, false) }
}
