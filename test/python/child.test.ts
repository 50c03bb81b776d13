/**
 * Real python3 children launched with the environment preparePythonChild returns:
 * the policy is enforced inside the child at find_class time.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { preparePythonChild, PYTHON_BOOT_DIR } from '../../src/guard/python/index.js';
import { policyFromList } from '../../src/policy/index.js';
import { scanFile } from '../../src/scan/index.js';
import {
  BASIC_POLICY,
  callPickle,
  emptyCallPickle,
  loaderScript,
  policyFromYaml,
  runPython,
  tempDir,
  touchPickle,
} from './helpers.js';

const policy = policyFromYaml(BASIC_POLICY);
const LOAD_FILE = loaderScript('pickle.load(open(path, "rb"))');

function fileWith(bytes: Buffer, name = 'model.pkl'): { dir: string; path: string; marker: string } {
  const dir = tempDir();
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return { dir, path, marker: join(dir, 'PWNED') };
}

describe('python child: basic enforcement', () => {
  it('a benign pickle loads and nothing is reported', () => {
    const { path } = fileWith(emptyCallPickle('collections', 'OrderedDict'));
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(LOAD_FILE, [path], child.env);
    assert.equal(r.stdout.trim(), 'LOADED OrderedDict', r.stderr);
    assert.deepEqual(child.afterExit(), []);
  });

  it('the malicious pickle really runs its payload without the guard (control)', () => {
    const dir = tempDir();
    const marker = join(dir, 'PWNED');
    const path = join(dir, 'evil.pkl');
    writeFileSync(path, touchPickle(marker));
    const r = runPython(LOAD_FILE, [path], process.env);
    assert.match(r.stdout, /^LOADED/);
    assert.equal(existsSync(marker), true);
  });

  it('a malicious pickle raises in the child, never runs, and the parent learns what and where', () => {
    const dir = tempDir();
    const marker = join(dir, 'PWNED');
    const path = join(dir, 'evil.pkl');
    writeFileSync(path, touchPickle(marker));
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(LOAD_FILE, [path], child.env);
    assert.match(r.stdout, /^BLOCKED PickleGuardViolation global-denied pickle-guard blocked os\.system/);
    assert.equal(existsSync(marker), false);
    const violations = child.afterExit();
    assert.equal(violations.length, 1);
    const v = violations[0]!;
    assert.equal(v.code, 'global-denied');
    assert.equal(v.module, 'os');
    assert.equal(v.name, 'system');
    assert.equal(v.file, path);
    assert.equal(v.mode, 'enforce');
    assert.match(v.reason, /known-dangerous list/);
    assert.equal(typeof v.pid, 'number');
  });

  it('a name that is simply not allowed is refused with the allow-list line to add', () => {
    const { path } = fileWith(emptyCallPickle('collections', 'Counter'));
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(LOAD_FILE, [path], child.env);
    assert.match(r.stdout, /^BLOCKED PickleGuardViolation global-not-allowed/);
    const [v] = child.afterExit();
    assert.equal(v?.code, 'global-not-allowed');
    assert.match(v?.message ?? '', /If you trust this model, add to the policy's allow list: - collections\.Counter$/);
  });

  it('afterExit reads once and cleans up: a second call returns the same result', () => {
    const { path } = fileWith(emptyCallPickle('collections', 'Counter'));
    const child = preparePythonChild({ env: process.env, policy });
    runPython(LOAD_FILE, [path], child.env);
    const first = child.afterExit();
    assert.equal(first.length, 1);
    assert.equal(existsSync(child.env.PICKLE_GUARD_PYTHON_REPORT!), false);
    assert.deepEqual(child.afterExit(), first);
  });

  it('every unpickling entry point is guarded (pickle, _pickle, pure-Python, Unpickler classes)', () => {
    const loaders = [
      'pickle.loads(open(path, "rb").read())',
      'pickle.load(open(path, "rb"))',
      'pickle.Unpickler(open(path, "rb")).load()',
      '__import__("_pickle").loads(open(path, "rb").read())',
      '__import__("_pickle").load(open(path, "rb"))',
      '__import__("_pickle").Unpickler(open(path, "rb")).load()',
      'pickle._loads(open(path, "rb").read())',
      'pickle._load(open(path, "rb"))',
      'pickle._Unpickler(open(path, "rb")).load()',
    ];
    for (const loader of loaders) {
      const { path, marker } = fileWith(Buffer.alloc(0));
      writeFileSync(path, touchPickle(marker));
      const child = preparePythonChild({ env: process.env, policy });
      const r = runPython(loaderScript(loader), [path], child.env);
      assert.match(r.stdout, /^BLOCKED PickleGuardViolation global-denied/, `${loader}: ${r.stdout}${r.stderr}`);
      assert.equal(existsSync(marker), false, loader);
      assert.equal(child.afterExit().length, 1, loader);
    }
  });

  it('an allowed module that unpickles with the original class while it is being imported is still caught', () => {
    const lib = tempDir();
    const marker = join(lib, 'PWNED');
    mkdirSync(join(lib, 'mylab'));
    writeFileSync(join(lib, 'mylab', '__init__.py'), '');
    writeFileSync(
      join(lib, 'mylab', 'sneaky.py'),
      `import io, pickle\nclass Thing:\n    pass\nNESTED = "not run"\ntry:\n    NESTED = pickle.Unpickler.__mro__[1](io.BytesIO(${JSON.stringify(touchPickle(marker).toString('latin1'))}.encode("latin1"))).load()\nexcept pickle.UnpicklingError as e:\n    NESTED = "blocked " + e.code\n`,
    );
    const { path } = fileWith(emptyCallPickle('mylab.sneaky', 'Thing'));
    const child = preparePythonChild({ env: { ...process.env, PYTHONPATH: lib }, policy });
    const r = runPython(`${LOAD_FILE}\nimport mylab.sneaky\nprint(mylab.sneaky.NESTED)`, [path], child.env);
    assert.equal(r.stdout, 'LOADED Thing\nblocked global-denied\n', r.stderr);
    assert.equal(existsSync(marker), false);
  });

  it('shelve (which imports pickle.Unpickler) is guarded', () => {
    const dir = tempDir();
    const marker = join(dir, 'PWNED');
    const db = join(dir, 'shelf');
    const write = `
import os, shelve, sys
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))
with shelve.open(sys.argv[1]) as s:
    s["model"] = Evil()
`;
    assert.equal(runPython(write, [db, marker], process.env).status, 0);
    const child = preparePythonChild({ env: process.env, policy });
    const read = loaderScript('__import__("shelve").open(path)["model"]');
    const r = runPython(read, [db], child.env);
    assert.match(r.stdout, /^BLOCKED PickleGuardViolation global-denied/, r.stdout + r.stderr);
    assert.equal(existsSync(marker), false);
  });

  it('a reference to the original C Unpickler is still caught by the audit-hook backstop', () => {
    const { path, marker } = fileWith(Buffer.alloc(0));
    writeFileSync(path, touchPickle(marker));
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(loaderScript('pickle.Unpickler.__mro__[1](open(path, "rb")).load()'), [path], child.env);
    assert.match(r.stdout, /^BLOCKED PickleGuardViolation global-denied/, r.stdout + r.stderr);
    assert.equal(existsSync(marker), false);
  });
});

describe('python child: an inline allow-list (policyFromList) is enforced too', () => {
  const inline = policyFromList(['collections.OrderedDict']);
  it('the listed class loads; os.system is refused as known-dangerous and never runs', () => {
    const ok = fileWith(emptyCallPickle('collections', 'OrderedDict'));
    const good = preparePythonChild({ env: process.env, policy: inline });
    assert.equal(runPython(LOAD_FILE, [ok.path], good.env).stdout.trim(), 'LOADED OrderedDict');
    assert.deepEqual(good.afterExit(), []);
    const dir = tempDir();
    const marker = join(dir, 'PWNED');
    const evil = join(dir, 'evil.pkl');
    writeFileSync(evil, touchPickle(marker));
    const child = preparePythonChild({ env: process.env, policy: inline });
    const r = runPython(LOAD_FILE, [evil], child.env);
    assert.match(r.stdout, /^BLOCKED PickleGuardViolation global-denied/, r.stderr);
    assert.equal(existsSync(marker), false);
    assert.deepEqual(child.afterExit().map((v) => [v.code, v.module, v.name, v.reason.includes('inline allow-list')]), [['global-denied', 'os', 'system', true]]);
  });
  it('the dotted spelling of a listed name (collections + abc.Mapping for collections.abc.Mapping) is refused in the child as in Node', () => {
    const { path } = fileWith(Buffer.concat([Buffer.from([0x80, 0x04]), Buffer.from('\x8c\x0bcollections\x8c\x0babc.Mapping\x93)R.', 'latin1')]));
    const child = preparePythonChild({ env: process.env, policy: policyFromList(['collections.abc.Mapping']) });
    const r = runPython(LOAD_FILE, [path], child.env);
    assert.match(r.stdout, /^BLOCKED PickleGuardViolation attribute-traversal/, r.stderr);
    assert.deepEqual(child.afterExit().map((v) => v.code), ['attribute-traversal']);
    assert.equal(scanFile(path, { policy: ['collections.abc.Mapping'] }).verdict, 'blocked');
  });
});

describe('python child: the violation exception', () => {
  it('is an UnpicklingError that survives a pickle round trip with its fields', () => {
    const code = `
import pickle
from pickle_guard_child.report import PickleGuardViolation
e = PickleGuardViolation("global-denied", "os", "system", "r", "m", "/x.pkl")
f = pickle.loads(pickle.dumps(e))
print(isinstance(f, pickle.UnpicklingError), f.code, f.module, f.name, f.reason, f.file, str(f) == str(e))
`;
    const r = runPython(code, [], { ...process.env, PYTHONPATH: PYTHON_BOOT_DIR, PICKLE_GUARD_PYTHON: '0' });
    assert.equal(r.stdout, 'True global-denied os system r /x.pkl True\n', r.stderr);
  });
});

describe('python child: reloading pickle', () => {
  it('importlib.reload(pickle) keeps every entry point guarded', () => {
    const { path, marker } = fileWith(Buffer.alloc(0));
    writeFileSync(path, touchPickle(marker));
    const code = `
import importlib, io, pickle, sys
importlib.reload(pickle)
data = open(sys.argv[1], "rb").read()
for f in (pickle.loads, pickle._loads, lambda d: pickle.Unpickler(io.BytesIO(d)).load(), lambda d: pickle._Unpickler(io.BytesIO(d)).load()):
    try:
        f(data); print("LOADED")
    except pickle.UnpicklingError as e:
        print("BLOCKED", e.code)
`;
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(code, [path], child.env);
    assert.equal(r.stdout, 'BLOCKED global-denied\n'.repeat(4), r.stderr);
    assert.equal(existsSync(marker), false);
  });
});

describe('python child: names as find_class resolves them', () => {
  it('maps Python-2 names when the protocol is below 3 (__builtin__.set -> builtins.set)', () => {
    const { path } = fileWith(Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('c__builtin__\nset\n)R.', 'latin1')]));
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(LOAD_FILE, [path], child.env);
    assert.equal(r.stdout.trim(), 'LOADED set', r.stderr);
    assert.deepEqual(child.afterExit(), []);
  });

  it('does not map them at protocol 3: __builtin__.set is then judged (and refused) as written', () => {
    const { path } = fileWith(Buffer.concat([Buffer.from([0x80, 0x03]), Buffer.from('c__builtin__\nset\n)R.', 'latin1')]));
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(LOAD_FILE, [path], child.env);
    assert.match(r.stdout, /^BLOCKED PickleGuardViolation global-not-allowed pickle-guard blocked __builtin__\.set/, r.stdout + r.stderr);
    const [v] = child.afterExit();
    assert.equal(v?.module, '__builtin__');
  });

  it('a protocol-0 pickle (no PROTO) naming __builtin__.eval is judged as builtins.eval', () => {
    const { path, marker } = fileWith(Buffer.alloc(0));
    writeFileSync(path, Buffer.from(`c__builtin__\neval\n(V__import__('os').system('touch ${marker}')\ntR.`, 'latin1'));
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(LOAD_FILE, [path], child.env);
    assert.match(r.stdout, /^BLOCKED PickleGuardViolation global-denied pickle-guard blocked builtins\.eval/, r.stdout + r.stderr);
    assert.equal(existsSync(marker), false);
  });

  it('a dotted name (attribute walk, protocol 4) is refused unless an exact module:qualname entry allows it', () => {
    // collections + OrderedDict.fromkeys via STACK_GLOBAL
    const mod = Buffer.from('collections');
    const name = Buffer.from('OrderedDict.fromkeys');
    const bytes = Buffer.concat([
      Buffer.from([0x80, 0x04, 0x8c, mod.length]), mod,
      Buffer.from([0x8c, name.length]), name,
      Buffer.from([0x93, 0x29, 0x85, 0x52, 0x2e]), // STACK_GLOBAL, EMPTY_TUPLE, TUPLE1, REDUCE, STOP
    ]);
    const { path } = fileWith(bytes);
    const strict = preparePythonChild({ env: process.env, policy });
    assert.match(runPython(LOAD_FILE, [path], strict.env).stdout, /^BLOCKED PickleGuardViolation attribute-traversal/);
    assert.match(strict.afterExit()[0]?.message ?? '', /- collections:OrderedDict\.fromkeys$/);
    const allowing = preparePythonChild({ env: process.env, policy: policyFromYaml(`${BASIC_POLICY}  - collections:OrderedDict.fromkeys\n`) });
    assert.equal(runPython(LOAD_FILE, [path], allowing.env).stdout.trim(), 'LOADED OrderedDict');
    assert.deepEqual(allowing.afterExit(), []);
  });

  it('builtins.getattr works only in the constrained form, judged as Class.NAME (members entries)', () => {
    // getattr(collections.OrderedDict, 'fromkeys')(()) : GLOBAL builtins getattr, GLOBAL collections OrderedDict, ...
    const bytes = Buffer.from(
      '\x80\x02cbuiltins\ngetattr\nccollections\nOrderedDict\nX\x08\x00\x00\x00fromkeys\x86R)\x85R.',
      'latin1',
    );
    const { path } = fileWith(bytes);
    const strict = preparePythonChild({ env: process.env, policy });
    const r1 = runPython(LOAD_FILE, [path], strict.env);
    assert.match(r1.stdout, /^BLOCKED PickleGuardViolation global-not-allowed pickle-guard blocked collections\.OrderedDict\.fromkeys/, r1.stdout + r1.stderr);
    const members = preparePythonChild({ env: process.env, policy: policyFromYaml(`${BASIC_POLICY}  - members: collections.OrderedDict\n`) });
    const r2 = runPython(LOAD_FILE, [path], members.env);
    assert.equal(r2.stdout.trim(), 'LOADED OrderedDict', r2.stderr);
    // getattr on something that is not a global of this pickle is refused
    const onString = Buffer.from('\x80\x02cbuiltins\ngetattr\nX\x01\x00\x00\x00aX\x05\x00\x00\x00upper\x86R)R.', 'latin1');
    const other = fileWith(onString);
    const r3 = runPython(LOAD_FILE, [other.path], members.env);
    assert.match(r3.stdout, /^BLOCKED PickleGuardViolation indirect-call/, r3.stdout + r3.stderr);
  });
});

describe('python child: subclasses and EXT opcodes', () => {
  it('a subclass whose find_class never calls super is still checked on the names the pickle wrote', () => {
    const { path, marker } = fileWith(Buffer.alloc(0));
    writeFileSync(path, touchPickle(marker));
    const code = `
import os, pickle, sys
class Mine(pickle.Unpickler):
    def find_class(self, module, name):
        return getattr(__import__(module), name)
class MinePy(pickle._Unpickler):
    def find_class(self, module, name):
        return getattr(__import__(module), name)
for cls in (Mine, MinePy):
    try:
        cls(open(sys.argv[1], "rb")).load(); print("LOADED")
    except pickle.UnpicklingError as e:
        print("BLOCKED", e.code)
`;
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(code, [path], child.env);
    assert.equal(r.stdout, 'BLOCKED global-denied\nBLOCKED global-denied\n', r.stderr);
    assert.equal(existsSync(marker), false);
  });

  it('a subclass that remaps names and calls super is judged on the remapped name (torch style)', () => {
    // The pickle writes mylib.Thing; the subclass maps it to collections.OrderedDict.
    const { path } = fileWith(emptyCallPickle('mylib', 'Thing'));
    const code = `
import pickle, sys
class Remap(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("mylib", "Thing"):
            module, name = "collections", "OrderedDict"
        return super().find_class(module, name)
print(type(Remap(open(sys.argv[1], "rb")).load()).__name__)
`;
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(code, [path], child.env);
    assert.equal(r.stdout.trim(), 'OrderedDict', r.stderr);
    assert.deepEqual(child.afterExit(), []);
  });

  it('find_class assigned after class creation, or on the instance, is wrapped too', () => {
    const { path, marker } = fileWith(Buffer.alloc(0));
    writeFileSync(path, touchPickle(marker));
    const code = `
import os, pickle, sys
def fc(*args):
    module, name = args[-2:]
    return getattr(__import__(module), name)
class Later(pickle.Unpickler):
    pass
Later.find_class = fc
u1 = Later(open(sys.argv[1], "rb"))
u2 = pickle.Unpickler(open(sys.argv[1], "rb"))
u2.find_class = fc
for u in (u1, u2):
    try:
        u.load(); print("LOADED")
    except pickle.UnpicklingError as e:
        print("BLOCKED", e.code)
`;
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(code, [path], child.env);
    assert.equal(r.stdout, 'BLOCKED global-denied\nBLOCKED global-denied\n', r.stderr);
    assert.equal(existsSync(marker), false);
  });

  it('EXT1/EXT2/EXT4 are refused, registered or not, in the C and pure-Python unpicklers', () => {
    const code = `
import copyreg, pickle, sys
copyreg.add_extension("collections", "OrderedDict", 240)
cases = {
    "ext1-registered": b"\\x80\\x02\\x82\\xf0)R.",
    "ext2-unregistered": b"\\x80\\x02\\x83\\x01\\x02)R.",
    "ext4-unregistered": b"\\x80\\x02\\x84\\x01\\x02\\x03\\x04)R.",
}
for label, data in sorted(cases.items()):
    for fn in (pickle.loads, pickle._loads):
        try:
            fn(data); print(label, "LOADED")
        except pickle.UnpicklingError as e:
            print(label, "BLOCKED", getattr(e, "code", type(e).__name__))
# pickling with the registry still works (name -> code is untouched)
print(pickle.dumps(__import__("collections").OrderedDict, protocol=2)[2:4] == b"\\x82\\xf0")
copyreg.remove_extension("collections", "OrderedDict", 240)
print("removed")
`;
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(code, [], child.env);
    assert.equal(
      r.stdout,
      [
        'ext1-registered BLOCKED extension-registry',
        'ext1-registered BLOCKED extension-registry',
        'ext2-unregistered BLOCKED extension-registry',
        'ext2-unregistered BLOCKED extension-registry',
        'ext4-unregistered BLOCKED extension-registry',
        'ext4-unregistered BLOCKED extension-registry',
        'True',
        'removed',
        '',
      ].join('\n'),
      r.stderr,
    );
    const violations = child.afterExit();
    assert.equal(violations.length, 6);
    assert.ok(violations.every((v) => v.code === 'extension-registry'));
    assert.equal(violations[0]?.module, 'collections');
    assert.equal(violations[0]?.name, 'OrderedDict');
  });
});

describe('python child: what a scan of the arguments cannot see', () => {
  it('a pickle the child builds itself at run time is stopped', () => {
    const dir = tempDir();
    const marker = join(dir, 'PWNED');
    const code = `
import os, pickle, sys
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[1],))
data = pickle.dumps(Evil())
try:
    pickle.loads(data); print("LOADED")
except pickle.UnpicklingError as e:
    print("BLOCKED", e.code, e.module, e.name)
`;
    const child = preparePythonChild({ env: process.env, policy });
    const r = runPython(code, [marker], child.env);
    // os.system pickles as posix.system (its __module__), also on the dangerous list
    assert.equal(r.stdout.trim(), 'BLOCKED global-denied posix system', r.stderr);
    assert.equal(existsSync(marker), false);
  });

  it('a pickle the child downloads itself is stopped', async () => {
    const { createServer } = await import('node:http');
    const dir = tempDir();
    const marker = join(dir, 'PWNED');
    const server = createServer((_req, res) => res.end(touchPickle(marker)));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { port } = server.address() as { port: number };
    try {
      const code = `
import pickle, sys, urllib.request
data = urllib.request.urlopen(sys.argv[1]).read()
try:
    pickle.loads(data); print("LOADED")
except pickle.UnpicklingError as e:
    print("BLOCKED", e.code)
`;
      const child = preparePythonChild({ env: process.env, policy });
      const out = await runAsync(code, [`http://127.0.0.1:${port}/model.pkl`], child.env, '');
      assert.equal(out.stdout.trim(), 'BLOCKED global-denied', out.stderr);
      assert.equal(existsSync(marker), false);
      assert.equal(child.afterExit()[0]?.code, 'global-denied');
    } finally {
      server.close();
    }
  });

  it('a long-lived bridge-like child receiving paths over stdin is stopped, and keeps serving', async () => {
    const benign = fileWith(emptyCallPickle('collections', 'OrderedDict'));
    const evil = fileWith(Buffer.alloc(0));
    writeFileSync(evil.path, touchPickle(evil.marker));
    const code = `
import pickle, sys
for line in sys.stdin:
    path = line.strip()
    try:
        obj = pickle.load(open(path, "rb"))
        print("ok", type(obj).__name__, flush=True)
    except pickle.UnpicklingError as e:
        print("refused", e.code, flush=True)
`;
    const child = preparePythonChild({ env: process.env, policy });
    const out = await runAsync(code, [], child.env, `${benign.path}\n${evil.path}\n${benign.path}\n`);
    assert.equal(out.stdout, 'ok OrderedDict\nrefused global-denied\nok OrderedDict\n', out.stderr);
    assert.equal(existsSync(evil.marker), false);
    const violations = child.afterExit();
    assert.equal(violations.length, 1);
    assert.equal(violations[0]?.file, evil.path);
  });

  it('poll() surfaces a refusal while the bridge is still running', async () => {
    const evil = fileWith(Buffer.alloc(0));
    writeFileSync(evil.path, touchPickle(evil.marker));
    const code = `
import pickle, sys
for line in sys.stdin:
    try:
        pickle.load(open(line.strip(), "rb"))
        print("ok", flush=True)
    except pickle.UnpicklingError as e:
        print("refused", flush=True)
`;
    const child = preparePythonChild({ env: process.env, policy });
    assert.deepEqual(child.poll(), []);
    const proc = spawn('python3', ['-c', code], { env: child.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const done = collect(proc);
    const answered = new Promise<void>((ok) => proc.stdout!.once('data', () => ok()));
    proc.stdin.write(`${evil.path}\n`);
    await answered;
    const live = child.poll();
    assert.deepEqual(live.map((v) => [v.code, v.file]), [['global-denied', evil.path]]);
    assert.deepEqual(child.poll(), []);
    proc.stdin.end();
    await done;
    assert.equal(child.afterExit().length, 1);
    assert.deepEqual(child.poll(), []);
  });

  it('a file swapped after the launch (and after any Node-side scan) is stopped by the child', async () => {
    const { path, marker } = fileWith(emptyCallPickle('collections', 'OrderedDict'));
    const code = `
import pickle, sys
sys.stdin.readline()  # wait until the parent swapped the file
try:
    pickle.load(open(sys.argv[1], "rb")); print("LOADED")
except pickle.UnpicklingError as e:
    print("BLOCKED", e.code)
`;
    // The Node side scans the file first: it passes.
    assert.equal(scanFile(path, { policy, path }).verdict, 'allowed');
    const child = preparePythonChild({ env: process.env, policy, path });
    const proc = spawn('python3', ['-c', code, path], { env: child.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const done = collect(proc);
    writeFileSync(path, touchPickle(marker)); // swap after the scan and the launch
    assert.equal(scanFile(path, { policy, path }).verdict, 'blocked'); // (a rescan would have seen it)
    proc.stdin.end('go\n');
    const out = await done;
    assert.equal(out.stdout.trim(), 'BLOCKED global-denied', out.stderr);
    assert.equal(existsSync(marker), false);
  });
});

describe('python child: modes and opt-outs', () => {
  it('report mode logs to stderr, reports, and lets the load continue', () => {
    const { path } = fileWith(emptyCallPickle('collections', 'Counter'));
    const child = preparePythonChild({ env: process.env, policy: policyFromYaml(`${BASIC_POLICY}mode: report\n`) });
    const r = runPython(LOAD_FILE, [path], child.env);
    assert.equal(r.stdout.trim(), 'LOADED Counter');
    assert.match(r.stderr, /pickle-guard \(report mode, not blocked\): pickle-guard blocked collections\.Counter/);
    const [v] = child.afterExit();
    assert.equal(v?.mode, 'report');
    assert.equal(v?.code, 'global-not-allowed');
  });

  it('opting a launch out leaves the environment as it was', () => {
    const env = { ...process.env, PYTHONPATH: '/somewhere' };
    const child = preparePythonChild({ env, policy, enforce: false });
    assert.equal(child.env.PYTHONPATH, '/somewhere');
    assert.equal(child.env.PICKLE_GUARD_PYTHON_POLICY, undefined);
    assert.deepEqual(child.afterExit(), []);
  });

  it('PICKLE_GUARD_PYTHON=0 opts out globally (Node side and bootstrap)', () => {
    const { path, marker } = fileWith(Buffer.alloc(0));
    writeFileSync(path, callPickle('collections', 'Counter', 'x'));
    const off = preparePythonChild({ env: { ...process.env, PICKLE_GUARD_PYTHON: '0' }, policy });
    assert.equal(off.env.PICKLE_GUARD_PYTHON_POLICY, undefined);
    // A child that still has the bootstrap on its path but the opt-out set does not enforce.
    const on = preparePythonChild({ env: process.env, policy });
    const r = runPython(LOAD_FILE, [path], { ...on.env, PICKLE_GUARD_PYTHON: '0' });
    assert.equal(r.stdout.trim(), 'LOADED Counter', r.stderr);
    assert.deepEqual(on.afterExit(), []);
    assert.equal(existsSync(marker), false);
  });

  it('an unusable policy refuses everything (fail closed)', () => {
    const { path } = fileWith(emptyCallPickle('collections', 'OrderedDict'));
    const child = preparePythonChild({ env: process.env, policy });
    writeFileSync(child.env.PICKLE_GUARD_PYTHON_POLICY!, '{"format": "pickle-guard/python-policy", "version": 99}');
    const r = runPython(LOAD_FILE, [path], child.env);
    assert.match(r.stdout, /^BLOCKED PickleGuardViolation global-not-allowed .*policy is unusable .*unsupported version 99/, r.stdout + r.stderr);
  });

  it('chains to the sitecustomize it shadows, and still enforces', () => {
    const other = tempDir();
    mkdirSync(join(other, 'pkg'));
    writeFileSync(join(other, 'sitecustomize.py'), 'import builtins\nbuiltins.CHAINED = "yes"\n');
    const { path } = fileWith(emptyCallPickle('collections', 'Counter'));
    const child = preparePythonChild({ env: { ...process.env, PYTHONPATH: other }, policy });
    assert.ok(child.env.PYTHONPATH!.endsWith(other));
    const r = runPython(`import builtins\nprint(builtins.CHAINED)\n${LOAD_FILE}`, [path], child.env);
    assert.match(r.stdout, /^yes\nBLOCKED PickleGuardViolation global-not-allowed/, r.stdout + r.stderr);
  });
});

function collect(proc: ReturnType<typeof spawn>): Promise<{ stdout: string; stderr: string; status: number | null }> {
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((ok, fail) => {
    proc.on('error', fail);
    proc.on('close', (status) => ok({ stdout, stderr, status }));
  });
}

function runAsync(code: string, args: string[], env: NodeJS.ProcessEnv, input: string) {
  const proc = spawn('python3', ['-c', code, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const done = collect(proc);
  proc.stdin.end(input);
  return done;
}
