-- treemodel: the model calls of tree search (plugins/tree.lua), behind a
-- few functions so that the search code never touches the engine itself and
-- each call can move to a better primitive when the lab API grows one.
--
--   local TM = assert(lab.require("treemodel"))
--   local lm = TM.new(model)
--   local h = lm:root("prompt text")          -- a handle: a Seq and its cells
--   local kids = lm:fork(h, 3)                -- three forks sharing h's cells
--   lm:append(k, "Step 1:")                   -- pending until evaluated
--   local r = lm:generate(kids, { max_tokens = 32, sampler = s, stop = TM.at_newline })
--   local p = lm:probe(kids, { " sure", " impossible" })
--   lm:close(h)
--
-- Accounting, exact by construction (lm.stats):
--   generated   tokens sampled                 evaluated  tokens put in the KV cache
--   steps       engine steps (one lab.eval_batch each, however many sequences)
--   cells       KV cells held now              peak_cells the most held at once
--   seqs        sequences held now             peak_seqs
-- Cells: a handle holds the segments of tokens it shares with the handles
-- it was forked from and its own since; a segment's cells count once while
-- any handle holding it is open (the engine's fork shares them the same way).
-- Every fork first evaluates the parent's pending tokens (in one step for a
-- batch of parents, lm:flush), so no pending token is evaluated twice.
local TM = {}
local LM = {}
LM.__index = LM

function TM.new(model, opts)
  opts = opts or {}
  local info = model:info()
  local ends = {}   -- the model's end tokens (lab.model.open, run --end-tokens) end a branch as EOS does
  for _, id in ipairs(info.end_tokens or {}) do ends[id] = true end
  return setmetatable({
    model = model, eos = info.eos, eot = info.eot, ends = ends,
    stats = { generated = 0, evaluated = 0, steps = 0, cells = 0, peak_cells = 0, seqs = 0, peak_seqs = 0 },
    on_step = opts.on_step,
  }, LM)
end

local function seg_new() return { cells = 0, refs = 1 } end

function LM:_held(h)
  self.stats.seqs = self.stats.seqs + 1
  if self.stats.seqs > self.stats.peak_seqs then self.stats.peak_seqs = self.stats.seqs end
  return h
end

