-- treeview: what plugins/tree.lua shows: the side-by-side table of
-- methods, the terminal plot of accuracy against tokens, the tree as text
-- lines, and the workbench plugin (the `:tree` command and the `tree`
-- pane, which draws a search's tree while it grows).
local LV = assert(lab.require("listview"))
local V = {}
local fmt, concat, rep = string.format, table.concat, string.rep

-- V.table(summaries) -> text: one row per method
function V.table(sums)
  local lines = { fmt("%-9s %9s %8s %10s %9s %10s %12s %9s %9s", "method", "accuracy", "correct", "generated", "gen/inst",
    "evaluated", "engine steps", "peak KV", "wall s") }
  for _, s in ipairs(sums) do
    lines[#lines + 1] = fmt("%-9s %9.3f %4d/%-3d %10d %9.1f %10d %12d %9d %9.2f", s.method, s.accuracy, s.correct, s.n,
      s.generated, s.tokens_per_instance, s.evaluated, s.steps, s.peak_cells, s.wall_s)
  end
  return concat(lines, "\n")
end

-- V.plot(summaries [, w, h]) -> text: accuracy (y, 0..1) against tokens
-- generated per instance (x, 0..max), one letter per method, a legend.
function V.plot(sums, w, h)
  w, h = w or 56, h or 12
  local xmax = 0
  for _, s in ipairs(sums) do if s.tokens_per_instance > xmax then xmax = s.tokens_per_instance end end
  if xmax <= 0 then xmax = 1 end
  local grid = {}
  for r = 1, h do grid[r] = {} for c = 1, w do grid[r][c] = " " end end
  local legend = {}
  for i, s in ipairs(sums) do
    local mark = string.char(64 + i)        -- A, B, ...
    local c = math.floor(s.tokens_per_instance / xmax * (w - 1) + 0.5) + 1
    local r = h - math.floor(s.accuracy * (h - 1) + 0.5)
    grid[r][c] = grid[r][c] == " " and mark or "*"
    legend[#legend + 1] = fmt("  %s %-9s accuracy %.3f at %.1f tokens", mark, s.method, s.accuracy, s.tokens_per_instance)
  end
  local out = { "accuracy against tokens generated per instance" }
  for r = 1, h do
    local label = r == 1 and "1.0" or r == h and "0.0" or (r == (h + 1) // 2 and "0.5" or "   ")
    out[#out + 1] = label .. " |" .. concat(grid[r])
  end
  out[#out + 1] = "    +" .. rep("-", w)
  local right = fmt("%.0f", xmax)
  out[#out + 1] = "     0" .. rep(" ", math.max(1, w - #right - 1)) .. right
  out[#out + 1] = concat(legend, "\n")
  out[#out + 1] = "  (* several methods at one point)"
  return concat(out, "\n")
end

local STATUS_MARK = { open = "o", expanded = "+", pruned = "x", dead = "-", solution = "*", invalid = "!" }

-- V.lines(tree) -> { {node=, depth=, text=}... } depth-first, children in order
function V.lines(tree)
  local out = {}
  local function walk(node)
    out[#out + 1] = node
    for _, id in ipairs(node.children) do walk(tree.nodes[id]) end
  end
  if tree then walk(tree.root) end
  return out
end

-- one node as a line: mark, value, tokens, its step text
function V.node_line(node, w)
  local v = node.value and fmt("%4.2f", node.value) or "  - "
  local s = fmt("%s%s %-8s %s %3dt %s", rep("  ", node.depth), STATUS_MARK[node.status] or "?", node.status, v,
    (node.gen_tokens or 0) + (node.eval_tokens or 0) + (node.propose_tokens or 0), node.id == 0 and "(root)" or (node.text or ""))
  if w and #s > w then s = s:sub(1, w) end
  return s
end


-- ---- the workbench plugin ----------------------------------------------------

-- The text of a node's path: a search node's tokens (kept while it ran), or
-- for a parsed ATS trajectory the prompt and the completion up to the
-- node's line.
function V.path_text(S, node)
  if node.path_tokens then return S.model:detokenize(node.path_tokens) end
  local res = S.res
  if not res then return nil end
  if node.line and res.text then
    local out, i = {}, 0
    for line in (res.text .. "\n"):gmatch("([^\n]*)\n") do
      i = i + 1
      if i > node.line then break end
      out[#out + 1] = line
    end
    return (res.prompt or "") .. table.concat(out, "\n")
  end
  if node.id == 0 then return res.prompt end
  return nil
end

local function header(S)
  if not S.method then return { "tree: no run yet. :tree model=M task=numpath method=tot-bfs [seed=1 ...]" } end
  local st = S.lm and S.lm.stats or {}
  local res = S.res
  local state = S.running and "running" or (res and (res.ok and "ok" or "--")) or ""
  local n = S.tree and S.tree.n or 0
  return {
    fmt("%s #%d %s %s | %d nodes | gen %d | steps %d | cells %d (peak %d)%s", S.inst.task, S.inst.seed, S.method,
      state, n, st.generated or 0, st.steps or 0, st.cells or 0, st.peak_cells or 0,
      res and fmt(" | %.2fs", res.wall_s) or ""),
    "Q: " .. S.inst.question .. (res and res.answer and ("   " .. res.answer) or ""),
  }
end

function V.draw(S, w, h)
  local out = header(S)
  local nodes = V.lines(S.tree)
  if #nodes == 0 then
    if S.res and S.res.text then
      for line in (S.res.text .. "\n"):gmatch("([^\n]*)\n") do
        if #out >= h then break end
        out[#out + 1] = line:sub(1, w)
      end
    end
    if S.err then out[#out + 1] = "error: " .. S.err end
    return out
  end
  if S.tree.n == 0 and S.res and S.res.text then
    -- an ATS completion the parser found no step in: the text itself
    out[#out + 1] = ">" .. V.node_line(nodes[1], w - 1)
    for line in (S.res.text .. "\n"):gmatch("([^\n]*)\n") do
      if #out >= h - 1 then break end
      out[#out + 1] = ("  " .. line):sub(1, w)
    end
    out[#out + 1] = "(no step of the trajectory could be read)"
    return out
  end
  if S.sel > #nodes then S.sel = #nodes end
  if S.sel < 1 then S.sel = 1 end
  local top, last = LV.window(S.sel, #nodes, h - #out - 2)
  for i = top, last do
    out[#out + 1] = (i == S.sel and ">" or " ") .. V.node_line(nodes[i], w - 1)
  end
  local sn = nodes[S.sel]
  local detail = fmt("#%d %s", sn.id, sn.status)
  if sn.votes then detail = detail .. " votes " .. table.concat(sn.votes, ",") end
  if sn.state and S.T then detail = detail .. " | " .. S.T.state_text(S.inst, sn.state) end
  if sn.invalid or sn.error then detail = detail .. " | invalid: " .. tostring(sn.invalid or sn.error) end
  out[#out + 1] = detail:sub(1, w)
  out[#out + 1] = (S.msg or "j/k move, o: open the node's path in the loom"):sub(1, w)
  return out
end

function V.key(S, k)
  local nodes = V.lines(S.tree)
  if LV.move(S, k, #nodes) then return "redraw" end
  if k ~= "o" then return false end
  local node = nodes[S.sel]
  if not node then S.msg = "no node"; return "redraw" end
  S.msg = LV.open(V.path_text(S, node), fmt("node #%d", node.id))
  return "redraw"
end

-- V.plugin(ctx): the manifest of plugins/tree.lua in the workbench. ctx
-- holds the libraries and plugins/tree.lua's config() and option spec.
function V.plugin(ctx)
  local S = { sel = 1, models = {} }
  local function usage()
    return "usage: :tree model=M [task=numpath] [method=tot-bfs] [seed=1] [difficulty=1] [k= b= gen= eval= votes= threshold= budget= depth= temp= shots= format= keep-duplicates=1]"
  end
  local function command(args)
    local kv, rest = ctx.E.parse_words(args)
    if rest ~= "" or not kv.model then lab.print(usage()); return end
    local o = {}
    for _, s in ipairs(ctx.spec) do
      local v = kv[s[1]] or kv[s[1]:gsub("%-", "_")]
      if s[1] == "first" and kv.seed then v = kv.seed end
      if v ~= nil and (s[2] == "number" or s[2] == "integer") then
        local x = tonumber(v)
        if not x or (s[2] == "integer" and math.type(x) ~= "integer") then error(fmt("%s=%s is not a number", s[1], v), 0) end
        v = x
      end
      if v ~= nil and s[2] == "flag" then   -- keep-duplicates=1
        local b = ({ ["1"] = true, ["true"] = true, yes = true, ["0"] = false, ["false"] = false, no = false })[v]
        if b == nil then error(fmt("%s=%s: give 1 or 0", s[1], v), 0) end
        v = b
      end
      if v == nil then v = s.default end
      o[s[1]] = v
    end
    o.seed = tonumber(kv.sampler_seed) or ctx.R.DEFAULTS.seed
    if kv.method then o.method = kv.method else o.method = "tot-bfs" end
    local T, terr = ctx.tasks.get(o.task)
    if not T then error(terr, 0) end
    local cfg, methods = ctx.config(o)
    if not cfg then error(methods, 0) end
    cfg.keep_paths = true
    local m = S.models[o.model]
    if not m then
      local err
      m, err = lab.model.open(o.model, { n_ctx = o.ctx })
      if not m then error(err, 0) end
      S.models[o.model] = m
    end
    local inst = T.generate(o.first, o.difficulty)
    S.model, S.T, S.inst, S.method = m, T, inst, methods[1]
    S.tree, S.res, S.err, S.sel, S.msg = nil, nil, nil, 1, nil
    S.lm = ctx.TM.new(m, { on_step = function() lab.ui.redraw() end })
    S.running = true
    lab.ui.redraw()
    local rec = ctx.E.record_begin("tree", { task = o.task, methods = { S.method }, first = o.first, difficulty = o.difficulty,
      model = o.model, k = cfg.k, b = cfg.b, gen = cfg.gen, eval = cfg.eval, format = cfg.format }, cfg.seed, { m })
    local hint = S.pane and lab.ui.pane_hint(S.pane)      -- where the tree grows (no focus moves there)
    lab.print(fmt("tree: %s on %s %d%s%s", S.method, o.task, o.first, rec and (", run " .. rec.id) or "",
      hint and (": " .. hint) or ""))
    local res = ctx.R.run(S.lm, T, inst, S.method, cfg, function(kind, node, tree)
      S.tree = tree
      lab.ui.redraw()
    end)
    S.res, S.tree, S.running, S.err = res, res.tree, false, res.error
    -- R.run catches what stopped the search (Ctrl-C: "plugin tree:
    -- interrupted"); the console says it, not only the tree pane
    if res.error then lab.print("tree: " .. tostring(res.error)) end
    if rec then
      rec:put("instance", { method = res.method, index = 1, seed = inst.seed, question = inst.question,
        answer = res.answer or lab.json.null, ok = res.ok and true or false, generated = res.generated,
        steps = res.steps, peak_cells = res.peak_cells, wall_s = res.wall_s })
      rec:finish()
    end
    lab.ui.redraw()
  end
  return {
    name = "tree",
    api_level = 1,
    description = "tree-search prompting (ToT, ATS) on puzzle tasks",
    on_load = function()
      -- a mistake (model=nosuch.gguf) or Ctrl-C ends the command with a
      -- console line; raised out of the command it disabled the plugin
      lab.ui.command_add("tree", "tree search: " .. usage(), function(args)
        local ok, err = pcall(command, args)
        if not ok then
          S.running = false
          S.err = tostring(err)
          lab.print("tree: " .. tostring(err))
          lab.ui.redraw()
        end
      end)
      S.pane = lab.ui.pane_add("tree", {
        on_draw = function(w, h) return V.draw(S, w, h) end,
        on_key = function(k) return V.key(S, k) end,
      })
      lab.ui.status_add("tree", function()
        if not S.method then return "" end
        return fmt("tree %s %d%s", S.method, S.tree and S.tree.n or 0, S.running and " ▶" or "")
      end)
    end,
  }
end

return V
