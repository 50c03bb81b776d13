"""C unpickler vs pure-Python unpickler, before the first import (stdlib python3 only).

    python3 scripts/fuzz/pure_python_diff.py SEED COUNT OUTDIR

joblib.load reads every uncompressed file with pickle._Unpickler (pure Python); the
scanner follows the C unpickler and calls a failure before the first import
`not-a-pickle`. This generates COUNT files made of a random prefix of import-free
opcodes (random, often odd, arguments: text numbers with whitespace/underscores/signs,
frames, memo operations, counted strings) followed by a posix.system('true') call, reads
each with both unpicklers (find_class recorded, inert stubs) and writes to OUTDIR every
file where the pure-Python reading imports something the C reading does not.
Prints one JSON line per kept file: {file, c_error, python_imports}.
"""
import io
import json
import os
import pickle
import random
import struct
import sys

TAIL = b"cposix\nsystem\n(S'true'\ntR."
TEXT_NUM = ['1', '0', '-1', '+1', ' 1', '1 ', '\t1', '1_0', '0x10', '010', '1e5', '1e999', 'inf', 'nan',
            '1.5', ' 1.5 ', '1_0.5', '0o7', '0b1', '00', '01', '1L', '٣', '\x0c1', '1\r', '']


def text_op(rng: random.Random) -> bytes:
    op = rng.choice([b'I', b'L', b'F', b'p', b'g'])
    return op + rng.choice(TEXT_NUM).encode() + b'\n'


def counted(rng: random.Random) -> bytes:
    data = bytes(rng.randrange(32, 127) for _ in range(rng.randrange(0, 6)))
    n = len(data) + rng.choice([0, 0, 0, 1, -1, 100])
    n = max(0, n)
    kind = rng.randrange(5)
    if kind == 0:
        return b'\x8c' + bytes([n & 0xff]) + data
    if kind == 1:
        return b'X' + struct.pack('<I', n) + data
    if kind == 2:
        return b'C' + bytes([n & 0xff]) + data
    if kind == 3:
        return b'B' + struct.pack('<I', n) + data
    return b'\x96' + struct.pack('<Q', n) + data  # BYTEARRAY8


def frame(rng: random.Random, rest: int) -> bytes:
    return b'\x95' + struct.pack('<Q', max(0, rest + rng.choice([0, 1, -1, 5, 1 << 20])))


SIMPLE = [b'N', b')', b']', b'}', b'(', b'0', b'1', b'2', b'\x88', b'\x89', b'\x8f', b'\x94',
          b'K\x01', b'M\x01\x00', b'J\x01\x00\x00\x00', b'h\x00', b'q\x00', b'r\x00\x00\x00\x00',
          b'j\x00\x00\x00\x00', b'\x85', b'\x86', b'\x87', b't', b'l', b'e', b'a', b's', b'u',
          b'\x90', b'\x91', b'\x8a\x01\x01', b'G' + struct.pack('>d', 1.5), b'\x80\x04', b'\x80\x02',
          b'\x80\x05', b'\x80\x00', b"S'a'\n", b'Va\n', b'U\x01a', b'T\x01\x00\x00\x00a']


def prefix(rng: random.Random) -> bytes:
    parts = []
    for _ in range(rng.randrange(1, 6)):
        k = rng.random()
        if k < 0.35:
            parts.append(text_op(rng))
        elif k < 0.55:
            parts.append(counted(rng))
        else:
            parts.append(rng.choice(SIMPLE))
    body = b''.join(parts)
    if rng.random() < 0.3:
        cut = rng.randrange(0, len(body) + 1)
        body = body[:cut] + frame(rng, len(body) - cut + len(TAIL)) + body[cut:]
    return body


def record(base, data: bytes):
    imports = []

    class Rec(base):
        def find_class(self, module, name):
            imports.append(f'{module}.{name}')
            return type(name, (), {'__init__': lambda self, *a, **k: None, '__setstate__': lambda self, s: None})

        def persistent_load(self, pid):
            return None

    try:
        Rec(io.BytesIO(data)).load()
        err = None
    except Exception as exc:  # every failure is data here
        err = f'{type(exc).__name__}: {str(exc)[:120]}'
    return imports, err


def main() -> None:
    seed, count, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    rng = random.Random(seed)
    for i in range(count):
        data = prefix(rng) + TAIL
        py_imports, _ = record(pickle._Unpickler, data)
        c_imports, c_err = record(pickle.Unpickler, data)
        if set(py_imports) - set(c_imports):
            path = os.path.join(out, f'pp{seed}-{i}.pkl')
            with open(path, 'wb') as f:
                f.write(data)
            print(json.dumps({'file': path, 'c_error': c_err, 'python_imports': py_imports}), flush=True)


if __name__ == '__main__':
    main()
