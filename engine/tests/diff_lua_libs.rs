//! The Lua libraries scripts see (`bit`, `cjson`, `cmsgpack`, `struct`):
//! the same `EVAL "<lua>" 0` on shoal-server and redis-server must give
//! identical raw replies — results, numbers, byte strings, and error replies
//! with their exact texts.
//!
//! [`SCRIPTS`] holds one Lua chunk per line, each run after the [`PRELUDE`]
//! (on the same line, so error positions stay `user_script:1:`). Chunks
//! that change cjson settings do so on a `cjson.new()` table: settings of
//! the global one would leak into later scripts.
//!
//! Set `SHOAL_DIFF_LUA_LIBS_SELF=1` to run the corpus against a second
//! redis-server instead of shoal-server (a check of the corpus itself).

#![allow(clippy::unwrap_used)]

mod common;

use common::Diff;
use resp::Frame;
use testkit::ServerBuilder;

/// Helpers every chunk may use: `hex(s)`, `all(...)` (count then
/// `tostring` of every value, so nils and fractions survive the reply
/// conversion) and `try(f, ...)` (`all(pcall(f, ...))`).
const PRELUDE: &str = "local function hex(s) return (string.gsub(s, '.', function(c) \
    return string.format('%02x', string.byte(c)) end)) end \
    local function all(...) local t = {tostring(select('#', ...))} \
    for i = 1, select('#', ...) do t[#t + 1] = tostring((select(i, ...))) end return t end \
    local function try(f, ...) return all(pcall(f, ...)) end ";

