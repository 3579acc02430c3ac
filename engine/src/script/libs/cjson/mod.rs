//! `cjson`: lua-cjson 2.1.0 as Redis ships it — `encode`, `decode`, `null`,
//! `new` and the configuration functions `encode_sparse_array`,
//! `encode_max_depth`, `decode_max_depth`, `encode_number_precision`,
//! `encode_keep_buffer`, `encode_invalid_numbers`, `decode_invalid_numbers`.
//! Each table made by `new()` has its own configuration, as in C; settings
//! persist in the Lua state across scripts.
//!
//! Encoding: numbers with `%.{precision}g` (14 by default), strings with
//! `\"`, `\\`, `\/`, `\b\f\n\r\t`, `\u00XX` for other control bytes and
//! DEL, and every other byte as is (no UTF-8 check). A table is an array
//! when all its keys are positive integers and it is not "excessively
//! sparse" (largest index above 10 and above twice the count: an error
//! unless `encode_sparse_array(true)` makes it an object); `{}` is `{}`.
//! `nil` and `cjson.null` (a NULL light userdata) are `null`.
//!
//! Decoding follows the C tokenizer byte for byte, including `strtod`
//! numbers (hex, `inf`, `nan` are accepted by default), `\uXXXX` escapes
//! and surrogate pairs to UTF-8, the input ending at a NUL byte, and the
//! error texts ("Expected value but found invalid token at character 1").
//!
//! Nesting limits come from the configured depths and from the Lua stack of
//! the C function, whose slot counting is reproduced. Encoding and decoding
//! do not recurse in Rust.
//!
//! `encode_keep_buffer` only records its setting: the buffer it keeps in C
//! has no observable effect. No other known deviation from Redis.
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | the module table, configuration functions, `cjson.null` |
//! | [`encode`] | `cjson.encode`, `%g` number formatting |
//! | [`decode`] | `cjson.decode`, the tokenizer, `strtod` |

mod decode;
mod encode;

use super::{arg_error, check_integer, check_string, function, narg, Args, LibResult, Ret};
use mlua::{Function, LightUserData, Lua, Table, Value};
use std::cell::Cell;
use std::rc::Rc;

/// Settings of one cjson table (`cjson_config_t`).
#[derive(Clone, Copy)]
pub(super) struct Config {
    sparse_convert: bool,
    sparse_ratio: i32,
    sparse_safe: i32,
    encode_max_depth: i32,
    decode_max_depth: i32,
    /// 0: refuse NaN/Inf, 1: write them (`nan`, `inf`), 2: write `null`.
    encode_invalid_numbers: usize,
    number_precision: i32,
    keep_buffer: bool,
    decode_invalid_numbers: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            sparse_convert: false,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            number_precision: 14,
            keep_buffer: true,
            decode_invalid_numbers: true,
        }
    }
}

type Shared = Rc<Cell<Config>>;

