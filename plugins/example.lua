-- example: one of each UI hook (a command, a key binding, a pane, a status
-- item) over a small piece of engine work. The TUI shows what it registers;
-- headless (`logitlab run --plugins`) the hooks are accepted and can be
-- driven with lab.ui.run_command / press / pane_draw / status_get.
--
--   :next [text]   evaluates text on stories260K and shows the top tokens
--   C-n            repeats :next with the last text
--   pane "next token"   the top-10 table of the last evaluation (j/k move)
--   status "next"  the argmax of the last evaluation

local last = { text = "Once upon a time", top = nil, sel = 1, ms = 0 }
local model

-- Evaluates text and keeps the top 10 (runs as a task: it awaits the engine).
local function predict(text)
  if text and text ~= "" then last.text = text end
  model = model or assert(lab.model.open("stories260K.gguf"))
  local seq <close> = model:seq(last.text)
  local t0 = lab.now()
  local logits = assert(seq:eval())
  last.ms = (lab.now() - t0) * 1000
  last.top = logits:top(10)
  last.sel = 1
  lab.print(string.format("next after %q: %q (p=%.3f)", last.text, last.top[1].piece, last.top[1].prob))
  lab.ui.redraw()
end

local function draw(w, h)
  if not last.top then return { "no prediction yet: run :next TEXT or press C-n" } end
  local lines = { string.format("after %q  (%.1f ms)", last.text, last.ms) }
  for i, t in ipairs(last.top) do
    if #lines >= h then break end
    local bar = string.rep("#", math.floor(t.prob * math.max(w - 30, 0) + 0.5))
    local piece = string.format("%q", t.piece)
    lines[#lines + 1] = string.format("%s %2d %-12s %6.3f %s", i == last.sel and ">" or " ", i, piece, t.prob, bar)
  end
  return lines
end

local function on_key(key)
  if not last.top then return false end
  if key == "j" or key == "Down" then last.sel = math.min(last.sel + 1, #last.top); return "redraw" end
  if key == "k" or key == "Up" then last.sel = math.max(last.sel - 1, 1); return "redraw" end
  return false
end

return {
  name = "example",
  api_level = 1,
  description = "next-token table: a command, a key, a pane and a status item",
  on_load = function()
    lab.ui.command_add("next", "show the top-10 next tokens after TEXT", predict)
    lab.ui.key_add("C-n", "repeat :next", function() predict() end)
    lab.ui.pane_add("next token", { on_draw = draw, on_key = on_key })
    lab.ui.status_add("next", function()
      return last.top and ("next: " .. last.top[1].piece) or "next: -"
    end)
  end,
  on_unload = function()
    if model then model:close() end
  end,
}