/// One Lua chunk per line; `#` lines are comments.
const SCRIPTS: &str = r#"
# ---- bit
return all(bit.tobit(0xffffffff), bit.tobit(2^32 + 1), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5))
return all(bit.tobit('12'), bit.tobit(' 0x10 '), bit.tobit(2^53), bit.tobit(1/0), bit.tobit(0/0), bit.tobit(-2^31), bit.tobit(2^31))
return all(bit.tobit(1e300), bit.tobit(-1e-300), bit.tobit(4294967295.5), bit.tobit(-0.5), bit.tobit(0.5))
return all(bit.bnot(0), bit.bnot(-1), bit.bnot(0x7fffffff), bit.bnot(1.5))
return all(bit.band(0xff, 0x0f, 0x3), bit.bor(1, 2, 4, 8), bit.bxor(0xf0, 0xff), bit.band(7), bit.bor(-1), bit.bxor(1, 1, 1))
return all(bit.lshift(1, 31), bit.lshift(1, 32), bit.lshift(1, 33), bit.lshift(1, -1), bit.rshift(-1, 28), bit.rshift(-1, 0))
return all(bit.arshift(-256, 4), bit.arshift(256, 4), bit.arshift(-1, 31), bit.arshift(0x80000000, 1))
return all(bit.rol(0x12345678, 12), bit.ror(0x12345678, 12), bit.rol(1, 32), bit.ror(1, 1), bit.rol(-1, 7))
return all(bit.bswap(0x12345678), bit.bswap(-1), bit.bswap(0xff))
return all(bit.tohex(1), bit.tohex(-1), bit.tohex(-1, -8), bit.tohex(0x1234abcd, 4), bit.tohex(0x1234abcd, -3), bit.tohex(255, 20), bit.tohex(255, 0), bit.tohex(255, -20))
return all(bit.tohex(2^32 + 255), bit.tohex('255'), bit.tohex(1, '2'))
return bit.band('x')
return bit.bor(1, 2, {}, nil)
return bit.tobit()
return bit.tohex(1, nil)
return bit.lshift(1)
return bit.rol(true, 1)
return bit.bxor(1, '2', 'three')
return try(bit.lshift, 1)
return try(bit.tobit, {})
local f = bit.rol local ok, e = pcall(function() return f(true, 1) end) return e
local t = {f = bit.band} return t.f('x')
# ---- struct: pack
return hex(struct.pack('>h', -2))
return hex(struct.pack('<i', 258) .. struct.pack('>i', 258) .. struct.pack('i', 258))
return hex(struct.pack('>I3', 1) .. struct.pack('<I3', 1) .. struct.pack('I1', 255))
return hex(struct.pack('b', 1e20) .. struct.pack('B', -1) .. struct.pack('b', 128) .. struct.pack('b', -129))
return hex(struct.pack('>L', 2^64) .. struct.pack('>l', -2^63) .. struct.pack('>L', 0/0) .. struct.pack('>L', 1e19))
return hex(struct.pack('>l', -1) .. struct.pack('<L', 2^63) .. struct.pack('>T', 12345))
return hex(struct.pack('<i', '0x10') .. struct.pack('<i', ' 12 ') .. struct.pack('<i', 1.9) .. struct.pack('<i', -1.9))
return hex(struct.pack('>f', 1.5) .. struct.pack('<f', -0.1) .. struct.pack('f', 1/0) .. struct.pack('>f', 1e40))
return hex(struct.pack('d', 1.5) .. struct.pack('>d', -2.5) .. struct.pack('>d', 0.1))
return hex(struct.pack('>i16', -1) .. struct.pack('<i16', -1) .. struct.pack('>I9', 2^64 - 1))
return hex(struct.pack('i0', 1) .. struct.pack('x') .. struct.pack('xx') .. struct.pack(' '))
return hex(struct.pack('s', 'ab') .. struct.pack('c0', 12) .. struct.pack('c3', 'abcd') .. struct.pack('c0', ''))
return hex(struct.pack('!4bi', 1, 2) .. struct.pack('bxh', 1, 2) .. struct.pack('!bxh', 1, 2))
return hex(struct.pack('!bd', 1, 0) .. struct.pack('!2bd', 1, 0) .. struct.pack('!4bhd', 1, 2, 3))
return hex(struct.pack('!bi3i', 1, 2, 3) .. struct.pack('!4bi3', 1, 2) .. struct.pack('!8bi12', 1, 2))
return hex(struct.pack('<!4 b i > h', 1, 2, 3))
return hex(struct.pack('bc0s', 5, 'hello', 'world'))
return struct.pack('z')
return struct.pack('c5', 'ab')
return struct.pack('c99999999999', 'a')
return struct.pack('i33', 1)
return struct.pack('!3i', 1)
return struct.pack('!0')
return struct.pack('i', 'ab')
return struct.pack('s')
return struct.pack('ii', 1)
return struct.pack('d', {})
return struct.pack()
return struct.pack(12)
return struct.pack('\255')
return try(struct.pack, 'q')
# ---- struct: unpack and size
return all(struct.unpack('>i3', 'abc'))
return all(struct.unpack('<i16', string.rep('\255', 16)))
return all(struct.unpack('<i12', string.rep('\255', 12)))
return all(struct.unpack('<I12', string.rep('\255', 12)))
return all(struct.unpack('>I12', string.rep('\1', 12)))
return all(struct.unpack('<h', '\255\127', 1))
return all(struct.unpack('!4bi', 'a\0\0\0\1\0\0\0'))
return all(struct.unpack('!2bi3', '\1\0\2\0\0\0\0'))
return all(struct.unpack('bc0', '\2abc'))
return all(struct.unpack('c1c0', '3abcdef'))
return all(struct.unpack('ss', 'ab\0cd\0'))
return all(struct.unpack('i0', ''))
return all(struct.unpack('b', 'abc', '2'))
return all(struct.unpack('b', 'x', 1.9))
return all(struct.unpack('x', 'a'))
return all(struct.unpack('', 'a'))
return all(struct.unpack('b b', 'ab'))
return all(struct.unpack('>f', struct.pack('>f', 0.1)))
return all(struct.unpack('>d', struct.pack('>d', -2.5)))
return all(struct.unpack('<d', struct.pack('<d', 1/0)))
return all(struct.unpack('>bBhHlLT', string.rep('\255', 1 + 1 + 2 + 2 + 8 + 8 + 8)))
return all(struct.unpack('>l', '\127\255\255\255\255\255\255\255'))
return all(struct.unpack('c', 'ab'))
return all(struct.unpack('s', 'ab\0cd'))
return all(struct.unpack('c2c0', '10abcdefghij'))
return all(struct.unpack('bc0b', '\3abc\4'))
return all(struct.unpack('!4bxi', 'a\0\0\0\1\0\0\0', 1))
return all(struct.unpack('b', 'abc', 3))
return all(struct.unpack(12, 'ab'))
return struct.unpack('c0', 'abc', 1)
return struct.unpack('c0', '12')
return struct.unpack('c1c0', 'xabcdef')
return struct.unpack('i1c0', '\250abc', 1)
return struct.unpack('i', 'abc')
return struct.unpack('s', 'abc')
return struct.unpack('b', 'abc', 10)
return struct.unpack('b', 'abc', 4)
return struct.unpack('b', 'abc', 0)
return struct.unpack('b', 'abc', -1)
return struct.unpack('b', 'abc', 2^53)
return struct.unpack('b', 'x', 'y')
return struct.unpack('b')
return struct.unpack('b', {})
return struct.unpack('i33', 'x')
return struct.unpack('!5', 'x')
return struct.unpack('y', 'x')
return try(struct.unpack, 'c0', 'x')
return all(struct.size('!8bd'), struct.size('z'), struct.size('<>! x'), struct.size('!4bi3'), struct.size('bi3'))
return all(struct.size('!bi3i'), struct.size('!2b!8d'), struct.size('!16d'), struct.size('c'), struct.size('c20'), struct.size(''))
return all(struct.size('bhilfdTBHILx'), struct.size('!bhilfdTBHILx'), struct.size('i7'), struct.size(12))
return struct.size('s')
return struct.size('c0')
return struct.size('#')
return struct.size('!3')
return struct.size('i40')
return struct.size()
return all(struct.unpack('>hH', struct.pack('>hH', -300, 65000)))
return all(struct.unpack('<iIbBc3s', struct.pack('<iIbBc3s', -5, 5, -1, 1, 'xyz', 'end')))
# ---- cmsgpack: pack
return hex(cmsgpack.pack(1, -1, -33, 128, 256, 65536, 2^32, 2^53, -2^63, 2^63, 1.5, 0.1, 1/0, 0/0))
return hex(cmsgpack.pack(0, 127, 255, 65535, 4294967295, -32, -128, -129, -32768, -32769, -2147483648, -2147483649))
return hex(cmsgpack.pack(-0.0, 0.5, -1.5, 3.4e38, 3.5e38, 1e-45, 1e300, 2^63 + 2^11, -1/0))
return hex(cmsgpack.pack({1,2,3}, {a=1}, {}, {[1]=1,[3]=3}, {[1.5]=1}, true, false, nil, 'abc', string.rep('x', 40)))
local t = {} t[1] = t return hex(cmsgpack.pack(t))
local t = {} t.a = t return hex(cmsgpack.pack(t))
return hex(cmsgpack.pack(cjson.null, type, coroutine.create(function() end)))
return hex(cmsgpack.pack({[2^31]=1}) .. cmsgpack.pack({[-1]=1}) .. cmsgpack.pack({[0]=1}) .. cmsgpack.pack({[2^32+1]=1, [1]=1}))
return hex(cmsgpack.pack({1, nil, 3}) .. cmsgpack.pack({nil, nil, 3}) .. cmsgpack.pack({[1]=1, [2]=2, n=2}))
return hex(cmsgpack.pack(setmetatable({}, {__index = function(t, k) return 7 end})))
return hex(cmsgpack.pack({{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}}))
return hex(cmsgpack.pack({[{1}] = {2}}))
return hex(cmsgpack.pack(string.rep('x', 31)):sub(1, 4) .. cmsgpack.pack(string.rep('x', 32)):sub(1, 6))
return hex(cmsgpack.pack(string.rep('x', 255)):sub(1, 6) .. cmsgpack.pack(string.rep('x', 256)):sub(1, 8))
return hex(cmsgpack.pack(string.rep('x', 65535)):sub(1, 8) .. cmsgpack.pack(string.rep('x', 65536)):sub(1, 12))
local t = {} for i = 1, 15 do t[i] = i end local u = {} for i = 1, 16 do u[i] = i end return hex(cmsgpack.pack(t):sub(1, 2) .. cmsgpack.pack(u):sub(1, 4))
local t = {} for i = 1, 70000 do t[i] = 0 end return hex(cmsgpack.pack(t):sub(1, 6))
local t = {} for i = 1, 16 do t['k' .. i] = i end return hex(cmsgpack.pack(t))
local t = {} for i = 1, 70000 do t['k' .. i] = 1 end return hex(cmsgpack.pack(t):sub(1, 5))
return hex(cmsgpack.pack({a = 1, b = 2, c = 3, d = {x = 'y'}, [1] = 'one', [2.5] = true}))
return cmsgpack.pack()
local t = {} for i = 1, 4001 do t[i] = 1 end return #cmsgpack.pack(unpack(t))
local t = {} for i = 1, 4000 do t[i] = 1 end return #cmsgpack.pack(unpack(t))
local t = {} for i = 1, 3999 do t[i] = 1 end t[4000] = {1} return #cmsgpack.pack(unpack(t))
local t = {} for i = 1, 3998 do t[i] = 1 end t[3999] = {a = 1} return #cmsgpack.pack(unpack(t))
return try(cmsgpack.pack)
# ---- cmsgpack: unpack
return all(cmsgpack.unpack(cmsgpack.pack(1, 2, 3)))
return all(cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3)))
return all(cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1))
return all(cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2))
return all(cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 3))
return all(cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2))
return all(cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 5))
return all(cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 1))
return all(cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 1, 2))
return all(cmsgpack.unpack_one('\1\2', '1'))
return all(cmsgpack.unpack_one('\1\2', 0.5))
return all(cmsgpack.unpack_limit('\1\2', 1.9))
return all(cmsgpack.unpack('\207\255\255\255\255\255\255\255\255'))
return all(cmsgpack.unpack('\207\128\0\0\0\0\0\0\0'))
return all(cmsgpack.unpack('\211\128\0\0\0\0\0\0\1'))
return all(cmsgpack.unpack('\209\255\1', '\210\255\255\255\1', '\208\128', '\224'))
return all(cmsgpack.unpack('\209\255\1\210\255\255\255\1\208\128\224\204\200\205\1\0\206\0\1\0\0'))
return all(cmsgpack.unpack('\202\63\192\0\0\203\63\185\153\153\153\153\153\154\202\127\128\0\0'))
return all(cmsgpack.unpack('\192\194\195\160\161a'))
return all(cmsgpack.unpack('\217\3abc\218\0\2ab\219\0\0\0\1a'))
return all(cmsgpack.unpack(''))
return all(cmsgpack.unpack(12))
return cjson.encode({cmsgpack.unpack(cmsgpack.pack({1, 2, {a = 'b', c = {true, false}}}, 'x'))})
local t = cmsgpack.unpack('\147\1\192\3') return all(#t, t[1], t[2], t[3])
local t = cmsgpack.unpack('\220\0\3\1\2\3') return all(#t, t[3])
local t = cmsgpack.unpack('\221\0\0\0\2\1\2') return all(#t, t[2])
local t = cmsgpack.unpack('\222\0\1\161k\161v') return t.k
local t = cmsgpack.unpack('\223\0\0\0\1\1\161v') return t[1]
local t = cmsgpack.unpack('\130\161a\1\161a\2') return t.a
local t = cmsgpack.unpack(cmsgpack.pack({[{1}] = 2})) local k = next(t) return all(type(k), k[1], t[k])
local v = cmsgpack.unpack(cmsgpack.pack(string.rep('\0\255', 40000))) return all(#v, v == string.rep('\0\255', 40000))
return cmsgpack.unpack('\193')
return cmsgpack.unpack('\196\1a')
return cmsgpack.unpack('\199\1\1a')
return cmsgpack.unpack('\212\1a')
return cmsgpack.unpack('\146\1')
return cmsgpack.unpack('\1\2\146')
return cmsgpack.unpack('\217\5abc')
return cmsgpack.unpack('\219\255\255\255\255abc')
return cmsgpack.unpack('\205\1')
return cmsgpack.unpack('\129\192\1')
return cmsgpack.unpack('\129\192')
return cmsgpack.unpack('\129\203\127\248\0\0\0\0\0\0\1')
return try(cmsgpack.unpack, '\129\192\1')
return cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 4)
return cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), -1)
return cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), -1)
return cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), -1, -5)
return cmsgpack.unpack()
return cmsgpack.unpack({})
return cmsgpack.unpack_limit('a')
return cmsgpack.unpack_one('\1\2', 'x')
return cmsgpack.unpack_one(nil, 'x')
return cmsgpack.unpack(string.rep('\145', 5000) .. '\1')
return cmsgpack.unpack(string.rep('\129\1', 5000) .. '\1')
return select('#', cmsgpack.unpack(string.rep('\1', 7999)))
return select('#', cmsgpack.unpack(string.rep('\1', 8000)))
return select('#', cmsgpack.unpack_limit(string.rep('\1', 9000), 7000))
# ---- cjson: encode
return cjson.encode({1, 2, 3, {a = 1}})
return cjson.encode({1, 2, 3, nil, 5})
return cjson.encode({[1] = 1, [2] = 2, [4] = 4})
return cjson.encode({[10] = 1})
return cjson.encode({[1] = 1, [20] = 2})
return cjson.encode({[11] = 1})
return cjson.encode({[1e10] = 1})
return cjson.encode({[1e10] = 1, [5] = 2})
return cjson.encode({[2^31] = 1})
return cjson.encode({[2^53] = 1})
return cjson.encode({[-1] = 1})
return cjson.encode({[0] = 1})
return cjson.encode({[1.5] = 1})
return cjson.encode({[true] = 1})
return cjson.encode({[{}] = 1})
return cjson.encode({})
return cjson.encode({{}, {{}}, {a = {}}})
return cjson.encode({a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8, i = 9})
return cjson.encode({a = {b = {c = {d = 'e'}}}, x = {1, 2, {y = 'z'}}, [3] = 'three'})
return cjson.encode({1, 'two', true, false, cjson.null, 0.5, -3, {}})
return all(cjson.encode(0.1), cjson.encode(1/3), cjson.encode(1e21), cjson.encode(123456789012345), cjson.encode(12345678901234567))
return all(cjson.encode(0.00001), cjson.encode(0.0001), cjson.encode(-0.0), cjson.encode(2^63), cjson.encode(0.125))
return all(cjson.encode(5e-324), cjson.encode(1.7976931348623157e308), cjson.encode(100000000000000.5), cjson.encode(123456.7890123456))
return all(cjson.encode(1e15), cjson.encode(1e14), cjson.encode(1e16), cjson.encode(-1e-5), cjson.encode(99999999999999.5))
return cjson.encode(1/0)
return cjson.encode(-1/0)
return cjson.encode(0/0)
return cjson.encode({1/0})
return cjson.encode({[1/0] = 1})
return cjson.encode('\0\1\31\127\128\255"\\/\8\9\10\12\13')
return cjson.encode('é ünïcödé ☃ 😀')
return all(cjson.encode(nil), cjson.encode(cjson.null), cjson.encode({cjson.null}), cjson.encode(true), cjson.encode(false))
return cjson.encode()
return cjson.encode(1, 2)
return cjson.encode(type)
return cjson.encode({f = type})
return cjson.encode({1, 2, type})
return cjson.encode(coroutine.create(function() end))
local t = {} t[1] = t return cjson.encode(t)
local t = {} t.a = t return cjson.encode(t)
local t = {} local c = t for i = 1, 999 do c[1] = {} c = c[1] end return #cjson.encode(t)
local t = {} local c = t for i = 1, 1000 do c[1] = {} c = c[1] end return cjson.encode(t)
return try(cjson.encode, {f = type})
return try(cjson.encode)
return cjson.encode(setmetatable({}, {__index = function() return 1 end}))
return cjson.encode(setmetatable({1, 2}, {__len = function() return 5 end}))
local t = {} for i = 1, 1000 do t['key' .. i] = {i, tostring(i)} end return #cjson.encode(t)
local t = {} for i = 1, 300 do t[i] = {n = i, s = {i}} end local s = cjson.encode(t) return s:sub(1, 200) .. s:sub(-200)
# ---- cjson: decode
return cjson.encode(cjson.decode('{"a":[1,2,{"b":null}],"c":"d","e":1.5e3}'))
return all(cjson.decode('0x10'), cjson.decode('+1'), cjson.decode('Infinity'), cjson.decode('nan'), cjson.decode('-inf'))
return all(cjson.decode('01'), cjson.decode('1e400'), cjson.decode('-0'), cjson.decode('1E2'), cjson.decode('0x1p3'), cjson.decode('0x1.8p1'))
return all(cjson.decode('infinity'), cjson.decode('nan(123)'), cjson.decode('-nan'), cjson.decode('NaN'), cjson.decode('Inf'), cjson.decode('-.5'))
return all(cjson.decode('"\u00e9"'), cjson.decode('"\ud83d\ude00"'), cjson.decode('"\u0000x"'), cjson.decode('"a/b\/c"'), cjson.decode('"\b\f\n\r\t\"\\"'))
return all(cjson.decode('"\u20AC"'), cjson.decode('"\uFFFF"'), cjson.decode('"\u007f"'), cjson.decode('"\u0080"'))
return all(cjson.decode(' [1, 2 ] ')[2], cjson.decode('\t\r\n true \n'), cjson.decode('false'), cjson.decode('null') == cjson.null)
return all(cjson.decode(12), cjson.decode('"x"'), cjson.decode('[1]\0a')[1], #cjson.decode('[]'), next(cjson.decode('{}')))
return cjson.encode(cjson.decode('[1,2,null,4]'))
return cjson.encode(cjson.decode('{"a":1,"a":2}'))
return cjson.encode(cjson.decode('[[[[1]]],[[]],{}]'))
return cjson.encode(cjson.decode('{"1":1,"2":2}'))
return try(cjson.decode, '"abc')
return try(cjson.decode, '[1]x')
return try(cjson.decode, '[1,]')
return try(cjson.decode, '{1:2}')
return try(cjson.decode, '')
return try(cjson.decode, '  ')
return try(cjson.decode, 'tru')
return try(cjson.decode, 'nul')
return try(cjson.decode, '-')
return try(cjson.decode, '1.5e')
return try(cjson.decode, '.5')
return try(cjson.decode, '0x')
return try(cjson.decode, '"\ud800"')
return try(cjson.decode, '"\udc00"')
return try(cjson.decode, '"\ud800\u0041"')
return try(cjson.decode, '"\u12"')
return try(cjson.decode, '"\u12g4"')
return try(cjson.decode, '"\x"')
return try(cjson.decode, '"a\0b"')
return try(cjson.decode, '1 2')
return try(cjson.decode, '{"a" 1}')
return try(cjson.decode, '{"a":1 "b"}')
return try(cjson.decode, '[1 2]')
return try(cjson.decode, '{"a":1,}')
return try(cjson.decode, '[')
return try(cjson.decode, '{')
return try(cjson.decode, ']')
return try(cjson.decode, 'infinit')
return try(cjson.decode, 'nanx')
return try(cjson.decode, '@')
return try(cjson.decode, '\255')
return cjson.decode('{"a":}')
return cjson.decode(string.rep('[', 1001))
return cjson.decode(string.rep('[', 1000))
return cjson.decode(string.rep('{"a":', 1001))
return cjson.decode('[1]', 2)
return cjson.decode()
return cjson.decode({})
return cjson.decode(nil)
return cjson.decode('\0a')
return cjson.decode('a\0')
return #cjson.encode(cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000)))
# ---- cjson: configuration (on fresh tables: settings persist in the state)
return all(cjson._NAME, cjson._VERSION, type(cjson.null), cjson.null == nil, tostring(cjson.null))
local c = cjson.new() return all(c.encode_max_depth(), c.decode_max_depth(), c.encode_number_precision(), c.encode_keep_buffer())
local c = cjson.new() return all(c.encode_sparse_array())
local c = cjson.new() return all(c.encode_sparse_array(true, 3, 5))
local c = cjson.new() return all(c.encode_sparse_array('on'), c.encode_sparse_array('off'), c.encode_sparse_array(nil, nil, 20))
local c = cjson.new() return all(c.encode_invalid_numbers(), c.decode_invalid_numbers())
local c = cjson.new() return all(c.encode_invalid_numbers('null'), c.encode(1/0), c.encode(0/0), c.encode({[1/0] = 1}))
local c = cjson.new() return all(c.encode_invalid_numbers(true), c.encode(1/0), c.encode(-1/0), c.encode(0/0), c.encode(-(0/0)))
local c = cjson.new() return all(c.encode_invalid_numbers('on'), c.encode_invalid_numbers('off'), c.encode_invalid_numbers(false))
local c = cjson.new() return all(c.decode_invalid_numbers(false), pcall(c.decode, '0x10'))
local c = cjson.new() return all(c.decode_invalid_numbers(false), pcall(c.decode, 'nan'))
local c = cjson.new() return all(c.decode_invalid_numbers(false), pcall(c.decode, '-Inf'))
local c = cjson.new() return all(c.decode_invalid_numbers(false), pcall(c.decode, '+1'))
local c = cjson.new() return all(c.decode_invalid_numbers(false), pcall(c.decode, '01'))
local c = cjson.new() return all(c.decode_invalid_numbers(false), pcall(c.decode, '-0'), pcall(c.decode, '-.5'), pcall(c.decode, '0.5'))
local c = cjson.new() return all(c.decode_invalid_numbers('off'), c.decode_invalid_numbers('on'))
local c = cjson.new() return all(c.encode_keep_buffer(), c.encode_keep_buffer('off'), c.encode({1}), c.encode_keep_buffer(true))
local c = cjson.new() return all(c.encode_max_depth('3'), c.encode_max_depth(2.7), c.encode_max_depth(2^32 + 5))
local c = cjson.new() return all(c.encode_number_precision(3), c.encode(math.pi), c.encode_number_precision(1), c.encode(0.15), c.encode(25))
local c = cjson.new() c.encode_number_precision(2) return all(c.encode(0.125), c.encode(0.375), c.encode(2.5), c.encode(0.5), c.encode(1234))
local c = cjson.new() c.encode_max_depth(2) return c.encode({{{1}}})
local c = cjson.new() c.encode_max_depth(2) return c.encode({{1}})
local c = cjson.new() c.decode_max_depth(2) return c.decode('[[[1]]]')
local c = cjson.new() c.decode_max_depth(2) return #c.decode('[[1]]')
local c = cjson.new() c.encode_sparse_array(true) return c.encode({[20] = 1})
local c = cjson.new() c.encode_sparse_array(false, 0) return c.encode({[20] = 1})
local c = cjson.new() c.encode_sparse_array(false, 1) return c.encode({[1] = 1, [3] = 3})
local c = cjson.new() c.encode_sparse_array(false, 3, 1) return c.encode({[1] = 1, [3] = 3})
local c = cjson.new() c.encode_sparse_array(false, 1, 0) return c.encode({[1] = 1, [3] = 3})
local c = cjson.new() c.encode_max_depth(5) return all(c.encode_max_depth(), cjson.encode_max_depth(), c.new().encode_max_depth())
local c = cjson.new() return c.encode_sparse_array(true, -1)
local c = cjson.new() return c.encode_sparse_array(true, 1, -1)
local c = cjson.new() return c.encode_sparse_array('x')
local c = cjson.new() return c.encode_sparse_array(1, 2, 3, 4)
local c = cjson.new() return c.encode_sparse_array(true, 'x')
local c = cjson.new() return c.encode_number_precision(15)
local c = cjson.new() return c.encode_number_precision(0)
local c = cjson.new() return c.encode_keep_buffer(1)
local c = cjson.new() return c.encode_keep_buffer({})
local c = cjson.new() return c.encode_max_depth(0)
local c = cjson.new() return c.encode_max_depth({})
local c = cjson.new() return c.encode_max_depth(1, 2)
local c = cjson.new() return c.decode_max_depth(-1)
local c = cjson.new() return c.encode_invalid_numbers('maybe')
local c = cjson.new() return c.decode_invalid_numbers('null')
local c = cjson.new() return try(c.encode_max_depth, 0)
local c = cjson.new() c.encode_max_depth(100000) local t = {} t[1] = t local ok, e = pcall(c.encode, t) return e
local c = cjson.new() c.encode_max_depth(100000) local t = {} t.a = t local ok, e = pcall(c.encode, t) return e
local c = cjson.new() c.encode_max_depth(100000) local t = {} t.a = t return c.encode(t)
local c = cjson.new() c.decode_max_depth(100000) local ok, e = pcall(c.decode, string.rep('[', 10000)) return e
local c = cjson.new() c.decode_max_depth(100000) local ok, e = pcall(c.decode, string.rep('{"a":', 10000)) return e
local c = cjson.new() c.decode_max_depth(100000) return c.decode(string.rep('[', 10000))
local c = cjson.new() c.decode_max_depth(100000) c.encode_max_depth(100000) local v = c.decode(string.rep('[', 5000) .. string.rep(']', 5000)) return #c.encode(v)
# ---- odds and ends
return cjson:decode()
return bit:tobit()
return struct:pack()
return cmsgpack:unpack()
return cjson:encode()
return all(bit.tobit('1e3'), bit.tobit(' 0x1p4 '), bit.tobit('12\0'), bit.tohex('0x7fffffff', '-4'))
return cjson.encode({[1] = 'a', [2] = 'b', x = 'c'})
return cjson.encode({'a', 'b', [4] = 'd', [5] = 'e', [6] = 'f'})
return cjson.encode({[1] = 1, [2] = 2, [3] = 3, [4] = 4, [5] = 5, [6] = 6, [7] = 7, [8] = 8, [9] = 9, [10] = 10, [22] = 22})
return cjson.encode({[1] = 1, [2] = 2, [3] = 3, [4] = 4, [5] = 5, [6] = 6, [7] = 7, [8] = 8, [9] = 9, [10] = 10, [21] = 21})
return cjson.encode({['1'] = 1, [1] = 2})
local t = {} for i = 1, 50 do t[tostring(i * 7919 % 1000)] = i end return cjson.encode(t)
local t = {} for i = 1, 40 do t[i * 1.5] = i end return cjson.encode(t)
local t = {} for i = 1, 20 do t[i] = i end for i = 1, 20, 3 do t[i] = nil end return cjson.encode(t)
local t = {} for i = 0, 255 do t[#t + 1] = string.char(i) end return cjson.encode(table.concat(t))
return all(cjson.decode('123456789012345678901234567890'), cjson.decode('1e-400'), cjson.decode('-1e-400'), cjson.decode('4.9e-324'), cjson.decode('0.1e1'))
return all(cjson.decode('0x1.fffffffffffffp1023'), cjson.decode('0x1p-1074'), cjson.decode('0x1p-1075'), cjson.decode('0x1.8p-1074'), cjson.decode('0xABCDEFp-8'))
return all(cjson.decode('1.7976931348623159e308'), cjson.decode('2.2250738585072011e-308'), cjson.decode('9007199254740993'))
local t = {} for i = 1, 30 do t['k' .. i] = i end t.k5 = nil t.k6 = nil return hex(cmsgpack.pack(t))
local t = {1, 2, 3, x = 1, y = 2, [10] = 10} return hex(cmsgpack.pack(t))
local t = {} for i = 1, 20 do t[i] = i end for i = 2, 20, 2 do t[i] = nil end return hex(cmsgpack.pack(t))
return hex(cmsgpack.pack(1e15, 123456789012, -123456789012, 4294967296, 2^62, -2^62, 9007199254740993))
return hex(struct.pack('>bBhHlLTiIi1I1i2I2i8I8', -1, 255, -2, 65534, -3, 3, 4, -5, 5, -6, 6, -7, 7, -8, 8))
return all(struct.unpack('<bBhHlLTiIi1I1i2I2i8I8', struct.pack('<bBhHlLTiIi1I1i2I2i8I8', -1, 255, -2, 65534, -3, 3, 4, -5, 5, -6, 6, -7, 7, -8, 8)))
return all(struct.unpack('>i5I5i7I7', struct.pack('>i5I5i7I7', -1, 1099511627775, -2, 72057594037927935)))
return all(struct.unpack('>i3I3', '\255\255\255\255\255\255'))
# ---- many arguments, many library tables
local t = {} for i = 1, 7990 do t[i] = 'x' .. i end return #struct.pack(string.rep('s', 7990), unpack(t))
local t = {} for i = 1, 7990 do t[i] = 'x' .. i end return cjson.encode(unpack(t))
local t = {} for i = 1, 7990 do t[i] = tostring(i) end return bit.bor(unpack(t))
local t = {} for i = 1, 4000 do t[i] = 'x' .. i end return #cmsgpack.pack(unpack(t))
local t = {} for i = 1, 20 do t[i] = i end return all(struct.unpack(string.rep('b', 20), struct.pack(string.rep('b', 20), unpack(t))))
local t = {} for i = 1, 17 do t[i] = {i} end return hex(cmsgpack.pack(unpack(t)))
local keep = {} for i = 1, 9000 do keep[i] = cjson.new() end return keep[4500].encode({a = {b = {1, 2}}})
# ---- all four together
return cjson.encode(cmsgpack.unpack(cmsgpack.pack(cjson.decode('{"a":[1,2.5,"x",true,{"b":false}]}'))))
return hex(cmsgpack.pack(cjson.decode('[1,null,{"k":[]}]')))
return all(struct.unpack('>I4', struct.pack('>I4', bit.bnot(0) % 2^32)))
return bit.tohex(struct.unpack('<i', cmsgpack.unpack(cmsgpack.pack(struct.pack('<i', -2)))))
"#;

/// The corpus, one chunk per entry.
fn scripts() -> impl Iterator<Item = &'static str> {
    SCRIPTS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

/// Both servers: shoal-server and redis-server, or two redis-servers when
/// `SHOAL_DIFF_LUA_LIBS_SELF` is set.
struct Servers {
    shoal: testkit::Server,
    redis: testkit::Server,
}

fn start() -> Servers {
    let subject = if std::env::var_os("SHOAL_DIFF_LUA_LIBS_SELF").is_some() {
        ServerBuilder::redis()
    } else {
        common::shoal()
    };
    Servers {
        shoal: subject.start(),
        redis: ServerBuilder::redis().start(),
    }
}

fn run_corpus(resp3: bool) {
    let s = start();
    let mut d = Diff {
        shoal: s.shoal.client(),
        redis: s.redis.client(),
    };
    if resp3 {
        d.resp3();
    }
    let mut failures = Vec::new();
    for script in scripts() {
        let body = format!("{PRELUDE}{script}");
        let cmd = [b"EVAL".as_slice(), body.as_bytes(), b"0"];
        let a = d.shoal.call(cmd).unwrap();
        let b = d.redis.call(cmd).unwrap();
        if a != b {
            failures.push(format!("{script}\n  shoal: {a}\n  redis: {b}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} scripts differ:\n{}",
        failures.len(),
        scripts().count(),
        failures.join("\n")
    );
}

#[test]
fn lua_libraries_match_redis_resp2() {
    run_corpus(false);
}

#[test]
fn lua_libraries_match_redis_resp3() {
    run_corpus(true);
}

/// The libraries' state lives in the Lua state: cjson settings made by one
/// script are seen by the next, and `SCRIPT FLUSH` resets them (Redis
/// builds a new Lua state).
#[test]
fn cjson_settings_persist_until_script_flush() {
    let s = start();
    let mut d = Diff {
        shoal: s.shoal.client(),
        redis: s.redis.client(),
    };
    for cmd in [
        &["EVAL", "return cjson.encode_max_depth(3)", "0"][..],
        &["EVAL", "return cjson.encode({{{{1}}}})", "0"],
        &["EVAL", "return cjson.encode_max_depth()", "0"],
        &["SCRIPT", "FLUSH"],
        &["EVAL", "return cjson.encode_max_depth()", "0"],
        &["EVAL", "return cjson.encode({{{{1}}}})", "0"],
    ] {
        let a = d.shoal.call(cmd).unwrap();
        let b = d.redis.call(cmd).unwrap();
        assert_eq!(a, b, "{cmd:?}");
    }
    // Sanity: the reply to the last command is the encoded array.
    let last = d
        .redis
        .call(["EVAL", "return cjson.encode({{{{1}}}})", "0"])
        .unwrap();
    assert_eq!(last, Frame::Bulk("[[[[1]]]]".into()));
}
