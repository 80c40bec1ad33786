-- issue 19: branching a workflow run from the workbench
-- (plugins/lib/agentbranch.lua, registered by plugins/architect.lua): the
-- selected turn of the agents pane replaced by text, a prefix or the
-- loom's path, the workflow rerun live in the pane, recorded with its
-- parent; v switches between parent and branch, the differences marked.
local B = assert(lab.require("agentbranch"))
local F = assert(lab.require("workflow"))
local R = assert(lab.require("agentrun"))

local function pane_text(pane) return table.concat(lab.ui.pane_draw(pane, 120, 40), "\n") end

-- editor sends the task to fox and owl (stories260K, seeded), then joins their answers
local function write_files()
  check.ok(lab.fs.write("ab_pair.json", lab.json.encode{
    main = { name = "editor", manages = { "fox", "owl" }, script = "pair" },
    agents = { { name = "fox", model = MODEL, max_tokens = 8, sampler = { temp = 1 } },
               { name = "owl", model = MODEL, max_tokens = 8, sampler = { temp = 1 } } } }))
  check.ok(lab.fs.write("ab_lib.lua", [[return { scripts = { pair = function(ctx)
    if ctx.last.role == "user" then
      return { { call = "delegate_to_fox", args = { message = ctx.input } }, { call = "delegate_to_owl", args = { message = ctx.input } } }
    end
    return ctx.messages[#ctx.messages - 1].content .. " / " .. ctx.last.content end } }]]))
end

test("the agents pane: a turn branched by text and by prefix, live, recorded, v switches runs", function()
  write_files()
  check.ok(lab.plugin.load("architect"))
  local pane = ui_hook("pane", "agents")
  -- nothing shown yet: nothing to branch (said in the pane; the plugin stays on)
  check.ok(lab.ui.run_command("agents-branch", "x"))
  check.wait(function() return pane_text(pane):find("agents-branch: the agents pane shows no workflow run", 1, true) end, "the refusal")
  check.ok(lab.ui.run_command("agents", "workflow=ab_pair.json lib=ab_lib.lua Once upon a time"))
  check.wait(function() return lab.ui.pane_draw(pane, 120, 40)[1]:find("ok: answered", 1, true) end, "the run")
  local parent = lab.store.query("SELECT id FROM runs WHERE plugin = 'agents' ORDER BY id DESC LIMIT 1")[1].id
  local before = pane_text(pane)
  check.ok(not before:find("▸", 1, true), "no model turn left under way once the run ended: " .. before)
  -- select message 4, fox's turn
  lab.ui.pane_key(pane, "g")
  for _ = 1, 3 do lab.ui.pane_key(pane, "j") end
  check.ok(pane_text(pane):find(">  fox (agent) -> editor:", 1, true) or pane_text(pane):find(">│ fox (agent) -> editor:", 1, true), pane_text(pane))
  lab.ui.pane_key(pane, "e")
  check.ok(pane_text(pane):find("edit #4: :agents-branch TEXT replaces the turn", 1, true))
  check.ok(lab.ui.run_command("agents-branch", "--prefix  The"))
  check.wait(function() return lab.ui.pane_draw(pane, 120, 40)[1]:find("differs from #4 on", 1, true) end, "the branch")
  local lines, styles = lab.ui.pane_draw(pane, 120, 40)
  local all = table.concat(lines, "\n")
  local branch = lab.store.query("SELECT id, params FROM runs WHERE plugin = 'agents' ORDER BY id DESC LIMIT 1")[1]
  check.ok(lines[1]:find(("agents: branch of run %d at #4 (fox's turn 1), run %d |"):format(parent, branch.id), 1, true), lines[1])
  check.ok(lines[2]:find(("v: %s"):format("ab_pair.json, run " .. parent), 1, true) and lines[2]:find("≠ from #4 on", 1, true), lines[2])
  check.eq(styles[2], "label")
  check.ok(not all:find("▸", 1, true), "no model turn left under way once the branch ended")
  check.ok(all:find(">≠│ fox (agent) -> editor: The", 1, true), "the branched turn, selected and marked: " .. all)
  check.ok(all:find("\n  │ editor (main supervisor) -> fox: Once upon a time", 1, true), "the replayed messages are not marked: " .. all)
  check.ok(all:find("\n  │ owl (agent) -> editor: ", 1, true), "owl's turn replays, not marked: " .. all)
  check.ok(all:find("\n ≠editor (main supervisor) -> user: The", 1, true), "the answer differs: " .. all)
  -- recorded: the link to the parent and the turn; the parent untouched
  local p = lab.json.decode(branch.params)
  check.eq(p.parent, parent)
  check.eq(p.branch.member .. "#" .. p.branch.turn .. "@" .. p.branch.message .. ":" .. p.branch.mode .. ":" .. p.branch.text, "fox#1@4:prefix: The")
  check.eq(lab.store.query("SELECT count(*) AS n FROM records WHERE run_id = ? AND kind = 'message'", { parent })[1].n, 7)
  local res = lab.json.decode(lab.store.query("SELECT data FROM records WHERE run_id = ? AND kind = 'agents_result'", { branch.id })[1].data)
  check.eq(res.diverge, 4)
  check.eq(res.parent, parent)
  -- the branch as the runtime makes it: the same as R.run with that turn forced
  local wf = check.ok(F.validate(lab.fs.read("ab_pair.json"), { scripts = load(lab.fs.read("ab_lib.lua"))().scripts }))
  local fresh = R.run(wf, "Once upon a time", { forced = { fox = { { text = " The", continue = true } } } })
  local shown = lab.store.query("SELECT data FROM records WHERE run_id = ? AND kind = 'message' ORDER BY id", { branch.id })
  check.eq(#shown, #fresh.transcript)
  for i, r in ipairs(shown) do check.eq(lab.json.decode(r.data).text, fresh.transcript[i].text, "message " .. i) end
  -- v: the parent again, the same marks; v: back
  check.eq(lab.ui.pane_key(pane, "v"), 3)
  lines = lab.ui.pane_draw(pane, 120, 40)
  check.ok(lines[1]:find("agents: ab_pair.json, run " .. parent, 1, true), lines[1])
  check.ok(lines[2]:find("v: branch of run " .. parent, 1, true), lines[2])
  check.ok(table.concat(lines, "\n"):find(">≠│ fox (agent) -> editor:", 1, true), "the parent, at the branched turn")
  lab.ui.pane_key(pane, "v")
  check.ok(lab.ui.pane_draw(pane, 120, 40)[1]:find("branch of run " .. parent, 1, true))
  -- a branch of the branch: text this time, scored; the pane's parent is now the first branch
  check.ok(lab.ui.run_command("agents-branch", "A fox."))
  check.wait(function() return lab.ui.pane_draw(pane, 120, 40)[1]:find("branch of run " .. branch.id, 1, true)
    and lab.ui.pane_draw(pane, 120, 40)[1]:find("differs from", 1, true) end, "the second branch")
  all = pane_text(pane)
  check.ok(all:find("fox (agent) -> editor: A fox.  [", 1, true), all)
  check.ok(all:find("editor (main supervisor) -> user: A fox. / ", 1, true), all)
  -- a message that is no turn: said in the pane
  lab.ui.pane_key(pane, "g")
  check.ok(lab.ui.run_command("agents-branch", "x"))
  check.wait(function() return pane_text(pane):find("agents-branch: #1: message 1 is the user's", 1, true) end, "the refusal")
  -- b headless: no loom
  lab.ui.pane_key(pane, "j"); lab.ui.pane_key(pane, "j"); lab.ui.pane_key(pane, "j")
  lab.ui.pane_key(pane, "b")
  check.ok(pane_text(pane):find("loom: .*headless"), pane_text(pane))
  -- a recorded run: :agents-show, then branched by text
  check.ok(lab.ui.run_command("agents-show", tostring(parent)))
  check.wait(function() return lab.ui.pane_draw(pane, 120, 40)[1]:find("agents: run " .. parent, 1, true) end, ":agents-show")
  lab.ui.pane_key(pane, "g")
  for _ = 1, 5 do lab.ui.pane_key(pane, "j") end
  lab.ui.pane_key(pane, "b")
  check.ok(pane_text(pane):find("recorded run", 1, true), pane_text(pane))
  check.ok(lab.ui.run_command("agents-branch", "An owl."))
  check.wait(function() return lab.ui.pane_draw(pane, 120, 40)[1]:find("differs from #6 on", 1, true) end, "the branch of a recorded run")
  check.ok(pane_text(pane):find("editor %(main supervisor%) %-> user: .* / An owl%."), pane_text(pane))
  -- a recorded branch shown again: its parent is one v away, the differences marked
  check.ok(lab.ui.run_command("agents-show", tostring(branch.id)))
  check.wait(function() return lab.ui.pane_draw(pane, 120, 40)[1]:find("run " .. branch.id .. " |", 1, true) end, ":agents-show of a branch")
  lines = lab.ui.pane_draw(pane, 120, 40)
  check.ok(lines[1]:find(("agents: branch of run %d at #4 (fox's turn 1), run %d |"):format(parent, branch.id), 1, true), lines[1])
  check.ok(lines[2]:find("v: run " .. parent .. " | ≠ from #4 on", 1, true), lines[2])
  all = table.concat(lines, "\n")
  check.ok(all:find(" ≠│ fox (agent) -> editor: The", 1, true) and all:find("\n  │ owl (agent) -> editor: ", 1, true), all)
  lab.ui.pane_key(pane, "v")
  lines = lab.ui.pane_draw(pane, 120, 40)
  check.ok(lines[1]:find("agents: run " .. parent .. " | ok: answered", 1, true), lines[1])
  check.ok(table.concat(lines, "\n"):find(">≠│ fox (agent) -> editor:", 1, true), "the parent, at the branched turn")
  -- a run that is not there, or not an agents run: said so
  check.ok(lab.ui.run_command("agents-show", "999"))
  check.wait(function() return pane_text(pane):find("agents-show: no run 999 in the workspace", 1, true) end, "no run 999")
  check.ok(before ~= nil)
  lab.plugin.disable("architect")
end)

test("the loom's path as a forced prefix: ids after the turn's prompt, BOS or not, or the text", function()
  local m = lab.model.open(MODEL)
  local wf = check.ok(F.validate{ main = { name = "boss", manages = { "t" }, script = function(ctx)
      if ctx.last.role == "user" then return { call = "delegate_to_t", args = { message = ctx.input } } end
      return ctx.last.content end },
    agents = { { name = "t", model = m, max_tokens = 6 } } })
  local r = R.run(wf, "Once upon a time")
  local e = r.transcript[4]
  check.eq(e.sender, "t")
  local ids = {}
  for j, t in ipairs(e.prompt_ids) do ids[j] = t end
  ids[#ids + 1] = e.tokens[1]
  ids[#ids + 1] = 432
  local v = check.ok(B.from_loom(e, ids, m))
  check.same_list(v.tokens, { e.tokens[1], 432 })
  check.eq(v.continue, true)
  -- the loom tokenizes the prompt and the answer as one text (its own BOS)
  local lt = m:tokenize(e.prompt .. "Lily")
  v = check.ok(B.from_loom(e, lt, m))
  local got = v.tokens and m:detokenize(v.tokens) or v.text
  check.ok(got:find("Lily$"), got)
  -- a path that is not this turn's
  check.fails("the loom's path does not begin with this turn's prompt", B.from_loom(e, m:tokenize("Tom and his sister"), m))
  check.fails("the loom's path ends where the turn begins", B.from_loom(e, e.prompt_ids, m))
  check.fails("a recorded run keeps none", B.from_loom({ text = "x", tokens = { 1 } }, ids, m))
  -- the pane shows another transcript than its run's (an architect example): refused
  local T = { transcript = r.transcript, sel = 4, ctx = B.context(1, { workflow = "x.json", prompt = "p" }, {}) }
  check.raises("shows no workflow run to branch %(an architect example is not one%)", B.branch, T, { text = "x" }, function() end)
  -- the branch it gives: the member goes on from the picked token
  local b = R.branch(wf, "Once upon a time", r, 4, B.from_loom(e, ids, m))
  check.same_list({ b.transcript[4].tokens[1], b.transcript[4].tokens[2] }, { e.tokens[1], 432 })
  check.eq(b.transcript[4].forced, "prefix")
end)
