/**
 * Which names are artifacts (rules 1-2 of docs/guard.md) after the basename shortcut: the
 * shortcut may only skip the full test when no spelling of the path could match, so
 * symlinked and renamed models are still named, and a re-pointed symlink is seen at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import picomatch from 'picomatch';
import { basenameOf, basenameTest, lastSegment } from '../../src/guard/name-shortcut.js';
import { declareArtifactGlobs, isArtifactByName } from '../../src/guard/which-files.js';
import { install, installedPolicy, uninstall } from '../../src/guard/install.js';
import { ViolationError } from '../../src/guard/violation-error.js';
import { DEFAULT_ARTIFACTS, loadPolicyFile } from '../../src/policy/index.js';
import type { Policy } from '../../src/policy/types.js';

/** Protocol 0 `posix.system('true')`: starts with `c`, so the content sniff does not catch it; only its name can. */
const PROTO0_EVIL = Buffer.from("cposix\nsystem\n(S'true'\ntR.", 'latin1');

function tree(policyYaml = 'version: 1\nallow:\n  - collections.OrderedDict\n') {
  const dir = mkdtempSync(join(tmpdir(), 'pg-names-'));
  mkdirSync(join(dir, 'models'));
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'pickle-guard.yaml'), policyYaml);
  writeFileSync(join(dir, 'models/m.pkl'), PROTO0_EVIL);
  writeFileSync(join(dir, 'app/config.json'), '{"a": 1}\n');
  return { dir, policyFile: join(dir, 'pickle-guard.yaml') };
}

/** The same policy file twice: once with its globs declared (the shortcut), once without (the full test every time). */
function bothWays(policyFile: string): Array<[string, Policy]> {
  const declared = loadPolicyFile(policyFile);
  declareArtifactGlobs(declared, declared.data.artifacts.include);
  return [
    ['shortcut', declared],
    ['full test', loadPolicyFile(policyFile)],
  ];
}

test('last segments are read only when certain; anything else turns the shortcut off', () => {
  assert.equal(lastSegment('**/*.{pt,bin}'), '*.{pt,bin}');
  assert.equal(lastSegment('models/*.bin'), '*.bin');
  assert.equal(lastSegment('*.pkl'), '*.pkl');
  for (const unsure of ['models/**', '**/x{a,/}y', '**/*.[pb]t', '**/*.+(pt|bin)', '!**/*.txt', '**/a\\*b', 'models/', '**/**.pt']) {
    assert.equal(lastSegment(unsure), undefined, unsure);
  }
  assert.equal(basenameTest(['**/*.pt', 'models/**']), undefined, 'one unsure glob disables the shortcut');
  assert.equal(basenameTest([])?.('x.pt'), false);
  assert.equal(basenameOf('/a/b/c.pt'), 'c.pt');
  assert.equal(basenameOf('/'), undefined);
});

test('the basename test never says no where the full glob says yes (default globs, many spellings)', () => {
  const include = DEFAULT_ARTIFACTS.include;
  const full = picomatch([...include], { dot: true });
  const test = basenameTest(include);
  assert.ok(test, 'the default globs allow the shortcut');
  const names = ['m.pt', 'm.PT', '.pt', 'x.pkl.gz', 'x.tar', 'x.bin.txt', 'pt', 'a.b.c.npz', '.hidden.pkl', 'model', 'w.model', 'y.joblib.lz4'];
  const dirs = ['/a', '/a/.cache/hf', '/', 'rel', '../up', '.'];
  for (const d of dirs) {
    for (const n of names) {
      const path = d === '/' ? `/${n}` : d === '.' ? n : `${d}/${n}`;
      if (full(path)) assert.equal(test(n), true, `${path} matches the globs, so its basename must`);
    }
  }
});

for (const way of ['shortcut', 'full test']) {
  test(`ordinary files are not artifacts; models are, also behind a symlink or a symlinked folder (${way})`, () => {
  const { dir, policyFile } = tree();
  const policy = bothWays(policyFile).find(([w]) => w === way)![1];
  assert.equal(isArtifactByName(policy, join(dir, 'app/config.json')), false);
  assert.equal(isArtifactByName(policy, join(dir, 'models/m.pkl')), true);
  symlinkSync(join(dir, 'models/m.pkl'), join(dir, 'app/notes.txt'));
  assert.equal(isArtifactByName(policy, join(dir, 'app/notes.txt')), true, 'a symlink named .txt to a .pkl is a model');
  symlinkSync(join(dir, 'app/notes.txt'), join(dir, 'app/chain.md'));
  assert.equal(isArtifactByName(policy, join(dir, 'app/chain.md')), true, 'a chain of symlinks ends at the .pkl');
  symlinkSync(join(dir, 'models'), join(dir, 'app/linked'));
  assert.equal(isArtifactByName(policy, join(dir, 'app/linked/m.pkl')), true);
  writeFileSync(join(dir, 'models/readme.txt'), 'hi');
  assert.equal(isArtifactByName(policy, join(dir, 'app/linked/readme.txt')), false, 'a symlinked folder changes no basename');
  rmSync(dir, { recursive: true });
  });
}

