// Lua of the Redis HistoryStore (history-store.ts). Each HistoryStore method is ONE of these
// scripts, so every read-modify-write of a channel (serial reservation with the row write,
// retention, state transitions, the per-app index and stats) happens atomically on the server
// (STANDARDS C1). All keys of a call share the hash tag `{<app>:<bucket>}` (one Cluster slot).
//
// KEYS (every script but LIST_BAD): 1 bucket meta HASH, 2 bucket idle ZSET, 3 bucket bad ZSET,
//   4 bucket stats HASH, 5 channel rows HASH, 6 channel idx ZSET.
// ARGV (every script but LIST_BAD): 1 channel, 2 now ms (the injected clock), 3 the epoch this
//   node remembers ('' none), 4 a fresh epoch id (used if the call must start one), 5 node id
//   ('' none), 6 idle TTL ms, 7 idle grace ms; then the script's own arguments from 8.
//
// The channel record (cmsgpack in the bucket meta HASH, field = channel):
//   e epoch · nx next serial · n/b retained rows/bytes · lt newest publish time · ft publish
//   time of serial 1 of the epoch (-1) · rt newest publish time of a removed row (-1) · st/rs
//   state/reason · tt last transition ms · nd node of it · lo epoch lost ('' none) · rp/rm/rb/ra
//   retention present/max messages/bytes/age s (0 unset) · ln earlier epochs (lineage, ≤ 8)
//   · dl idle deadline (ms, injected clock): past it the record is dropped as never used.
// Rows: HASH field `<serial>` → `<publish time>|<Node's header JSON>\n<message JSON>`, opaque to
//   Lua; idx ZSET score publish time, member `<serial 16 digits>:<bytes>` (time → serial by
//   rank, eviction sizes without touching payloads). Serials of an epoch are contiguous from the
//   oldest retained row (only prefixes are ever removed), so serial → position is arithmetic.

