import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PickleGuardError, PolicyError, UsageError, ScanIOError } from '../src/errors.js';

test('errors carry stable codes and positions', () => {
  const err = new PolicyError('unknown key "alow"', { file: 'p.yaml', line: 3, column: 1 }, 'did you mean "allow"?');
  assert.equal(err.code, 'ERR_PICKLE_GUARD_POLICY');
  assert.equal(err.line, 3);
  assert.match(err.message, /^p\.yaml:3:1: unknown key "alow"\n {2}hint: did you mean "allow"\?$/);
  assert.equal(new UsageError('x').code, 'ERR_PICKLE_GUARD_USAGE');
  assert.equal(new ScanIOError('/m.pt', 'gone').message, '/m.pt: gone');
});

test('instanceof follows the Symbol.for brand, not the class identity', async () => {
  const err = new PolicyError('bad', { file: 'p.yaml' });
  assert.ok(err instanceof PolicyError);
  assert.ok(err instanceof PickleGuardError);
  assert.ok(err instanceof Error);
  assert.ok(!(err instanceof UsageError));
  assert.ok(!(new Error('plain') instanceof PickleGuardError));
  // A second copy of the module (as with two installed copies of the package) still agrees.
  const copy = (await import(`../src/errors.ts?copy=${Date.now()}`)) as typeof import('../src/errors.js');
  assert.notEqual(copy.PolicyError, PolicyError);
  assert.ok(err instanceof copy.PolicyError);
  assert.ok(err instanceof copy.PickleGuardError);
  assert.ok(new copy.UsageError('u') instanceof UsageError);
  assert.ok(!(new copy.UsageError('u') instanceof PolicyError));
});
