-- tasks/water: the Drop Water Puzzle of Zhang et al. 2023: two jugs of
-- capacities a and b litres, both empty; hold exactly c litres in one of
-- them within n steps, each step filling a jug, emptying one, or pouring
-- one into the other until it is empty or the other full. The optimum is
-- the fewest steps (breadth-first brute force); n is the optimum plus one.
-- Difficulty d (1..3): capacities up to 3*d + 4 litres.
local C = assert(lab.require("tasks/common"))
local fmt, concat = string.format, table.concat

local T = {
  name = "water",
  title = "Drop Water Puzzle",
  max_difficulty = 3,
  rules = "Drop Water Puzzle: two jugs A and B with the given capacities start empty. Get exactly the goal amount in one of the jugs within the step limit. A step fills a jug from the tap, empties a jug, or pours one jug into the other until the first is empty or the second is full.",
  step_help = "Write each step as 'fill A', 'fill B', 'empty A', 'empty B', 'pour A into B' or 'pour B into A', then the jugs after it, as 'fill A (A=3, B=0)'.",
  answer_help = "End with the summary line 'Answer: ' and the steps separated by commas, as 'Answer: fill A, pour A into B'.",
  examples = { { a = 3, b = 5, c = 4, n = 7 } },
}

function T.question(inst)
  return fmt("jug A holds %d litres, jug B %d; get %d litres in %d steps or fewer", inst.a, inst.b, inst.c, inst.n)
end

function T.start(inst) return { x = 0, y = 0, steps = {}, actions = {} } end
function T.key(inst, st) return st.x .. "," .. st.y end
function T.done(inst, st) return #st.steps >= inst.n or T.solved(inst, st) end
function T.solved(inst, st) return st.x == inst.c or st.y == inst.c end
function T.state_text(inst, st) return fmt("A=%d, B=%d after %d of %d steps", st.x, st.y, #st.steps, inst.n) end

local ACTIONS = { "fill A", "fill B", "empty A", "empty B", "pour A into B", "pour B into A" }

-- the jugs after an action (a no-op action is legal and changes nothing)
local function act(inst, x, y, action)
  if action == "fill A" then return inst.a, y
  elseif action == "fill B" then return x, inst.b
  elseif action == "empty A" then return 0, y
  elseif action == "empty B" then return x, 0
  elseif action == "pour A into B" then local m = math.min(x, inst.b - y); return x - m, y + m
  elseif action == "pour B into A" then local m = math.min(y, inst.a - x); return x + m, y - m end
end

local function step(inst, st, action)
  local x, y = act(inst, st.x, st.y, action)
  local steps, actions = { table.unpack(st.steps) }, { table.unpack(st.actions) }
  steps[#steps + 1] = fmt("%s (A=%d, B=%d)", action, x, y)
  actions[#actions + 1] = action
  return { x = x, y = y, steps = steps, actions = actions }
end

-- "fill a", "Pour B into A", "pour b a" -> the canonical action, or nil
local function parse_action(s)
  s = s:lower():gsub("^%s+", ""):gsub("%s+$", "")
  local w, j = s:match("^(%a+)%s+([ab])$")
  if w == "fill" or w == "empty" then return w .. " " .. j:upper() end
  local f, t = s:match("^pour%s+([ab])%s+into%s+([ab])$")
  if not f then f, t = s:match("^pour%s+([ab])%s+([ab])$") end
  if f and f ~= t then return "pour " .. f:upper() .. " into " .. t:upper() end
  return nil
end

function T.moves(inst, st)
  if T.done(inst, st) then return {} end
  local out = {}
  for _, a in ipairs(ACTIONS) do
    local x, y = act(inst, st.x, st.y, a)
    if x ~= st.x or y ~= st.y then
      local ns = step(inst, st, a)
      out[#out + 1] = { line = ns.steps[#ns.steps], state = ns }
    end
  end
  return out
end

function T.apply(inst, st, line)
  if #st.steps >= inst.n then return nil, "the step limit is reached" end
  local head = line:match("^%s*([^(,.]-)%s*[(,.]") or line
  local a = parse_action(head)
  if not a then return nil, "not a step: fill, empty or pour a jug" end
  return step(inst, st, a)
end

-- the fewest steps from (x, y) to the goal (nil: never)
local function fewest(inst, x, y)
  local seen, level, d = { [x .. "," .. y] = true }, { { x, y } }, 0
  while #level > 0 do
    local nxt = {}
    for _, s in ipairs(level) do
      if s[1] == inst.c or s[2] == inst.c then return d end
      for _, a in ipairs(ACTIONS) do
        local nx, ny = act(inst, s[1], s[2], a)
        local k = nx .. "," .. ny
        if not seen[k] then seen[k] = true; nxt[#nxt + 1] = { nx, ny } end
      end
    end
    level, d = nxt, d + 1
  end
  return nil
end
T.fewest = fewest

function T.feasible(inst, st)
  local f = fewest(inst, st.x, st.y)
  return f ~= nil and #st.steps + f <= inst.n
end

function T.answer_of(inst, st) return "Answer: " .. concat(st.actions, ", ") end

-- "Answer: action, action, ...": at most n legal actions ending with c
-- litres in a jug.
function T.check(inst, completion)
  local a, err = C.answer(completion)
  if not a then return false, err end
  local x, y, k = 0, 0, 0
  for part in (a .. ","):gmatch("(.-),") do
    local action = parse_action(part)
    if not action then return false, fmt("'%s' is not a step", part) end
    k = k + 1
    if k > inst.n then return false, fmt("more than %d steps", inst.n) end
    x, y = act(inst, x, y, action)
  end
  if x ~= inst.c and y ~= inst.c then return false, fmt("the jugs end with A=%d, B=%d, neither %d", x, y, inst.c) end
  return true
end

function T.make(rng, d)
  local hi = 3 * d + 4
  local a = rng:int(2, hi - 1)
  local b = rng:int(a + 1, hi)
  local c = rng:int(1, b - 1)
  local inst = { a = a, b = b, c = c }
  local f = fewest(inst, 0, 0)
  if not f or f < 2 then return nil end
  inst.optimum, inst.n = f, f + 1
  return inst
end

function T.fill(inst)
  inst.optimum = inst.optimum or fewest(inst, 0, 0)
end

return C.finish(T)
