"""What the pure-Python unpickler (pickle._Unpickler, the base of joblib's NumpyUnpickler)
and the C unpickler (pickle.Unpickler) import from a file, with inert stubs (stdlib only).

    python3 test/fuzz/record_pure_python.py FILE
prints {"python": {"imports": [...], "error": ...}, "c": {...}}.
"""
import json
import pickle
import sys


class Stub:
    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


def run(base, path):
    imports = []

    class Rec(base):
        def find_class(self, module, name):
            imports.append([module, name])
            return Stub

    error = None
    with open(path, 'rb') as f:
        try:
            Rec(f).load()
        except Exception as exc:  # every failure is data here
            error = f'{type(exc).__name__}: {exc}'
    return {'imports': imports, 'error': error}


print(json.dumps({'python': run(pickle._Unpickler, sys.argv[1]), 'c': run(pickle.Unpickler, sys.argv[1])}))
