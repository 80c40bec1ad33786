#!/usr/bin/python3
"""Reference outputs of the real llama2.c models, computed once, independently
of logitlab, and committed as tests/data/real_ref.json (CI never runs this).

A plain numpy float64 transcription of the llama2.c forward pass (RMSNorm eps
1e-5, RoPE theta 10000 on interleaved pairs, SwiGLU, classifier shared with the
embedding unless the header says otherwise). Version 2 int8 weights are
dequantized as code * scale (fp32 product), as llama2.c's dequantize does.
For each model: the greedy continuation from BOS (48 tokens; zh-poem with
<unk> = id 0 banned), the top-2 margin of every row, and the top-8 logits at a
few rows. Usage: /usr/bin/python3 tests/ref_llama2c.py SHARED_MODELS_DIR > tests/data/real_ref.json
"""
import json, struct, sys
import numpy as np

def load(path):
    b = open(path, 'rb').read()
    off = 0
    if struct.unpack('<I', b[:4])[0] == 0x616b3432:
        ver = struct.unpack('<i', b[4:8])[0]
        hd = list(struct.unpack('<7i', b[8:36]))
        shared = b[36] == 1
        gs = struct.unpack('<i', b[37:41])[0] if ver == 2 else 0
        off = 256
    else:
        ver, gs = 0, 0
        hd = list(struct.unpack('<7i', b[:28]))
        shared = hd[5] > 0
        hd[5] = abs(hd[5])
        off = 28
    D, F, L, H, KV, V, S = hd
    hs = D // H
    kvd = KV * hs

    def f32(n):
        nonlocal off
        a = np.frombuffer(b, np.float32, n, off).astype(np.float64)
        off += 4 * n
        return a

    def mat(r, c):
        nonlocal off
        if ver != 2:
            return f32(r * c).reshape(r, c)
        q = np.frombuffer(b, np.int8, r * c, off).astype(np.float32)
        off += r * c
        s = np.frombuffer(b, np.float32, r * c // gs, off)
        off += 4 * (r * c // gs)
        return (q.reshape(-1, gs) * s[:, None]).reshape(r, c).astype(np.float64)

    shapes = [('q', D, D), ('k', kvd, D), ('v', kvd, D), ('o', D, D), ('w1', F, D), ('w2', D, F), ('w3', F, D)]
    W = {}
    if ver == 0:
        W['emb'] = mat(V, D)
        W['an'] = [f32(D) for _ in range(L)]
        for k, r, c in shapes[:4]:
            W[k] = [mat(r, c) for _ in range(L)]
        W['fn'] = [f32(D) for _ in range(L)]
        for k, r, c in shapes[4:]:
            W[k] = [mat(r, c) for _ in range(L)]
        W['on'] = f32(D)
        off += 2 * S * (hs // 2) * 4
    else:
        W['an'] = [f32(D) for _ in range(L)]
        W['fn'] = [f32(D) for _ in range(L)]
        W['on'] = f32(D)
        W['emb'] = mat(V, D)
        for k, r, c in shapes:
            W[k] = [mat(r, c) for _ in range(L)]
    W['out'] = W['emb'] if shared else mat(V, D)
    assert off == len(b), (path, off, len(b))
    return dict(D=D, L=L, H=H, KV=KV, hs=hs, V=V, version=ver), W

def rmsnorm(x, w):
    return x / np.sqrt(np.mean(x * x) + 1e-5) * w

class Model:
    def __init__(self, path):
        self.p, self.W = load(path)
        self.kc = [[] for _ in range(self.p['L'])]
        self.vc = [[] for _ in range(self.p['L'])]

    def step(self, tok, pos):
        p, W = self.p, self.W
        hs, H, KV = p['hs'], p['H'], p['KV']
        x = W['emb'][tok].copy()
        ang = pos * 10000.0 ** (-np.arange(0, hs, 2) / hs)
        c, s = np.cos(ang), np.sin(ang)

        def rope(v):
            v = v.reshape(-1, hs // 2, 2)
            a, b = v[..., 0], v[..., 1]
            return np.stack([a * c - b * s, a * s + b * c], -1).reshape(-1)

        for l in range(p['L']):
            h = rmsnorm(x, W['an'][l])
            self.kc[l].append(rope(W['k'][l] @ h).reshape(KV, hs))
            self.vc[l].append((W['v'][l] @ h).reshape(KV, hs))
            q = rope(W['q'][l] @ h).reshape(H, hs)
            K, Vv = np.array(self.kc[l]), np.array(self.vc[l])
            o = np.zeros((H, hs))
            for hh in range(H):
                g = hh // (H // KV)
                sc = K[:, g, :] @ q[hh] / np.sqrt(hs)
                sc = np.exp(sc - sc.max())
                o[hh] = (sc / sc.sum()) @ Vv[:, g, :]
            x = x + W['o'][l] @ o.reshape(-1)
            h = rmsnorm(x, W['fn'][l])
            a = W['w1'][l] @ h
            x = x + W['w2'][l] @ (a / (1 + np.exp(-a)) * (W['w3'][l] @ h))
        return W['out'] @ rmsnorm(x, W['on'])

def reference(path, n, ban=(), rows=(0, 1, 12, 26, 47), k=8):
    m = Model(path)
    toks, margins, top = [1], [], {}
    for pos in range(n):
        lg = m.step(toks[-1], pos)
        for t in ban:
            lg[t] = -np.inf
        order = np.argsort(-lg, kind='stable')
        margins.append(float(lg[order[0]] - lg[order[1]]))
        if pos in rows:
            top[str(pos)] = [[int(i), float(np.float32(lg[i]))] for i in order[:k]]
        toks.append(int(order[0]))
    return dict(tokens=toks, margins=margins, top=top, version=m.p['version'])

if __name__ == '__main__':
    d = sys.argv[1]
    out = {
        'stories3M-q80.bin': reference(d + '/real/stories3M-q80.bin', 48),
        'llama2xs-260K.bin': reference(d + '/real/llama2xs-260K.bin', 48),
        'zh-poem-750K.bin': reference(d + '/real/zh-poem-750K.bin', 48, ban=(0,)),
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write('\n')
