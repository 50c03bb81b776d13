"""Differential oracle: CPython's own C Unpickler with a find_class that records
(module, name) exactly as called (before _compat_pickle mapping) and returns an inert
stub, so REDUCE/NEWOBJ/BUILD/SETITEM(S)/APPEND(S) all run without importing anything.

stdin: one hex-encoded stream per line. stdout: one JSON line per stream:
{"imports": [[module, name], ...], "error": null | "Type: message"}.
Each stream is read as consecutive pickles (a fresh Unpickler per pickle, as repeated
pickle.load(f) calls do) until the bytes end or an error. encoding='utf-8' as torch.load.
With PURE = True defined before this text (helpers.ts `oracle(streams, 'python')`) the
pure-Python pickle._Unpickler is used instead, as joblib.load uses it.
"""
import io
import json
import pickle
import resource
import sys

# A stream whose opcode crosses a FRAME end makes the C Unpickler read a memo index from
# the wrong bytes, and LONG_BINPUT 0x802e6100 asks for a 32 GB memo. Cap the address
# space so that is a quick MemoryError instead of the machine swapping.
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


class StubMeta(type):
    def __setitem__(cls, key, value):
        pass


class Stub(metaclass=StubMeta):
    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return Stub()

    def __setstate__(self, *args):
        pass

    def __setitem__(self, *args):
        pass

    def append(self, *args):
        pass

    def extend(self, *args):
        pass

    def add(self, *args):
        pass


BASE = pickle._Unpickler if globals().get('PURE') else pickle.Unpickler


class Recording(BASE):
    def __init__(self, f, log):
        super().__init__(f, encoding='utf-8')
        self.log = log

    def find_class(self, module, name):
        self.log.append([module, name])
        return Stub

    def persistent_load(self, pid):
        return Stub()


def run(data):
    log = []
    f = io.BytesIO(data)
    error = None
    while True:  # at least one load: an empty stream is an error too
        try:
            Recording(f, log).load()
        except Exception as e:  # any error ends the stream, as in a loader
            error = '%s: %s' % (type(e).__name__, e)
            break
        if f.tell() >= len(data):
            break
    return {'imports': log, 'error': error}


for line in sys.stdin:
    line = line.strip()
    sys.stdout.write(json.dumps(run(bytes.fromhex(line)), ensure_ascii=True) + '\n')
