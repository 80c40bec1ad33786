-- tree: tree-search prompting on puzzles. Methods: the CoT baseline,
-- Tree-of-Thoughts search (Yao et al. 2023, "Tree of Thoughts: Deliberate
-- Problem Solving with Large Language Models": BFS with a beam, DFS with
-- backtracking, best-first with a node budget; every node a fork of its
-- parent's KV sequence) and ATS prompting (Zhang et al. 2023, "Autonomous
-- Tree-search Ability of Large Language Models": the search inside one
-- completion, parsed back into a tree). Tasks: plugins/tasks/.
--
--   logitlab run plugins/tree.lua --task numpath --method cot,tot-bfs -m MODEL --n 50 [--json]
--   TUI: :tree model=M task=numpath method=tot-bfs seed=1   and the "tree" pane
-- docs/plugins.md has every setting and what is recorded.
local tasks = assert(lab.require("tasks"))
local TM = assert(lab.require("treemodel"))
local R = assert(lab.require("treerun"))
local TS = assert(lab.require("treesearch"))
local E = assert(lab.require("ensemble"))
local V = assert(lab.require("treeview"))
local fmt, concat = string.format, table.concat

local SPEC = {
  { "model", "string", "MODEL", "the model (a GGUF path or name)", short = "m" },
  { "task", "string", "TASK", "arith | water | numpath | grass | game24", default = "numpath" },
  { "method", "string", "M[,M...]", "cot | tot-bfs | tot-dfs | tot-best | ats-bfs | ats-dfs (several: a comparison)", default = "cot" },
  { "n", "integer", "N", "instances", short = "n", default = 10 },
  { "difficulty", "integer", "D", "the generator's difficulty", default = 1 },
  { "first", "integer", "S", "the first instance's seed (then S+1, ...)", default = 1 },
  { "k", "integer", "K", "children per node", default = R.DEFAULTS.k },
  { "b", "integer", "B", "BFS beam width", default = R.DEFAULTS.b },
  { "gen", "string", "HOW", "children by sample | propose | moves", default = R.DEFAULTS.gen },
  { "eval", "string", "HOW", "nodes valued by value | probe | logprob | verifier", default = R.DEFAULTS.eval },
  { "votes", "integer", "V", "value prompt samples per node", default = R.DEFAULTS.votes },
  { "threshold", "number", "X", "DFS prunes children valued below X", default = R.DEFAULTS.threshold },
  { "budget", "integer", "N", "best-first: nodes made at most", default = R.DEFAULTS.budget },
  { "depth", "integer", "N", "search depth at most", default = R.DEFAULTS.depth },
  { "step-tokens", "integer", "N", "tokens per step (per proposal list: N * K)", default = R.DEFAULTS.step_tokens },
  { "max-tokens", "integer", "N", "tokens of a CoT or ATS completion", default = R.DEFAULTS.max_tokens },
  { "temp", "number", "T", "temperature of children and votes", default = R.DEFAULTS.temp },
  { "cot-temp", "number", "T", "temperature of CoT and ATS completions (0: greedy)", default = R.DEFAULTS.cot_temp },
  { "seed", "integer", "N", "sampler seed", default = R.DEFAULTS.seed },
  { "shots", "integer", "N", "worked examples in the prompts (default: all the task has)" },
  { "format", "string", "F", "prompts: full (rules, worked examples) | question (just 'Question: ...' and the steps: a model trained on the task's solutions)", default = R.DEFAULTS.format },
  { "keep-duplicates", "flag", nil, "keep sibling children with the same step text (default: one node per distinct step)" },
  { "ctx", "integer", "N", "KV cells for all sequences together", default = 4096 },
  { "json", "flag", nil, "one JSON object per instance, then one per method, then a summary" },
  { "no-record", "flag", nil, "do not record the run in the workspace" },
  { "help", "flag", nil, "show this help", short = "h" },
}

local USAGE = "usage: logitlab run plugins/tree.lua --task TASK --method M[,M...] -m MODEL [options]"

