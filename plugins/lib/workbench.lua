-- workbench: the TUI pane, the `:NAME` command and the headless command
-- line shared by the logit-arithmetic plugins (proxy, contrastive,
-- generic). A plugin describes itself once:
--
--   local W = assert(lab.require("workbench"))
--   local cfg = {
--     name = "proxy", title = "proxy tuning", mix_name = "combined",
--     roles = { {name="base"}, {name="expert", format="auto", longer=true}, {name="anti"} },
--     params = { {name="a", default=1, step=0.1, up="+", down="-", help="..."} },
--     mix = function(rows, params) return <Logits> end,
--   }
--   if W.is_script() then return W.main(cfg, {...}) end
--   return W.plugin(cfg)
--
-- and gets: headless `logitlab run plugins/NAME.lua --ROLE PATH ... -p TEXT`
-- (text, or --json lines), a `:NAME ROLE=PATH ... PARAM=V PROMPT` command,
-- a pane (a small workbench: text with a cursor, step/run/stop, live
-- parameters, the distributions side by side, branches), a status item,
-- and one workspace run per generation with a "token" record per token.
local E = assert(lab.require("ensemble"))
local W = {}
local fmt, concat = string.format, table.concat

local TOP_K = 10          -- alternatives kept per distribution and step
local LIVE_BRANCHES = 24  -- branches that keep their seqs (the rest rebuild on demand)

