-- bestofn: adaptive best-of-N with self-evaluation and mid-generation
-- pruning (Manvi, Singh, Ermon, 2024, arXiv:2410.02725), with plain
-- best-of-N on the same seeds as its baseline. The machinery (scorers,
-- rounds, pruning, accounting) is plugins/lib/bestofn.lua; docs/plugins.md
-- describes the method and every setting.
--
--   logitlab run plugins/bestofn.lua -m MODEL -p TEXT [--n 16] [--threshold T] [--prune 32,64:0.5]
--       [--scorer probe|logprob|logprob-sum|cdr|guard|lua:FILE] [--plain] [--compare] [--json]
--   logitlab run plugins/bestofn.lua -m MODEL --task NAME|FILE.jsonl [--instances K] [--budgets 1,2,4]
--       [--thresholds 0.5,0.9] ...   (the evaluation mode: accuracy against samples and tokens)
local B = assert(lab.require("bestofn"))
local BV = assert(lab.require("bestofnview"))
local E = B.E
local F = assert(lab.require("workflow"))   -- F.open_model: models found as agents.lua and architect.lua find them
local fmt, concat = string.format, table.concat

local SPEC = {
  { "model", "string", "MODEL", "the model", short = "m" },
  { "prompt", "string", "TEXT", "the prompt", short = "p" },
  { "n", "integer", "N", "the budget: at most N samples, drawn in rounds of 1, 2, 4, ...", default = 16 },
  { "threshold", "number", "T", "stop once the best score reaches T (in [0, 1])" },
  { "prune", "string", "L,L:F", "score live candidates at these lengths and keep the top fraction F", default = "none" },
  { "scorer", "string", "NAME", "probe | logprob | logprob-sum | cdr | guard | lua:FILE | verifier (--task)", default = "probe" },
  { "prune-scorer", "string", "NAME", "the scorer of the --prune checkpoints (as --scorer; default: --scorer)" },
  { "probe", "string", "TEXT", "the self-evaluation question", default = B.PROBE },
  { "target", "string", "TEXT", "the probe's target (default: No in a chat template, ' No' in plain text)" },
  { "strong", "string", "MODEL", "cdr scorer: the strong model (default: the model)" },
  { "weak", "string", "MODEL", "cdr scorer: the weak model" },
  { "guard-model", "string", "MODEL", "guard scorer: the classifier model (default: the model)" },
  { "guard-target", "string", "TEXT", "guard scorer: the category token read", default = " safe" },
  { "max-tokens", "integer", "N", "tokens per candidate at most", default = 64 },
  { "temp", "number", "T", "temperature of the first sample", default = 0.7 },
  { "temp-max", "number", "T", "temperature of the last sample of the budget", default = 1.0 },
  { "top-k", "integer", "K", "top-k of the sampler chain", default = 40 },
  { "top-p", "number", "P", "top-p of the sampler chain", default = 0.95 },
  { "min-p", "number", "P", "min-p of the sampler chain", default = 0.05 },
  { "seed", "integer", "N", "seed of sample 1 (sample k uses seed + k - 1)", default = 42 },
  { "task", "string", "NAME|FILE", "evaluation mode: a task of plugins/tasks/ or a workspace FILE.jsonl" },
  { "instances", "integer", "K", "evaluation: instances of a generated task (default 10); of a file, its first K (default all)" },
  { "first", "integer", "S", "evaluation: seed of the first generated instance (then S+1, ...)", default = 1 },
  { "difficulty", "integer", "D", "evaluation: the task generator's difficulty", default = 1 },
  { "shots", "integer", "N", "evaluation: worked examples in the task prompt (default: all the task has)" },
  { "budgets", "string", "K,K", "evaluation: plain best-of-k points (default 1,2,4,... and --n)" },
  { "thresholds", "string", "T,T", "evaluation: one adaptive point per threshold (none: no threshold; default --threshold or none)" },
  { "from-path", "flag", nil, "workbench: continue the branch tree's selected path (its tokens) instead of -p" },
  { "plain", "flag", nil, "plain best-of-N: all N samples, no pruning, no threshold" },
  { "compare", "flag", nil, "run plain best-of-N on the same seeds as well" },
  { "one-at-a-time", "flag", nil, "evaluate one candidate per engine call (for checking batching)" },
  { "json", "flag", nil, "JSON lines" },
  { "no-record", "flag", nil, "do not record the run in the workspace" },
  { "help", "flag", nil, "show this help", short = "h" },
}

