// A small Node app that loads models the ordinary way: a JS read, and a Python child.
// It knows nothing about pickle-guard; run.mjs starts it under `node --require .../register.js`.
// Usage: node app.cjs BENIGN MALICIOUS  (prints one JSON line per step for run.mjs)
'use strict';
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

const [benign, malicious] = process.argv.slice(2);
const LOAD = 'import pickle, sys\nwith open(sys.argv[1], "rb") as f:\n    print(pickle.load(f))';

function step(name, fn) {
  let outcome;
  try {
    outcome = { name, ok: true, detail: fn() };
  } catch (err) {
    outcome = { name, ok: false, code: err && err.code, detail: String(err && err.message ? err.message : err) };
  }
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}

step('js-read benign', () => `read ${fs.readFileSync(benign).length} bytes`);
step('python benign', () => execFileSync('python3', ['-c', LOAD, benign], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim());
step('js-read malicious', () => `read ${fs.readFileSync(malicious).length} bytes`);
step('python malicious', () => execFileSync('python3', ['-c', LOAD, malicious], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim());
