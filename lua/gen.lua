-- gen.lua: generation in the lab API, in Lua over the C primitives
-- (embedded into the binary; run once per Lua state with `lab` and the
-- private table of method tables).
--
-- Here: lab.generate (one sequence) and lab.generate_batch (many, one
-- engine step per token for all live ones). Both run the same loop, so a
-- sequence generated alone and in a batch takes the same tokens and gets
-- the same log-probabilities (bit for bit where the kernels are
-- batch-invariant). A sampler remembers which tokens of which sequence it
-- has been told (weak tables below), so reusing it across calls on one
-- sequence counts each token's penalty history once and its random stream
-- simply goes on.
local lab, priv = ...

local type, error, tostring, pairs, ipairs, getmetatable = type, error, tostring, pairs, ipairs, getmetatable
local setmetatable = setmetatable
local string_format = string.format
local math_type = math.type

local function is_a(v, methods)
  if type(v) ~= "userdata" then return false end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__index == methods
end
local function is_seq(v) return is_a(v, priv.Seq) end
local function is_sampler(v) return is_a(v, priv.Sampler) end
priv.is_seq, priv.is_sampler = is_seq, is_sampler

local function typename(v)
  if is_seq(v) then return "Seq" end
  if is_sampler(v) then return "Sampler" end
  return type(v)
end

-- What each sampler was told: hist[sampler] = {toks = {...}, ref = weak {seq}}.
local hist = setmetatable({}, { __mode = "k" })

-- Tells sampler the tokens of seq it has not been told yet: all of them,
-- unless it last followed this very sequence and the sequence still starts
-- with what it was told (then only the tokens since).
local function sync_sampler(sampler, seq)
  local toks = seq:tokens()
  local h, from = hist[sampler], 1
  if h and h.ref[1] == seq and #h.toks <= #toks then
    from = #h.toks + 1
    for i = 1, #h.toks do
      if h.toks[i] ~= toks[i] then from = 1; break end
    end
  end
  for i = from, #toks do sampler:accept(toks[i]) end
  hist[sampler] = { toks = toks, ref = setmetatable({ seq }, { __mode = "v" }) }
end

local function note_sampler(sampler, seq)
  local h = hist[sampler]
  if h and h.ref[1] == seq then h.toks = seq:tokens() end
end

local GEN_KNOWN = "sampler, max_tokens, stop_at_eos, end_tokens, stop, on_token, top, done"
local GEN_OPTS = { sampler = true, max_tokens = true, stop_at_eos = true, end_tokens = true, stop = true,
                   on_token = true, top = true, done = true }
local ITEM_KNOWN = "seq, sampler, max_tokens, stop_at_eos, end_tokens, stop"
local ITEM_OPTS = { seq = true, sampler = true, max_tokens = true, stop_at_eos = true, end_tokens = true,
                    stop = true }

-- Raises "bad argument" at the user's call: level 4 from the option
-- checkers (bad <- checker <- lab.generate* <- user), 3 when given.
local function bad(fname, argn, msg, level)
  error(string_format("bad argument #%d to '%s' (%s)", argn, fname, msg), level or 4)
end

