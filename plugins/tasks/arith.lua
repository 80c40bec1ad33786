-- tasks/arith: the Arithmetic Puzzle of Zhang et al. 2023 ("Autonomous
-- Tree-search Ability of Large Language Models"): three numbers and a goal
-- N; reach N in two steps, each combining two numbers with + - * /.
-- Difficulty d (1..3): numbers up to 5*d + 4.
local C = assert(lab.require("tasks/common"))
local K = assert(lab.require("tasks/combine"))
local fmt = string.format

local T = {
  name = "arith",
  title = "Arithmetic Puzzle",
  max_difficulty = 3,
  rules = "Arithmetic Puzzle: combine the three given numbers to reach the goal in exactly two steps. Each step takes two of the numbers left, joins them with +, -, * or /, and puts the result back in their place. Every number is used once.",
  step_help = "Write each step as 'A op B = C (left: the numbers left)'.",
  answer_help = "End with the summary line 'Answer: EXPRESSION = GOAL', using each given number once.",
  examples = { { numbers = { 2, 5, 7 }, target = 24 } },
}

function T.question(inst)
  return fmt("numbers %s, goal %d", C.join(inst.numbers, " "), inst.target)
end

-- a random two-step derivation with a positive integer result
function T.make(rng, d)
  local hi = 5 * d + 4
  local nums = { rng:int(1, hi), rng:int(1, hi), rng:int(1, hi) }
  local st = T.start({ numbers = nums, target = 0 })
  for _ = 1, 2 do
    local ms = T.moves({ numbers = nums }, st)
    st = ms[rng:int(1, #ms)].state
  end
  local r = st.nums[1]
  if r.d ~= 1 or r.n < 1 or r.n > 10 * hi then return nil end
  local inst = { numbers = nums, target = r.n }
  if not C.search(T, inst) then return nil end     -- the brute force must agree
  return inst
end

return K.make_task(T)
