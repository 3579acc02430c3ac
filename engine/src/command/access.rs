//! Typed access to aggregate values, shared by the family files: read a
//! key as a hash / set / list (WRONGTYPE otherwise), or modify it in place
//! and delete it if it ends up empty, as Redis never keeps empty aggregates.
//! Also the two keyspace-notification patterns every family repeats
//! ([`notify_change`], [`store_result`]).

use super::errors::{self, CmdError, CmdResult};
use crate::keyspace::events;
use crate::keyspace::{Db, ExpirePolicy, HashVal, ListVal, SetMut, SetRef, SetVal, Value, ZSetVal};
use resp::ReplyWriter;

/// A value type stored under a key, and how to look at one: a plain
/// reference for most types; for sets, whose encodings span several
/// `Value` variants (see `keyspace::set`), the views `SetRef` / `SetMut`.
pub trait Typed {
    /// Read access.
    type Ref<'a>;
    /// Write access.
    type Mut<'a>;
    /// The value as this type, if it is one.
    fn of(v: &Value) -> Option<Self::Ref<'_>>;
    /// The value as this type, for modification.
    fn of_mut(v: &mut Value) -> Option<Self::Mut<'_>>;
}

macro_rules! typed {
    ($t:ty, $variant:ident) => {
        impl Typed for $t {
            type Ref<'a> = &'a $t;
            type Mut<'a> = &'a mut $t;
            fn of(v: &Value) -> Option<&Self> {
                match v {
                    Value::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn of_mut(v: &mut Value) -> Option<&mut Self> {
                match v {
                    Value::$variant(x) => Some(x),
                    _ => None,
                }
            }
        }
    };
}

typed!(HashVal, Hash);
typed!(ListVal, List);
typed!(ZSetVal, ZSet);

impl Typed for SetVal {
    type Ref<'a> = SetRef<'a>;
    type Mut<'a> = SetMut<'a>;
    fn of(v: &Value) -> Option<SetRef<'_>> {
        SetRef::of(v)
    }
    fn of_mut(v: &mut Value) -> Option<SetMut<'_>> {
        SetMut::of(v)
    }
}

/// The value at `key` for reading (None when missing), or WRONGTYPE.
pub fn read<'d, T: Typed>(db: &'d mut Db, key: &[u8], now: i64) -> CmdResult<Option<T::Ref<'d>>> {
    match db.read(key, now, true) {
        None => Ok(None),
        Some(e) => T::of(e.value()).map(Some).ok_or(errors::WRONGTYPE),
    }
}

/// Run `f` on the existing value at `key` (None when missing), deleting
/// the key if `f` empties it.
pub fn modify<T: Typed, R>(
    db: &mut Db,
    key: &[u8],
    now: i64,
    f: impl FnOnce(T::Mut<'_>) -> R,
) -> CmdResult<Option<R>> {
    let r = match db.write(key, now) {
        None => return Ok(None),
        Some(e) => f(T::of_mut(e.value_mut()).ok_or(errors::WRONGTYPE)?),
    };
    db.drop_if_empty(key);
    Ok(Some(r))
}

/// Raise Redis's events for a change [`modify`] made at `key`: `event` of
/// `class`, then `del` when the change emptied (and so removed) the key.
/// Call it only when something changed, as Redis does.
pub fn notify_change(db: &mut Db, key: &[u8], class: u32, event: &'static str) {
    db.notify(class, event, key);
    if db.peek(key).is_none() {
        db.notify(events::GENERIC, "del", key);
    }
}

/// Store the result of a *STORE command at `key` as Redis's `setKey` does
/// (replacing any value, TTL cleared; `new` only when the key was absent)
/// and raise `event` of `class`. `None`, an empty result, deletes the key
/// instead, raising `del` when there was one. True when stored.
pub fn store_result(
    db: &mut Db,
    key: &[u8],
    value: Option<Value>,
    class: u32,
    event: &'static str,
    now: i64,
) -> bool {
    match value {
        Some(v) => {
            db.set(key, v, ExpirePolicy::Clear, now);
            db.notify(class, event, key);
            true
        }
        None => {
            if db.delete(key, now) {
                db.notify(events::GENERIC, "del", key);
            }
            false
        }
    }
}

/// Reply with an error.
pub fn err(w: &mut ReplyWriter<'_>, e: &CmdError) {
    w.error(e.text().as_bytes());
}

/// Run a read-only closure over the value at argument 1 of `req`, as type
/// `T` (None when missing); a wrong type replies WRONGTYPE.
pub fn with<T, F>(ctx: &mut super::ctx::Ctx<'_>, req: &resp::Request, f: F)
where
    T: Typed,
    F: FnOnce(Option<T::Ref<'_>>, &mut ReplyWriter<'_>) + Send + 'static,
{
    ctx.run_key(req.arg_bytes(1), move |x, key| {
        let now = x.now;
        let (db, w) = x.split();
        match read::<T>(db, key, now) {
            Ok(v) => f(v, w),
            Err(e) => err(w, &e),
        }
    });
}
