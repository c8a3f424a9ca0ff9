-- Prepended to every script, after `PATIENCE` (from `_lanes.py`) and `HORIZON`, `HORIZON_MIN_US`
-- (from `_scripts.py`). KEYS[1] is the account's prefix; every key below extends it and
-- so shares its hash tag (one Redis Cluster slot). Times are microseconds on Redis's clock:
-- the hosts' clocks are never read.
local P = KEYS[1]

local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- Lua numbers are doubles: integers up to 2^53 are exact, but tostring() rounds them.
local function str(x)
  return string.format('%.0f', x)
end

-- The epoch names this lifetime of the account's state. A missing one means Redis lost it all
-- (an empty restart, a flush) or never had it: new slots are then frozen for `recovery` us, so
-- that every running process re-registers the calls it still has in flight before any other
-- call takes their place. The new epoch is published on the account's channel.
local function epoch(candidate, now, recovery)
  local current = redis.call('GET', P .. ':epoch')
  if current then
    return current
  end
  redis.call('SET', P .. ':epoch', candidate)
  redis.call('SET', P .. ':frozen', str(now + recovery))
  -- Heard at once by every process still subscribed (a flush keeps the connections).
  redis.call('PUBLISH', P .. ':epoch', candidate)
  return candidate
end

local function frozen_for(now)
  return math.max(0, tonumber(redis.call('GET', P .. ':frozen') or '0') - now)
end

-- The strictest value any live process configured for `field`; second result 1 when it is
-- not ours (the caller logs a warning once).
local function strictest(field, ours, larger_is_stricter)
  local key = P .. ':limits'
  local stored = tonumber(redis.call('HGET', key, field))
  local ours_wins = stored == nil
    or (larger_is_stricter and ours > stored)
    or (not larger_is_stricter and ours < stored)
  if ours_wins then
    redis.call('HSET', key, field, str(ours))
    if stored ~= nil and stored ~= ours then
      return ours, 1
    end
    return ours, 0
  end
  if stored ~= ours then
    return stored, 1
  end
  return stored, 0
end

-- GCRA with reservations: the call's theoretical time is max(tat, now - interval) (a caller
-- woken a little late keeps its place), it may go `tau` before that, and tat moves one
-- interval on. Returns the send time; the caller sleeps until then, so nobody polls for tokens.
local function reserve(now, interval, tau)
  local tat = tonumber(redis.call('GET', P .. ':tat') or '0')
  local theta = math.max(tat, now - interval)
  redis.call('SET', P .. ':tat', str(theta + interval))
  return math.max(now, theta - tau)
end

-- A lease is a slot taken until `go + lease`: the send time plus the longest the server may
-- run a call (plus a margin), so a crashed holder's slot comes back by itself, no heartbeat.
local function purge(platform, now)
  redis.call('ZREMRANGEBYSCORE', P .. ':slots:' .. platform, '-inf', str(now))
end

-- A platform's queue is one sorted set per priority lane (`lanes`: the non-empty ones, scored by
-- priority; `waiting`: the platforms with a lane). A waiter's id is "<process>|<priority>|<n>",
-- so every script finds its lane.
local function lane_of(waiter)
  return string.match(waiter, '^[^|]*|(-?%d+)|') or '0'
end

local function queue_key(platform, lane)
  return P .. ':queue:' .. platform .. ':' .. lane
end

-- A queued waiter's place in its lane: start-time fair queueing by process. Each process's next
-- waiter ranks one after its previous one or after the waiter served last, whichever is later,
-- so processes take turns (a process queueing 60 calls at once does not go 60 ahead of the rest).
local function fair_place(platform, lane, proc, presence)
  local key = P .. ':fair:' .. platform .. ':' .. lane
  local served = tonumber(redis.call('HGET', key, '') or '0')
  local place = math.max(served, tonumber(redis.call('HGET', key, proc) or '0')) + 1
  redis.call('HSET', key, proc, str(place))
  redis.call('PEXPIRE', key, presence * 3)
  return place
end

local function enqueue(platform, proc, waiter, presence)
  local lane = lane_of(waiter)
  local key = queue_key(platform, lane)
  if not redis.call('ZSCORE', key, waiter) then
    redis.call('ZADD', key, fair_place(platform, lane, proc, presence), waiter)
    redis.call('ZADD', P .. ':lanes:' .. platform, lane, lane)
    redis.call('SADD', P .. ':waiting', platform)
  end
end

local function is_queued(platform, waiter)
  return redis.call('ZSCORE', queue_key(platform, lane_of(waiter)), waiter)
end

-- Take ``waiter`` out of its lane; a lane left empty leaves the lanes, and its skips with it.
local function dequeue(platform, waiter)
  local lane = lane_of(waiter)
  local key = queue_key(platform, lane)
  redis.call('ZREM', key, waiter)
  if redis.call('ZCARD', key) == 0 then
    redis.call('ZREM', P .. ':lanes:' .. platform, lane)
    redis.call('HDEL', P .. ':skips', platform .. ':' .. lane)
    if redis.call('ZCARD', P .. ':lanes:' .. platform) == 0 then
      redis.call('SREM', P .. ':waiting', platform)
    end
  end