const PRELUDE = `
local CH, NOW, KNOWN, NEWEPOCH, NODE = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5]
local IDLE, GRACE = tonumber(ARGV[6]), tonumber(ARGV[7])
local K_META, K_IDLE, K_BAD, K_STATS, K_ROWS, K_IDX = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local LINEAGE_MAX = 8

-- Integers as decimal text: tostring and redis.call would use %.14g (1e+15) past 14 digits.
local function I(x) return string.format('%d', x) end

local function stat(f, d) if d ~= 0 then redis.call('HINCRBY', K_STATS, f, I(d)) end end

local function window(m)
  local age = (m.ra or 0) * 1000
  if age > IDLE then return age end
  return IDLE
end

-- Drops a channel record (idle past its deadline, or replaced after loss) with its index entries.
local function forget(name, m, evicted)
  stat('ch', -1)
  stat('rm', -m.n)
  stat('rb', -m.b)
  if evicted then stat('em', m.n) stat('eb', m.b) end
  if m.st == 'degraded' then stat('dg', -1) elseif m.st == 'reset_required' then stat('rr', -1) end
  redis.call('HDEL', K_META, name)
  redis.call('ZREM', K_IDLE, name)
  redis.call('ZREM', K_BAD, name)
end

-- A few idle records of the bucket per call (bounded work); their rows keys go by PX backstop.
local function sweep(limit)
  local names = redis.call('ZRANGEBYSCORE', K_IDLE, '-inf', I(NOW), 'LIMIT', 0, limit)
  for _, name in ipairs(names) do
    if name ~= CH then
      local raw = redis.call('HGET', K_META, name)
      if raw then
        local m = cmsgpack.unpack(raw)
        if m.dl <= NOW then forget(name, m, true) end
      else
        redis.call('ZREM', K_IDLE, name)
      end
    end
  end
end

local function setState(m, st, reason)
  if m.st == 'degraded' then stat('dg', -1) elseif m.st == 'reset_required' then stat('rr', -1) end
  if st == 'degraded' then stat('dg', 1) elseif st == 'reset_required' then stat('rr', 1) end
  if st == 'healthy' then redis.call('ZREM', K_BAD, CH) else redis.call('ZADD', K_BAD, 0, CH) end
  if m.st ~= st then m.tt = NOW end
  m.st = st
  m.rs = reason or ''
  m.nd = NODE
end

local function inLineage(m, epoch)
  if m.e == epoch then return true end
  for _, e in ipairs(m.ln) do if e == epoch then return true end end
  return false
end

local function pushLineage(m, epoch)
  table.insert(m.ln, 1, epoch)
  while #m.ln > LINEAGE_MAX do table.remove(m.ln) end
end

local created = 0
local function fresh()
  -- Leftover rows of an earlier record (idled out, PX not yet fired) must not leak in.
  redis.call('DEL', K_ROWS, K_IDX)
  stat('ch', 1)
  created = 1
  return { e = NEWEPOCH, nx = 1, n = 0, b = 0, lt = 0, ft = -1, rt = -1, st = 'healthy', rs = '', tt = NOW,
    nd = NODE, lo = '', rp = 0, rm = 0, rb = 0, ra = 0, ln = {}, dl = 0 }
end

local function lost(m, epoch)
  m.lo = epoch
  if m.st ~= 'reset_required' then setState(m, 'reset_required', 'durable_stream_lost') end
  stat('dl', 1)
end

-- The channel record, created if absent; data loss detected through the epoch (decision 11).
local function load()
  sweep(4)
  local raw = redis.call('HGET', K_META, CH)
  local m = nil
  if raw then
    m = cmsgpack.unpack(raw)
    if m.dl <= NOW then forget(CH, m, true) m = nil end
  end
  if m == nil then
    m = fresh()
    if KNOWN ~= '' then lost(m, KNOWN) end
  elseif m.n > 0 and redis.call('EXISTS', K_IDX) == 0 then
    -- The rows vanished under the record (a maxmemory eviction, a partial restore).
    local gone = m.e
    forget(CH, m, false)
    m = fresh()
    lost(m, gone)
  elseif KNOWN ~= '' and not inLineage(m, KNOWN) then
    -- Another node recreated the record after a loss: what this node saw is gone. The current
    -- epoch already differs from the lost one, so it is kept; the state says reset_required.
    lost(m, KNOWN)
    pushLineage(m, KNOWN)
  end
  return m
end

local function save(m)
  local w = window(m)
  m.dl = NOW + w + GRACE
  redis.call('HSET', K_META, CH, cmsgpack.pack(m))
  redis.call('ZADD', K_IDLE, I(m.dl), CH)
  -- Garbage-collection backstop only (wall clock): the deadline above is what decides.
  local px = I(2 * (w + GRACE))
  redis.call('PEXPIRE', K_ROWS, px)
  redis.call('PEXPIRE', K_IDX, px)
  return w
end

local function oldestRow()
  local r = redis.call('ZRANGE', K_IDX, 0, 0, 'WITHSCORES')
  if #r == 0 then return nil, nil end
  return tonumber(string.sub(r[1], 1, 16)), tonumber(r[2])
end

-- Removes the k oldest rows (k >= 1); returns their bytes. Chunked: no huge Lua tables.
local function removeOldest(m, k)
  local bytes, lastSerial, lastT, done = 0, nil, nil, 0
  while done < k do
    local stop = done + 1000
    if stop > k then stop = k end
    local chunk = redis.call('ZRANGE', K_IDX, done, stop - 1, 'WITHSCORES')
    if #chunk == 0 then break end
    local fields = {}
    for i = 1, #chunk, 2 do
      bytes = bytes + tonumber(string.sub(chunk[i], 18))
      lastSerial = tonumber(string.sub(chunk[i], 1, 16))
      lastT = tonumber(chunk[i + 1])
      fields[#fields + 1] = I(lastSerial)
    end
    redis.call('HDEL', K_ROWS, unpack(fields))
    done = done + #chunk / 2
  end
  if done == 0 then return 0, 0 end
  redis.call('ZREMRANGEBYRANK', K_IDX, 0, done - 1)
  m.n = m.n - done
  m.b = m.b - bytes
  if lastT > m.rt then m.rt = lastT end
  stat('rm', -done)
  stat('rb', -bytes)
  return done, bytes
end

-- Retention from the old end, at most budget rows. The newest row is never evicted by count or
-- bytes; by age only outside an append (keepNewest).
local function evict(m, keepNewest, budget, hardM, hardB)
  local maxM = hardM
  if m.rm > 0 and m.rm < maxM then maxM = m.rm end
  local maxB = hardB
  if m.rb > 0 and m.rb < maxB then maxB = m.rb end
  local cutoff = nil
  if m.ra > 0 then cutoff = NOW - m.ra * 1000 end
  local minRows = 0
  if keepNewest then minRows = 1 end
  local k, n, b = 0, m.n, m.b
  while k < budget and n > 0 do
    local chunk = redis.call('ZRANGE', K_IDX, k, k + 63, 'WITHSCORES')
    if #chunk == 0 then break end
    local stop = false
    for i = 1, #chunk, 2 do
      local t = tonumber(chunk[i + 1])
      local over = n > maxM or (b > maxB and n > 1) or (cutoff ~= nil and t < cutoff and n > minRows)
      if k >= budget or not over then stop = true break end
      k = k + 1
      n = n - 1
      b = b - tonumber(string.sub(chunk[i], 18))
    end
    if stop then break end
  end
  if k == 0 then return 0, 0 end
  local en, eb = removeOldest(m, k)
  stat('em', en)
  stat('eb', eb)
  return en, eb
end

-- The record as returned to Node: fixed positions (history-store.ts parseInfo).
local function info(m, w)
  local os, ot = oldestRow()
  local nt = ''
  if m.n > 0 then nt = I(m.lt) end
  return { m.e, I(m.nx), I(m.n), I(m.b), os and I(os) or '', ot and I(ot) or '', nt, m.st, m.rs, I(m.tt), m.nd,
    m.lo, I(m.rp), I(m.rm), I(m.rb), I(m.ra), I(m.ft), I(m.rt), I(w), created }
end
`;

