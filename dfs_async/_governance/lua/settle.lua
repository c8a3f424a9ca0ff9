-- Apply what a process batched since its last call: freed slots, withdrawn waiters, a shared
-- pause; then hand the account's schedule out (`hand_out`: freed slots, and room come up, to
-- the waiters by lane). Also its periodic presence tick (with no items).
-- ARGV: proc, presence_ms, epoch candidate, recovery_us, interval_us, tau_us, lease_us,
--       pause_us, then per platform: platform, slots, n, and n items (kind, id): 'r' frees a
--       slot, 'd' withdraws a queued waiter, 'w' checks on a waiter long unanswered
-- Returns {epoch, frozen_us, pump_us (see `claim_pump`), then per platform: held, queued, first lease
--          expiry in us or -1, then grants handed to this process's waiters}
local now = now_us()
local proc = ARGV[1]
local presence = tonumber(ARGV[2])
local ep = epoch(ARGV[3], now, tonumber(ARGV[4]))
alive(proc, presence)
local interval = strictest('interval', tonumber(ARGV[5]), true)
local tau = strictest('tau', tonumber(ARGV[6]), false)
local lease = tonumber(ARGV[7])
local pause = tonumber(ARGV[8])
if pause > 0 then
  local tat = tonumber(redis.call('GET', P .. ':tat') or '0')
  redis.call('SET', P .. ':tat', str(math.max(tat, now + pause)))
end
local out = {ep, 0, -1}
local mine = {}
local i = 9
local platforms = {}
while i <= #ARGV do
  local platform = ARGV[i]
  platforms[#platforms + 1] = platform
  strictest('slots:' .. platform, tonumber(ARGV[i + 1]), false)
  purge(platform, now) -- a claim run out is no slot held (the 'w' check below)
  local n = tonumber(ARGV[i + 2])
  i = i + 3
  for _ = 1, n do
    local kind, id = ARGV[i], ARGV[i + 1]
    if kind == 'r' then
      redis.call('ZREM', P .. ':slots:' .. platform, id)
    elseif kind == 'd' then
      dequeue(platform, id)
    elseif not is_queued(platform, id)
      and not redis.call('ZSCORE', P .. ':slots:' .. platform, id) then
      -- 'w': a waiter of ours, long unanswered, neither queued nor holding a slot: its grant
      -- was lost on the way (a dropped connection) and its claim ran out. Queue it again.
      -- (One whose grant was lost while it held a slot queues again once that lease ran out.)
      enqueue(platform, proc, id, presence)
    end
    i = i + 2
  end
end
local blocked = hand_out(now, interval, tau, lease, presence, proc, mine, {})
out[3] = claim_pump(now, interval, tau, blocked, proc)
for _, platform in ipairs(platforms) do
  local held, queued = counts(platform, now)
  local first = redis.call('ZRANGE', P .. ':slots:' .. platform, 0, 0, 'WITHSCORES')
  local expiry = -1
  if #first == 2 then
    expiry = math.max(0, tonumber(first[2]) - now)
  end
  out[#out + 1] = held
  out[#out + 1] = queued
  out[#out + 1] = expiry
end
redis.call('PEXPIRE', P .. ':limits', presence * 3)
out[2] = frozen_for(now)
for _, grant in ipairs(mine) do
  out[#out + 1] = grant
end
return out