local M = {}

-- M.open_model(flag, name) -> model: a model named on the command line,
-- looked up in the workspace first (NAME, then models/NAME), then as -m
-- NAME finds it (F.open_model, as agents.lua and architect.lua do), or
-- one clear line naming the option ("-m nosuch.gguf: no model file ...").
function M.open_model(flag, name)
  local m, err = E.long(F.open_model, name)
  if not m then error(fmt("%s %s: %s", flag, tostring(name), tostring(err)), 0) end
  return m
end

-- The scorer named by o.scorer for a prompt. cache (optional) keeps what
-- several prompts share (the scorer's models, a verifier's file).
function M.scorer(model, prompt, o, cache, name)
  cache = cache or {}
  local s = name or o.scorer
  if s == "probe" then
    cache.probe = cache.probe or (B.scorers.probe(model, { probe = o.probe, target = o.target }))
    return cache.probe
  end
  if s == "logprob" then return B.scorers.logprob("mean") end
  if s == "logprob-sum" then return B.scorers.logprob("sum") end
  if s == "guard" then
    local gm = model
    if o["guard-model"] then
      cache.guard = cache.guard or M.open_model("--guard-model", o["guard-model"])
      gm = cache.guard
    end
    return B.scorers.guard(gm, prompt, { target = o["guard-target"] })
  end
  if s == "cdr" then
    if not o.weak then error("--scorer cdr needs --weak MODEL (and --strong, default the model)", 0) end
    if not cache.ens then
      local strong = o.strong or o.model
      local ens, err = E.open({ { name = "strong", path = F.model_path(strong) or strong, format = "auto" },
                                { name = "weak", path = F.model_path(o.weak) or o.weak, format = "auto" } }, { any_vocab = true })
      if not ens then error(err, 0) end
      cache.ens = ens
    end
    return B.scorers.cdr(cache.ens, prompt, {})
  end
  local file = type(s) == "string" and s:match("^lua:(.+)$")
  if file then
    if not cache[s] then
      local src, err = lab.fs.read(file)
      if not src then error("--scorer " .. s .. ": " .. tostring(err), 0) end
      cache[s] = B.scorers.lua(src, file)
    end
    return cache[s]
  end
  if s == "verifier" then error("--scorer verifier needs --task (it is the task's exact-answer check)", 0) end
  error("unknown --scorer '" .. tostring(s) .. "' (probe, logprob, logprob-sum, cdr, guard, lua:FILE, verifier)", 0)
end

local function settings(o)
  return { n = o.n, threshold = o.threshold, prune = o.prune, scorer = o.scorer, prune_scorer = o["prune-scorer"],
           probe = o.probe, target = o.target,
           max_tokens = o["max-tokens"], temp = o.temp, temp_max = o["temp-max"], top_k = o["top-k"],
           top_p = o["top-p"], min_p = o["min-p"], seed = o.seed, plain = o.plain or false, model = o.model,
           prompt = o.prompt }
end

