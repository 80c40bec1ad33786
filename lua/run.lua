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
