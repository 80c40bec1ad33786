-- run.lua: run handles (lab.store.run_begin) and per-task budgets of
-- tokens and wall time (lab.task_budget), in Lua over the C primitives
-- (embedded; run once per Lua state with `lab` and the private table).
--
-- A task budget is kept per coroutine (the task), in a weak table, and
-- checked where the task hands work to the engine (seq:submit, lab.submit
-- and the scoring submits, so seq:eval, eval_batch, generate and score
-- too): a task that yields between engine steps is bounded although no
-- single slice of it runs long. The wall-time limit is also held by the
-- task in C (priv.task_deadline): the count hook raises it in a task that
-- computes without engine work, and a task asleep (lab.sleep) or waiting
-- (lab.await: a job, a task, anything a timer finishes) is woken at its
-- deadline to fail there.
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
    priv.task_deadline(opts.seconds or -1)   -- also at hook ticks and wakeups, not only at engine calls
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
-- seq:save(name) writes kv/NAME.json (the weights' SHA-256, the tokens, how
-- many are in the KV cache, the cache's shape, the cells' size and SHA-256)
-- and kv/NAME.kv (the K and V rows of those positions, float32, written by
-- priv.kv_save in C: the bytes never become a Lua string). model:load(name)
-- checks the hash and the shape, makes a sequence of the tokens and copies
-- the rows into its cells (priv.kv_load, which checks the size and the
-- SHA-256): no evaluation, and the rows are the saved ones bit for bit, so
-- every row after them is too. Files of the second format (no checksum)
-- still load; those of the first (tokens only) load by evaluating the
-- tokens again.
local KV_FORMAT, KV_FORMAT2, KV_FORMAT1 = "logitlab-kv/3", "logitlab-kv/2", "logitlab-kv/1"

local function kv_path(fname, name)
  if type(name) ~= "string" or not name:match("^[%w_%-%.]+$") or name:find("%.%.") then
    error(string_format("bad argument #1 to '%s' (a name of letters, digits, '_', '-' and '.' expected, got %s)",
      fname, type(name) == "string" and string_format("%q", name) or type(name)), 3)
  end
  return "kv/" .. name .. ".json", "kv/" .. name .. ".kv"
end

function Seq:save(name)
  local path, cells_path = kv_path("save", name)
  local m = self:model()
  local sha, err = m:sha256()
  if not sha then return nil, err end
  local ok
  ok, err = lab.fs.mkdir("kv")
  if not ok then return nil, err end
  local info = m:info()
  local tokens = self:tokens()
  return priv.kv_save(self, cells_path, path, function(bytes, cells_sha, n_eval, n_layers, kv_dim)
    return lab.json.encode({ format = KV_FORMAT, model_sha256 = sha, model = info.path, n_vocab = info.n_vocab,
      exact_int8 = info.exact_int8 or nil, tokens = tokens, n_eval = n_eval, n_layers = n_layers, kv_dim = kv_dim, dtype = "f32", cells = cells_path,
      cells_bytes = bytes, cells_sha256 = cells_sha })
  end)
end

-- the first format: the cache rebuilt by evaluating the saved tokens
local function load_by_eval(self, path, d)
  local n_eval = d.n_eval
  local head = {}
  for i = 1, n_eval do head[i] = d.tokens[i] end
  local ok, s = pcall(self.seq, self, head)
  if not ok then return nil, path .. ": " .. tostring(s) end
  if n_eval > 0 then
    local l, err = s:eval()
    if not l then s:close(); return nil, err end
  end
  local rest = {}
  for i = n_eval + 1, #d.tokens do rest[#rest + 1] = d.tokens[i] end
  if #rest > 0 then s:append(rest) end
  return s
end

