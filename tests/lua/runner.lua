-- runner.lua: the Lua test runner. `logitlab run -w WS runner.lua WS MODEL
-- FILE...` loads each FILE (relative to the workspace WS) in an
-- environment with `test(name, fn)` and the check helpers below, runs each
-- test in its own task (so a test may await, and a test stopped by a budget
-- fails alone), and ends with `# passed N failed M` for tests/run.sh.
local ws, model_path = arg[1], arg[2]
local files = { table.unpack(arg, 3) }
local passed, failed = 0, 0
local budget0 = lab.budget()

local check = {}

local function fmt(v) return lab.inspect(v) end

function check.eq(got, want, what)
  if got ~= want then
    error(string.format("%s: expected %s, got %s", what or "eq", fmt(want), fmt(got)), 2)
  end
end

function check.near(got, want, tol, what)
  tol = tol or 1e-6
  if type(got) ~= "number" or math.abs(got - want) > tol * math.max(1, math.abs(want)) then
    error(string.format("%s: expected %s (within %g), got %s", what or "near", fmt(want), tol, fmt(got)), 2)
  end
end

function check.ok(v, what)
  if not v then error((what or "ok") .. ": got " .. fmt(v), 2) end
  return v
end

-- check.raises(pattern, fn, ...): fn(...) must raise an error matching pattern
function check.raises(pattern, fn, ...)
  local ok, err = pcall(fn, ...)
  if ok then error("expected an error matching '" .. pattern .. "', but the call succeeded", 2) end
  if not tostring(err):find(pattern) then
    error("expected an error matching '" .. pattern .. "', got: " .. tostring(err), 2)
  end
end

-- check.fails(pattern, v, err): an expected failure (nil, err) matching pattern
function check.fails(pattern, v, err)
  if v ~= nil then error("expected nil, err; got " .. fmt(v), 2) end
  if type(err) ~= "string" or not err:find(pattern) then
    error("expected an error message matching '" .. pattern .. "', got " .. fmt(err), 2)
  end
end

function check.same_list(a, b, what)
  check.eq(#a, #b, (what or "list") .. " length")
  for i = 1, #a do check.eq(a[i], b[i], (what or "list") .. "[" .. i .. "]") end
end

-- check.wait(cond, what, seconds): polls cond() every 2 ms until it holds;
-- an error naming `what` after `seconds` (default 120) by the clock, not a
-- count of sleeps: under ASAN on a loaded machine a generation takes many
-- times its usual few hundred ms.
function check.wait(cond, what, seconds)
  local t0 = lab.now()
  while lab.now() - t0 < (seconds or 120) do
    if cond() then return end
    lab.sleep(0.002)
  end
  error("timed out waiting for " .. what, 2)
end

-- ui_hook(kind, name): the id of the lab.ui hook of that kind and name
-- (a plugin's pane, status item, command, key); an error if there is none.
local function ui_hook(kind, name)
  for _, h in ipairs(lab.ui.list()) do if h.kind == kind and h.name == name then return h.id end end
  error("no " .. kind .. " hook " .. name, 2)
end

for _, file in ipairs(files) do
  local tests = {}
  local env = setmetatable({
    test = function(name, fn) tests[#tests + 1] = { name, fn } end,
    check = check,
    ui_hook = ui_hook,
    MODEL = model_path,   -- the model file (stories260K.gguf)
    WS = ws,              -- the workspace folder (absolute)
    MODEL_DIR = model_path:match("^(.*)/[^/]*$") or ".",
  }, { __index = _G })
  local src, err = lab.fs.read(file)
  local chunk = src and load(src, "@" .. file, "t", env)
  if not chunk then
    local _, cerr = load(src or "", "@" .. file, "t", env)
    print(string.format("FAIL %s: cannot load: %s", file, err or cerr))
    failed = failed + 1
  else
    local ok, lerr = pcall(chunk)
    if not ok then
      print(string.format("FAIL %s: %s", file, lerr))
      failed = failed + 1
    end
    for _, t in ipairs(tests) do
      -- which test runs: the last such line names the one a crash stopped in
      print(string.format("# run %s: %s", file, t[1]))
      local task = lab.spawn(t[2])
      local tok, terr = lab.await(task)
      if tok then
        passed = passed + 1
      else
        failed = failed + 1
        print(string.format("FAIL %s: %s: %s", file, t[1], tostring(terr)))
      end
    end
  end
  lab.budget{ seconds = budget0.seconds, memory = budget0.memory,   -- a test may have changed them
              instructions = budget0.instructions }
end

print(string.format("# passed %d failed %d", passed, failed))