-- Whether the chunk runs as `logitlab run plugins/NAME.lua` (the scripts
-- state has `arg`; a plugin's state has none).
function W.is_script()
  return type(rawget(_G, "arg")) == "table"
end

local function params_of(cfg, src)
  local p = {}
  for _, d in ipairs(cfg.params) do
    local v = src and src[d.name]
    if v == nil then v = d.default end
    p[d.name] = v
  end
  return p
end

-- The per-token record: pos, tok, piece, p_<role>..., p_<mix>, shift, params.
local function token_record(cfg, ens, st, params, branch)
  local r = { pos = st.pos, tok = st.tok, piece = st.piece, shift = st.shift, branch = branch and branch.id }
  for i, role in ipairs(ens.roles) do r["p_" .. role.name] = st.p[i] end
  r["p_" .. cfg.mix_name] = st.p_mix
  for _, d in ipairs(cfg.params) do r[d.name] = params[d.name] end
  if st.extra then for k, v in pairs(st.extra) do r[k] = v end end
  return r
end

local function run_params(cfg, ens, prompt, params, sopts, n)
  local t = { prompt = prompt, sampler = sopts, n = n, trimmed = ens.trimmed }
  for i, role in ipairs(ens.roles) do
    t[role.name] = role.path
    t["format_" .. role.name] = role.format
  end
  for k, v in pairs(params) do t[k] = v end
  return t
end

-- A mix function over the current parameters (read at every step, so a
-- change takes effect at the next token).
local function mixer(cfg, params)
  return function(rows, branch) return cfg.mix(rows, params, branch) end
end

-- ---- headless -------------------------------------------------------------

local function cli_spec(cfg)
  local spec = {}
  for _, r in ipairs(cfg.roles) do
    spec[#spec + 1] = { r.name, "string", "MODEL", r.help or ("the " .. r.name .. " model (a GGUF path or name)") }
  end
  for _, d in ipairs(cfg.params) do
    spec[#spec + 1] = { d.name, "number", d.metavar or "X", d.help, short = d.short, default = d.default }
  end
  return E.spec(E.spec(spec, {
    { "prompt", "string", "TEXT", "the prompt (also the words after the options)", short = "p" },
    { "n", "integer", "N", "tokens to generate (-1: until EOS)", short = "n", default = 64 },
    { "system", "string", "TEXT", "system message for roles that use a chat template" },
    { "ctx", "integer", "N", "KV cells per model (default: the model's, at most 4096)" },
    { "json", "flag", nil, "one JSON object per token, then a summary object" },
    { "no-record", "flag", nil, "do not record the run in the workspace" },
    { "help", "flag", nil, "show this help", short = "h" },
  }), E.SAMPLER_SPEC)
end

-- W.main(cfg, argv) -> runs one generation headless (`logitlab run`).
function W.main(cfg, argv)
  local spec = cli_spec(cfg)
  local o, rest = E.parse_args(argv, spec)
  local usage = E.usage(cfg.usage or ("usage: logitlab run plugins/" .. cfg.name .. ".lua --ROLE MODEL ... -p TEXT"),
    spec)
  if not o then error(rest .. "\n" .. usage, 0) end
  if o.help then lab.print(usage); return end
  local roles = {}
  for i, r in ipairs(cfg.roles) do
    if not o[r.name] then error(fmt("missing --%s MODEL\n%s", r.name, usage), 0) end
    roles[i] = { name = r.name, path = o[r.name], format = r.format, longer = r.longer }
  end
  local prompt = o.prompt or concat(rest, " ")
  lab.budget{ seconds = 0 }        -- a long generation is one script
  local ens, err = E.open(roles, { n_ctx = o.ctx })
  if not ens then error(err, 0) end
  local params = params_of(cfg, o)
  local sopts = E.sampler_params(o)
  local sampler = E.sampler(o)
  local b
  b, err = ens:begin(prompt, { system = o.system })
  if not b then error(err, 0) end
  b:sync_sampler(sampler)
  local rec, why
  if not o["no-record"] then
    rec, why = E.record_begin(cfg.name, run_params(cfg, ens, prompt, params, sopts, o.n), o.seed, ens:models())
  end
  local t0 = lab.now()
  local res
  res, err = b:generate(mixer(cfg, params), sampler, { max_tokens = o.n, on_step = function(st)
    local r = token_record(cfg, ens, st, params)
    r.branch = nil
    if rec then rec:put("token", r) end
    if o.json then
      r.type = "token"
      lab.print(lab.json.encode(r))
    end
  end })
  if not res then
    if rec then rec:finish("failed", err) end
    error(err, 0)
  end
  local dt = lab.now() - t0
  if rec then
    rec:metric("tokens", res.n)
    rec:metric("ms_per_token", res.n > 0 and dt * 1000 / res.n or 0)
    rec:finish("ok")
  end
  if o.json then
    lab.print(lab.json.encode{ type = "done", n = res.n, reason = res.reason, text = b:text(),
      run = rec and rec.id or lab.json.null, recorded = rec and rec.n or 0,
      note = (not rec and not o["no-record"]) and ("not recorded: " .. tostring(why)) or nil,
      ms_per_token = res.n > 0 and dt * 1000 / res.n or 0 })
  else
    lab.print(b:text())
    -- as bestofn and agents say it: a busy workspace (a workbench holding
    -- it) otherwise lost the run without a word
    if not rec and not o["no-record"] then lab.print(cfg.name .. ": not recorded: " .. tostring(why)) end
  end
  return res
end

-- ---- the TUI workbench ------------------------------------------------------

local function new_state(cfg)
  -- running: a generation is under way (Esc stops it); busy: a task of the
  -- pane (generation, branch) owns the branches, so no other may start
  return { cfg = cfg, params = params_of(cfg), sopts = { temp = 0, top_k = 40, top_p = 0.95, min_p = 0.05, seed = 42 },
           n = 32, paths = {}, branches = {}, sel = 0, alt = 1, running = false, busy = false, clock = 0,
           msg = "", ms = 0, formats = {} }
end

local function say(S, text)
  S.msg = text
  lab.print(S.cfg.name .. ": " .. text)
  lab.ui.redraw()
end

local function touch(S, b)
  S.clock = S.clock + 1
  b.used = S.clock
end

local function set_current(S, b, sel)
  S.cur = b
  touch(S, b)
  S.sel = math.max(0, math.min(sel or #b.toks, #b.toks))
  S.alt = 1
  if S.sampler then b:sync_sampler(S.sampler) end
end

local function finish_run(S, status, err)
  if S.rec then S.rec:finish(status or "ok", err) end
  S.rec = nil
end

-- Generates up to n tokens on the current branch (a task; S.busy is set).
local function generate(S, n)
  if not S.cur then return say(S, "nothing to generate from: run :" .. S.cfg.name .. " first") end
  S.running, S.stop = true, false
  local b = S.cur
  local follow = S.sel == #b.toks
  local t0, k = lab.now(), 0
  local res, err = b:generate(mixer(S.cfg, S.params), S.sampler, {
    max_tokens = n, top = TOP_K,
    should_stop = function() return S.stop or S.cur ~= b end,
    on_step = function(st)
      k = k + 1
      S.ms = (lab.now() - t0) * 1000 / k
      if follow then S.sel = #b.toks end
      if S.rec then S.rec:put("token", token_record(S.cfg, S.ens, st, S.params, b)) end
      lab.ui.redraw()
    end })
  S.running = false
  if not res then say(S, "generation failed: " .. tostring(err)) else
    S.msg = fmt("%d tokens (%s), %.1f ms/token", res.n, res.reason, S.ms)
  end
  lab.ui.redraw()
end

-- Runs fn(S, ...) as a task holding S.busy, claimed now (a second key
-- press cannot start another before the first task runs).
local function start_task(S, fn, ...)
  if S.busy then S.msg = "busy: Esc stops a generation"; return false end
  S.busy = true
  local args = table.pack(...)
  lab.spawn(function()
    local ok, err = pcall(fn, S, table.unpack(args, 1, args.n))
    S.busy, S.running = false, false
    lab.ui.redraw()
    if not ok then error(err, 0) end
  end)
  return true
end

-- :NAME ROLE=PATH ... PARAM=V n=N temp=T seed=S PROMPT
local function command(S, args)
  local cfg = S.cfg
  local kv, prompt = E.parse_words(args)
  local known = { n = true, temp = true, top_k = true, top_p = true, min_p = true, seed = true, system = true }
  for _, r in ipairs(cfg.roles) do known[r.name] = true end
  for _, d in ipairs(cfg.params) do known[d.name] = true end
  for k in pairs(kv) do
    if not known[k] then return say(S, "unknown setting '" .. k .. "'; " .. W.command_help(cfg)) end
  end
  for _, d in ipairs(cfg.params) do
    if kv[d.name] then
      local x = tonumber(kv[d.name])
      if not x then return say(S, d.name .. " must be a number") end
      S.params[d.name] = x
    end
  end
  local sopts = {}
  for k, v in pairs(S.sopts) do sopts[k] = v end
  for _, k in ipairs{ "temp", "top_p", "min_p" } do
    if kv[k] then
      sopts[k] = tonumber(kv[k])
      if not sopts[k] then return say(S, k .. " must be a number") end
    end
  end
  for _, k in ipairs{ "top_k", "seed", "n" } do
    if kv[k] then
      local x = math.tointeger(tonumber(kv[k]))
      if not x then return say(S, k .. " must be an integer") end
      if k == "n" then S.n = x else sopts[k] = x end
    end
  end
  local ok, smp = pcall(lab.sampler, sopts)
  if not ok then return say(S, "sampler: " .. tostring(smp)) end
  S.sopts = sopts
  if kv.system then S.system = kv.system end
  local reopen = false
  for _, r in ipairs(cfg.roles) do
    if kv[r.name] and kv[r.name] ~= S.paths[r.name] then S.paths[r.name], reopen = kv[r.name], true end
  end
  if not reopen and prompt == "" then
    if next(kv) == nil then return say(S, W.command_help(cfg)) end
    S.sampler = smp
    if S.cur then S.cur:sync_sampler(S.sampler) end
    return say(S, W.describe(S))
  end
  if S.busy then return say(S, "stop the generation first (Esc in the pane)") end
  if reopen or not S.ens then
    local roles = {}
    for i, r in ipairs(cfg.roles) do
      if not S.paths[r.name] then return say(S, "missing " .. r.name .. "=MODEL; " .. W.command_help(cfg)) end
      roles[i] = { name = r.name, path = S.paths[r.name], format = r.format, longer = r.longer }
    end
    local ens, err = E.long(E.open, roles)
    if not ens then return say(S, err) end
    for _, b in ipairs(S.branches) do b:release() end
    if S.ens then S.ens:close() end
    S.ens, S.branches, S.cur = ens, {}, nil
  end
  if prompt == "" then prompt = S.prompt or "" end
  finish_run(S)
  for _, b in ipairs(S.branches) do b:release() end
  S.branches, S.prompt = {}, prompt
  local b, err = S.ens:begin(prompt, { system = S.system })
  if not b then return say(S, err) end
  S.branches[1] = b
  S.sampler = smp
  set_current(S, b, 0)
  local why
  S.rec, why = E.long(E.record_begin, cfg.name, run_params(cfg, S.ens, prompt, S.params, S.sopts, S.n),
    S.sopts.seed, S.ens:models())
  -- the reply names the pane and its key: nothing moves the focus there (keys typed after
  -- the command go where they went), so the user must be told where to look
  local hint = S.pane and lab.ui.pane_hint(S.pane)
  say(S, fmt("%s; %s%s", S.ens:describe(), S.rec and ("run " .. S.rec.id) or ("not recorded: " .. tostring(why)),
    hint and (": " .. hint) or ""))
  if S.n ~= 0 then
    S.busy = true
    local ok, err = pcall(generate, S, S.n)
    S.busy = false
    if not ok then error(err, 0) end
  end
end

function W.command_help(cfg)
  local roles, params = {}, {}
  for _, r in ipairs(cfg.roles) do roles[#roles + 1] = r.name .. "=MODEL" end
  for _, d in ipairs(cfg.params) do params[#params + 1] = d.name .. "=" .. tostring(d.default) end
  return fmt("usage: :%s %s [%s n=32 temp=0 seed=42] PROMPT (settings alone change them live)",
    cfg.name, concat(roles, " "), concat(params, " "))
end

function W.describe(S)
  local p = {}
  for _, d in ipairs(S.cfg.params) do p[#p + 1] = fmt("%s=%.3g", d.name, S.params[d.name]) end
  return fmt("%s, temp=%g seed=%d n=%d", concat(p, " "), S.sopts.temp, S.sopts.seed, S.n)
end

-- Branches whose first sel-1 tokens are the current branch's, one per
-- distinct token at sel (the most recently used), in creation order.
local function siblings(S, sel)
  local cur, by_tok, list = S.cur, {}, {}
  for _, b in ipairs(S.branches) do
    if #b.toks >= sel then
      local same = true
      for j = 1, sel - 1 do if b.toks[j] ~= cur.toks[j] then same = false; break end end
      if same then
        local t = b.toks[sel]
        local have = by_tok[t]
        if not have or (b == cur) or ((b.used or 0) > (have.used or 0) and have ~= cur) then by_tok[t] = b end
      end
    end
  end
  for _, b in pairs(by_tok) do list[#list + 1] = b end
  table.sort(list, function(x, y) return x.id < y.id end)
  return list
end

local function add_branch(S, nb, sel)
  S.branches[#S.branches + 1] = nb
  if S.rec then S.rec:put("branch", { branch = nb.id, parent = nb.parent and nb.parent.id, at = nb.at }) end
  set_current(S, nb, sel)
  E.trim_branches(S.branches, LIVE_BRANCHES, nb)
end

-- Branches at the cursor with the selected alternative of the mix (a task).
local function branch_alt(S)
  local st = S.cur.steps[S.sel]
  local alt = st and st.top and st.top.mix[S.alt]
  if not alt then return say(S, "no alternative selected") end
  if alt.id == st.tok then return say(S, "that is the token already chosen here") end
  local nb, err = S.cur:fork(S.sel - 1)
  if not nb then return say(S, "cannot branch: " .. tostring(err)) end
  nb:sync_sampler(S.sampler)
  local s2
  s2, err = nb:step(mixer(S.cfg, S.params), S.sampler, { force = alt.id, top = TOP_K })
  if not s2 then nb:release(); return say(S, "cannot branch: " .. tostring(err)) end
  add_branch(S, nb, S.sel)
  if S.rec then S.rec:put("token", token_record(S.cfg, S.ens, s2, S.params, nb)) end
  say(S, fmt("branch %d: %q at position %d", nb.id, s2.piece, S.sel))
end

local function rewind(S)
  if S.sel >= #S.cur.toks then return say(S, "already at the end of the branch") end
  local nb, err = S.cur:fork(S.sel)
  if not nb then return say(S, "cannot rewind: " .. tostring(err)) end
  add_branch(S, nb, S.sel)
  say(S, fmt("branch %d ends at position %d; the old continuation stays as branch %d", nb.id, S.sel, nb.parent.id))
end

local function switch_sibling(S, dir)
  if S.sel < 1 then return say(S, "move the cursor onto a generated token") end
  local list = siblings(S, S.sel)
  if #list < 2 then return say(S, "no sibling branch at this position") end
  local k = 1
  for i, b in ipairs(list) do if b == S.cur then k = i end end
  local b = list[(k - 1 + dir) % #list + 1]
  set_current(S, b, S.sel)
  say(S, fmt("branch %d (%d of %d here)", b.id, (k - 1 + dir) % #list + 1, #list))
end

local function on_key(S, key)
  local cfg = S.cfg
  for _, d in ipairs(cfg.params) do
    if d.step and (key == d.up or key == d.down) then
      S.params[d.name] = S.params[d.name] + (key == d.up and d.step or -d.step)
      if math.abs(S.params[d.name]) < 1e-9 then S.params[d.name] = 0 end
      if d.min and S.params[d.name] < d.min then S.params[d.name] = d.min end
      S.msg = fmt("%s = %.3g (from the next token)", d.name, S.params[d.name])
      return "redraw"
    end
  end
  if key == "Esc" then
    if not S.running then return false end
    S.stop = true
    S.msg = "stopping"
    return "redraw"
  end
  if not S.cur then
    if key == "s" or key == "g" then say(S, W.command_help(cfg)); return true end
    return false
  end
  local n = #S.cur.toks
  if key == "Left" or key == "h" then S.sel = math.max(S.sel - 1, n > 0 and 1 or 0); S.alt = 1; return "redraw" end
  if key == "Right" or key == "l" then S.sel = math.min(S.sel + 1, n); S.alt = 1; return "redraw" end
  if key == "Home" then S.sel = n > 0 and 1 or 0; S.alt = 1; return "redraw" end
  if key == "End" then S.sel = n; S.alt = 1; return "redraw" end
  if key == "Up" or key == "k" then S.alt = math.max(S.alt - 1, 1); return "redraw" end
  if key == "Down" or key == "j" then S.alt = math.min(S.alt + 1, TOP_K); return "redraw" end
  local busy = S.busy and (key == "s" or key == "g" or key == "Enter" or key == "r" or key == "[" or key == "]")
  if busy then S.msg = "busy: Esc stops a generation"; return "redraw" end
  if key == "s" then start_task(S, generate, 1); return true end
  if key == "g" then start_task(S, generate, S.n ~= 0 and S.n or 32); return true end
  if key == "Enter" then start_task(S, branch_alt); return true end
  if key == "r" then rewind(S); return "redraw" end
  if key == "[" then switch_sibling(S, -1); return "redraw" end
  if key == "]" then switch_sibling(S, 1); return "redraw" end
  return false
end

-- ---- drawing ----------------------------------------------------------------

-- Wraps the prompt and the generated pieces to width w; the selected token
-- is shown as [piece]. Returns the lines and the index of the cursor's line.
local function text_lines(S, w)
  local parts = { S.prompt or "" }
  local b = S.cur
  for j, st in ipairs(b.steps) do
    local p = st.piece:gsub("\n", "↵\n")
    parts[#parts + 1] = j == S.sel and ("[" .. p .. "]") or p
  end
  local text = concat(parts)
  local sel_at = nil
  if S.sel > 0 then
    local before = { S.prompt or "" }
    for j = 1, S.sel - 1 do before[#before + 1] = b.steps[j].piece:gsub("\n", "↵\n") end
    sel_at = #concat(before) + 1
  end
  local lines, cursor_line, off = {}, 1, 0
  for para in (text .. "\n"):gmatch("(.-)\n") do
    repeat
      local n = utf8.len(para) or #para
      local cut = n > w and (utf8.offset(para, w + 1) or (w + 1)) or (#para + 1)
      local line = para:sub(1, cut - 1)
      lines[#lines + 1] = line
      if sel_at and sel_at > off and sel_at <= off + #line then cursor_line = #lines end
      off = off + #line
      para = para:sub(cut)
    until para == ""
    off = off + 1
  end
  return lines, cursor_line
end

local function pct(p) return p and fmt("%5.3f", p) or "  -  " end

local function draw(S, w, h)
  local cfg = S.cfg
  if not S.cur then
    return { cfg.title, "", W.command_help(cfg), "",
             "keys here: s step, g run, Esc stop, " .. W.param_keys(cfg) .. ", Left/Right cursor,",
             "Up/Down alternative, Enter branch there, [ ] siblings, r rewind to the cursor", "", S.msg }
  end
  local b = S.cur
  local out = {}
  out[1] = E.fit(fmt("%s %s | branch %d of %d | %d tok | %.1f ms/tok%s | %s", cfg.name, W.describe_params(S),
    b.id, #S.branches, #b.toks, S.ms, S.running and " | running" or "", S.msg), w)
  local ncol = #S.ens.roles + 1
  local k = math.max(0, math.min(TOP_K, h - 6))
  local text_h = math.max(1, h - 3 - k)
  local lines, cl = text_lines(S, w)
  local first = math.max(1, math.min(cl - text_h + 1, #lines - text_h + 1))
  if cl >= first + text_h then first = cl - text_h + 1 end
  for i = first, math.min(#lines, first + text_h - 1) do out[#out + 1] = lines[i] end
  while #out < 1 + text_h do out[#out + 1] = "" end
  local st = b.steps[S.sel]
  if not st then
    out[#out + 1] = "(prompt: s steps one token, g runs, Left/Right move over the tokens)"
    return out
  end
  local ps = {}
  for i, role in ipairs(S.ens.roles) do ps[i] = fmt("%s %s", role.name, pct(st.p[i])) end
  out[#out + 1] = E.fit(fmt("pos %d %s #%d  %s  %s %s  shift %+.3f", st.pos, E.visible(st.piece), st.tok,
    concat(ps, "  "), cfg.mix_name, pct(st.p_mix), st.shift), w)
  local cw = math.max(8, (w - (ncol - 1)) // ncol)
  local hdr = {}
  for i, role in ipairs(S.ens.roles) do hdr[i] = E.fit(" " .. role.name, cw, true) end
  hdr[ncol] = E.fit(" " .. cfg.mix_name, cw, true)
  out[#out + 1] = E.fit(concat(hdr, " "), w)
  if not st.top then return out end
  for row = 1, k do
    local cells = {}
    for c = 1, ncol do
      local list = c == ncol and st.top.mix or st.top[c]
      local t = list and list[row]
      if t then
        local chosen, picked = t.id == st.tok, c == ncol and row == S.alt
        local mark = picked and (chosen and "»" or ">") or (chosen and "*" or " ")
        cells[c] = mark .. E.fit(E.visible(t.piece or tostring(t.id)), cw - 7, true) .. " " .. pct(t.prob)
      else
        cells[c] = string.rep(" ", cw)
      end
    end
    out[#out + 1] = E.fit(concat(cells, " "), w)
  end
  return out
end

function W.describe_params(S)
  local p = {}
  for _, d in ipairs(S.cfg.params) do p[#p + 1] = fmt("%s=%.2f", d.name, S.params[d.name]) end
  return concat(p, " ")
end

function W.param_keys(cfg)
  local k = {}
  for _, d in ipairs(cfg.params) do
    if d.step then k[#k + 1] = fmt("%s/%s %s", d.up, d.down, d.name) end
  end
  return concat(k, ", ")
end

-- W.plugin(cfg) -> the plugin's manifest (command, pane, status item).
-- cfg.state receives the workbench state (tests and other plugins read it).
function W.plugin(cfg)
  local S = new_state(cfg)
  cfg.state = S
  return {
    name = cfg.name,
    api_level = 1,
    description = cfg.title .. " (docs/plugins.md)",
    on_load = function()
      lab.ui.command_add(cfg.name, cfg.title .. ": " .. W.command_help(cfg), function(args) command(S, args) end)
      S.pane = lab.ui.pane_add(cfg.name, { on_draw = function(w, h) return draw(S, w, h) end,
                                  on_key = function(key) return on_key(S, key) end })
      lab.ui.status_add(cfg.name, function()
        if not S.cur then return "" end   -- idle plugins leave the status bar alone
        return fmt("%s %s%s%s", cfg.name, W.describe_params(S), S.rec and (" run " .. S.rec.id) or "",
          S.running and " ▶" or "")
      end)
    end,
    on_unload = function()
      S.stop = true
      finish_run(S)
      for _, b in ipairs(S.branches) do b:release() end
      if S.ens then S.ens:close() end
    end,
  }
end

return W