function priv.Model:load(name)
  local path = kv_path("load", name)
  local text, err = lab.fs.read(path)
  if not text then return nil, err end
  local okj, d, jerr = pcall(lab.json.decode, text)
  if not okj or d == nil then       -- what is wrong and where (the decoder's line and column)
    return nil, string_format("%s: not a saved sequence: %s", path, tostring(okj and jerr or d))
  end
  if type(d) == "table" and type(d.format) == "string" and d.format:match("^logitlab%-kv/")
    and d.format ~= KV_FORMAT and d.format ~= KV_FORMAT2 and d.format ~= KV_FORMAT1 then
    return nil, string_format("%s: format %s is not one this logitlab reads (%s, %s, %s): saved by a newer version?",
      path, d.format, KV_FORMAT, KV_FORMAT2, KV_FORMAT1)
  end
  if type(d) ~= "table" or (d.format ~= KV_FORMAT and d.format ~= KV_FORMAT2 and d.format ~= KV_FORMAT1) then
    return nil, string_format("%s: not a saved sequence (a JSON object with \"format\": \"%s\" expected)", path, KV_FORMAT)
  end
  if type(d.tokens) ~= "table" then
    return nil, string_format("%s: tokens must be an array of token ids, got %s", path, lab.json.encode(d.tokens))
  end
  if math_type(d.n_eval) ~= "integer" then
    return nil, string_format("%s: n_eval must be a whole number of tokens, got %s", path, lab.json.encode(d.n_eval))
  end
  local sha
  sha, err = self:sha256()
  if not sha then return nil, err end
  if d.model_sha256 ~= sha then
    return nil, string_format("%s was saved from other weights (%s, sha256 %s); this model (%s) has sha256 %s",
      path, tostring(d.model), tostring(d.model_sha256), self:info().path, sha)
  end
  -- one file, two sets of weights: a llama2.c version 2 checkpoint opened with
  -- exact_int8 holds F32 weights, else Q8_0 blocks (the cells of one are not
  -- the other's); a file saved before this was recorded names neither
  if (d.exact_int8 == true) ~= (self:info().exact_int8 == true) and (d.exact_int8 ~= nil or self:info().exact_int8) then
    return nil, string_format("%s was saved from %s opened %s exact_int8; this model is opened %s it (the weights differ: "
      .. "F32 against Q8_0 blocks)", path, tostring(d.model), d.exact_int8 and "with" or "without",
      self:info().exact_int8 and "with" or "without")
  end
  local n_eval = d.n_eval
  if n_eval < 0 or n_eval > #d.tokens then
    return nil, string_format("%s: n_eval %d out of range [0, %d] (the number of saved tokens)", path, n_eval, #d.tokens)
  end
  -- the tokens must fit this model before anything is made: a clear word
  -- here, not an engine error at the next eval
  local info = self:info()
  for i, id in ipairs(d.tokens) do
    if math_type(id) ~= "integer" or id < 0 or id >= info.n_vocab then
      return nil, string_format("%s: token %d of %d: id %s out of range [0, %d) of this model's vocabulary",
        path, i, #d.tokens, tostring(id), info.n_vocab)
    end
  end
  if #d.tokens > info.n_ctx then
    return nil, string_format("%s: the saved sequence has %d tokens; this model's context holds %d (open it with a larger n_ctx)",
      path, #d.tokens, info.n_ctx)
  end
  if d.format == KV_FORMAT1 then return load_by_eval(self, path, d) end
  local ok, s = pcall(self.seq, self, d.tokens)
  if not ok then return nil, path .. ": " .. tostring(s) end
  local n_layers, kv_dim = priv.kv_dims(s)
  if d.n_layers ~= n_layers or d.kv_dim ~= kv_dim or d.dtype ~= "f32" then
    s:close()
    return nil, string_format("%s holds a cache of %s layers x %s K/V dims (%s); this model's is %d x %d (f32)",
      path, tostring(d.n_layers), tostring(d.kv_dim), tostring(d.dtype), n_layers, kv_dim)
  end
  local cells_sha = d.cells_sha256
  if type(d.cells) ~= "string" or math_type(d.cells_bytes) ~= "integer"
    or (d.format == KV_FORMAT and (type(cells_sha) ~= "string" or #cells_sha ~= 64)) then
    s:close()
    return nil, path .. ": the saved cells' file, size" .. (d.format == KV_FORMAT and " or SHA-256" or "") .. " is missing"
  end
  ok, err = priv.kv_load(s, d.cells, n_eval, d.cells_bytes, d.format == KV_FORMAT and cells_sha or nil)
  if not ok then s:close(); return nil, err end
  return s
end