/** ARGV 8.. publishedAt ('' now), stored row (header JSON, newline, message JSON), bytes,
 * retention maxMessages/maxBytes/maxAgeSeconds (0 unset), hard max messages, hard max bytes,
 * eviction budget. */
export const APPEND = `${PRELUDE}
local m = load()
local serial = m.nx
if serial >= 9007199254740991 then return { 'ERR', 'serial_exhausted' } end
local t = NOW
if ARGV[8] ~= '' then t = tonumber(ARGV[8]) end
if t < m.lt then t = m.lt end
local bytes = tonumber(ARGV[10])
-- The row is opaque to Lua: Node's header and JSON, behind the publish time decided here.
redis.call('HSET', K_ROWS, I(serial), I(t) .. '|' .. ARGV[9])
redis.call('ZADD', K_IDX, I(t), string.format('%016d:%d', serial, bytes))
m.nx = serial + 1
m.n = m.n + 1
m.b = m.b + bytes
m.lt = t
if m.ft < 0 then m.ft = t end
m.rp = 1
m.rm = tonumber(ARGV[11])
m.rb = tonumber(ARGV[12])
m.ra = tonumber(ARGV[13])
stat('rm', 1)
stat('rb', bytes)
local en, eb = evict(m, true, tonumber(ARGV[16]), tonumber(ARGV[14]), tonumber(ARGV[15]))
local w = save(m)
return { 'OK', I(serial), m.e, I(t), I(bytes), I(en), I(eb), m.st, I(w), created }
`;

/** ARGV 8.. direction (o|n), limit, startSerial, endSerial, startTime, endTime ('' unset),
 * cursor serial ('' none), cursor epoch, hard max messages, hard max bytes, eviction budget. */
export const READ = `${PRELUDE}
local m = load()
evict(m, false, tonumber(ARGV[18]), tonumber(ARGV[16]), tonumber(ARGV[17]))
local w = save(m)
if ARGV[15] ~= '' and ARGV[15] ~= m.e then return { 'ERR', 'cursor_stream_reset', info(m, w) } end
local dir, limit = ARGV[8], tonumber(ARGV[9])
local os = oldestRow()
local lo = os or m.nx
local loS, hiS = lo, m.nx - 1
local function firstAtOrAfter(t) return lo + redis.call('ZCOUNT', K_IDX, '-inf', '(' .. I(t)) end
if m.ra > 0 then
  local s = firstAtOrAfter(NOW - m.ra * 1000)
  if s > loS then loS = s end
end
if ARGV[10] ~= '' then local s = tonumber(ARGV[10]) if s > loS then loS = s end end
if ARGV[11] ~= '' then local s = tonumber(ARGV[11]) if s < hiS then hiS = s end end
if ARGV[12] ~= '' then local s = firstAtOrAfter(tonumber(ARGV[12])) if s > loS then loS = s end end
if ARGV[13] ~= '' then
  local s = lo + redis.call('ZCOUNT', K_IDX, '-inf', ARGV[13]) - 1
  if s < hiS then hiS = s end
end
local skipped = 0
if ARGV[14] ~= '' then
  local cs = tonumber(ARGV[14])
  if cs < lo then skipped = 1 end
  if dir == 'o' then
    if cs > loS then loS = cs end
  elseif cs < hiS then
    hiS = cs
  end
end
local items, hasMore, nextSerial = {}, 0, 0
if loS <= hiS then
  if dir == 'o' then
    local e = hiS
    if loS + limit - 1 < e then e = loS + limit - 1 hasMore = 1 end
    local fields = {}
    for x = loS, e do fields[#fields + 1] = I(x) end
    items = redis.call('HMGET', K_ROWS, unpack(fields))
    nextSerial = e + 1
  else
    local s = loS
    if hiS - limit + 1 > s then s = hiS - limit + 1 hasMore = 1 end
    local fields = {}
    for x = hiS, s, -1 do fields[#fields + 1] = I(x) end
    items = redis.call('HMGET', K_ROWS, unpack(fields))
    nextSerial = s - 1
  end
end
return { 'OK', info(m, w), items, hasMore, I(nextSerial), skipped }
`;

