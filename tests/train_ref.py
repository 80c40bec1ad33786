#!/usr/bin/python3
"""Produces tests/data/train_ref.bin: one training step of tiny Llama models
computed by PyTorch in float64, the reference tests/test_train.c checks the
C trainer against (loss, every gradient, the weights after one clipped AdamW
step). Run once; the output is committed, so CI needs no PyTorch.

    /usr/bin/python3 tests/train_ref.py tests/data/train_ref.bin

The weight layout is core/tmodel.h's: tok_embd (V, D); per layer attn_norm,
wq, wk, wv, wo, ffn_norm, w_gate, w_up, w_down; output_norm; output unless
tied. Matrices are (out, in). RoPE rotates adjacent pairs (2j, 2j+1).

File: b"TREF", int32 n_cases, then per case
  int32 V, D, F, L, H, KVH, B, T, tied; float32 rope_base, rms_eps;
  float32 lr, beta1, beta2, eps, weight_decay, clip;
  int64 n_params; float32 params[n]; int32 tokens[B*T]; int32 targets[B*T];
  float64 loss; float64 grad_norm; float32 grads[n]; float32 params_after[n]
"""
import struct
import sys

import torch


def shapes(V, D, F, L, H, KVH, tied):
    KV = D // H * KVH
    out = [("tok_embd", (V, D))]
    for i in range(L):
        out += [(f"{i}.attn_norm", (D,)), (f"{i}.wq", (D, D)), (f"{i}.wk", (KV, D)),
                (f"{i}.wv", (KV, D)), (f"{i}.wo", (D, D)), (f"{i}.ffn_norm", (D,)),
                (f"{i}.w_gate", (F, D)), (f"{i}.w_up", (F, D)), (f"{i}.w_down", (D, F))]
    out.append(("output_norm", (D,)))
    if not tied:
        out.append(("output", (V, D)))
    return out


def rmsnorm(x, g, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * g


def rope(x, inv_freq, T):
    # x (B, T, heads, hd); pairs (2j, 2j+1)
    pos = torch.arange(T, dtype=torch.float64)
    th = pos[:, None] * inv_freq.double()[None, :]          # (T, hd/2)
    co = torch.cos(th).float().double()[None, :, None, :]   # rounded as the C code does
    si = torch.sin(th).float().double()[None, :, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = a * co - b * si
    out[..., 1::2] = a * si + b * co
    return out


def forward(p, cfg, tokens, targets):
    V, D, F, L, H, KVH, B, T, tied, base, eps = cfg
    hd = D // H
    inv_freq = torch.tensor([base ** (-2.0 * j / hd) for j in range(hd // 2)], dtype=torch.float32)
    x = p["tok_embd"][tokens]                                # (B, T, D)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for i in range(L):
        xn = rmsnorm(x, p[f"{i}.attn_norm"], eps)
        q = (xn @ p[f"{i}.wq"].T).view(B, T, H, hd)
        k = (xn @ p[f"{i}.wk"].T).view(B, T, KVH, hd)
        v = (xn @ p[f"{i}.wv"].T).view(B, T, KVH, hd)
        q, k = rope(q, inv_freq, T), rope(k, inv_freq, T)
        rep = H // KVH
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        s = torch.einsum("bihd,bjhd->bhij", q, k) / (hd ** 0.5)
        s = s.masked_fill(~mask, float("-inf"))
        a = torch.softmax(s, dim=-1)
        o = torch.einsum("bhij,bjhd->bihd", a, v).reshape(B, T, D)
        x = x + o @ p[f"{i}.wo"].T
        xn = rmsnorm(x, p[f"{i}.ffn_norm"], eps)
        h = torch.nn.functional.silu(xn @ p[f"{i}.w_gate"].T) * (xn @ p[f"{i}.w_up"].T)
        x = x + h @ p[f"{i}.w_down"].T
    x = rmsnorm(x, p["output_norm"], eps)
    logits = x @ (p["tok_embd"] if tied else p["output"]).T
    return torch.nn.functional.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-1)


def case(seed, V, D, F, L, H, KVH, B, T, tied, out):
    base, eps = 10000.0, 1e-5
    lr, b1, b2, aeps, wd, clip = 1e-2, 0.9, 0.95, 1e-8, 0.1, 0.5
    g = torch.Generator().manual_seed(seed)
    names = shapes(V, D, F, L, H, KVH, tied)
    p32 = {}
    for n, s in names:
        if len(s) == 1:
            p32[n] = 1.0 + 0.1 * torch.randn(s, generator=g)
        else:
            p32[n] = 0.3 * torch.randn(s, generator=g)
    tokens = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)
    targets[0, :2] = -1          # ignored positions (a prompt)
    targets[1, -1] = -1
    p = {n: t.double().requires_grad_(True) for n, t in p32.items()}
    cfg = (V, D, F, L, H, KVH, B, T, tied, base, eps)
    loss = forward(p, cfg, tokens, targets)
    loss.backward()
    grads = {n: p[n].grad.detach().clone() for n, _ in names}
    # one AdamW step: clip the global norm, decay matrices only
    params = [p[n] for n, _ in names]
    gn = torch.nn.utils.clip_grad_norm_(params, clip)
    decay = [p[n] for n, s in names if len(s) == 2]
    nodecay = [p[n] for n, s in names if len(s) == 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=lr, betas=(b1, b2), eps=aeps)
    opt.step()
    flat = lambda d: torch.cat([d[n].detach().reshape(-1) for n, _ in names]).float()
    n_params = sum(t.numel() for t in p32.values())
    out.write(struct.pack("<9i", V, D, F, L, H, KVH, B, T, int(tied)))
    out.write(struct.pack("<2f", base, eps))
    out.write(struct.pack("<6f", lr, b1, b2, aeps, wd, clip))
    out.write(struct.pack("<q", n_params))
    out.write(flat(p32).numpy().tobytes())
    out.write(tokens.int().numpy().tobytes())
    out.write(targets.int().numpy().tobytes())
    out.write(struct.pack("<2d", loss.item(), gn.item()))
    out.write(flat(grads).numpy().tobytes())
    out.write(flat({n: p[n] for n, _ in names}).numpy().tobytes())
    print(f"case seed {seed}: {n_params} params, loss {loss.item():.6f}, grad norm {gn.item():.6f}")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/train_ref.bin"
    torch.manual_seed(0)
    with open(path, "wb") as out:
        out.write(b"TREF")
        out.write(struct.pack("<i", 2))
        case(1, 37, 16, 24, 2, 4, 2, 2, 8, False, out)
        case(2, 29, 12, 20, 1, 3, 1, 3, 6, True, out)


if __name__ == "__main__":
    main()
