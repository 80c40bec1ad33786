-- test fixture: handlers that raise
local function deep() error("crash in handler") end
return {
  name = "t_crash", api_level = 1, description = "raises",
  on_load = function()
    lab.ui.command_add("crash", "raise an error", function() deep() end)
    lab.ui.pane_add("crashpane", { on_draw = function() error("crash in draw") end })
    lab.ui.status_add("crashstatus", function() return {} end)
  end,
}
