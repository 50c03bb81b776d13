import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { record } from './helpers/recorder.js';

const FIXTURES = ['torch/checkpoint.pt', 'torch/torchscript_trace.pt', 'numpy/object_compressed.npz', 'numpy/structured_object.npy', 'torch/state_dict.legacy.pt'];

/** A small deterministic PRNG so failures reproduce. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('damaged containers', () => {
  it('never throws and never ends with nothing to say: each mutation yields streams or findings', () => {
    const rand = prng(42);
    for (const file of FIXTURES) {
      const original = new Uint8Array(readFileSync(new URL(`../fixtures/models/${file}`, import.meta.url)));
      for (let round = 0; round < 150; round++) {
        const bytes = original.slice();
        const flips = 1 + Math.floor(rand() * 4);
        // Bias towards the directory and headers at both ends, where the container logic lives.
        for (let i = 0; i < flips; i++) {
          const zone = rand() < 0.5 ? bytes.length - 1 - Math.floor(rand() * Math.min(bytes.length, 2048)) : Math.floor(rand() * Math.min(bytes.length, 256));
          bytes[zone] = Math.floor(rand() * 256);
        }
        const cut = rand() < 0.2 ? bytes.subarray(0, Math.floor(rand() * bytes.length)) : bytes;
        const { analysis } = record(cut);
        assert.ok(analysis.streams.length + analysis.findings.length > 0, `${file} round ${round}`);
        assert.ok(!analysis.findings.some((f) => f.message.startsWith('internal error')), `${file} round ${round}: ${JSON.stringify(analysis.findings)}`);
      }
    }
  });
});

describe('positioned reads through a tiny window', () => {
  it('gives the same analysis from a file descriptor with a 61-byte window as from memory', async () => {
    const { closeSync, openSync } = await import('node:fs');
    const { analyzeContainer } = await import('../../src/formats/index.js');
    const { bufferSource, fdSource } = await import('../../src/io/byte-source.js');
    const files = [
      'torch/checkpoint.pt',
      'torch/torchscript_script.pt',
      'torch/whole_model.legacy.pt',
      'numpy/object_compressed.npz',
      'numpy/structured_object.npy',
      'joblib/bundle.joblib',
      'joblib/bundle.xz.joblib',
    ];
    for (const file of files) {
      const url = new URL(`../fixtures/models/${file}`, import.meta.url);
      const fromMemory = analyzeContainer(bufferSource(new Uint8Array(readFileSync(url))));
      const fd = openSync(url, 'r');
      try {
        const fromFd = analyzeContainer(fdSource(fd, { window: 61 }));
        assert.deepEqual(fromFd, fromMemory, file);
      } finally {
        closeSync(fd);
      }
    }
  });
});
