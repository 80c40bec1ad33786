-- test fixture: a plugin may not manage plugins, raise its memory cap or escape
return {
  name = "t_manage", api_level = 1,
  on_load = function()
    lab.ui.command_add("manage", "load a plugin", function() lab.plugin.load("t_good") end)
    lab.ui.command_add("raise_mem", "raise the cap", function() lab.budget{ memory = 1 << 40 } end)
    lab.ui.command_add("probe", "what a plugin sees", function()
      assert(io == nil and os == nil and debug == nil and require == nil and package == nil)
      assert(lab.fs.read("/etc/passwd") == nil)
      lab.budget{ memory = 32 * 1024 * 1024 }    -- lowering is fine
      lab.ui.command_add("probe_ok", "marker", function() end)
    end)
  end,
}
