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
from decimal import Decimal

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

# patternProperties: one pattern, no declared properties (strict on purpose:
# with additionalProperties absent, names outside the pattern are not produced)
PP = [r'{}', r'{"x-a":1}', r'{"x-ab":1,"x-z":-3}', r'{"x-":1}', r'{"x-A":1}', r'{"y-a":1}', r'{"x-a":"s"}', r'{"ax-a":1}',
      r'{"x-a":1,"b":2}', r'{"x-\u0061":1}', r'{"\u0078-a":2}', r'{"x-a1":1}']
# (and, as for string patterns, a name matched by a pattern is written without escapes)
PP_ESC = [r'{"x-\u0061":1}', r'{"\u0078-a":2}']
add("patternProperties anchored", {"type": "object", "patternProperties": {"^x-[a-z]+$": {"type": "integer"}},
                                   "additionalProperties": False}, PP, strict=PP_ESC)
add("patternProperties unanchored", {"type": "object", "patternProperties": {"^x-": {"type": "integer"}}}, PP,
    strict=[r'{"y-a":1}', r'{"ax-a":1}', r'{"x-a":1,"b":2}', PP_ESC[1]])

# every name of up to 3 written characters from a small alphabet (raw, short
# and \u escapes, both cases, a two-byte character) as the extra member
ALPHA = ['a', 'b', 'c', r'\u0061', r'\u0062', r'\u0041', r'\"', r'\\', r'\n', 'é', r'\u00e9', r'\u00C9', r'\/']
keys = [''.join(p) for n in range(4) for p in itertools.product(ALPHA, repeat=n)]
SB = {"type": "object",
      "properties": {"a": {"type": "string"}, "ab": {"type": "string"}, "bc": {"type": "string"}, "\u00e9": {"type": "string"},
                     "a\"": {"type": "string"}, "\n": {"type": "string"}},
      "required": ["a"], "additionalProperties": {"type": "integer"}}
add("every short extra name", SB, ['{"a":"s","%s":5}' % k for k in keys])


# any order (the option) for 9 properties, 3 of them required
import random
rng = random.Random(15)
AO_NAMES = ["p%d" % i for i in range(9)]
AO = {"type": "object", "properties": {n: {"type": "integer", "maximum": 9} for n in AO_NAMES}, "required": ["p1", "p4", "p8"]}
ao_texts = ['{}', '{"p1":1,"p4":2,"p8":3}', '{"p8":3,"p4":2,"p1":1}', '{"p1":1,"p4":2}']
for _ in range(300):
    k = rng.randint(1, 9)
    names = rng.sample(AO_NAMES, k)
    if rng.random() < 0.1:
        names.append(rng.choice(names))         # a member twice
    ao_texts.append("{" + ",".join('"%s":%d' % (n, rng.randint(0, 11)) for n in names) + "}")
ao_dups = [t for t in ao_texts if len(set(m.split(":")[0] for m in t[1:-1].split(","))) < t.count(":")]
add("any order, 9 properties", AO, ao_texts, opts={"any_order": True, "compact": True}, strict=[])
STRICT_DUPS = ao_dups

# oneOf whose branches overlap in listed values: those values match two
# branches and are removed from both. Strict on purpose: enum/const values
# are written canonically (not "1.0" for 1, not "\u0078" for "x"); bounded
# numbers without exponents.
def add_one(name, schema, texts, whole=True, esc=True):
    # whole: no branch takes "3.0" for 3 (integer types and value lists do not);
    # esc: no branch takes an escaped string (a value list writes it plainly)
    SETS.append((name, schema, texts, set(), {"canonical": ("int" if whole else "num") + ("esc" if esc else "")}))


ONE = [r'"a"', r'"b"', r'"c"', r'"\u0061"', r'"ab"', r'""', "1", "1.0", "2", "3", "4", "5", "5.0", "1.5", "1.50", "-2",
       "-2.0", "-2.5", "0", "10", "11", "null", "true", "false", r'"x"', r'"\u0078"', "[]", "{}", "0.5", "2.5", "1e0", "7",
       "-1", "9.99", "10.0", "3.0"]
add_one("oneOf string vs enum", {"oneOf": [{"type": "string"}, {"enum": ["a", "b", 1]}]}, ONE, esc=False)
add_one("oneOf enum vs enum", {"oneOf": [{"enum": [1, 2, 3]}, {"const": 3}, {"enum": [4, 3, "c"]}]}, ONE)
add_one("oneOf integer range vs const", {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 10}, {"const": 5},
                                               {"type": "null"}]}, ONE)
add_one("oneOf number vs enum", {"oneOf": [{"type": "number", "maximum": 10}, {"enum": [1.5, -2, "x", 11]}]}, ONE,
        whole=False)
add_one("oneOf long enum vs enum", {"oneOf": [{"enum": list(range(40))}, {"enum": [39, 40, "s"]}, {"type": "string"}]},
        ONE + ["38", "39", "40", "41", r'"s"', r'"t"'], esc=False)
add_one("oneOf values at the range's ends", {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 10},
                                                      {"type": "number", "exclusiveMinimum": 20, "maximum": 30},
                                                      {"enum": [0, 10, 30, 25.5, 20]}]},
        ONE + ["20", "20.5", "25.5", "30", "29.99", "30.0", "21"])
add_one("oneOf boolean vs const", {"oneOf": [{"type": "boolean"}, {"const": True}, {"enum": [None, "a"]}]}, ONE)

