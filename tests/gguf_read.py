"""A minimal, independent GGUF reader for the tests (GGUF spec, ggml's
docs/gguf.md): header, metadata, tensor infos, alignment. Prints one JSON
object: {"version", "kv": {key: [type, value]}, "tensors": [[name, type,
shape, offset]], "data_offset", "size"}; fails with an assertion when the
structure is not valid GGUF (offsets out of the file or unaligned)."""
import json, struct, sys

def read(path):
    b = open(path, 'rb').read()
    pos = 0
    def take(fmt):
        nonlocal pos
        v = struct.unpack_from('<' + fmt, b, pos)
        pos += struct.calcsize('<' + fmt)
        return v[0]
    def string():
        nonlocal pos
        n = take('Q')
        s = b[pos:pos + n].decode('utf-8')
        pos += n
        return s
    scal = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}
    def value(t):
        if t in scal:
            return take(scal[t])
        if t == 8:
            return string()
        assert t == 9, 'bad value type %d' % t
        et, n = take('I'), take('Q')
        return [et, [value(et) for _ in range(n)]]
    assert b[:4] == b'GGUF', 'no GGUF magic'
    pos = 4
    version, nt, nkv = take('I'), take('Q'), take('Q')
    kv = {}
    for _ in range(nkv):
        k = string()
        t = take('I')
        kv[k] = [t, value(t)]
    align = kv.get('general.alignment', [4, 32])[1]
    tensors = []
    for _ in range(nt):
        name = string()
        nd = take('I')
        shape = [take('Q') for _ in range(nd)]
        t, off = take('I'), take('Q')
        assert off % align == 0, name + ' unaligned'
        tensors.append([name, t, shape, off])
    data = (pos + align - 1) // align * align
    for name, t, shape, off in tensors:
        assert data + off <= len(b), name + ' past the end'
    return dict(version=version, kv=kv, tensors=tensors, data_offset=data, size=len(b))

if __name__ == '__main__':
    json.dump(read(sys.argv[1]), sys.stdout)