end

-- The horizon: a send time is reserved only if it is at most `horizon` ahead (HORIZON
-- intervals, at least HORIZON_MIN_US; both from `_scripts.py`). Reserving at once whenever a
-- slot is free would let a sweep holding more slots than the rate needs reserve send times far
-- ahead, first come first served, and a higher-priority call would go after all of them. With
-- the horizon, a waiter whose slot is free but whose send time would lie beyond it stays in its
-- lane, and the schedule's next room goes to the highest lane waiting, whichever process queued it.
local function horizon_of(interval)
  return math.max(HORIZON * interval, HORIZON_MIN_US)
end

-- Microseconds from now to the send time the next reservation would get (before `max(now, .)`).
local function lead(now, interval, tau)
  local tat = tonumber(redis.call('GET', P .. ':tat') or '0')
  return math.max(tat, now - interval) - tau - now
end

local function has_room(now, interval, tau)
  return lead(now, interval, tau) <= horizon_of(interval)
end

-- Every lane waiting on a platform with a free slot, and this script's first token-only request
-- not yet served (platform ''; `asking` is sorted by priority): the candidates for the next
-- send time. All of a platform's lanes compete, not only the one its slots would serve next:
-- with a free slot, what is scarce is the account's schedule, and one rule over every lane
-- keeps a higher lane from waiting while its own platform's lower lane has its turn. `free`
-- caches the free slots.
local function candidates(now, free, asking)
  local out = {}
  for _, platform in ipairs(redis.call('SMEMBERS', P .. ':waiting')) do
    if free[platform] == nil then
      purge(platform, now)
      local slots = tonumber(redis.call('HGET', P .. ':limits', 'slots:' .. platform) or '0')
      free[platform] = slots - redis.call('ZCARD', P .. ':slots:' .. platform)
    end
    if free[platform] > 0 then
      local lanes = redis.call('ZRANGE', P .. ':lanes:' .. platform, 0, -1)
      if #lanes == 0 then
        redis.call('SREM', P .. ':waiting', platform)
      end
      for _, lane in ipairs(lanes) do
        out[#out + 1] = {platform = platform, lane = lane}
      end
    end
  end
  for _, ask in ipairs(asking) do
    if not ask.go then
      out[#out + 1] = {platform = '', lane = ask.lane, ask = ask}
      break
    end
  end
  return out
end

-- The candidate the next send time (and with it a slot) goes to, by the rule of `_lanes.py` over
-- every lane of the account, one per platform and priority: a lane passed over PATIENCE times
-- first (the most passed over, the highest of a tie), else the highest lane; between platforms
-- at the same lane, the one served least lately. A lane is passed over only while it is a
-- candidate (its platform has a free slot), so when a platform's slots bind, its lower lane
-- gets at least one of every PATIENCE + 1 of its freed slots, as when the rate binds it gets
-- one of every PATIENCE + 1 send times. The skips live in ':skips' by "<platform>:<lane>" and
-- leave with their lane ('' for a script's token-only requests, which queue nowhere).
local function skips_key(c)
  return c.platform .. ':' .. c.lane
end

local function ranks_above(a, b)
  for k = 1, #a do
    if a[k] ~= b[k] then
      return a[k] > b[k]
    end
  end
  return false
end

local function pick(cands)
  local best, best_rank
  for _, c in ipairs(cands) do
    local skips = tonumber(redis.call('HGET', P .. ':skips', skips_key(c)) or '0')
    local turn = tonumber(redis.call('HGET', P .. ':turns', c.platform) or '0')
    local rank = {skips >= PATIENCE and skips or -1, tonumber(c.lane), -turn}
    if best == nil or ranks_above(rank, best_rank) then
      best, best_rank = c, rank
    end
  end
  return best
end

-- The room went to ``chosen``: every candidate lane below it was passed over once more.
local function passed_over(cands, chosen)
  local key = P .. ':skips'
  local priority = tonumber(chosen.lane)
  for _, c in ipairs(cands) do
    if tonumber(c.lane) < priority then
      redis.call('HINCRBY', key, skips_key(c), 1)
    end
  end
  redis.call('HDEL', key, skips_key(chosen))
  redis.call('HSET', P .. ':turns', chosen.platform, redis.call('INCR', P .. ':turn'))
end

-- Give candidate ``c``'s head waiter its slot and a send time; false (no turn counted) if its
-- process is gone. A slot handed to another process is only claimed for `presence` ms until
-- that process confirms it (confirm.lua): a process that died while queued cannot hold a slot
-- longer, and a message lost on the way (pub/sub does not keep it) costs a claim that runs out
-- and a waiter queued again (settle.lua, 'w').
local function grant(c, now, interval, tau, lease, presence, me, grants)
  local head = redis.call('ZRANGE', queue_key(c.platform, c.lane), 0, 0, 'WITHSCORES')
  local waiter = head[1]
  dequeue(c.platform, waiter)
  redis.call('HSET', P .. ':fair:' .. c.platform .. ':' .. c.lane, '', head[2])
  local proc = string.match(waiter, '^([^|]*)|')
  if not (proc and redis.call('EXISTS', P .. ':alive:' .. proc) == 1) then
    return false
  end
  local go = reserve(now, interval, tau)
  local expires = go + lease
  if proc ~= me then
    expires = now + presence * 1000
  end
  redis.call('ZADD', P .. ':slots:' .. c.platform, str(expires), waiter)
  local message = waiter .. ' ' .. c.platform .. ' ' .. str(go - now)
  grants[proc] = grants[proc] and (grants[proc] .. ';' .. message) or message
  return true
end

-- Hand the schedule's room out, a send time at a time, to the candidates in turn (`pick`),
-- skipping waiters whose process is gone, until no candidate is left or the next send time
-- would lie beyond the horizon. `asking` entries served get their send time in `go`. The
-- grants for one process ("<waiter> <platform> <delay before its send>", ';'-separated) are
-- published as one message on its channel; grants for the calling process (`me`) are appended
-- to `mine` instead and come back in the reply. Returns true if queued waiters still wait for
-- room (then `claim_pump`).
local function forget_asks()
  for _, field in ipairs(redis.call('HKEYS', P .. ':skips')) do
    if string.sub(field, 1, 1) == ':' then
      redis.call('HDEL', P .. ':skips', field)
    end
  end
end

local function hand_out(now, interval, tau, lease, presence, me, mine, asking)
  if frozen_for(now) > 0 then
    return false
  end
  local free, grants, blocked = {}, {}, false
  while true do
    local cands = candidates(now, free, asking)
    if #cands == 0 then
      -- Token-only requests wait in their processes, not here: their skips end with the
      -- script that saw them passed over, once nothing waits for room (queued lanes keep theirs).
      forget_asks()
      break
    end
    if not has_room(now, interval, tau) then
      -- Queued waiters need a pump; this script's token-only requests are told when to ask again.
      blocked = #cands > 1 or not cands[1].ask
      break
    end
    local c = pick(cands)
    if c.ask then
      passed_over(cands, c)
      c.ask.go = reserve(now, interval, tau)
    elseif grant(c, now, interval, tau, lease, presence, me, grants) then
      passed_over(cands, c)
      free[c.platform] = free[c.platform] - 1
    end
  end
  for proc, message in pairs(grants) do
    if proc == me then
      mine[#mine + 1] = message
    else
      redis.call('PUBLISH', P .. ':wake:' .. proc, message)
    end
  end
  return blocked
end

-- Calls wait for the schedule's room, which no free may bring (a rate-only workload): one
-- process, the first to see it, is told to run a script when two send times fit again (so a
-- pump serves two, and a late one still finds the schedule busy for an interval). Any script
-- run by then hands the room out as well: one run by that process moves its pump on (so
-- while its own frees keep handing the room out, its pump seldom runs), one run by another
-- leaves it; a claim whose time passed is taken over, and one whose process finds nobody
-- waiting for room is dropped (its pump then runs for nothing, once). `blocked`: calls wait
-- for room after this script. Returns the microseconds until the caller's pump, or -1.
local function claim_pump(now, interval, tau, blocked, me)
  local key = P .. ':pump'
  local claim = redis.call('GET', key)
  local claimed, by = 0, nil
  if claim then
    claimed, by = tonumber(string.match(claim, '^(%d+)')), string.match(claim, ' (.*)$')
  end
  if not blocked then
    if by == me then
      redis.call('DEL', key)
    end
    return -1
  end
  local at = now + lead(now, interval, tau) - horizon_of(interval) + interval
  if by ~= me and claimed > now and claimed <= at then
    return -1
  end
  redis.call('SET', key, str(at) .. ' ' .. me, 'PX', math.floor((at - now) / 1000) + 1000)
  return math.max(0, at - now)
end

-- When a process's token-only calls refused for room ask again (they queue nowhere): when the
-- schedule has room, but an interval after the processes told before, so that the processes
-- refused together do not all ask at once for one send time.
local function token_retry(now, interval, tau)
  local key = P .. ':retry'
  local room = now + lead(now, interval, tau) - horizon_of(interval)
  local at = math.max(room, tonumber(redis.call('GET', key) or '0') + interval, now + 1000)
  redis.call('SET', key, str(at), 'PX', math.floor((at - now) / 1000) + 1000)
  return at
end

-- A platform's slots in use (those whose leases ran out dropped) and its queued waiters.
local function counts(platform, now)
  purge(platform, now)
  local queued = 0
  for _, lane in ipairs(redis.call('ZRANGE', P .. ':lanes:' .. platform, 0, -1)) do
    queued = queued + redis.call('ZCARD', queue_key(platform, lane))
  end
  return redis.call('ZCARD', P .. ':slots:' .. platform), queued
end

local function alive(proc, presence)
  redis.call('SET', P .. ':alive:' .. proc, '1', 'PX', presence)
end
