-- tasks/grass: the Minimal Grass Puzzle of Zhang et al. 2023: three
-- numbers; write each as a product p*q, add the first factors into X and
-- the second into Y, and make X*Y as small as possible. The optimum comes
-- from trying every factorization (brute force); a solution must reach it.
-- Difficulty d (1..3): numbers from 2 to 8*d + 4.
local C = assert(lab.require("tasks/common"))
local fmt, concat = string.format, table.concat

local T = {
  name = "grass",
  title = "Minimal Grass Puzzle",
  max_difficulty = 3,
  rules = "Minimal Grass Puzzle: write each of the three given numbers as a product of two whole numbers p * q. Add up the first factors into X and the second factors into Y. Choose the products so that X * Y is as small as possible.",
  step_help = "Write each step as 'N = p * q' for the next number N in the given order.",
  answer_help = "End with the summary line 'Answer: N1 = p * q, N2 = p * q, N3 = p * q, X * Y = X * Y = PRODUCT', as 'Answer: 4 = 2 * 2, 6 = 2 * 3, 9 = 3 * 3, X * Y = 7 * 8 = 56'.",
  examples = { { numbers = { 4, 9, 16 } } },
}

function T.question(inst) return fmt("numbers %s", C.join(inst.numbers, " ")) end

function T.start(inst) return { pairs = {}, steps = {} } end
function T.key(inst, st)
  local t = {}
  for i, p in ipairs(st.pairs) do t[i] = p[1] .. "*" .. p[2] end
  return concat(t, ",")
end
function T.done(inst, st) return #st.pairs >= #inst.numbers end
local function xy(st)
  local x, y = 0, 0
  for _, p in ipairs(st.pairs) do x, y = x + p[1], y + p[2] end
  return x, y
end
function T.solved(inst, st)
  if #st.pairs < #inst.numbers then return false end
  local x, y = xy(st)
  return x * y == inst.optimum
end
function T.state_text(inst, st)
  local x, y = xy(st)
  return fmt("%d of %d numbers written, X=%d, Y=%d", #st.pairs, #inst.numbers, x, y)
end

local function step(st, n, p, q)
  local pairs_, steps = { table.unpack(st.pairs) }, { table.unpack(st.steps) }
  pairs_[#pairs_ + 1] = { p, q }
  steps[#steps + 1] = fmt("%d = %d * %d", n, p, q)
  return { pairs = pairs_, steps = steps }
end

function T.moves(inst, st)
  if T.done(inst, st) then return {} end
  local n, out = inst.numbers[#st.pairs + 1], {}
  for p = 1, n do
    if n % p == 0 then
      local ns = step(st, n, p, n // p)
      out[#out + 1] = { line = ns.steps[#ns.steps], state = ns }
    end
  end
  return out
end

function T.apply(inst, st, line)
  if T.done(inst, st) then return nil, "every number is written" end
  local n, p, q = line:match("^%s*(%d+)%s*=%s*(%d+)%s*[%*x×]%s*(%d+)")
  if not n then return nil, "not a step 'N = p * q'" end
  n, p, q = math.tointeger(tonumber(n)), math.tointeger(tonumber(p)), math.tointeger(tonumber(q))
  local want = inst.numbers[#st.pairs + 1]
  if n ~= want then return nil, fmt("the next number is %d, not %d", want, n) end
  if p * q ~= n then return nil, fmt("%d * %d is not %d", p, q, n) end
  return step(st, n, p, q)
end

-- the smallest X*Y over every completion of a state
local function best(inst, st)
  if T.done(inst, st) then local x, y = xy(st); return x * y end
  local b
  for _, m in ipairs(T.moves(inst, st)) do
    local v = best(inst, m.state)
    if not b or v < b then b = v end
  end
  return b
end
function T.feasible(inst, st) return best(inst, st) == inst.optimum end

function T.answer_of(inst, st)
  local t = {}
  for i, p in ipairs(st.pairs) do t[i] = fmt("%d = %d * %d", inst.numbers[i], p[1], p[2]) end
  local x, y = xy(st)
  return fmt("Answer: %s, X * Y = %d * %d = %d", concat(t, ", "), x, y, x * y)
end

-- "Answer: N = p * q, N = p * q, N = p * q, X * Y = x * y = P": the given
-- numbers (any order) as true products whose X*Y is the optimum, and the
-- stated X, Y and P are the ones these give.
function T.check(inst, completion)
  local a, err = C.answer(completion)
  if not a then return false, err end
  local body, sx, sy, sp = a:match("^(.-),?%s*X%s*[%*x×]%s*Y%s*=%s*(%d+)%s*[%*x×]%s*(%d+)%s*=%s*(%d+)%s*$")
  if not body then return false, "the summary line does not end with 'X * Y = x * y = product'" end
  local ns, x, y = {}, 0, 0
  for part in (body .. ","):gmatch("(.-),") do
    if part:match("%S") then
      local n, p, q = part:match("^%s*(%d+)%s*=%s*(%d+)%s*[%*x×]%s*(%d+)%s*$")
      if not n then return false, fmt("'%s' is not 'N = p * q'", part) end
      n, p, q = math.tointeger(tonumber(n)), math.tointeger(tonumber(p)), math.tointeger(tonumber(q))
      if p * q ~= n then return false, fmt("%d * %d is not %d", p, q, n) end
      ns[#ns + 1] = n
      x, y = x + p, y + q
    end
  end
  if not C.same_multiset(ns, inst.numbers) then
    return false, fmt("the products are of %s, not each of %s once", C.join(ns, ","), C.join(inst.numbers, ","))
  end
  if tonumber(sx) ~= x or tonumber(sy) ~= y or tonumber(sp) ~= x * y then
    return false, fmt("the products give X * Y = %d * %d = %d", x, y, x * y)
  end
  if x * y ~= inst.optimum then return false, fmt("X * Y = %d is not the smallest, %d", x * y, inst.optimum) end
  return true
end

function T.fill(inst) inst.optimum = inst.optimum or best(inst, T.start(inst)) end

function T.make(rng, d)
  local hi = 8 * d + 4
  local inst = { numbers = { rng:int(2, hi), rng:int(2, hi), rng:int(2, hi) } }
  T.fill(inst)
  return inst
end

return C.finish(T)
