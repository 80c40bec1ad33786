-- proxy: proxy-tuning (Liu et al., 2024, "Tuning Language Models by Proxy").
-- At each step the next token is drawn from
--     softmax(s_base + a * (s_expert - s_anti))
-- where base is a large untuned model, expert a small tuned model and anti
-- the same small model untuned (a = 1 in the paper; it sweeps 0.2..2.0).
-- The expert reads the prompt through its chat template (when it has one),
-- base and anti read it raw; every chosen token is appended to all three.
-- A longer expert vocabulary is trimmed to the base's (the paper's code).
--
--   logitlab run plugins/proxy.lua --base B --expert E --anti A -p TEXT [-a 1] [-n 64] [--json]
--   TUI: :proxy base=B expert=E anti=A a=1 TEXT   and the "proxy" pane
-- docs/plugins.md has the details and what is recorded.
local W = assert(lab.require("workbench"))

local cfg = {
  name = "proxy",
  title = "proxy tuning",
  mix_name = "combined",
  roles = {
    { name = "base", format = "raw", help = "the large base model M" },
    { name = "expert", format = "auto", longer = true, help = "the small tuned expert M+ (its chat template is used)" },
    { name = "anti", format = "raw", help = "the small untuned anti-expert M-" },
  },
  params = {
    { name = "a", short = "a", metavar = "A", default = 1.0, step = 0.1, up = "+", down = "-",
      help = "strength of the expert's offset" },
  },
  -- s_base + a * (s_expert - s_anti), cut to the base vocabulary
  mix = function(rows, p)
    return assert(lab.logits.combine({ { rows[1], 1 }, { rows[2], p.a, rows[3] } }, { trim = true }))
  end,
}

if W.is_script() then return W.main(cfg, { ... }) end
return W.plugin(cfg)
