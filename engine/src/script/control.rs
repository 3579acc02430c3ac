//! The running script's controls: the count hook (time limit, pauses,
//! SCRIPT KILL, raising an error on resume), BUSY, and the set of Lua
//! threads the hook may pause. Shard-local (a thread-local per shard
//! thread); [`super::run`] sets it up per invocation.

use super::run::{KillOutcome, Kind, Position};
use crate::clock::Instant;
use crate::shard::Shard;
use mlua::{ffi, Lua, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// The running script's state, read by the count hook and SCRIPT KILL.
pub(super) struct Control {
    pub(super) started: Cell<Option<Instant>>,
    pub(super) threshold_ms: Cell<u64>,
    pub(super) kind: Cell<Option<Kind>>,
    pub(super) kill: Cell<bool>,
    pub(super) wrote: Cell<bool>,
    pub(super) busy: Cell<bool>,
    /// The script's own command is being dispatched (BUSY does not apply).
    pub(super) in_call: Cell<bool>,
    /// When a busy script last paused.
    pub(super) last_pause: Cell<Option<Instant>>,
    /// A script on another shard is past the threshold.
    pub(super) remote_busy: Cell<Option<Kind>>,
    /// The script touched something outside its scope.
    pub(super) strayed: Cell<bool>,
    /// ... before writing: stop it and run it again with every shard.
    pub(super) abort: Cell<bool>,
    pub(super) kill_line: Cell<i64>,
    /// Lua threads the hook may pause (ours, never a user's coroutine):
    /// this invocation's pcall coroutines ...
    pub(super) marked: RefCell<Vec<usize>>,
    /// ... and the reused runner and worker.
    pub(super) kept: RefCell<Vec<usize>>,
    /// An error the hook raises as soon as the script resumes: the error
    /// reply of a `redis.call` that finished after a yield.
    pub(super) raise_next: RefCell<Option<(Vec<u8>, Option<Position>)>>,
    /// The running function's name and FCALL (FUNCTION STATS).
    pub(super) running: RefCell<Option<(String, Vec<bytes::Bytes>)>>,
    /// A FUNCTION LOAD runs until then (Redis allows 500 ms).
    pub(super) load_deadline: Cell<Option<Instant>>,
}

/// How long a library's code may run while FUNCTION LOAD registers it.
const LOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// Run `f` (a library load) under FUNCTION LOAD's time limit: past it the
/// hook stops the code with "FUNCTION LOAD timeout".
pub fn with_load_deadline<R>(f: impl FnOnce() -> R) -> R {
    CONTROL.with(|c| c.load_deadline.set(Some(Instant::now() + LOAD_TIMEOUT)));
    let r = f();
    CONTROL.with(|c| c.load_deadline.set(None));
    r
}

impl Control {
    /// Nothing running (const, so the thread-local needs no lazy init:
    /// dispatch reads it for every command through [`busy`]).
    const fn new() -> Control {
        Control {
            started: Cell::new(None),
            threshold_ms: Cell::new(0),
            kind: Cell::new(None),
            kill: Cell::new(false),
            wrote: Cell::new(false),
            busy: Cell::new(false),
            in_call: Cell::new(false),
            last_pause: Cell::new(None),
            remote_busy: Cell::new(None),
            strayed: Cell::new(false),
            abort: Cell::new(false),
            kill_line: Cell::new(0),
            marked: RefCell::new(Vec::new()),
            kept: RefCell::new(Vec::new()),
            raise_next: RefCell::new(None),
            running: RefCell::new(None),
            load_deadline: Cell::new(None),
        }
    }
}

thread_local! {
    pub(super) static CONTROL: Control = const { Control::new() };
}

/// How long a busy script runs between two pauses.
const PAUSE_EVERY: std::time::Duration = std::time::Duration::from_millis(10);

/// Instructions between two looks at the clock (Redis's figure).
pub(super) const HOOK_EVERY: i32 = 100_000;

/// The kind of script keeping this shard busy (past the threshold), if any.
pub fn busy() -> Option<Kind> {
    CONTROL.with(|c| {
        if c.busy.get() && !c.in_call.get() {
            c.kind.get()
        } else {
            c.remote_busy.get()
        }
    })
}

/// Tell every other shard that a script here is busy (`Some`) or done.
pub(super) fn announce_busy(shard: &Rc<Shard>, kind: Option<Kind>) {
    shard.post_others(move |_| CONTROL.with(|c| c.remote_busy.set(kind)));
}

/// SCRIPT KILL / FUNCTION KILL on this shard.
pub fn kill(kind: Kind) -> KillOutcome {
    CONTROL.with(|c| match c.kind.get() {
        None => KillOutcome::NotBusy,
        Some(_) if c.wrote.get() => KillOutcome::Unkillable,
        Some(k) if k != kind => KillOutcome::OtherKind(k),
        Some(_) => {
            c.kill.set(true);
            KillOutcome::Killed
        }
    })
}

/// Set the count hook on a fresh state (threads created later inherit it).
pub fn install_hook(lua: &Lua) -> mlua::Result<()> {
    // SAFETY: lua_sethook only stores the hook in the state; `hook` is a
    // plain function with the signature Lua expects.
    unsafe {
        lua.exec_raw::<()>((), |state| {
            ffi::lua_sethook(state, Some(hook), ffi::LUA_MASKCOUNT, HOOK_EVERY);
        })
    }
}

/// True when no C function sits between the running Lua code of `l` and
/// the bottom of its stack, so `lua_yield` from the hook is allowed.
///
/// # Safety
/// `l` must be the running state inside a hook.
unsafe fn yieldable(l: *mut ffi::lua_State) -> bool {
    // SAFETY: forwarded.
    unsafe { yieldable_from(l, 0) }
}

/// [`yieldable`] for the frames from `level` up (1 from inside a C
/// function, which is frame 0 itself).
///
/// # Safety
/// `l` must be running.
unsafe fn yieldable_from(l: *mut ffi::lua_State, mut level: i32) -> bool {
    loop {
        let mut ar: ffi::lua_Debug = unsafe { std::mem::zeroed() };
        // SAFETY: `ar` is a valid lua_Debug; level walks up until Lua says
        // there is no such level.
        if unsafe { ffi::lua_getstack(l, level, &mut ar) } == 0 {
            return true;
        }
        if unsafe { ffi::lua_getinfo(l, c"S".as_ptr(), &mut ar) } == 0 || ar.what.is_null() {
            return false;
        }
        // SAFETY: `what` points at a static NUL-terminated string.
        if unsafe { std::ffi::CStr::from_ptr(ar.what) }.to_bytes() == b"C" {
            return false;
        }
        level += 1;
    }
}

/// The source and current line of the innermost user frame of `l`.
///
/// # Safety
/// `l` must be running (inside a hook or a C function).
pub(super) unsafe fn user_frame(l: *mut ffi::lua_State) -> Option<(Vec<u8>, i64)> {
    let mut level = 0;
    loop {
        let mut ar: ffi::lua_Debug = unsafe { std::mem::zeroed() };
        // SAFETY: as in `yieldable`.
        if unsafe { ffi::lua_getstack(l, level, &mut ar) } == 0 {
            return None;
        }
        if unsafe { ffi::lua_getinfo(l, c"Sl".as_ptr(), &mut ar) } != 0 && !ar.source.is_null() {
            // SAFETY: `source` is a NUL-terminated string owned by Lua.
            let src = unsafe { std::ffi::CStr::from_ptr(ar.source) }.to_bytes();
            if src.starts_with(b"@user_") {
                return Some((src.to_vec(), i64::from(ar.currentline)));
            }
        }
        level += 1;
    }
}

pub(super) unsafe extern "C-unwind" fn hook(l: *mut ffi::lua_State, _ar: *mut ffi::lua_Debug) {
    let raised = {
        let pending = CONTROL.with(|c| c.raise_next.borrow_mut().take());
        match pending {
            Some((text, at)) => {
                // SAFETY: back to the ordinary count hook, then the error
                // table goes on the stack, carrying where the call was made
                // (the script has moved on by one instruction); `text` is
                // dropped before the raise.
                unsafe {
                    ffi::lua_sethook(l, Some(hook), ffi::LUA_MASKCOUNT, HOOK_EVERY);
                    ffi::lua_checkstack(l, 4);
                    super::call::push_err_table(l, &text);
                    if let Some((source, line)) = at {
                        ffi::lua_pushlstring(l, source.as_ptr().cast(), source.len());
                        ffi::lua_setfield(l, -2, c"source".as_ptr());
                        ffi::lua_pushnumber(l, line as f64);
                        ffi::lua_setfield(l, -2, c"line".as_ptr());
                    }
                }
                true
            }
            None => false,
        }
    };
    if raised {
        // SAFETY: raising from a hook is how Redis stops scripts too; no
        // Rust value is alive here.
        unsafe { ffi::lua_error(l) }
    }
    let load_over = CONTROL.with(|c| {
        let over = c.load_deadline.get().is_some_and(|d| Instant::now() >= d);
        if over {
            c.load_deadline.set(None);
        }
        over
    });
    if load_over {
        // SAFETY: as above; the message carries Redis's error-table text.
        unsafe {
            ffi::lua_checkstack(l, 1);
            let msg = c"-ERR FUNCTION LOAD timeout";
            ffi::lua_pushstring(l, msg.as_ptr());
            ffi::lua_error(l)
        }
    }
    let pause = CONTROL.with(|c| {
        let Some(started) = c.started.get() else {
            return false;
        };
        if c.kill.get() {
            return true;
        }
        let threshold = c.threshold_ms.get();
        if threshold > 0 && started.elapsed().as_millis() >= u128::from(threshold) {
            if !c.busy.get() {
                c.busy.set(true);
                log::warn!(
                    "Slow script detected: still in execution after {} milliseconds. You can try killing the script using the SCRIPT KILL command.",
                    started.elapsed().as_millis()
                );
            }
            // Pause at most every PAUSE_EVERY: the script keeps ~90% of
            // the CPU, the shard answers others within ~10 ms.
            let due = c
                .last_pause
                .get()
                .is_none_or(|t| t.elapsed() >= PAUSE_EVERY);
            if due {
                c.last_pause.set(Some(Instant::now()));
            }
            return due;
        }
        false
    });
    if !pause {
        return;
    }
    let ours = CONTROL.with(|c| {
        let p = l as usize;
        c.marked.borrow().contains(&p) || c.kept.borrow().contains(&p)
    });
    // SAFETY: we are inside a hook of `l`.
    if !ours || !unsafe { yieldable(l) } {
        return;
    }
    if CONTROL.with(|c| c.kill.get()) {
        // SAFETY: inside a hook of `l`.
        let line = unsafe { user_frame(l) }.map_or(0, |(_, line)| line);
        CONTROL.with(|c| c.kill_line.set(line));
    }
    // SAFETY: a count hook of a Lua 5.1 thread with no C frame on its
    // stack may yield (the VM resumes "inside the hook" later).
    unsafe {
        ffi::lua_yield(l, 0);
    }
}

/// The token a finished invocation's results start with (`rt.DONE`).
static DONE: u8 = 0;

/// `rt.DONE`
pub fn done_token() -> mlua::LightUserData {
    mlua::LightUserData(std::ptr::addr_of!(DONE).cast_mut().cast())
}

pub(super) fn is_done(v: &Value) -> bool {
    matches!(v, Value::LightUserData(l) if l.0 == done_token().0)
}

/// True when the C function running in `l` (a `redis.call`) may yield
/// back to the resume loop: `l` is one of our coroutines and no C frame
/// (a metamethod, a `table.sort` comparator, ...) sits under it.
pub(super) fn may_yield(l: usize) -> bool {
    let ours = CONTROL.with(|c| c.marked.borrow().contains(&l) || c.kept.borrow().contains(&l));
    // SAFETY: `l` is running the C function that asks.
    ours && unsafe { yieldable_from(l as *mut ffi::lua_State, 1) }
}

/// `rt.keep(co)`: the hook may pause this long-lived coroutine (the runner
/// and its worker, reused across invocations).
pub fn lua_keep(_: &Lua, co: mlua::Thread) -> mlua::Result<()> {
    let p = co.to_pointer() as usize;
    CONTROL.with(|c| c.kept.borrow_mut().push(p));
    Ok(())
}

/// `rt.mark(co)`: let the hook pause this coroutine.
pub fn lua_mark(_: &Lua, co: mlua::Thread) -> mlua::Result<()> {
    let p = co.to_pointer() as usize;
    CONTROL.with(|c| c.marked.borrow_mut().push(p));
    Ok(())
}
