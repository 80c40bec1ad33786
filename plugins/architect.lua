-- architect: drafts a multi-agent workflow for a task and refines it on
-- examples (issue 19, "The architect"; Sami et al., 2025). The loop is
-- plugins/lib/architect.lua; this is its command line.
--
--   logitlab run -w WS plugins/architect.lua -m MODEL --task-file T --examples FILE.jsonl
--       [--iterations 5] [--target 0.95] [--subset 8] [--seed 1] [--judge exact] [--json]
--
-- Files are read from the workspace. Every iteration is recorded (run of
-- plugin "architect": records "iteration", "transcript", "architect_result",
-- metric "accuracy"); `logitlab export -w WS --run N` gives them.
-- docs/agents.md, "The architect", has the format and a worked example.
local E = assert(lab.require("ensemble"))
local A = assert(lab.require("architect"))
local F = assert(lab.require("workflow"))
local fmt, concat = string.format, table.concat

local SPEC = {
  { "model", "string", "MODEL", "the model of the drafted members, and of every role not given otherwise", short = "m" },
  { "task-file", "string", "FILE", "the task description (a text file)" },
  { "examples", "string", "FILE", "the examples, JSON lines {\"question\":, \"answer\":} or {\"task\":, \"seed\":}" },
  { "tools", "string", "T[,T...]", "the tools the architect may give (default: every built-in and --roles tool)" },
  { "roles", "string", "FILE", "a Lua file returning {architect=, analyst=, engineer=, judge=, scripts=, tools=} (scripted roles)" },
  { "architect-model", "string", "MODEL", "the architect's model (default -m)" },
  { "analyst-model", "string", "MODEL", "the analyst's model (default -m)" },
  { "engineer-model", "string", "MODEL", "the prompt engineer's model (default -m)" },
  { "judge", "string", "HOW", "exact | contains | task | model (default: the --roles judge, else exact)" },
  { "judge-model", "string", "MODEL", "the judge's model (--judge model; default -m)" },
  { "judge-prompt", "string", "TEXT", "the judge's prompt with {question}, {expected}, {answer}" },
  { "iterations", "integer", "N", "versions evaluated at most (the draft is the first)", default = A.DEFAULTS.iterations },
  { "target", "number", "X", "stop at this accuracy", default = A.DEFAULTS.target },
  { "subset", "integer", "N", "examples evaluated (a seeded random subset)", default = A.DEFAULTS.subset },
  { "seed", "integer", "S", "the seed of the subset", default = A.DEFAULTS.seed },
  { "max-tokens", "integer", "N", "the longest turn of a drafted model member", default = 64 },
  { "role-tokens", "integer", "N", "the longest answer of a model role (its JSON)", default = 1024 },
  { "system-chars", "integer", "N", "the longest text a model role writes in one field (a system message, an issue...)", default = A.DEFAULTS.system_chars },
  { "max-agents", "integer", "N", "the most agents a model architect drafts (and feedback items an analyst writes)", default = 4 },
  { "turns", "integer", "N", "budget of each example's run: turns" },
  { "tokens", "integer", "N", "budget of each example's run: tokens" },
  { "seconds", "number", "S", "budget of each example's run: wall time" },
  { "depth", "integer", "N", "budget of each example's run: delegation depth" },
  { "out", "string", "FILE", "write the best workflow (JSON for plugins/agents.lua) to FILE in the workspace" },
  { "json", "flag", nil, "JSON lines: draft, example, iteration, done (and progress)" },
  { "verbose", "flag", nil, "a line per example as it is judged (else a live progress line on a terminal)", short = "v" },
  { "no-record", "flag", nil, "do not record the run in the workspace" },
  { "help", "flag", nil, "show this help", short = "h" },
}
local USAGE = "usage: logitlab run -w WS plugins/architect.lua -m MODEL --task-file T --examples FILE.jsonl [options]"
local DEFAULT_JUDGE_PROMPT = "Question: {question}\nExpected answer: {expected}\nGiven answer: {answer}\n" ..
  "Is the given answer correct? Answer yes or no.\n"

