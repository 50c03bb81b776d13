/**
 * Names that can run code, import modules, touch files or the network, fetch arbitrary
 * attributes or start another deserializer. The policy never suggests them, never lets a
 * glob allow them, and blocks them as `global-denied` unless an exact allow entry in a
 * policy names them (a deliberate, visible choice). The curated test list in
 * `test/policy/dangerous.ts` must stay a subset of what this flags.
 *
 * Entries are dotted names. `x.y.**` flags `x.y` and everything below it; anything else is
 * exact. A name is flagged when it, or any dotted tail of it, is on the list, so
 * `numpy` + `os.system` (tail `os.system`) is caught too.
 */

/** [entry, why] pairs. Keep each reason to one line. */
const LIST: ReadonlyArray<readonly [string, string]> = [
  // builtins that evaluate, import, open or reach into objects
  ['builtins.eval', 'evaluates Python source'],
  ['builtins.exec', 'executes Python source'],
  ['builtins.compile', 'compiles Python source'],
  ['builtins.__import__', 'imports any module'],
  ['builtins.open', 'opens files'],
  ['builtins.getattr', 'fetches any attribute (only the constrained form is checked, as Class.NAME)'],
  ['builtins.setattr', 'overwrites attributes'],
  ['builtins.delattr', 'deletes attributes'],
  ['builtins.globals', 'exposes module globals'],
  ['builtins.locals', 'exposes frame locals'],
  ['builtins.vars', 'exposes object dictionaries'],
  ['builtins.input', 'reads from the terminal'],
  ['builtins.breakpoint', 'starts a debugger'],
  ['builtins.help', 'starts the interactive help system'],
  ['builtins.exit', 'exits the process'],
  ['builtins.quit', 'exits the process'],
  ['builtins.print', 'writes to stdout or any file object'],
  ['builtins.memoryview', 'exposes raw memory of objects'],
  ['builtins.apply', 'calls any callable (Python 2)'],
  ['builtins.execfile', 'executes a file (Python 2)'],
  ['builtins.reload', 're-imports a module (Python 2)'],
  ['builtins.file', 'opens files (Python 2)'],
  // process, OS and interpreter control
  ['os.**', 'runs commands, reads and writes files'],
  ['posix.**', 'runs commands, reads and writes files'],
  ['nt.**', 'runs commands, reads and writes files'],
  ['subprocess.**', 'runs commands'],
  ['_posixsubprocess.**', 'runs commands'],
  ['pty.**', 'spawns processes'],
  ['sys.**', 'interpreter state, module table, exit'],
  ['signal.**', 'installs signal handlers'],
  ['ctypes.**', 'calls native code'],
  ['_ctypes.**', 'calls native code'],
  ['multiprocessing.**', 'spawns processes'],
  ['threading.**', 'starts threads'],
  ['_thread.**', 'starts threads'],
  ['asyncio.**', 'runs event loops, subprocesses and sockets'],
  ['gc.**', 'reaches every live object'],
  ['atexit.**', 'registers code to run at exit'],
  ['shutil.**', 'copies, moves and deletes files'],
  ['tempfile.**', 'creates files'],
  ['glob.**', 'lists files'],
  ['io.**', 'opens files'],
  ['_io.**', 'opens files'],
  ['codecs.open', 'opens files'],
  ['codecs.lookup', 'looks up codecs by name (codec registry can import)'],
  ['fileinput.**', 'reads files'],
  ['linecache.**', 'reads files'],
  ['tarfile.**', 'reads and writes archives on disk'],
  ['zipfile.**', 'reads and writes archives on disk'],
  ['sqlite3.**', 'opens databases on disk'],
  ['dbm.**', 'opens databases on disk'],
  ['mmap.**', 'maps files into memory'],
  ['webbrowser.**', 'starts programs'],
  // importing and evaluating code
  ['importlib.**', 'imports modules'],
  ['imp.**', 'imports modules'],
  ['pkgutil.**', 'imports modules by name'],
  ['zipimport.**', 'imports code from archives'],
  ['runpy.**', 'runs modules'],
  ['code.**', 'interactive interpreter'],
  ['codeop.**', 'compiles code'],
  ['pdb.**', 'debugger: runs code'],
  ['bdb.**', 'debugger: runs code'],
  ['timeit.**', 'runs code strings'],
  ['trace.**', 'runs code'],
  ['profile.**', 'runs code strings'],
  ['cProfile.**', 'runs code strings'],
  ['doctest.**', 'runs code from docstrings'],
  ['inspect.**', 'reaches frames and source'],
  ['types.**', 'builds functions and code objects'],
  ['functools.**', 'partial/reduce call any callable'],
  ['_functools.**', 'partial/reduce call any callable'],
  ['operator.**', 'attrgetter/methodcaller fetch and call anything'],
  ['_operator.**', 'attrgetter/methodcaller fetch and call anything'],
  ['collections.namedtuple', 'builds a class with exec'],
  ['copyreg.add_extension', 'changes how pickles resolve globals'],
  ['copyreg.pickle', 'changes how objects pickle'],
  ['builtins.staticmethod', 'wraps arbitrary callables'],
  ['logging.config.**', 'listens on sockets and evaluates config'],
  // another deserializer
  ['pickle.**', 'another unpickler'],
  ['_pickle.**', 'another unpickler'],
  ['cPickle.**', 'another unpickler'],
  ['pickletools.**', 'pickle tooling'],
  ['marshal.**', 'loads code objects'],
  ['shelve.**', 'opens pickle databases'],
  ['dill.**', 'another unpickler that serialises code'],
  ['cloudpickle.**', 'another unpickler that serialises code'],
  ['joblib.load', 'another unpickler'],
  ['joblib.dump', 'writes files'],
  ['joblib.numpy_pickle.load', 'another unpickler'],
  ['joblib.numpy_pickle.dump', 'writes files'],
  ['joblib.parallel.**', 'starts workers and runs callables'],
  ['joblib.Parallel', 'starts workers and runs callables'],
  ['joblib.delayed', 'wraps callables to run later'],
  ['joblib.Memory', 'reads and writes a cache on disk'],
  ['joblib.memory.**', 'reads and writes a cache on disk'],
  ['joblib.numpy_pickle.NumpyUnpickler', 'another unpickler'],
  ['joblib.numpy_pickle.NumpyPickler', 'writes pickles'],
  ['joblib.numpy_pickle.load_temporary_memmap', 'maps files'],
  ['joblib.numpy_pickle_compat.**', 'old format: wrappers read arrays from separate files by name'],
  ['joblib.numpy_pickle_utils.**', 'opens files'],
  ['joblib.externals.**', 'vendored cloudpickle and loky (process pools)'],
  ['joblib.pool.**', 'process pools'],
  ['joblib.executor.**', 'process pools'],
  ['joblib._parallel_backends.**', 'workers'],
  ['joblib._store_backends.**', 'disk stores'],
  ['joblib.disk.**', 'deletes files'],
  ['yaml.**', 'YAML loaders can construct arbitrary objects'],
  // command runners and file writers found in the standard library and tooling (bypass corpus gadgets)
  ['pip.**', 'installs and runs packages'],
  ['ensurepip.**', 'runs pip'],
  ['distutils.**', 'file_util.write_file, spawn.spawn'],
  ['setuptools.**', 'builds and runs code'],
  ['pydoc.**', 'pagers run shell commands; locate imports modules'],
  ['_pyrepl.**', 'pager pipes to a command'],
  ['_osx_support.**', 'runs commands'],
  ['_aix_support.**', 'runs commands'],
  ['uuid._**', 'private helpers run commands (_get_command_stdout); uuid.UUID stays safe'],
  ['platform.**', 'runs commands (_syscmd_file, popen)'],
  ['imaplib.**', 'IMAP4_stream spawns a command; network'],
  ['poplib.**', 'network'],
  ['nntplib.**', 'network'],
  ['socketserver.**', 'network servers'],
  ['mailcap.**', 'runs commands from mailcap entries'],
  ['logging.**', 'handlers create files and open sockets'],
  ['venv.**', 'creates environments and runs pip'],
  ['zipapp.**', 'writes archives'],
  ['compileall.**', 'compiles and writes files'],
  ['py_compile.**', 'compiles and writes files'],
  ['filecmp.**', 'reads files'],
  ['netrc.**', 'reads credential files'],
  ['mimetypes.**', 'reads files'],
  ['bz2.**', 'opens files; decompression'],
  ['gzip.**', 'opens files; decompression'],
  ['lzma.**', 'opens files; decompression'],
  ['zlib.**', 'decompression bombs'],
  ['faulthandler.**', 'writes to files'],
  ['_signal.**', 'installs signal handlers'],
  ['select.**', 'waits on descriptors'],
  ['fcntl.**', 'file-descriptor control'],
  ['resource.**', 'changes process limits'],
  ['sched.**', 'runs scheduled callables'],
  ['concurrent.**', 'executors run callables in threads and processes'],
  ['unittest.**', 'mock objects call anything; test runners run code'],
  ['test.**', "CPython's test helpers run scripts"],
  ['pytest.**', 'runs code'],
  ['_pytest.**', 'runs code'],
  ['idlelib.**', 'runs code; importing idlelib.idle starts IDLE'],
  ['antigravity.**', 'importing it opens a web browser'],
  ['turtledemo.**', 'runs demo scripts'],
  ['tkinter.**', 'GUI event loop, runs Tcl'],
  ['_tkinter.**', 'runs Tcl'],
  ['xml.**', 'parsers can fetch external entities (files, network)'],
  ['copy.**', 'runs objects\' reduce/copy hooks'],
  ['weakref.finalize', 'calls a callable later'],
  ['dataclasses.**', 'generates and execs code'],
  ['typing.get_type_hints', 'evaluates annotation strings'],
  ['typing._eval_type', 'evaluates annotation strings'],
  ['typing.ForwardRef', 'compiles annotation strings'],
  ['_winapi.**', 'Windows process control'],
  ['msvcrt.**', 'Windows console and files'],
  ['winreg.**', 'Windows registry'],
  ['_winreg.**', 'Windows registry (Python 2)'],
  ['srsly.**', 'vendors cloudpickle and other deserializers'],
  // network
  ['socket.**', 'network'],
  ['_socket.**', 'network'],
  ['ssl.**', 'network'],
  ['http.**', 'network'],
  ['urllib.**', 'network'],
  ['urllib2.**', 'network (Python 2)'],
  ['ftplib.**', 'network'],
  ['smtplib.**', 'network'],
  ['telnetlib.**', 'network'],
  ['xmlrpc.**', 'network'],
  ['requests.**', 'network'],
  // torch
  ['torch.load', 'another unpickler'],
  ['torch.save', 'writes files'],
  ['torch.serialization.**', 'torch.load/save and file access'],
  ['torch.hub.**', 'downloads and runs code'],
  ['torch.jit.**', 'loads and compiles TorchScript'],
  ['torch._C._jit_**', 'TorchScript internals'],
  ['torch.storage._load_from_bytes', 'runs torch.load on embedded bytes'],
  ['torch.fx.**', 'GraphModule re-executes generated Python code'],
  ['torch.package.**', 'imports code shipped inside the package'],
  ['torch.ops.**', 'calls any registered operator'],
  ['torch.classes.**', 'instantiates registered C++ classes'],
  ['torch.utils.cpp_extension.**', 'compiles and loads native code'],
  ['torch.utils.data.**', 'data loaders start worker processes'],
  ['torch.distributed.**', 'network'],
  ['torch.multiprocessing.**', 'spawns processes'],
  ['torch._dynamo.**', 'compiles and runs code'],
  ['torch._inductor.**', 'compiles and runs code'],
  ['torch.compile', 'compiles and runs code'],
  ['torch.from_file', 'reads files'],
  ['torch.UntypedStorage.from_file', 'reads files'],
  ['torch._weights_only_unpickler.**', 'another unpickler'],
  ['torch.testing.**', 'test helpers run code'],
  ['torch.utils.model_zoo.**', 'downloads and loads files'],
  ['torch.utils.tensorboard.**', 'writes files'],
  ['torch.utils.collect_env.**', 'runs commands'],
  ['torch.utils.bottleneck.**', 'runs scripts'],
  ['torch.library.**', 'registers operators'],
  ['torch._ops.**', 'calls any registered operator'],
  ['torch.export.**', 'another deserializer'],
  ['torch._export.**', 'another deserializer'],
  ['torch._C._load_for_lite_interpreter', 'loads TorchScript'],
  ['torch._C.import_ir_module', 'loads TorchScript'],
  ['torch._C.import_ir_module_from_buffer', 'loads TorchScript'],
  // numpy
  ['numpy.load', 'another unpickler (allow_pickle) and file access'],
  ['numpy.save', 'writes files'],
  ['numpy.savez', 'writes files'],
  ['numpy.savez_compressed', 'writes files'],
  ['numpy.savetxt', 'writes files'],
  ['numpy.loadtxt', 'reads files'],
  ['numpy.genfromtxt', 'reads files'],
  ['numpy.fromfile', 'reads files'],
  ['numpy.fromregex', 'reads files'],
  ['numpy.memmap', 'maps files'],
  ['numpy.DataSource', 'downloads files'],
  ['numpy.lib.npyio.**', 'file loaders'],
  ['numpy.lib._npyio_impl.**', 'file loaders'],
  ['numpy.lib.format.**', 'file readers'],
  ['numpy.lib._datasource.**', 'downloads files'],
  ['numpy.testing.**', 'runs code and subprocesses'],
  ['numpy.f2py.**', 'compiles and loads native code'],
  ['numpy.distutils.**', 'builds native code'],
  ['numpy.ctypeslib.**', 'loads native libraries'],
  ['numpy.core._internal.**', 'ctypes helpers'],
  ['numpy._core._internal.**', 'ctypes helpers'],
  ['numpy.lib.utils.**', 'source lookup and info printing'],
  ['numpy.core._ufunc_reconstruct', 'imports a module by name and fetches an attribute'],
  ['numpy._core._ufunc_reconstruct', 'imports a module by name and fetches an attribute'],
  ['numpy.core.memmap.**', 'maps files'],
  ['numpy._core.memmap.**', 'maps files'],
  ['numpy.seterrcall', 'installs a callable run on floating-point errors'],
  ['numpy.set_string_function', 'installs a callable used for repr'],
  ['numpy.core._ufunc_config.**', 'installs error callables'],
  ['numpy._core._ufunc_config.**', 'installs error callables'],
  ['numpy.rec.fromfile', 'reads files'],
  ['numpy.core.records.fromfile', 'reads files'],
  ['numpy._core.records.fromfile', 'reads files'],
  ['numpy.ma.mrecords.fromtextfile', 'reads files'],
  ['numpy.vectorize', 'wraps any callable'],
  ['numpy.frompyfunc', 'wraps any callable'],
  ['numpy.apply_along_axis', 'calls any callable'],
  ['numpy.apply_over_axes', 'calls any callable'],
  ['numpy.piecewise', 'calls any callable'],
  ['numpy.fromfunction', 'calls any callable'],
  // pandas / sklearn / scipy
  ['pandas.read_pickle', 'another unpickler'],
  ['pandas.eval', 'evaluates expressions'],
  ['pandas.io.**', 'file and network readers'],
  ['pandas.read_**', 'every reader: files, URLs, databases, pickles'],
  ['pandas.to_pickle', 'writes files'],
  ['pandas._testing.**', 'test helpers'],
  ['pandas.util._tester.**', 'runs tests'],
  ['pandas.set_option', 'changes global options (io engines)'],
  ['pandas._config.**', 'changes global options (io engines)'],
  ['pandas.core.computation.**', 'evaluates expressions'],
  ['sklearn.datasets.**', 'downloads data'],
  ['sklearn.utils._testing.**', 'test helpers that run code'],
  ['sklearn.externals.**', 'vendored joblib and others'],
  ['sklearn.utils.parallel.**', 'runs callables in workers'],
  ['sklearn.utils._joblib.**', 'joblib load/dump and workers'],
  ['sklearn.utils.estimator_checks.**', 'runs estimator test suites'],
  ['scipy.io.**', 'file readers'],
  ['scipy.weave.**', 'compiles code'],
  ['scipy.datasets.**', 'downloads data'],
  ['scipy.LowLevelCallable', 'calls native function pointers'],
  ['scipy._lib._ccallback.**', 'calls native function pointers'],
  ['scipy._lib._testutils.**', 'runs code'],
];