-- Settings from parsed options (the command line or the TUI's words).
local function config(o)
  local methods = {}
  for m in tostring(o.method):gmatch("[^,%s]+") do
    local known = false
    for _, k in ipairs(R.METHODS) do known = known or k == m end
    if not known then return nil, fmt("unknown method '%s' (methods: %s)", m, concat(R.METHODS, ", ")) end
    methods[#methods + 1] = m
  end
  if #methods == 0 then return nil, "no method" end
  local known_eval = false
  for _, k in ipairs(R.EVALS) do known_eval = known_eval or k == o.eval end
  if not known_eval then return nil, fmt("unknown evaluator '%s' (%s)", tostring(o.eval), concat(R.EVALS, ", ")) end
  if o.gen ~= "sample" and o.gen ~= "propose" and o.gen ~= "moves" then
    return nil, fmt("--gen is sample, propose or moves, not '%s'", tostring(o.gen))
  end
  local fmt_known = false
  for _, f in ipairs(tasks.FORMATS) do fmt_known = fmt_known or f == o.format end
  if not fmt_known then
    return nil, fmt("unknown prompt format '%s' (formats: %s)", tostring(o.format), concat(tasks.FORMATS, ", "))
  end
  if o.format == "question" then
    for _, m in ipairs(methods) do
      if m:match("^ats") then return nil, fmt("--format question has no %s prompt (ATS needs --format full)", m) end
    end
  end
  if o.eval == "logprob" and o.gen ~= "sample" then return nil, "--eval logprob needs --gen sample (the log-probabilities of sampled steps)" end
  for _, name in ipairs({ "k", "b", "votes", "budget", "depth", "step-tokens", "max-tokens", "n" }) do
    if o[name] ~= nil and o[name] < 1 then return nil, fmt("--%s must be at least 1", name) end
  end
  local cfg = {}
  for k, v in pairs(R.DEFAULTS) do cfg[k] = v end
  cfg.k, cfg.b, cfg.gen, cfg.eval, cfg.votes = o.k, o.b, o.gen, o.eval, o.votes
  cfg.threshold, cfg.budget, cfg.depth = o.threshold, o.budget, o.depth
  cfg.step_tokens, cfg.max_tokens, cfg.temp, cfg.cot_temp = o["step-tokens"], o["max-tokens"], o.temp, o["cot-temp"]
  cfg.seed, cfg.shots, cfg.format = o.seed, o.shots, o.format
  cfg.dedup = not o["keep-duplicates"]
  return cfg, methods
end

-- one line per instance (text mode)
local function instance_line(i, inst, res)
  return fmt("%-8s #%-3d %-8s %-4s gen %5d  steps %4d  cells %5d  %6.2fs  %s", inst.task, i, res.method,
    res.ok and "ok" or "--", res.generated, res.steps, res.peak_cells, res.wall_s,
    res.answer or (res.error and ("error: " .. res.error)) or ("(" .. tostring(res.why) .. ")"))
end

local function instance_record(i, inst, res)
  return {
    type = "instance", method = res.method, index = i, seed = inst.seed, task = inst.task,
    difficulty = inst.difficulty, question = inst.question, answer = res.answer or lab.json.null,
    ok = res.ok and true or false, why = res.why or lab.json.null, generated = res.generated,
    evaluated = res.evaluated, steps = res.steps, peak_cells = res.peak_cells, peak_seqs = res.peak_seqs,
    wall_s = res.wall_s, nodes = res.tree and res.tree.n or 0,
    duplicates = res.tree and res.tree.stats and res.tree.stats.duplicates or 0,
    text = res.text or lab.json.null, reason = res.reason or lab.json.null,
    parse_errors = res.tree and res.tree.errors and #res.tree.errors or lab.json.null,
  }
end

-- node records of a tree (the workspace keeps every tree)
local function node_records(rec, i, res)
  if not rec or not res.tree then return end
  local t = res.tree
  for id = 0, t.n do
    local n = t.nodes[id]
    rec:put("node", {
      method = res.method, index = i, id = id, parent = n.parent or lab.json.null, depth = n.depth,
      text = n.text or "", status = n.status, value = n.value or lab.json.null,
      generated = n.gen_tokens or 0, eval_generated = n.eval_tokens or 0, propose_generated = n.propose_tokens or 0,
      votes = n.votes or lab.json.null, invalid = n.invalid or n.error or lab.json.null,
      dups = n.dups or 0, dup_generated = n.dup_tokens or 0,
    })
  end
end

-- R.summary of a method's results
local function summarize(method, results)
  local s = { type = "method", method = method, n = #results, correct = 0, generated = 0, evaluated = 0,
              steps = 0, peak_cells = 0, wall_s = 0 }
  for _, r in ipairs(results) do
    if r.ok then s.correct = s.correct + 1 end
    s.generated = s.generated + r.generated
    s.evaluated = s.evaluated + r.evaluated
    s.steps = s.steps + r.steps
    s.wall_s = s.wall_s + r.wall_s
    if r.peak_cells > s.peak_cells then s.peak_cells = r.peak_cells end
  end
  s.accuracy = s.n > 0 and s.correct / s.n or 0
  s.tokens_per_instance = s.n > 0 and s.generated / s.n or 0
  return s
end

local function main(argv)
  local o, rest = E.parse_args(argv, SPEC)
  local usage = E.usage(USAGE, SPEC)
  if not o then error(rest .. "\n" .. usage, 0) end
  if o.help then lab.print(usage); return end
  if #rest > 0 then error("unexpected argument '" .. rest[1] .. "'\n" .. usage, 0) end
  if not o.model then error("missing -m MODEL\n" .. usage, 0) end
  local T, terr = tasks.get(o.task)
  if not T then error(terr, 0) end
  if o.difficulty < 1 or o.difficulty > T.max_difficulty then
    error(fmt("--difficulty for %s is 1 to %d", o.task, T.max_difficulty), 0)
  end
  local cfg, methods = config(o)
  if not cfg then error(methods, 0) end
  lab.budget{ seconds = 0 }
  local model, merr = E.long(lab.model.open, o.model, { n_ctx = o.ctx })
  if not model then error(merr, 0) end
  local rec, why
  if not o["no-record"] then
    local params = { task = o.task, methods = methods, n = o.n, difficulty = o.difficulty, first = o.first,
                     model = o.model, ctx = o.ctx }
    for k, v in pairs(cfg) do params[k] = v end
    rec, why = E.long(E.record_begin, "tree", params, o.seed, { model })
    -- said at once, as bestofn and agents do: a busy workspace (a workbench
    -- holding it) otherwise lost the run without a word
    if not rec and not o.json then lab.print("tree: not recorded: " .. tostring(why)) end
  end
  local lm = TM.new(model)
  local insts = {}
  for i = 1, o.n do insts[i] = T.generate(o.first + i - 1, o.difficulty) end
  local summaries = {}
  -- the live line (lab.progress): a terminal line, JSON lines with --json
  lab.progress_mode(o.json and "json" or "auto")
  local total, done, t0 = #methods * #insts, 0, lab.now()
  for _, method in ipairs(methods) do
    local results = {}
    for i, inst in ipairs(insts) do
      local el = lab.now() - t0
      lab.progress(fmt("tree: %s, instance %d/%d (%d/%d runs, %.0f s%s)", method, i, #insts, done, total, el,
        done > 0 and fmt(", about %.0f s left", el / done * (total - done)) or ""),
        { method = method, instance = i, done = done, total = total })
      local res = R.run(lm, T, inst, method, cfg)
      done = done + 1
      results[i] = res
      local r = instance_record(i, inst, res)
      if rec then r.run = rec.id; rec:put("instance", r); node_records(rec, i, res) end
      if o.json then lab.print(lab.json.encode(r)) else lab.print(instance_line(i, inst, res)) end
      -- Ctrl-C (`logitlab run`'s catchable "script: interrupted") lands in
      -- R.run's pcall: it ends the comparison, not just this instance
      if res.error and res.error:find(": interrupted$") then
        lab.progress_done()
        if rec then rec:finish("interrupted", res.error) end
        error(res.error, 0)
      end
    end
    local s = summarize(method, results)
    summaries[#summaries + 1] = s
    if rec then
      rec:put("summary", s)
      for _, k in ipairs({ "accuracy", "generated", "steps", "peak_cells", "wall_s" }) do
        rec:metric(k .. "/" .. method, s[k])
      end
    end
    if o.json then lab.print(lab.json.encode(s)) end
  end
  lab.progress_done()
  local table_text = V.table(summaries)
  local plot = #summaries > 1 and V.plot(summaries) or nil
  if rec then
    rec:put("table", { text = table_text })
    if plot then rec:put("plot", { text = plot }) end
  end
  if o.json then
    lab.print(lab.json.encode({ type = "done", run = rec and rec.id or lab.json.null, methods = methods, n = o.n,
      note = (not rec and not o["no-record"]) and ("not recorded: " .. tostring(why)) or nil }))
  else
    lab.print("")
    lab.print(table_text)
    if plot then lab.print(""); lab.print(plot) end
  end
  if rec then rec:finish() end
end

if type(rawget(_G, "arg")) == "table" then return main({ ... }) end
return V.plugin({ tasks = tasks, TM = TM, R = R, TS = TS, E = E, config = config, spec = SPEC })
