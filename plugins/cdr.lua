-- cdr: density-ratio reward scoring (Xu et al., 2024, "CDR: Customizable
-- Density Ratios of Strong-over-weak LLMs for Preference Annotation",
-- arXiv:2411.02481). The reward of a response y to a prompt x is
--     r(x, y) = log p_strong(y | x) - log p_weak(y | x)
-- with a better-aligned (strong) and a less aligned (weak) model; ranking
-- candidate responses by it annotates preferences without a reward model.
-- Each model reads the prompt through its own chat template when it has
-- one (raw otherwise; a raw prompt and the candidate are tokenized as one
-- text, so a candidate brings its own leading space). --norm mean divides each log-probability by the
-- candidate's token count under that model (a length-normalised variant).
--
--   logitlab run plugins/cdr.lua --strong S --weak W -p PROMPT CANDIDATE... [--json]
--   logitlab run -w WS plugins/cdr.lua --strong S --weak W -p PROMPT --candidates FILE
--   TUI: :cdr strong=S weak=W PROMPT | CANDIDATE | CANDIDATE ...   and the "cdr" pane
local E = assert(lab.require("ensemble"))
local fmt, concat = string.format, table.concat

local ROLES = { { name = "strong", format = "auto" }, { name = "weak", format = "auto" } }

-- log p(cand | prompt) under role i: {logprob=, n=, logprobs=} | nil, err
-- (ens:score, plugins/lib/ensemble.lua, shared with the bestofn cdr scorer)
local function score(ens, i, prompt, cand, system)
  return ens:score(i, prompt, cand, { system = system })
end

-- Scores every candidate; returns them best first:
-- { {index=, text=, reward=, logp_strong=, logp_weak=, n_strong=, n_weak=, rank=}, ... }
local function rank(ens, prompt, cands, o)
  local out = {}
  for k, c in ipairs(cands) do
    local s, err = score(ens, 1, prompt, c, o.system)
    if not s then return nil, fmt("candidate %d, strong model: %s", k, err) end
    local w
    w, err = score(ens, 2, prompt, c, o.system)
    if not w then return nil, fmt("candidate %d, weak model: %s", k, err) end
    local ls, lw = s.logprob, w.logprob
    if o.norm == "mean" then ls, lw = ls / s.n, lw / w.n end
    out[k] = { index = k, text = c, reward = ls - lw, logp_strong = s.logprob, logp_weak = w.logprob,
               n_strong = s.n, n_weak = w.n,
               tokens = s.tokens, per_token = s.n == w.n and s.logprobs or nil,
               per_token_weak = s.n == w.n and w.logprobs or nil }
  end
  table.sort(out, function(a, b)
    if a.reward ~= b.reward then return a.reward > b.reward end
    return a.index < b.index
  end)
  for r, c in ipairs(out) do c.rank = r end
  return out
end