-- A new handle over the tokenized text (pending, evaluated by the first
-- step that needs it). nil, err when no sequence slot is free.
function LM:root(text)
  local seq, err = self.model:seq(text)
  if not seq then return nil, err end
  local own = seg_new()
  return self:_held({ seq = seq, segs = { own }, own = own, pending_n = #seq })
end

-- Evaluates the pending tokens of handles in one engine step (nothing when
-- none is pending). true | nil, err
function LM:flush(hs)
  local seqs, n = {}, 0
  for _, h in ipairs(hs) do
    local p = h.seq:pending()
    if p > 0 then seqs[#seqs + 1] = h; n = n + p end
  end
  if #seqs == 0 then return true end
  local list = {}
  for i, h in ipairs(seqs) do list[i] = h.seq end
  local rows, err = lab.eval_batch(list)
  if not rows then return nil, err end
  self:_account(seqs)
  return true, rows
end

-- after a step over handles whose pending tokens are now in the cache
function LM:_account(hs)
  local st = self.stats
  st.steps = st.steps + 1
  for _, h in ipairs(hs) do
    local n = h.pending_n or 0
    h.pending_n = 0
    h.own.cells = h.own.cells + n
    st.evaluated = st.evaluated + n
    st.cells = st.cells + n
  end
  if st.cells > st.peak_cells then st.peak_cells = st.cells end
  if self.on_step then self.on_step(st) end
end

-- n forks of h (after evaluating h's pending tokens). A list of handles, or
-- nil, err.
function LM:fork(h, n)
  local ok, err = self:flush({ h })
  if not ok then return nil, err end
  local out = {}
  -- h's tokens so far become a shared segment; h and its forks each start a
  -- segment of their own
  h.own = seg_new()
  h.segs[#h.segs + 1] = h.own
  for i = 1, n or 1 do
    local s
    s, err = h.seq:fork()
    if not s then
      for _, k in ipairs(out) do self:close(k) end
      return nil, err
    end
    local segs = {}
    for j = 1, #h.segs - 1 do segs[j] = h.segs[j]; h.segs[j].refs = h.segs[j].refs + 1 end
    local own = seg_new()
    segs[#segs + 1] = own
    out[i] = self:_held({ seq = s, segs = segs, own = own })
  end
  return out
end

-- Appends text (tokenized without BOS) or ids; pending until a step.
function LM:append(h, what)
  local before = #h.seq
  h.seq:append(what)
  h.pending_n = (h.pending_n or 0) + (#h.seq - before)
  return h
end

-- Gives the handle's sequence back; its segments' cells are freed when no
-- other open handle holds them.
function LM:close(h)
  if h.closed then return end
  h.closed = true
  for _, sg in ipairs(h.segs) do
    sg.refs = sg.refs - 1
    if sg.refs == 0 then self.stats.cells = self.stats.cells - sg.cells end
  end
  self.stats.seqs = self.stats.seqs - 1
  h.seq:close()
end

-- A stop test: the text so far holds a newline (a step boundary).
function TM.at_newline(text) return text:find("\n", 1, true) ~= nil end

-- A stop test for a whole solution: a complete "Answer:" line.
function TM.at_answer(text) return text:find("[Aa]nswer%s*:[^\n]*\n") ~= nil end

-- lm:generate(hs, {max_tokens=, sampler=, stop=fn(text)}) -> results | nil, err
-- Samples continuations of every handle together: one engine step per
-- token for all handles still running. Each result: {text=, tokens={ids},
-- n=, logprob= (sum of the sampled tokens' log-probabilities under the raw
-- distribution), reason = "stop" | "eos" | "length"}. The sampled tokens are
-- appended to the handles (the last one stays pending).
function LM:generate(hs, o)
  local max = o.max_tokens or 64
  local sampler = o.sampler or lab.sampler{ temp = 0 }
  local stop = o.stop
  local res, active = {}, {}
  for i, h in ipairs(hs) do
    assert(h.seq:pending() > 0, "generate needs pending tokens on every handle (append a prompt first)")
    res[i] = { text = "", tokens = {}, n = 0, logprob = 0, reason = "length" }
    if max > 0 then active[#active + 1] = i end
  end
  while #active > 0 do
    local list, hl = {}, {}
    for j, i in ipairs(active) do list[j] = hs[i].seq; hl[j] = hs[i] end
    local rows, err = lab.eval_batch(list)
    if not rows then return nil, err end
    self:_account(hl)
    local still = {}
    for j, i in ipairs(active) do
      local l, r = rows[j], res[i]
      local tok = sampler:pick(l)
      if tok == self.eos or (self.eot and tok == self.eot) or self.ends[tok] then
        r.reason = "eos"
      else
        r.n = r.n + 1
        r.tokens[r.n] = tok
        r.logprob = r.logprob + l:logprob(tok)
        r.text = r.text .. self.model:piece(tok)
        self.stats.generated = self.stats.generated + 1
        self:append(hs[i], tok)
        if stop and stop(r.text) then r.reason = "stop"
        elseif r.n < max then still[#still + 1] = i end
      end
    end
    active = still
  end
  return res
end

-- lm:probe(hs, words) -> for each handle a table {[word] = probability of
-- the word's first token} after its pending tokens (one engine step).
function LM:probe(hs, words)
  local ids = {}
  for i, w in ipairs(words) do
    local t = self.model:tokenize(w, { bos = false })
    ids[i] = t and t[1]
  end
  for _, h in ipairs(hs) do assert(h.seq:pending() > 0, "probe needs pending tokens on every handle") end
  local ok, rows = self:flush(hs)
  if not ok then return nil, rows end
  local out = {}
  for i = 1, #hs do
    local p = {}
    for j, w in ipairs(words) do p[w] = ids[j] and rows[i]:prob(ids[j]) or 0 end
    out[i] = p
  end
  return out
end

return TM
