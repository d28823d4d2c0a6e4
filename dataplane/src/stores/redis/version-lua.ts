// Lua of the Redis VersionStore (version-store.ts). Each VersionStore method is ONE script, so
// the compare-and-swap on a message's latest version, the per-channel delivery serial, the
// op_id receipt, the open-streaming cap and the bounds are one atomic step (STANDARDS C1,
// C5). All keys of a call share the hash tag `{<app>:<channel>}` (one Cluster slot).
//
// KEYS: 1 meta STRING, 2 msgs HASH, 3 order ZSET, 4 vidx ZSET, 5 vrec HASH, 6 ops ZSET, 7 log HASH
//   (delivery serial → entry, contiguous from `lf`).
// ARGV: 1 now ms (injected clock), 2 the epoch this node remembers ('' none), 3 a fresh epoch
//   id, 4 idle TTL ms, 5 idle grace ms, 6 max messages per channel, 7 max versions per message,
//   8 max delivery-log entries, 9 max bytes per channel; then the script's own arguments from 10.
//
// The channel record (cmsgpack): e epoch · nd next delivery serial · st/rs state/reason · lo
//   lost epoch · tt last transition · os open streaming · mc messages · mb message bytes ·
//   lb log bytes · lf first delivery serial in the log (0 empty) · ln lineage · dl idle deadline.
// A message (msgs HASH, cmsgpack): a latest aggregate JSON · s streaming 0/1 · b bytes counted
//   for it · db aggregate data bytes · v latest version_serial.
// Record JSON comes from Node without `delivery_serial`; the script, which assigns it, prepends
// it (`withDelivery`), so Lua never parses message JSON. Every reply starts with the channel's
// epoch, then a status, so the node always learns the epoch it must remember.

