-- test fixture: a pane whose draw raises
return {
  name = "t_crash2", api_level = 1,
  on_load = function()
    lab.ui.pane_add("crashpane2", { on_draw = function() error("crash in draw") end })
  end,
}