local function record(ens, prompt, ranked, o)
  local params = { strong = ens.roles[1].path, weak = ens.roles[2].path, prompt = prompt, norm = o.norm,
                   system = o.system, n_candidates = #ranked }
  local rec, why = E.record_begin("cdr", params, nil, ens:models())
  if not rec then return nil, why end
  for _, c in ipairs(ranked) do
    rec:put("candidate", { rank = c.rank, index = c.index, text = c.text, reward = c.reward,
                           logp_strong = c.logp_strong, logp_weak = c.logp_weak,
                           n_strong = c.n_strong, n_weak = c.n_weak })
  end
  if ranked[1] then rec:metric("best_reward", ranked[1].reward) end
  rec:finish("ok")
  return rec
end

local function check_norm(norm)
  if norm ~= "sum" and norm ~= "mean" then error("--norm must be sum or mean, got '" .. tostring(norm) .. "'", 0) end
end

-- ---- headless ---------------------------------------------------------------

local SPEC = {
  { "strong", "string", "MODEL", "the better-aligned model" },
  { "weak", "string", "MODEL", "the less aligned model" },
  { "prompt", "string", "TEXT", "the prompt x", short = "p" },
  { "candidates", "string", "FILE", "candidates from a workspace file: a JSON list of strings, or one per line" },
  { "norm", "string", "sum|mean", "sum of log-probabilities, or the mean per token", default = "sum" },
  { "system", "string", "TEXT", "system message for models with a chat template" },
  { "json", "flag", nil, "one JSON object per candidate, best first" },
  { "no-record", "flag", nil, "do not record the run in the workspace" },
  { "help", "flag", nil, "show this help", short = "h" },
}

local function main(argv)
  local o, rest = E.parse_args(argv, SPEC)
  local usage = E.usage("usage: logitlab run plugins/cdr.lua --strong S --weak W -p PROMPT CANDIDATE... " ..
    "(ranks the candidates by log p_strong - log p_weak)", SPEC)
  if not o then error(rest .. "\n" .. usage, 0) end
  if o.help then lab.print(usage); return end
  if not o.strong or not o.weak then error("missing --strong or --weak\n" .. usage, 0) end
  check_norm(o.norm)
  local cands = rest
  if o.candidates then
    local text, err = lab.fs.read(o.candidates)
    if not text then error(err, 0) end
    local list = text:match("^%s*%[") and lab.json.decode(text)
    if list then cands = list else
      cands = {}
      for line in text:gmatch("[^\n]+") do cands[#cands + 1] = line end
    end
  end
  if #cands == 0 then error("no candidates: give them after the options or with --candidates FILE\n" .. usage, 0) end
  lab.budget{ seconds = 0 }
  local ens, err = E.open({ { name = "strong", path = o.strong, format = "auto" },
                            { name = "weak", path = o.weak, format = "auto" } }, { any_vocab = true })
  if not ens then error(err, 0) end
  local ranked
  ranked, err = rank(ens, o.prompt or "", cands, o)
  if not ranked then error(err, 0) end
  local rec = not o["no-record"] and record(ens, o.prompt or "", ranked, o)
  for _, c in ipairs(ranked) do
    if o.json then
      lab.print(lab.json.encode{ type = "candidate", rank = c.rank, index = c.index, reward = c.reward,
        logp_strong = c.logp_strong, logp_weak = c.logp_weak, n_strong = c.n_strong, n_weak = c.n_weak,
        text = c.text, run = rec and rec.id or lab.json.null })
    else
      lab.print(fmt("%2d  %+9.4f  strong %9.4f  weak %9.4f  #%d  %s", c.rank, c.reward, c.logp_strong,
        c.logp_weak, c.index, c.text))
    end
  end
  return ranked
end

if type(rawget(_G, "arg")) == "table" then return main({ ... }) end

-- ---- the TUI ---------------------------------------------------------------------

local S = { paths = {}, norm = "sum", ranked = nil, sel = 1, msg = "", prompt = "" }

local function say(text)
  S.msg = text
  lab.print("cdr: " .. text)
  lab.ui.redraw()
end

local HELP = "usage: :cdr strong=MODEL weak=MODEL [norm=sum|mean] PROMPT | CANDIDATE | CANDIDATE ..."

local function command(args)
  local kv, rest = E.parse_words(args)
  for k in pairs(kv) do
    if k ~= "strong" and k ~= "weak" and k ~= "norm" and k ~= "system" then return say("unknown setting " .. k .. "; " .. HELP) end
  end
  if kv.norm then
    if kv.norm ~= "sum" and kv.norm ~= "mean" then return say("norm must be sum or mean") end
    S.norm = kv.norm
  end
  if kv.system then S.system = kv.system end
  local reopen = false
  for _, r in ipairs(ROLES) do
    if kv[r.name] and kv[r.name] ~= S.paths[r.name] then S.paths[r.name], reopen = kv[r.name], true end
  end
  -- PROMPT | CAND | CAND: trimmed; a candidate that starts with a letter or
  -- digit continues the prompt after a space (" there was")
  local parts = {}
  for p in (rest .. "|"):gmatch("(.-)|") do
    p = p:gsub("^%s+", ""):gsub("%s+$", "")
    if #parts > 0 and p:match("^%w") then p = " " .. p end
    parts[#parts + 1] = p
  end
  if #parts < 2 then return say(HELP) end
  if reopen or not S.ens then
    if not S.paths.strong or not S.paths.weak then return say(HELP) end
    local ens, err = E.long(E.open, { { name = "strong", path = S.paths.strong, format = "auto" },
                                      { name = "weak", path = S.paths.weak, format = "auto" } }, { any_vocab = true })
    if not ens then return say(err) end
    if S.ens then S.ens:close() end
    S.ens = ens
  end
  S.prompt = table.remove(parts, 1)
  S.msg = fmt("scoring %d candidates", #parts)
  lab.ui.redraw()
  local ranked, err = rank(S.ens, S.prompt, parts, { norm = S.norm, system = S.system })
  if not ranked then return say(err) end
  S.ranked, S.sel = ranked, 1
  local rec, why = E.long(record, S.ens, S.prompt, ranked, { norm = S.norm, system = S.system })
  local hint = S.pane and lab.ui.pane_hint(S.pane)     -- the ranking's pane (no focus moves there)
  say(fmt("best: #%d (reward %+.3f); %s%s", ranked[1].index, ranked[1].reward,
    rec and ("run " .. rec.id) or ("not recorded: " .. tostring(why)), hint and (": " .. hint) or ""))
end

local function draw(w, h)
  if not S.ranked then return { "density-ratio reward (CDR)", "", HELP, "", S.msg } end
  local out = { E.fit(fmt("cdr %s | prompt %q | %s", S.norm, S.prompt, S.msg), w),
                E.fit(" rank    reward    strong      weak  candidate", w) }
  for _, c in ipairs(S.ranked) do
    out[#out + 1] = E.fit(fmt("%s%3d  %+9.3f %9.3f %9.3f  %s", c.rank == S.sel and ">" or " ", c.rank, c.reward,
      c.logp_strong, c.logp_weak, E.visible(c.text)), w)
  end
  local c = S.ranked[S.sel]
  if c and c.per_token and #out < h then
    local m = S.ens.roles[1].model
    local cells = {}
    for i, lp in ipairs(c.per_token) do
      cells[#cells + 1] = fmt("%s %+.2f", E.visible(m:piece(c.tokens[i], false)), lp - c.per_token_weak[i])
    end
    out[#out + 1] = ""
    out[#out + 1] = E.fit("per token log-ratio: " .. concat(cells, "  "), w)
  end
  return out
end

local function on_key(key)
  if not S.ranked then return false end
  if key == "Down" or key == "j" then S.sel = math.min(S.sel + 1, #S.ranked); return "redraw" end
  if key == "Up" or key == "k" then S.sel = math.max(S.sel - 1, 1); return "redraw" end
  return false
end

return {
  name = "cdr",
  api_level = 1,
  description = "density-ratio reward: rank responses by log p_strong - log p_weak (docs/plugins.md)",
  state = S,
  on_load = function()
    lab.ui.command_add("cdr", "rank candidates by log p_strong - log p_weak: " .. HELP, command)
    S.pane = lab.ui.pane_add("cdr", { on_draw = draw, on_key = on_key })
    lab.ui.status_add("cdr", function()
      return S.ranked and fmt("cdr best #%d %+.2f", S.ranked[1].index, S.ranked[1].reward) or ""
    end)
  end,
  on_unload = function() if S.ens then S.ens:close() end end,
}
