-- tasks/game24: the Game of 24 of Yao et al. 2023 ("Tree of Thoughts"):
-- four numbers from 1 to 13; reach 24 with + - * / using each number once
-- (fractions allowed on the way, 5 * (5 - 1/5) counts).
-- Difficulty d (1..3) by how many derivations (T.count_solutions) reach
-- 24: d = 1 at least 40, d = 2 from 10 to 39, d = 3 at most 9.
local C = assert(lab.require("tasks/common"))
local K = assert(lab.require("tasks/combine"))
local fmt = string.format

local T = {
  name = "game24",
  title = "Game of 24",
  max_difficulty = 3,
  rules = "Game of 24: combine the four given numbers to reach 24 in three steps. Each step takes two of the numbers left, joins them with +, -, * or /, and puts the result back in their place. Every number is used once; fractions are allowed on the way.",
  step_help = "Write each step as 'A op B = C (left: the numbers left)'.",
  answer_help = "End with the summary line 'Answer: EXPRESSION = 24', using each given number once.",
  examples = { { numbers = { 4, 4, 6, 8 }, target = 24 } },
}

function T.question(inst) return fmt("numbers %s, goal %d", C.join(inst.numbers, " "), inst.target) end

-- How many derivations reach the target: at each step an unordered pair of
-- the numbers left and one of the six operations (a+b, a*b, a-b, b-a, a/b,
-- b/a; division by zero skipped). Plain integer pairs, no tables per step:
-- this runs for every draw of the generator.
local function gcd(a, b)
  a, b = math.abs(a), math.abs(b)
  while b ~= 0 do a, b = b, a % b end
  return a
end
local function count(ns, ds, k, target)
  if k == 1 then return (ds[1] == 1 and ns[1] == target) and 1 or 0 end
  local total = 0
  for i = 1, k - 1 do
    for j = i + 1, k do
      local an, ad, bn, bd = ns[i], ds[i], ns[j], ds[j]
      -- the others move down; the result goes to slot k - 1
      local rn, rd = {}, {}
      local m = 0
      for t = 1, k do if t ~= i and t ~= j then m = m + 1; rn[m], rd[m] = ns[t], ds[t] end end
      for op = 1, 6 do
        local n, d
        if op == 1 then n, d = an * bd + bn * ad, ad * bd
        elseif op == 2 then n, d = an * bn, ad * bd
        elseif op == 3 then n, d = an * bd - bn * ad, ad * bd
        elseif op == 4 then n, d = bn * ad - an * bd, ad * bd
        elseif op == 5 then n, d = an * bd, ad * bn
        else n, d = bn * ad, bd * an end
        if d ~= 0 then
          if d < 0 then n, d = -n, -d end
          local g = gcd(n, d)
          if g > 1 then n, d = n // g, d // g end
          rn[m + 1], rd[m + 1] = n, d
          total = total + count(rn, rd, m + 1, target)
        end
      end
    end
  end
  return total
end
T.count_solutions = function(inst)
  local ds = {}
  for i = 1, #inst.numbers do ds[i] = 1 end
  return count({ table.unpack(inst.numbers) }, ds, #inst.numbers, inst.target)
end

function T.make(rng, d)
  local inst = { numbers = { rng:int(1, 13), rng:int(1, 13), rng:int(1, 13), rng:int(1, 13) }, target = 24 }
  table.sort(inst.numbers)
  local n = T.count_solutions(inst)
  if n == 0 then return nil end
  if (d == 1 and n < 40) or (d == 2 and (n < 10 or n > 39)) or (d == 3 and n > 9) then return nil end
  inst.n_solutions = n
  return inst
end

return K.make_task(T)