for (const way of ['shortcut', 'full test']) {
  test(`a symlink re-pointed after its first read is judged by its new target (${way})`, () => {
  const { dir, policyFile } = tree();
  const policy = bothWays(policyFile).find(([w]) => w === way)![1];
  const link = join(dir, 'app/current.json');
  symlinkSync(join(dir, 'app/config.json'), link);
  assert.equal(isArtifactByName(policy, link), false);
  rmSync(link);
  symlinkSync(join(dir, 'models/m.pkl'), link);
  assert.equal(isArtifactByName(policy, link), true, 'not remembered: re-pointing is seen');
  rmSync(link);
  symlinkSync(join(dir, 'app/config.json'), link);
  assert.equal(isArtifactByName(policy, link), false);
  rmSync(dir, { recursive: true });
  });
}

for (const way of ['shortcut', 'full test']) {
  test(`a path missing at its first look is not remembered (it may appear as a symlink to a model) (${way})`, () => {
  const { dir, policyFile } = tree();
  const policy = bothWays(policyFile).find(([w]) => w === way)![1];
  const later = join(dir, 'app/later.json');
  assert.equal(isArtifactByName(policy, later), false);
  symlinkSync(join(dir, 'models/m.pkl'), later);
  assert.equal(isArtifactByName(policy, later), true);
  rmSync(dir, { recursive: true });
  });
}

for (const way of ['shortcut', 'full test']) {
  test(`a policy with folder globs has no shortcut: every file under the folder is an artifact, also through a symlink (${way})`, () => {
  const { dir, policyFile } = tree('version: 1\nallow: []\nartifacts:\n  include: ["models/**"]\n');
  const policy = bothWays(policyFile).find(([w]) => w === way)![1];
  writeFileSync(join(dir, 'models/weights.txt'), 'x');
  assert.equal(isArtifactByName(policy, join(dir, 'models/weights.txt')), true);
  symlinkSync(join(dir, 'models/weights.txt'), join(dir, 'app/w.json'));
  assert.equal(isArtifactByName(policy, join(dir, 'app/w.json')), true);
  assert.equal(isArtifactByName(policy, join(dir, 'app/config.json')), false);
  rmSync(dir, { recursive: true });
  });
}

test('installed guard: a protocol-0 model behind a .txt symlink is blocked, and re-pointing the link is seen', () => {
  const { dir, policyFile } = tree();
  const link = join(dir, 'app/notes.txt');
  writeFileSync(join(dir, 'app/plain.txt'), 'hello\n');
  symlinkSync(join(dir, 'app/plain.txt'), link);
  install({ policy: policyFile, children: false });
  try {
    assert.equal(fs.readFileSync(link, 'utf8'), 'hello\n');
    rmSync(link);
    symlinkSync(join(dir, 'models/m.pkl'), link);
    for (const read of [() => fs.readFileSync(link), () => fs.readFileSync(link, 'utf8')]) {
      assert.throws(read, (e: unknown) => e instanceof ViolationError && e.globals.some((g) => g.module === 'posix' && g.name === 'system'));
    }
    rmSync(link);
    symlinkSync(join(dir, 'app/plain.txt'), link);
    assert.equal(fs.readFileSync(link, 'utf8'), 'hello\n');
    // The same bytes under a plain non-model name are (documented) not caught: only names and strong signatures are.
    writeFileSync(join(dir, 'app/copy.txt'), PROTO0_EVIL);
    assert.deepEqual(fs.readFileSync(join(dir, 'app/copy.txt')), PROTO0_EVIL);
  } finally {
    uninstall();
    rmSync(dir, { recursive: true });
  }
});

test('an inline list policy uses the default globs with the shortcut, symlinks included', () => {
  const { dir } = tree();
  install({ policy: ['collections.OrderedDict'], children: false });
  try {
    const policy = installedPolicy();
    assert.ok(policy);
    assert.equal(isArtifactByName(policy, join(dir, 'app/config.json')), false);
    symlinkSync(join(dir, 'models/m.pkl'), join(dir, 'app/inline.txt'));
    assert.equal(isArtifactByName(policy, join(dir, 'app/inline.txt')), true);
    assert.throws(() => fs.readFileSync(join(dir, 'app/inline.txt')), ViolationError);
  } finally {
    uninstall();
    rmSync(dir, { recursive: true });
  }
});

