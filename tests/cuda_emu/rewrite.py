#!/usr/bin/env python3
"""Rewrites a .cu file into C++ that cuemu.h can compile (tests/cuda_emu/run.sh):

  kernel<<<grid, block, smem, stream>>>(args);  ->  emu_launch(grid, block, smem, stream, [&] { kernel(args); });
  extern __shared__ T name[];                   ->  T *name = (T *)emu_dyn_smem();

Usage: rewrite.py IN.cu OUT.cc
"""
import re
import sys


def balanced_end(s, i, open_ch, close_ch):
    """Index just past the bracket closing the one at s[i]."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == open_ch:
            depth += 1
        elif s[j] == close_ch:
            depth -= 1
            if depth == 0:
                return j + 1
    raise ValueError("unbalanced %s at %d" % (open_ch, i))


def kernel_start(s, i):
    """Start of the kernel name (identifier plus template arguments) ending at s[i]."""
    j = i
    if s[j - 1] == '>':   # template arguments: walk back over the balanced <...>
        depth = 0
        while True:
            j -= 1
            if s[j] == '>':
                depth += 1
            elif s[j] == '<':
                depth -= 1
                if depth == 0:
                    break
    while j > 0 and (s[j - 1].isalnum() or s[j - 1] == '_'):
        j -= 1
    return j


def rewrite_launches(s):
    out, pos = [], 0
    while True:
        i = s.find('<<<', pos)
        if i < 0:
            out.append(s[pos:])
            return ''.join(out)
        k = kernel_start(s, i)
        cfg_end = s.index('>>>', i)
        cfg = s[i + 3:cfg_end]
        if s[cfg_end + 3] != '(':
            raise ValueError("launch without arguments at %d" % i)
        args_end = balanced_end(s, cfg_end + 3, '(', ')')
        out.append(s[pos:k])
        out.append('emu_launch(%s, [&] { %s%s; })' % (cfg, s[k:i], s[cfg_end + 3:args_end]))
        pos = args_end


def main():
    src = open(sys.argv[1]).read()
    src = re.sub(r'extern\s+__shared__\s+(\w+)\s+(\w+)\[\];', r'\1 *\2 = (\1 *)emu_dyn_smem();', src)
    src = rewrite_launches(src)
    open(sys.argv[2], 'w').write('#line 1 "%s"\n' % sys.argv[1] + src)


if __name__ == '__main__':
    main()
