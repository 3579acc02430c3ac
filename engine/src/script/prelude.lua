-- Shoal's Lua prelude: the parts of the scripting API written in Lua.
--
-- Loaded once per shard state with the Rust helpers as arguments. It
-- returns `run`, the body of every script invocation's thread.
--
-- Why coroutines: a `redis.call` whose command must wait (another shard,
-- a lock) suspends the script instead of blocking the shard's thread (see
-- script/call.rs). The script runs in its own coroutine under `run`; a
-- pending call yields up through `run` to the Rust resume loop, which
-- finishes the command and resumes the script with its reply. Lua 5.1
-- cannot yield across a C call, so `pcall` and `xpcall` are rebuilt on
-- coroutines too (a C `pcall` would turn every pending call inside it into
-- an error).

local rt = ...
local mark, keep, getinfo, DONE = rt.mark, rt.keep, rt.getinfo, rt.DONE
local rcall, rpcall = redis.call, redis.pcall
local create, resume, status, yield = coroutine.create, coroutine.resume, coroutine.status, coroutine.yield
local c_pcall, c_xpcall, error, type, rawget = pcall, xpcall, error, type, rawget

local function is_lua(f)
  if type(f) ~= 'function' then
    return false
  end
  local info = getinfo(f, 'S')
  return info ~= nil and info.what ~= 'C'
end

-- Redis 7 hands pcall's caller the message of an error table raised by
-- redis.call (`{err = "..."}`), not the table: older scripts expect a string.
local function caught(e)
  if type(e) == 'table' then
    local msg = rawget(e, 'err')
    if type(msg) == 'string' then
      return msg
    end
  end
  return e
end

-- Drive `co` to completion, passing its yields (pending calls, time-limit
-- pauses) up to whoever resumed us. `k(ok, ...)` receives the outcome.
local function drive(co, k, ok, ...)
  if not ok then
    return k(false, ...)
  end
  if status(co) == 'dead' then
    return k(true, ...)
  end
  return drive(co, k, resume(co, yield(...)))
end

local function pcall_done(ok, ...)
  if ok then
    return true, ...
  end
  return false, caught((...))
end

-- redis.call itself is C; wrapped in Lua, a pcall of it can yield.
local function yieldable(f)
  if f == rcall or f == rpcall then
    return function(...)
      return f(...)
    end
  end
  return f
end

pcall = function(f, ...)
  f = yieldable(f)
  if not is_lua(f) then
    return pcall_done(c_pcall(f, ...))
  end
  local co = create(f)
  mark(co)
  return drive(co, pcall_done, resume(co, ...))
end

xpcall = function(f, handler)
  f = yieldable(f)
  if not is_lua(f) then
    return c_xpcall(f, handler)
  end
  local co = create(f)
  mark(co)
  return drive(co, function(ok, ...)
    if ok then
      return true, ...
    end
    return false, handler((...))
  end, resume(co))
end

-- Where a failed script stopped: the innermost frame of user code.
local function location(co, source)
  local level = 0
  while true do
    local info = getinfo(co, level, 'Sl')
    if info == nil then
      return nil, nil
    end
    if info.source == source then
      return info.source, info.currentline
    end
    level = level + 1
  end
end

-- The worker runs invocations one after another in one coroutine (no
-- coroutine is created per script): each job's first result goes up
-- tagged with DONE, and the next job's function and arguments come back.
-- A job that fails kills the worker; the next job gets a new one.
local function work(f, ...)
  return work(yield(DONE, (f(...))))
end

-- Pass the worker's yields (pending calls, time-limit pauses) up until it
-- reports DONE or fails. Returns ok and the result, or false, the error
-- object and its location.
local function step(w, source, ok, first, ...)
  if not ok then
    local src, line = location(w, source)
    return false, first, src, line
  end
  if first == DONE then
    return true, (...)
  end
  return step(w, source, resume(w, yield(first, ...)))
end

-- The runner thread's body: one invocation per resume with
-- (f, source, ...); each ends with a yield of (DONE, ok, value[, source,
-- line]), after which the thread waits for the next invocation.
return function(...)
  local worker
  local function serve(f, source, ...)
    if worker == nil then
      worker = create(work)
      keep(worker)
    end
    local ok, v, src, line = step(worker, source, resume(worker, f, ...))
    if not ok then
      worker = nil
    end
    return serve(yield(DONE, ok, v, src, line))
  end
  return serve(...)
end
