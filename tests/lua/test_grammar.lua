-- Constrained decoding: lab.grammar and its forms, the sampler option, the
-- per-sequence state through fork and rewind, errors.
local m = lab.model.open(MODEL)

local function tok_of(piece)
  for id = 0, m:info().n_vocab - 1 do
    if m:piece(id, false) == piece then return id end
  end
end

test("bad grammars fail with line and column", function()
  check.fails("line 2 col 7: rule 'foo' is used but never defined", lab.grammar('root ::= "a" |\n  "b" foo\n'))
  check.fails("schema at /properties/a/type: unknown type 'strng'",
    lab.grammar.json_schema{ type = "object", properties = { a = { type = "strng" } } })
  check.fails("regex offset", lab.grammar.regex("a)"))
  check.raises("a Grammar", function() lab.sampler{ grammar = "root ::= \"a\"" } end)
  -- the user's first argument is #1, though lab.grammar is called through its table
  check.raises("bad argument #1 to 'lab.grammar' %(GBNF text expected, got nil%)", function() lab.grammar(nil) end)
end)

test("matches and gbnf", function()
  local g = assert(lab.grammar.regex("[a-c]+x?"))
  check.ok(g:matches("abcx") and not g:matches("abxx"), "regex language")
  check.ok(g:gbnf():find("root ::=", 1, true), "gbnf text")
  local j = assert(lab.grammar.json_schema('{"type": "integer", "minimum": 3, "maximum": 12}'))
  check.ok(j:matches("12") and j:matches("3") and not j:matches("13") and not j:matches("2"), "integer range")
  local c = lab.grammar.choice{ "yes", "no" }
  check.ok(c:matches("no") and not c:matches("yesno"), "choice")
end)

test("generate follows a choice and stops at EOS", function()
  for seed = 1, 8 do
    local s = lab.sampler{ grammar = lab.grammar.choice{ "yes", "no", "maybe so" }, temp = 1, top_k = 0, top_p = 1, min_p = 0, seed = seed }
    local seq = m:seq("Once upon a time")
    local r = assert(lab.generate(seq, { sampler = s, max_tokens = 20 }))
    check.ok(r.text == "yes" or r.text == "no" or r.text == "maybe so", "choice text: " .. r.text)
    check.eq(r.reason, "eos")
  end
end)

test("generate with a JSON schema gives valid JSON over seeds", function()
  local g = assert(lab.grammar.json_schema{ type = "object",
    properties = { n = { type = "integer", minimum = 0, maximum = 99 }, ok = { type = "boolean" } },
    required = { "n", "ok" } })
  local ended = 0
  for seed = 1, 10 do
    local s = lab.sampler{ grammar = g, temp = 1, top_k = 0, top_p = 1, min_p = 0, seed = seed }
    local r = assert(lab.generate(m:seq("Once"), { sampler = s, max_tokens = 80 }))
    check.ok(g:matches(r.text) == (r.reason == "eos"), "complete exactly when ended: " .. r.text)
    if r.reason == "eos" then
      ended = ended + 1
      local v = lab.json.decode(r.text)
      check.ok(math.type(v.n) == "integer" and v.n >= 0 and v.n <= 99 and type(v.ok) == "boolean", r.text)
    end
  end
  check.ok(ended > 0, "some generations end")
end)

test("the state survives fork and rewind", function()
  local g = assert(lab.grammar.regex("(ab|cd)+"))
  local seq = m:seq("Once")
  seq:constrain(g)
  local st = seq:grammar_state()
  check.eq(st.start, #seq)
  local a, b = tok_of("a"), tok_of("b")
  check.ok(seq:allowed(a) and not seq:allowed(b), "a first")
  seq:append(a)
  check.ok(seq:allowed(b) and not seq:allowed(a), "then b")
  check.raises("not allowed by the sequence's grammar", function() seq:append(a) end)
  local f = assert(seq:fork())
  f:append(b)
  check.ok(f:grammar_state().complete and not seq:grammar_state().complete, "fork has its own state")
  f:rewind(#f - 1)
  check.ok(f:allowed(b) and not f:grammar_state().complete, "rewind restores the state")
  seq:constrain(nil)
  check.eq(seq:grammar_state(), nil)
  check.ok(seq:allowed(a), "no constraint: everything allowed")
end)

test("one sampler for several sequences", function()
  local s = lab.sampler{ grammar = assert(lab.grammar.regex("[0-9]{3}")), temp = 1, top_k = 0, top_p = 1, min_p = 0, seed = 5 }
  local seqs = { m:seq("Once"), m:seq("One day") }
  for _ = 1, 8 do
    local live = {}
    for _, q in ipairs(seqs) do if not (q:grammar_state() or {}).finished then live[#live + 1] = q end end
    if #live == 0 then break end
    local ls = assert(lab.eval_batch(live))
    for i, q in ipairs(live) do q:append(assert(s:pick(ls[i], q))) end
  end
  for _, q in ipairs(seqs) do
    local gs = q:grammar_state()
    check.ok(gs and gs.finished, "each seq ran its own grammar to the end")
    local digits = {}
    for i = gs.start + 1, #q - 1 do digits[#digits + 1] = m:piece(q:tokens()[i], false) end
    check.ok(table.concat(digits):match("^%d%d%d$"), "three digits: " .. table.concat(digits))
  end
end)

test("json_schema options: compact, ignore_unenforceable", function()
  local s = { type = "object", properties = { a = { type = "array", items = { type = "integer" }, uniqueItems = true } } }
  local g, err = lab.grammar.json_schema(s)
  check.eq(g, nil)
  check.ok(err:find("schema at /properties/a/uniqueItems: 'uniqueItems' cannot be enforced", 1, true), err)
  local lax = assert(lab.grammar.json_schema(s, { ignore_unenforceable = true }))
  check.ok(lax:matches('{ "a": [1, 1] }'), "ignored: default whitespace, duplicates pass")
  local c = assert(lab.grammar.json_schema(s, { ignore_unenforceable = true, compact = true }))
  check.ok(c:matches('{"a":[1,2]}') and not c:matches('{"a": [1,2]}') and not c:matches('{ "a":[1,2]}'), "compact: no blanks")
  local cs = assert(lab.grammar.json_schema({ type = "object", properties = { s = { type = "string" } } }, { compact = true }))
  check.ok(cs:matches('{"s":"x y"}') and cs:matches('{}') and not cs:matches('{"s" :"x"}'), "compact: strings keep their blanks")
  local ao = assert(lab.grammar.json_schema({ type = "object", properties = { x = { type = "integer" }, y = { type = "null" } },
    required = { "x", "y" } }, { any_order = true, compact = true }))
  check.ok(ao:matches('{"y":null,"x":1}') and ao:matches('{"x":1,"y":null}') and not ao:matches('{"x":1}'), "any order")
  check.raises("unknown option 'compakt'", function() lab.grammar.json_schema(s, { compakt = true }) end)
  check.raises("option compact must be a boolean", function() lab.grammar.json_schema(s, { compact = "yes" }) end)
end)
