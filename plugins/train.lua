-- train: training from the workbench (docs/training.md) and its loss curves.
--
--   :train model=FILE data=FILE out=FILE [steps=N batch=B seq_len=T lr=X ...]
--        fine-tunes model (a path or a model name, F32/F16/BF16) on the text
--        file data (a .jsonl file: prompt/completion lines), both in the
--        workspace, and writes out (in the workspace); any other key=value
--        is a lab.train setting (resume=true continues a stopped run). The
--        run trains on a thread of its own (lab.train's background mode):
--        the workbench stays usable, the pane and status item follow it.
--   :train_stop   stops the run after the current step; its checkpoint is
--        kept (the same :train with resume=true continues it bit for bit).
--        Key s in the training pane does the same.
--   pane "training"  the loss (*) and validation loss (o) curves, live while
--        a run trains, else of the latest `train` run in the workspace (or
--        of run N after :train_show N).
--   status "train"   the run's progress, or a console's lab.train{background=true}'s
--                    (lab.trainings) when this plugin runs none.

local state = { run = nil, status = "train: -", job = nil, hist = nil, timer = nil }

local function parse(args)
  local t = {}
  for word in (args or ""):gmatch("%S+") do
    local k, v = word:match("^([%w_]+)=(.+)$")
    if not k then error(string.format("'%s' is not key=value", word), 0) end
    if v == "true" then v = true elseif v == "false" then v = false end
    t[k] = tonumber(v) or v
  end
  return t
end

-- Prompt/completion examples of a JSONL text, for lab.train.
local function jsonl_examples(text, name)
  local ex, n = {}, 0
  for line in text:gmatch("[^\n]*") do
    n = n + 1
    if line:find("%S") then
      local o, err = lab.json.decode(line)
      if not o then error(string.format("%s:%d: %s", name, n, err), 0) end
      ex[#ex + 1] = { prompt = o.prompt, completion = o.completion }
    end
  end
  return ex
end

local function fmt_time(s)
  if not s then return "-" end
  if s >= 3600 then return string.format("%dh%02dm", s // 3600, (s % 3600) // 60) end
  if s >= 60 then return string.format("%dm%02ds", s // 60, math.floor(s % 60)) end
  return string.format("%ds", math.floor(s))
end

-- One line: where the run is.
local function progress(st)
  if st.state == "starting" then return "train: starting (reading the data)" end
  local s = string.format("train: %d/%d loss %.3f", st.step, st.steps, st.loss or 0 / 0)
  if st.val_loss then s = s .. string.format(" val %.3f", st.val_loss) end
  if st.tok_per_s then s = s .. string.format(" %.0f tok/s", st.tok_per_s) end
  if st.state == "running" then s = s .. " eta " .. fmt_time(st.eta_s)
  else s = s .. " " .. st.state end
  return s
end

-- Pulls the new steps of the running job into state.hist; reports the end.
local function poll()
  local job = state.job
  if not job then return end
  local hist = state.hist
  local last = hist.loss[#hist.loss]
  for _, s in ipairs(job:history(last and last[1] or 0)) do
    hist.loss[#hist.loss + 1] = { s.step, s.loss }
    if s.val_loss then hist.val[#hist.val + 1] = { s.step, s.val_loss } end
  end
  local st = job:status()
  state.status = progress(st)
  if st.run then state.run = st.run end
  if job:done() then
    if state.timer then state.timer:stop() state.timer = nil end
    if st.state == "ok" then
      lab.print(string.format("train: wrote %s, %d steps, loss %.4f%s", st.output, st.step, st.loss,
        st.val_loss and string.format(", validation %.4f", st.val_loss) or ""))
    elseif st.state == "stopped" then
      lab.print(string.format("train: stopped at step %d of %d; checkpoint kept in %s (the same :train with "
        .. "resume=true continues)", st.step, st.steps, st.checkpoint))
    else
      lab.print("train: " .. tostring(st.error))
    end
    state.job = nil         -- the curves stay in state.hist until the next run
  end
  lab.ui.redraw()
end

local function train(args)
  local a = parse(args)
  if not a.model or not a.data or not a.out then
    lab.print("usage: :train model=FILE data=FILE out=FILE [steps=N batch=B seq_len=T lr=X ...]")
    return
  end
  if state.job then
    lab.print("train: a run is training (" .. state.status .. "); :train_stop first")
    return
  end
  local m, merr = lab.model.open(a.model)
  if not m then lab.print("train: " .. merr) return end
  local data, derr = lab.fs.read(a.data)
  if not data then m:close() lab.print("train: " .. derr) return end
  local spec = { model = m, output = a.out, background = true }
  if a.data:match("%.jsonl$") then spec.examples = jsonl_examples(data, a.data) else spec.texts = { data } end
  for k, v in pairs(a) do
    if k ~= "model" and k ~= "data" and k ~= "out" then spec[k] = v end
  end
  local job, err = lab.train(spec)
  m:close()                 -- the run keeps what it needs of the model
  if not job then lab.print("train: " .. err) return end
  state.job, state.run, state.shown = job, nil, nil
  state.hist = { loss = {}, val = {}, steps = spec.steps or 200, out = a.out }
  state.status = "train: starting"
  state.timer = lab.every(0.25, poll)
  local hint = state.pane and lab.ui.pane_hint(state.pane)
  lab.print("train: training " .. a.out .. " in the background (" .. (hint and (hint .. "; ") or "")
    .. ":train_stop or s in the training pane stops it)")
  lab.ui.redraw()
end

-- The trainings of other states still going: a console's lab.train{background=true}
-- (owner "script") or another plugin's.
local function others()
  local list = {}
  for _, st in ipairs(lab.trainings()) do
    if st.owner ~= "train" and (st.state == "starting" or st.state == "running" or st.state == "stopping") then
      list[#list + 1] = st
    end
  end
  return list
end

-- The status item: this plugin's run, else the first other training (named by its owner).
local function status()
  local o = others()
  if state.job or #o == 0 then
    return state.status .. (#o > 0 and string.format(" (+%d more)", #o) or "")
  end
  local s = progress(o[1]) .. " (" .. (o[1].owner == "script" and "console" or o[1].owner) .. ")"
  if #o > 1 then s = s .. string.format(" +%d more", #o - 1) end
  return s
end

local function stop()
  if not state.job then lab.print("train: nothing is training") return end
  state.job:stop()
  state.status = "train: stopping after this step"
  lab.print("train: stopping after the current step (the checkpoint is kept)")
  lab.ui.redraw()
end

local function series(run, name)
  local pts = {}
  for row in assert(lab.store.rows("SELECT step, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step",
                                   { run, name })) do
    pts[#pts + 1] = { row.step, row.value }
  end
  return pts
end

local function latest_run()
  local rows = assert(lab.store.query("SELECT id FROM runs WHERE plugin = 'train' ORDER BY id DESC LIMIT 1"))
  return rows[1] and rows[1].id
end

-- The curves on a w x h character grid: x is the step, y the loss.
local function draw(w, h)
  local loss, val, lines
  if state.hist and (state.job or not state.shown) then
    -- the run of this session, live while it trains
    loss, val = state.hist.loss, state.hist.val
    lines = { state.status, "* loss  o validation" .. (state.job and "   s: stop" or "") }
    if #loss == 0 then return lines end
  else
    local ok, run = pcall(function() return state.shown or state.run or latest_run() end)
    if not ok then return { "no workspace: " .. tostring(run) } end
    if not run then return { "no training run yet: :train model=... data=... out=..." } end
    loss, val = series(run, "loss"), series(run, "val_loss")
    if #loss == 0 then return { string.format("run %d: no steps recorded", run) } end
    lines = { string.format("run %d: %d steps, loss %.4f%s", run, loss[#loss][1],
      loss[#loss][2], #val > 0 and string.format(", validation %.4f", val[#val][2]) or ""), "* loss  o validation" }
  end
  local gw, gh = math.max(w - 8, 10), math.max(h - 3, 3)
  -- x: the steps seen (a resumed run starts at its checkpoint's step)
  local lo, hi, smin, smax = math.huge, -math.huge, loss[1][1], loss[#loss][1]
  for _, s in ipairs({ loss, val }) do
    for _, p in ipairs(s) do
      lo = math.min(lo, p[2]); hi = math.max(hi, p[2])
      smin = math.min(smin, p[1]); smax = math.max(smax, p[1])
    end
  end
  if smax <= smin then smax = smin + 1 end
  if hi - lo < 1e-9 then hi = lo + 1 end
  local grid = {}
  for r = 1, gh do grid[r] = {} for c = 1, gw do grid[r][c] = " " end end
  local function plot(s, ch)
    for _, p in ipairs(s) do
      local c = math.max(1, math.min(gw, math.floor((p[1] - smin) / (smax - smin) * (gw - 1) + 1.5)))
      local r = math.max(1, math.min(gh, math.floor((hi - p[2]) / (hi - lo) * (gh - 1) + 1.5)))
      grid[r][c] = ch
    end
  end
  plot(loss, "*")
  plot(val, "o")
  for r = 1, gh do
    local y = hi - (r - 1) / math.max(gh - 1, 1) * (hi - lo)
    lines[#lines + 1] = string.format("%6.2f |%s", y, table.concat(grid[r]))
  end
  return lines
end

return {
  name = "train",
  api_level = 1,
  description = "fine-tune from the workbench (:train) and the loss curves pane",
  on_load = function()
    lab.ui.command_add("train", "fine-tune in the background: model=FILE data=FILE out=FILE [steps= batch= seq_len= lr= ...]",
      function(args)
        local ok, err = pcall(train, args)    -- a bad argument is a message, not a failed plugin
        if not ok then lab.print("train: " .. tostring(err)) end
      end)
    lab.ui.command_add("train_stop", "stop the training run (its checkpoint is kept)", stop)
    lab.ui.command_add("train_show", "show run N's curves in the training pane", function(arg)
      arg = (arg or ""):match("^%s*(.-)%s*$")
      local n = math.tointeger(tonumber(arg))
      if arg ~= "" and not n then lab.print("usage: :train_show [N] (a run number of `logitlab runs`)") return end
      if n then
        local ok, rows = pcall(lab.store.query, "SELECT plugin FROM runs WHERE id = ?", { n })
        if ok and rows and not rows[1] then lab.print(string.format("train: no run %d in this workspace", n)) return end
        if ok and rows and rows[1].plugin ~= "train" then
          lab.print(string.format("train: run %d is a %s run, not a training run", n, tostring(rows[1].plugin))) return
        end
      end
      state.shown = n
      lab.ui.redraw()
    end)
    state.pane = lab.ui.pane_add("training", {
      on_draw = draw,
      on_key = function(k)
        if k == "s" and state.job then stop() return "redraw" end
        return false
      end,
    })
    lab.ui.status_add("train", status)
    -- a console's training changes the item without any event here: look twice a second
    local seen = 0
    lab.every(0.5, function()
      local n = #others()
      if n > 0 or seen > 0 then lab.ui.redraw() end
      seen = n
    end)
  end,
}
