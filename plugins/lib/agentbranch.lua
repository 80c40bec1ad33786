-- agentbranch: branching a workflow run from the workbench (issue 19). The
-- agents pane (plugins/lib/agentview.lua) shows a run; this reruns it with
-- the selected member's turn replaced (plugins/lib/agentrun.lua, R.branch):
-- by text the user writes (:agents-branch TEXT, or --prefix TEXT to begin
-- the turn and let the member go on), or by the path the user made in the
-- loom after opening the turn there (`o`, then pick another token at any
-- position; `b` or :agents-branch --loom). The branch runs live in the pane,
-- is recorded as a run of plugin "agents" linked to its parent and the
-- branched turn, and `v` switches between it and its parent, each message
-- that differs between them marked. docs/agents.md, "In the workbench".
local F = assert(lab.require("workflow"))
local R = assert(lab.require("agentrun"))
local E = assert(lab.require("ensemble"))
local B = {}
local fmt = string.format

-- T.ctx: what running the shown run again needs: {id = run id or nil,
-- workflow = FILE, lib = FILE or nil, prompt = TEXT, budget = {}, sequential =,
-- transcript = the transcript table of that run (the pane may show another
-- one since, an architect example's)}
function B.context(id, params, transcript)
  return { id = id, workflow = params.workflow, lib = params.lib, prompt = params.prompt,
           budget = type(params.budget) == "table" and params.budget or {}, sequential = params.sequential or nil,
           transcript = transcript }
end

-- the workflow of ctx, checked, and its models opened: wf, models, paths
-- (raises with the file and what is wrong)
function B.load(ctx, load_lib)
  if type(ctx.workflow) ~= "string" or type(ctx.prompt) ~= "string" then
    error("the run shown does not say its workflow and task (not a run of plugins/agents.lua or :agents)", 0)
  end
  local text, err = lab.fs.read(ctx.workflow)
  if not text then error(fmt("workflow=%s: %s", ctx.workflow, tostring(err)), 0) end
  local wf
  wf, err = F.validate(text, load_lib(ctx.lib))
  if not wf then error(fmt("%s: %s", ctx.workflow, err), 0) end
  local models, paths = {}, {}
  for _, m in ipairs(wf.order) do
    if m.model and not models[m.model] then
      -- as the runtime finds a member's model (F.open_model where workflow.lua has it)
      local mod, merr = (F.open_model or lab.model.open)(m.model)
      if not mod then
        error(fmt("%s: %s '%s': cannot open model '%s': %s", ctx.workflow, F.ROLES[m.role], m.name, m.model, tostring(merr)), 0)
      end
      models[m.model], paths[#paths + 1] = mod, mod
    end
  end
  return wf, models, paths
end

local function starts_with(a, b, from)
  if #a - from + 1 < #b then return false end
  for j = 1, #b do if a[from + j - 1] ~= b[j] then return false end end
  return true
end

-- B.from_loom(e, ids, mod): the forced value a loom path `ids` (token ids of
-- the workbench's model: the turn's prompt, then the turn as the user made
-- it) gives for transcript entry e, a model turn of a live run (it has its
-- prompt): {tokens = ..., continue = true}, or {text = ..., continue = true}
-- when the loom tokenized the prompt otherwise; nil, err when the path does
-- not begin with the turn's prompt.
function B.from_loom(e, ids, mod)
  if type(e.prompt_ids) ~= "table" then
    return nil, "this turn has no prompt (a recorded run keeps none): edit it with :agents-branch TEXT"
  end
  local bos = mod:info().bos
  for _, from in ipairs({ 1, 2 }) do
    if (from == 1 or ids[1] == bos) and starts_with(ids, e.prompt_ids, from) then
      local rest = {}
      for j = from + #e.prompt_ids, #ids do rest[#rest + 1] = ids[j] end
      if #rest == 0 then return nil, "the loom's path ends where the turn begins: pick or generate a token after the prompt" end
      return { tokens = rest, continue = true }
    end
  end
  -- the loom tokenized the prompt and the answer as one text: compare texts
  local body = ids
  if ids[1] == bos then body = table.move(ids, 2, #ids, 1, {}) end
  local ok, text = pcall(mod.detokenize, mod, body, { special = true })
  if ok and type(text) == "string" and text:sub(1, #e.prompt) == e.prompt and #text > #e.prompt then
    return { text = text:sub(#e.prompt + 1), continue = true }
  end
  return nil, "the loom's path does not begin with this turn's prompt: open the turn with o, pick another token "
    .. "in its answer, then b (the workbench's model must be the member's)"
end

-- B.branch(T, value, load_lib): reruns the workflow shown in T (the agents
-- pane's state) with the selected message's turn replaced by value (as
-- R.branch takes it), live in T; records the new run (parent, branch).
-- Raises on what it cannot do.
function B.branch(T, value, load_lib)
  if T.running then error("a run is under way in the agents pane: wait for it to end", 0) end
  local ctx = T.ctx
  if not ctx or ctx.transcript ~= T.transcript then
    error("the agents pane shows no workflow run to branch (an architect example is not one): :agents or :agents-show RUN first", 0)
  end
  local parent, i = T.transcript, T.sel
  local name, k = R.turn_of(parent, i)
  if not name then error("#" .. i .. ": " .. k, 0) end
  local wf, models, paths = B.load(ctx, load_lib)
  local branch = { message = i, member = name, turn = k, mode = value.continue and "prefix" or "text",
                   text = value.text, tokens = value.tokens }
  local rec = E.record_begin("agents", { workflow = ctx.workflow, prompt = ctx.prompt, lib = ctx.lib,
    budget = ctx.budget, sequential = ctx.sequential, parent = ctx.id, branch = branch }, nil, paths)
  local pview = { transcript = parent, title = T.title, status = T.status, ctx = ctx, sel = i }
  T.running = true
  T.transcript, T.sel, T.follow, T.msg, T.diverge, T.other, T.marks = {}, 1, true, nil, nil, nil, nil
  T.title = fmt("branch of %s at #%d (%s's turn %d)%s", ctx.id and ("run " .. ctx.id) or "the run shown", i, name, k,
    rec and (", run " .. rec.id) or "")
  T.status = "running"
  lab.ui.redraw()
  T.live = {}
  local ok, r = pcall(R.branch, wf, ctx.prompt, parent, i, value, { budget = ctx.budget, models = models,
    parallel = not ctx.sequential, on_token = function(l) T.live[l.member] = l; lab.ui.redraw() end,
    on_message = function(e)
      local l = T.live[e.sender]
      if l and e.turn == l.turn then T.live[e.sender] = nil end
      T.transcript[#T.transcript + 1] = e
      if rec then rec:put("message", R.record_of(e)) end
      lab.ui.redraw()
    end })
  T.running, T.live = false, {}
  if not ok then
    if rec then rec:finish("failed", tostring(r)) end
    T.status = "failed: " .. tostring(r)
    T.other = pview
    lab.ui.redraw()
    error(r, 0)
  end
  if rec then
    rec:put("agents_result", { status = r.status, reason = r.reason, answer = r.answer, turns = r.turns, tokens = r.tokens,
      seconds = r.seconds, parent = ctx.id, diverge = r.diverge, forced_unused = r.forced_unused })
    rec:finish(r.status == "ok" and "ok" or "failed", r.status ~= "ok" and r.reason or nil)
  end
  local nctx = {}
  for key, v in pairs(ctx) do nctx[key] = v end
  nctx.id, nctx.wf_models, nctx.transcript = rec and rec.id or nil, B.member_models(wf, models), T.transcript
  T.ctx, T.other, T.diverge, T.marks = nctx, pview, r.diverge, R.differs(parent, T.transcript)
  T.status = fmt("%s: %s (%d turns, %d tokens); %s", r.status, r.reason, r.turns, r.tokens,
    r.diverge and fmt("differs from #%d on", r.diverge) or "the same as its parent")
  if r.diverge and r.diverge < i then
    T.msg = fmt("the replay differs before #%d (at #%d): has the workflow, its lib or a model changed?", i, r.diverge)
  end
  T.sel, T.follow = math.min(r.diverge or i, #T.transcript), false
  lab.ui.redraw()
  return r
end

-- `v`: the parent and the branch change places in the pane
function B.swap(T)
  if not T.other then T.msg = "no branch yet: b (from the loom) or :agents-branch TEXT makes one"; return end
  local o = T.other
  T.other = { transcript = T.transcript, title = T.title, status = T.status, ctx = T.ctx, sel = T.sel }
  T.transcript, T.title, T.status, T.ctx, T.sel, T.follow = o.transcript, o.title, o.status, o.ctx, o.sel, false
  T.msg = nil
end

-- runs fn(...) as a task of its own (a pane's key handler may not wait);
-- its error lands in T.msg
local function spawn(T, fn, ...)
  local args = table.pack(...)
  lab.spawn(function()
    local ok, err = pcall(fn, table.unpack(args, 1, args.n))
    if not ok then T.msg = "branch: " .. tostring(err); lab.ui.redraw() end
  end)
end

-- the loom's path as the forced value of the selected turn
local function loom_value(T)
  local e = T.transcript[T.sel]
  if not e or not e.tokens or e.tokens == lab.json.null then
    return nil, fmt("#%d is not a model's turn: select a line with [N tok]", T.sel)
  end
  local model = T.ctx and T.ctx.wf_models and T.ctx.wf_models[e.sender]
  if type(e.prompt_ids) ~= "table" or not model then
    return nil, "this turn has no prompt (a recorded run keeps none): edit it with :agents-branch TEXT"
  end
  local ids, err = lab.ui.loom_path()
  if not ids then return nil, "loom: " .. tostring(err) end
  return B.from_loom(e, ids, model)
end

-- B.key(T, k, load_lib): the pane's branching keys (nil: not one of them)
function B.key(T, k, load_lib)
  if k == "v" then B.swap(T); return "redraw" end
  if k == "e" then
    T.msg = fmt("edit #%d: :agents-branch TEXT replaces the turn, :agents-branch --prefix TEXT begins it", T.sel)
    return "redraw"
  end
  if k == "b" then
    local v, err = loom_value(T)
    if not v then T.msg = err; return "redraw" end
    T.msg = fmt("branching #%d from the loom's path (%d tokens of the turn)...", T.sel, v.tokens and #v.tokens or 0)
    spawn(T, B.branch, T, v, load_lib)
    return "redraw"
  end
  return nil
end

-- :agents-branch [--prefix] TEXT | --loom: the selected turn replaced
function B.command(T, args, load_lib)
  args = args or ""
  local v, err
  if args:match("^%s*%-%-loom%s*$") then
    v, err = loom_value(T)
    if not v then error(err, 0) end
  else
    -- the text after "--prefix " as typed: a leading space is a token's
    local prefix = args:match("^%s*%-%-prefix (.+)$")
    if prefix then v = { text = prefix, continue = true }
    elseif args:match("^%s*$") then
      error("usage: :agents-branch TEXT | --prefix TEXT | --loom (the selected turn of the agents pane)", 0)
    else v = { text = (args:gsub("^%s+", ""):gsub("%s+$", "")) } end
  end
  return B.branch(T, v, load_lib)
end

-- the member -> model of a checked workflow (for the loom's ids)
function B.member_models(wf, models)
  local out = {}
  for _, m in ipairs(wf.order) do
    if m.model then out[m.name] = type(m.model) == "userdata" and m.model or models[m.model] end
  end
  return out
end

return B
