-- bench/ensemble.lua: the cost of decoding three models together (proxy
-- tuning) against decoding each alone. Run by bench/run.sh (make bench):
--
--   logitlab run bench/ensemble.lua BASE EXPERT ANTI [N [REPS [THREADS]]]
--
-- Prints one JSON object per figure: per-token milliseconds of
--   single    each model alone: seq:eval, argmax, append (one token per step)
--   ensemble  the three stepped together: ONE lab.eval_batch, the proxy mix
--             (lab.logits.combine), the sampler's pick, an append to each
--   plugin    the plugins' step (lib/ensemble.lua Branch:step): the above
--             plus the chosen token's probability under the four distributions
--   tui       the workbench pane's step: plugin + each distribution's top 10
-- and ratio = figure / the sum of the three single figures (the target for
-- `ensemble` is <= 1.1). Each figure is the best of REPS runs of N tokens
-- (interleaved, so that load from other processes hits all alike).
local E = assert(lab.require("ensemble"))
local paths = { arg[1], arg[2], arg[3] }
local N = math.tointeger(tonumber(arg[4] or "64"))
local REPS = math.tointeger(tonumber(arg[5] or "3"))
local THREADS = math.tointeger(tonumber(arg[6] or "0"))
if THREADS == 0 then THREADS = nil end
assert(paths[1] and paths[2] and paths[3], "usage: logitlab run bench/ensemble.lua BASE EXPERT ANTI [N [REPS [THREADS]]]")
lab.budget{ seconds = 0 }

local ens = assert(E.open({ { name = "base", path = paths[1] }, { name = "expert", path = paths[2] },
                            { name = "anti", path = paths[3] } }, { n_ctx = 512, threads = THREADS }))
local PROMPT = "Once upon a time, in a small village by the sea, there lived"
local A = 1.0
local function mix(rows)
  return lab.logits.combine({ { rows[1], 1 }, { rows[2], A, rows[3] } }, { trim = true })
end

-- ms per token of fn(seqs) over N tokens, after 4 warm-up tokens
local function timed(make, stepfn)
  local st = make()
  for _ = 1, 4 do stepfn(st) end
  local t0 = lab.now()
  for _ = 1, N do stepfn(st) end
  local ms = (lab.now() - t0) * 1000 / N
  if st.close then st.close() end
  return ms
end

local function single(i)
  local m = ens.roles[i].model
  return timed(function()
    local s = m:seq(PROMPT)
    return { s = s, close = function() s:close() end }
  end, function(st)
    local l = assert(st.s:eval())
    st.s:append(l:argmax())
  end)
end

local function ensemble()
  local sampler = lab.sampler{ temp = 0 }
  return timed(function()
    local seqs = {}
    for i, r in ipairs(ens.roles) do seqs[i] = r.model:seq(PROMPT) end
    return { seqs = seqs, close = function() for _, s in ipairs(seqs) do s:close() end end }
  end, function(st)
    local rows = assert(lab.eval_batch(st.seqs))
    local tok = sampler:pick(mix(rows))
    sampler:accept(tok)
    for _, s in ipairs(st.seqs) do s:append(tok) end
  end)
end

local function plugin_step(top)
  local sampler = lab.sampler{ temp = 0 }
  return timed(function()
    local b = assert(ens:begin(PROMPT))
    return { b = b, close = function() b:close() end }
  end, function(st)
    assert(st.b:step(mix, sampler, { top = top }))
  end)
end

local best = {}
local function keep(name, ms) best[name] = math.min(best[name] or math.huge, ms) end
for _ = 1, REPS do
  for i = 1, 3 do keep("single" .. i, single(i)) end
  keep("ensemble", ensemble())
  keep("plugin", plugin_step(nil))
  keep("tui", plugin_step(10))
end

local threads = ens.roles[1].info.threads
local config = {}
for i, r in ipairs(ens.roles) do config[i] = r.path:match("([^/]*)%.gguf$") or r.path end
config = table.concat(config, "+")
local sum = best.single1 + best.single2 + best.single3
local function line(t)
  t.bench, t.config, t.threads, t.n, t.reps = "ensemble", config, threads, N, REPS
  lab.print(lab.json.encode(t))
end
for i = 1, 3 do
  line{ test = "single", role = ens.roles[i].name, model = ens.roles[i].path:match("[^/]*$"),
        ms_per_token = best["single" .. i] }
end
line{ test = "single_sum", ms_per_token = sum }
for _, k in ipairs{ "ensemble", "plugin", "tui" } do
  line{ test = k, ms_per_token = best[k], ratio = best[k] / sum }
end
ens:close()