/** ARGV 8.. hard max messages, hard max bytes, eviction budget. */
export const STATE = `${PRELUDE}
local m = load()
evict(m, false, tonumber(ARGV[10]), tonumber(ARGV[8]), tonumber(ARGV[9]))
local w = save(m)
return { 'OK', info(m, w) }
`;

/** ARGV 8: the new epoch of the reset (ARGV 4 may already be taken by a record created now). */
export const RESET = `${PRELUDE}
local m = load()
local prev, pn, pb = m.e, m.n, m.b
redis.call('DEL', K_ROWS, K_IDX)
stat('rm', -pn)
stat('rb', -pb)
stat('pm', pn)
stat('pb', pb)
pushLineage(m, prev)
m.e = ARGV[8]
m.nx = 1
m.n = 0
m.b = 0
m.lt = 0
m.ft = -1
m.rt = -1
m.lo = ''
setState(m, 'healthy', nil)
m.tt = NOW
local w = save(m)
return { 'OK', prev, I(pn), I(pb), info(m, w) }
`;

/** ARGV 8.. mode (all|serial|time), value (the serial or time; '' for all). */
export const PURGE = `${PRELUDE}
local m = load()
local mode = ARGV[8]
local k = 0
if mode == 'all' then
  k = m.n
elseif mode == 'serial' then
  local os = oldestRow()
  if os then
    k = tonumber(ARGV[9]) - os
    if k > m.n then k = m.n end
  end
else
  k = redis.call('ZCOUNT', K_IDX, '-inf', '(' .. ARGV[9])
end
local pn, pb = 0, 0
if k > 0 then
  pn, pb = removeOldest(m, k)
  stat('pm', pn)
  stat('pb', pb)
end
local w = save(m)
return { 'OK', I(pn), I(pb), info(m, w) }
`;

/** ARGV 8: reason. */
export const MARK_DEGRADED = `${PRELUDE}
local m = load()
if m.st == 'healthy' then setState(m, 'degraded', ARGV[8]) elseif m.st == 'degraded' then m.rs = ARGV[8] end
local w = save(m)
return { 'OK', info(m, w) }
`;

export const CLEAR_DEGRADED = `${PRELUDE}
local m = load()
if m.st == 'degraded' then setState(m, 'healthy', nil) end
local w = save(m)
return { 'OK', info(m, w) }
`;

/** The bucket's stats, after sweeping up to ARGV 8 idle records (so gauges of channels nobody
 * calls any more still fall). KEYS 1-4 only (the bucket's); ARGV 1 is ''. */
export const BUCKET_STATS = `${PRELUDE}
sweep(tonumber(ARGV[8]))
return redis.call('HGETALL', K_STATS)
`;

/**
 * Read-only page of one bucket's non-healthy index. KEYS 1 meta HASH, 2 bad ZSET; ARGV 1 after
 * (exclusive channel name, '' from the start), 2 limit, 3 now. Returns {last scanned name,
 * {{channel, epoch, state, reason, tt, node, lost}, …}}; records past their idle deadline are
 * skipped (the next write in the bucket sweeps them).
 */
export const LIST_BAD = `
local min = '-'
if ARGV[1] ~= '' then min = '(' .. ARGV[1] end
local now = tonumber(ARGV[3])
local names = redis.call('ZRANGEBYLEX', KEYS[2], min, '+', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, name in ipairs(names) do
  local raw = redis.call('HGET', KEYS[1], name)
  if raw then
    local m = cmsgpack.unpack(raw)
    if m.dl > now and m.st ~= 'healthy' then
      out[#out + 1] = { name, m.e, m.st, m.rs, string.format('%d', m.tt), m.nd, m.lo }
    end
  end
end
return { names[#names] or '', #names, out }
`;
