-- Apply the frees this process batched; hand the account's schedule out (`hand_out`: queued
-- waiters with a free slot, and this script's token-only requests, by lane, up to the
-- horizon); then, for each slot request: take a slot of its platform and reserve a send time
-- if the slot is free, nobody queues for it and the send time is within the horizon, else
-- queue it in its lane. A process sends the requests (and frees) that gathered while its last
-- script ran, so under load one script serves many calls.
-- ARGV: proc, interval_us, tau_us, lease_us, presence_ms, epoch candidate, recovery_us,
--       n frees, then per free: platform, slots, 'r' (free a slot) | 'd' (withdraw), id,
--       then per request: waiter, platform ('' for a token only), slots
-- Returns {epoch, stricter, frozen_us, pump_us (see `claim_pump`), then per request:
--          granted 1|0, delay_us (before the send; for a token-only request not granted, before
--          asking again), held, queued, then grants handed to this process's earlier waiters}
local now = now_us()
local proc = ARGV[1]
local lease = tonumber(ARGV[4])
local presence = tonumber(ARGV[5])
local ep = epoch(ARGV[6], now, tonumber(ARGV[7]))
alive(proc, presence)
local interval, d1 = strictest('interval', tonumber(ARGV[2]), true)
local tau, d2 = strictest('tau', tonumber(ARGV[3]), false)
local out = {ep, d1 + d2, 0, -1}
local mine = {}
local i = 9
for _ = 1, tonumber(ARGV[8]) do
  local platform, kind, id = ARGV[i], ARGV[i + 2], ARGV[i + 3]
  if kind == 'r' then
    redis.call('ZREM', P .. ':slots:' .. platform, id)
  else
    dequeue(platform, id)
  end
  strictest('slots:' .. platform, tonumber(ARGV[i + 1]), false)
  i = i + 4
end
local requests, asking = {}, {}
while i <= #ARGV do
  local r = {waiter = ARGV[i], platform = ARGV[i + 1], lane = lane_of(ARGV[i])}
  if r.platform == '' then
    asking[#asking + 1] = r
  else
    local slots, d3 = strictest('slots:' .. r.platform, tonumber(ARGV[i + 2]), false)
    out[2] = out[2] + d3
    r.slots = slots
  end
  requests[#requests + 1] = r
  i = i + 3
end
-- Queued waiters first: a new request goes ahead of none of them.
local blocked = hand_out(now, interval, tau, lease, presence, proc, mine, asking)
local frozen = frozen_for(now)
local retry
for _, r in ipairs(requests) do
  if r.platform == '' then
    if not r.go and has_room(now, interval, tau) then
      r.go = reserve(now, interval, tau) -- a freeze holds slots, not the rate
    end
    if r.go then
      out[#out + 1] = 1
      out[#out + 1] = r.go - now
    else
      retry = retry or token_retry(now, interval, tau)
      out[#out + 1] = 0
      out[#out + 1] = retry - now
    end
    out[#out + 1] = 0
    out[#out + 1] = 0
  else
    local held, queued = counts(r.platform, now)
    local free = held < r.slots and frozen == 0
    if free and queued == 0 and has_room(now, interval, tau) then
      local go = reserve(now, interval, tau)
      redis.call('ZADD', P .. ':slots:' .. r.platform, str(go + lease), r.waiter)
      out[#out + 1] = 1
      out[#out + 1] = go - now
      out[#out + 1] = held + 1
      out[#out + 1] = 0
    else
      -- With its slot free, it waits for the schedule's room (all queued there do).
      blocked = blocked or free
      enqueue(r.platform, proc, r.waiter, presence)
      out[#out + 1] = 0
      out[#out + 1] = 0
      out[#out + 1] = held
      out[#out + 1] = queued + 1
    end
  end
end
redis.call('PEXPIRE', P .. ':limits', presence * 3)
out[3] = frozen_for(now)
out[4] = claim_pump(now, interval, tau, blocked, proc)
for _, grant in ipairs(mine) do
  out[#out + 1] = grant
end
return out
