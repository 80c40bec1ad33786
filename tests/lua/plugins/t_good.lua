-- test fixture: a well-behaved plugin
local count = 0
return {
  name = "t_good", api_level = 1, description = "counts",
  on_load = function()
    lab.ui.command_add("count", "count up", function(args) count = count + (tonumber(args) or 1) end)
    lab.ui.status_add("count", function() return "count=" .. count end)
    lab.ui.key_add("F5", "count by key", function() count = count + 100 end)
    lab.ui.pane_add("counter", {
      on_draw = function(w, h) return { "count " .. count, "size " .. w .. "x" .. h } end,
      on_key = function(k) if k == "Up" then count = count + 1; return "redraw" end return false end,
    })
  end,
}
