/**
 * The fuzz driver's Node half on a few hundred mutants (no Python): the scanner never
 * throws on them and never says `allowed` with a violation (malformed, limit ...) in the
 * same report; mutants are reproducible from (campaign seed, index).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { judgeLocally, loadPresets, loadSeeds, makeCase } from '../../scripts/fuzz/campaign.js';
import { disagreements, selfInconsistent } from '../../scripts/fuzz/compare.js';
import { makeRng, makeSeed, MUTATORS } from '../../scripts/fuzz/mutate.js';
import { readStoredZip, writeStoredZip } from '../../scripts/fuzz/zip.js';
import type { ScanReport } from '../../src/scan/index.js';

const seeds = loadSeeds();
const policies = loadPresets();
const dir = mkdtempSync(join(tmpdir(), 'pg-mutants-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('fuzz mutants (Node only)', () => {
  it('finds seeds in both fixture folders', () => {
    assert.ok(seeds.some((s) => s.name.startsWith('test/fixtures/models/')));
    assert.ok(seeds.some((s) => s.name.startsWith('test/fixtures/bypasses/')));
  });

  it('makes the same bytes for the same (seed, index), different ones otherwise', () => {
    const a = makeCase(5, 17, seeds);
    const b = makeCase(5, 17, seeds);
    const c = makeCase(6, 17, seeds);
    assert.deepEqual(a.bytes, b.bytes);
    assert.deepEqual(a.steps, b.steps);
    assert.ok(!a.bytes.equals(c.bytes) || a.seed !== c.seed);
  });

  it('300 mutants: the scanner never throws and never allows a file with a violation finding', () => {
    const steps = new Set<string>();
    let allowed = 0;
    for (let i = 0; i < 300; i++) {
      const c = makeCase(20261121, i, seeds);
      c.steps.forEach((s) => steps.add(s));
      const path = join(dir, `m${i}${c.ext}`);
      writeFileSync(path, c.bytes);
      const judged = judgeLocally(path, policies);
      assert.equal(judged.threw, undefined, `case ${i} (${c.seed} ${c.steps.join('+')})`);
      assert.equal(judged.inconsistent, undefined, `case ${i} (${c.seed} ${c.steps.join('+')})`);
      if (judged.allowedBy) allowed++;
      rmSync(path);
    }
    // the campaign exercised most mutators and produced both verdicts
    assert.ok(steps.size >= 12, [...steps].join(','));
    assert.ok(allowed > 0 && allowed < 300, `allowed ${allowed}`);
  });

  it('a stored zip read back and rewritten keeps its members', () => {
    const pt = seeds.find((s) => s.name.endsWith('models/torch/state_dict.pt'))!;
    const members = readStoredZip(pt.bytes);
    assert.ok(members && members.length > 2);
    assert.deepEqual(readStoredZip(writeStoredZip(members)), members);
  });

  it('every mutator either declines or returns new bytes', () => {
    const rng = makeRng(3);
    const seed = makeSeed('x.pkl', Buffer.from('80049510000000000000008c08636f6c6c656374696f6e73942e', 'hex'));
    for (const [name, m] of Object.entries(MUTATORS)) {
      for (let k = 0; k < 5; k++) {
        const out = m(rng, seed.bytes, seed, seeds);
        if (out) assert.ok(Buffer.isBuffer(out), name);
      }
    }
  });
});

describe('disagreement rule', () => {
  const report = {
    verdict: 'allowed',
    findings: [],
    globals: [
      { module: 'copy_reg', name: '_reconstructor', written: { module: 'copy_reg', name: '_reconstructor' } },
      { module: 'copyreg', name: '_reconstructor', written: { module: 'copy_reg', name: '_reconstructor' } },
      { module: 'torch.tensor', name: 'Tensor' },
    ],
  } as unknown as ScanReport;
  const row = (imports: Array<[string, string]>, mapped = imports) => ({ file: 'f', loader: 'pickle', imports, mapped, error: null, status: 'ok' as const });

  it('names the loader and the unlisted import', () => {
    assert.deepEqual(disagreements(report, [row([['posix', 'system']])]), [{ loader: 'pickle', unlisted: ['posix.system'] }]);
  });

  it('matches written names, Python-2 mapped names and torch.tensor -> torch._tensor', () => {
    assert.deepEqual(disagreements(report, [row([['copy_reg', '_reconstructor'], ['torch._tensor', 'Tensor']])]), []);
  });

  it('an allowed report with a violation is self-inconsistent', () => {
    assert.equal(selfInconsistent(report), false);
    assert.equal(selfInconsistent({ ...report, findings: [{ code: 'malformed', message: 'x' }] }), true);
  });
});
