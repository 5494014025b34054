-- Argo CD health check for nethealth.io/NetHealthCheck
-- (resource.customizations.health.nethealth.io_NetHealthCheck; see docs/argocd.md).
--
-- The operator writes only the check's status: Ready says whether the check can run,
-- Degraded whether a selected pod is degraded. Pods whose workload was moved to the
-- node's network and verified are Remediated, not degraded, so Degraded=True means a pod
-- is broken and nothing has fixed it yet. Recovering pods keep Degraded=True on purpose:
-- recovery has hysteresis, and a health that turns green early would hide a relapse.
--
-- Until the operator has seen the current spec (status.observedGeneration behind
-- metadata.generation) the status describes an older spec, so the check is Progressing
-- rather than whatever that older status said: no flapping after an edit.

local hs = {}

local function condition(conditions, wanted)
  if conditions == nil then
    return nil
  end
  for _, c in ipairs(conditions) do
    if c.type == wanted then
      return c
    end
  end
  return nil
end

local status = obj.status
if status == nil or status.conditions == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to pick up the check"
  return hs
end

local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local ready = condition(status.conditions, "Ready")
local degraded = condition(status.conditions, "Degraded")

if ready == nil or ready.status == "Unknown" then
  hs.status = "Progressing"
  hs.message = "Waiting for the check to start"
  return hs
end

if ready.status == "False" then
  if ready.reason == "NoPodsSelected" then
    -- Pods of a workload synced together with the check may not exist yet.
    hs.status = "Progressing"
  else
    hs.status = "Degraded"
  end
  hs.message = ready.reason .. ": " .. (ready.message or "")
  return hs
end

if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = degraded.message or degraded.reason
  return hs
end

-- The operator sets Degraded with the results of a probe run, never before one.
if degraded == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the first probe run"
  return hs
end

hs.status = "Healthy"
hs.message = degraded.message or ready.message or "No pod degraded"
return hs