-- Checks the per-sequence options of t (a table of opts) in place: returns
-- sampler (or nil), max_tokens, stop_at_eos, stops (a list or nil), end
-- token ids (a list, or nil: the model's). seq: the sequence (its model
-- reads the end_tokens names).
local function item_opts(fname, argn, t, where, dflt, seq)
  local sampler = t.sampler
  if sampler == nil then sampler = dflt.sampler end
  if sampler ~= nil and not is_sampler(sampler) then
    bad(fname, argn, string_format("%soption 'sampler' must be a Sampler (lab.sampler{...}), got %s", where, typename(sampler)))
  end
  local max_tokens = t.max_tokens
  if max_tokens == nil then max_tokens = dflt.max_tokens or 128 end
  if math_type(max_tokens) ~= "integer" or max_tokens < 0 then
    bad(fname, argn, where .. "max_tokens must be an integer >= 0")
  end
  local stop_at_eos = t.stop_at_eos
  if stop_at_eos == nil then stop_at_eos = dflt.stop_at_eos end
  if stop_at_eos ~= nil and type(stop_at_eos) ~= "boolean" then
    bad(fname, argn, string_format("%soption 'stop_at_eos' must be a boolean, got %s", where, typename(stop_at_eos)))
  end
  local stops = t.stop
  if stops == nil then stops = dflt.stop end
  if type(stops) == "string" then stops = { stops } end
  if stops ~= nil then
    if type(stops) ~= "table" then
      bad(fname, argn, string_format("%soption 'stop' must be a string or a list of strings, got %s", where, typename(stops)))
    end
    for i, s in ipairs(stops) do
      if type(s) ~= "string" or s == "" then
        bad(fname, argn, string_format("%soption 'stop' entry %d must be a non-empty string", where, i))
      end
    end
    if #stops == 0 then stops = nil end
  end
  local ends = t.end_tokens
  if ends == nil then ends = dflt.end_tokens end
  if ends ~= nil then
    local ok, ids, err = pcall(priv.end_ids, seq:model(), ends)
    if not ok then bad(fname, argn, where .. tostring(ids):gsub("^[^:]*:%d+: ", "")) end
    if not ids then bad(fname, argn, where .. err) end
    ends = ids
  end
  return sampler, max_tokens, stop_at_eos ~= false, stops, ends
end

local function check_opts(fname, argn, opts)
  if opts == nil then return {} end
  if type(opts) ~= "table" then bad(fname, argn, "table of options expected, got " .. typename(opts)) end
  for k in pairs(opts) do
    if not GEN_OPTS[k] then
      bad(fname, argn, string_format("unknown option '%s'; known: %s", tostring(k), GEN_KNOWN))
    end
  end
  if opts.on_token ~= nil and type(opts.on_token) ~= "function" then
    bad(fname, argn, "on_token must be a function")
  end
  if opts.top ~= nil and (math_type(opts.top) ~= "integer" or opts.top < 1) then
    bad(fname, argn, "top must be an integer >= 1 (the top-k to keep at each step)")
  end
  if opts.done ~= nil and type(opts.done) ~= "table" then
    bad(fname, argn, "done must be a table (the done mask, indexed like the sequences)")
  end
  return opts
end

-- stop_ids: EOS/EOT (unless stop_at_eos is false) and the end tokens
-- (ends, or the model's: lab.model.open's end_tokens, run --end-tokens),
-- which end with reason "end_token".
local function new_item(seq, sampler, max_tokens, stop_at_eos, stops, ends)
  local model = seq:model()
  local info = model:info()
  local stop_ids = {}
  for _, id in ipairs(ends or info.end_tokens) do stop_ids[id] = "end_token" end
  if stop_at_eos then
    if info.eos then stop_ids[info.eos] = "eos" end
    if info.eot then stop_ids[info.eot] = "eos" end
  end
  return {
    seq = seq, model = model, sampler = sampler or lab.sampler{ temp = 0 },
    max_tokens = max_tokens, stop_ids = stop_ids, stops = stops, text = "", done = false,
    res = { tokens = {}, logprobs = {}, sampler_logprobs = {}, n = 0, reason = "length" },
  }
end

