"""What the pure-Python unpickler (pickle._Unpickler, the base of joblib's NumpyUnpickler)
and the C unpickler (pickle.Unpickler) import from a file, with inert stubs (stdlib only).

    python3 test/fuzz/record_pure_python.py FILE
prints {"python": {"imports": [...], "error": ...}, "c": {...}, "c_all": {...}}; `c_all` is
pickle.load repeated until EOF (a reader of pickle sequences).
"""
import json
import pickle
import sys


class Stub:
    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


def run(base, path, until_eof=False):
    imports = []

    class Rec(base):
        def find_class(self, module, name):
            imports.append([module, name])
            return Stub

    error = None
    with open(path, 'rb') as f:
        try:
            Rec(f).load()
            while until_eof and f.peek(1):
                Rec(f).load()
        except Exception as exc:  # every failure is data here
            error = f'{type(exc).__name__}: {exc}'
    return {'imports': imports, 'error': error}


print(json.dumps({'python': run(pickle._Unpickler, sys.argv[1]), 'c': run(pickle.Unpickler, sys.argv[1]),
                  'c_all': run(pickle.Unpickler, sys.argv[1], until_eof=True)}))
