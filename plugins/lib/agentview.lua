-- agentview: the workbench side of multi-agent workflows (issue 19). The
-- "agents" pane: a transcript, each message coloured by its sender's role,
-- delegation drawn as a tree (one guide per level), live while a workflow
-- runs; `o` opens a model member's turn (its prompt and what it generated)
-- in the loom. The "architect" pane: the iterations of an architect run with
-- their accuracy, the feedback each acted on and the diff of system messages
-- against the version it refined; `t` shows an example's transcript in the
-- agents pane. plugins/architect.lua registers both, with the commands
-- :agents, :agents-show and :architect (docs/agents.md, "In the workbench").
local V = {}
local fmt, concat, rep = string.format, table.concat, string.rep

V.STYLE = { user = "prompt", ["main supervisor"] = "header", ["assistant supervisor"] = "label", agent = "ok",
            tool = "dim" }

local function null(x) return x == nil or x == lab.json.null end
local function one_line(s) return (tostring(s):gsub("\n", "\\n")) end

-- ---- the transcript pane ----------------------------------------------------

function V.new_transcript() return { transcript = {}, sel = 1, title = nil, status = nil, follow = true, live = {} } end

-- R.run's on_token and on_message for a pane state T: a model turn shows
-- token by token (T.live) until its message arrives
function V.live_token(T, l) T.live = T.live or {}; T.live[l.member] = l end
function V.live_message(T, e)
  local l = T.live and T.live[e.sender]
  if l and e.turn == l.turn then T.live[e.sender] = nil end
end

-- the style of an entry: its sender's role; a tool message that is an error: error
function V.entry_style(e)
  if e.sender_role == "tool" and tostring(e.text):sub(1, 6) == "error:" then return "error" end
  return V.STYLE[e.sender_role] or "normal"
end

