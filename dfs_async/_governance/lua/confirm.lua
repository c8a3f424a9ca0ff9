-- A process confirms the slots handed to it on its channel: each claimed lease becomes
-- a full one (send time + lease). A claim that ran out (the process was too slow) is not
-- confirmed: its waiter queues again, and its call is not sent.
-- ARGV: proc, presence_ms, epoch candidate, recovery_us, lease_us,
--       then per grant: platform, waiter, delay_us still to wait
-- Returns {epoch, then per grant 1 (confirmed) or 0 (queued again)}
local now = now_us()
local proc = ARGV[1]
local presence = tonumber(ARGV[2])
local ep = epoch(ARGV[3], now, tonumber(ARGV[4]))
alive(proc, presence)
local lease = tonumber(ARGV[5])
local out = {ep}
local i = 6
while i <= #ARGV do
  local platform, waiter = ARGV[i], ARGV[i + 1]
  local key = P .. ':slots:' .. platform
  local claimed = tonumber(redis.call('ZSCORE', key, waiter))
  if claimed and claimed > now then
    local expires = now + math.max(0, tonumber(ARGV[i + 2])) + lease
    redis.call('ZADD', key, str(math.max(claimed, expires)), waiter)
    out[#out + 1] = 1
  else
    redis.call('ZREM', key, waiter)
    enqueue(platform, proc, waiter, presence)
    out[#out + 1] = 0
  end
  i = i + 3
end
return out
