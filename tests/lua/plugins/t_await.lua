-- test fixture: a command that awaits the engine and reports through a status item
local result = "none"
return {
  name = "t_await", api_level = 1,
  on_load = function()
    local m = assert(lab.model.open("stories260K.gguf"))
    lab.ui.command_add("predict", "argmax after TEXT", function(text)
      local l = m:seq(text):eval()
      result = m:piece(l:argmax())
    end)
    lab.ui.status_add("predicted", function() return result end)
  end,
}
