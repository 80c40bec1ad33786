-- tasks: the puzzle task library (plugins/tasks/*.lua) behind one name.
--
--   local tasks = assert(lab.require("tasks"))
--   local T = tasks.get("numpath")
--   local inst = T.generate(seed, difficulty)   -- solvable, reproducible from seed
--   inst.question, inst.solution                -- texts: the instance, a worked solution
--   T.prompt(inst, "cot")                       -- a prompt per method (docs/plugins.md)
--   T.training_pair(inst)                       -- prompt, completion to train on: "Question: ...\n", inst.solution
--   T.prompt(inst, "tot", nil, { format = "question" })  -- the prompts such a model knows
--   T.check(inst, completion)                   -- true | false, why (parses "Answer: ...")
--
-- The search side of a task (T.start, T.moves, T.apply, T.feasible, ...) is
-- what plugins/tree.lua and plugins/lib/treesearch.lua use.
local M = {}

M.NAMES = { "arith", "water", "numpath", "grass", "game24" }

-- the prompt formats of T.prompt (plugins/tasks/common.lua)
M.FORMATS = { "full", "question" }

local cache = {}

-- the task module of a name, or nil, err
function M.get(name)
  if cache[name] then return cache[name] end
  local known = false
  for _, n in ipairs(M.NAMES) do known = known or n == name end
  if not known then
    return nil, string.format("unknown task '%s' (tasks: %s)", tostring(name), table.concat(M.NAMES, ", "))
  end
  local T = assert(lab.require("tasks/" .. name))
  cache[name] = T
  return T
end

-- every task module, in the order of M.NAMES
function M.all()
  local out = {}
  for i, n in ipairs(M.NAMES) do out[i] = assert(M.get(n)) end
  return out
end

-- one instance of a named task
function M.generate(name, seed, difficulty)
  local T, err = M.get(name)
  if not T then return nil, err end
  return T.generate(seed, difficulty)
end

return M
