-- tasks/combine: the puzzles where each step combines two of the numbers
-- left with + - * / into one (exact rationals, no division by zero) until
-- one number is left, which must equal the target: the Arithmetic Puzzle
-- (three numbers, two steps) and the Game of 24 (four numbers, three
-- steps). C.make_task(def) builds either from its texts and generator.
--
-- A state is { nums = {rationals}, exprs = {text of each}, steps = {lines} };
-- a step is written "A op B = C (left: ...)" as in Yao et al.'s Game of 24.
local C = assert(lab.require("tasks/common"))
local fmt, concat = string.format, table.concat
local K = {}

-- The numbers left, in the order kept (the new one last).
local function left_text(nums)
  local t = {}
  for i, v in ipairs(nums) do t[i] = C.qstr(v) end
  return concat(t, " ")
end

local function paren(e) if e:find("[%+%-%*/]") then return "(" .. e .. ")" end return e end

-- the six ways to combine a and b (b - a and b / a included)
local function combos(a, b)
  return {
    { a, "+", b, C.qadd(a, b) }, { a, "*", b, C.qmul(a, b) },
    { a, "-", b, C.qsub(a, b) }, { b, "-", a, C.qsub(b, a) },
    { a, "/", b, C.qdiv(a, b) }, { b, "/", a, C.qdiv(b, a) },
  }
end

function K.make_task(T)
  T.start = function(inst)
    local nums, exprs = {}, {}
    for i, v in ipairs(inst.numbers) do nums[i] = C.q(v); exprs[i] = tostring(v) end
    return { nums = nums, exprs = exprs, steps = {} }
  end
  T.key = function(inst, st)
    local t = {}
    for i, v in ipairs(st.nums) do t[i] = C.qstr(v) end
    table.sort(t)
    return concat(t, ",")
  end
  T.done = function(inst, st) return #st.nums <= 1 end
  T.solved = function(inst, st) return #st.nums == 1 and C.qeq(st.nums[1], C.q(inst.target)) end
  T.state_text = function(inst, st) return "left: " .. left_text(st.nums) end
  -- combine nums[i] and nums[j] (as x op y) into r
  local function combine(st, i, j, x, op, y, r, xe, ye)
    local nums, exprs = {}, {}
    for k = 1, #st.nums do
      if k ~= i and k ~= j then nums[#nums + 1] = st.nums[k]; exprs[#exprs + 1] = st.exprs[k] end
    end
    nums[#nums + 1] = r
    exprs[#exprs + 1] = paren(xe) .. " " .. op .. " " .. paren(ye)
    local steps = { table.unpack(st.steps) }
    local line = fmt("%s %s %s = %s (left: %s)", C.qstr(x), op, C.qstr(y), C.qstr(r), left_text(nums))
    steps[#steps + 1] = line
    return { nums = nums, exprs = exprs, steps = steps }, line
  end
  T.moves = function(inst, st)
    local out, seen = {}, {}
    for i = 1, #st.nums do
      for j = i + 1, #st.nums do
        for _, c in ipairs(combos(st.nums[i], st.nums[j])) do
          local x, op, y, r = c[1], c[2], c[3], c[4]
          if r then
            local swap = x ~= st.nums[i]
            local ns, line = combine(st, i, j, x, op, y, r, swap and st.exprs[j] or st.exprs[i], swap and st.exprs[i] or st.exprs[j])
            if not seen[line] then
              seen[line] = true
              out[#out + 1] = { line = line, state = ns }
            end
          end
        end
      end
    end
    return out
  end
  -- "A op B = C ..." with A and B among the numbers left (two different
  -- ones) and C their exact result.
  T.apply = function(inst, st, line)
    if #st.nums <= 1 then return nil, "no step is left" end
    local a, op, b, c = line:match("^%s*(%-?%d+/?%d*)%s*([%+%-%*/x×÷])%s*(%-?%d+/?%d*)%s*=%s*(%-?%d+/?%d*)")
    if not a then return nil, "not a step 'A op B = C'" end
    local x, y, z = C.qparse(a), C.qparse(b), C.qparse(c)
    if not (x and y and z) then return nil, "a number cannot be read" end
    local r = C.OPS[op](x, y)
    if not r then return nil, "division by zero" end
    if not C.qeq(r, z) then return nil, fmt("%s %s %s is %s, not %s", a, op, b, C.qstr(r), c) end
    local i, j
    for k, v in ipairs(st.nums) do if not i and C.qeq(v, x) then i = k end end
    for k, v in ipairs(st.nums) do if not j and k ~= i and C.qeq(v, y) then j = k end end
    if not i or not j then return nil, fmt("%s and %s are not two of the numbers left (%s)", a, b, left_text(st.nums)) end
    local opn = (op == "x" or op == "×") and "*" or op == "÷" and "/" or op
    local ns = combine(st, i, j, x, opn, y, r, st.exprs[i], st.exprs[j])
    return ns
  end
  T.answer_of = function(inst, st)
    return fmt("Answer: %s = %s", st.exprs[1] or "?", st.nums[1] and C.qstr(st.nums[1]) or "?")
  end
  -- The summary line "Answer: EXPR = TARGET" (or "Answer: EXPR"): every
  -- number used exactly once, only + - * /, exact value the target.
  T.check = function(inst, completion)
    local a, err = C.answer(completion)
    if not a then return false, err end
    local expr, claimed = a:match("^(.-)=%s*(%-?%d+)%s*$")
    expr = expr or a
    local v, leaves = C.expr(expr)
    if not v then return false, leaves end
    if not C.same_multiset(leaves, inst.numbers) then
      return false, fmt("the expression uses %s, not each of %s once", C.join(leaves, ","), C.join(inst.numbers, ","))
    end
    if not C.qeq(v, C.q(inst.target)) then return false, fmt("the expression is %s, not %d", C.qstr(v), inst.target) end
    if claimed and tonumber(claimed) ~= inst.target then return false, "the stated result is not " .. inst.target end
    return true
  end
  return C.finish(T)
end

return K
