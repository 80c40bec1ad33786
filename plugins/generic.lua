-- generic: the "generic prediction" of Eldan & Russinovich (2023), "Who's
-- Harry Potter? Approximate Unlearning in LLMs". A baseline model and a
-- reinforced one (trained further on the text to forget); wherever the
-- reinforced model is more confident, the baseline's logit is pushed down:
--     v_generic = v_baseline - a * ReLU(v_reinforced - v_baseline)
-- The paper uses these as fine-tuning targets; here one decodes from them
-- directly, to see which tokens the offset removes.
--
--   logitlab run plugins/generic.lua --baseline B --reinforced R -p TEXT [-a 1] [--json]
--   TUI: :generic baseline=B reinforced=R a=1 TEXT   and the "generic" pane
local W = assert(lab.require("workbench"))

local cfg = {
  name = "generic",
  title = "generic prediction (Who's Harry Potter)",
  mix_name = "generic",
  roles = {
    { name = "baseline", format = "raw", help = "the baseline model" },
    { name = "reinforced", format = "raw", longer = true, help = "the reinforced model" },
  },
  params = {
    { name = "a", short = "a", metavar = "A", default = 1.0, step = 0.1, up = "+", down = "-",
      help = "strength of the ReLU offset" },
  },
  mix = function(rows, p)
    return assert(lab.logits.combine({ { rows[1], 1 }, { rows[2], -p.a, rows[1], relu = true } }, { trim = true }))
  end,
}

if W.is_script() then return W.main(cfg, { ... }) end
return W.plugin(cfg)