local function record(res, o, model, mode)
  if o["no-record"] then return nil end
  local params = settings(o)
  params.mode = mode
  params.seeds = {}
  for i, c in ipairs(res.candidates) do params.seeds[i] = c.seed end
  local rec, why = E.record_begin("bestofn", params, o.seed, { model })
  if not rec then lab.print("bestofn: not recorded: " .. tostring(why)); return nil end
  for _, c in ipairs(res.candidates) do
    rec:put("candidate", { index = c.index, round = c.round, seed = c.seed, temp = c.temp, tokens = c.tokens,
                           text = c.text, checkpoints = c.checkpoints, pruned_at = c.pruned_at or lab.json.null,
                           score = c.score or lab.json.null, done = c.done or lab.json.null })
  end
  if res.winner then rec:put("winner", { index = res.winner.index, score = res.winner.score, text = res.winner.text }) end
  local a = res.acct
  rec:metric("tokens", a.tokens); rec:metric("probe_tokens", a.probe_tokens); rec:metric("engine_steps", a.steps)
  rec:metric("wall_s", a.wall); rec:metric("samples", res.drawn)
  if res.winner then rec:metric("best_score", res.winner.score) end
  rec:finish("ok")
  return rec
end

local function report(res, o, mode, rec)
  local a, w = res.acct, res.winner
  if o.json then
    for _, c in ipairs(res.candidates) do
      lab.print(lab.json.encode{ type = "candidate", mode = mode, index = c.index, round = c.round, seed = c.seed,
        temp = c.temp, score = c.score or lab.json.null, pruned_at = c.pruned_at or lab.json.null,
        checkpoints = c.checkpoints, text = c.text })
    end
    lab.print(lab.json.encode{ type = "done", mode = mode, winner = w and w.index or lab.json.null,
      score = w and w.score or lab.json.null, text = w and w.text or lab.json.null, samples = res.drawn,
      rounds = #res.rounds, tokens = a.tokens, probe_tokens = a.probe_tokens, engine_steps = a.steps,
      wall_s = a.wall, run = rec and rec.id or lab.json.null })
  else
    for _, c in ipairs(res.candidates) do
      lab.print(fmt("%s #%-3d r%d T=%.2f %s %s", w == c and "*" or " ", c.index, c.round, c.temp,
        c.pruned_at and fmt("pruned@%d", c.pruned_at) or fmt("%.4g", c.score or 0 / 0), E.visible(c.text)))
    end
    lab.print(fmt("%s: winner #%s score %s | samples %d, rounds %d, tokens %d, probe tokens %d, engine steps %d, %.3f s%s",
      mode, w and w.index or "-", w and fmt("%.4g", w.score) or "-", res.drawn, #res.rounds, a.tokens,
      a.probe_tokens, a.steps, a.wall, rec and (", run " .. rec.id) or ""))
  end
end

-- ---- the evaluation mode (--task) ------------------------------------------