/// The `cjson` table.
pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let cfg: Shared = Rc::default();
    // One `next` per Lua state, in the registry: a handle per cjson table
    // would let a script exhaust mlua's handles with `cjson.new()`.
    lua.set_named_registry_value(NEXT_KEY, raw_next(lua)?)?;

    let c = cfg.clone();
    t.set(
        "encode",
        function(lua, move |lua, a| {
            let next: Function = lua.named_registry_value(NEXT_KEY)?;
            encode::encode(lua, &a, c.get(), &next)
        })?,
    )?;
    let c = cfg.clone();
    t.set(
        "decode",
        function(lua, move |lua, a| decode::decode(lua, &a, c.get()))?,
    )?;
    let c = cfg.clone();
    t.set(
        "encode_sparse_array",
        function(lua, move |lua, a| {
            arg_init(&a, 3)?;
            let mut cfg = c.get();
            let mut convert = usize::from(cfg.sparse_convert);
            let r1 = enum_option(lua, &a, 1, &mut convert, &["off", "on"])?;
            cfg.sparse_convert = convert != 0;
            let r2 = integer_option(lua, &a, 2, &mut cfg.sparse_ratio, 0, i32::MAX)?;
            let r3 = integer_option(lua, &a, 3, &mut cfg.sparse_safe, 0, i32::MAX)?;
            c.set(cfg);
            Ok(Ret::Values(vec![r1, r2, r3].into()))
        })?,
    )?;
    let int_setting = |get: fn(&mut Config) -> &mut i32, min: i32, max: i32| {
        let c = cfg.clone();
        function(lua, move |lua, a| {
            arg_init(&a, 1)?;
            let mut cfg = c.get();
            let r = integer_option(lua, &a, 1, get(&mut cfg), min, max)?;
            c.set(cfg);
            Ok(r.into())
        })
    };
    t.set(
        "encode_max_depth",
        int_setting(|c| &mut c.encode_max_depth, 1, i32::MAX)?,
    )?;
    t.set(
        "decode_max_depth",
        int_setting(|c| &mut c.decode_max_depth, 1, i32::MAX)?,
    )?;
    t.set(
        "encode_number_precision",
        int_setting(|c| &mut c.number_precision, 1, 14)?,
    )?;
    let flag_setting = |get: fn(&mut Config) -> &mut bool| {
        let c = cfg.clone();
        function(lua, move |lua, a| {
            arg_init(&a, 1)?;
            let mut cfg = c.get();
            let mut v = usize::from(*get(&mut cfg));
            let r = enum_option(lua, &a, 1, &mut v, &["off", "on"])?;
            *get(&mut cfg) = v != 0;
            c.set(cfg);
            Ok(r.into())
        })
    };
    t.set("encode_keep_buffer", flag_setting(|c| &mut c.keep_buffer)?)?;
    t.set(
        "decode_invalid_numbers",
        flag_setting(|c| &mut c.decode_invalid_numbers)?,
    )?;
    let c = cfg.clone();
    t.set(
        "encode_invalid_numbers",
        function(lua, move |lua, a| {
            arg_init(&a, 1)?;
            let mut cfg = c.get();
            let r = enum_option(
                lua,
                &a,
                1,
                &mut cfg.encode_invalid_numbers,
                &["off", "on", "null"],
            )?;
            c.set(cfg);
            Ok(r.into())
        })?,
    )?;
    t.set(
        "new",
        function(lua, |lua, _| Ok(Value::Table(module(lua)?).into()))?,
    )?;
    t.set("null", null())?;
    t.set("_NAME", "cjson")?;
    t.set("_VERSION", "2.1.0")?;
    Ok(t)
}

/// `cjson.null`: a light userdata holding NULL.
pub(super) fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

/// Registry name of [`raw_next`]'s function.
const NEXT_KEY: &str = "shoal.cjson.next";

/// `lua_next` as a function, to resume walking a table after descending
/// into one of its values (mlua's iterator cannot be resumed from a key).
fn raw_next(lua: &Lua) -> mlua::Result<Function> {
    unsafe extern "C-unwind" fn next(state: *mut mlua::ffi::lua_State) -> std::os::raw::c_int {
        // SAFETY: called by Lua with (table, key) as the encoder passes
        // them. lua_next may raise an error (a key not in the table), which
        // longjmps out of this frame: it owns nothing with a destructor.
        unsafe {
            mlua::ffi::lua_settop(state, 2);
            if mlua::ffi::lua_next(state, 1) == 0 {
                mlua::ffi::lua_pushnil(state);
                return 1;
            }
            2
        }
    }
    // SAFETY: `next` is a valid Lua C function (above).
    unsafe { lua.create_c_function(next) }
}

// ---------------------------------------------------------- configuration

/// `json_arg_init`: at most `n` arguments.
fn arg_init(args: &Args, n: usize) -> LibResult<()> {
    if args.len() > n {
        return arg_error(narg(n + 1), "found too many arguments");
    }
    Ok(())
}

/// `json_integer_option`: set from argument `i` unless nil; the current
/// value. The range error names argument 1 whatever `i` is, as in C.
fn integer_option(
    lua: &Lua,
    args: &Args,
    i: usize,
    setting: &mut i32,
    min: i32,
    max: i32,
) -> LibResult<Value> {
    if !args.is_none_or_nil(i) {
        // lua_Integer into a C int: the low 32 bits.
        let value = check_integer(lua, args, i)? as i32;
        if value < min || value > max {
            return arg_error(1, format!("expected integer between {min} and {max}"));
        }
        *setting = value;
    }
    Ok(Value::Integer(i64::from(*setting)))
}