-- The loop: items advance together, one eval_batch per step for the live
-- ones. on_token(i, tok, logits, step) may return false (item i stops
-- without tok), an integer id (taken instead) or nothing.
local function run(fname, items, on_token, top, done)
  for _, it in ipairs(items) do
    sync_sampler(it.sampler, it.seq)
    if top then it.res.top = {} end
  end
  while true do
    local batch, idx = {}, {}
    for i, it in ipairs(items) do
      if it.done then
        if done then done[i] = true end
      else
        if done and done[i] then
          it.done, it.res.reason = true, "stopped"
        elseif it.res.n >= it.max_tokens then
          it.done = true
        else
          batch[#batch + 1], idx[#idx + 1] = it.seq, i
        end
      end
    end
    if #batch == 0 then break end
    -- a raise in the engine call (lab.task_budget's "task budget exceeded", a
    -- Ctrl-C) goes on without this file's position in front of it: the
    -- user's call is lab.generate, not a line of gen.lua
    local okb, rows, err = pcall(lab.eval_batch, batch)
    if not okb then
      if type(rows) == "string" then rows = rows:gsub("^lua/gen%.lua:%d+: ", "") end
      error(rows, 0)
    end
    if not rows then
      -- nothing of this step was evaluated: each live item keeps what it has
      local reason = tostring(err):find("KV cache is full", 1, true) and "full" or "error"
      for _, i in ipairs(idx) do
        items[i].done, items[i].res.reason, items[i].res.err = true, reason, err
      end
      break
    end
    for k, i in ipairs(idx) do
      local it, logits = items[i], rows[k]
      local res = it.res
      local tok, plp = it.sampler:pick_lp(logits, it.seq)
      local take = true
      if not tok then
        -- the grammar (the sampler's or the seq's) leaves no token
        local gs = it.seq:grammar_state()
        take, it.done = false, true
        if gs and (gs.complete or gs.finished) then res.reason = "grammar" else res.reason, res.err = "error", plp end
      elseif on_token then
        local r = on_token(i, tok, logits, res.n + 1)
        if r == false then
          take, it.done, res.reason = false, true, "stopped"
        elseif math_type(r) == "integer" then
          if r < 0 or r >= #logits then
            error(string_format("%s: on_token returned token id %d, outside the vocabulary [0, %d)", fname, r, #logits), 3)
          end
          if r ~= tok then tok, plp = r, 0 / 0 end
        elseif r ~= nil then
          error(string_format("%s: on_token returned %s %s; expected false, nil or an integer token id", fname,
            math_type(r) or type(r), tostring(r)), 3)
        end
        if done and done[i] and take then take, it.done, res.reason = false, true, "stopped" end
      end
      if take then
        it.sampler:accept(tok)
        it.seq:append(tok)
        local n = res.n + 1
        res.n, res.tokens[n], res.logprobs[n], res.sampler_logprobs[n] = n, tok, logits:logprob(tok), plp
        if top then res.top[n] = logits:top(top) end
        if it.stop_ids[tok] then
          it.done, res.reason = true, it.stop_ids[tok]
        elseif it.stops then
          it.text = it.text .. it.model:piece(tok, false)
          for _, s in ipairs(it.stops) do
            if it.text:find(s, 1, true) then it.done, res.reason = true, "stop"; break end
          end
        end
      end
    end
  end
  local out = {}
  for i, it in ipairs(items) do
    note_sampler(it.sampler, it.seq)
    local pieces = {}
    for j, t in ipairs(it.res.tokens) do pieces[j] = it.model:piece(t, false) end
    it.res.text = table.concat(pieces)
    if done then done[i] = true end
    out[i] = it.res
  end
  return out
end

-- lab.generate(seq, {sampler=, max_tokens=128, stop_at_eos=true, end_tokens=, stop=,
--   top=, on_token=function(tok, logits, step) end}) -> result
function lab.generate(seq, opts)
  if not is_seq(seq) then bad("generate", 1, "Seq expected, got " .. typename(seq), 3) end
  opts = check_opts("generate", 2, opts)
  if opts.done ~= nil then bad("generate", 2, "done is an option of lab.generate_batch", 3) end
  local sampler, max_tokens, eos, stops, ends = item_opts("generate", 2, opts, "", {}, seq)
  local it = new_item(seq, sampler, max_tokens, eos, stops, ends)
  local on_token = opts.on_token
  local cb = on_token and function(_, tok, logits, step) return on_token(tok, logits, step) end
  return run("generate", { it }, cb, opts.top)[1]
end

-- lab.generate_batch(list, opts) -> {result, ...}. Each entry of list is a
-- Seq or {seq=, sampler=, max_tokens=, stop_at_eos=, stop=}; opts gives the
-- defaults and on_token(i, tok, logits, step), top, done.
function lab.generate_batch(list, opts)
  if type(list) ~= "table" then bad("generate_batch", 1, "a list of sequences expected, got " .. typename(list), 3) end
  opts = check_opts("generate_batch", 2, opts)
  if #list < 1 then bad("generate_batch", 1, "a list of one or more sequences expected", 3) end
  local items, seen_seq, seen_smp = {}, {}, {}
  for i, e in ipairs(list) do
    local seq, t = e, {}
    if not is_seq(e) then
      if type(e) ~= "table" then bad("generate_batch", 1, string_format("entry %d is a %s, not a Seq or {seq=...}", i, typename(e)), 3) end
      for k in pairs(e) do
        if not ITEM_OPTS[k] then
          bad("generate_batch", 1, string_format("entry %d: unknown option '%s'; known: %s", i, tostring(k), ITEM_KNOWN), 3)
        end
      end
      seq, t = e.seq, e
      if not is_seq(seq) then bad("generate_batch", 1, string_format("entry %d: seq must be a Seq, got %s", i, typename(seq)), 3) end
    end
    if seen_seq[seq] then
      bad("generate_batch", 1, string_format("entries %d and %d are the same sequence", seen_seq[seq], i), 3)
    end
    seen_seq[seq] = i
    local where = string_format("entry %d: ", i)
    local sampler, max_tokens, eos, stops, ends = item_opts("generate_batch", 1, t, where, opts, seq)
    if sampler and t.sampler == nil then
      sampler = sampler:clone{}     -- the shared default: one clone (own seed) per sequence
    elseif sampler and seen_smp[sampler] then
      bad("generate_batch", 1, string_format("entries %d and %d share one Sampler: give each its own (sampler:clone{})",
        seen_smp[sampler], i), 3)
    end
    if sampler then seen_smp[sampler] = i end
    items[i] = new_item(seq, sampler, max_tokens, eos, stops, ends)
  end
  return run("generate_batch", items, opts.on_token, opts.top, opts.done)
end

-- Submits through a C function, its misuse errors raised at the caller's
-- line rather than this file's.
-- level: the caller's level as error() counts it from here; name: the
-- function's name in messages (a private name replaced by the public one).
local function call_at(level, name, fn, ...)
  local ok, job, err = pcall(fn, ...)
  if ok then return job, err end
  if type(job) == "string" then
    job = job:gsub("^lua/[%w_]+%.lua:%d+: ", "")
    if name then job = job:gsub("to '[^']*'", "to '" .. name .. "'", 1) end
    error(job, level)
  end
  error(job, 0)
end
priv.call_at = call_at

-- Awaits a scoring job; a lack of sequence slots is tried again once
-- after a garbage collection (unreferenced sequences hold slots until then).
local function await_score(fn, ...)
  local r, err = lab.await(call_at(4, nil, fn, ...))
  if r == nil and type(err) == "string" and err:find("no free sequence slot", 1, true) then
    collectgarbage("collect")
    r, err = lab.await(call_at(4, nil, fn, ...))
  end
  if r and priv.charge_tokens then       -- lab.task_budget counts the evaluated tokens once they are known
    local n = r.evaluated or 0             -- (pending and prefix tokens included, not just the continuation)
    for _, x in ipairs(r) do n = n + x.evaluated end
    priv.charge_tokens(n)
  end
  return r, err
end

-- seq:score(continuation [, {top=, special=, context=}]) -> result | nil, err
function priv.Seq:score(cont, opts)
  return await_score(priv.seq_score_submit, self, cont, opts)
end

-- lab.score_batch({{seq, continuation}, ...} [, opts]) -> {result, ...} | nil, err
function lab.score_batch(list, opts)
  return await_score(priv.score_batch_submit, list, opts)
end
