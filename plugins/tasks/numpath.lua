-- tasks/numpath: the Number Path Puzzle of Zhang et al. 2023: from x reach
-- y in exactly n operations, each x -> 2x or x -> x+1.
-- Difficulty d (1..5): n = d + 1 operations, x from 1 to 2*d + 3.
local C = assert(lab.require("tasks/common"))
local fmt, concat = string.format, table.concat

local T = {
  name = "numpath",
  title = "Number Path Puzzle",
  max_difficulty = 5,
  rules = "Number Path Puzzle: start from the first number and reach the second in exactly the given number of operations. Each operation either doubles the current number or adds one to it.",
  step_help = "Write each step as 'A * 2 = B' or 'A + 1 = B', where A is the current number.",
  answer_help = "End with the summary line 'Answer: x -> ... -> y', every number along the way.",
  examples = { { x = 3, y = 14, n = 3 } },
}

function T.question(inst) return fmt("from %d reach %d in exactly %d operations", inst.x, inst.y, inst.n) end

function T.start(inst) return { v = inst.x, path = { inst.x }, steps = {} } end
function T.key(inst, st) return st.v .. ":" .. #st.steps end
function T.done(inst, st) return #st.steps >= inst.n end
function T.solved(inst, st) return #st.steps == inst.n and st.v == inst.y end
function T.state_text(inst, st) return fmt("at %d after %d of %d operations", st.v, #st.steps, inst.n) end

local function step(st, op, line)
  local v = op == "*" and st.v * 2 or st.v + 1
  local path, steps = { table.unpack(st.path) }, { table.unpack(st.steps) }
  path[#path + 1] = v
  steps[#steps + 1] = line or (op == "*" and fmt("%d * 2 = %d", st.v, v) or fmt("%d + 1 = %d", st.v, v))
  return { v = v, path = path, steps = steps }
end

function T.moves(inst, st)
  if T.done(inst, st) then return {} end
  local a, b = step(st, "*"), step(st, "+")
  return { { line = a.steps[#a.steps], state = a }, { line = b.steps[#b.steps], state = b } }
end

function T.apply(inst, st, line)
  if T.done(inst, st) then return nil, "all operations are used" end
  local a, op, k, b = line:match("^%s*(%d+)%s*([%*%+x×])%s*(%d+)%s*=%s*(%d+)")
  if not a then return nil, "not a step 'A * 2 = B' or 'A + 1 = B'" end
  a, k, b = math.tointeger(tonumber(a)), math.tointeger(tonumber(k)), math.tointeger(tonumber(b))
  if a ~= st.v then return nil, fmt("the current number is %d, not %d", st.v, a) end
  op = op == "+" and "+" or "*"
  if (op == "+" and k ~= 1) or (op == "*" and k ~= 2) then return nil, "only * 2 and + 1 are allowed" end
  local ns = step(st, op, fmt("%d %s %d = %d", a, op, k, b))
  if ns.v ~= b then return nil, fmt("%d %s %d is %d, not %d", a, op, k, ns.v, b) end
  return ns
end

-- can v reach y in exactly r operations (both only grow)
local function reach(v, r, y)
  if v > y then return false end
  if r == 0 then return v == y end
  return reach(v * 2, r - 1, y) or reach(v + 1, r - 1, y)
end
function T.feasible(inst, st) return reach(st.v, inst.n - #st.steps, inst.y) end

function T.answer_of(inst, st) return "Answer: " .. C.join(st.path, " -> ") end

-- "Answer: x -> a -> ... -> y": n arrows, each an allowed operation.
function T.check(inst, completion)
  local a, err = C.answer(completion)
  if not a then return false, err end
  local nums = {}
  for part in (a .. "->"):gmatch("(.-)%->") do
    local v = part:match("^%s*(%d+)%s*$")
    if not v then return false, fmt("'%s' is not a number in the path", part) end
    nums[#nums + 1] = math.tointeger(tonumber(v))
  end
  if #nums - 1 ~= inst.n then return false, fmt("%d operations, not %d", #nums - 1, inst.n) end
  if nums[1] ~= inst.x then return false, fmt("the path starts at %d, not %d", nums[1], inst.x) end
  if nums[#nums] ~= inst.y then return false, fmt("the path ends at %d, not %d", nums[#nums], inst.y) end
  for i = 2, #nums do
    if nums[i] ~= nums[i - 1] * 2 and nums[i] ~= nums[i - 1] + 1 then
      return false, fmt("%d -> %d is neither * 2 nor + 1", nums[i - 1], nums[i])
    end
  end
  return true
end

function T.make(rng, d)
  local inst = { x = rng:int(1, 2 * d + 3), n = d + 1 }
  local v = inst.x
  for _ = 1, inst.n do v = rng:int(0, 1) == 0 and v * 2 or v + 1 end
  inst.y = v
  if not C.search(T, inst) then return nil end
  return inst
end

return C.finish(T)
