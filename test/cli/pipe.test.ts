import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN, TSX, osSystemPickle, plainDictPickle, tempDir } from './helpers.js';

test('a reader that goes away (| head) ends the scan quietly with the SIGPIPE status, not 0 and not a stack trace', () => {
  const dir = tempDir();
  // Far more output than a pipe buffers, so the CLI is still writing when `head` has gone.
  for (let i = 0; i < 400; i++) writeFileSync(join(dir, `m${String(i).padStart(3, '0')}.pkl`), i === 0 ? osSystemPickle('true') : plainDictPickle());
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = `${q(process.execPath)} --import ${q(TSX)} ${q(MAIN)} scan --json ${q(dir)} | head -c 1 >/dev/null; echo "status=\${PIPESTATUS[0]}" >&2`;
  const r = spawnSync('bash', ['-c', script], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.match(r.stderr, /status=141\s*$/, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|Unhandled 'error' event/);
});
