-- Scripted roles of the worked example of docs/agents.md, "The architect".
-- Any of architect, analyst, engineer and judge left out is played by the
-- model (-m). `scripts` are the drafted members' Lua functions.
local A = assert(lab.require("architect"))
return {
  -- the draft: a supervisor handing the question to a calculator agent
  architect = function(ctx)
    return {
      main = { name = "boss", system = "You answer the user.", manages = { "calc" }, script = "boss" },
      agents = { { name = "calc", system = "You do arithmetic.", tools = { "add" }, script = "calc" } },
    }
  end,
  -- the analyst: an agent that answered without calling a tool is told to use it
  analyst = function(ctx)
    local out = {}
    for _, f in ipairs(ctx.failures) do
      local called = false
      for _, e in ipairs(f.transcript) do called = called or e.sender_role == "tool" end
      if not called and #out == 0 then
        out[1] = { agent = "calc", issue = "it answers without adding",
                   evidence = ("'%s' was answered %s"):format(f.question, tostring(f.answer)),
                   action = "add", guideline = "use the add tool" }
      end
    end
    return out
  end,
  -- the prompt engineer: the edits applied as written
  engineer = function(ctx) return (A.apply_edits(ctx.systems, ctx.feedback)) end,
  scripts = {
    boss = function(ctx)
      if ctx.last.role == "user" then return { call = "delegate_to_calc", args = { message = ctx.input } } end
      return ctx.last.content
    end,
    -- follows its guidelines: without "- use the add tool" it answers the first number
    calc = function(ctx)
      local a, b = ctx.input:match("(%d+) %+ (%d+)")
      if not ctx.system:find("- use the add tool", 1, true) then return a end
      if ctx.last.role == "tool" then return ctx.last.content end
      return { call = "add", args = { a = tonumber(a), b = tonumber(b) } }
    end,
  },
}
