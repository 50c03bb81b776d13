"""Puts the policy into every unpickling entry point of this interpreter.

- `pickle.Unpickler` / `_pickle.Unpickler` become an enforcing subclass of the C
  unpickler, `pickle._Unpickler` an enforcing subclass of the pure-Python one, and
  `load`/`loads`/`_load`/`_loads` use them. torch, joblib, numpy and dill look these
  names up when they load, so they get the enforcing classes.
- A subclass that overrides `find_class` is wrapped (at class creation, and again
  before each load for later assignments): whatever it returns must either come from
  the enforcing base or be allowed under the names the pickle wrote.
- EXT1/2/4 are refused: the C unpickler resolves them through a copyreg registry we
  seal, the pure-Python one through dispatch entries we replace.
- An audit hook on `pickle.find_class` is the backstop for an unpickler that escaped
  the replacement (a reference to the original class): it cannot be removed.
"""
import _compat_pickle
import _pickle
import copyreg
import io
import pickle
import struct
import sys
import threading
import types

PROBE_MODULE = "__pickle_guard_probe__"
EXT_MODULE = "__pickle_guard_extension__"
_WRAPPED = "_pickle_guard_wrapped"
_C = _pickle.Unpickler
_PY = pickle._Unpickler

_policy = None
_reporter = None
_state = threading.local()
_ext_lock = threading.RLock()
_ext_keys = {}  # code -> the real (module, name), while the registry holds sentinels


# ---- which names find_class resolves ---------------------------------------------------

def _install_probe():
    """A fake module and a NAME_MAPPING entry that tell whether an unpickler maps
    Python-2 names right now (protocol < 3 and fix_imports). The C unpickler does not
    expose its protocol; its find_class reads this same mapping dict."""
    probe = types.ModuleType(PROBE_MODULE)
    probe.proto = "no-mapping"
    probe.mapped = "mapping"
    sys.modules[PROBE_MODULE] = probe
    _compat_pickle.NAME_MAPPING[(PROBE_MODULE, "proto")] = (PROBE_MODULE, "mapped")


def _maps_names(unpickler, base):
    return base.find_class(unpickler, PROBE_MODULE, "proto") == "mapping"