const PRELUDE = `
local NOW, KNOWN, NEWEPOCH = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local IDLE, GRACE = tonumber(ARGV[4]), tonumber(ARGV[5])
local MAXM, MAXV, MAXLOG, MAXB = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local K_META, K_MSGS, K_ORDER, K_VIDX, K_VREC, K_OPS, K_LOG = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local Z, ONE, FF = '\\0', '\\1', '\\255'
local LINEAGE_MAX = 8
local MAX_SERIAL = 9007199254740991

local function I(x) return string.format('%d', x) end

local function wipe() redis.call('DEL', K_MSGS, K_ORDER, K_VIDX, K_VREC, K_OPS, K_LOG) end

local function fresh(epoch)
  wipe()
  return { e = epoch, nd = 1, st = 'healthy', rs = '', lo = '', tt = NOW, os = 0, mc = 0, mb = 0, lb = 0, lf = 0,
    ln = {}, dl = 0 }
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

local function lost(m, epoch)
  m.lo = epoch
  if m.st ~= 'reset_required' then m.st = 'reset_required' m.tt = NOW end
  m.rs = 'durable_stream_lost'
end

-- The channel record, created if absent; data loss detected through the epoch (decision 11).
local function load()
  local raw = redis.call('GET', K_META)
  local m = nil
  if raw then
    m = cmsgpack.unpack(raw)
    if m.dl <= NOW then m = nil end
  end
  if m == nil then
    m = fresh(NEWEPOCH)
    if KNOWN ~= '' then lost(m, KNOWN) end
  elseif (m.mc > 0 and redis.call('EXISTS', K_MSGS) == 0) or (m.lf > 0 and redis.call('EXISTS', K_LOG) == 0) then
    -- Data vanished under the record (a maxmemory eviction, a partial restore).
    local gone = m.e
    m = fresh(NEWEPOCH)
    lost(m, gone)
  elseif KNOWN ~= '' and not inLineage(m, KNOWN) then
    -- Another node recreated the record after a loss; the current epoch already differs.
    lost(m, KNOWN)
    pushLineage(m, KNOWN)
  end
  return m
end

local function save(m)
  m.dl = NOW + IDLE + GRACE
  -- PX is a garbage-collection backstop only (wall clock): the deadline above decides.
  local px = I(2 * (IDLE + GRACE))
  redis.call('SET', K_META, cmsgpack.pack(m), 'PX', px)
  for i = 2, 7 do redis.call('PEXPIRE', KEYS[i], px) end
end

-- A log entry: '<bytes>|<len of message_serial>|<message_serial><slim record JSON>'.
local function logEntry(raw)
  local a = string.find(raw, '|', 1, true)
  local b = string.find(raw, '|', a + 1, true)
  local n = tonumber(string.sub(raw, a + 1, b - 1))
  return tonumber(string.sub(raw, 1, a - 1)), string.sub(raw, b + 1, b + n), string.sub(raw, b + n + 1)
end

local function withDelivery(body, d) return '{"delivery_serial":' .. I(d) .. ',' .. string.sub(body, 2) end

local function opLookup(prefix)
  local r = redis.call('ZRANGEBYLEX', K_OPS, '[' .. prefix, '(' .. prefix .. FF, 'LIMIT', 0, 1)
  if #r == 0 then return nil end
  return string.sub(r[1], #prefix + 1)
end

local function info(m)
  local newest = ''
  if m.lf > 0 then newest = I(m.nd - 1) end
  local oldest = ''
  if m.lf > 0 then oldest = I(m.lf) end
  return { m.e, m.st, m.rs, m.lo, I(m.tt), I(m.nd), oldest, newest, I(m.os), I(redis.call('HLEN', K_MSGS)) }
end

local function dropVersion(m, msg, member)
  local raw = redis.call('HGET', K_VREC, member)
  redis.call('HDEL', K_VREC, member)
  redis.call('ZREM', K_VIDX, member)
  if raw then
    local v = cmsgpack.unpack(raw)
    msg.b = msg.b - v.b
    m.mb = m.mb - v.b
    if v.o ~= '' then redis.call('ZREMRANGEBYLEX', K_OPS, '[' .. v.o, '(' .. v.o .. FF) end
  end
end

local function dropMessage(m, ms)
  local raw = redis.call('HGET', K_MSGS, ms)
  local lo, hi = '[' .. ms .. Z, '(' .. ms .. ONE
  local members = redis.call('ZRANGEBYLEX', K_VIDX, lo, hi)
  for i = 1, #members, 500 do
    local j = i + 499
    if j > #members then j = #members end
    redis.call('HDEL', K_VREC, unpack(members, i, j))
  end
  redis.call('ZREMRANGEBYLEX', K_VIDX, lo, hi)
  redis.call('ZREMRANGEBYLEX', K_OPS, lo, hi)
  redis.call('HDEL', K_MSGS, ms)
  redis.call('ZREM', K_ORDER, ms)
  m.mc = m.mc - 1
  if raw then
    local mm = cmsgpack.unpack(raw)
    m.mb = m.mb - mm.b
    if mm.s == 1 then m.os = m.os - 1 end
  end
end

-- Records a committed version (message list, delivery log), then enforces the bounds: versions
-- of this message, log entries and bytes, messages and bytes of the channel (oldest first; the
-- message being written is never dropped).
local function storeVersion(m, ms, msg, vs, d, slim, slimBytes, opPrefix)
  local member = ms .. Z .. vs
  redis.call('HSET', K_VREC, member, cmsgpack.pack({ j = slim, b = slimBytes, o = opPrefix }))
  redis.call('ZADD', K_VIDX, 0, member)
  msg.b = msg.b + slimBytes
  m.mb = m.mb + slimBytes
  redis.call('HSET', K_LOG, I(d), I(slimBytes) .. '|' .. I(#ms) .. '|' .. ms .. slim)
  m.lb = m.lb + slimBytes
  if m.lf == 0 then m.lf = d end
  local lo, hi = '[' .. ms .. Z, '(' .. ms .. ONE
  local nv = redis.call('ZLEXCOUNT', K_VIDX, lo, hi)
  while nv > MAXV do
    local first = redis.call('ZRANGEBYLEX', K_VIDX, lo, hi, 'LIMIT', 0, 1)
    dropVersion(m, msg, first[1])
    nv = nv - 1
  end
  redis.call('HSET', K_MSGS, ms, cmsgpack.pack(msg))
  -- The log holds delivery serials lf .. nd-1, contiguous: trim from the old end.
  local ll = m.nd - m.lf
  while ll > MAXLOG or (m.lb > MAXB and ll > 1) do
    local want = ll - MAXLOG
    if want < 16 then want = 16 end
    if want > ll then want = ll end
    local fields = {}
    for x = m.lf, m.lf + want - 1 do fields[#fields + 1] = I(x) end
    local raws = redis.call('HMGET', K_LOG, unpack(fields))
    local gone = {}
    for i, raw in ipairs(raws) do
      if not (ll > MAXLOG or (m.lb > MAXB and ll > 1)) then break end
      if raw then m.lb = m.lb - logEntry(raw) end
      gone[#gone + 1] = fields[i]
      ll = ll - 1
    end
    redis.call('HDEL', K_LOG, unpack(gone))
    m.lf = m.lf + #gone
  end
  if ll == 0 then m.lf = 0 end
  local count = redis.call('HLEN', K_MSGS)
  while count > MAXM or (m.mb > MAXB and count > 1) do
    local oldest = redis.call('ZRANGE', K_ORDER, 0, 0)[1]
    if oldest == nil or oldest == ms then break end
    dropMessage(m, oldest)
    count = count - 1
  end
end
`;

