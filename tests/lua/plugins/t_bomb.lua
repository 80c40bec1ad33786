-- test fixture: a memory bomb
return {
  name = "t_bomb", api_level = 1, description = "allocates without end",
  on_load = function()
    lab.ui.command_add("bomb", "allocate forever", function()
      local t = {}
      for i = 1, math.huge do t[i] = string.rep("x", 1000) .. i end
    end)
  end,
}
