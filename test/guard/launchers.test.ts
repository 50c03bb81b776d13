/**
 * Recognising Python launches in argv and shell strings (pure string work).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandsOf, isPythonProgram, pathCandidates, splitShell } from '../../src/guard/launchers.js';
import { isReadOpen, pathArg } from '../../src/guard/paths.js';
import { constants } from 'node:fs';
import { pathToFileURL } from 'node:url';

const python = (argv: string[], extra: string[] = []) => commandsOf(argv, extra).filter((c) => c.python).map((c) => c.args);

test('interpreter names and paths', () => {
  for (const p of ['python', 'python3', 'python3.11', '/usr/bin/python3.12', 'C:\\Python311\\python.exe', 'py', 'pythonw', 'python3.13t', 'torchrun', 'deepspeed', '/opt/venv/bin/python']) {
    assert.ok(isPythonProgram(p), p);
  }
  for (const p of ['node', 'pythonista', 'mypython', 'pip', 'bash', '/usr/bin/env']) assert.ok(!isPythonProgram(p), p);
  assert.ok(isPythonProgram('my-trainer', ['my-trainer']), 'policy launchers extend the list');
});

test('wrappers and environment managers end in Python', () => {
  assert.deepEqual(python(['env', 'FOO=1', '-u', 'BAR', 'python3', 'load.py', 'm.pt']), [['load.py', 'm.pt']]);
  assert.deepEqual(python(['/usr/bin/env', '-S', 'python3 -u', 'load.py']), [['-u', 'load.py']]);
  assert.deepEqual(python(['uv', 'run', '--with', 'torch', 'python', 'x.py', 'm.pt'])[0], ['python', 'x.py', 'm.pt']);
  assert.deepEqual(python(['poetry', 'run', 'python', 'x.py'])[1], ['x.py']);
  assert.deepEqual(python(['conda', 'run', '-n', 'ml', 'python', 'x.py'])[1], ['x.py']);
  assert.deepEqual(python(['pipenv', 'run', 'serve', '--model=m.pt'])[0], ['serve', '--model=m.pt']);
  assert.deepEqual(python(['accelerate', 'launch', 'train.py', '--resume', 'ckpt.pt'])[0], ['train.py', '--resume', 'ckpt.pt']);
  assert.deepEqual(python(['python', '-m', 'torch.distributed.run', 'train.py']), [['-m', 'torch.distributed.run', 'train.py']]);
  assert.deepEqual(python(['nohup', 'nice', 'python3', 'a.py']), [['a.py']]);
  assert.deepEqual(python(['pdm', 'lock']), [], 'only `pdm run` runs code');
  assert.deepEqual(python(['node', 'x.js', 'm.pt']), []);
});

test('sh -c strings are tokenised like a shell', () => {
  assert.deepEqual(splitShell(`python3 'my model.pt' "a \\"b\\"" c\\ d # comment`), [['python3', 'my model.pt', 'a "b"', 'c d']]);
  assert.deepEqual(splitShell('cd /m && FOO=1 python3 x.py m.pt | tee log; echo done'), [
    ['cd', '/m'],
    ['FOO=1', 'python3', 'x.py', 'm.pt'],
    ['tee', 'log'],
    ['echo', 'done'],
  ]);
  assert.deepEqual(python(['/bin/sh', '-c', 'cd /m && FOO=1 python3 x.py m.pt']), [['x.py', 'm.pt']]);
  assert.deepEqual(python(['bash', '-lc', 'exec python3.11 serve.py --ckpt=/m/a.ckpt']), [['serve.py', '--ckpt=/m/a.ckpt']]);
  assert.deepEqual(python(['sh', '-c', 'sh -c "python x.py"']), [['x.py']], 'nested shells');
});

test('path candidates: each argument and the value of --flag=value', () => {
  assert.deepEqual(pathCandidates(['x.py', '--model=/m/a.pt', '-v', '', '--x=']), ['x.py', '--model=/m/a.pt', '/m/a.pt', '-v', '--x=']);
});

test('fs path arguments and read flags', () => {
  assert.equal(pathArg('rel/x.pt'), `${process.cwd()}/rel/x.pt`);
  assert.equal(pathArg(Buffer.from('/a/b.pt')), '/a/b.pt');
  assert.equal(pathArg(pathToFileURL('/a/b c.pt')), '/a/b c.pt');
  assert.equal(pathArg(new URL('https://x/y.pt')), undefined);
  assert.equal(pathArg(7), undefined, 'descriptors were checked when opened');
  for (const f of [undefined, 'r', 'rs+', 'r+', 'a+', constants.O_RDONLY, constants.O_RDWR]) assert.ok(isReadOpen(f), String(f));
  for (const f of ['w', 'w+', 'a', 'wx', constants.O_WRONLY, constants.O_RDWR | constants.O_TRUNC]) assert.ok(!isReadOpen(f), String(f));
});
