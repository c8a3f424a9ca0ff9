-- After Redis lost the account's state: put back the slots this process still holds (their
-- calls may be running at the server) and its queued waiters, in the new epoch.
-- ARGV: proc, presence_ms, epoch candidate, recovery_us, n leases, then n × (platform, id,
--       remaining_us), then waiters as (platform, id) pairs
-- Returns the epoch.
local now = now_us()
local proc = ARGV[1]
local presence = tonumber(ARGV[2])
local ep = epoch(ARGV[3], now, tonumber(ARGV[4]))
alive(proc, presence)
local n = tonumber(ARGV[5])
local i = 6
for _ = 1, n do
  redis.call('ZADD', P .. ':slots:' .. ARGV[i], str(now + tonumber(ARGV[i + 2])), ARGV[i + 1])
  i = i + 3
end
while i <= #ARGV do
  enqueue(ARGV[i], proc, ARGV[i + 1], presence)
  i = i + 2
end
return ep
