-- ensemble: decoding with several models at once, the machinery under the
-- logit-arithmetic plugins (proxy, contrastive, generic) and the CDR scorer.
-- Load it with `local E = assert(lab.require("ensemble"))` (docs/plugins.md).
--
-- Shapes:
--   ens    = E.open(roles [, opts])   N models (one open per distinct file),
--            roles[1] the reference: every other vocabulary must equal its
--            vocabulary, or extend it (the tail is then trimmed away).
--   branch = ens:begin(prompt)        one Seq per role, each with the role's
--            own prompt formatting (raw text, or the model's chat template).
--   step   = branch:step(mix, sampler [, opts])   ONE lab.eval_batch over
--            the N seqs, mix(rows) -> the combined Logits, one token chosen
--            from it and appended to every seq.
--   branch:fork(n), branch:rewind(n), branch:close(): fork/rewind all N
--            seqs together (the KV caches share the prefix, O(1)).
-- A step record: {pos=, tok=, piece=, p={p_1..p_N}, p_mix=, shift=p_mix-p_1,
--   top={rows' top-k..., mix=...} when asked}. Probabilities are each row's
--   own softmax (a trimmed role's own, untrimmed distribution).
-- Invariants: all seqs of a branch hold the same generated tokens; a token
-- is always < ens.n_vocab (the reference vocabulary).
local E = {}

local fmt, concat = string.format, table.concat

-- ---- models and vocabularies -------------------------------------------

local function basename(p) return (tostring(p):match("([^/]*)$")) end

-- E.check_vocab(ref, other [, {ref_name=, name=, allow_longer=}]) ->
--   n_common, trimmed | nil, err
-- The two vocabularies must hold the same pieces; `other` may be longer when
-- allow_longer (its extra tail is trimmed, as the proxy-tuning code does).
function E.check_vocab(ref, other, o)
  o = o or {}
  local rn, on = o.ref_name or "the reference", o.name or "the other model"
  local ri, oi = ref:info(), other:info()
  local nr, no = ri.n_vocab, oi.n_vocab
  local why = "the models must share one vocabulary (token ids mean the same text)"
  if no < nr or (no > nr and not o.allow_longer) then
    return nil, fmt("vocabulary mismatch: %s (%s) has %d tokens, %s (%s) has %d; %s%s", on,
      basename(oi.path), no, rn, basename(ri.path), nr, why,
      no > nr and "; this role's vocabulary may not be longer" or
        (o.allow_longer and "; only a longer vocabulary whose first tokens match can be trimmed" or ""))
  end
  if ri.tokenizer ~= oi.tokenizer then
    return nil, fmt("vocabulary mismatch: %s uses a %s tokenizer, %s a %s one; %s", on, oi.tokenizer, rn,
      ri.tokenizer, why)
  end
  for id = 0, nr - 1 do
    local a, b = ref:piece(id), other:piece(id)
    if a ~= b then
      return nil, fmt("vocabulary mismatch: token %d is %q in %s (%s) but %q in %s (%s); %s", id, a, rn,
        basename(ri.path), b, on, basename(oi.path), why)
    end
  end
  return nr, no > nr
end

local Ens, Branch = {}, {}
Ens.__index, Branch.__index = Ens, Branch

-- E.open(roles [, opts]) -> Ens | nil, err
-- roles: { {name=, path= (or model= an open Model), format="raw"|"chat"|"auto",
--          longer=true (may have a longer vocabulary), threads=}, ... }; roles[1] is
-- the reference. opts: n_ctx, threads, n_seq_max (lab.model.open options);
-- any_vocab = true skips the vocabulary check (scoring text, not tokens).
function E.open(roles, opts)
  opts = opts or {}
  if type(roles) ~= "table" or #roles < 1 then error("E.open: a list of roles expected", 2) end
  local ens = { roles = {}, by_path = {}, trimmed = false }
  local mopts = { n_ctx = opts.n_ctx, threads = opts.threads, n_seq_max = opts.n_seq_max }
  for i, r in ipairs(roles) do
    local name = r.name or ("model" .. i)
    local m = r.model
    if not m then
      if not r.path or r.path == "" then return nil, fmt("no model given for the %s", name) end
      m = ens.by_path[r.path]
      if not m then
        local err
        m, err = lab.model.open(r.path, r.threads and { n_ctx = mopts.n_ctx, threads = r.threads,
                                                        n_seq_max = mopts.n_seq_max } or mopts)
        if not m then return nil, fmt("%s: %s", name, err) end
        ens.by_path[r.path] = m
      end
    end
    local info = m:info()
    ens.roles[i] = { name = name, model = m, path = info.path, format = r.format or "raw",
                     n_vocab = info.n_vocab, info = info }
  end
  local ref = ens.roles[1]
  ens.n_vocab = ref.n_vocab
  for i = 2, opts.any_vocab and 1 or #ens.roles do
    local r = ens.roles[i]
    local n, trimmed = E.check_vocab(ref.model, r.model, { ref_name = "the " .. ref.name, name = "the " .. r.name,
                                                           allow_longer = roles[i].longer })
    if not n then return nil, trimmed end
    r.trimmed = trimmed
    ens.trimmed = ens.trimmed or trimmed
  end
  local eos = {}
  if ref.info.eos then eos[ref.info.eos] = true end
  if ref.info.eot then eos[ref.info.eot] = true end
  for _, id in ipairs(ref.info.end_tokens or {}) do eos[id] = true end   -- lab.model.open's end_tokens, run --end-tokens
  ens.eos = eos
  ens.next_branch = 0
  return setmetatable(ens, Ens)
end

function Ens:models()
  local out = {}
  for i, r in ipairs(self.roles) do out[i] = r.model end
  return out
end

-- A short description: "base F32 stories260K.gguf, expert ..."
function Ens:describe()
  local parts = {}
  for i, r in ipairs(self.roles) do
    parts[i] = fmt("%s %s%s", r.name, basename(r.path), r.trimmed and " (trimmed)" or "")
  end
  return concat(parts, ", ")
end

function Ens:close()
  for _, m in pairs(self.by_path) do m:close() end
  self.by_path = {}
end

-- ens:prompt_tokens(i, prompt [, {system=}]) -> token ids for role i: the
-- raw prompt (BOS as the vocabulary wants), or the chat template rendered
-- with a generation prompt ("auto": the template when the model has one).
function Ens:prompt_tokens(i, prompt, o)
  local r = self.roles[i]
  local f = r.format
  if f == "auto" then f = r.info.chat_template and "chat" or "raw" end
  if f == "raw" then return r.model:tokenize(prompt), "raw" end
  if f ~= "chat" then error("unknown prompt format '" .. tostring(f) .. "' (raw, chat or auto)", 2) end
  local msgs = {}
  if o and o.system then msgs[1] = { role = "system", content = o.system } end
  msgs[#msgs + 1] = { role = "user", content = prompt }
  local text, err = lab.chat.format(r.model, msgs, { add_generation_prompt = true })
  if not text then return nil, fmt("the %s's chat template: %s", r.name, err) end
  return r.model:tokenize(text, { bos = false, special = true }), "chat"
end

-- ens:score(i, prompt, cand [, {system=}]) -> lab.score's result for cand
-- after the prompt under role i | nil, err. A raw prompt and the candidate
-- are tokenized as one text (the candidate brings its own leading space);
-- after a chat template the candidate is tokenized alone, leading blanks
-- dropped. plugins/cdr.lua and the bestofn cdr scorer use it.
function Ens:score(i, prompt, cand, o)
  local r = self.roles[i]
  local ptoks, f = self:prompt_tokens(i, prompt, o)
  if not ptoks then return nil, f end
  if f == "raw" then return lab.score(r.model, prompt, cand) end
  return lab.score(r.model, ptoks, r.model:tokenize((cand:gsub("^%s+", "")), { bos = false }))
end

-- ---- branches ------------------------------------------------------------

local function new_branch(ens, fields)
  ens.next_branch = ens.next_branch + 1
  fields.ens, fields.id = ens, ens.next_branch
  return setmetatable(fields, Branch)
end

-- ens:begin(prompt [, {system=}]) -> Branch | nil, err
function Ens:begin(prompt, o)
  local ptoks, formats, seqs = {}, {}, {}
  for i, r in ipairs(self.roles) do
    local t, f = self:prompt_tokens(i, prompt, o)
    if not t then return nil, f end
    ptoks[i], formats[i] = t, f
    local s, err = r.model:seq(t)
    if not s then
      for _, q in ipairs(seqs) do q:close() end
      return nil, err
    end
    seqs[i] = s
  end
  return new_branch(self, { prompt = prompt, ptoks = ptoks, formats = formats, seqs = seqs,
                            toks = {}, steps = {}, parent = nil, at = 0 })
end

-- branch:ensure() -> true | nil, err: gives a branch whose seqs were closed
-- (E.trim_branches) its seqs back, rebuilt from its tokens (evaluated at the
-- next step, as one prompt batch per model).
function Branch:ensure()
  if self.seqs then return true end
  local seqs = {}
  for i, r in ipairs(self.ens.roles) do
    local s, err = r.model:seq(self.ptoks[i])
    if not s then
      for _, q in ipairs(seqs) do q:close() end
      return nil, err
    end
    if #self.toks > 0 then s:append(self.toks) end
    seqs[i] = s
  end
  self.seqs = seqs
  return true
end

-- Closes the seqs (the tokens stay: ensure() rebuilds them).
function Branch:release()
  self.ahead = nil
  if not self.seqs then return end
  for _, s in ipairs(self.seqs) do s:close() end
  self.seqs = nil
end
Branch.close = Branch.release

local function prob_in(top, tok)
  for _, t in ipairs(top) do if t.id == tok then return t.prob end end
end

-- branch:step(mix, sampler [, {force=id, top=k, accept=true}]) -> step | nil, err
-- One engine step for all roles (one lab.eval_batch), the mix, one token.
-- mix(rows, branch) returns the combined Logits (length ens.n_vocab) and
-- optionally a table of extra fields for the step (step.extra).
-- force: take this token instead of sampling (a branch from an alternative).
-- top: keep each row's k best tokens (and the mix's) in step.top.
-- ahead (default true): once the token is appended, the next engine step
-- is submitted at once (lab.submit) and this step's probabilities and top
-- lists are computed while the engine works; the next step awaits it. A
-- step nobody takes costs one evaluation, and changes nothing.
function Branch:step(mix, sampler, o)
  o = o or {}
  local ok, err = self:ensure()
  if not ok then return nil, err end
  local rows
  local job = self.ahead
  self.ahead = nil
  if job then rows, err = lab.await(job) else rows, err = lab.eval_batch(self.seqs) end
  if not rows then return nil, err end
  local comb, extra = mix(rows, self)
  if not comb then return nil, extra or "the mix gave no distribution" end
  local tok = o.force
  if tok == nil then tok = sampler:pick(comb) end
  if tok < 0 or tok >= self.ens.n_vocab then return nil, fmt("token %d outside the vocabulary", tok) end
  if o.accept ~= false then sampler:accept(tok) end
  for _, s in ipairs(self.seqs) do s:append(tok) end
  self.toks[#self.toks + 1] = tok
  if o.ahead ~= false then self.ahead = lab.submit(self.seqs) end
  local p, top = {}, nil
  local k = o.top
  if k then
    top = {}
    for i, row in ipairs(rows) do
      top[i] = row:top(k)
      p[i] = prob_in(top[i], tok) or row:prob(tok)
    end
    -- a mix may mask tokens (contrastive's plausibility head): those are
    -- no candidates, not alternatives at probability 0
    top.mix = {}
    for _, t in ipairs(comb:top(k)) do
      if t.logit > -math.huge then top.mix[#top.mix + 1] = t end
    end
  else
    for i, row in ipairs(rows) do p[i] = row:prob(tok) end
  end
  local p_mix = top and prob_in(top.mix, tok) or comb:prob(tok)
  local r1 = self.ens.roles[1].model
  local step = { pos = #self.toks, tok = tok, piece = r1:piece(tok, false), p = p, p_mix = p_mix,
                 shift = p_mix - p[1], top = top, extra = extra, rows = o.keep_rows and rows or nil,
                 mix = o.keep_rows and comb or nil }
  self.steps[#self.steps + 1] = step
  return step
end

-- branch:fork(n) -> a new Branch holding the first n generated tokens of
-- this one (all seqs forked and rewound together) | nil, err
function Branch:fork(n)
  n = n or #self.toks
  assert(n >= 0 and n <= #self.toks, "fork: position out of range")
  local ok, err = self:ensure()
  if not ok then return nil, err end
  local seqs = {}
  for i, s in ipairs(self.seqs) do
    local f
    f, err = s:fork()
    if not f then
      for _, q in ipairs(seqs) do q:close() end
      return nil, err
    end
    f:rewind(#self.ptoks[i] + n)
    seqs[i] = f
  end
  local toks, steps = {}, {}
  for j = 1, n do toks[j], steps[j] = self.toks[j], self.steps[j] end
  return new_branch(self.ens, { prompt = self.prompt, ptoks = self.ptoks, formats = self.formats, seqs = seqs,
                                toks = toks, steps = steps, parent = self, at = n })
end

-- branch:rewind(n): keeps the first n generated tokens (all seqs together).
function Branch:rewind(n)
  assert(n >= 0 and n <= #self.toks, "rewind: position out of range")
  if n < #self.toks then self.ahead = nil end
  if self.seqs then
    for i, s in ipairs(self.seqs) do s:rewind(#self.ptoks[i] + n) end
  end
  for j = #self.toks, n + 1, -1 do self.toks[j], self.steps[j] = nil, nil end
end

-- The generated text: the reference model's pieces, as lab.generate and
-- `logitlab gen` give it.
function Branch:text()
  local m, out = self.ens.roles[1].model, {}
  for j, t in ipairs(self.toks) do out[j] = m:piece(t, false) end
  return concat(out)
end

-- Tells the sampler this branch's history (penalties): reset, then accept
-- the reference role's prompt and the generated tokens.
function Branch:sync_sampler(sampler)
  sampler:reset()
  for _, t in ipairs(self.ptoks[1]) do sampler:accept(t) end
  for _, t in ipairs(self.toks) do sampler:accept(t) end
end

-- Tokens this branch can still take before a role's context is full.
function Branch:room()
  local room = math.huge
  for i, r in ipairs(self.ens.roles) do
    room = math.min(room, r.info.n_ctx - #self.ptoks[i] - #self.toks)
  end
  return room
end

-- branch:generate(mix, sampler, {max_tokens=, stop_at_eos=true, top=,
--   on_step=function(step) -> false stops, should_stop=function() -> true stops})
-- -> {n=, reason=} | nil, err. reason: "length", "eos", "stopped", "context"
-- (a role's context is full; max_tokens < 0 generates until EOS or that).
function Branch:generate(mix, sampler, o)
  o = o or {}
  local max = o.max_tokens or 64
  local n, reason = 0, "length"
  while max < 0 or n < max do
    if o.should_stop and o.should_stop() then reason = "stopped"; break end
    if self:room() < 1 then reason = "context"; break end
    local st, err = self:step(mix, sampler, { top = o.top })
    if not st then return nil, err end
    n = n + 1
    if o.on_step and o.on_step(st) == false then reason = "stopped"; break end
    if o.stop_at_eos ~= false and self.ens.eos[st.tok] then reason = "eos"; break end
  end
  return { n = n, reason = reason }
end

-- E.trim_branches(branches, keep, current): closes the seqs of the least
-- recently used branches beyond `keep` live ones (never `current`).
function E.trim_branches(branches, keep, current)
  local live = {}
  for _, b in ipairs(branches) do
    if b.seqs and b ~= current then live[#live + 1] = b end
  end
  table.sort(live, function(x, y) return (x.used or 0) < (y.used or 0) end)
  for i = 1, #live - keep do live[i]:release() end
end

-- E.long(fn, ...) -> fn(...): runs fn under a time budget of at least 600 s
-- for this slice, then puts the budget back. For synchronous work in C that
-- can outlast a callback's budget: opening big models, and lab.store
-- hashing a model file it has not seen (gigabytes).
function E.long(fn, ...)
  local b0 = lab.budget().seconds
  local raise = b0 > 0 and b0 < 600
  if raise then lab.budget{ seconds = 600 } end
  local r = table.pack(pcall(fn, ...))
  if raise then lab.budget{ seconds = b0 } end
  if not r[1] then error(r[2], 0) end
  return table.unpack(r, 2, r.n)
end

-- ---- recording (lab.store) -----------------------------------------------

-- E.record_begin(plugin, params, seed, models) -> rec | nil, why
-- rec:put(kind, data), rec:metric(name, value [, step]), rec:finish([status [, err]]).
-- nil, why when the workspace store is unavailable (no lab.store, no
-- workspace): callers go on without recording.
function E.record_begin(plugin, params, seed, models)
  local store = lab.store
  if not store or not store.run_begin then return nil, "no workspace store (lab.store)" end
  local id, err = store.run_begin{ plugin = plugin, params = params, seed = seed, models = models }
  if not id then return nil, err end
  local rec = { id = id, n = 0 }
  function rec:put(kind, data)
    local rid, perr = store.put(kind, data, { run = self.id })
    if rid then self.n = self.n + 1 elseif not self.err then self.err = perr end
    return rid, perr
  end
  function rec:metric(name, value, step)
    return store.metric(name, value, step, { run = self.id })
  end
  function rec:finish(status, why)
    if self.done then return end
    self.done = true
    -- a failure that is a Ctrl-C ("script: interrupted", "plugin NAME:
    -- interrupted") ends the run as the host ends one Ctrl-C stopped
    if status == "failed" and type(why) == "string" and why:find(": interrupted$") then status = "interrupted" end
    return store.run_end(self.id, status or "ok", why)
  end
  return rec
end

-- ---- command lines -------------------------------------------------------

-- E.parse_args(argv, spec) -> opts, rest | nil, err
-- spec: { {"base", "string", "PATH", "help"}, {"a", "number", "A", "help", short="a", default=1}, ...,
--         {"json", "flag", nil, "help"} }. "--name V", "--name=V" and "-s V".
-- Arguments that are not options land in rest.
function E.parse_args(argv, spec)
  local by_long, by_short, opts, rest = {}, {}, {}, {}
  for _, s in ipairs(spec) do
    by_long[s[1]] = s
    if s.short then by_short[s.short] = s end
    if s.default ~= nil then opts[s[1]] = s.default end
  end
  local i = 1
  while i <= #argv do
    local a = argv[i]
    local s, val
    if a == "--" then
      for j = i + 1, #argv do rest[#rest + 1] = argv[j] end
      break
    elseif a:sub(1, 2) == "--" then
      local name, v = a:match("^%-%-([^=]+)=(.*)$")
      if name then s, val = by_long[name], v else s = by_long[a:sub(3)] end
      if not s then return nil, "unknown option '" .. a .. "'" end
    elseif a:match("^%-%a$") then
      s = by_short[a:sub(2)]
      if not s then return nil, "unknown option '" .. a .. "'" end
    else
      rest[#rest + 1] = a
    end
    if s then
      if s[2] == "flag" then
        if val then return nil, "option --" .. s[1] .. " takes no value" end
        opts[s[1]] = true
      else
        if not val then
          i = i + 1
          val = argv[i]
          if val == nil then return nil, "option --" .. s[1] .. " needs a value (" .. (s[3] or "VALUE") .. ")" end
        end
        if s[2] == "number" or s[2] == "integer" then
          local x = tonumber(val)
          if not x or (s[2] == "integer" and math.type(x) ~= "integer") then
            return nil, fmt("option --%s needs %s, got '%s'", s[1], s[2] == "integer" and "an integer" or "a number", val)
          end
          val = x
        end
        opts[s[1]] = val
      end
    end
    i = i + 1
  end
  return opts, rest
end

-- E.usage(title, spec) -> the help text
function E.usage(title, spec)
  local lines = { title, "", "options:" }
  for _, s in ipairs(spec) do
    local left = (s.short and ("-" .. s.short .. ", ") or "    ") .. "--" .. s[1] .. (s[3] and (" " .. s[3]) or "")
    local def = s.default ~= nil and s[2] ~= "flag" and fmt(" (default %s)", tostring(s.default)) or ""
    lines[#lines + 1] = fmt("  %-26s %s%s", left, s[4] or "", def)
  end
  return concat(lines, "\n")
end

-- Sampler options shared by the plugins' command lines and commands.
E.SAMPLER_SPEC = {
  { "temp", "number", "T", "temperature (0 = greedy)", default = 0 },
  { "top-k", "integer", "K", "top-k of the sampler chain", default = 40 },
  { "top-p", "number", "P", "top-p of the sampler chain", default = 0.95 },
  { "min-p", "number", "P", "min-p of the sampler chain", default = 0.05 },
  { "seed", "integer", "N", "seed of the draw", default = 42 },
}

function E.sampler(o)
  return lab.sampler{ temp = o.temp, top_k = o["top-k"], top_p = o["top-p"], min_p = o["min-p"], seed = o.seed }
end

function E.sampler_params(o)
  return { temp = o.temp, top_k = o["top-k"], top_p = o["top-p"], min_p = o["min-p"], seed = o.seed }
end

-- Appends the entries of b to the spec a (a new list).
function E.spec(a, b)
  local out = {}
  for _, s in ipairs(a) do out[#out + 1] = s end
  for _, s in ipairs(b or {}) do out[#out + 1] = s end
  return out
end

-- "key=value" words at the start of a TUI command's arguments, then the
-- rest (the prompt): E.parse_words("a=1.5 base=x.gguf Once upon") ->
-- {a="1.5", base="x.gguf"}, "Once upon"
function E.parse_words(args)
  local kv, rest = {}, args or ""
  while true do
    local k, v, r = rest:match("^%s*([%a_][%w_%-]*)=(%S*)%s*(.-)$")
    if not k then break end
    kv[k], rest = v, r
  end
  return kv, (rest:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- A piece made visible for one-line tables: space as "␣", newline "↵",
-- tab "⇥", other control bytes and invalid UTF-8 as \xNN.
function E.visible(piece)
  local s = piece:gsub("[%z\1-\31\127]", function(c)
    if c == " " then return "␣" end
    if c == "\n" then return "↵" end
    if c == "\t" then return "⇥" end
    return fmt("\\x%02X", c:byte())
  end):gsub(" ", "␣")
  if not utf8.len(s) then
    s = s:gsub("[\128-\255]", function(c) return fmt("\\x%02X", c:byte()) end)
  end
  return s
end

-- Cuts a UTF-8 string to at most w characters; pads it to w with spaces
-- when pad.
function E.fit(s, w, pad)
  local n = utf8.len(s) or #s
  if n > w then
    local cut = utf8.offset(s, w + 1)
    s = cut and s:sub(1, cut - 1) or s:sub(1, w)
    n = w
  end
  if pad and n < w then s = s .. string.rep(" ", w - n) end
  return s
end

return E
