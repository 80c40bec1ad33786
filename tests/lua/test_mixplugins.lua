-- The logit-arithmetic plugins (plugins/proxy.lua, contrastive.lua,
-- generic.lua, cdr.lua) driven as the TUI drives them: their command, pane
-- keys and status item through lab.ui, their records read back from the
-- workspace and checked against computations by hand from each model's
-- own logits. Models: two different real models over one vocabulary,
-- stories260K (as F32 and Q4_0, in models/, made by tests/test_lua.sh) and
-- llama2xs-260K (a llama2.c checkpoint in the shared real/ folder).
local F32, Q4 = WS .. "/models/s260-f32.gguf", WS .. "/models/s260-q4_0.gguf"
local XS = MODEL_DIR .. "/real/llama2xs-260K.bin"
local PROMPT = "Once upon a time"

local function load(name)
  check.ok(lab.plugin.load(name))
  return { pane = ui_hook("pane", name), status = ui_hook("status", name) }
end

local function header(p) return lab.ui.pane_draw(p.pane, 160, 30)[1] end
local function ntok(p) return tonumber(header(p):match("| (%d+) tok")) end
local function running(p) return lab.ui.status_get(p.status):find("▶") ~= nil end
local function idle(p) check.wait(function() return not running(p) end, "the generation to end") end

local function latest_run(plugin)
  return check.ok(lab.store.query("SELECT * FROM runs WHERE plugin = ? ORDER BY id DESC LIMIT 1", { plugin }))[1]
end