# multipleOf (exact decimal: texts and schema read as Decimal, so 0.3 is a
# multiple of 0.1, as the spec means and floats would not say) with bounds.
# Strict on purpose, by rule: exponents beside bounds or multipleOf, negative
# zero, more than 15 whole or 16 fraction digits, and for "integer" a
# fraction of zeros ("3.0") are not produced.
def numbers():
    t = set()
    for i in range(-12, 13):
        t.add(str(i))
    for i in range(-4, 5):
        for f in range(10):
            t.add("%s%d.%d" % ("-" if i < 0 or (i == 0 and f % 3 == 1) else "", abs(i), f))
    for i in (0, 1):
        for f in range(100):
            t.add("%d.%02d" % (i, f))
            t.add("-%d.%02d" % (i, f))
    t.update(["1.50", "1.500", "0.250000", "-0.50", "1.0", "3.0", "3.00", "-3.0", "10.5", "21", "28", "35", "700", "7000000",
              "999999999999997", "999999999999999", "1000000000000000", "100", "-100", "2500", "1e3", "2.5E+1", "5e-1",
              "-0", "-0.0", "00", "01", "1.", ".5", "+1", "0.3", "0.30000000000000004", "0.2500000000000000",
              "0.25000000000000000", "0.0005", "0.001", "0.0042", "0.0043", "0.004", "4.5", "-3", "-1.5", "3.0000000000000001",
              "12.75", "-12.75", "0.1000000000000000", "1.4999999999999999", "0.0001"])
    return sorted(t)


NUM = numbers()


def add_num(name, schema):
    add(name, schema, NUM, opts={"decimal": True})


add_num("multipleOf 0.25 in [-1, 1.3]", {"type": "number", "multipleOf": 0.25, "minimum": -1, "maximum": 1.3})
add_num("multipleOf 0.5", {"type": "number", "multipleOf": 0.5})
add_num("multipleOf 0.1 in [0, 1)", {"type": "number", "multipleOf": 0.1, "minimum": 0, "exclusiveMaximum": 1})
add_num("integer multipleOf 7 from 3", {"type": "integer", "multipleOf": 7, "minimum": 3})
add_num("number multipleOf 3 in [-10, 10]", {"type": "number", "multipleOf": 3, "minimum": -10, "maximum": 10})
add_num("multipleOf 0.01 in [-1, 1]", {"type": "number", "multipleOf": 0.01, "minimum": -1, "maximum": 1})
add_num("integer multipleOf 2.5", {"type": "integer", "multipleOf": 2.5})
add_num("multipleOf 1.5 in (-3, 4.5)", {"type": "number", "multipleOf": 1.5, "exclusiveMinimum": -3, "exclusiveMaximum": 4.5})
add_num("integer multipleOf 100", {"type": "integer", "multipleOf": 100})
add_num("multipleOf 0.001 in [0.0005, 0.0042]", {"type": "number", "multipleOf": 0.001, "minimum": 0.0005, "maximum": 0.0042})
add_num("number in [0, 100]", {"type": "number", "minimum": 0, "maximum": 100})
add_num("number in (-3, 12.75]", {"type": "number", "exclusiveMinimum": -3, "maximum": 12.75})
# bounds written with exponents in the schema (kept as written: a text)
add_num("bounds with exponents", '{"type": "number", "minimum": 5E-1, "exclusiveMaximum": 1.2e1}')
add_num("multipleOf and bounds with exponents", '{"type": "number", "multipleOf": 2.5e-1, "minimum": -1e0, "maximum": 0.7E1}')


def main():
    out = []
    for name, schema, texts, strict, opts in SETS:
        text = schema if isinstance(schema, str) else json.dumps(schema, ensure_ascii=False)
        schema = json.loads(text)
        dec = opts.pop("decimal", False)
        canonical = opts.pop("canonical", False)
        integer = schema.get("type") == "integer"
        if dec and not integer:
            schema_d = json.loads(text, parse_float=Decimal)
            v = jsonschema.Draft202012Validator(schema_d)
        else:
            v = jsonschema.Draft202012Validator(schema)
        cases = []
        for t in texts:
            try:
                inst = json.loads(t, parse_float=Decimal) if dec and not integer else json.loads(t)
                ok = v.is_valid(inst)
            except (json.JSONDecodeError, ValueError):
                ok = False
            num = t[0] in "-0123456789"
            if canonical and ok and ((num and "e" in t) or ("esc" in canonical and "\\u" in t) or (canonical.startswith("int") and num and "." in t and float(t) == int(float(t)))):
                strict.add(t)
            mant = t.lstrip("-").lower().split("e")[0].split(".")
            long_ = len(mant[0]) > 15 or (len(mant) > 1 and len(mant[1]) > 16)
            if dec and ok and ("e" in t.lower() or float(t) == 0 and t.startswith("-") or integer and "." in t or long_):
                strict.add(t)
            if name.startswith("any order") and ok and t in STRICT_DUPS:
                strict.add(t)               # a member written twice (the last one counts in Python)
            if t in strict and not ok:
                raise SystemExit("%s: %s marked strict but invalid" % (name, t))
            c = {"text": t, "valid": ok}
            if t in strict:
                c["strict"] = True
            cases.append(c)
        out.append({"name": name, "schema": text, "opts": opts, "cases": cases})
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