/** ARGV 10.. message_serial, action, op_id ('' none). Returns the snapshot. */
export const SNAPSHOT = `${PRELUDE}
local m = load()
save(m)
local raw = redis.call('HGET', K_MSGS, ARGV[10])
local agg, prior = '', ''
if raw then
  agg = cmsgpack.unpack(raw).a
  if ARGV[12] ~= '' then prior = opLookup(ARGV[10] .. Z .. ARGV[11] .. Z .. ARGV[12] .. Z) or '' end
end
return { m.e, 'OK', m.e, m.st, I(m.nd), I(m.os), agg, prior }
`;

/** ARGV 10.. message_serial, streaming (0|1), max open ('' none), record body, slim body ('' same),
 * slim bytes, aggregate rest body, data bytes. */
export const COMMIT_CREATE = `${PRELUDE}
local m = load()
local ms = ARGV[10]
local existing = redis.call('HGET', K_MSGS, ms)
if existing then save(m) return { m.e, 'exists', cmsgpack.unpack(existing).a } end
local streaming = tonumber(ARGV[11])
if streaming == 1 and ARGV[12] ~= '' and m.os >= tonumber(ARGV[12]) then
  save(m)
  return { m.e, 'limit', ARGV[12], I(m.os) }
end
local d = m.nd
if d >= MAX_SERIAL then return { m.e, 'ERR', 'serial_exhausted' } end
m.nd = d + 1
local rec = withDelivery(ARGV[13], d)
local slim = rec
if ARGV[14] ~= '' then slim = withDelivery(ARGV[14], d) end
local agg = '{"latest":' .. rec .. ',' .. string.sub(ARGV[16], 2)
if streaming == 1 then m.os = m.os + 1 end
local db = tonumber(ARGV[17])
local msg = { a = agg, s = streaming, b = db, db = db, v = ms }
m.mb = m.mb + db
m.mc = m.mc + 1
redis.call('ZADD', K_ORDER, I(d), ms)
storeVersion(m, ms, msg, ms, d, slim, tonumber(ARGV[15]), '')
save(m)
return { m.e, 'committed', m.e, I(d), I(m.os) }
`;

/** ARGV 10.. message_serial, action, op_id ('' none), expected latest version_serial, stale flag
 * (1: the new version_serial does not sort after the expected one), streaming (0|1), max open
 * ('' none), record body, slim body ('' same), slim bytes, aggregate rest body, data bytes,
 * receipt body ('' without op_id), new version_serial. */