local function records(run, kind)
  local out = {}
  for _, r in ipairs(check.ok(lab.store.query("SELECT data FROM records WHERE run_id = ? AND kind = ? ORDER BY id",
                                              { run, kind }))) do
    out[#out + 1] = lab.json.decode(r.data)
  end
  return out
end

-- the logits of each model after PROMPT + toks, each evaluated alone
local models = {}
local function own_logits(path, toks)
  models[path] = models[path] or check.ok(lab.model.open(path))
  local s = models[path]:seq(PROMPT)
  if #toks > 0 then s:append(toks) end
  local l = check.ok(s:eval())
  s:close()
  return l
end

-- log-softmax by hand of f over the ids where keep(id) (others: -inf)
local function log_softmax(n, f, keep)
  local x, mx = {}, -math.huge
  for i = 0, n - 1 do
    x[i] = (not keep or keep(i)) and f(i) or -math.huge
    if x[i] > mx then mx = x[i] end
  end
  local s = 0
  for i = 0, n - 1 do s = s + math.exp(x[i] - mx) end
  for i = 0, n - 1 do x[i] = x[i] - (mx + math.log(s)) end
  return x
end

local function argmax(x, n)
  local b, id = -math.huge, nil
  for i = 0, n - 1 do if x[i] > b then b, id = x[i], i end end
  return id
end

-- Checks each token record of a greedy run against want(prefix) -> the
-- mix's log-probabilities and the roles' own logits.
local function check_records(recs, roles, mix_field, want)
  check.ok(#recs > 0, "records")
  local prefix = {}
  for j, r in ipairs(recs) do
    check.eq(r.pos, j, "positions in order")
    local rows = {}
    for i, role in ipairs(roles) do rows[i] = own_logits(role[2], prefix) end
    local lp = want(rows, r)
    check.eq(r.tok, argmax(lp, 512), "greedy: the argmax of the mix at " .. j)
    check.near(r[mix_field], math.exp(lp[r.tok]), 1e-5, mix_field .. " at " .. j)
    for i, role in ipairs(roles) do
      check.near(r["p_" .. role[1]], rows[i]:prob(r.tok), 1e-5, "p_" .. role[1] .. " at " .. j)
    end
    check.near(r.shift, r[mix_field] - r["p_" .. roles[1][1]], 1e-12, "shift")
    prefix[#prefix + 1] = r.tok
  end
end

test("proxy: the command runs, records every token, and the records match a computation by hand", function()
  local p = load("proxy")
  check.ok(lab.ui.pane_draw(p.pane, 80, 10)[3]:find("usage: :proxy"), "the empty pane explains")
  check.ok(lab.ui.run_command("proxy", ("base=%s expert=%s anti=%s a=1.5 n=8 %s"):format(F32, XS, Q4, PROMPT)))
  idle(p)
  check.eq(ntok(p), 8)
  local run = latest_run("proxy")
  check.eq(run.status, "running", "the run stays open for branches until the next :proxy")
  local params = lab.json.decode(run.params)
  check.eq(params.base, F32); check.eq(params.expert, XS); check.eq(params.anti, Q4)
  check.eq(params.a, 1.5); check.eq(params.prompt, PROMPT); check.eq(params.sampler.temp, 0)
  check.eq(run.seed, 42)
  local recs = records(run.id, "token")
  check.eq(#recs, 8)
  for _, r in ipairs(recs) do check.eq(r.a, 1.5); check.eq(r.branch, 1) end
  check_records(recs, { { "base", F32 }, { "expert", XS }, { "anti", Q4 } }, "p_combined", function(rows)
    return log_softmax(512, function(id) return rows[1]:get(id) + 1.5 * (rows[2]:get(id) - rows[3]:get(id)) end)
  end)
  -- the pane: text, the selected token's four probabilities and the shift, the columns
  local lines = lab.ui.pane_draw(p.pane, 120, 20)
  local all = table.concat(lines, "\n")
  check.ok(all:find(PROMPT, 1, true), "the text")
  check.ok(all:find("pos 8 ", 1, true) and all:find("shift ", 1, true), "the selected token's line")
  check.ok(all:find(" base ", 1, true) and all:find(" combined", 1, true), "the column headers")
  check.eq(#lines, 20, "fills the height")
  check.ok(lab.ui.status_get(p.status):find("proxy a=1.50 run " .. run.id, 1, true), lab.ui.status_get(p.status))
  -- a new :proxy ends the run
  check.ok(lab.ui.run_command("proxy", "n=0 " .. PROMPT))
  check.eq(check.ok(lab.store.query("SELECT status FROM runs WHERE id = ?", { run.id }))[1].status, "ok")
  check.ok(lab.plugin.disable("proxy"))
end)

test("proxy pane: step, a live, branch from an alternative, siblings, rewind", function()
  local p = load("proxy")
  check.ok(lab.ui.run_command("proxy", ("base=%s expert=%s anti=%s n=0 %s"):format(F32, XS, Q4, PROMPT)))
  check.eq(ntok(p), 0)
  for k = 1, 6 do
    check.eq(lab.ui.pane_key(p.pane, "s"), 1)
    check.wait(function() return ntok(p) == k and not running(p) end, "step " .. k)
  end
  check.eq(lab.ui.pane_key(p.pane, "+"), 3)
  check.ok(header(p):find("proxy a=1.10", 1, true), header(p))
  lab.ui.pane_key(p.pane, "-"); lab.ui.pane_key(p.pane, "-")
  check.ok(header(p):find("a=0.90", 1, true), header(p))
  for _ = 1, 3 do lab.ui.pane_key(p.pane, "Left") end
  check.ok(table.concat(lab.ui.pane_draw(p.pane, 160, 30), "\n"):find("pos 3 ", 1, true), "the cursor on position 3")
  lab.ui.pane_key(p.pane, "Down")
  check.eq(lab.ui.pane_key(p.pane, "Enter"), 1)
  check.eq(lab.ui.pane_key(p.pane, "s"), 3, "a step while the branch is made: refused")
  check.wait(function() return header(p):find("branch 2 of 2", 1, true) end, "the branch")
  local run = latest_run("proxy").id
  local br = records(run, "branch")
  check.eq(#br, 1); check.eq(br[1].branch, 2); check.eq(br[1].parent, 1); check.eq(br[1].at, 2)
  local by = { {}, {} }
  for _, r in ipairs(records(run, "token")) do by[r.branch][r.pos] = r end
  check.ok(by[2][3] and by[2][3].tok ~= by[1][3].tok, "branch 2 takes another token at position 3")
  check.eq(by[2][3].a, 0.9, "with the a of its time")
  check.eq(ntok(p), 3)
  check.eq(lab.ui.pane_key(p.pane, "s"), 1)
  check.wait(function() return ntok(p) == 4 and not running(p) end, "a step on the branch")
  lab.ui.pane_key(p.pane, "Left")
  lab.ui.pane_key(p.pane, "[")
  check.ok(header(p):find("branch 1 of 2 | 6 tok", 1, true), header(p))
  lab.ui.pane_key(p.pane, "]")
  check.ok(header(p):find("branch 2 of 2 | 4 tok", 1, true), header(p))
  lab.ui.pane_key(p.pane, "[")
  lab.ui.pane_key(p.pane, "r")           -- rewind branch 1 to position 3: a new branch 3
  check.ok(header(p):find("branch 3 of 3 | 3 tok", 1, true), header(p))
  -- a changes while a run goes on: the records show the switch
  check.ok(lab.ui.run_command("proxy", "n=150"))
  check.eq(lab.ui.pane_key(p.pane, "g"), 1)
  check.wait(function() return (ntok(p) or 0) >= 8 end, "the run to start")
  check.eq(lab.ui.pane_key(p.pane, "+"), 3)
  check.eq(lab.ui.pane_key(p.pane, "s"), 3, "s while running: a message, nothing else")
  idle(p)
  local as = {}
  for _, r in ipairs(records(run, "token")) do if r.branch == 3 then as[#as + 1] = r.a end end
  check.ok(#as >= 10, "the run generated tokens")
  check.eq(as[1], 0.9); check.near(as[#as], 1.0, 1e-9)
  for j = 2, #as do check.ok(as[j] >= as[j - 1], "a only rose") end
  -- Esc stops a run
  check.eq(lab.ui.pane_key(p.pane, "g"), 1)
  check.wait(function() return running(p) end, "the second run")
  check.eq(lab.ui.pane_key(p.pane, "Esc"), 3)
  idle(p)
  check.ok(header(p):find("stopped", 1, true), header(p))
  check.eq(lab.ui.pane_key(p.pane, "Esc"), 0, "Esc when idle is the workbench's")
  check.eq(lab.ui.pane_key(p.pane, "Tab"), 0)
  check.ok(lab.plugin.reload("proxy"))                   -- on_unload ends the run
  check.eq(check.ok(lab.store.query("SELECT status FROM runs WHERE id = ?", { run }))[1].status, "ok")
  check.ok(lab.plugin.disable("proxy"))
end)

test("contrastive: log p_strong - log p_weak over the plausible head", function()
  local p = load("contrastive")
  check.ok(lab.ui.run_command("contrastive", ("strong=%s weak=%s alpha=0.05 n=6 %s"):format(F32, XS, PROMPT)))
  idle(p)
  local run = latest_run("contrastive")
  local recs = records(run.id, "token")
  check.eq(#recs, 6)
  check_records(recs, { { "strong", F32 }, { "weak", XS } }, "p_cd", function(rows, r)
    local ls = log_softmax(512, function(id) return rows[1]:get(id) end)
    local mx = ls[argmax(ls, 512)]
    local n_head = 0
    local lp = log_softmax(512, function(id) return rows[1]:get(id) - rows[2]:get(id) end,
      function(id) if ls[id] >= mx + math.log(0.05) then n_head = n_head + 1; return true end end)
    check.eq(r.n_head, n_head, "the head's size")
    return lp
  end)
  check.ok(lab.plugin.disable("contrastive"))
end)

test("generic: v_baseline - a ReLU(v_reinforced - v_baseline)", function()
  local p = load("generic")
  check.ok(lab.ui.run_command("generic", ("baseline=%s reinforced=%s a=4 n=6 %s"):format(F32, XS, PROMPT)))
  idle(p)
  local recs = records(latest_run("generic").id, "token")
  check.eq(#recs, 6)
  check_records(recs, { { "baseline", F32 }, { "reinforced", XS } }, "p_generic", function(rows)
    return log_softmax(512, function(id)
      local b, r = rows[1]:get(id), rows[2]:get(id)
      return b - 4 * math.max(0, r - b)
    end)
  end)
  check.ok(lab.plugin.disable("generic"))
end)

test("cdr: candidates ranked by log p_strong(y|x) - log p_weak(y|x), recorded", function()
  local p = load("cdr")
  local typed = { ", there was a little girl", "the dog ate a car", "in a big forest" }
  local cands = { ", there was a little girl", " the dog ate a car", " in a big forest" }   -- as scored
  check.ok(lab.ui.run_command("cdr", ("strong=%s weak=%s %s | %s"):format(F32, XS, PROMPT, table.concat(typed, " | "))))
  check.wait(function() return lab.ui.status_get(p.status) ~= "" end, "the ranking")
  local run = latest_run("cdr")
  check.eq(run.status, "ok")
  local recs = records(run.id, "candidate")
  check.eq(#recs, 3)
  local strong, weak = check.ok(lab.model.open(F32)), check.ok(lab.model.open(XS))
  for k, r in ipairs(recs) do
    check.eq(r.rank, k)
    local want = check.ok(lab.score(strong, PROMPT, cands[r.index])).logprob - check.ok(lab.score(weak, PROMPT, cands[r.index])).logprob
    check.near(r.reward, want, 1e-9, "reward of candidate " .. r.index)
    check.eq(r.text, cands[r.index])
    if k > 1 then check.ok(recs[k - 1].reward >= r.reward, "best first") end
  end
  local lines = lab.ui.pane_draw(p.pane, 120, 12)
  check.ok(lines[3]:find(">  1", 1, true), lines[3])
  check.eq(lab.ui.pane_key(p.pane, "Down"), 3)
  check.ok(table.concat(lab.ui.pane_draw(p.pane, 200, 12), "\n"):find("per token log-ratio", 1, true))
  check.ok(lab.plugin.disable("cdr"))
end)

test("the plugins load lazily and explain themselves", function()
  for _, name in ipairs{ "proxy", "contrastive", "generic", "cdr" } do
    local p = load(name)
    check.eq(lab.ui.status_get(p.status), "", "no run yet: nothing in the status bar")
    check.ok(lab.ui.run_command(name, "a=oops"))     -- a message, not an error
    check.ok(lab.ui.run_command(name, "temp=-3"))
    check.ok(lab.ui.run_command(name, "top_p=7 seed=x"))
    check.ok(lab.ui.run_command(name, ""))
    for _, pl in ipairs(lab.plugin.list()) do
      if pl.name == name then check.ok(pl.enabled, name .. " survives bad input") end
    end
    check.ok(lab.plugin.disable(name))
  end
end)