/**
 * Names under a flagged prefix that are known to be inert: each only looks something up
 * in a fixed table or returns its argument. Checked against torch 1.13 source.
 */
const SAFE_EXCEPTIONS: ReadonlySet<string> = new Set([
  'torch.serialization._get_layout', // layout from a fixed name table
  'torch.jit._pickle.build_intlist', // returns its argument
  'torch.jit._pickle.build_tensorlist',
  'torch.jit._pickle.build_doublelist',
  'torch.jit._pickle.build_boollist',
  'torch.jit._pickle.build_tensor_from_id',
  'torch.jit._pickle.restore_type_tag',
]);

function split(list: typeof LIST): { exact: Map<string, string>; prefixes: Map<string, string> } {
  const exact = new Map<string, string>();
  const prefixes = new Map<string, string>();
  for (const [entry, why] of list) {
    if (entry.endsWith('.**')) prefixes.set(entry.slice(0, -3), why);
    else if (entry.endsWith('_**')) prefixes.set(entry.slice(0, -2), why); // name prefix within a segment
    else exact.set(entry, why);
  }
  return { exact, prefixes };
}

const { exact: EXACT, prefixes: PREFIXES } = split(LIST);

/** Every entry, as written (for docs, the Python form and tests). */
export const DANGEROUS_ENTRIES: readonly string[] = LIST.map(([entry]) => entry);

