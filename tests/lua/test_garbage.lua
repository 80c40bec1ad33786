-- Every function and method of the API called with wrong arguments: each
-- call may return or raise, but never crash the host. (Run under ASAN by
-- `make asan`.)
local junk = { nil, 0, -1, 1.5, math.huge, -math.huge, 0 / 0, math.maxinteger, math.mininteger,
  "", "garbage_str", string.rep("x", 300), {}, { 1, 2 }, { -5 }, { "x" }, { x = 1 },
  function() end, true, lab.json.null }
local N = 20   -- #junk with the leading nil counted

local skip = { sleep = true, after = true, every = true, budget = true, await = true }

local function try(f, ...)
  local ok, err = pcall(f, ...)
  if not ok and type(err) == "string" and err:find("time budget") then error(err, 0) end
end

local function hammer(name, f, self)
  for i = 1, N do
    if self ~= nil then
      try(f, self, junk[i])
      try(f, self, junk[i], junk[(i % N) + 1])
    else
      try(f, junk[i])
      try(f, junk[i], junk[(i * 7) % N + 1], junk[(i * 3) % N + 1])
    end
    try(f, junk[i], junk[i])     -- a wrong self, too
  end
end

test("lab.* functions survive junk", function()
  lab.budget{ seconds = 60 }
  for _, mod in ipairs({ "", "model", "logits", "chat", "json", "fs", "plugin", "ui" }) do
    local t = mod == "" and lab or lab[mod]
    for name, f in pairs(t) do
      if type(f) == "function" and not skip[name] and name ~= "generate" and name ~= "spawn" then
        hammer(mod .. "." .. name, f)
      end
    end
  end
end)

test("methods survive junk", function()
  local m = lab.model.open(MODEL)
  local s = m:seq("Once upon a time")
  local l = s:eval()
  local objs = {
    Model = function() return lab.model.open(MODEL) end,
    Seq = function() return m:seq("Once upon") end,
    Logits = function() return l end,
    Sampler = function() return lab.sampler{} end,
    Job = function() return m:seq("x"):submit() end,
    Task = function() return lab.spawn(function() end) end,
    Timer = function() local t = lab.after(100, function() end); return t end,
  }
  for kind, make in pairs(objs) do
    local obj = make()
    for name, f in pairs(getmetatable(obj).__index) do
      hammer(kind .. ":" .. name, f, make())
    end
    if kind == "Timer" then obj:stop() end
  end
  for _, t in ipairs(lab.ui.list()) do lab.ui.del(t.id) end
  -- the objects still work afterwards
  check.eq(m:seq("Once upon a time"):eval():argmax(), 432)
end)

test("generate and score with junk options", function()
  local m = lab.model.open(MODEL)
  for i = 1, N do
    try(lab.generate, m:seq("Hi"), { max_tokens = 2, stop = junk[i] })
    try(lab.generate, m:seq("Hi"), { max_tokens = junk[i] })
    try(lab.generate, m:seq("Hi"), { sampler = junk[i], max_tokens = 1 })
    try(lab.score, m, junk[i], "x")
    try(lab.score, m, "x", junk[i])
    try(lab.chat.format, m, junk[i], { template = "<|im_start|>" })
    try(lab.chat.format, nil, { { role = "user", content = "x" } }, { template = junk[i] })
  end
end)
