"""pickle-guard bootstrap: runs before user code because its directory is first on
PYTHONPATH. Installs the enforcing unpicklers, then runs the sitecustomize this one
shadows (Debian ships one), so the child behaves as it would without us.

PICKLE_GUARD_PYTHON=0 turns the enforcement off (the chained sitecustomize still runs).
If enforcement cannot start (Python older than 3.8, a broken install), unpickling is
disabled in this process and the parent is told: never unguarded in silence.

This file keeps to syntax every Python can parse, so it can fail closed on all of them.
"""
import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))


def _pickle_guard_activate():
    if os.environ.get("PICKLE_GUARD_PYTHON") == "0":
        return
    if sys.version_info < (3, 8):
        _pickle_guard_fail("Python %d.%d is older than 3.8 (no audit hooks)" % sys.version_info[:2])
        return
    # No __pycache__ inside the installed package (it may be read-only, and is shared).
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        import pickle_guard_child
        pickle_guard_child.activate()
    except Exception as err:
        _pickle_guard_fail("enforcement could not start: %r" % (err,))
    finally:
        sys.dont_write_bytecode = saved


def _pickle_guard_fail(why):
    """Tell the parent, and make every unpickling entry point refuse."""
    reason = "pickle-guard could not start in this Python child (%s); unpickling is disabled" % why
    sys.stderr.write("pickle-guard: %s\n" % reason)
    _pickle_guard_report(reason)
    try:
        _pickle_guard_disable_unpickling(reason)
    except Exception as err:
        sys.stderr.write("pickle-guard: could not disable unpickling either: %r\n" % (err,))


def _pickle_guard_report(reason):
    path = os.environ.get("PICKLE_GUARD_PYTHON_REPORT")
    if not path:
        return
    import json
    line = json.dumps({"kind": "violation", "code": "bootstrap-failed", "module": "", "name": "",
                       "reason": reason, "message": reason, "mode": "enforce", "pid": os.getpid()}) + "\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
    except OSError:
        pass


def _pickle_guard_disable_unpickling(reason):
    import pickle
    modules = [pickle]
    try:
        import _pickle
        modules.append(_pickle)
    except ImportError:
        pass  # Python 2: cPickle is a separate module
    try:
        import cPickle
        modules.append(cPickle)
    except ImportError:
        pass

    def refuse(*args, **kwargs):
        raise pickle.UnpicklingError(reason)

    class RefusingUnpickler(object):
        def __init__(self, *args, **kwargs):
            raise pickle.UnpicklingError(reason)

    for module in modules:
        for attr in ("load", "loads", "_load", "_loads"):
            if hasattr(module, attr):
                setattr(module, attr, refuse)
        for attr in ("Unpickler", "_Unpickler"):
            if hasattr(module, attr):
                setattr(module, attr, RefusingUnpickler)


def _pickle_guard_chain():
    """Find and run the next `sitecustomize` on sys.path, as site.py would have."""
    try:
        import importlib.machinery
        import importlib.util
    except ImportError:
        return  # Python 2: nothing to chain with this machinery

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
