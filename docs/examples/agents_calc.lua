-- Scripted members of agents_calc.json (docs/agents.md). A script gets
-- ctx = {name, role, system, messages, input, last, caller} and returns its
-- reply: text, or a call {call = NAME, args = {...}} (or a list of calls).
return {
  scripts = {
    -- the supervisor: numbers go to calc, anything else to teller, then
    -- it hands back what it was told
    boss = function(ctx)
      if ctx.last.role ~= "user" then return ctx.last.content end
      local a, b = ctx.input:match("(%-?%d+)%s*%+%s*(%-?%d+)")
      if a then return { call = "delegate_to_calc", args = { message = a .. " " .. b } } end
      return { call = "delegate_to_teller", args = { message = ctx.input } }
    end,
    calc = function(ctx)
      if ctx.last.role == "tool" then return "the sum is " .. ctx.last.content end
      local a, b = ctx.input:match("(%S+) (%S+)")
      return { call = "add", args = { a = tonumber(a), b = tonumber(b) } }
    end,
    -- agents_pair.json: the same task to fox and owl in one turn (their
    -- turns are generated together, one batched engine step per token),
    -- then both answers
    pair = function(ctx)
      if ctx.last.role == "user" then
        return { { call = "delegate_to_fox", args = { message = ctx.input } },
                 { call = "delegate_to_owl", args = { message = ctx.input } } }
      end
      local got = {}
      for _, m in ipairs(ctx.messages) do
        if m.role == "tool" then got[#got + 1] = m.name:sub(13) .. ": " .. m.content end
      end
      return table.concat(got, " / ")
    end,
  },
}
