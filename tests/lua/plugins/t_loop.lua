-- test fixture: handlers that never return
return {
  name = "t_loop", api_level = 1, description = "runaway handlers",
  on_load = function()
    lab.ui.command_add("loop", "spin forever", function() while true do end end)
    lab.ui.command_add("loop_pcall", "spin inside pcall", function()
      while true do pcall(function() while true do end end) end
    end)
  end,
}
