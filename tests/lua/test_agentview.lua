-- issue 19, the workbench side (plugins/lib/agentview.lua, registered by
-- plugins/architect.lua): the agents pane (a transcript coloured by role,
-- delegation as a tree, live, a model turn opened in the loom) and the
-- architect pane (iterations, accuracy, feedback, the diff of system
-- messages), driven through lab.ui as the TUI drives them.
local V = assert(lab.require("agentview"))
local F = assert(lab.require("workflow"))
local R = assert(lab.require("agentrun"))

local NUM = { type = "object", required = { "a", "b" }, properties = { a = { type = "number" }, b = { type = "number" } } }

local function run_calc()
  local wf = check.ok(F.validate{
    main = { name = "boss", manages = { "calc", "teller" }, script = function(ctx)
      if ctx.last.role == "user" then
        return { { call = "delegate_to_calc", args = { message = "2 40" } }, { call = "delegate_to_teller", args = { message = "Once" } } }
      end
      return ctx.last.content
    end },
    agents = {
      { name = "calc", tools = { { name = "add", parameters = NUM, fn = function(a) return a.a + a.b end } },
        script = function(ctx)
          if ctx.last.role == "user" then return { { call = "add", args = { a = 2, b = "x" } }, { call = "add", args = { a = 2, b = 40 } } } end
          return ctx.last.content
        end },
      { name = "teller", model = MODEL, system = "You tell stories.", max_tokens = 6 },
    } })
  return R.run(wf, "go")
end

