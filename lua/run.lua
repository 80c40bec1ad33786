-- run.lua: run handles (lab.store.run_begin) and per-task budgets of
-- tokens and wall time (lab.task_budget), in Lua over the C primitives
-- (embedded; run once per Lua state with `lab` and the private table).
--
-- A task budget is kept per coroutine (the task), in a weak table, and
-- checked where the task hands work to the engine (seq:submit, lab.submit
-- and the scoring submits, so seq:eval, eval_batch, generate and score
-- too): a task that yields between engine steps is bounded although no
-- single slice of it runs long.
local lab, priv = ...

local type, error, setmetatable, pairs = type, error, setmetatable, pairs
local math_type, string_format = math.type, string.format
local co_running = coroutine.running

-- ---- run handles --------------------------------------------------------

local Run = {}
Run.__index = Run
function Run:put(kind, value) return lab.store.put(kind, value, { run = self.id }) end
function Run:metric(name, value, step) return lab.store.metric(name, value, step, { run = self.id }) end
function Run:run_end(status, err) return lab.store.run_end(self.id, status, err) end
Run.__tostring = function(r) return "Run(" .. r.id .. ")" end

local run_begin = lab.store.run_begin
-- lab.store.run_begin([opts]) -> id, Run | nil, err
function lab.store.run_begin(opts)
  local id, err = priv.call_at(3, "run_begin", run_begin, opts)
  if not id then return nil, err end
  return id, setmetatable({ id = id }, Run)
end

-- ---- task budgets -------------------------------------------------------

local budgets = setmetatable({}, { __mode = "k" })

local function charge(n)
  local b = budgets[co_running()]
  if not b then return end
  if b.seconds and lab.now() - b.t0 > b.seconds then
    error(string_format("task budget exceeded: %g s of wall time (lab.task_budget)", b.seconds), 3)
  end
  if b.tokens and b.used + n > b.tokens then
    error(string_format("task budget exceeded: %d tokens, %d used and %d asked (lab.task_budget)", b.tokens, b.used, n), 3)
  end
  b.used = b.used + n
end

-- lab.task_budget([{tokens=, seconds=}]) -> {tokens=, seconds=, used=, elapsed=}
function lab.task_budget(opts)
  local co = co_running()
  local b = budgets[co]
  if opts ~= nil then
    if type(opts) ~= "table" then error("bad argument #1 to 'task_budget' (table expected, got " .. type(opts) .. ")", 2) end
    for k in pairs(opts) do
      if k ~= "tokens" and k ~= "seconds" then
        error("bad argument #1 to 'task_budget' (unknown option '" .. tostring(k) .. "'; known: tokens, seconds)", 2)
      end
    end
    if opts.tokens ~= nil and (math_type(opts.tokens) ~= "integer" or opts.tokens < 0) then
      error("bad argument #1 to 'task_budget' (tokens must be an integer >= 0)", 2)
    end
    if opts.seconds ~= nil and (type(opts.seconds) ~= "number" or not (opts.seconds >= 0)) then
      error("bad argument #1 to 'task_budget' (seconds must be a number >= 0)", 2)
    end
    b = { tokens = opts.tokens, seconds = opts.seconds, used = 0, t0 = lab.now() }
    budgets[co] = b
    priv.task_deadline(opts.seconds or -1)
  end
  if not b then return { used = 0, elapsed = 0 } end
  return { tokens = b.tokens, seconds = b.seconds, used = b.used, elapsed = lab.now() - b.t0 }
end

local Seq = priv.Seq
local seq_submit, lab_submit = Seq.submit, lab.submit
function Seq:submit(opts)
  if budgets[co_running()] and priv.is_seq(self) then charge(self:pending()) end
  return seq_submit(self, opts)
end
function lab.submit(seqs, opts)
  if budgets[co_running()] and type(seqs) == "table" then
    local n = 0
    for i = 1, #seqs do
      if priv.is_seq(seqs[i]) then n = n + seqs[i]:pending() end
    end
    charge(n)
  end
  return lab_submit(seqs, opts)
end
for _, name in ipairs({ "seq_score_submit", "score_batch_submit", "score_submit" }) do
  local f = priv[name]
  priv[name] = function(...)
    if budgets[co_running()] then charge(0) end   -- the time limit; tokens are counted on completion below
    return f(...)
  end
end
priv.charge_tokens = function(n) if budgets[co_running()] then charge(n) end end

-- ---- saving a sequence's state ------------------------------------------
-- seq:save(name) writes kv/NAME.json in the workspace: the weights' SHA-256,
-- the tokens and how many of them are in the KV cache. model:load(name)
-- checks the hash and rebuilds the state by evaluating those tokens again:
-- the kernels are batch- and path-invariant, so the cache and every row
-- after it are bit for bit the saved sequence's.
local KV_FORMAT = "logitlab-kv/1"

local function kv_path(fname, name)
  if type(name) ~= "string" or not name:match("^[%w_%-%.]+$") or name:find("%.%.") then
    error(string_format("bad argument #1 to '%s' (a name of letters, digits, '_', '-' and '.' expected, got %s)",
      fname, type(name) == "string" and string_format("%q", name) or type(name)), 3)
  end
  return "kv/" .. name .. ".json"
end

function Seq:save(name)
  local path = kv_path("save", name)
  local m = self:model()
  local sha, err = m:sha256()
  if not sha then return nil, err end
  local ok
  ok, err = lab.fs.mkdir("kv")
  if not ok then return nil, err end
  local kv = self:kv()
  return lab.fs.write(path, lab.json.encode({ format = KV_FORMAT, model_sha256 = sha, model = m:info().path,
    n_vocab = m:info().n_vocab, tokens = self:tokens(), n_eval = kv.cells }))
end

function priv.Model:load(name)
  local path = kv_path("load", name)
  local text, err = lab.fs.read(path)
  if not text then return nil, err end
  local d = lab.json.decode(text)
  if type(d) ~= "table" or d.format ~= KV_FORMAT or type(d.tokens) ~= "table" or math_type(d.n_eval) ~= "integer" then
    return nil, path .. ": not a saved sequence (" .. KV_FORMAT .. ")"
  end
  local sha
  sha, err = self:sha256()
  if not sha then return nil, err end
  if d.model_sha256 ~= sha then
    return nil, string_format("%s was saved from other weights (%s, sha256 %s); this model (%s) has sha256 %s",
      path, tostring(d.model), tostring(d.model_sha256), self:info().path, sha)
  end
  local n_eval = d.n_eval
  if n_eval < 0 or n_eval > #d.tokens then return nil, path .. ": n_eval out of range" end
  local head = {}
  for i = 1, n_eval do head[i] = d.tokens[i] end
  local ok, s = pcall(self.seq, self, head)
  if not ok then return nil, path .. ": " .. tostring(s) end
  if not s then return nil, err end
  if n_eval > 0 then
    local l
    l, err = s:eval()
    if not l then s:close(); return nil, err end
  end
  local rest = {}
  for i = n_eval + 1, #d.tokens do rest[#rest + 1] = d.tokens[i] end
  if #rest > 0 then s:append(rest) end
  return s
end
