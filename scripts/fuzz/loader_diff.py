"""Loader-differential harness: what do the REAL loaders import from a file?

    /usr/bin/python3 scripts/fuzz/loader_diff.py [--timeout S] [--mem-mib M] FILE...
    /usr/bin/python3 scripts/fuzz/loader_diff.py --stdin      (one path per line)

For every file and every loader (torch.load(weights_only=False), joblib.load,
numpy.load(allow_pickle=True), pickle.load repeated until EOF) a forked child runs the
real loader with every `find_class` recorded, and prints one JSON line:

    {"file": ..., "loader": ..., "imports": [[module, name], ...], "error": str|null,
     "status": "ok"|"error"|"timeout"|"crash"}

`imports` are the names that reach the real import step, as the loader spells them
there (torch: after its own wrapper answered 'Storage' names and mapped torch.tensor;
the C unpickler: as written, before its Python-2 mapping, which happens inside the base
find_class). Nothing dangerous runs: only a small exact list of names the loaders need
to read a file faithfully (tensor rebuilders, ndarray reconstruction, joblib's array
wrapper ...) is resolved for real; every other name becomes an inert stub class that
accepts any construction and state. torch.jit.load (C++ unpickler, TorchScript) is
replaced by a function that refuses. Each child runs under RLIMIT_AS (its current
address space + --mem-mib), RLIMIT_CPU and an alarm, and is killed on --timeout.
"""
from __future__ import annotations

import _compat_pickle
import io
import json
import os
import pickle
import resource
import select
import signal
import sys
import time
import warnings
from typing import Any, Callable

import joblib
import numpy as np
import torch
from joblib import numpy_pickle as npk

# Names resolved for real, so the loaders read their own data as they would (array
# wrappers skip inline bytes, storages size themselves, tensors rebuild). Exact names,
# none of which runs code or reaches a module: everything else is an inert stub.
REAL = {
    ('collections', 'OrderedDict'),
    ('torch._utils', '_rebuild_tensor'), ('torch._utils', '_rebuild_tensor_v2'),
    ('torch._utils', '_rebuild_parameter'), ('torch._utils', '_rebuild_parameter_with_state'),
    ('torch._tensor', '_rebuild_from_type_v2'), ('torch._utils', '_rebuild_from_type'),
    ('torch', 'Size'), ('torch', 'device'), ('torch', 'Tensor'), ('torch._tensor', 'Tensor'),
    ('torch.nn.parameter', 'Parameter'),
    ('torch', 'float32'), ('torch', 'float64'), ('torch', 'int64'), ('torch', 'bfloat16'),
    ('numpy.core.multiarray', '_reconstruct'), ('numpy', 'ndarray'), ('numpy', 'dtype'),
    ('numpy.core.multiarray', 'scalar'),
    ('joblib.numpy_pickle', 'NumpyArrayWrapper'),
    ('builtins', 'set'), ('builtins', 'frozenset'), ('builtins', 'complex'),
    ('builtins', 'slice'), ('builtins', 'bytearray'), ('__builtin__', 'set'),
    ('_codecs', 'encode'),
}
STORAGE_PREFIX = 'torch'  # torch.<X>Storage classes are plain typed-storage classes
LOADERS = ('torch', 'joblib', 'numpy', 'pickle')


