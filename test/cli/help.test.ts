/** Every command has a man-page style --help; the top-level help lists them. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cli } from './helpers.js';

test('each command prints NAME, SYNOPSIS, OPTIONS/DESCRIPTION and EXIT STATUS with --help', () => {
  for (const args of [['--help'], ['scan', '--help'], ['explain', '--help'], ['policy', '--help'], ['policy', 'suggest', '--help'], ['help', 'explain']]) {
    const r = cli(args);
    assert.equal(r.status, 0, args.join(' '));
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'EXIT STATUS']) assert.match(r.stdout, new RegExp(`^${section}$`, 'm'), `${args.join(' ')}: ${section}`);
  }
  const top = cli(['--help']);
  for (const cmd of ['scan', 'explain', 'policy']) assert.match(top.stdout, new RegExp(`^ {2}${cmd} `, 'm'));
  assert.match(cli(['explain', '-h']).stdout, /--disasm/);
});
