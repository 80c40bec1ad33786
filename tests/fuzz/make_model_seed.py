#!/usr/bin/python3
"""Writes tests/fuzz/seeds/fuzz_model/tiny-*.gguf: complete Llama GGUF models
small enough for libFuzzer (dim 8, one or two layers, vocabulary of 8), F32
and Q8_0 weights, used as seeds by fuzz_model. Run once; the output is
committed (CI does not run this). The layout follows the GGUF spec
(github.com/ggml-org/ggml docs/gguf.md): header, metadata, tensor infos,
padding to general.alignment, data."""
import random
import struct
import sys

def s(x):
    b = x.encode()
    return struct.pack('<Q', len(b)) + b

def kv_u32(k, v): return s(k) + struct.pack('<II', 4, v)
def kv_f32(k, v): return s(k) + struct.pack('<If', 6, v)
def kv_str(k, v): return s(k) + struct.pack('<I', 8) + s(v)
def kv_arr(k, et, items, fmt=None):
    out = s(k) + struct.pack('<IIQ', 9, et, len(items))
    for it in items:
        out += s(it) if et == 8 else struct.pack('<' + fmt, it)
    return out

def q8_0(vals):
    out = b''
    for i in range(0, len(vals), 32):
        blk = vals[i:i + 32]
        amax = max(abs(v) for v in blk) or 1.0
        d = amax / 127
        out += struct.pack('<e', d) + bytes((round(v / d) & 0xff) for v in blk)
    return out

def model(path, layers, wtype, seed):
    rnd = random.Random(seed)
    D, F, H, KV_H, V = 32, 64, 4, 2, 8
    KV = D // H * KV_H
    toks = ['<unk>', '<s>', '</s>', 'a', 'b', 'c', '\u2581a', '\u2581b']
    kvs = [kv_str('general.architecture', 'llama'), kv_u32('general.alignment', 32),
           kv_u32('llama.embedding_length', D), kv_u32('llama.feed_forward_length', F),
           kv_u32('llama.block_count', layers), kv_u32('llama.attention.head_count', H),
           kv_u32('llama.attention.head_count_kv', KV_H), kv_u32('llama.context_length', 64),
           kv_f32('llama.attention.layer_norm_rms_epsilon', 1e-5),
           kv_str('tokenizer.ggml.model', 'llama'), kv_arr('tokenizer.ggml.tokens', 8, toks),
           kv_arr('tokenizer.ggml.scores', 6, [0.0] * V, 'f'),
           kv_arr('tokenizer.ggml.token_type', 5, [2, 3, 3, 1, 1, 1, 1, 1], 'i'),
           kv_u32('tokenizer.ggml.bos_token_id', 1), kv_u32('tokenizer.ggml.eos_token_id', 2)]
    tensors = [('token_embd.weight', [D, V], 0), ('output_norm.weight', [D], 0)]
    for l in range(layers):
        b = 'blk.%d.' % l
        tensors += [(b + 'attn_norm.weight', [D], 0), (b + 'attn_q.weight', [D, D], wtype),
                    (b + 'attn_k.weight', [D, KV], wtype), (b + 'attn_v.weight', [D, KV], wtype),
                    (b + 'attn_output.weight', [D, D], wtype), (b + 'ffn_norm.weight', [D], 0),
                    (b + 'ffn_gate.weight', [D, F], wtype), (b + 'ffn_down.weight', [F, D], wtype),
                    (b + 'ffn_up.weight', [D, F], wtype)]
    infos, data = b'', b''
    for name, ne, t in tensors:
        n = 1
        for x in ne: n *= x
        vals = [1.0] * n if name.endswith('norm.weight') else [rnd.uniform(-0.5, 0.5) for _ in range(n)]
        blob = struct.pack('<%df' % n, *vals) if t == 0 else q8_0(vals)
        data += b'\0' * ((-len(data)) % 32)
        infos += s(name) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', x) for x in ne)
        infos += struct.pack('<IQ', t, len(data))
        data += blob
    head = b'GGUF' + struct.pack('<IQQ', 3, len(tensors), len(kvs)) + b''.join(kvs) + infos
    head += b'\0' * ((-len(head)) % 32)
    with open(path, 'wb') as f:
        f.write(head + data)

out = sys.argv[1] if len(sys.argv) > 1 else 'tests/fuzz/seeds/fuzz_model'
model(out + '/tiny-f32.gguf', 1, 0, 1)
model(out + '/tiny-q8_0-2layers.gguf', 2, 8, 2)