class Stub:
    """Inert stand-in for any global: any construction, call, state or attribute is a no-op."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return Stub()

    # SETITEM(S), APPEND(S) and ADDITEMS on a stub go on instead of stopping the reading
    # (a reading that stops early could hide a later import).
    def __setitem__(self, key: Any, value: Any) -> None:
        pass

    def append(self, value: Any) -> None:
        pass

    def extend(self, values: Any) -> None:
        pass

    def add(self, value: Any) -> None:
        pass


IMPORTS: list[list[str]] = []


def resolve(module: str, name: str, real: Callable[[str, str], Any]) -> Any:
    """Record one import; resolve it for real only if it is on the exact REAL list."""
    IMPORTS.append([module, name])
    is_storage = module == STORAGE_PREFIX and name.endswith('Storage') and name.isidentifier()
    if (module, name) in REAL or is_storage:
        return real(module, name)
    return type(f'{module}.{name}', (Stub,), {})


class RecordingUnpickler(pickle.Unpickler):
    """The C unpickler with find_class recorded (torch's wrapper subclasses this)."""

    def find_class(self, module: str, name: str) -> Any:
        return resolve(module, name, super().find_class)


def recording_module() -> Any:
    """A stand-in for the `pickle` module torch.serialization uses."""
    import types
    mod = types.ModuleType('pickle')
    mod.__dict__.update({k: v for k, v in vars(pickle).items() if not k.startswith('__')})
    mod.Unpickler = RecordingUnpickler  # type: ignore[attr-defined]
    mod.load = lambda f, **kw: RecordingUnpickler(f, **kw).load()  # type: ignore[attr-defined]
    mod.loads = lambda b, **kw: RecordingUnpickler(io.BytesIO(b), **kw).load()  # type: ignore[attr-defined]
    return mod


def refuse_jit(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError('torch.jit.load not run by the harness (C++ unpickler)')


def patch_all() -> None:
    """Route every loader's unpickling through the recorder (runs in the child only)."""
    torch.serialization.pickle = recording_module()  # type: ignore[attr-defined]
    torch.jit.load = refuse_jit  # type: ignore[assignment]
    pickle.load = lambda f, **kw: RecordingUnpickler(f, **kw).load()  # type: ignore[assignment]
    pickle.loads = lambda b, **kw: RecordingUnpickler(io.BytesIO(b), **kw).load()  # type: ignore[assignment]
    orig_find = npk.NumpyUnpickler.find_class
    npk.NumpyUnpickler.find_class = (  # type: ignore[method-assign]
        lambda self, m, n: resolve(m, n, lambda a, b: orig_find(self, a, b)))


def load_torch(path: str) -> None:
    torch.load(path, weights_only=False, map_location='cpu')


def load_joblib(path: str) -> None:
    joblib.load(path)


def load_numpy(path: str) -> None:
    out = np.load(path, allow_pickle=True)
    if isinstance(out, np.lib.npyio.NpzFile):
        with out:
            for key in out.files:
                out[key]


def load_pickle(path: str) -> None:
    """pickle.load until EOF, as a naive reader of a pickle sequence does."""
    with open(path, 'rb') as f:
        while True:
            try:
                RecordingUnpickler(f).load()
            except EOFError:
                return


RUN: dict[str, Callable[[str], None]] = {
    'torch': load_torch, 'joblib': load_joblib, 'numpy': load_numpy, 'pickle': load_pickle,
}


def vm_bytes() -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmSize:'):
                return int(line.split()[1]) * 1024
    return 0


def child(path: str, loader: str, mem_mib: int, timeout: float, wfd: int) -> None:
    """Runs in the forked child: cap resources, load, write one JSON object, exit."""
    error = None
    try:
        cap = vm_bytes() + mem_mib * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        cpu = int(timeout) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        signal.alarm(int(timeout) + 1)
        warnings.simplefilter('ignore')
        patch_all()
        RUN[loader](path)
    except BaseException as exc:  # noqa: BLE001 - every failure is data here
        error = f'{type(exc).__name__}: {str(exc)[:200]}'
    out = json.dumps({'imports': IMPORTS, 'error': error}).encode()
    try:
        os.write(wfd, out)
    finally:
        os._exit(0)


def run_one(path: str, loader: str, mem_mib: int, timeout: float) -> dict[str, Any]:
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        child(path, loader, mem_mib, timeout, wfd)
    os.close(wfd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    status = 'ok'
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            status = 'timeout'
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([rfd], [], [], left)
        if ready:
            chunk = os.read(rfd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    os.close(rfd)
    _, wstatus = os.waitpid(pid, 0)
    row: dict[str, Any] = {'file': path, 'loader': loader, 'imports': [], 'error': None, 'status': status}
    if status == 'timeout':
        row['error'] = f'timeout after {timeout}s'
        return row
    try:
        got = json.loads(b''.join(chunks))
        row['imports'] = got['imports']
        row['error'] = got['error']
        row['status'] = 'error' if got['error'] else 'ok'
    except ValueError:
        row['status'] = 'crash'
        row['error'] = f'child died (wait status {wstatus})'
    return row


def mapped(module: str, name: str) -> list[str]:
    """The Python-2 mapping the C unpickler applies for protocol < 3 (for the driver's comparison)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    elif module in _compat_pickle.IMPORT_MAPPING:
        module = _compat_pickle.IMPORT_MAPPING[module]
    return [module, name]


def main(argv: list[str]) -> int:
    timeout, mem_mib, loaders = 10.0, 1024, list(LOADERS)
    files: list[str] = []
    args = iter(argv)
    for a in args:
        if a == '--timeout':
            timeout = float(next(args))
        elif a == '--mem-mib':
            mem_mib = int(next(args))
        elif a == '--loaders':
            loaders = next(args).split(',')
        elif a == '--stdin':
            files.extend(line.strip() for line in sys.stdin if line.strip())
        else:
            files.append(a)
    for path in files:
        for loader in loaders:
            row = run_one(path, loader, mem_mib, timeout)
            row['mapped'] = [mapped(m, n) for m, n in row['imports']]
            print(json.dumps(row), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