local function instance_line(i, inst)
  local t = {}
  for _, r in ipairs(inst.rows) do t[#t + 1] = fmt("%s %s (%d)", r.key, r.ok and "ok" or "--", r.samples) end
  return fmt("%-14s %s", inst.item.id, concat(t, "  "))
end

function M.task_main(o, view)
  local EV = assert(lab.require("bestofn_eval"))
  local items, err = EV.items(o.task, { instances = o.instances, first = o.first, difficulty = o.difficulty, shots = o.shots })
  if not items then error(err, 0) end
  local budgets, thresholds
  if o.budgets then budgets, err = EV.parse_budgets(o.budgets, o.n) else budgets = EV.default_budgets(o.n) end
  if not budgets then error(err, 0) end
  thresholds, err = EV.parse_thresholds(o.thresholds or (o.threshold and tostring(o.threshold)) or "none")
  if not thresholds then error(err, 0) end
  local prune = B.parse_prune(o.prune)
  if o.plain or o.compare then error("--task runs adaptive and plain side by side: drop --plain / --compare", 0) end
  lab.budget{ seconds = 0 }
  local model = M.open_model("-m", o.model)
  local cache = {}
  local function scorer_for(item, name)
    if (name or o.scorer) == "verifier" then
      return function(c) return item.check(c.text) and 1 or 0 end
    end
    return M.scorer(model, item.prompt, o, cache, name)
  end
  scorer_for(items[1])                  -- a bad scorer fails here, before anything is recorded
  local ps = o["prune-scorer"]
  if ps then scorer_for(items[1], ps) end
  local rec
  if not o["no-record"] then
    local params = settings(o)
    params.mode, params.prompt = "task", nil
    params.task, params.instances, params.first, params.difficulty, params.shots = o.task, #items, o.first, o.difficulty, o.shots
    params.budgets, params.thresholds = budgets, {}
    for i, t in ipairs(thresholds) do params.thresholds[i] = t or "none" end
    local why
    rec, why = E.record_begin("bestofn", params, o.seed, { model })
    if not rec then lab.print("bestofn: not recorded: " .. tostring(why)) end
  end
  local function put_candidates(i, mode, threshold, res)
    for _, c in ipairs(res.candidates) do
      rec:put("candidate", { instance = i, mode = mode, threshold = threshold or lab.json.null, index = c.index,
        round = c.round, seed = c.seed, temp = c.temp, tokens = c.tokens, text = c.text, checkpoints = c.checkpoints,
        pruned_at = c.pruned_at or lab.json.null, score = c.score or lab.json.null, probe_tokens = c.probe_tokens,
        correct = c.pruned_at and lab.json.null or (items[i].check(c.text) and true or false) })
    end
  end
  -- the live line (lab.progress): a terminal line, JSON lines with --json
  lab.progress_mode(o.json and "json" or "auto")
  local t0 = lab.now()
  lab.progress(fmt("bestofn: instance 1/%d", #items), { done = 0, total = #items })
  local ok, res = pcall(EV.evaluate, model, items, {
    n = o.n, budgets = budgets, thresholds = thresholds, prune = prune, max_tokens = o["max-tokens"], seed = o.seed,
    sampler = { top_k = o["top-k"], top_p = o["top-p"], min_p = o["min-p"] },
    temp = B.anneal(o.temp, o["temp-max"], o.n), batched = not o["one-at-a-time"], scorer = scorer_for,
    prune_scorer = ps and function(item) return scorer_for(item, ps) end,
    observe = view and function(item, label, text) return BV.observer(view, label, text, item.id) end,
    on_instance = function(i, inst)
      if rec then
        put_candidates(i, "plain", nil, inst.plain)
        for _, a in ipairs(inst.adaptive) do put_candidates(i, "adaptive", a.threshold, a.res) end
        for _, r in ipairs(inst.rows) do
          rec:put("instance", { instance = i, id = inst.item.id, point = r.key, method = r.method, budget = r.budget,
            threshold = r.threshold or lab.json.null, ok = r.ok, why = r.why or lab.json.null,
            winner = r.winner or lab.json.null, score = r.score or lab.json.null, text = r.text or lab.json.null,
            samples = r.samples, tokens = r.tokens, probe_tokens = r.probe_tokens })
        end
      end
      if o.json then
        local rows = {}
        for j, r in ipairs(inst.rows) do
          rows[j] = { point = r.key, ok = r.ok, winner = r.winner or lab.json.null, samples = r.samples,
                      tokens = r.tokens, probe_tokens = r.probe_tokens }
        end
        lab.print(lab.json.encode{ type = "instance", index = i, id = inst.item.id, points = rows })
      else
        lab.print(fmt("[%d/%d] %s", i, #items, instance_line(i, inst)))
      end
      local el = lab.now() - t0
      lab.progress(fmt("bestofn: %d/%d instances, %.0f s, about %.0f s left", i, #items, el, el / i * (#items - i)),
        { done = i, total = #items })
    end })
  lab.progress_done()
  if not ok then
    -- ("error" is no run status: run_end's bad-argument error hid the failure)
    if rec then rec:finish(tostring(res):find(": interrupted$") and "interrupted" or "failed", tostring(res)) end
    error(res, 0)
  end
  local table_text, plots = EV.table(res.points), EV.plots(res.points)
  if rec then
    for _, p in ipairs(res.points) do
      rec:put("point", { point = p.key, method = p.method, budget = p.budget, threshold = p.threshold or lab.json.null,
        n = p.n, correct = p.correct, accuracy = p.accuracy, samples = p.samples, tokens = p.tokens,
        probe_tokens = p.probe_tokens, spent = p.spent })
      rec:metric("accuracy/" .. p.key, p.accuracy)
      rec:metric("samples/" .. p.key, p.samples)
      rec:metric("spent/" .. p.key, p.spent)
    end
    rec:put("table", { text = table_text })
    rec:put("plot", { text = plots })
    rec:finish("ok")
  end
  if o.json then
    for _, p in ipairs(res.points) do
      lab.print(lab.json.encode{ type = "point", point = p.key, method = p.method, budget = p.budget,
        threshold = p.threshold or lab.json.null, n = p.n, correct = p.correct, accuracy = p.accuracy,
        samples = p.samples, tokens = p.tokens, probe_tokens = p.probe_tokens, spent = p.spent })
    end
    lab.print(lab.json.encode{ type = "done", mode = "task", task = o.task, instances = #items,
      run = rec and rec.id or lab.json.null })
  else
    lab.print("")
    lab.print(table_text)
    lab.print("")
    lab.print(plots)
    if rec then lab.print(fmt("recorded as run %d", rec.id)) end
  end
  return res
end

-- M.main(argv [, view]): view, a bestofnview state, shows the runs live
-- (the workbench pane).
function M.main(argv, view)
  local usage = E.usage("usage: logitlab run plugins/bestofn.lua -m MODEL -p TEXT [options] " ..
    "(adaptive best-of-N with self-evaluation, docs/plugins.md)", SPEC)
  -- a command line's mistake: the usage follows it on a terminal; in the
  -- workbench's console one line, with where the usage is
  local see = view and " (:bestofn --help)" or ("\n" .. usage)
  local o, rest = E.parse_args(argv, SPEC)
  if not o then error(rest .. see, 0) end
  if o.help then lab.print(usage); return end
  if #rest > 0 then error("unexpected argument '" .. rest[1] .. "'" .. see, 0) end
  if o.task then
    if not o.model then error("missing -m MODEL" .. see, 0) end
    if o.prompt then error("--task takes its prompts from the task: drop -p", 0) end
    B.check{ n = o.n, threshold = o.threshold, max_tokens = o["max-tokens"] }
    if o.target == "" then error("--target (the probe target) is empty", 0) end
    return M.task_main(o, view)
  end
  if o["from-path"] and o.prompt then error("--from-path takes the prompt from the workbench: drop -p", 0) end
  if not o.model or not (o.prompt or o["from-path"]) then error("missing -m MODEL or -p TEXT" .. see, 0) end
  local path
  if o["from-path"] then
    local err
    path, err = lab.ui.loom_path()
    if not path then error("--from-path: " .. tostring(err), 0) end
  end
  local prune = B.parse_prune(o.prune)
  B.check{ n = o.n, threshold = o.threshold, max_tokens = o["max-tokens"] }
  if o.target == "" then error("--target (the probe target) is empty", 0) end
  lab.budget{ seconds = 0 }
  local model = M.open_model("-m", o.model)
  local p
  if path then
    -- the selected path's tokens as they are (the run continues that path)
    local nv = model:info().n_vocab
    for i, id in ipairs(path) do
      if id < 0 or id >= nv then
        error(string.format("--from-path: token %d of the path is id %d, not in %s's vocabulary of %d: open the workbench on the run's model",
          i, id, o.model, nv), 0)
      end
    end
    p = { tokens = path, text = model:detokenize(path), chat = false }
    o.prompt = p.text
  end
  local cache = {}
  local scorer = M.scorer(model, o.prompt, o, cache)
  local prune_scorer = o["prune-scorer"] and M.scorer(model, o.prompt, o, cache, o["prune-scorer"])
  p = p or B.format(model, o.prompt)
  local function go(plain)
    local show = view and BV.observer(view, plain and "plain" or "adaptive", p.text)
    local ro = { n = o.n, threshold = o.threshold, max_tokens = o["max-tokens"], prune = prune, scorer = scorer,
                 prune_scorer = prune_scorer,
                 seed = o.seed, plain = plain, batched = not o["one-at-a-time"],
                 sampler = { top_k = o["top-k"], top_p = o["top-p"], min_p = o["min-p"] },
                 temp = B.anneal(o.temp, o["temp-max"], o.n),
                 on_event = function(kind, d)
                   if o.json and kind == "round" then
                     lab.print(lab.json.encode{ type = "round", mode = plain and "plain" or "adaptive", round = d.index, size = d.size })
                   end
                   if show then show(kind, d) end
                 end }
    return B.run(model, p.tokens, ro)
  end
  local out = {}
  local modes = o.plain and { true } or (o.compare and { false, true } or { false })
  for _, plain in ipairs(modes) do
    local mode = plain and "plain" or "adaptive"
    local res = go(plain)
    report(res, o, mode, record(res, o, model, mode))
    out[mode] = res
  end
  if out.adaptive and out.plain then
    local a, b = out.adaptive.acct, out.plain.acct
    local saved = b.tokens > 0 and 1 - a.tokens / b.tokens or 0
    if o.json then lab.print(lab.json.encode{ type = "compare", tokens_adaptive = a.tokens, tokens_plain = b.tokens, saved = saved })
    else lab.print(fmt("compare: adaptive %d tokens, plain %d tokens: %.1f%% of the tokens saved", a.tokens, b.tokens, 100 * saved)) end
  end
  return out
end

if type(rawget(_G, "arg")) == "table" then return M.main({ ... }) end

-- The words of a command line: blanks separate them, "..." or '...' keep
-- blanks inside one (-p "Once upon a time"). nil, err for an open quote.
function M.words(s)
  local out, i, n = {}, 1, #(s or "")
  s = s or ""
  while i <= n do
    local c = s:sub(i, i)
    if c:match("%s") then i = i + 1
    else
      local w = {}
      while i <= n and not s:sub(i, i):match("%s") do
        c = s:sub(i, i)
        if c == '"' or c == "'" then
          local j = s:find(c, i + 1, true)
          if not j then return nil, "an open " .. c .. " in the command line" end
          w[#w + 1] = s:sub(i + 1, j - 1)
          i = j + 1
        else
          w[#w + 1] = c
          i = i + 1
        end
      end
      out[#out + 1] = concat(w)
    end
  end
  return out
end

-- In the workbench: `:bestofn ARGS` runs the same command line in a task;
-- the `bestofn` pane lists the candidates as they are drawn, `o` opens one
-- in the loom (plugins/lib/bestofnview.lua).
local S = BV.state()
return {
  name = "bestofn",
  api_level = 1,
  description = "adaptive best-of-N with self-evaluation and pruning (docs/plugins.md)",
  on_load = function()
    lab.ui.command_add("bestofn", "adaptive best-of-N: -m MODEL -p \"TEXT\" [--n N] ... (docs/plugins.md)", function(args)
      local argv, perr = M.words(args)
      if not argv then lab.print("bestofn: " .. perr); return end
      local hint = S.pane and lab.ui.pane_hint(S.pane)   -- where the candidates show (no focus moves there)
      if hint and #argv > 0 then lab.print("bestofn: running: " .. hint) end
      local ok, err = pcall(M.main, argv, S)
      if not ok then
        BV.fail(S, err)
        lab.print("bestofn: " .. tostring(err))
      end
      lab.ui.redraw()
    end)
    S.pane = lab.ui.pane_add("bestofn", {
      on_draw = function(w, h) return BV.draw(S, w, h) end,
      on_key = function(k) return BV.key(S, k) end,
    })
    lab.ui.status_add("bestofn", function() return BV.status(S) end)
  end,
}
