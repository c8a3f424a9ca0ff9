-- Take a slot of ARGV[3] (none if '') and reserve a send time, or queue for the slot.
-- ARGV: proc, waiter, platform, interval_us, tau_us, slots, lease_us, presence_ms,
--       epoch candidate, recovery_us
-- Returns {granted 1|0, epoch, delay_us (granted) or hint_us (queued), held, queued, stricter}
local now = now_us()
local proc, waiter, platform = ARGV[1], ARGV[2], ARGV[3]
local presence = tonumber(ARGV[8])
local ep = epoch(ARGV[9], now, tonumber(ARGV[10]))
alive(proc, presence)
local interval, d1 = strictest('interval', tonumber(ARGV[4]), true)
local tau, d2 = strictest('tau', tonumber(ARGV[5]), false)
if platform == '' then
  redis.call('PEXPIRE', P .. ':limits', presence * 3)
  local go = reserve(now, interval, tau)
  return {1, ep, go - now, 0, 0, d1 + d2}
end
local slots, d3 = strictest('slots:' .. platform, tonumber(ARGV[6]), false)
redis.call('PEXPIRE', P .. ':limits', presence * 3)
local lease = tonumber(ARGV[7])
hand_out(platform, now, interval, tau, slots, lease, presence)
local held, queued = counts(platform)
if queued == 0 and held < slots and frozen_for(now) == 0 then
  local go = reserve(now, interval, tau)
  redis.call('ZADD', P .. ':slots:' .. platform, str(go + lease), waiter)
  return {1, ep, go - now, held + 1, 0, d1 + d2 + d3}
end
enqueue(platform, proc, waiter, presence)
-- Without a wake-up, look again when the first lease runs out or the freeze ends.
local hint = frozen_for(now)
if hint == 0 then
  local first = redis.call('ZRANGE', P .. ':slots:' .. platform, 0, 0, 'WITHSCORES')
  if #first == 2 then
    hint = math.max(0, tonumber(first[2]) - now)
  end
end
return {0, ep, hint, held, redis.call('ZCARD', P .. ':queue:' .. platform), d1 + d2 + d3}
