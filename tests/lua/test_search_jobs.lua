-- Search primitives (5 of 7): concurrent jobs batch together. Jobs of
-- concurrent tasks (eval, seq:score, lab.score; one model or two) share
-- engine steps, are split across steps when they do not fit one batch, and
-- give, bit for bit, what they give alone.
local PROMPTS = { "Once upon a time", "Tom and his sister", "The cat", "Lily wanted" }

test("single-sequence jobs of concurrent tasks share engine steps and give what they give alone", function()
  local m = lab.model.open(MODEL)
  local function gen(i) return lab.generate(m:seq(PROMPTS[i]), { max_tokens = 12, sampler = lab.sampler{ seed = i, temp = 1 } }) end
  local alone = {}
  for i = 1, #PROMPTS do alone[i] = gen(i) end
  local s0 = m:kv().steps
  local tasks = {}
  for i = 1, #PROMPTS do tasks[i] = lab.spawn(gen, i) end
  for i = 1, #PROMPTS do
    local ok, r = lab.await(tasks[i])
    check.ok(ok, r)
    check.same_list(r.tokens, alone[i].tokens, "task " .. i)
    for j = 1, #r.logprobs do check.eq(r.logprobs[j], alone[i].logprobs[j], "task " .. i .. " logprob " .. j) end
  end
  local steps = m:kv().steps - s0
  check.ok(steps < 2 * 13, "4 tasks x 12 tokens in " .. steps .. " engine steps (alone: 48)")
end)

