-- contrastive: contrastive decoding (Li et al., 2023, "Contrastive Decoding:
-- Open-ended Text Generation as Optimization"). A strong ("expert") and a
-- weak ("amateur") model of one vocabulary; the next token maximises
--     log p_strong(x) - log p_weak(x) / tau     over x in V_head,
--     V_head = { x : p_strong(x) >= alpha * max_w p_strong(w) }
-- (the plausibility cut-off; alpha = 0.1 in the paper; tau the amateur's
-- temperature, 1 = the plain difference). Greedy by default (--temp 0), as
-- the paper searches; the sampler chain applies to the contrastive scores.
--
--   logitlab run plugins/contrastive.lua --strong S --weak W -p TEXT [--alpha 0.1] [--tau 1] [--json]
--   TUI: :contrastive strong=S weak=W alpha=0.1 TEXT   and the "contrastive" pane
local W = assert(lab.require("workbench"))

-- The ids of V_head: every token whose strong logit is within log(alpha) of
-- the best (top-k grows until it holds them all).
local function head(row, alpha)
  if alpha <= 0 then return nil end
  local k, n = 16, #row
  while true do
    local top = row:top(k)
    local cut = top[1].logit + math.log(math.min(alpha, 1))
    if top[#top].logit < cut or k >= n then
      local ids = {}
      for _, t in ipairs(top) do
        if t.logit >= cut then ids[#ids + 1] = t.id end
      end
      return ids
    end
    k = math.min(k * 4, n)
  end
end

local cfg = {
  name = "contrastive",
  title = "contrastive decoding",
  mix_name = "cd",
  roles = {
    { name = "strong", format = "raw", help = "the strong (expert) model" },
    { name = "weak", format = "raw", longer = true, help = "the weak (amateur) model" },
  },
  params = {
    { name = "alpha", metavar = "A", default = 0.1, step = 0.05, up = "+", down = "-", min = 0,
      help = "plausibility cut-off: keep tokens with p_strong >= alpha * max p_strong" },
    { name = "tau", metavar = "T", default = 1.0, step = 0.1, up = ">", down = "<", min = 0.1,
      help = "temperature of the weak model" },
  },
  mix = function(rows, p)
    local cd = assert(lab.logits.combine({ { rows[1], 1 }, { rows[2], -1 / p.tau } }, { trim = true }))
    local ids = head(rows[1], p.alpha)
    if not ids then return cd, { n_head = #cd } end
    return cd:keep(ids), { n_head = #ids }
  end,
}

if W.is_script() then return W.main(cfg, { ... }) end
return W.plugin(cfg)
