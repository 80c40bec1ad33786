#!/usr/bin/python3
"""The PyTorch peer of `make bench`'s training figures: the same Llama model
(RMSNorm, RoPE on adjacent pairs, GQA, SwiGLU, tied output), float32, AdamW
with clipping, on the same shape, batch, sequence length and thread count.
Prints one JSON line like the logitlab one, with the median step's process
CPU time (step_cpu_s; every thread, spinning included) and the work per CPU
second times the threads (gflops_cpu), as bench/train_peak.sh counts them. Used only by bench/run.sh, and
only where /usr/bin/python3 has torch.

    bench/train_torch.py SHAPE THREADS BATCH SEQ STEPS
"""
import json
import sys
import time

import torch

SHAPES = {  # dim, ffn, layers, heads, kv heads, vocab
    "stories260k": (64, 172, 5, 8, 4, 512),
    "stories15m": (288, 768, 6, 6, 6, 32000),
}


class Model(torch.nn.Module):
    def __init__(self, D, F, L, H, KVH, V):
        super().__init__()
        self.D, self.H, self.KVH, self.hd = D, H, KVH, D // H
        kv = D // H * KVH
        self.emb = torch.nn.Parameter(torch.randn(V, D) * 0.02)
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            m = torch.nn.Module()
            m.an = torch.nn.Parameter(torch.ones(D))
            m.wq = torch.nn.Linear(D, D, bias=False)
            m.wk = torch.nn.Linear(D, kv, bias=False)
            m.wv = torch.nn.Linear(D, kv, bias=False)
            m.wo = torch.nn.Linear(D, D, bias=False)
            m.fn = torch.nn.Parameter(torch.ones(D))
            m.wg = torch.nn.Linear(D, F, bias=False)
            m.wu = torch.nn.Linear(D, F, bias=False)
            m.wd = torch.nn.Linear(F, D, bias=False)
            self.layers.append(m)
        self.on = torch.nn.Parameter(torch.ones(D))
        inv = torch.tensor([10000.0 ** (-2.0 * j / self.hd) for j in range(self.hd // 2)])
        self.register_buffer("inv", inv)
        self.register_buffer("mask", torch.ones(1024, 1024, dtype=torch.bool).triu(1))

    @staticmethod
    def norm(x, g):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-5) * g

    def rope(self, x, co, si):
        a, b = x[..., 0::2], x[..., 1::2]
        return torch.stack((a * co - b * si, a * si + b * co), dim=-1).flatten(-2)

    def forward(self, tok, tgt):
        B, T = tok.shape
        th = torch.arange(T, dtype=torch.float32)[:, None] * self.inv[None, :]
        co, si = torch.cos(th)[None, :, None, :], torch.sin(th)[None, :, None, :]
        x = self.emb[tok]
        for m in self.layers:
            h = self.norm(x, m.an)
            q = self.rope(m.wq(h).view(B, T, self.H, self.hd), co, si).transpose(1, 2)
            k = self.rope(m.wk(h).view(B, T, self.KVH, self.hd), co, si).transpose(1, 2)
            v = m.wv(h).view(B, T, self.KVH, self.hd).transpose(1, 2)
            if self.KVH != self.H:
                k = k.repeat_interleave(self.H // self.KVH, dim=1)
                v = v.repeat_interleave(self.H // self.KVH, dim=1)
            s = (q @ k.transpose(-1, -2)) * (self.hd ** -0.5)
            s = s.masked_fill(self.mask[:T, :T], float("-inf"))
            o = torch.softmax(s, dim=-1) @ v
            x = x + m.wo(o.transpose(1, 2).reshape(B, T, self.D))
            h = self.norm(x, m.fn)
            x = x + m.wd(torch.nn.functional.silu(m.wg(h)) * m.wu(h))
        logits = self.norm(x, self.on) @ self.emb.T
        return torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), tgt.view(-1))


def main():
    shape, threads, B, T, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    D, F, L, H, KVH, V = SHAPES[shape]
    model = Model(D, F, L, H, KVH, V)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    times, cpus = [], []
    for s in range(steps):
        tok = torch.randint(0, V, (B, T))
        tgt = torch.randint(0, V, (B, T))
        t0, c0 = time.perf_counter(), time.process_time()
        loss = model(tok, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)   # every thread's CPU time, spinning included
    t = sum(times[1:]) / (len(times) - 1)   # the first step warms up
    tps = B * T / t
    c = sorted(cpus[1:])
    cmed = c[len(c) // 2] if len(c) % 2 else (c[len(c) // 2 - 1] + c[len(c) // 2]) / 2
    print(json.dumps({"bench": "train", "impl": "pytorch " + torch.__version__, "shape": shape, "threads": threads,
                      "batch": B, "seq_len": T, "params": n_params, "tok_per_s": round(tps, 1),
                      "gflops": round(6 * n_params * tps / 1e9, 2), "step_cpu_s": round(cmed, 4),
                      "gflops_cpu": round(6 * n_params * B * T / cmed / 1e9 * threads, 2)}))


if __name__ == "__main__":
    main()
