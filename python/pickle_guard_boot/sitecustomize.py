"""pickle-guard bootstrap: runs before user code because its directory is first on
PYTHONPATH. Installs the enforcing unpicklers, then runs the sitecustomize this one
shadows (Debian ships one), so the child behaves as it would without us.

PICKLE_GUARD_PYTHON=0 turns the enforcement off (the chained sitecustomize still runs).
"""
import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))


def _pickle_guard_activate():
    if os.environ.get("PICKLE_GUARD_PYTHON") == "0":
        return
    # No __pycache__ inside the installed package (it may be read-only, and is shared).
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        import pickle_guard_child
        pickle_guard_child.activate()
    except Exception as err:  # never run unguarded silently: tell the parent
        sys.stderr.write("pickle-guard: enforcement could not start: %r\n" % (err,))
        _pickle_guard_report_failure(err)
    finally:
        sys.dont_write_bytecode = saved


def _pickle_guard_report_failure(err):
    path = os.environ.get("PICKLE_GUARD_REPORT")
    if not path:
        return
    import json
    line = json.dumps({"kind": "violation", "code": "bootstrap-failed", "module": "", "name": "",
                       "reason": "pickle-guard could not start in this Python child: %r" % (err,),
                       "mode": "enforce", "pid": os.getpid()}) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
    except OSError:
        pass


def _pickle_guard_chain():
    """Find and run the next `sitecustomize` on sys.path, as site.py would have."""
    import importlib.machinery
    import importlib.util

    def is_here(entry):
        try:
            return os.path.realpath(entry or os.getcwd()) == _HERE
        except OSError:
            return False

    rest = [p for p in sys.path if not is_here(p)]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_pickle_guard_activate()
_pickle_guard_chain()
