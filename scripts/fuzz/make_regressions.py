"""Writes the minimised fuzz findings to test/fixtures/fuzz/ (stdlib python3 only).

    python3 scripts/fuzz/make_regressions.py [OUTDIR]

Each case is the smallest file found for one root cause; docs/fuzzing.md says what each
one is, which loader reads it differently and what the scanner missed. The command an
argument names is harmless (`true`): the harness never runs it anyway.
"""
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'fuzz')


def sbu(s: str) -> bytes:
    """SHORT_BINUNICODE + MEMOIZE."""
    b = s.encode()
    return b'\x8c' + bytes([len(b)]) + b + b'\x94'


def posix_system_call() -> bytes:
    """posix.system('true') through STACK_GLOBAL + REDUCE, then STOP."""
    return sbu('posix') + sbu('system') + b'\x93\x94' + sbu('true') + b'\x85\x94R\x94.'


def overdeclared_frame(extra: int) -> bytes:
    """A complete protocol-4 pickle whose one FRAME declares `extra` bytes more than the file holds.

    The C unpickler (pickle.load, torch, numpy) fails at the FRAME ("pickle data was
    truncated") before any import; the pure-Python unpickler (joblib's NumpyUnpickler)
    reads what there is as the frame and runs it to STOP.
    """
    body = posix_system_call()
    return b'\x80\x04\x95' + struct.pack('<Q', len(body) + extra) + body


def float_text_first(text: bytes) -> bytes:
    """A protocol-0 pickle that starts with FLOAT <text>, pops it, then calls posix.system('true').

    Python's float() (the pure-Python unpickler's load_float) accepts surrounding
    whitespace and digit underscores; the C unpickler's PyOS_string_to_double does not,
    so it fails at offset 0, before any import.
    """
    return b'F' + text + b"\n0cposix\nsystem\n(S'true'\ntR."


def legacy_with_tail() -> bytes:
    """A torch legacy file (magic, protocol 1001, sys_info, object {}, storage keys []) with a
    sixth pickle after it. torch.load stops after the key list (no storages to read);
    pickle.load repeated until EOF reads the sixth pickle and calls posix.system.
    Written byte by byte (protocol 2, what torch.save's legacy path uses).
    """
    magic = b'\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.'
    version = b'\x80\x02M\xe9\x03.'
    sys_info = b'\x80\x02}q\x00(X\x10\x00\x00\x00protocol_versionq\x01M\xe9\x03X\r\x00\x00\x00little_endianq\x02\x88u.'
    obj = b'\x80\x02}q\x00.'
    keys = b'\x80\x02]q\x00.'
    tail = b"cposix\nsystem\n(S'true'\ntR."
    return magic + version + sys_info + obj + keys + tail


# np.array([None, 'x'], dtype=object) pickled by NumPy 1.24 (protocol 2), with the
# shape in the ndarray state changed from (2,) to (3,): the state's object list has
# two items for three slots. Written as bytes so this script needs no NumPy.
OBJECT_ARRAY_SHAPE_3_LIST_2 = bytes.fromhex(
    '8002636e756d70792e636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7100636e756d70790a'
    '6e6461727261790a71014b00857102635f636f646563730a656e636f64650a7103580100000062710458060000006c'
    '6174696e317105867106527107877108527109284b014b0385710a636e756d70790a64747970650a710b5802000000'
    '4f38710c898887710d52710e284b0358010000007c710f4e4e4e4affffffff4affffffff4b3f74711062895d711128'
    '4e580100000078711265747113622e')


CASES = {
    'numpy_object_array_shape_past_list.pkl': OBJECT_ARRAY_SHAPE_3_LIST_2,
    'legacy_tail_after_keys.pt': legacy_with_tail(),
    'float_tab_first.pkl': float_text_first(b'\t1.5'),
    'float_underscore_first.joblib': float_text_first(b'1_0'),
    'frame_overdeclared_by_1.pkl': overdeclared_frame(1),
    'frame_overdeclared_by_16m.joblib': overdeclared_frame(16 << 20),
}


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else OUT
    os.makedirs(out, exist_ok=True)
    for name, data in CASES.items():
        with open(os.path.join(out, name), 'wb') as f:
            f.write(data)
        print(name, len(data))


if __name__ == '__main__':
    main()
