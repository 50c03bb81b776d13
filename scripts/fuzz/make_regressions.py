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


CASES = {
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