local function load_roles(path)
  local src, err = lab.fs.read(path)
  if not src then error(fmt("--roles %s: %s", path, tostring(err)), 0) end
  local chunk, cerr = load(src, "@" .. path, "t")
  if not chunk then error(fmt("--roles %s: %s", path, cerr), 0) end
  local ok, t = pcall(chunk)
  if not ok then error(fmt("--roles %s: %s", path, tostring(t)), 0) end
  if type(t) ~= "table" then error(fmt("--roles %s: must return a table {architect=, analyst=, engineer=, judge=, scripts=, tools=}", path), 0) end
  for _, k in ipairs({ "architect", "analyst", "engineer", "judge" }) do
    if t[k] ~= nil and type(t[k]) ~= "function" then error(fmt("--roles %s: '%s' must be a function", path, k), 0) end
  end
  return t
end

-- the tool list: built-ins, then --roles tools ({name = fn} or {name = {fn=, description=, parameters=}})
local function tool_list(o, roles)
  local all, order = {}, {}
  for _, t in ipairs(A.BUILTIN_TOOLS) do all[t.name] = t; order[#order + 1] = t.name end
  for name, v in pairs(roles and roles.tools or {}) do
    local t = type(v) == "function" and { name = name, fn = v } or v
    if type(t) ~= "table" then error(fmt("--roles: tool '%s' must be a function or {fn=, description=, parameters=}", name), 0) end
    t.name = name
    if not all[name] then order[#order + 1] = name end
    all[name] = t
  end
  local names = order
  if o.tools then
    names = {}
    for n in o.tools:gmatch("[^,%s]+") do
      if not all[n] then error(fmt("--tools: unknown tool '%s' (known: %s)", n, concat(order, ", ")), 0) end
      names[#names + 1] = n
    end
  end
  local list = {}
  for i, n in ipairs(names) do list[i] = all[n] end
  local tools, err = A.tools(list)
  if not tools then error("--tools: " .. err, 0) end
  return list
end

local function one_line(s, n)
  s = tostring(s):gsub("\n", "\\n")
  if n and #s > n then s = s:sub(1, n - 3) .. "..." end
  return s
end

-- main(argv [, hooks]): the command line; hooks (the workbench) = {tui =
-- true, on_event = fn(kind, data, run), on_message = fn(entry, iteration, example)}
local function main(argv, hooks)
  hooks = hooks or {}
  -- a mistake in the command line: the usage follows on a terminal, one line in the workbench's console
  local see = hooks.tui and " (:architect --help)" or ("\n" .. E.usage(USAGE, SPEC))
  local o, rest = E.parse_args(argv, SPEC)
  if not o then error(rest .. see, 0) end
  if o.help then lab.print(E.usage(USAGE, SPEC)); return end
  if #rest > 0 then error("unexpected argument '" .. rest[1] .. "'" .. see, 0) end
  if not o["task-file"] then error("missing --task-file FILE" .. (hooks.tui and see or "\n" .. USAGE), 0) end
  if not o.examples then error("missing --examples FILE.jsonl" .. (hooks.tui and see or "\n" .. USAGE), 0) end
  -- every input is checked before anything is recorded
  local task, err = lab.fs.read(o["task-file"])
  if not task then error(fmt("--task-file %s: %s", o["task-file"], tostring(err)), 0) end
  if not task:match("%S") then error(fmt("--task-file %s: the task description is empty", o["task-file"]), 0) end
  local text
  text, err = lab.fs.read(o.examples)
  if not text then error(fmt("--examples %s: %s", o.examples, tostring(err)), 0) end
  local examples
  examples, err = A.parse_examples(text, o.examples)
  if not examples then error(err, 0) end
  if o.iterations < 1 then error("--iterations must be at least 1", 0) end
  if o.subset < 1 then error("--subset must be at least 1", 0) end
  if o.target < 0 or o.target > 1 then error("--target is an accuracy from 0 to 1", 0) end
  for _, k in ipairs({ "max-tokens", "role-tokens", "system-chars", "max-agents" }) do
    if o[k] < 1 then error(fmt("--%s must be at least 1", k), 0) end
  end
  local budget = { turns = o.turns, tokens = o.tokens, seconds = o.seconds, depth = o.depth }
  local berr = F.check_budget(budget, "architect", function(k) return "--" .. k end)
  if berr then error(berr, 0) end
  local ro = { max_tokens = o["role-tokens"], system_chars = o["system-chars"], max_agents = o["max-agents"],
               text_chars = math.min(160, o["system-chars"]), max_items = o["max-agents"] }
  local roles = o.roles and load_roles(o.roles) or {}
  local tools = tool_list(o, roles)
  if not hooks.tui then lab.budget{ seconds = 0 } end
  local models, paths = {}, {}
  local function open(path, what)
    if models[path] then return models[path] end
    local m, merr = E.long(F.open_model, path)
    if not m then error(fmt("%s: cannot open model '%s': %s", what, path, tostring(merr)), 0) end
    models[path] = m
    paths[#paths + 1] = m
    return m
  end
  local function role(name, flag, maker)
    if roles[name] then return roles[name] end
    local path = o[flag] or o.model
    if not path then error(fmt("the %s needs a model (-m MODEL or --%s) or a script (--roles)", name, flag), 0) end
    return maker(open(path, "--" .. (o[flag] and flag or "model")), ro)
  end
  local R = {
    architect = role("architect", "architect-model", A.model_architect),
    analyst = role("analyst", "analyst-model", A.model_analyst),
    engineer = role("engineer", "engineer-model", A.model_engineer),
  }
  local judge
  if not o.judge and roles.judge then judge = roles.judge
  elseif not o.judge then judge = A.judges.exact
  elseif o.judge == "exact" or o.judge == "contains" then judge = A.judges[o.judge]
  elseif o.judge == "task" then
    for _, ex in ipairs(examples) do
      if not ex.T then error(fmt("--judge task: %s line %d is not a task example ({\"task\": NAME, \"seed\": N})", o.examples, ex.line), 0) end
    end
    judge = A.judges.task
  elseif o.judge == "model" then
    local path = o["judge-model"] or o.model
    if not path then error("--judge model needs --judge-model MODEL or -m MODEL", 0) end
    local ok, j = pcall(A.judge_model, open(path, "--judge-model"), o["judge-prompt"] or DEFAULT_JUDGE_PROMPT)
    if not ok then error("--judge-prompt: " .. tostring(j), 0) end
    judge = j
  else
    error(fmt("--judge is exact, contains, task or model, not '%s'", o.judge), 0)
  end
  local worker = o.model and open(o.model, "--model") or nil
  local rec, why
  if not o["no-record"] then
    local tn = {}
    for i, t in ipairs(tools) do tn[i] = t.name end
    rec, why = E.long(E.record_begin, "architect", { task_file = o["task-file"], examples = o.examples, n_examples = #examples,
      tools = tn, roles = o.roles, judge = o.judge, iterations = o.iterations, target = o.target, subset = o.subset,
      model = o.model, budget = budget }, o.seed, paths)
    if not rec then lab.print("architect: not recorded: " .. tostring(why)) end
  end
  local function emit(t)
    if rec then t.run = rec.id end
    lab.print(lab.json.encode(t))
  end
  -- the live line (lab.progress): a terminal line, the workbench's status
  -- bar, or JSON lines with --json
  lab.progress_mode(o.json and "json" or "auto")
  local on_event = function(kind, d)
    if hooks.on_event then hooks.on_event(kind, d, rec and rec.id) end
    if kind == "role" then
      lab.progress(fmt("iteration %d: the %s%s", d.iteration, d.role == "architect" and "architect drafts" or
        d.role == "analyst" and "analyst reads the failures" or "prompt engineer edits the system messages",
        d.try and d.try > 1 and fmt(" (try %d)", d.try) or ""), { iteration = d.iteration, role = d.role })
    elseif kind == "draft" then
      if o.json then emit{ type = "draft", try = d.try, ok = d.ok, error = d.error, repairs = d.repairs }
      elseif not d.ok then lab.print(fmt("architect: draft %d refused: %s", d.try, d.error))
      else
        for _, r in ipairs(d.repairs or {}) do lab.print("architect: draft repaired: " .. r) end
      end
    elseif kind == "example" then
      local r = d.result
      if o.json then
        emit{ type = "example", iteration = d.iteration, k = d.k, n = d.n, index = r.index, ok = r.ok,
              answer = r.answer, expected = r.expected, why = r.why, status = r.status }
      elseif o.verbose then
        lab.print(fmt("  iteration %d  example %d/%d (#%d)  %s  %d/%d so far  %s", d.iteration, d.k, d.n, r.index,
          r.ok and "ok" or "--", d.correct, d.k, one_line(r.answer or ("(" .. tostring(r.reason) .. ")"), 50)))
      end
      lab.progress(fmt("iteration %d: example %d/%d judged (#%d %s), %d/%d correct so far", d.iteration, d.k,
        d.n, r.index, r.ok and "ok" or "wrong", d.correct, d.k), { iteration = d.iteration, k = d.k, n = d.n })
    elseif kind == "iteration" then
      if o.json then
        emit{ type = "iteration", iteration = d.iteration, based_on = d.based_on, accuracy = d.accuracy,
              correct = d.correct, n = d.n, kept = d.kept, rolled_back = d.rolled_back or false,
              feedback = d.feedback, diff = d.diff, systems = d.systems }
      else
        local wrong = {}
        for _, r in ipairs(d.results or {}) do if not r.ok then wrong[#wrong + 1] = "#" .. r.index end end
        lab.print(fmt("iteration %d%s: accuracy %.3f (%d/%d)%s%s", d.iteration,
          d.based_on and fmt(" (from %d)", d.based_on) or " (draft)", d.accuracy, d.correct, d.n,
          d.rolled_back and "  worse: rolled back" or "", #wrong > 0 and ("  wrong: " .. concat(wrong, " ")) or ""))
        for _, f in ipairs(d.feedback or {}) do
          lab.print(fmt("  feedback %s: %s %s | issue: %s", f.agent, f.action, one_line(f.guideline or f.target, 60), one_line(f.issue, 60)))
        end
        for _, c in ipairs(d.diff or {}) do
          for _, l in ipairs(c.lines) do
            if l.op ~= " " then lab.print(fmt("  %s %s %s", c.name, l.op, one_line(l.text, 80))) end
          end
        end
      end
    end
  end
  local ok, res = pcall(A.run, { task = task, examples = examples, tools = tools, roles = R, judge = judge,
    model = worker, model_name = o.model, scripts = roles.scripts, iterations = o.iterations, target = o.target,
    subset = o.subset, seed = o.seed, budget = budget, models = models, max_tokens = o["max-tokens"],
    record = rec, on_event = on_event, on_message = hooks.on_message })
  lab.progress_done()
  if not ok then
    if rec then rec:finish("failed", tostring(res)) end
    error(tostring(res), 0)
  end
  if o.out then
    local wok, werr = lab.fs.write(o.out, lab.json.encode(res.workflow) .. "\n")
    if not wok then
      if rec then rec:finish("failed", "--out: " .. tostring(werr)) end
      error(fmt("--out %s: %s", o.out, tostring(werr)), 0)
    end
  end
  if rec then rec:finish("ok") end
  if o.json then
    emit{ type = "done", best = res.best, accuracy = res.accuracy, stop = res.stop, iterations = #res.iterations,
          subset = res.subset, workflow = res.workflow }
  else
    lab.print(fmt("-- best: iteration %d, accuracy %.3f; stopped: %s (%d iterations%s)", res.best, res.accuracy,
      res.stop, #res.iterations, rec and (", run " .. rec.id) or ""))
  end
  return res
end

if type(rawget(_G, "arg")) == "table" then return main({ ... }) end

-- ---- the workbench: the agents and architect panes, :agents, :agents-show, :architect ----
local V = assert(lab.require("agentview"))
local AR = assert(lab.require("agentrun"))
local B = assert(lab.require("agentbranch"))
local T, S = V.new_transcript(), V.new_architect()

local function words(args)
  local out = {}
  for w in (args or ""):gmatch("%S+") do out[#out + 1] = w end
  return out
end

-- :architect ARGS: the command line's options; the panes follow the run
local function architect_cmd(args)
  S.its, S.sel, S.live, S.run, S.result, S.msg, S.live_transcripts = {}, 1, true, nil, nil, nil, {}
  S.progress = "drafting"
  lab.ui.redraw()
  local ok, err = pcall(main, words(args), { tui = true,
    on_event = function(kind, d, run)
      S.run = run
      if kind == "example" then
        S.progress = fmt("iteration %d, example %d/%d", d.iteration, d.k, d.n)
      elseif kind == "iteration" then
        S.its[#S.its + 1] = lab.json.decode(lab.json.encode(d.record))
        S.sel = #S.its
      elseif kind == "done" then
        S.result = { stop = d.stop }
      end
      lab.ui.redraw()
    end,
    on_message = function(e, iteration, example)
      local key = iteration .. ":" .. example
      local tr = S.live_transcripts[key]
      if not tr then
        tr = {}
        S.live_transcripts[key] = tr
        T.transcript, T.sel, T.follow, T.msg = tr, 1, true, nil
        T.title = fmt("architect, iteration %d, example #%d", iteration, example)
      end
      tr[#tr + 1] = e
      T.status = "running"
      lab.ui.redraw()
    end })
  S.live = false
  S.status = ok and "ok" or "failed"
  if not ok then S.msg = "architect: " .. tostring(err); lab.print("architect: " .. tostring(err)) end
  T.status = "done"
  lab.ui.redraw()
end

-- the Lua functions a workflow names: a --lib file, and the built-in tools
local function load_lib(path)
  local lib = { scripts = {}, tools = {} }
  for _, t in ipairs(A.BUILTIN_TOOLS) do lib.tools[t.name] = t.fn end
  if not path then return lib end
  local src, err = lab.fs.read(path)
  if not src then error(fmt("lib=%s: %s", path, tostring(err)), 0) end
  local chunk, cerr = load(src, "@" .. path, "t")
  if not chunk then error(fmt("lib=%s: %s", path, cerr), 0) end
  local ok, t = pcall(chunk)
  if not ok or type(t) ~= "table" then error(fmt("lib=%s: must return a table {scripts=, tools=}", path), 0) end
  for k, v in pairs(t.scripts or {}) do lib.scripts[k] = v end
  for k, v in pairs(t.tools or {}) do lib.tools[k] = type(v) == "table" and v.fn or v end
  return lib
end

-- :agents workflow=FILE [lib=FILE] [turns= tokens= seconds= depth=] TEXT:
-- runs a workflow in the transcript pane (recorded as plugins/agents.lua does)
local function agents_cmd(args)
  local kv, prompt = E.parse_words(args)
  if not kv.workflow or prompt == "" then
    error("usage: :agents workflow=FILE [lib=FILE.lua] [turns=N tokens=N seconds=S depth=N] TEXT", 0)
  end
  local known = { workflow = true, lib = true, turns = true, tokens = true, seconds = true, depth = true }
  for k in pairs(kv) do
    if not known[k] then error(fmt("unknown setting '%s=' (workflow, lib, turns, tokens, seconds, depth)", k), 0) end
  end
  local budget = {}
  for _, k in ipairs({ "turns", "tokens", "seconds", "depth" }) do
    if kv[k] ~= nil then budget[k] = tonumber(kv[k]) or kv[k] end    -- not a number: refused just below
  end
  local berr = F.check_budget(budget, "agents", function(k) return k .. "=" end)
  if berr then error(berr, 0) end
  local text, err = lab.fs.read(kv.workflow)
  if not text then error(fmt("workflow=%s: %s", kv.workflow, tostring(err)), 0) end
  local wf
  wf, err = F.validate(text, load_lib(kv.lib))
  if not wf then error(fmt("%s: %s", kv.workflow, err), 0) end
  local models, paths = {}, {}
  for _, m in ipairs(wf.order) do
    if m.model and not models[m.model] then
      local mod, merr = F.open_model(m.model)
      if not mod then error(fmt("%s: %s '%s': cannot open model '%s': %s", kv.workflow, F.ROLES[m.role], m.name, m.model, tostring(merr)), 0) end
      models[m.model] = mod
      paths[#paths + 1] = mod
    end
  end
  local rec = E.record_begin("agents", { workflow = kv.workflow, prompt = prompt, lib = kv.lib, budget = budget }, nil, paths)
  T.transcript, T.sel, T.follow, T.msg = {}, 1, true, nil
  T.ctx, T.other, T.diverge, T.marks = B.context(rec and rec.id, { workflow = kv.workflow, lib = kv.lib, prompt = prompt, budget = budget }, T.transcript), nil, nil, nil
  T.ctx.wf_models = B.member_models(wf, models)
  T.title, T.status = fmt("%s%s", kv.workflow, rec and (", run " .. rec.id) or ""), "running"
  local hint = T.pane and lab.ui.pane_hint(T.pane)      -- the transcript's pane (no focus moves there)
  if hint then lab.print(fmt("agents: %s: %s", T.title, hint)) end
  lab.ui.redraw()
  T.live = {}
  local r = AR.run(wf, prompt, { budget = budget, models = models,
    on_token = function(l) V.live_token(T, l); lab.ui.redraw() end, on_message = function(e)
    V.live_message(T, e)
    T.transcript[#T.transcript + 1] = e
    if rec then rec:put("message", AR.record_of(e)) end
    lab.ui.redraw()
  end })
  if rec then
    rec:put("agents_result", { status = r.status, reason = r.reason, answer = r.answer, turns = r.turns, tokens = r.tokens })
    rec:finish(r.status == "ok" and "ok" or "failed", r.status ~= "ok" and r.reason or nil)
  end
  T.status = fmt("%s: %s (%d turns, %d tokens)", r.status, r.reason, r.turns, r.tokens)
  lab.ui.redraw()
end

-- :agents-show RUN: a recorded run of plugins/agents.lua in the transcript pane
local function show_cmd(args)
  local id = math.tointeger(tonumber(args))
  if not id then error("usage: :agents-show RUN (a run of plugins/agents.lua)", 0) end
  local rows, err = lab.store.query("SELECT data FROM records WHERE run_id = ? AND kind = 'message' ORDER BY id", { id })
  if not rows then error("agents-show: " .. tostring(err), 0) end
  local run, why = AR.load_run(id)
  if #rows == 0 then error("agents-show: " .. (run and fmt("run %d has no messages", id) or why), 0) end
  T.transcript, T.sel, T.follow, T.msg = {}, 1, false, nil
  for i, r in ipairs(rows) do T.transcript[i] = lab.json.decode(r.data) end
  local res = lab.store.query("SELECT data FROM records WHERE run_id = ? AND kind = 'agents_result'", { id })
  local d = res and res[1] and lab.json.decode(res[1].data)
  T.title, T.status = "run " .. id, d and fmt("%s: %s", d.status, d.reason) or "?"
  T.ctx, T.other, T.diverge, T.marks = run and B.context(id, run.params, T.transcript), nil, nil, nil
  -- a recorded branch (--parent, or b in this pane): its parent one v away, the differences marked
  local br = run and type(run.params.branch) == "table" and run.params.branch
  local parent = br and math.type(run.params.parent) == "integer" and AR.load_run(run.params.parent)
  if parent then
    local pres = parent.result
    T.other = { transcript = parent.transcript, title = "run " .. parent.id, ctx = B.context(parent.id, parent.params,
      parent.transcript), sel = math.tointeger(br.message) or 1,
      status = pres and fmt("%s: %s", tostring(pres.status), tostring(pres.reason)) or "?" }
    T.diverge, T.marks = d and math.tointeger(d.diverge), AR.differs(parent.transcript, T.transcript)
    T.title = fmt("branch of run %d at #%s (%s's turn %s), run %d", parent.id, tostring(br.message), tostring(br.member),
      tostring(br.turn), id)
  end
  lab.ui.redraw()
end

-- A command's error (a bad argument, a workflow refused) is the user's, not
-- the plugin's: one console line and the pane's message, and the plugin
-- stays loaded (an error escaping a handler would disable it).
local function guarded(name, fn)
  return function(args)
    local ok, err = pcall(fn, args)
    if not ok then
      err = tostring(err)
      if err:sub(1, #name + 2) == name .. ": " then err = err:sub(#name + 3) end
      if T.status == "running" then T.status = "failed: " .. err end
      T.msg = fmt(":%s: %s", name, err)
      lab.print(T.msg)
      lab.ui.redraw()
    end
  end
end

return {
  name = "architect",
  api_level = 1,
  description = "multi-agent workflows in the workbench (the agents and architect panes) and the architect loop: logitlab run -w WS plugins/architect.lua -m MODEL --task-file T --examples FILE.jsonl (docs/agents.md)",
  on_load = function()
    lab.ui.command_add("agents", "run a workflow: :agents workflow=FILE [lib=FILE.lua] [turns= tokens= seconds= depth=] TEXT", guarded("agents", agents_cmd))
    lab.ui.command_add("agents-show", "show a recorded agents run: :agents-show RUN", guarded("agents-show", show_cmd))
    lab.ui.command_add("agents-branch", "rerun the agents pane's workflow with the selected turn replaced: :agents-branch TEXT | --prefix TEXT | --loom",
      function(args)
        -- a mistake is reported in the pane and on the console; the plugin stays on
        local ok, err = pcall(B.command, T, args, load_lib)
        if not ok then T.msg = "agents-branch: " .. tostring(err); lab.print(T.msg); lab.ui.redraw() end
      end)
    lab.ui.command_add("architect", "draft and refine a workflow: :architect --task-file T --examples FILE.jsonl [--roles FILE.lua] [-m MODEL ...]", architect_cmd)
    T.pane = lab.ui.pane_add("agents", {
      on_draw = function(w, h) return V.transcript_draw(T, w, h) end,
      on_key = function(k) return B.key(T, k, load_lib) or V.transcript_key(T, k) end,
    })
    lab.ui.pane_add("architect", {
      on_draw = function(w, h)
        if #S.its == 0 and not S.live and not S.tried then
          S.tried = true
          local runs = V.architect_runs()
          if #runs > 0 then V.architect_load(S, runs[#runs].id) end
        end
        return V.architect_draw(S, w, h)
      end,
      on_key = function(k) return V.architect_key(S, T, k) end,
    })
    lab.ui.status_add("agents", function()
      if S.live then return "" end       -- lab.progress shows the architect's progress
      if T.status == "running" then return fmt("agents %d msgs ▶", #T.transcript) end
      return ""
    end)
  end,
}