export const COMMIT_MUTATION = `${PRELUDE}
local m = load()
local ms = ARGV[10]
local raw = redis.call('HGET', K_MSGS, ms)
if not raw then save(m) return { m.e, 'not_found' } end
local cur = cmsgpack.unpack(raw)
local opPrefix = ''
if ARGV[12] ~= '' then
  opPrefix = ms .. Z .. ARGV[11] .. Z .. ARGV[12] .. Z
  local prior = opLookup(opPrefix)
  if prior then save(m) return { m.e, 'prior', m.e, prior } end
end
if cur.v ~= ARGV[13] then
  save(m)
  return { m.e, 'conflict', m.e, m.st, I(m.nd), I(m.os), cur.a }
end
if ARGV[14] == '1' then save(m) return { m.e, 'stale', cur.a } end
local streaming = tonumber(ARGV[15])
if streaming == 1 and cur.s == 0 and ARGV[16] ~= '' and m.os >= tonumber(ARGV[16]) then
  save(m)
  return { m.e, 'limit', ARGV[16], I(m.os) }
end
local d = m.nd
if d >= MAX_SERIAL then return { m.e, 'ERR', 'serial_exhausted' } end
m.nd = d + 1
local rec = withDelivery(ARGV[17], d)
local slim = rec
if ARGV[18] ~= '' then slim = withDelivery(ARGV[18], d) end
local db = tonumber(ARGV[21])
if cur.s ~= streaming then
  if streaming == 1 then m.os = m.os + 1 else m.os = m.os - 1 end
end
cur.s = streaming
m.mb = m.mb + db - cur.db
cur.b = cur.b + db - cur.db
cur.db = db
cur.a = '{"latest":' .. rec .. ',' .. string.sub(ARGV[20], 2)
cur.v = ARGV[23]
if opPrefix ~= '' then redis.call('ZADD', K_OPS, 0, opPrefix .. withDelivery(ARGV[22], d)) end
storeVersion(m, ms, cur, ARGV[23], d, slim, tonumber(ARGV[19]), opPrefix)
save(m)
return { m.e, 'committed', m.e, I(d), I(m.os) }
`;

/** ARGV 10: message_serial. */
export const LATEST = `${PRELUDE}
local m = load()
save(m)
local raw = redis.call('HGET', K_MSGS, ARGV[10])
if not raw then return { m.e, 'OK', m.e, '' } end
return { m.e, 'OK', m.e, cmsgpack.unpack(raw).a }
`;

/** ARGV 10.. message_serial, direction (o|n), limit, cursor version_serial ('' none). */
export const VERSIONS = `${PRELUDE}
local m = load()
save(m)
local ms, limit, cursor = ARGV[10], tonumber(ARGV[12]), ARGV[13]
local members
if ARGV[11] == 'o' then
  local min = '[' .. ms .. Z
  if cursor ~= '' then min = '(' .. ms .. Z .. cursor end
  members = redis.call('ZRANGEBYLEX', K_VIDX, min, '(' .. ms .. ONE, 'LIMIT', 0, limit + 1)
else
  local max = '(' .. ms .. ONE
  if cursor ~= '' then max = '(' .. ms .. Z .. cursor end
  members = redis.call('ZREVRANGEBYLEX', K_VIDX, max, '[' .. ms .. Z, 'LIMIT', 0, limit + 1)
end
local hasMore = 0
if #members > limit then hasMore = 1 members[#members] = nil end
local items = {}
if #members > 0 then
  local raws = redis.call('HMGET', K_VREC, unpack(members))
  for i, raw in ipairs(raws) do
    if raw then items[#items + 1] = cmsgpack.unpack(raw).j end
  end
end
return { m.e, 'OK', m.e, items, hasMore }
`;

/** ARGV 10.. after delivery serial, limit. */
export const REPLAY_AFTER = `${PRELUDE}
local m = load()
save(m)
local limit = tonumber(ARGV[11])
local items, latest, seen, hasMore = {}, {}, {}, 0
if m.lf > 0 then
  local from = tonumber(ARGV[10]) + 1
  if from < m.lf then from = m.lf end
  local to = m.nd - 1
  if to - from + 1 > limit then to = from + limit - 1 hasMore = 1 end
  if from <= to then
    local fields = {}
    for x = from, to do fields[#fields + 1] = I(x) end
    for _, raw in ipairs(redis.call('HMGET', K_LOG, unpack(fields))) do
      if raw then
        local _, ms, r = logEntry(raw)
        items[#items + 1] = r
        if not seen[ms] then
          seen[ms] = true
          local msg = redis.call('HGET', K_MSGS, ms)
          if msg then latest[#latest + 1] = cmsgpack.unpack(msg).a end
        end
      end
    end
  end
end
return { m.e, 'OK', info(m), items, latest, hasMore }
`;

export const STREAM_STATE = `${PRELUDE}
local m = load()
save(m)
return { m.e, 'OK', info(m) }
`;

/** ARGV 10: the new epoch of the reset. */
export const RESET = `${PRELUDE}
local m = load()
local prev = m.e
local purged = redis.call('HLEN', K_MSGS)
local ln = m.ln
m = fresh(ARGV[10])
m.ln = ln
pushLineage(m, prev)
save(m)
return { m.e, 'OK', prev, I(purged), info(m) }
`;