test('the shortcut spares isArtifactPath for ordinary files only; decisions are remembered for plain files', () => {
  const { dir, policyFile } = tree();
  const loaded = loadPolicyFile(policyFile);
  const asked: string[] = [];
  const counting: Policy = { ...loaded, isArtifactPath: (p) => (asked.push(p), loaded.isArtifactPath(p)) };
  declareArtifactGlobs(counting, loaded.data.artifacts.include);
  assert.equal(isArtifactByName(counting, join(dir, 'app/config.json')), false);
  assert.equal(asked.length, 0, 'an ordinary name costs an lstat, not the full test');
  assert.equal(isArtifactByName(counting, join(dir, 'models/m.pkl')), true);
  assert.equal(isArtifactByName(counting, join(dir, 'models/m.pkl')), true);
  assert.deepEqual([...asked], [join(dir, 'models/m.pkl')], 'a model name is decided by the full test, once');
  symlinkSync(join(dir, 'models/m.pkl'), join(dir, 'app/alias.bin.txt'));
  isArtifactByName(counting, join(dir, 'app/alias.bin.txt'));
  isArtifactByName(counting, join(dir, 'app/alias.bin.txt'));
  assert.equal(asked.filter((p) => p.endsWith('alias.bin.txt')).length, 2, 'a symlink to a model is asked again on every read');
  rmSync(dir, { recursive: true });
});

test('opens compare the descriptor with the file a name was decided about: a plain file replaced by a symlink to a model is caught', () => {
  const { dir, policyFile } = tree();
  const path = join(dir, 'app/settings.txt');
  writeFileSync(path, 'plain\n');
  install({ policy: policyFile, children: false });
  try {
    fs.closeSync(fs.openSync(path, 'r')); // decided and remembered: a plain file, not an artifact
    assert.equal(fs.readFileSync(path, 'utf8'), 'plain\n');
    rmSync(path);
    symlinkSync(join(dir, 'models/m.pkl'), path);
    assert.throws(() => fs.openSync(path, 'r'), ViolationError, 'the descriptor is another file: the name is decided again');
    assert.throws(() => fs.readFileSync(path), ViolationError, 'and the stale decision is gone for reads too');
  } finally {
    uninstall();
    rmSync(dir, { recursive: true });
  }
});

test('with the shortcut, decisions equal the full test on 400 generated files and symlinks (default globs)', () => {
  const { dir, policyFile } = tree();
  const [[, fast], [, full]] = bothWays(policyFile) as [[string, Policy], [string, Policy]];
  let seed = 12345;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  const stems = ['model', '.hidden', 'a.b', 'weights', 'x'];
  const exts = ['.pt', '.PT', '.pkl', '.pkl.gz', '.joblib.lz4', '.txt', '.json', '', '.pt.txt', '.npy', '.bin', '.model', '.pickle.xz', '.gz'];
  const made: string[] = [];
  for (let i = 0; i < 400; i++) {
    const name = `${stems[rand(stems.length)]}${i}${exts[rand(exts.length)]}`;
    const folder = rand(3) === 0 ? 'models' : 'app';
    const path = join(dir, folder, name);
    if (made.length > 0 && rand(4) === 0) symlinkSync(made[rand(made.length)]!, path);
    else writeFileSync(path, 'x');
    made.push(path);
  }
  for (const path of made) assert.equal(isArtifactByName(fast, path), full.isArtifactPath(path), path);
  rmSync(dir, { recursive: true });
});

test('dangling symlinks and impossible paths are decided by the full test and not remembered', () => {
  const { dir, policyFile } = tree();
  const [[, fast]] = bothWays(policyFile) as [[string, Policy]];
  const dangling = join(dir, 'app/dangling.json');
  symlinkSync(join(dir, 'models/gone.pkl'), dangling);
  assert.equal(isArtifactByName(fast, dangling), false, 'nothing there to read');
  writeFileSync(join(dir, 'models/gone.pkl'), PROTO0_EVIL);
  assert.equal(isArtifactByName(fast, dangling), true, 'its target appeared: now a model');
  const under = join(dir, 'app/config.json/inner.json'); // a file where a folder should be (ENOTDIR)
  assert.equal(isArtifactByName(fast, under), false);
  assert.equal(isArtifactByName(fast, join(dir, 'app/config.json/inner.pkl')), true, 'an artifact name stays one even where the read must fail');
  rmSync(dir, { recursive: true });
});

test('a Buffer path that is not UTF-8 is scanned as a model by name (its real name cannot be checked)', () => {
  const { dir, policyFile } = tree();
  const raw = Buffer.concat([Buffer.from(join(dir, 'app') + '/'), Buffer.from([0xff]), Buffer.from('.txt')]);
  symlinkSync(join(dir, 'models/m.pkl'), raw);
  const plainRaw = Buffer.concat([Buffer.from(join(dir, 'app') + '/'), Buffer.from([0xfe]), Buffer.from('.txt')]);
  writeFileSync(plainRaw, 'just text\n');
  install({ policy: policyFile, children: false });
  try {
    assert.throws(() => fs.readFileSync(raw), ViolationError, 'a protocol-0 model behind a non-UTF-8 symlink name');
    assert.equal(fs.readFileSync(plainRaw, 'utf8'), 'just text\n', 'a text file under such a name is scanned and allowed');
  } finally {
    uninstall();
    rmSync(dir, { recursive: true });
  }
});
