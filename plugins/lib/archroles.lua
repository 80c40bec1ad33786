-- archroles: the model roles of the architect loop (plugins/lib/architect.lua,
-- which re-exports all of this): an architect, an analyst, a prompt engineer
-- and a judge played by a model, each answering under the grammar of its
-- JSON schema (lab.grammar.json_schema), so the answer is always well-formed
-- data; prompts go through the model's chat template, else agentrun's plain
-- format. docs/agents.md, "The architect".
local R = assert(lab.require("agentrun"))
local A = { DEFAULTS = { system_chars = 240, transcript_chars = 600, role_tokens = 400 } }
local fmt, concat = string.format, table.concat

local function copy(v)
  if type(v) ~= "table" then return v end
  local o = {}
  for k, x in pairs(v) do o[k] = copy(x) end
  return o
end

local function members(draft)
  local out = { draft.main }
  for _, m in ipairs(draft.assistants or {}) do out[#out + 1] = m end
  for _, m in ipairs(draft.agents) do out[#out + 1] = m end
  return out
end

A.copy, A.members = copy, members   -- architect.lua uses these too

local NAME_RE = "^[a-z][a-z0-9_]{0,11}$"

-- A.draft_schema(tool_names [, system_chars, max_agents, max_assistants])
-- -> the JSON Schema (as text,
-- its properties in the order a model should write them) of a draft:
-- {"main": {name, system, manages}, "assistants": [{name, system,
-- manages}], "agents": [{name, system, tools}]}.
function A.draft_schema(tool_names, system_chars, max_agents, max_assistants)
  local name = fmt('{"type":"string","pattern":%s}', lab.json.encode(NAME_RE))
  local sys = fmt('{"type":"string","minLength":1,"maxLength":%d}', system_chars or A.DEFAULTS.system_chars)
  local manages = fmt('{"type":"array","items":%s,"minItems":1,"maxItems":4}', name)
  local tools
  if #tool_names > 0 then
    tools = fmt('{"type":"array","items":{"enum":%s},"maxItems":%d}', lab.json.encode(tool_names), #tool_names)
  else
    tools = '{"type":"array","items":{"type":"string"},"maxItems":0}'
  end
  local sup = fmt('{"type":"object","properties":{"name":%s,"system":%s,"manages":%s},"required":["name","system","manages"]}',
    name, sys, manages)
  local agent = fmt('{"type":"object","properties":{"name":%s,"system":%s,"tools":%s},"required":["name","system","tools"]}',
    name, sys, tools)
  return fmt('{"type":"object","properties":{"main":%s,"assistants":{"type":"array","items":%s,"maxItems":%d},' ..
    '"agents":{"type":"array","items":%s,"minItems":1,"maxItems":%d}},"required":["main","agents"]}', sup, sup,
    max_assistants or 2, agent, max_agents or 4)
end

-- ---- model roles --------------------------------------------------------------

local function model_of(M)
  if type(M) == "userdata" then return M end
  local m, err = lab.model.open(M)
  if not m then error(fmt("cannot open model '%s': %s", tostring(M), tostring(err)), 0) end
  return m
end

-- the prompt of a role: the model's chat template, else agentrun's plain
-- format; cut texts (the longest first) until it fits the context
local function role_prompt(m, messages, max_tokens)
  local n_ctx = m:info().n_ctx
  for _ = 1, 12 do
    local text = lab.chat.format(m, messages, { add_generation_prompt = true })
    local toks, stop
    if text then toks = m:tokenize(text, { bos = false, special = true })
    else text = R.plain_format(messages); toks = m:tokenize(text); stop = "\n###" end
    if #toks + max_tokens <= n_ctx then return toks, stop end
    local big, bi = 0, nil
    for i, msg in ipairs(messages) do if #msg.content > big then big, bi = #msg.content, i end end
    local c = messages[bi].content
    messages[bi].content = c:sub(1, #c // 2) .. "\n[...]\n"
  end
  error(fmt("the prompt does not fit the model's context of %d tokens", n_ctx), 0)
end

-- A.model_json(model, messages, schema_text [, {max_tokens=, sampler=}]) ->
-- the decoded JSON value a model writes under the grammar of the schema.
function A.model_json(M, messages, schema, o)
  o = o or {}
  local m = model_of(M)
  local g, gerr = lab.grammar.json_schema(schema)
  if not g then error("internal: bad schema: " .. tostring(gerr), 0) end
  local max = o.max_tokens or A.DEFAULTS.role_tokens
  local toks = role_prompt(m, copy(messages), max)
  local sopt = copy(o.sampler or { temp = 0 })
  sopt.grammar = g
  local seq = m:seq(toks)
  local r = lab.generate(seq, { sampler = lab.sampler(sopt), max_tokens = max })
  seq:close()
  if r.reason == "length" then error(fmt("its JSON was not finished within %d tokens", max), 0) end
  if r.reason == "error" or r.reason == "full" then error("generation failed: " .. tostring(r.err or r.reason), 0) end
  local ok, v = pcall(lab.json.decode, r.text)
  if not ok or v == nil then error("its output is not JSON: " .. r.text, 0) end
  return v, r
end

local function tool_lines(tools)
  local out = {}
  for _, t in ipairs(tools) do out[#out + 1] = fmt("- %s %s: %s", t.name, lab.json.encode(t.parameters), t.description) end
  return #out > 0 and concat(out, "\n") or "(none)"
end

-- A.transcript_text(transcript [, max_chars]) -> lines "sender (role) ->
-- receiver: text", indented by depth; cut in the middle past max_chars.
function A.transcript_text(tr, max)
  local out = {}
  for _, e in ipairs(tr or {}) do
    out[#out + 1] = fmt("%s%s (%s) -> %s: %s", string.rep("  ", e.depth or 0), e.sender, e.sender_role, e.receiver,
      (tostring(e.text):gsub("\n", " ")))
  end
  local s = concat(out, "\n")
  if max and #s > max then s = s:sub(1, max // 2) .. "\n[...]\n" .. s:sub(-(max // 2)) end
  return s
end

local function workflow_text(draft)
  local out = {}
  for _, m in ipairs(members(draft)) do
    local extra = ""
    if m.manages and #m.manages > 0 then extra = " manages " .. concat(m.manages, ", ") end
    if m.tools and #m.tools > 0 then
      local t = {}
      for i, x in ipairs(m.tools) do t[i] = type(x) == "table" and x.name or x end
      extra = extra .. " tools " .. concat(t, ", ")
    end
    out[#out + 1] = fmt("[%s]%s\n%s", m.name, extra, m.system or "")
  end
  return concat(out, "\n\n")
end
A.workflow_text = workflow_text

A.PROMPTS = {
  architect = "You design multi-agent workflows. A main supervisor receives the task and delegates to agents "
    .. "(through optional assistant supervisors); agents may use tools. Give each member a short system message "
    .. "of guidelines, one per line starting with '- '. Answer with the workflow as JSON.",
  analyst = "You analyse a multi-agent workflow's failures. For the members whose behaviour caused a failure, "
    .. "write the issue, the evidence from the transcript, and one action on a guideline of its system message: "
    .. "add a guideline, remove one (target: its text), or modify one (target: its text; guideline: the new text). "
    .. "Answer as JSON.",
  engineer = "You are a prompt engineer. Apply the feedback to the system messages of the workflow's members: "
    .. "add, remove or modify the guidelines as asked, keep the rest. Answer with every member's new system message as JSON.",
}

-- A.model_architect(model [, {sampler=, max_tokens=, system_chars=, max_agents=,
-- max_assistants=}]) -> role fn
function A.model_architect(M, o)
  o = o or {}
  return function(ctx)
    local names = {}
    for i, t in ipairs(ctx.tools) do names[i] = t.name end
    local ex = {}
    for i = 1, math.min(3, #ctx.examples) do
      ex[#ex + 1] = fmt("Q: %s\nA: %s", ctx.examples[i].question, ctx.examples[i].answer)
    end
    local user = fmt("Task:\n%s\n\nTools:\n%s\n\nExamples:\n%s", ctx.task, tool_lines(ctx.tools), concat(ex, "\n"))
    if ctx.error then user = user .. "\n\nYour last draft was refused: " .. ctx.error end
    return (A.model_json(M, { { role = "system", content = A.PROMPTS.architect }, { role = "user", content = user } },
      A.draft_schema(names, o.system_chars, o.max_agents, o.max_assistants), o))
  end
end

-- the analyst's answer: {"feedback": [{agent, issue, evidence, action, guideline, target}]}
function A.feedback_schema(names, text_chars, max_items)
  local s = fmt('{"type":"string","maxLength":%d}', text_chars or 160)
  return fmt('{"type":"object","properties":{"feedback":{"type":"array","minItems":1,"maxItems":%d,"items":' ..
    '{"type":"object","properties":{"agent":{"enum":%s},"issue":%s,"evidence":%s,"action":{"enum":["add","remove","modify"]},' ..
    '"target":%s,"guideline":%s},"required":["agent","issue","evidence","action","target","guideline"]}}},"required":["feedback"]}',
    max_items or 4, lab.json.encode(names), s, s, s, s)
end

-- A.model_analyst(model [, {sampler=, max_tokens=, text_chars=, max_items=,
-- transcript_chars=}]) -> role fn
function A.model_analyst(M, o)
  o = o or {}
  return function(ctx)
    local names = {}
    for i, m in ipairs(members(ctx.workflow)) do names[i] = m.name end
    local fails = {}
    for i, f in ipairs(ctx.failures) do
      fails[i] = fmt("Example %d. Q: %s\nExpected: %s\nGot: %s (%s)\nTranscript:\n%s", i, f.question, f.expected,
        tostring(f.answer), f.why or f.reason or "", A.transcript_text(f.transcript, o.transcript_chars or A.DEFAULTS.transcript_chars))
    end
    local user = fmt("Task:\n%s\n\nWorkflow:\n%s\n\nFailed examples:\n%s", ctx.task, workflow_text(ctx.workflow), concat(fails, "\n\n"))
    if #ctx.rejected > 0 then
      local r = {}
      for i, x in ipairs(ctx.rejected) do
        local fs = {}
        for j, f in ipairs(x.feedback) do fs[j] = fmt("%s %s '%s'", f.agent, f.action, f.guideline or f.target) end
        r[i] = fmt("- %s (accuracy fell to %.2f)", concat(fs, "; "), x.accuracy)
      end
      user = user .. "\n\nThese edits made it worse and were rolled back:\n" .. concat(r, "\n")
    end
    return (A.model_json(M, { { role = "system", content = A.PROMPTS.analyst }, { role = "user", content = user } },
      A.feedback_schema(names, o.text_chars, o.max_items), o))
  end
end

-- the engineer's answer: {"systems": {NAME: TEXT, ...}} with every member
function A.systems_schema(names, system_chars)
  local props = {}
  for i, n in ipairs(names) do
    props[i] = fmt('%s:{"type":"string","maxLength":%d}', lab.json.encode(n), system_chars or 2 * A.DEFAULTS.system_chars)
  end
  return fmt('{"type":"object","properties":{"systems":{"type":"object","properties":{%s},"required":%s}},"required":["systems"]}',
    concat(props, ","), lab.json.encode(names))
end

-- A.model_engineer(model [, opts]) -> role fn
function A.model_engineer(M, o)
  o = o or {}
  return function(ctx)
    local names = {}
    for i, m in ipairs(members(ctx.workflow)) do names[i] = m.name end
    local fb = {}
    for i, f in ipairs(ctx.feedback) do
      fb[i] = fmt("- %s: %s (evidence: %s). Action: %s%s%s", f.agent, f.issue, f.evidence, f.action,
        f.target and f.target ~= "" and (" '" .. f.target .. "'") or "", f.guideline and (" -> '" .. f.guideline .. "'") or "")
    end
    local user = fmt("System messages:\n%s\n\nFeedback:\n%s", workflow_text(ctx.workflow), concat(fb, "\n"))
    return (A.model_json(M, { { role = "system", content = A.PROMPTS.engineer }, { role = "user", content = user } },
      A.systems_schema(names, o.system_chars), o))
  end
end

-- A.judge_model(model, prompt [, opts]) -> judge fn: the prompt with
-- {question}, {expected} and {answer} filled in; the model answers "yes" or
-- "no" under a grammar.
function A.judge_model(M, prompt, o)
  o = o or {}
  if type(prompt) ~= "string" or not prompt:find("{answer}", 1, true) then
    error("the judge prompt must contain {answer} (and may contain {question} and {expected})", 0)
  end
  local g = lab.grammar.choice{ "yes", "no" }
  return function(ex, answer)
    if answer == nil then return false, "no answer" end
    local m = model_of(M)
    local p = prompt:gsub("{(%a+)}", { question = ex.question, expected = ex.answer, answer = answer })
    local toks = role_prompt(m, { { role = "user", content = p } }, 4)
    local seq = m:seq(toks)
    local sopt = copy(o.sampler or { temp = 0 })
    sopt.grammar = g
    local r = lab.generate(seq, { sampler = lab.sampler(sopt), max_tokens = 4 })
    seq:close()
    return r.text == "yes", "the judge model said " .. r.text
  end
end

return A
