#!/usr/bin/python3
"""Produces tests/data/grammars/schema_cases.json: JSON Schemas with candidate
texts, each labelled valid or not by the Python `jsonschema` package (Draft
2020-12), the independent reference tests/test_gram_schema.c checks the
grammar compiler against (a text the grammar accepts must be valid; a valid
text must be accepted unless the case is marked "strict", a documented
place where the compiled grammar is deliberately narrower than the schema).
Run once; the output is committed, so CI needs no Python.

    /usr/bin/python3 tests/schema_cases.py tests/data/grammars/schema_cases.json
"""
import itertools
import json
import sys

import jsonschema

SETS = []


def add(name, schema, texts, strict=(), opts=None):
    SETS.append((name, schema, texts, set(strict), opts or {}))


# Strict on purpose: a declared name is written as itself (not with escapes),
# once, in the declared order (any order with the option); `properties`
# without `type` means an object.

# additionalProperties beside declared properties (declared order)
S1 = {"type": "object",
      "properties": {"a": {"type": "integer"}, "ab": {"type": "string", "maxLength": 3}, "\u00e9": {"type": "boolean"}},
      "required": ["a"], "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 9}}
add("extras beside properties", S1, [
    r'{"a":1}', r'{"a":1,"x":3}', r'{"x":3,"a":1}', r'{"a":1,"ab":"xy","x":3}', r'{"a":1,"x":3,"ab":"q"}',
    r'{"a":1,"b":5,"é":true}', r'{"a":1,"x":10}', r'{"a":1,"ab":5}', r'{"a":1,"\u0061b":5}', r'{"a":1,"\u0061c":5}',
    r'{"a":1,"a\u0062":"x"}', r'{"a":1,"":2}', r'{"a":1,"\u00e9":2}', r'{"a":1,"\u00E9x":2}', r'{"a":1,"e":2}',
    r'{"a":1,"é":true,"ab":"x"}', r'{"x":1}', r'{}', r'{"a":1,"aa":3}', r'{"a":1,"A":3}', r'{"a":1,"\"":3}',
    r'{"a":1,"\\":3}', r'{"a":1,"a\n":3}', r'{"a":1,"\u0000":3}', r'{"a":1,"x":3,"y":4,"z":5}',
    r'{"y":0,"a":1,"z":9,"ab":"abc","w":2,"é":false,"v":1}', r'{"a":1,"ab":"abcd"}', r'{"a":1,"x":-1}',
    r'{"a":1,"é":1}', r'{"a":1, "x" : 3 }', r'{"a":1,"x":3,}', r'{"a":1,,"x":3}', r'{"a":1 "x":3}',
    r'{"a":1,"ab":"x","ab":"y"}', r'{"a":1,"a":2}', r'{"a":1,"\/":2}', r'{"a":1,"\u002F":2}', r'{"ab":"x","a":1}',
], strict=[r'{"a":1,"a\u0062":"x"}', r'{"a":1,"é":true,"ab":"x"}', r'{"ab":"x","a":1}',
          r'{"a":1,"ab":"x","ab":"y"}', r'{"a":1,"a":2}'])

add("extras true", {"properties": {"k": {"const": 1}}, "additionalProperties": True}, [
    r'{"k":1,"z":[1,{"k":2}]}', r'{"k":2}', r'{"z":null}', r'{}', r'{"\u006b":1}', r'{"\u006b":2}', r'{"kk":"s","k":1}',
    r'{"k":1,"k2":{}}', r'[]', r'{"k":1,"":true}',
], strict=[r'{"\u006b":1}', r'[]'])

add("extras with any order", {"type": "object", "properties": {"p": {"type": "integer"}, "q": {"type": "boolean"}},
                              "required": ["p"], "additionalProperties": {"type": "string"}}, [
    r'{"q":true,"x":"s","p":1}', r'{"x":"s","p":1,"y":"t"}', r'{"p":1,"p2":"s"}', r'{"p":1,"q":"s"}', r'{"x":"s"}',
    r'{"p":1,"q":true}', r'{"q":false,"p":-3}', r'{"p":1,"":""}', r'{"p":1,"P":"a"}', r'{"p":1,"q":true,"r":"x","s":"y"}',
    r'{"p":"1"}', r'{"p":1,"x":1}',
], opts={"any_order": True})

add("extras false", {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": False}, [
    r'{"a":1}', r'{}', r'{"a":1,"b":2}', r'{"b":2}',
])

add("propertyNames pattern", {"type": "object", "propertyNames": {"pattern": "^[a-z]{1,4}$"},
                              "additionalProperties": {"type": "integer"}}, [
    r'{"ab":1}', r'{"abcde":1}', r'{"Ab":1}', r'{}', r'{"ab":"x"}', r'{"a":1,"bcd":2,"zzzz":3}', r'{"":1}',
])
add("propertyNames enum", {"type": "object", "propertyNames": {"enum": ["x", "y", 3]}}, [
    r'{"x":1,"y":[]}', r'{"z":1}', r'{}', r'{"y":{"z":1}}', r'{"3":1}',
])
add("propertyNames lengths", {"type": "object", "propertyNames": {"type": "string", "maxLength": 2}}, [
    r'{"ab":{"cde":1}}', r'{"abc":1}', r'{"":0}', r'{"é":0}', r'{"éé":0,"a":1}', r'{"ééé":0}',
])
add("propertyNames false", {"type": "object", "propertyNames": False}, [r'{}', r'{"a":1}'])

# every name of up to 3 written characters from a small alphabet (raw, short
# and \u escapes, both cases, a two-byte character) as the extra member
ALPHA = ['a', 'b', 'c', r'\u0061', r'\u0062', r'\u0041', r'\"', r'\\', r'\n', 'é', r'\u00e9', r'\u00C9', r'\/']
keys = [''.join(p) for n in range(4) for p in itertools.product(ALPHA, repeat=n)]
SB = {"type": "object",
      "properties": {"a": {"type": "string"}, "ab": {"type": "string"}, "bc": {"type": "string"}, "\u00e9": {"type": "string"},
                     "a\"": {"type": "string"}, "\n": {"type": "string"}},
      "required": ["a"], "additionalProperties": {"type": "integer"}}
add("every short extra name", SB, ['{"a":"s","%s":5}' % k for k in keys])


def main():
    out = []
    for name, schema, texts, strict, opts in SETS:
        v = jsonschema.Draft202012Validator(schema)
        cases = []
        for t in texts:
            try:
                inst = json.loads(t)
                ok = v.is_valid(inst)
            except json.JSONDecodeError:
                ok = False
            if t in strict and not ok:
                raise SystemExit("%s: %s marked strict but invalid" % (name, t))
            c = {"text": t, "valid": ok}
            if t in strict:
                c["strict"] = True
            cases.append(c)
        out.append({"name": name, "schema": json.dumps(schema, ensure_ascii=False), "opts": opts, "cases": cases})
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        # one case a line, so a diff shows what changed
        f.write("[\n")
        for i, st in enumerate(out):
            f.write('{"name": %s, "schema": %s, "opts": %s, "cases": [\n' % (
                json.dumps(st["name"]), json.dumps(st["schema"], ensure_ascii=False), json.dumps(st["opts"])))
            f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in st["cases"]))
            f.write("\n]}%s\n" % ("," if i + 1 < len(out) else ""))
        f.write("]\n")
    print("%d sets, %d cases" % (len(out), sum(len(s["cases"]) for s in out)))


main()