-- one entry as a line: the delegation tree's guides, sender (role) ->
-- receiver: text, and for a model turn its token count and mean log-prob
function V.entry_line(e)
  local lp = ""
  if not null(e.tokens) and #e.tokens > 0 then
    local s, n = 0, 0
    for _, x in ipairs(null(e.logprobs) and {} or e.logprobs) do
      if type(x) == "number" then s, n = s + x, n + 1 end
    end
    lp = n > 0 and fmt("  [%d tok, lp %.2f]", #e.tokens, s / n) or fmt("  [%d tok]", #e.tokens)
  end
  return fmt("%s%s (%s) -> %s: %s%s", rep("│ ", e.depth or 0), e.sender, e.sender_role, e.receiver, one_line(e.text), lp)
end

local function wrap(s, w, max)
  local out = {}
  for para in (tostring(s) .. "\n"):gmatch("([^\n]*)\n") do
    repeat
      local n = utf8.len(para) or #para
      if n <= w then out[#out + 1] = para; para = nil
      else
        local cut = utf8.offset(para, w + 1) or (w + 1)
        out[#out + 1] = para:sub(1, cut - 1)
        para = para:sub(cut)
      end
    until not para or #out >= max
    if #out >= max then break end
  end
  return out
end

function V.transcript_draw(T, w, h)
  local tr = T.transcript
  local out = { { fmt("agents: %s | %s | %d messages", T.title or "no run yet", T.status or "", #tr), style = "header" } }
  -- a branch and its parent (plugins/lib/agentbranch.lua): ≠ marks the messages that differ
  if T.other then
    out[#out + 1] = { fmt("v: %s | %s", T.other.title or "the other run",
      T.diverge and fmt("≠ from #%d on", T.diverge) or "the same transcripts"), style = "label" }
  end
  -- the last key's answer goes on top, where a short pane still shows it
  if T.msg then out[#out + 1] = { T.msg, style = "warn" } end
  if #tr == 0 then
    out[#out + 1] = ":agents workflow=FILE [lib=FILE.lua] TEXT runs a workflow here; :agents-show RUN shows a recorded one"
    return out
  end
  if T.follow then T.sel = #tr end
  T.sel = math.max(1, math.min(T.sel, #tr))
  local detail = wrap(tr[T.sel].text, math.max(10, w - 2), 3)
  -- model turns under way (T.live[member], R.run's on_token): their text so far
  local live = {}
  for _, l in pairs(T.live or {}) do live[#live + 1] = l end
  table.sort(live, function(a, b) return a.member < b.member end)
  local room = math.max(1, h - #out - 1 - #detail - #live)
  local top = math.max(1, math.min(T.sel - room // 2, #tr - room + 1))
  for i = top, math.min(#tr, top + room - 1) do
    local e = tr[i]
    local mark = T.marks and (T.marks[i] and "≠" or " ") or ""
    out[#out + 1] = { (i == T.sel and ">" or " ") .. mark .. V.entry_line(e), style = i == T.sel and "select" or V.entry_style(e) }
  end
  for _, l in ipairs(live) do
    out[#out + 1] = { fmt("  %s%s (%s) ▸ %s▌  [%d tok]", rep("│ ", l.depth or 0), l.member, l.role, one_line(l.text), l.n),
                      style = "dim" }
  end
  for _, l in ipairs(detail) do out[#out + 1] = { "  " .. l, style = "dim" } end
  out[#out + 1] = { "j/k move, g/G first/last (G follows), o: open a model turn in the loom, b: branch it from the loom, "
    .. "e: edit it, v: parent/branch", style = "key" }
  return out
end

function V.transcript_key(T, k)
  local n = #T.transcript
  if k == "Down" or k == "j" then T.sel = math.min(n, T.sel + 1); T.follow = T.sel == n
  elseif k == "Up" or k == "k" then T.sel = math.max(1, T.sel - 1); T.follow = false
  elseif k == "PageDown" then T.sel = math.min(n, T.sel + 10); T.follow = T.sel == n
  elseif k == "PageUp" then T.sel = math.max(1, T.sel - 10); T.follow = false
  elseif k == "Home" or k == "g" then T.sel = 1; T.follow = false
  elseif k == "End" or k == "G" then T.sel = n; T.follow = true
  elseif k == "o" then
    local e = T.transcript[T.sel]
    if not e then return "redraw" end
    if null(e.tokens) then
      T.msg = fmt("#%d is not a model's turn (no tokens to inspect): pick a line with [N tok]", T.sel)
      return "redraw"
    end
    local text = (not null(e.prompt) and e.prompt or "") .. tostring(e.text)
    local ok, err = lab.ui.loom_open(text)
    if ok then
      T.msg = fmt("turn #%d of %s opened in the loom%s", T.sel, e.sender,
        null(e.prompt) and " (its text only: a recorded run keeps no prompt)" or " (its prompt and answer)")
    else
      T.msg = "loom: " .. tostring(err)
    end
  else
    return false
  end
  return "redraw"
end

-- ---- the architect pane ---------------------------------------------------------

function V.new_architect() return { its = {}, sel = 1, run = nil } end

local function q(sql, args)
  if not lab.store then return nil, "no workspace store" end
  return lab.store.query(sql, args)
end

-- the architect runs of the workspace, oldest first
function V.architect_runs()
  local rows = q("SELECT id, status FROM runs WHERE plugin = 'architect' ORDER BY id") or {}
  return rows
end

-- loads run `id`'s iterations (records) into the pane's state
function V.architect_load(S, id)
  local rows, err = q("SELECT data FROM records WHERE run_id = ? AND kind = 'iteration' ORDER BY id", { id })
  if not rows then S.msg = "architect: " .. tostring(err); return false end
  S.its, S.run, S.sel, S.live = {}, id, 1, false
  for i, r in ipairs(rows) do S.its[i] = lab.json.decode(r.data) end
  local st = q("SELECT status FROM runs WHERE id = ?", { id })
  S.status = st and st[1] and st[1].status or "?"
  local res = q("SELECT data FROM records WHERE run_id = ? AND kind = 'architect_result'", { id })
  S.result = res and res[1] and lab.json.decode(res[1].data) or nil
  S.sel = #S.its
  return true
end

local function bar(x, n)
  local k = math.floor(x * n + 0.5)
  return rep("█", k) .. rep("·", n - k)
end

function V.architect_draw(S, w, h)
  local out = {}
  if #S.its == 0 then
    out[1] = { "architect: no run yet", style = "header" }
    out[2] = ":architect --task-file T --examples FILE.jsonl [--roles FILE.lua] [-m MODEL ...] runs the loop here; n/p: recorded runs"
    if S.msg then out[3] = { S.msg, style = "warn" } end
    return out
  end
  local best = 1
  for i, it in ipairs(S.its) do if it.kept and it.accuracy >= S.its[best].accuracy then best = i end end
  out[1] = { fmt("architect: run %s (%s) | best: iteration %d, accuracy %.3f%s", tostring(S.run or "-"),
    S.live and (S.progress or "running") or tostring(S.status), S.its[best].iteration, S.its[best].accuracy,
    S.result and (" | stopped: " .. S.result.stop) or ""), style = "header" }
  if S.msg then out[#out + 1] = { S.msg, style = "warn" } end
  S.sel = math.max(1, math.min(S.sel, #S.its))
  for i, it in ipairs(S.its) do
    local from = null(it.based_on) and "draft" or ("from " .. it.based_on)
    local state = it.rolled_back and "worse: rolled back" or (i == best and "kept, best" or "kept")
    out[#out + 1] = { fmt("%s%2d %-8s %5.3f %s %2d/%-2d %s", i == S.sel and ">" or " ", it.iteration, from, it.accuracy,
      bar(it.accuracy, 10), it.correct, it.n, state),
      style = i == S.sel and "select" or (it.rolled_back and "warn" or (i == best and "ok" or "normal")) }
  end
  local it = S.its[S.sel]
  if not null(it.feedback) and #it.feedback > 0 then
    out[#out + 1] = { "feedback:", style = "label" }
    for _, f in ipairs(it.feedback) do
      out[#out + 1] = fmt("  %s: %s '%s' | issue: %s | evidence: %s", f.agent, f.action,
        one_line(null(f.guideline) and (f.target or "") or f.guideline), one_line(f.issue or ""), one_line(f.evidence or ""))
    end
  end
  if null(it.diff) then
    out[#out + 1] = { "system messages of the draft:", style = "label" }
    local names = {}
    for n in pairs(it.systems or {}) do names[#names + 1] = n end
    table.sort(names)
    for _, n in ipairs(names) do
      out[#out + 1] = { "[" .. n .. "]", style = "bold" }
      for l in (it.systems[n] .. "\n"):gmatch("([^\n]*)\n") do out[#out + 1] = "    " .. l end
    end
  else
    out[#out + 1] = { fmt("system messages against iteration %s:", tostring(it.based_on)), style = "label" }
    if #it.diff == 0 then out[#out + 1] = { "  (unchanged)", style = "dim" } end
    for _, c in ipairs(it.diff) do
      out[#out + 1] = { "[" .. c.name .. "]", style = "bold" }
      for _, l in ipairs(c.lines) do
        out[#out + 1] = { "  " .. l.op .. " " .. l.text, style = l.op == "+" and "ok" or l.op == "-" and "error" or "dim" }
      end
    end
  end
  while #out > h - 1 and #out > #S.its + 2 do table.remove(out) end
  out[#out + 1] = { "j/k iteration, n/p run, t: next example's transcript in the agents pane", style = "key" }
  return out
end

-- shows the transcript of the next example (of iteration S.sel) in T
function V.show_example(S, T)
  local it = S.its[S.sel]
  if not it or null(it.examples) or #it.examples == 0 then S.msg = "no examples in this iteration"; return end
  S.ex = ((S.ex or 0) % #it.examples) + 1
  local ex = it.examples[S.ex]
  local tr
  if S.live_transcripts then tr = S.live_transcripts[it.iteration .. ":" .. ex.index] end
  if not tr and S.run then
    local rows = q("SELECT data FROM records WHERE run_id = ? AND kind = 'transcript' ORDER BY id", { S.run }) or {}
    for _, r in ipairs(rows) do
      local d = lab.json.decode(r.data)
      if d.iteration == it.iteration and d.example == ex.index then tr = d.transcript end
    end
  end
  if not tr then S.msg = "no transcript kept for this example"; return end
  T.transcript, T.sel, T.follow, T.msg = tr, 1, false, nil
  for i, e in ipairs(tr) do e.i = i end
  T.title = fmt("architect run %s, iteration %d, example #%d", tostring(S.run or "-"), it.iteration, ex.index)
  T.status = ex.ok and "ok" or ("wrong: " .. tostring(null(ex.why) and "" or ex.why))
  S.msg = fmt("example %d/%d (#%d, %s) in the agents pane", S.ex, #it.examples, ex.index, ex.ok and "ok" or "wrong")
end

function V.architect_key(S, T, k)
  local n = #S.its
  if k == "Down" or k == "j" then S.sel = math.min(n, S.sel + 1); S.ex = nil
  elseif k == "Up" or k == "k" then S.sel = math.max(1, S.sel - 1); S.ex = nil
  elseif k == "n" or k == "p" then
    local runs = V.architect_runs()
    if #runs == 0 then S.msg = "no architect run in the workspace"; return "redraw" end
    local at
    for i, r in ipairs(runs) do if r.id == S.run then at = i end end
    if not at or S.live then at = #runs else at = at + (k == "n" and 1 or -1) end
    at = math.max(1, math.min(#runs, at))
    V.architect_load(S, runs[at].id)
    S.msg = fmt("run %d (%d of %d architect runs)", runs[at].id, at, #runs)
  elseif k == "t" then V.show_example(S, T)
  else return false end
  return "redraw"
end

return V
