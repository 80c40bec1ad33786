-- train: training from the workbench (docs/training.md) and its loss curves.
--
--   :train model=FILE data=FILE out=FILE [steps=N batch=B seq_len=T lr=X ...]
--        fine-tunes model (a path or a model name, F32/F16/BF16) on the text
--        file data (a .jsonl file: prompt/completion lines), both in the
--        workspace, and writes out (in the workspace); any other key=value
--        is a lab.train setting. The workbench waits while it trains (the
--        status item shows the last step); the run goes to the workspace.
--   pane "training"  the loss (*) and validation loss (o) curves of the
--        latest `train` run in the workspace, or of run N after :train_show N.
--   status "train"   the last step seen.

local state = { run = nil, status = "train: -" }

local function parse(args)
  local t = {}
  for k, v in (args or ""):gmatch("([%w_]+)=(%S+)") do t[k] = tonumber(v) or v end
  return t
end

-- Prompt/completion examples of a JSONL text, for lab.train.
local function jsonl_examples(text)
  local ex = {}
  for line in text:gmatch("[^\n]+") do
    if line:find("%S") then
      local o = assert(lab.json.decode(line))
      ex[#ex + 1] = { prompt = o.prompt, completion = o.completion }
    end
  end
  return ex
end

local function train(args)
  local a = parse(args)
  if not a.model or not a.data or not a.out then
    lab.print("usage: :train model=FILE data=FILE out=FILE [steps=N batch=B seq_len=T lr=X ...]")
    return
  end
  local m = assert(lab.model.open(a.model))
  local data = assert(lab.fs.read(a.data))
  local spec = { model = m, output = a.out }
  if a.data:match("%.jsonl$") then spec.examples = jsonl_examples(data) else spec.texts = { data } end
  for k, v in pairs(a) do
    if k ~= "model" and k ~= "data" and k ~= "out" then spec[k] = v end
  end
  spec.on_step = function(s)
    state.status = string.format("train: %d/%d loss %.3f", s.step, s.steps, s.loss)
  end
  local r, err = lab.train(spec)
  m:close()
  if not r then lab.print("train: " .. err) return end
  state.run = r.run ~= 0 and r.run or nil
  lab.print(string.format("train: wrote %s, %d steps, loss %.4f%s", r.output, r.steps, r.loss,
    r.val_loss and string.format(", validation %.4f", r.val_loss) or ""))
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
  local ok, run = pcall(function() return state.run or latest_run() end)
  if not ok then return { "no workspace: " .. tostring(run) } end
  if not run then return { "no training run yet: :train model=... data=... out=..." } end
  local loss, val = series(run, "loss"), series(run, "val_loss")
  if #loss == 0 then return { string.format("run %d: no steps recorded", run) } end
  local lines = { string.format("run %d: %d steps, loss %.4f%s   * loss  o validation", run, loss[#loss][1],
    loss[#loss][2], #val > 0 and string.format(", validation %.4f", val[#val][2]) or "") }
  local gw, gh = math.max(w - 8, 10), math.max(h - 2, 3)
  local lo, hi, smax = math.huge, -math.huge, loss[#loss][1]
  for _, s in ipairs({ loss, val }) do
    for _, p in ipairs(s) do lo = math.min(lo, p[2]); hi = math.max(hi, p[2]); smax = math.max(smax, p[1]) end
  end
  if hi - lo < 1e-9 then hi = lo + 1 end
  local grid = {}
  for r = 1, gh do grid[r] = {} for c = 1, gw do grid[r][c] = " " end end
  local function plot(s, ch)
    for _, p in ipairs(s) do
      local c = math.max(1, math.min(gw, math.floor((p[1] / smax) * (gw - 1) + 1.5)))
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
    lab.ui.command_add("train", "fine-tune: model=FILE data=FILE out=FILE [steps= batch= seq_len= lr= ...]", train)
    lab.ui.command_add("train_show", "show run N's curves in the training pane", function(arg)
      state.run = tonumber(arg)
      lab.ui.redraw()
    end)
    lab.ui.pane_add("training", { on_draw = draw })
    lab.ui.status_add("train", function() return state.status end)
  end,
}