/** Exact names and `prefix` strings (a name is flagged when it equals a prefix or starts with `prefix.`; `_**` prefixes match any continuation). */
export const DANGEROUS_EXACT: readonly string[] = [...EXACT.keys()];
export const DANGEROUS_PREFIXES: readonly string[] = [...PREFIXES.keys()];
export const DANGEROUS_EXCEPTIONS: readonly string[] = [...SAFE_EXCEPTIONS];

/** Prefixes ending in `_` match any continuation (`torch._C._jit_`); the rest match whole segments. */
const OPEN_PREFIXES = [...PREFIXES].filter(([p]) => p.endsWith('_'));

function reasonForWhole(name: string): string | undefined {
  if (SAFE_EXCEPTIONS.has(name)) return undefined;
  const exact = EXACT.get(name);
  if (exact !== undefined) return exact;
  // Look up each dotted prefix of the name (a.b.c: a, a.b, a.b.c) instead of scanning the list.
  for (let dot = name.indexOf('.'); ; dot = name.indexOf('.', dot + 1)) {
    const why = PREFIXES.get(dot < 0 ? name : name.slice(0, dot));
    if (why !== undefined) return why;
    if (dot < 0) break;
  }
  for (const [prefix, why] of OPEN_PREFIXES) if (name.startsWith(prefix)) return why;
  return undefined;
}

/**
 * Why `module.name` is dangerous, or undefined. Dotted tails of the name are checked
 * too, since `numpy` + `os.system` reaches `os.system` by attribute traversal. (Tails of
 * the module are not: CPython imports the module by its full dotted name.)
 */
export function dangerReason(module: string, name: string): string | undefined {
  const whole = reasonForWhole(`${module}.${name}`);
  if (whole !== undefined) return whole;
  const segments = name.split('.');
  for (let i = 0; i < segments.length - 1; i++) {
    const tail = segments.slice(i).join('.');
    const why = reasonForWhole(tail);
    if (why !== undefined) return `reaches ${tail}: ${why}`;
  }
  return undefined;
}
