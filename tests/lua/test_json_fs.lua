-- lab.json and lab.fs.

test("json round trip", function()
  local v = { a = 1, b = { 1, 2, 3 }, c = "x\n\"y\"", d = true, e = 1.5, f = lab.json.null }
  local s = lab.json.encode(v)
  check.eq(s, '{"a":1,"b":[1,2,3],"c":"x\\n\\"y\\"","d":true,"e":1.5,"f":null}')
  local back = check.ok(lab.json.decode(s))
  check.eq(back.a, 1)
  check.eq(back.b[3], 3)
  check.eq(back.c, "x\n\"y\"")
  check.eq(back.f, lab.json.null)
  check.eq(math.type(back.a), "integer")
  check.eq(lab.json.encode({}), "{}")
  check.eq(lab.json.encode("é"), '"é"')
end)

test("json errors", function()
  check.fails("JSON: line 1", lab.json.decode("{bad"))
  check.raises("cannot encode a function", lab.json.encode, { f = print })
  local cyc = {}
  cyc.self = cyc
  check.raises("nesting deeper", lab.json.encode, cyc)
  check.raises("mixes array and object", lab.json.encode, { 1, 2, x = 3 })
  -- a key twice in one object: an error naming the key and both places,
  -- nested too; {duplicates = "last"} keeps the last
  check.fails('JSON: line 1 col 10: duplicate key "a" in an object %(first at line 1 col 2%)',
    lab.json.decode('{"a": 1, "a": 2}'))
  check.fails('JSON: line 3 col 3: duplicate key "k" in an object %(first at line 2 col 12%)',
    lab.json.decode('{"x": [1,\n  {"y": 0, "k": true,\n  "k": false}]}'))
  check.eq(check.ok(lab.json.decode('{"a": 1, "a": 2}', { duplicates = "last" })).a, 2)
  check.eq(check.ok(lab.json.decode('{"a": 1, "b": {"a": 2}}')).b.a, 2, "the same key in two objects is fine")
  check.fails('duplicate key "a"', lab.json.decode('{"a": 1, "a": 2}', { duplicates = "error" }))
  check.raises("unknown option 'dup'", lab.json.decode, "{}", { dup = "last" })
  check.raises('duplicates must be "error"', lab.json.decode, "{}", { duplicates = "first" })
end)

test("fs write, append, read, list, exists, mkdir, remove", function()
  check.ok(lab.fs.mkdir("data/sub"))
  check.ok(lab.fs.mkdir("data/sub"), "mkdir twice is fine")
  check.ok(lab.fs.write("data/sub/a.txt", "one\n"))
  check.ok(lab.fs.append("data/sub/a.txt", "two\n"))
  check.eq(lab.fs.read("data/sub/a.txt"), "one\ntwo\n")
  check.ok(lab.fs.write("data/sub/b.bin", "\0\1\2"))
  check.eq(#lab.fs.read("data/sub/b.bin"), 3)
  check.same_list(lab.fs.list("data/sub"), { "a.txt", "b.bin" })
  check.ok(lab.fs.exists("data/sub/a.txt"))
  check.eq(lab.fs.exists("data/sub/none"), false)
  check.ok(lab.fs.remove("data/sub/a.txt"))
  check.ok(lab.fs.remove("data/sub/b.bin"))
  check.ok(lab.fs.remove("data/sub"))
  check.fails("No such file", lab.fs.read("data/none.txt"))
  check.fails("No such file", lab.fs.write("nodir/x.txt", "x"))
  local names = lab.fs.list()
  local has = false
  for _, n in ipairs(names) do has = has or n == "runner.lua" end
  check.ok(has, "list() is the workspace root")
end)