def _map_py2(module, name):
    """What `_compat_pickle` turns a Python-2 name into (as pickle.find_class does)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    if module in _compat_pickle.IMPORT_MAPPING:
        return _compat_pickle.IMPORT_MAPPING[module], name
    return module, name


def _resolved_names(unpickler, base, module, name):
    return _map_py2(module, name) if _maps_names(unpickler, base) else (module, name)


# ---- violations ---------------------------------------------------------------------

def _file_of(unpickler):
    return getattr(unpickler, "_pickle_guard_file", None)


def _refuse(unpickler, module, name, decision):
    _reporter.violation(decision.code, module, name, decision.reason, decision.message(),
                        _file_of(unpickler))


def _refuse_extension(unpickler, code):
    module, name = _ext_keys.get(code, ("copyreg", "extension code %s" % code))
    reason = "EXT opcode (copyreg extension code %s) refused: extension-registry lookups are never allowed" % code
    _reporter.violation("extension-registry", module, name, reason, reason, _file_of(unpickler))
    return module, name


def _check_names(unpickler, module, name):
    """Raise (enforce) or warn (report) unless the policy allows module.name."""
    if not (isinstance(module, str) and isinstance(name, str)):
        reason = "find_class called with non-string names %r, %r" % (module, name)
        _reporter.violation("dynamic-global", str(module), str(name), reason, reason, _file_of(unpickler))
        return
    decision = _policy.check(module, name)
    if not decision.allowed:
        _refuse(unpickler, module, name, decision)


# ---- objects this unpickler handed out (approval, constrained getattr) -------------------

def _approved_stack():
    stack = getattr(_state, "approved", None)
    if stack is None:
        stack = _state.approved = []
    return stack


def _approve(obj):
    stack = _approved_stack()
    if stack:
        stack[-1].append(obj)


def _remember(unpickler, obj, module, name):
    try:
        globals_ = unpickler.__dict__.setdefault("_pickle_guard_globals", {})
    except AttributeError:  # __slots__ subclass: constrained getattr will refuse
        return
    globals_[id(obj)] = (obj, module, name)


def _global_of(unpickler, obj):
    entry = getattr(unpickler, "_pickle_guard_globals", {}).get(id(obj))
    return None if entry is None or entry[0] is not obj else entry[1:]


def _constrained_getattr(unpickler):
    """`builtins.getattr` as the Node side allows it: only on a global this pickle loaded,
    judged as the derived import `module.Class.NAME` (exact entries only)."""

    def getattr_(obj, attr, *default):
        origin = _global_of(unpickler, obj)
        if origin is None or not isinstance(attr, str):
            reason = "builtins.getattr applied to something that is not a global this pickle imported"
            _reporter.violation("indirect-call", "builtins", "getattr", reason, reason, _file_of(unpickler))
            return getattr(obj, attr, *default)  # report mode only
        module, name = origin[0], "%s.%s" % (origin[1], attr)
        decision = _policy.check(module, name, origin="getattr")
        if not decision.allowed:
            _refuse(unpickler, module, name, decision)
        value = getattr(obj, attr, *default)
        _remember(unpickler, value, module, name)
        return value

    return getattr_


# ---- the enforcing find_class ----------------------------------------------------------

def _checked_find_class(unpickler, base, module, name):
    if module == EXT_MODULE:  # a sealed copyreg extension (C unpickler EXT opcode)
        module, name = _refuse_extension(unpickler, int(name))
    if not (isinstance(module, str) and isinstance(name, str)):
        _check_names(unpickler, module, name)
        return base.find_class(unpickler, module, name)  # report mode only
    resolved = _resolved_names(unpickler, base, module, name)
    if resolved == ("builtins", "getattr") and not _policy.check(*resolved).allowed:
        obj = _constrained_getattr(unpickler)
    else:
        _check_names(unpickler, *resolved)
        obj = _resolve_checked(unpickler, base, module, name)
    _remember(unpickler, obj, *resolved)
    _approve(obj)
    return obj


def _resolving_stack():
    stack = getattr(_state, "resolving", None)
    if stack is None:
        stack = _state.resolving = []
    return stack


def _resolve_checked(unpickler, base, module, name):
    """The base find_class for names already judged. The audit backstop skips exactly
    this (module, name), not whatever a module import it triggers may unpickle."""
    stack = _resolving_stack()
    stack.append((module, name))
    try:
        return base.find_class(unpickler, module, name)
    finally:
        stack.pop()


def _guarded_base(unpickler):
    return _C if isinstance(unpickler, _C) else _PY


def _run_override(unpickler, call, module, name):
    """Run a subclass's own find_class. If what it returns did not come through the
    enforcing base, judge it by the names the pickle wrote."""
    stack = _approved_stack()
    stack.append([])
    try:
        obj = call(module, name)
    finally:
        approved = stack.pop()
    if not any(obj is a for a in approved):
        if isinstance(module, str) and module == EXT_MODULE:
            _refuse_extension(unpickler, int(name))
        elif isinstance(module, str) and isinstance(name, str):
            module, name = _resolved_names(unpickler, _guarded_base(unpickler), module, name)
            _check_names(unpickler, module, name)
        else:
            _check_names(unpickler, module, name)
        _remember(unpickler, obj, module, name)  # as judged, for a constrained getattr on it
    _approve(obj)
    return obj


def _wrap_class(cls):
    fn = cls.__dict__.get("find_class")
    if fn is None or getattr(fn, _WRAPPED, False):
        return

    def find_class(self, module, name):
        bound = fn.__get__(self, type(self)) if hasattr(fn, "__get__") else fn
        return _run_override(self, bound, module, name)

    setattr(find_class, _WRAPPED, True)
    find_class.__wrapped__ = fn
    type.__setattr__(cls, "find_class", find_class)


def _ensure_wrapped(unpickler):
    """Catch find_class overrides assigned after class creation (class or instance)."""
    for cls in type(unpickler).__mro__:
        if cls in (GuardedUnpickler, GuardedPyUnpickler):
            break
        _wrap_class(cls)
    own = getattr(unpickler, "__dict__", {}).get("find_class")
    if own is not None and not getattr(own, _WRAPPED, False):
        def find_class(module, name):
            return _run_override(unpickler, own, module, name)
        setattr(find_class, _WRAPPED, True)
        unpickler.__dict__["find_class"] = find_class


def _file_name(file):
    name = getattr(file, "name", None)
    return name if isinstance(name, str) else None


def _is_unregistered_ext(err):
    return str(err).startswith("unregistered extension code")


class GuardedUnpickler(_C):
    """The C unpickler with the pickle-guard policy in find_class."""

    def __init__(self, file, *args, **kwargs):
        super(GuardedUnpickler, self).__init__(file, *args, **kwargs)
        try:
            self._pickle_guard_file = _file_name(file)
        except AttributeError:
            pass
        _ensure_wrapped(self)

    def __init_subclass__(cls, **kwargs):
        super(GuardedUnpickler, cls).__init_subclass__(**kwargs)
        _wrap_class(cls)

    def find_class(self, module, name):
        return _checked_find_class(self, _C, module, name)

    def load(self):
        _ensure_wrapped(self)
        try:
            return super(GuardedUnpickler, self).load()
        except ValueError as err:
            if not _is_unregistered_ext(err):
                raise
            code = str(err).rsplit(" ", 1)[-1]
            _refuse_extension(self, code)
            raise


class GuardedPyUnpickler(_PY):
    """The pure-Python unpickler with the pickle-guard policy in find_class."""

    def __init__(self, file, *args, **kwargs):
        super(GuardedPyUnpickler, self).__init__(file, *args, **kwargs)
        try:
            self._pickle_guard_file = _file_name(file)
        except AttributeError:
            pass
        _ensure_wrapped(self)

    def __init_subclass__(cls, **kwargs):
        super(GuardedPyUnpickler, cls).__init_subclass__(**kwargs)
        _wrap_class(cls)

    def find_class(self, module, name):
        return _checked_find_class(self, _PY, module, name)

    def load(self):
        _ensure_wrapped(self)
        return super(GuardedPyUnpickler, self).load()


# ---- module-level functions ------------------------------------------------------------

def _loads_file(data):
    if isinstance(data, str):
        raise TypeError("Can't load pickle from unicode string")
    return io.BytesIO(data)


def load(file, *, fix_imports=True, encoding="ASCII", errors="strict", buffers=None):
    return GuardedUnpickler(file, fix_imports=fix_imports, encoding=encoding, errors=errors,
                            buffers=buffers).load()


def loads(data, /, *, fix_imports=True, encoding="ASCII", errors="strict", buffers=None):
    return GuardedUnpickler(_loads_file(data), fix_imports=fix_imports, encoding=encoding,
                            errors=errors, buffers=buffers).load()


def py_load(file, *, fix_imports=True, encoding="ASCII", errors="strict", buffers=None):
    return GuardedPyUnpickler(file, fix_imports=fix_imports, encoding=encoding, errors=errors,
                              buffers=buffers).load()


def py_loads(s, /, *, fix_imports=True, encoding="ASCII", errors="strict", buffers=None):
    return GuardedPyUnpickler(_loads_file(s), fix_imports=fix_imports, encoding=encoding,
                              errors=errors, buffers=buffers).load()


# ---- EXT opcodes -------------------------------------------------------------------------

def _seal_extensions():
    """Keep copyreg's code->name registry filled with sentinels only, so the C unpickler's
    EXT lookup lands in find_class as EXT_MODULE. Pickling (name->code) is untouched."""
    inverted = copyreg._inverted_registry
    for code, key in list(inverted.items()):
        if key[0] != EXT_MODULE:
            _ext_keys[code] = key
            inverted[code] = (EXT_MODULE, str(code))
    copyreg._extension_cache.clear()


def _unsealed(fn):
    def wrapper(*args, **kwargs):
        with _ext_lock:
            inverted = copyreg._inverted_registry
            for code, key in _ext_keys.items():
                inverted[code] = key
            _ext_keys.clear()
            try:
                return fn(*args, **kwargs)
            finally:
                _seal_extensions()
    wrapper.__wrapped__ = fn
    wrapper.__name__ = getattr(fn, "__name__", "wrapper")
    return wrapper


def _py_ext(size, fmt):
    def load_ext(self):
        code = struct.unpack(fmt, self.read(size))[0]
        _refuse_extension(self, code)
        self.get_extension(code)  # report mode only: behave as before
    return load_ext


def _install_ext_refusal():
    with _ext_lock:
        _seal_extensions()
    copyreg.add_extension = _unsealed(copyreg.add_extension)
    copyreg.remove_extension = _unsealed(copyreg.remove_extension)
    # In place, so the original class (and every dispatch copy made later) refuses too.
    _PY.dispatch[pickle.EXT1[0]] = _py_ext(1, "<B")
    _PY.dispatch[pickle.EXT2[0]] = _py_ext(2, "<H")
    _PY.dispatch[pickle.EXT4[0]] = _py_ext(4, "<i")


# ---- backstop ----------------------------------------------------------------------------

def _audit(event, args):
    if event != "pickle.find_class":
        return
    module, name = args
    if module == PROBE_MODULE:
        return
    stack = getattr(_state, "resolving", None)
    if stack and stack[-1] == (module, name):
        return  # already judged by the enforcing find_class
    if module == EXT_MODULE:
        _refuse_extension(None, int(name))
        return
    if _policy.check(module, name).allowed:
        return
    mapped = _map_py2(module, name)
    if mapped != (module, name) and _policy.check(*mapped).allowed:
        return  # cannot tell the protocol here; the enforcing classes can
    _check_names(None, module, name)


def install(policy, reporter):
    global _policy, _reporter
    _policy, _reporter = policy, reporter
    _install_probe()
    _install_ext_refusal()
    for module in (pickle, _pickle):
        module.Unpickler = GuardedUnpickler
        module.load = load
        module.loads = loads
    pickle._Unpickler = GuardedPyUnpickler
    pickle._load = py_load
    pickle._loads = py_loads
    sys.addaudithook(_audit)
