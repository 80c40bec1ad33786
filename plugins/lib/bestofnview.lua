-- bestofnview: the workbench side of plugins/bestofn.lua: the `bestofn`
-- pane, which lists the candidates while a run draws them (text so far,
-- round, the score at each checkpoint, live / pruned / finished, the
-- winner) and opens the selected one as a branch of the loom (`o`), and the
-- status item. The list keys and the loom link are plugins/lib/listview.lua,
-- shared with the tree pane.
--
--   local BV = assert(lab.require("bestofnview"))
--   local S = BV.state()
--   B.run(model, ptoks, { ..., on_event = BV.observer(S, "adaptive", prompt_text) })
--   BV.draw(S, w, h), BV.key(S, key), BV.status(S)
local LV = assert(lab.require("listview"))
local E = assert(lab.require("ensemble"))
local fmt, concat = string.format, table.concat

local BV = {}

function BV.state() return { runs = {}, cur = 0, sel = 1 } end

-- A candidate's status word: live, pruned@L, finished (eos | length).
function BV.status_of(c)
  if c.pruned_at then return fmt("pruned@%d", c.pruned_at) end
  if c.done then return c.done == "eos" and "finished" or "finished(len)" end
  return "live"
end

-- The candidates' best finished one so far (the winner once the run is done).
local function best_of(run)
  if run.res then return run.res.winner end
  local best
  for _, c in ipairs(run.candidates or {}) do
    if c.score and (not best or c.score > best.score) then best = c end
  end
  return best
end

-- BV.observer(S, mode, prompt_text [, label]) -> on_event for B.run: each
-- run becomes an entry of S.runs (shown last one first), redrawn as it goes.
function BV.observer(S, mode, prompt_text, label)
  local run
  return function(kind, d)
    if kind == "start" then
      run = { mode = mode, label = label, prompt = prompt_text, candidates = d.candidates, rounds = d.rounds,
              acct = d.acct, running = true }
      S.runs[#S.runs + 1] = run
      S.cur, S.sel, S.msg = #S.runs, 1, nil
    elseif kind == "done" and run then
      run.res, run.running = d, false
    end
    if run then run.step = kind == "step" and d.step or run.step end
    lab.ui.redraw()
  end
end

local function score_text(c)
  local parts = {}
  for _, p in ipairs(c.checkpoints) do parts[#parts + 1] = fmt("%.3g@%d", p.score, p.at) end
  if c.score then parts[#parts + 1] = fmt("%.4g", c.score) end
  return concat(parts, " ")
end

-- Text on one row: newlines as ↵, tabs as ⇥, other control bytes as '?'.
local function one_line(t)
  return (t:gsub("\n", "↵"):gsub("\t", "⇥"):gsub("[%z\1-\31\127]", "?"))
end

-- one candidate as a row: selection, winner mark, index, round, status, scores, text
function BV.row(c, win, w)
  local s = fmt("%s#%-3d r%d %-13s %-22s %s", win == c and "*" or " ", c.index, c.round, BV.status_of(c),
    score_text(c), one_line(c.text or ""))
  return E.fit(s, w)
end

function BV.draw(S, w, h)
  local run = S.runs[S.cur]
  if not run then
    return { "bestofn: no run yet. :bestofn -m MODEL -p TEXT [--n 16] [--prune 8,16:0.5] [--threshold T] ...",
             "(docs/plugins.md, \"Adaptive best-of-N\")" }
  end
  local a, win = run.acct, best_of(run)
  local out = {
    E.fit(fmt("%s%s %s%s | round %d | samples %d | tokens %d | probe tokens %d | engine steps %d%s",
      run.mode, run.label and (" " .. run.label) or "", run.running and "running" or run.failed and "stopped" or "done",
      #S.runs > 1 and fmt(" (run %d/%d)", S.cur, #S.runs) or "", #run.rounds,
      #run.candidates, a.tokens, a.probe_tokens, a.steps,
      win and fmt(" | %s #%d %.4g", (run.running or run.failed) and "best" or "winner", win.index, win.score) or ""), w),
    E.fit("prompt: " .. one_line(run.prompt or ""), w),
  }
  if run.failed then out[#out + 1] = E.fit("stopped: " .. one_line(run.failed), w) end
  local n = #run.candidates
  if n == 0 then out[#out + 1] = "(no candidate yet)"; return out end
  S.sel = math.max(1, math.min(n, S.sel))
  local top, last = LV.window(S.sel, n, h - #out - 2)
  for i = top, last do
    out[#out + 1] = (i == S.sel and ">" or " ") .. BV.row(run.candidates[i], win, w - 1)
  end
  local c = run.candidates[S.sel]
  out[#out + 1] = E.fit(fmt("#%d seed %d T=%.3f %d tokens, probe tokens %d%s", c.index, c.seed, c.temp, #c.tokens,
    c.probe_tokens or 0, win == c and ((run.running or run.failed) and " (best so far)" or " (the winner)") or ""), w)
  out[#out + 1] = E.fit(S.msg or (LV.HELP .. " (prompt + candidate), [ ] other runs"), w)
  return out
end

-- The text opened in the loom for a candidate: the prompt (in its
-- template) and the candidate's text so far.
function BV.loom_text(run, c) return (run.prompt or "") .. (c.text or "") end

function BV.key(S, k)
  local run = S.runs[S.cur]
  if not run then return false end
  if LV.move(S, k, #run.candidates) then S.msg = nil; return "redraw" end
  if k == "[" or k == "]" then
    S.cur = math.max(1, math.min(#S.runs, S.cur + (k == "]" and 1 or -1)))
    S.sel, S.msg = 1, nil
    return "redraw"
  end
  if k ~= "o" then return false end
  local c = run.candidates[S.sel]
  if not c then S.msg = "no candidate"; return "redraw" end
  S.msg = LV.open(BV.loom_text(run, c), fmt("candidate #%d", c.index))
  return "redraw"
end

-- The status item: the current run's samples and whether it runs.
-- BV.fail(S, err): the runs under way ended by an error or Ctrl-C: they
-- are shown stopped (not running for ever), with the reason.
function BV.fail(S, err)
  for _, run in ipairs(S.runs) do
    if run.running then run.running, run.failed = false, tostring(err) end
  end
  lab.ui.redraw()
end

function BV.status(S)
  local run = S.runs[S.cur]
  if not run then return "" end
  return fmt("bestofn %s %d%s", run.mode, #run.candidates, run.running and " ▶" or "")
end

return BV
