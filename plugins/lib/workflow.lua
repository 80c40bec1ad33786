-- workflow: hierarchical multi-agent workflows as data, and their runtime
-- (issue 19). A workflow is a main supervisor, optional assistant
-- supervisors and agents (the structure of Sami et al., 2025, "Adaptive
-- Multi-Agent Reasoning via Automated Workflow Generation"). Supervisors
-- delegate with the call `delegate_to_<name>`; agents call their tools.
-- A member is either a model or a Lua function (a scripted member), so a
-- workflow can be tested deterministically. docs/agents.md describes the
-- format, the call format and the transcript.
local F = {}
local fmt, concat = string.format, table.concat

local ROLES = { main = "main supervisor", assistant = "assistant supervisor", agent = "agent" }
local MEMBER_FIELDS = { name = true, system = true, model = true, sampler = true, history = true,
                        manages = true, tools = true, script = true, max_tokens = true, description = true,
                        calls = true, max_calls = true }
-- how a model member's turn is constrained (docs/agents.md, "The call grammar")
local CALL_MODES = { auto = true, required = true, free = true }
local TOOL_FIELDS = { name = true, description = true, parameters = true, fn = true, output = true,
                      seconds = true, tokens = true }
local TOP_FIELDS = { main = true, assistants = true, agents = true, budget = true, name = true,
                     description = true }
local BUDGET_FIELDS = { turns = true, tokens = true, seconds = true, depth = true }
local SCHEMA_TYPES = { object = true, array = true, string = true, number = true, integer = true,
                       boolean = true, null = true }
local SCHEMA_KEYS = { type = true, properties = true, required = true, items = true, enum = true,
                      description = true, minimum = true, maximum = true, minLength = true,
                      maxLength = true, additionalProperties = true, minItems = true, maxItems = true }

F.ROLES = ROLES
F.DEFAULT_BUDGET = { turns = 64, tokens = 4096, seconds = 120, depth = 4 }
F.TOOL_SECONDS = 10      -- a tool's time limit when it gives none (docs/agents.md)

local function is_list(t)
  if type(t) ~= "table" then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

-- A JSON-Schema (the subset documented in docs/agents.md): nil or an error
-- naming the path inside the schema.
local function check_schema(s, path)
  if type(s) ~= "table" then return fmt("%s: a schema must be an object", path) end
  for k in pairs(s) do
    if not SCHEMA_KEYS[k] then return fmt("%s: unknown schema keyword '%s'", path, tostring(k)) end
  end
  if s.type == nil and s.enum == nil then return fmt("%s: the schema has no 'type'", path) end
  if s.type ~= nil and not SCHEMA_TYPES[s.type] then
    return fmt("%s: unknown type '%s'", path, tostring(s.type))
  end
  if s.enum ~= nil and (not is_list(s.enum) or #s.enum == 0) then
    return fmt("%s: 'enum' must be a non-empty list", path)
  end
  if s.properties ~= nil then
    if s.type ~= "object" then return fmt("%s: 'properties' on a type other than object", path) end
    if type(s.properties) ~= "table" or (next(s.properties) ~= nil and is_list(s.properties)) then
      return fmt("%s: 'properties' must be an object", path)
    end
    for k, v in pairs(s.properties) do
      local e = check_schema(v, path .. "." .. tostring(k))
      if e then return e end
    end
  end
  if s.required ~= nil then
    if not is_list(s.required) then return fmt("%s: 'required' must be a list", path) end
    for _, r in ipairs(s.required) do
      if type(r) ~= "string" or not (s.properties and s.properties[r]) then
        return fmt("%s: required property '%s' is not among the properties", path, tostring(r))
      end
    end
  end
  if s.items ~= nil then
    if s.type ~= "array" then return fmt("%s: 'items' on a type other than array", path) end
    local e = check_schema(s.items, path .. "[]")
    if e then return e end
  end
  return nil
end
F.check_schema = check_schema

-- Validates a value against a schema (the same subset): nil or what is wrong.
local function check_value(s, v, path)
  if s.enum then
    local hit = false
    for _, e in ipairs(s.enum) do if e == v then hit = true end end
    if not hit then return fmt("%s: %s is not one of the allowed values", path, lab.json.encode(v)) end
  end
  local t = s.type
  if t == "string" then
    if type(v) ~= "string" then return fmt("%s: expected a string", path) end
    if s.minLength and utf8.len(v) and utf8.len(v) < s.minLength then return fmt("%s: shorter than %d", path, s.minLength) end
    if s.maxLength and utf8.len(v) and utf8.len(v) > s.maxLength then return fmt("%s: longer than %d", path, s.maxLength) end
  elseif t == "number" or t == "integer" then
    if type(v) ~= "number" then return fmt("%s: expected a %s", path, t) end
    if t == "integer" and math.type(v) ~= "integer" and v ~= math.floor(v) then
      return fmt("%s: expected an integer", path)
    end
    if s.minimum and v < s.minimum then return fmt("%s: below the minimum %s", path, s.minimum) end
    if s.maximum and v > s.maximum then return fmt("%s: above the maximum %s", path, s.maximum) end
  elseif t == "boolean" then
    if type(v) ~= "boolean" then return fmt("%s: expected a boolean", path) end
  elseif t == "null" then
    if v ~= lab.json.null then return fmt("%s: expected null", path) end
  elseif t == "array" then
    if not is_list(v) then return fmt("%s: expected an array", path) end
    if s.minItems and #v < s.minItems then return fmt("%s: fewer than %d items", path, s.minItems) end
    if s.maxItems and #v > s.maxItems then return fmt("%s: more than %d items", path, s.maxItems) end
    if s.items then
      for i, x in ipairs(v) do
        local e = check_value(s.items, x, fmt("%s[%d]", path, i))
        if e then return e end
      end
    end
  elseif t == "object" then
    if type(v) ~= "table" or (next(v) ~= nil and is_list(v)) then return fmt("%s: expected an object", path) end
    for _, r in ipairs(s.required or {}) do
      if v[r] == nil then return fmt("%s: missing required property '%s'", path, r) end
    end
    local props = s.properties or {}
    for k, x in pairs(v) do
      if props[k] then
        local e = check_value(props[k], x, path .. "." .. tostring(k))
        if e then return e end
      elseif s.additionalProperties == false then
        return fmt("%s: unknown property '%s'", path, tostring(k))
      end
    end
  end
  return nil
end
F.check_value = check_value

-- F.check_budget(b, where [, label]) -> nil | message. A budget {turns=,
-- tokens=, seconds=, depth=} (nil: none): each a number >= 0, turns,
-- tokens and depth whole, seconds finite (0 is allowed: the run ends at
-- once, with its reason). label(k), when given, names a budget in the
-- message (the CLI's "--turns", the command's "turns="); else "where:
-- budget 'k'". Checked by F.validate (a workflow's own budget), R.run and
-- the command lines before anything is recorded.
local function check_budget(b, where, label)
  if b == nil then return nil end
  if type(b) ~= "table" then return fmt("%s: 'budget' must be an object", where) end
  for k, v in pairs(b) do
    if not BUDGET_FIELDS[k] then return fmt("%s: unknown budget '%s' (turns, tokens, seconds, depth)", where, tostring(k)) end
    local name = label and label(k) or fmt("%s: budget '%s'", where, k)
    local whole = k ~= "seconds"
    local want = whole and "a whole number >= 0" or "a number >= 0"
    local shown = type(v) == "string" and fmt("'%s'", v) or tostring(v)
    if type(v) ~= "number" or v ~= v then return fmt("%s must be %s, got %s", name, want, shown) end
    if v < 0 then return fmt("%s must be %s, got %s", name, want, shown) end
    if v == math.huge then return fmt("%s must be finite, got %s", name, shown) end
    if whole and v ~= math.floor(v) then return fmt("%s must be %s, got %s", name, want, shown) end
  end
end
F.check_budget = check_budget

-- F.model_path(name) -> path, rel | nil, nil, looked, no_ws: the file the
-- workspace keeps as model NAME (NAME, then models/NAME, as lab.fs sees
-- them) and which of the two it was; else nil, with the places looked at
-- and whether there is no workspace. (For what opens a path itself, such
-- as lib/ensemble.lua's members.)
function F.model_path(name)
  local looked = {}
  if type(name) ~= "string" or name == "" then return nil, nil, looked, false end
  for _, rel in ipairs(name:find("/", 1, true) and { name } or { name, "models/" .. name }) do
    local p, why = lab.fs.path(rel)
    if p then return p, rel end
    if tostring(why):find("no workspace", 1, true) then return nil, nil, looked, true end
    if not tostring(why):find("may not", 1, true) and not tostring(why):find("relative to the workspace", 1, true) then
      looked[#looked + 1] = rel
    end
  end
  return nil, nil, looked, false
end

-- F.open_model(name [, opts]) -> Model | nil, err: a member's model by
-- name. The workspace first (NAME, then models/NAME, as lab.fs sees
-- them: a workflow copied into a workspace with its model runs from any
-- folder), then as lab.model.open finds it (the -m NAME rules: the path as
-- given, models/, $LOGITLAB_SHARED/models, ../shared/models). err names
-- every place looked at. opts: lab.model.open's.
function F.open_model(name, opts)
  if type(name) ~= "string" or name == "" then return nil, "a model is named by a file name" end
  local p, rel, looked, no_ws = F.model_path(name)
  if p then
    local m, err = lab.model.open(p, opts)
    if not m then return nil, fmt("the workspace's %s: %s", rel, tostring(err)) end
    return m
  end
  local m, err = lab.model.open(name, opts)
  if m then return m end
  if no_ws then return nil, fmt("%s; no workspace to look in (logitlab run -w DIR)", tostring(err)) end
  if #looked == 0 then return nil, tostring(err) end
  return nil, fmt("%s; nor in the workspace (%s)", tostring(err), concat(looked, ", "))
end

-- Checks one member; `lib` maps names to Lua functions for members and
-- tools given by name (a JSON file cannot hold functions).
local function member(m, role, lib, where)
  if type(m) ~= "table" then return nil, fmt("%s: a member must be an object", where) end
  local name = m.name
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    return nil, fmt("%s: the name %s is not an identifier (letters, digits, _)", where, lab.inspect(name))
  end
  local who = fmt("%s '%s'", ROLES[role], name)
  for k in pairs(m) do
    if not MEMBER_FIELDS[k] then return nil, fmt("%s: unknown field '%s'", who, tostring(k)) end
  end
  local out = { name = name, role = role, system = m.system or "", model = m.model,
                sampler = m.sampler, history = m.history ~= false, manages = {}, tools = {},
                max_tokens = m.max_tokens or 96, description = m.description }
  if type(out.system) ~= "string" then return nil, fmt("%s: 'system' must be a string", who) end
  local script = m.script
  if type(script) == "string" then
    script = lib.scripts and lib.scripts[script]
    if type(script) ~= "function" then
      return nil, fmt("%s: no script named '%s' was given", who, m.script)
    end
  elseif script ~= nil and type(script) ~= "function" then
    return nil, fmt("%s: 'script' must be a function or the name of one", who)
  end
  out.script = script
  out.calls = m.calls or "auto"
  if not CALL_MODES[out.calls] then
    return nil, fmt("%s: 'calls' must be \"auto\", \"required\" or \"free\", not %s", who, lab.inspect(m.calls))
  end
  out.max_calls = m.max_calls
  if m.max_calls ~= nil and (math.type(m.max_calls) ~= "integer" or m.max_calls < 1) then
    return nil, fmt("%s: 'max_calls' must be an integer >= 1", who)
  end
  if not script and type(m.model) ~= "string" and type(m.model) ~= "userdata" then
    return nil, fmt("%s: needs a 'model' (a path or name) or a 'script'", who)
  end
  if m.sampler ~= nil then
    if type(m.sampler) ~= "table" then return nil, fmt("%s: 'sampler' must be an object", who) end
    local ok, err = pcall(lab.sampler, m.sampler)
    if not ok then return nil, fmt("%s: bad sampler: %s", who, tostring(err)) end
  end
  if m.manages ~= nil then
    if not is_list(m.manages) then return nil, fmt("%s: 'manages' must be a list of names", who) end
    if role == "agent" and #m.manages > 0 then
      return nil, fmt("%s: an agent manages no one (make it an assistant supervisor)", who)
    end
    for _, n in ipairs(m.manages) do
      if type(n) ~= "string" then return nil, fmt("%s: 'manages' must be a list of names", who) end
      out.manages[#out.manages + 1] = n
    end
  end
  if m.tools ~= nil then
    if not is_list(m.tools) then return nil, fmt("%s: 'tools' must be a list", who) end
    for i, t in ipairs(m.tools) do
      if type(t) ~= "table" or type(t.name) ~= "string" or not t.name:match("^[%a_][%w_]*$") then
        return nil, fmt("%s: tool %d needs a 'name' (an identifier)", who, i)
      end
      local tw = fmt("%s, tool '%s'", who, t.name)
      for k in pairs(t) do
        if not TOOL_FIELDS[k] then return nil, fmt("%s: unknown field '%s'", tw, tostring(k)) end
      end
      if t.name:match("^delegate_to_") then return nil, fmt("%s: the prefix delegate_to_ is reserved", tw) end
      local fn = t.fn
      if fn == nil or type(fn) == "string" then
        fn = lib.tools and lib.tools[t.fn or t.name]
        if type(fn) ~= "function" then
          return nil, fmt("%s: no Lua function named '%s' was given", tw, tostring(t.fn or t.name))
        end
      elseif type(fn) ~= "function" then
        return nil, fmt("%s: 'fn' must be a function or the name of one", tw)
      end
      local params = t.parameters or { type = "object", properties = {} }
      local e = check_schema(params, "parameters")
      if not e and params.type ~= "object" then e = "parameters: the arguments must be an object" end
      if not e and t.output ~= nil then e = check_schema(t.output, "output") end
      if e then return nil, fmt("%s: malformed schema: %s", tw, e) end
      if out.tools[t.name] then return nil, fmt("%s: a second tool of that name", tw) end
      out.tools[t.name] = { name = t.name, description = t.description or "", parameters = params,
                            output = t.output, fn = fn, seconds = t.seconds, tokens = t.tokens }
      out.tools[#out.tools + 1] = out.tools[t.name]
    end
  end
  return out
end

-- F.validate(spec [, lib]): a checked workflow or nil, err. `spec` is a
-- table ({main=, assistants=, agents=, budget=}) or JSON text; `lib` is
-- {scripts = {name = fn}, tools = {name = fn}} for members and tools given
-- by name.
function F.validate(spec, lib)
  lib = lib or {}
  if type(spec) == "string" then
    local ok, v, err = pcall(lab.json.decode, spec)
    if not ok or v == nil then return nil, "workflow: not valid JSON: " .. tostring(ok and err or v) end
    spec = v
  end
  if type(spec) ~= "table" then return nil, "workflow: must be an object" end
  for k in pairs(spec) do
    if not TOP_FIELDS[k] then
      return nil, fmt("workflow: unknown field '%s' (main, assistants, agents, budget)", tostring(k))
    end
  end
  if spec.main == nil then return nil, "workflow: no main supervisor ('main')" end
  local e = check_budget(spec.budget, "workflow")
  if e then return nil, e end
  local wf = { members = {}, order = {}, budget = {} }
  for k, v in pairs(F.DEFAULT_BUDGET) do wf.budget[k] = (spec.budget and spec.budget[k]) or v end
  local function add(m, role, where)
    local x, err = member(m, role, lib, where)
    if not x then return err end
    if wf.members[x.name] then return fmt("workflow: duplicate name '%s'", x.name) end
    wf.members[x.name] = x
    wf.order[#wf.order + 1] = x
  end
  e = add(spec.main, "main", "main")
  if e then return nil, e end
  wf.main = wf.order[1].name
  for _, grp in ipairs({ { "assistants", "assistant" }, { "agents", "agent" } }) do
    local list = spec[grp[1]]
    if list ~= nil then
      if not is_list(list) then return nil, fmt("workflow: '%s' must be a list", grp[1]) end
      for i, m in ipairs(list) do
        e = add(m, grp[2], fmt("%s[%d]", grp[1], i))
        if e then return nil, e end
      end
    end
  end
  -- management: known names, no one manages the main supervisor, no cycles
  for _, m in ipairs(wf.order) do
    for _, n in ipairs(m.manages) do
      if not wf.members[n] then
        return nil, fmt("%s '%s' manages an unknown member '%s'", ROLES[m.role], m.name, n)
      end
      if n == m.name then return nil, fmt("%s '%s' manages itself", ROLES[m.role], m.name) end
    end
  end
  local state = {}
  local function visit(name, path)
    if state[name] == "open" then
      return fmt("workflow: a cycle of management: %s -> %s", concat(path, " -> "), name)
    end
    if state[name] == "done" then return nil end
    state[name] = "open"
    path[#path + 1] = name
    for _, n in ipairs(wf.members[name].manages) do
      local err = visit(n, path)
      if err then return err end
    end
    path[#path] = nil
    state[name] = "done"
  end
  for _, m in ipairs(wf.order) do
    local err = visit(m.name, {})
    if err then return nil, err end
  end
  -- every member is reachable from the main supervisor
  for _, m in ipairs(wf.order) do
    if m.role == "assistant" and m.name ~= wf.main then
      local managed = false
      for _, o in ipairs(wf.order) do
        for _, n in ipairs(o.manages) do if n == m.name then managed = true end end
      end
      if not managed then return nil, fmt("assistant supervisor '%s' is managed by no one", m.name) end
    end
  end
  -- the call grammar of each model member that calls
  for _, m in ipairs(wf.order) do
    if not m.script and m.calls ~= "free" and #F.callables(wf, m) > 0 then
      local g, err = F.call_grammar(wf, m)
      if not g then return nil, fmt("%s '%s': cannot build its call grammar: %s", ROLES[m.role], m.name, err) end
      m.grammar = g
    end
  end
  return wf
end

-- ---- the call format ----
-- A turn's text is its answer unless a line of it is a JSON object
-- {"call": NAME, "args": {...}}: then each such line is a call (in order)
-- and the runtime answers each with a message of role "tool".
function F.parse_calls(text)
  local calls = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local l = line:match("^%s*(.-)%s*$")
    if l:sub(1, 1) == "{" and l:find('"call"', 1, true) then
      local ok, v = pcall(lab.json.decode, l)
      if ok and v ~= nil and type(v) == "table" and type(v.call) == "string" then
        calls[#calls + 1] = { name = v.call, args = v.args == nil and {} or v.args }
      else
        calls[#calls + 1] = { name = type(v) == "table" and tostring(v.call) or "?", malformed = l }
      end
    end
  end
  return calls
end

-- a call as the call grammar writes it: "call" first
function F.format_call(name, args)
  return fmt('{"call": %s, "args": %s}', lab.json.encode(name), lab.json.encode(args or {}))
end

-- the calls a member may make, with their argument schemas (for its system
-- message and its call grammar)
function F.callables(wf, m)
  local out = {}
  for _, n in ipairs(m.manages) do
    local d = wf.members[n]
    out[#out + 1] = { name = "delegate_to_" .. n, description = d.description or (ROLES[d.role] .. " " .. n),
                      parameters = { type = "object", required = { "message" },
                                     properties = { message = { type = "string" } } } }
  end
  for _, t in ipairs(m.tools) do out[#out + 1] = t end
  return out
end

-- ---- the call grammar ----
-- A model member's turn is generated under a grammar (docs/agents.md, "The
-- call grammar") that allows a plain message (no line of it begins with
-- "{") or calls, one per line, each {"call": "NAME", "args": ARGS} with NAME
-- one of its callables and ARGS valid against that callable's schema (the
-- GBNF that lab.grammar.json_schema makes of it, its rules renamed apart;
-- whitespace inside a call is a single space at most, so a call stays on
-- its line), at most max_calls of them (default: as many as it has
-- callables). With calls = "required" the turn is calls only.

-- The rules of a GBNF text: a list of {name=, body=} (a rule may go on over
-- several lines).
local function gbnf_rules(text)
  local rules = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local name, body = line:match("^([%w_%-]+)%s*::=%s*(.*)$")
    if name then rules[#rules + 1] = { name = name, body = body }
    elseif line:find("%S") then
      if not rules[1] then return nil, "GBNF text before the first rule" end
      rules[#rules].body = rules[#rules].body .. "\n" .. line
    end
  end
  return rules
end

-- `body` with each rule name in `names` given the prefix (literals and
-- character classes left alone).
local function rename(body, names, prefix)
  local out, i, n = {}, 1, #body
  while i <= n do
    local c = body:sub(i, i)
    if c == '"' or c == "[" then
      local close = c == '"' and '"' or "]"
      local j = i + 1
      while j <= n and body:sub(j, j) ~= close do
        if body:sub(j, j) == "\\" then j = j + 1 end
        j = j + 1
      end
      out[#out + 1] = body:sub(i, j)
      i = j + 1
    elseif c:match("[%w_%-]") then
      local word = body:match("^[%w_%-]+", i)
      out[#out + 1] = names[word] and (prefix .. word) or word
      i = i + #word
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
  return concat(out)
end

local function gbnf_string(s)
  return '"' .. s:gsub('[\\"]', "\\%0") .. '"'
end

-- F.call_grammar_text(wf, m): the GBNF of member m's turns, or nil, err.
function F.call_grammar_text(wf, m)
  local calls = F.callables(wf, m)
  if #calls == 0 then return nil, "it makes no calls" end
  local out, alts = {}, {}
  for i, c in ipairs(calls) do
    local g, err = lab.grammar.json_schema(c.parameters)
    if not g then return nil, fmt("the arguments of '%s': %s", c.name, err) end
    local rules, rerr = gbnf_rules(g:gbnf())
    if not rules then return nil, fmt("the arguments of '%s': %s", c.name, rerr) end
    local names, prefix = {}, fmt("c%d-", i)
    for _, r in ipairs(rules) do names[r.name] = true end
    for _, r in ipairs(rules) do
      local body = r.name == "ws" and '" "?' or rename(r.body, names, prefix)
      out[#out + 1] = fmt("%s%s ::= %s", prefix, r.name, body)
    end
    alts[#alts + 1] = fmt("c%d", i)
    out[#out + 1] = fmt('c%d ::= %s %s %s "}"', i, gbnf_string('{"call": "'), gbnf_string(c.name .. '", "args": '),
                        prefix .. "root")
  end
  local head = {
    "call ::= " .. concat(alts, " | "),
    (m.max_calls or #calls) == 1 and "calls ::= call" or fmt('calls ::= call ("\\n" call){0,%d}', (m.max_calls or #calls) - 1),
    -- a line of a plain message: anything but "{" after its leading blanks
    'pline ::= [ \\t\\r\\x0B\\x0C]* ([^{ \\t\\r\\n\\x0B\\x0C] [^\\n]*)?',
    'plain ::= pline ("\\n" pline)*',
  }
  table.insert(head, 1, m.calls == "required" and "root ::= calls" or "root ::= plain | (pline \"\\n\")* calls")
  return concat(head, "\n") .. "\n" .. concat(out, "\n") .. "\n"
end

-- F.call_grammar(wf, m): the compiled grammar (lab.grammar), or nil, err.
function F.call_grammar(wf, m)
  local text, err = F.call_grammar_text(wf, m)
  if not text then return nil, err end
  local g, gerr = lab.grammar(text)
  if not g then return nil, gerr end
  return g
end

return F
