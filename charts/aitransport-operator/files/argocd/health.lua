-- Argo CD health check for aitransport.io/AITransportCluster and aitransport.io/ChannelPolicy
-- (OPERATOR.md 6.8). Argo CD runs it with the live object as `obj` and reads the returned
-- table. Plain Lua 5.1 (what Argo CD's gopher-lua runs). argocd-cm.yaml beside it is the
-- ConfigMap snippet that installs it, generated from this file by `npm run generate`.
--
--   Progressing  the operator has not reported on the current generation yet, or
--                Reconciling / Upgrading (cluster) or Resetting (policy) is True
--   Degraded     Stalled is True (a failed health gate, an invalid spec, a stalled reset),
--                or Ready is False with nothing in progress
--   Suspended    ReconciliationPaused is True (aitransport.io/pause-reconciliation)
--   Healthy      Ready is True and status.observedGeneration == metadata.generation
local hs = {}

local function condition(conditionType)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

local function isTrue(conditionType)
  local c = condition(conditionType)
  return c ~= nil and c.status == "True"
end

local function messageOf(conditionType, fallback)
  local c = condition(conditionType)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c ~= nil and c.reason ~= nil and c.reason ~= "" then
    return conditionType .. ": " .. c.reason
  end
  return fallback
end

local generation = obj.metadata.generation
local observed = nil
if obj.status ~= nil then
  observed = obj.status.observedGeneration
end

if observed == nil or (generation ~= nil and observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

if isTrue("Stalled") then
  hs.status = "Degraded"
  hs.message = messageOf("Stalled", "Stalled")
  return hs
end

if isTrue("ReconciliationPaused") then
  hs.status = "Suspended"
  hs.message = messageOf("ReconciliationPaused", "Reconciliation is paused")
  return hs
end

for _, t in ipairs({ "Upgrading", "Resetting", "Reconciling" }) do
  if isTrue(t) then
    hs.status = "Progressing"
    hs.message = messageOf(t, t)
    return hs
  end
end

local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = messageOf("Ready", "Ready")
  return hs
end
if ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = messageOf("Ready", "Not ready")
  return hs
end

hs.status = "Progressing"
hs.message = "Waiting for the Ready condition"
return hs