test("the transcript pane: a line per message, styled by role, errors in red, delegation as a tree", function()
  local r = run_calc()
  check.eq(r.status, "ok", r.reason)
  local T = V.new_transcript()
  T.transcript, T.title, T.status = r.transcript, "calc", "ok"
  local lines = {}
  for i, e in ipairs(r.transcript) do lines[i] = V.entry_line(e) end
  check.eq(lines[1], "user (user) -> boss: go")
  check.eq(V.entry_style(r.transcript[1]), "prompt")
  check.eq(V.entry_style(r.transcript[2]), "header", "the main supervisor")
  local saw = {}
  for i, e in ipairs(r.transcript) do
    if e.sender == "calc" and e.depth == 1 then saw.calc = lines[i] end
    if e.sender_role == "tool" and e.text:find("^error:") then saw.err = e end
    if e.sender_role == "tool" and e.text == "42" then saw.tool = e end
    if e.sender == "teller" then saw.teller = e; saw.teller_i = i end
  end
  check.ok(saw.calc:find("^│ calc %(agent%) %->"), "one guide per delegation level: " .. saw.calc)
  check.eq(V.entry_style(saw.err), "error")
  check.eq(V.entry_style(saw.tool), "dim")
  check.ok(V.entry_line(saw.teller):find("%[6 tok, lp %-"), "a model turn shows its tokens")
  check.ok(saw.teller.prompt:find("### System:\nYou tell stories.", 1, true), "a model turn keeps its prompt")
  -- drawn: the header, the followed last line selected, the detail, the keys
  local out = V.transcript_draw(T, 100, 40)
  check.eq(out[1].style, "header")
  check.ok(out[1][1]:find("agents: calc | ok | " .. #r.transcript .. " messages", 1, true), out[1][1])
  check.eq(T.sel, #r.transcript, "the pane follows the newest message")
  -- o: a scripted turn has no tokens; a model turn goes to the loom (not headless here)
  T.sel, T.follow = 2, false
  check.eq(V.transcript_key(T, "o"), "redraw")
  check.ok(T.msg:find("not a model's turn"), T.msg)
  T.sel = saw.teller_i
  V.transcript_key(T, "o")
  check.ok(T.msg:find("loom: .*headless"), T.msg)
  check.eq(V.transcript_key(T, "k"), "redraw")
  check.eq(T.sel, saw.teller_i - 1)
  check.eq(V.transcript_key(T, "x"), false)
end)

test("the plugin: :agents runs a workflow live into the agents pane, recorded; :agents-show reads it back", function()
  check.ok(lab.fs.write("av_calc.json", [[{"main": {"name": "boss", "manages": ["calc"], "script": "boss"},
    "agents": [{"name": "calc", "script": "calc", "tools": [{"name": "add",
      "parameters": {"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}]}]}]]))
  check.ok(lab.fs.write("av_lib.lua", [[return { scripts = {
    boss = function(ctx) if ctx.last.role == "user" then return { call = "delegate_to_calc", args = { message = ctx.input } } end return ctx.last.content end,
    calc = function(ctx) if ctx.last.role == "tool" then return "sum " .. ctx.last.content end return { call = "add", args = { a = 2, b = 40 } } end } }]]))
  check.ok(lab.plugin.load("architect"))
  local pane, status = ui_hook("pane", "agents"), ui_hook("status", "agents")
  check.ok(lab.ui.pane_draw(pane, 100, 10)[2]:find(":agents workflow=FILE", 1, true), "the empty pane explains")
  check.ok(lab.ui.run_command("agents", "workflow=av_calc.json lib=av_lib.lua What is 2 + 40?"))
  check.wait(function() return (lab.ui.pane_draw(pane, 100, 20)[1]):find("ok: answered", 1, true) end, "the run to end")
  local lines, styles = lab.ui.pane_draw(pane, 100, 20)
  local all = table.concat(lines, "\n")
  check.ok(all:find("│ add (tool) -> calc: 42", 1, true), all)
  check.ok(all:find(">boss (main supervisor) -> user: sum 42", 1, true), all)
  check.eq(styles[1], "header")
  check.eq(styles[2], "prompt", "the user's message")
  check.eq(styles[3], "header", "the main supervisor's")
  local run = lab.store.query("SELECT id, status FROM runs WHERE plugin = 'agents' ORDER BY id DESC LIMIT 1")[1]
  check.eq(run.status, "ok")
  check.eq(lab.store.query("SELECT count(*) AS n FROM records WHERE run_id = ? AND kind = 'message'", { run.id })[1].n, 7)
  check.eq(lab.ui.status_get(status), "")
  check.ok(lab.ui.run_command("agents-show", tostring(run.id)))
  check.wait(function() return lab.ui.pane_draw(pane, 100, 20)[1]:find("agents: run " .. run.id, 1, true) end, ":agents-show")
  check.ok(table.concat(lab.ui.pane_draw(pane, 100, 20), "\n"):find("add (tool) -> calc: 42", 1, true))
  -- bad settings are the user's error: a message, nothing recorded, the plugin stays loaded
  local n0 = lab.store.query("SELECT count(*) AS n FROM runs")[1].n
  for _, c in ipairs({ { "turns=-1", ":agents: turns= must be a whole number >= 0, got -1" },
                       { "seconds=abc", ":agents: seconds= must be a number >= 0, got 'abc'" },
                       { "depth=1.5", ":agents: depth= must be a whole number >= 0, got 1.5" },
                       { "turnz=3", ":agents: unknown setting 'turnz=' (workflow, lib, turns, tokens, seconds, depth)" },
                       { "workflow=nope.json", ":agents: workflow=nope.json:" } }) do
    local args = c[1]:find("^workflow") and (c[1] .. " x") or ("workflow=av_calc.json lib=av_lib.lua " .. c[1] .. " What is 2 + 40?")
    check.ok(lab.ui.run_command("agents", args))
    check.wait(function() return table.concat(lab.ui.pane_draw(pane, 100, 20), "\n"):find(c[2], 1, true) end, c[2])
  end
  check.eq(lab.store.query("SELECT count(*) AS n FROM runs")[1].n, n0, "nothing recorded")
  for _, p in ipairs(lab.plugin.list()) do
    if p.name == "architect" then check.eq(p.enabled, true, "the plugin stays loaded") end
  end
  lab.plugin.disable("architect")
end)

test("the architect pane: iterations with accuracy, rollback marked, feedback and the diff; t shows an example", function()
  check.ok(lab.fs.write("av_task.txt", "Add."))
  local ex = {}
  for i, p in ipairs({ { 2, 3 }, { 4, 0 }, { 7, 1 }, { 5, 5 } }) do
    ex[i] = lab.json.encode({ question = p[1] .. " + " .. p[2], answer = p[1] + p[2] })
  end
  check.ok(lab.fs.write("av_sums.jsonl", table.concat(ex, "\n")))
  check.ok(lab.fs.write("av_roles.lua", [[
local A = assert(lab.require("architect"))
local n = 0
return {
  architect = function() return { main = { name = "boss", system = "You answer.", manages = { "calc" }, script = "boss" },
    agents = { { name = "calc", system = "You add.", tools = { "add" }, script = "calc" } } } end,
  analyst = function(ctx)
    n = n + 1
    return { { agent = "calc", issue = "wrong", evidence = "e", action = "add", guideline = n == 1 and "double it" or "use the add tool" } }
  end,
  engineer = function(ctx) return (A.apply_edits(ctx.systems, ctx.feedback)) end,
  scripts = {
    boss = function(ctx) if ctx.last.role == "user" then return { call = "delegate_to_calc", args = { message = ctx.input } } end return ctx.last.content end,
    calc = function(ctx)
      local a, b = ctx.input:match("(%d+) %+ (%d+)")
      if ctx.system:find("double it", 1, true) then return "0" end
      if not ctx.system:find("use the add tool", 1, true) then return a end
      if ctx.last.role == "tool" then return ctx.last.content end
      return { call = "add", args = { a = tonumber(a), b = tonumber(b) } }
    end } }]]))
  check.ok(lab.plugin.load("architect"))
  local pane, tpane = ui_hook("pane", "architect"), ui_hook("pane", "agents")
  check.ok(lab.ui.run_command("architect", "--task-file av_task.txt --examples av_sums.jsonl --roles av_roles.lua --subset 4"))
  check.wait(function() return lab.ui.pane_draw(pane, 100, 30)[1]:find("stopped: target", 1, true) end, "the architect run")
  local lines, styles = lab.ui.pane_draw(pane, 100, 30)
  check.ok(lines[1]:find("best: iteration 3, accuracy 1.000 | stopped: target", 1, true), lines[1])
  check.ok(lines[2]:find(" 1 draft    0.250", 1, true), lines[2])
  check.ok(lines[3]:find(" 2 from 1   0.000 ·········· ", 1, true) and lines[3]:find("worse: rolled back", 1, true), lines[3])
  check.eq(styles[3], "warn", "a rolled-back iteration")
  check.ok(lines[4]:find("> 3 from 1   1.000 ██████████  4/4 ", 1, true), lines[4])
  check.eq(styles[4], "select")
  local all = table.concat(lines, "\n")
  check.ok(all:find("calc: add 'use the add tool' | issue: wrong", 1, true), all)
  check.ok(all:find("system messages against iteration 1:", 1, true), all)
  local plus
  for i, l in ipairs(lines) do if l == "  + - use the add tool" then plus = i end end
  check.ok(plus, "the added guideline")
  check.eq(styles[plus], "ok")
  -- the draft shows its system messages; the rolled-back one its diff
  check.eq(lab.ui.pane_key(pane, "k"), 3)
  all = table.concat(lab.ui.pane_draw(pane, 100, 30), "\n")
  check.ok(all:find("+ - double it", 1, true), all)
  lab.ui.pane_key(pane, "k")
  all = table.concat(lab.ui.pane_draw(pane, 100, 30), "\n")
  check.ok(all:find("system messages of the draft:", 1, true) and all:find("You add.", 1, true), all)
  -- t: the draft's first example's transcript in the agents pane
  lab.ui.pane_key(pane, "t")
  local tl = lab.ui.pane_draw(tpane, 100, 20)
  check.ok(tl[1]:find("iteration 1, example #1", 1, true), tl[1])
  check.ok(table.concat(tl, "\n"):find("calc (agent) -> boss: 2", 1, true), table.concat(tl, "\n"))
  -- p/n: the recorded runs of the workspace
  local id = lab.store.query("SELECT id FROM runs WHERE plugin = 'architect' ORDER BY id DESC LIMIT 1")[1].id
  lab.ui.pane_key(pane, "p")
  check.ok(lab.ui.pane_draw(pane, 100, 30)[1]:find("architect: run " .. id .. " (ok)", 1, true))
  lab.plugin.disable("architect")
end)

test("pane lines with a style: the names are checked", function()
  local id = lab.ui.pane_add("styled", { on_draw = function() return { "plain", { "ok line", style = "ok" }, { "x\ny", style = "dim" } } end })
  local lines, styles = lab.ui.pane_draw(id, 20, 5)
  check.eq(table.concat(lines, "|"), "plain|ok line|x|y")
  check.eq(table.concat(styles, "|"), "normal|ok|dim|dim", "a styled text of several lines: each line")
  lab.ui.del(id)
  id = lab.ui.pane_add("badstyle", { on_draw = function() return { { "a", style = "loud" } } end })
  check.fails("line 1: unknown style 'loud' %(normal, dim", lab.ui.pane_draw(id, 20, 5))
  lab.ui.del(id)
end)
