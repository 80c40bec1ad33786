-- bench/merge_steps.lua: engine steps of concurrent jobs (issue 14, lab_merge.c).
-- Run by bench/run.sh (make bench):
--
--   logitlab run bench/merge_steps.lua MODEL
--
-- One JSON object per figure (step counts, not times: they do not depend on
-- the machine's load):
--   two_models  2n agents generating 8 tokens each, alternately on two models
--               opened from MODEL, sequences made before the tasks start:
--               engine steps per model together, against one at a time (8n)
--   split       n_batch 8: three seq:score, a lab.score and an all-position
--               eval of 28 tokens at once, against one job at a time
local MODEL = assert(arg[1], "usage: logitlab run bench/merge_steps.lua MODEL")
local P = { "Once upon a time", "Tom and his sister", "The cat", "Lily wanted" }
for _, n in ipairs{ 2, 4, 8 } do
  local m1, m2 = assert(lab.model.open(MODEL)), assert(lab.model.open(MODEL))
  local seqs, ms = {}, {}
  for i = 1, 2 * n do
    ms[i] = (i % 2 == 1) and m1 or m2
    seqs[i] = ms[i]:seq(P[(i - 1) % 4 + 1])
  end
  collectgarbage(); collectgarbage()     -- a Seq collected meanwhile would wait for its model's jobs
  local a1, a2 = m1:kv().steps, m2:kv().steps
  local t = {}
  for i = 1, 2 * n do
    t[i] = lab.spawn(function() return lab.generate(seqs[i], { max_tokens = 8, sampler = lab.sampler{ seed = i } }) end)
  end
  for i = 1, 2 * n do assert(lab.await(t[i])) end
  print(lab.json.encode({ bench = "merge_steps", figure = "two_models", agents_per_model = n, tokens = 8,
    steps_model1 = m1:kv().steps - a1, steps_model2 = m2:kv().steps - a2, steps_one_at_a_time = 8 * n }))
end
local NB = 8
local m = assert(lab.model.open(MODEL, { n_batch = NB }))
local base = {}
for i = 1, 3 do base[i] = m:seq(P[i]); base[i]:eval() end
local LONG = "Once upon a time, there was a little girl named Lily. She liked to play"
local function work(k)
  if k <= 3 then return base[k]:score(({ " there was a dog", " went to the park", " sat on the mat" })[k]).evaluated end
  if k == 4 then return lab.score(m, "The cat sat", " on the mat and looked at the big red ball").evaluated end
  return #base[4]:eval{ all = true }
end
local entries, s0 = 0, m:kv().steps
for k = 1, 5 do base[4] = m:seq(LONG); entries = entries + work(k) end
local alone = m:kv().steps - s0
base[4] = m:seq(LONG)
collectgarbage(); collectgarbage()
s0 = m:kv().steps
local t = {}
for k = 1, 5 do t[k] = lab.spawn(work, k) end
for k = 1, 5 do assert(lab.await(t[k])) end
print(lab.json.encode({ bench = "merge_steps", figure = "split", n_batch = NB, jobs = 5, entries = entries,
  steps_together = m:kv().steps - s0, steps_one_at_a_time = alone }))
