/**
 * Model files written by the real tools (torch 1.13, numpy; test/fixtures/models) read
 * under `preset:default` through a byte API and a descriptor API: benign ones come back
 * byte-identical, their malicious twins are refused naming the dangerous global.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt, MACHINE_PENDING, machineReady, REGISTER, ROOT, runNode } from './helpers.js';

before(() => ensureBuilt());

const MODELS = join(ROOT, 'test/fixtures/models');
const APP = [
  "const fs = require('node:fs');",
  "const { createHash } = require('node:crypto');",
  "const sha = (b) => createHash('sha256').update(b).digest('hex');",
  '(async () => {',
  '  for (const file of process.argv.slice(1)) {',
  '    const out = { file: file.split("/models/")[1] };',
  '    try { out.readFileSync = sha(fs.readFileSync(file)); } catch (e) { out.readFileSync = e.code; out.global = e.globals?.find((g) => g.code === "global-denied"); }',
  '    out.stream = await new Promise((res) => { const parts = []; fs.createReadStream(file).on("data", (d) => parts.push(d)).on("error", (e) => res(e.code)).on("end", () => res(sha(Buffer.concat(parts)))); });',
  '    console.log(JSON.stringify(out));',
  '  }',
  '})();',
].join('\n');

const sha = (rel: string) => createHash('sha256').update(readFileSync(join(MODELS, rel))).digest('hex');

test('real torch and numpy files under preset:default: benign intact, malicious twins refused', (t) => {
  if (!machineReady()) return t.skip(MACHINE_PENDING);
  const benign = ['torch/state_dict.pt', 'torch/checkpoint.pt', 'torch/state_dict.legacy.pt', 'numpy/object.npy'];
  const malicious = {
    'malicious/torch_zip_os_system.pt': 'os.system',
    'malicious/torch_legacy_sysinfo_os_system.pt': 'os.system',
    'malicious/npy_object_subprocess_popen.npy': 'subprocess.Popen',
  };
  const files = [...benign, ...Object.keys(malicious)].map((f) => join(MODELS, f));
  const r = runNode(['--require', REGISTER, '-e', APP, ...files], { env: { PICKLE_GUARD_POLICY: 'preset:default' } });
  assert.equal(r.lines.length, files.length, r.stdout + r.stderr);
  const byFile = new Map(r.lines.map((l) => [l.file as string, l]));
  for (const f of benign) {
    assert.deepEqual(byFile.get(f), { file: f, readFileSync: sha(f), stream: sha(f) }, f);
  }
  for (const [f, dangerous] of Object.entries(malicious)) {
    const line = byFile.get(f);
    assert.equal(line?.readFileSync, 'ERR_PICKLE_GUARD_VIOLATION', f);
    assert.equal(line?.stream, 'ERR_PICKLE_GUARD_VIOLATION', f);
    const g = line?.global as { module: string; name: string } | undefined;
    assert.equal(`${g?.module}.${g?.name}`, dangerous, f);
  }
});
