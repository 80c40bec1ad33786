-- listview: what the plugins' list panes share (the tree pane of
-- plugins/tree.lua, the candidates pane of plugins/bestofn.lua): a
-- selection S.sel moved by keys, the window of rows that keeps it in view,
-- and opening an item's text as a branch of the loom (lab.ui.loom_open).
local LV = {}

LV.HELP = "j/k move, o: open in the loom"

-- LV.move(S, key, n) -> true when the key moved S.sel in a list of n rows
-- (Down/j, Up/k, PageDown, PageUp, Home, End); S.sel stays in [1, max(n, 1)].
function LV.move(S, k, n)
  local sel = S.sel or 1
  if k == "Down" or k == "j" then sel = sel + 1
  elseif k == "Up" or k == "k" then sel = sel - 1
  elseif k == "PageDown" then sel = sel + 10
  elseif k == "PageUp" then sel = sel - 10
  elseif k == "Home" then sel = 1
  elseif k == "End" then sel = n
  else return false end
  S.sel = math.max(1, math.min(n, sel))
  return true
end

-- LV.window(sel, n, room) -> first, last: the rows to show, sel among them
-- (centred when it can be).
function LV.window(sel, n, room)
  room = math.max(1, room)
  local top = math.max(1, math.min(sel - room // 2, n - room + 1))
  return top, math.min(n, top + room - 1)
end

-- LV.open(text, what) -> a message for the pane: text opened as a new
-- root of the loom (selected, stepped once so the inspector shows every
-- position's distribution), or why not.
function LV.open(text, what)
  if not text or text == "" then return "no text kept for " .. what end
  local ok, err = lab.ui.loom_open(text)
  if ok then return what .. " opened in the loom (output pane)" end
  return "loom: " .. tostring(err)
end

return LV
