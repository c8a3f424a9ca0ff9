-- Prepended to every script, after `PATIENCE` (from `_lanes.py`). KEYS[1] is the account's prefix; every key below extends it and
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
-- priority). A waiter's id is "<process>|<priority>|<n>", so every script finds its lane.
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
    redis.call('HDEL', P .. ':skips:' .. platform, lane)
  end
end

-- The lane to serve next, and the waiting lanes (member, priority pairs, highest first), by the
-- rule of `_lanes.py`: the highest lane, unless a lane was passed over PATIENCE times (then the
-- most passed over, the highest of a tie). So while two lanes wait, the lower one gets at least
-- one of every PATIENCE + 1 slots handed out, whichever processes its waiters come from.
local function next_lane(platform)
  local lanes = redis.call('ZREVRANGE', P .. ':lanes:' .. platform, 0, -1, 'WITHSCORES')
  if #lanes == 0 then
    return nil, lanes
  end
  local chosen, most = lanes[1], -1
  for i = 1, #lanes, 2 do
    local skips = tonumber(redis.call('HGET', P .. ':skips:' .. platform, lanes[i]) or '0')
    if skips >= PATIENCE and skips > most then
      chosen, most = lanes[i], skips
    end
  end
  return chosen, lanes
end

-- A slot went to ``chosen``'s head: every waiting lane below it was passed over once more.
local function served_lane(platform, chosen, lanes)
  local key = P .. ':skips:' .. platform
  local priority = tonumber(chosen)
  for i = 1, #lanes, 2 do
    if tonumber(lanes[i + 1]) < priority then
      redis.call('HINCRBY', key, lanes[i], 1)
    end
  end
  redis.call('HDEL', key, chosen)
end

-- Hand free slots to queued waiters in turn (lane by lane, see `next_lane`), skipping waiters
-- whose process is gone (no turn counted for them). The grants for one process ("<waiter>
-- <platform> <delay before its send>", ';'-separated) are published as one message on its
-- channel; grants for the calling process (`me`) are appended to `mine` instead and come back
-- in the reply. A slot handed to another process is only claimed for `presence` ms until that
-- process confirms it (confirm.lua): a process that died while queued cannot hold a slot
-- longer, and a message lost on the way (pub/sub does not keep it) costs a claim that runs out
-- and a waiter queued again (settle.lua, 'w').
local function hand_out(platform, now, interval, tau, slots, lease, presence, me, mine)
  local held_key = P .. ':slots:' .. platform
  purge(platform, now)
  if frozen_for(now) > 0 then
    return
  end
  local free = slots - redis.call('ZCARD', held_key)
  local grants = {}
  while free > 0 do
    local lane, lanes = next_lane(platform)
    if not lane then
      break
    end
    local head = redis.call('ZRANGE', queue_key(platform, lane), 0, 0, 'WITHSCORES')
    local waiter = head[1]
    dequeue(platform, waiter)
    redis.call('HSET', P .. ':fair:' .. platform .. ':' .. lane, '', head[2])
    local proc = string.match(waiter, '^([^|]*)|')
    if proc and redis.call('EXISTS', P .. ':alive:' .. proc) == 1 then
      served_lane(platform, lane, lanes)
      local go = reserve(now, interval, tau)
      local expires = go + lease
      if proc ~= me then
        expires = now + presence * 1000
      end
      redis.call('ZADD', held_key, str(expires), waiter)
      local grant = waiter .. ' ' .. platform .. ' ' .. str(go - now)
      grants[proc] = grants[proc] and (grants[proc] .. ';' .. grant) or grant
      free = free - 1
    end
  end
  for proc, message in pairs(grants) do
    if proc == me then
      mine[#mine + 1] = message
    else
      redis.call('PUBLISH', P .. ':wake:' .. proc, message)
    end
  end
end

local function counts(platform)
  local queued = 0
  for _, lane in ipairs(redis.call('ZRANGE', P .. ':lanes:' .. platform, 0, -1)) do
    queued = queued + redis.call('ZCARD', queue_key(platform, lane))
  end
  return redis.call('ZCARD', P .. ':slots:' .. platform), queued
end

local function alive(proc, presence)
  redis.call('SET', P .. ':alive:' .. proc, '1', 'PX', presence)
end
