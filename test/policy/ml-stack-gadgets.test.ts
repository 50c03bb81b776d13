/**
 * The known-dangerous list covers the network, process, file and code-loading callables of
 * packages installed beside ML stacks, so a `pkg.**` glob written in a hurry does not admit
 * them; and it stays precise, so the classes real pickles carry from the same packages are
 * still allowed by that glob.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { dangerReason } from '../../src/policy/dangerous.js';
import { loadPolicyFile } from '../../src/policy/index.js';
import { scanFile } from '../../src/scan/index.js';
import { ML_STACK_GADGETS, ML_STACK_NEIGHBOURS } from './dangerous.js';
import { imp, parts, tree } from './helpers.js';

function globPolicy(globs: readonly string[]) {
  const root = tree({ 'pickle-guard.yaml': `version: 1\nallow:\n${globs.map((g) => `  - "${g}"\n`).join('')}` });
  return loadPolicyFile(join(root, 'pickle-guard.yaml'));
}

const tops = (names: readonly string[]) => [...new Set(names.map((n) => `${n.split('.')[0]}.**`))];

describe('packages installed beside ML stacks', () => {
  it('every curated gadget is flagged', () => {
    const missed = ML_STACK_GADGETS.filter((full) => dangerReason(...parts(full)) === undefined);
    assert.deepEqual(missed, []);
  });
  it('a package-wide glob does not admit them: global-denied, no suggestion', () => {
    const list = globPolicy(tops(ML_STACK_GADGETS)).forFile(undefined);
    for (const full of ML_STACK_GADGETS) {
      const d = list.check(imp(...parts(full)));
      assert.ok(!d.allowed && d.code === 'global-denied' && d.suggestion === undefined, `${full}: ${JSON.stringify(d)}`);
    }
  });
  it('the classes real pickles carry from the same packages are not flagged, and the glob allows them', () => {
    assert.deepEqual(ML_STACK_NEIGHBOURS.filter((full) => dangerReason(...parts(full)) !== undefined), []);
    const list = globPolicy(tops(ML_STACK_NEIGHBOURS)).forFile(undefined);
    for (const full of ML_STACK_NEIGHBOURS) assert.equal(list.check(imp(...parts(full))).allowed, true, full);
  });
  it('an exact entry still allows a flagged name (a deliberate, visible choice)', () => {
    const d = globPolicy(['aiohttp.ClientTimeout', 'aiohttp.request']).forFile(undefined).check(imp('aiohttp', 'request'));
    assert.deepEqual(d, { allowed: true, entry: 'aiohttp.request' });
  });
  it('the corpus aiohttp.request pickle is blocked as global-denied under "allow: aiohttp.**"', () => {
    const file = fileURLToPath(new URL('../fixtures/bypasses/gadget_aiohttp.request.pkl', import.meta.url));
    const report = scanFile(file, { policy: globPolicy(['aiohttp.**']) });
    assert.equal(report.verdict, 'blocked');
    assert.ok(report.findings.some((f) => f.code === 'global-denied' && f.module === 'aiohttp' && f.name === 'request'), JSON.stringify(report.findings));
  });
});
