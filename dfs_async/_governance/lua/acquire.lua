-- Apply the frees this process batched, then, for each request: take a slot of its platform
-- (none if '') and reserve a send time, or queue for the slot. A process sends the requests
-- (and frees) that gathered while its last script ran, so under load one script serves many
-- calls.
-- ARGV: proc, interval_us, tau_us, lease_us, presence_ms, epoch candidate, recovery_us,
--       n frees, then per free: platform, slots, 'r' (free a slot) | 'd' (withdraw), id,
--       then per request: waiter, platform, slots
-- Returns {epoch, stricter, frozen_us, then per request: granted 1|0, delay_us (if granted),
--          held, queued, then grants handed to this process's earlier waiters}
local now = now_us()
local proc = ARGV[1]
local lease = tonumber(ARGV[4])
local presence = tonumber(ARGV[5])
local ep = epoch(ARGV[6], now, tonumber(ARGV[7]))
alive(proc, presence)
local interval, d1 = strictest('interval', tonumber(ARGV[2]), true)
local tau, d2 = strictest('tau', tonumber(ARGV[3]), false)
local out = {ep, d1 + d2, 0}
local mine = {}
local freed = {}
local i = 9
for _ = 1, tonumber(ARGV[8]) do
  local platform, kind, id = ARGV[i], ARGV[i + 2], ARGV[i + 3]
  if kind == 'r' then
    redis.call('ZREM', P .. ':slots:' .. platform, id)
  else
    dequeue(platform, id)
  end
  freed[platform] = tonumber(ARGV[i + 1])
  i = i + 4
end
for platform, ours in pairs(freed) do
  local slots = strictest('slots:' .. platform, ours, false)
  hand_out(platform, now, interval, tau, slots, lease, presence, proc, mine)
end
while i <= #ARGV do
  local waiter, platform = ARGV[i], ARGV[i + 1]
  if platform == '' then
    local go = reserve(now, interval, tau)
    out[#out + 1] = 1
    out[#out + 1] = go - now
    out[#out + 1] = 0
    out[#out + 1] = 0
  else
    local slots, d3 = strictest('slots:' .. platform, tonumber(ARGV[i + 2]), false)
    out[2] = out[2] + d3
    hand_out(platform, now, interval, tau, slots, lease, presence, proc, mine)
    local held, queued = counts(platform)
    if queued == 0 and held < slots and frozen_for(now) == 0 then
      local go = reserve(now, interval, tau)
      redis.call('ZADD', P .. ':slots:' .. platform, str(go + lease), waiter)
      out[#out + 1] = 1
      out[#out + 1] = go - now
      out[#out + 1] = held + 1
      out[#out + 1] = 0
    else
      enqueue(platform, proc, waiter, presence)
      out[#out + 1] = 0
      out[#out + 1] = 0
      out[#out + 1] = held
      out[#out + 1] = queued + 1
    end
  end
  i = i + 3
end
redis.call('PEXPIRE', P .. ':limits', presence * 3)
out[3] = frozen_for(now)
for _, grant in ipairs(mine) do
  out[#out + 1] = grant
end
return out