-- Runs work(i) for each prompt alone, then as concurrent tasks: each task's
-- three scores are, bit for bit, the ones alone (with top, the top-2 of each
-- token too), alone costs one step per score and together at most 6 steps.
local function scores_alone_and_together(m, work, what, top)
  local bits = function(x) return string.pack("<d", x) end
  local alone = {}
  local s0 = m:kv().steps
  for i = 1, #PROMPTS do alone[i] = work(i) end
  local steps_alone = m:kv().steps - s0
  s0 = m:kv().steps
  local tasks = {}
  for i = 1, #PROMPTS do tasks[i] = lab.spawn(work, i) end
  for i = 1, #PROMPTS do
    local ok, got = lab.await(tasks[i])
    check.ok(ok, got)
    for r = 1, 3 do
      local a, b = alone[i][r], got[r]
      check.eq(#b.logprobs, #a.logprobs)
      for j = 1, #a.logprobs do
        check.eq(bits(b.logprobs[j]), bits(a.logprobs[j]), what .. " task " .. i .. " score " .. r .. " token " .. j)
        if top then
          check.eq(b.top[j][1].id, a.top[j][1].id)
          check.eq(bits(b.top[j][2].logprob), bits(a.top[j][2].logprob))
        end
      end
      check.eq(bits(b.logprob), bits(a.logprob))
    end
  end
  local steps = m:kv().steps - s0
  check.eq(steps_alone, 12, what .. " alone: one step per score")
  check.ok(steps <= 6, "4 tasks x 3 " .. what .. " in " .. steps .. " engine steps (alone: 12)")
end

test("score jobs of concurrent tasks share engine steps and give, bit for bit, what they give alone", function()
  local m = lab.model.open(MODEL)
  local CONTS = { " there was a dog", " went to the park", " sat on the mat", " a big red ball" }
  local seqs = {}
  for i = 1, #PROMPTS do seqs[i] = m:seq(PROMPTS[i]); seqs[i]:eval() end
  -- each task scores three continuations, one after the other, with the top-2
  scores_alone_and_together(m, function(i)
    local out = {}
    for r = 0, 2 do out[#out + 1] = seqs[i]:score(CONTS[(i + r - 1) % #CONTS + 1], { top = 2 }) end
    return out
  end, "seq:score", true)
  for i = 1, #PROMPTS do seqs[i]:close() end
  -- lab.score (from scratch) too
  scores_alone_and_together(m, function(i)
    local out = {}
    for r = 0, 2 do out[#out + 1] = assert(lab.score(m, PROMPTS[i], CONTS[(i + r - 1) % #CONTS + 1])) end
    return out
  end, "lab.score", false)
end)

test("jobs of different kinds (eval, seq:score, lab.score) share engine steps and give, bit for bit, what they give alone", function()
  local m = lab.model.open(MODEL)
  local bits = function(x) return string.pack("<d", x) end
  local base = {}
  for i = 1, 3 do base[i] = m:seq(PROMPTS[i]); base[i]:eval() end
  -- task 1 generates (eval jobs), task 2 scores on the cache (seq:score),
  -- task 3 scores from scratch (lab.score), four rounds each
  local function work(kind)
    local out = {}
    for r = 1, 4 do
      if kind == 1 then
        local nxt = base[1]:eval{ top = 3 }.top[1].id
        local row = base[1]:append(nxt):eval{ top = 3 }
        out[r] = { tok = row.top[1].id, lp = row.top[1].logprob }
      elseif kind == 2 then
        out[r] = base[2]:score(" there was a dog " .. r, { top = 2 })
      else
        out[r] = assert(lab.score(m, PROMPTS[3], " went to the park " .. r))
      end
    end
    return out
  end
  local snap = base[1]:tokens()
  local s0 = m:kv().steps
  local alone = {}
  for k = 1, 3 do alone[k] = work(k) end
  local steps_alone = m:kv().steps - s0
  base[1]:close()
  base[1] = m:seq(snap)
  base[1]:eval()
  s0 = m:kv().steps
  local tasks = {}
  for k = 1, 3 do tasks[k] = lab.spawn(work, k) end
  local got = {}
  for k = 1, 3 do
    local ok, r = lab.await(tasks[k])
    check.ok(ok, r)
    got[k] = r
  end
  local steps = m:kv().steps - s0
  for r = 1, 4 do
    check.eq(got[1][r].tok, alone[1][r].tok, "eval round " .. r)
    check.eq(bits(got[1][r].lp), bits(alone[1][r].lp), "eval round " .. r .. " log-prob")
    for k = 2, 3 do
      local a, b = alone[k][r], got[k][r]
      check.eq(#b.logprobs, #a.logprobs)
      for j = 1, #a.logprobs do check.eq(bits(b.logprobs[j]), bits(a.logprobs[j]), "kind " .. k .. " round " .. r .. " token " .. j) end
      check.eq(bits(b.logprob), bits(a.logprob))
    end
  end
  check.ok(steps < steps_alone - 4, string.format("3 kinds x 4 rounds in %d engine steps (alone: %d)", steps, steps_alone))
  for i = 1, 3 do base[i]:close() end
end)

-- The bytes of a Logits row (memcmp in Lua).
local function row_bytes(l)
  local t = {}
  for id = 0, #l - 1 do t[#t + 1] = string.pack("<f", l:get(id)) end
  return table.concat(t)
end

-- three seq:score of 6-token continuations, a lab.score of 13 entries and
-- an evaluation of every position of a 21-token text: 18 + 13 + 21
-- entries; with n_batch = 8 one job alone is up to 3 steps and together
-- they are cut wherever a step is full, inside jobs too
local LONG = "Once upon a time, there was a little girl named Lily. She liked to play"
local function split_work(m, base, kind)
  if kind <= 3 then
    return assert(base[kind]:score(({ " there was a dog", " went to the park", " sat on the mat" })[kind], { top = 3 }))
  elseif kind == 4 then
    return assert(lab.score(m, "The cat sat", " on the mat and looked at the big red ball"))
  end
  local s = base[4]          -- made before the task: making a sequence waits for the model's queued jobs
  local rows = assert(s:eval{ all = true })
  local out = { n = #rows, evaluated = #rows }
  for i, r in ipairs(rows) do out[i] = row_bytes(r) end
  s:close()
  return out
end

local function same_split(a, b, what)
  local bits = function(x) return string.pack("<d", x) end
  check.eq(b.evaluated, a.evaluated, what .. " entries")
  if a.n and a[1] then
    for i = 1, a.n do check.ok(b[i] == a[i], what .. ": row " .. i .. " is bit for bit the row alone") end
    return
  end
  check.eq(#b.logprobs, #a.logprobs, what)
  for j = 1, #a.logprobs do check.eq(bits(b.logprobs[j]), bits(a.logprobs[j]), what .. " token " .. j) end
  check.eq(bits(b.logprob), bits(a.logprob), what .. " sum")
  for j = 1, #(a.top or {}) do
    for r = 1, #a.top[j] do
      check.eq(b.top[j][r].id, a.top[j][r].id, what .. " top id")
      check.eq(bits(b.top[j][r].logprob), bits(a.top[j][r].logprob), what .. " top logprob")
    end
  end
end

test("jobs that do not fit one batch are split across consecutive steps, each job's rows bit for bit as alone", function()
  local NB = 8
  local m = lab.model.open(MODEL, { n_batch = NB })
  local base = {}
  for i = 1, 3 do base[i] = m:seq(PROMPTS[i]); base[i]:eval() end
  local alone, entries = {}, 0
  local s0 = m:kv().steps
  for k = 1, 5 do
    base[4] = m:seq(LONG)
    alone[k] = split_work(m, base, k)
    entries = entries + alone[k].evaluated
  end
  check.ok(alone[5].n > NB, "the evaluation alone is larger than a batch")
  local steps_alone = m:kv().steps - s0
  base[4] = m:seq(LONG)
  collectgarbage(); collectgarbage()
  s0 = m:kv().steps
  local tasks = {}
  for k = 1, 5 do tasks[k] = lab.spawn(split_work, m, base, k) end
  for k = 1, 5 do
    local ok, r = lab.await(tasks[k])
    check.ok(ok, r)
    same_split(alone[k], r, "job " .. k)
  end
  local steps = m:kv().steps - s0
  -- all entries end to end, n_batch per step (jobs alone: one step per job at least)
  check.eq(steps, (entries + NB - 1) // NB, string.format("%d entries in %d steps of %d (alone: %d)", entries, steps, NB, steps_alone))
  check.ok(steps < steps_alone, "fewer steps than alone")
  -- a shared step that fails (the cache cannot hold all of them at once)
  -- leaves the jobs it did not finish to run alone, resuming where they
  -- stopped: the same rows, and the evaluation's tokens appended once
  local used0 = m:kv().used
  -- 44 free cells: the steps fail at entries 40-47 (the evaluation, 32-59,
  -- has 8 tokens appended
  -- and resumes alone), alone the largest job needs 28
  local small = lab.model.open(MODEL, { n_batch = NB, n_ctx = used0 + 44 })
  local sbase = {}
  for i = 1, 3 do sbase[i] = small:seq(PROMPTS[i]); sbase[i]:eval() end
  sbase[4] = small:seq(LONG)
  collectgarbage(); collectgarbage()
  s0 = small:kv().steps
  for k = 1, 5 do tasks[k] = lab.spawn(split_work, small, sbase, k) end
  for k = 1, 5 do
    local ok, r = lab.await(tasks[k])
    check.ok(ok, r)
    same_split(alone[k], r, "after a failed step, job " .. k)
  end
  check.ok(small:kv().steps - s0 > (entries + NB - 1) // NB, "a step failed and the jobs it held ran alone")
  check.eq(small:kv().used, used0, "the forks and sequences are gone, nothing appended twice")
  for i = 1, 3 do base[i]:close(); sbase[i]:close() end
end)

test("jobs of two models pending together run in one worker cycle: one step per model", function()
  local m1 = lab.model.open(MODEL)
  local m2 = check.ok(lab.model.open(WS .. "/models/s260-q8_0.gguf"))
  local ms, seqs = { m1, m2, m1, m2 }, {}
  local function gen(i) return lab.generate(seqs[i], { max_tokens = 8, sampler = lab.sampler{ seed = i, temp = 1 } }) end
  local alone = {}
  for i = 1, 4 do seqs[i] = ms[i]:seq(PROMPTS[i]); alone[i] = gen(i); seqs[i]:close() end
  -- the sequences are made before the tasks start, and no garbage is left
  -- to collect: making or collecting one waits for its model's queued
  -- jobs, which then run without waiting for the other tasks' jobs
  for i = 1, 4 do seqs[i] = ms[i]:seq(PROMPTS[i]) end
  collectgarbage(); collectgarbage()
  local a1, a2 = m1:kv().steps, m2:kv().steps
  local tasks = {}
  for i = 1, 4 do tasks[i] = lab.spawn(gen, i) end   -- queued m1, m2, m1, m2 every step
  for i = 1, 4 do
    local ok, r = lab.await(tasks[i])
    check.ok(ok, r)
    check.same_list(r.tokens, alone[i].tokens, "agent " .. i)
    for j = 1, #r.logprobs do check.eq(string.pack("<d", r.logprobs[j]), string.pack("<d", alone[i].logprobs[j]), "agent " .. i .. " logprob " .. j) end
  end
  check.eq(m1:kv().steps - a1, 8, "two agents of model 1 x 8 tokens: 8 steps (alone: 16)")
  check.eq(m2:kv().steps - a2, 8, "two agents of model 2 x 8 tokens: 8 steps (alone: 16)")
  for i = 1, 4 do seqs[i]:close() end
  -- jobs that span both models (lab.score_batch, lab.eval_batch over a
  -- sequence of each) with single-model ones: one step per model
  local s1, s2 = m1:seq(PROMPTS[1]), m2:seq(PROMPTS[2])
  s1:eval(); s2:eval()
  local e1, e2 = m1:seq(PROMPTS[3]), m2:seq(PROMPTS[4])
  local function work(k)
    if k == 1 then return assert(lab.score_batch({ { s1, " there was a dog" }, { s2, " went to the park" } }, { top = 2 })) end
    if k == 2 then return assert(lab.eval_batch({ e1, e2 }, { top = 2 })) end
    if k == 3 then return { assert(s1:score(" sat on the mat")) } end
    return { assert(lab.score(m2, "The cat", " sat on the mat")) }
  end
  local want = {}
  for k = 1, 4 do want[k] = work(k) end
  e1:close(); e2:close()
  e1, e2 = m1:seq(PROMPTS[3]), m2:seq(PROMPTS[4])
  collectgarbage(); collectgarbage()
  a1, a2 = m1:kv().steps, m2:kv().steps
  for k = 1, 4 do tasks[k] = lab.spawn(work, k) end
  for k = 1, 4 do
    local ok, r = lab.await(tasks[k])
    check.ok(ok, r)
    for i = 1, #want[k] do
      local a, b = want[k][i], r[i]
      if a.logprobs and a.logprob then
        same_split(a, b, "job " .. k .. " item " .. i)
      else
        check.eq(b.top[1].id, a.top[1].id)
        check.eq(string.pack("<d", b.top[2].logprob), string.pack("<d", a.top[2].logprob), "job " .. k .. " row " .. i)
      end
    end
  end
  check.eq(m1:kv().steps - a1, 1, "model 1: one step for four jobs")
  check.eq(m2:kv().steps - a2, 1, "model 2: one step for four jobs")
  s1:close(); s2:close(); e1:close(); e2:close()
end)