/// `json_enum_option` with `bool_true == 1`: a boolean or one of `options`;
/// the current value as a boolean when it is 0 or 1, else its name.
fn enum_option(
    lua: &Lua,
    args: &Args,
    i: usize,
    setting: &mut usize,
    options: &[&str],
) -> LibResult<Value> {
    match args.get(i) {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => *setting = usize::from(b),
        Some(_) => {
            // luaL_checkoption
            let name = check_string(lua, args, i)?;
            let name = name.as_bytes();
            match options.iter().position(|o| o.as_bytes() == &name[..]) {
                Some(p) => *setting = p,
                None => {
                    let shown = name.split(|&b| b == 0).next().unwrap_or_default();
                    let mut msg = b"invalid option '".to_vec();
                    msg.extend_from_slice(shown);
                    msg.push(b'\'');
                    return arg_error(narg(i), msg);
                }
            }
        }
    }
    Ok(match *setting {
        0 => Value::Boolean(false),
        1 => Value::Boolean(true),
        n => Value::String(lua.create_string(options.get(n).copied().unwrap_or_default())?),
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{err, lua, ok};

    // Expected values were taken from redis-server 7.0.15.

    #[test]
    fn configuration() {
        let l = lua();
        let t = |code: &str| {
            ok(&l, &format!("local c = cjson.new() local r = {{{code}}} for i = 1, 3 do r[i] = tostring(r[i]) end return table.concat(r, ',')"))
        };
        assert_eq!(t("c.encode_max_depth()"), "1000,nil,nil");
        assert_eq!(t("c.encode_sparse_array()"), "false,2,10");
        assert_eq!(t("c.encode_sparse_array(true, 3, 5)"), "true,3,5");
        assert_eq!(t("c.encode_sparse_array('on')"), "true,2,10");
        assert_eq!(t("c.encode_max_depth('3')"), "3,nil,nil");
        assert_eq!(t("c.encode_max_depth(2.7)"), "2,nil,nil");
        assert_eq!(t("c.encode_max_depth(2^32+5)"), "5,nil,nil");
        assert_eq!(
            t("c.encode_invalid_numbers('null'), c.encode(1/0), c.encode(0/0)"),
            "null,null,null"
        );
        assert_eq!(
            t("c.encode_invalid_numbers(true), c.encode(-1/0), c.encode(0/0)"),
            "true,-inf,nan"
        );
        assert_eq!(
            t("c.encode_keep_buffer(), c.encode_keep_buffer('off')"),
            "true,false,nil"
        );
        assert_eq!(
            t("c.encode_number_precision(3), c.encode(math.pi)"),
            "3,3.14,nil"
        );
        assert_eq!(
            t("c.decode_invalid_numbers(false), pcall(c.decode, '0x10')"),
            "false,false,Expected value but found invalid number at character 1"
        );
        assert_eq!(
            t("c.decode_invalid_numbers(false), pcall(c.decode, 'nan')"),
            "false,false,Expected value but found invalid token at character 1"
        );
        assert_eq!(
            t("c.decode_invalid_numbers(false), c.decode('-0')"),
            "false,-0,nil"
        );
        assert_eq!(
            t("c.encode_sparse_array(true), c.encode({[20]=1})"),
            "true,{\"20\":1},nil"
        );
        assert_eq!(
            t("c.encode_max_depth(2), pcall(c.encode, {{{1}}})"),
            "2,false,Cannot serialise, excessive nesting (3)"
        );
        assert_eq!(
            t("c.decode_max_depth(2), pcall(c.decode, '[[[1]]]')"),
            "2,false,Found too many nested data structures (3) at character 3"
        );
        // Each table has its own settings.
        assert_eq!(
            t("c.encode_max_depth(5), cjson.encode_max_depth()"),
            "5,1000,nil"
        );
        let errors = [
            ("c.encode_sparse_array(true, -1)", "bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)"),
            ("c.encode_sparse_array('x')", "bad argument #1 to 'encode_sparse_array' (invalid option 'x')"),
            ("c.encode_sparse_array(1,2,3,4)", "bad argument #4 to 'encode_sparse_array' (found too many arguments)"),
            ("c.encode_number_precision(15)", "bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)"),
            ("c.encode_keep_buffer(1)", "bad argument #1 to 'encode_keep_buffer' (invalid option '1')"),
            ("c.encode_max_depth(0)", "bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)"),
            ("c.encode_max_depth({})", "bad argument #1 to 'encode_max_depth' (number expected, got table)"),
        ];
        for (code, want) in errors {
            assert_eq!(
                err(&l, &format!("local c = cjson.new() return {code}")),
                format!("user_script:1: {want}"),
                "{code}"
            );
        }
    }
}
