-- Argo CD health check for xdr.minixdr.io/MiniXdr (config/argocd/kustomization.yaml registers it in argocd-cm).
-- Reads only what the operator writes: status.observedGeneration and the Ready, Degraded and Paused conditions.
-- Argo CD opens only Lua's base, table and package libraries (and part of os) for scripts from argocd-cm.
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

local function describe(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return fallback
end

if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  -- tostring, not math.floor or string.format: Argo CD runs this without the math and string libraries.
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation) ..
    " (observed: " .. (observed ~= nil and tostring(observed) or "none") .. ")"
  return hs
end

local degraded = condition("Degraded")
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(degraded, "Degraded")
  return hs
end

local paused = condition("Paused")
if paused ~= nil and paused.status == "True" then
  hs.status = "Suspended"
  hs.message = describe(paused, "Paused: the operator does not change this instance's children")
  return hs
end

local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready, "Ready")
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready, "Waiting for the Ready condition")
return hs
