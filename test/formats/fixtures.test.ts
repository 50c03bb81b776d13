/**
 * End to end over the fixtures made by the real tools (test/fixtures/models): for every
 * benign file (torch, numpy, joblib in all codecs, plain pickles), the imports our real pickle machine finds in the members we hand it
 * are exactly what the real loader passed to find_class, member by member (as written:
 * find_class receives the names before its Python-2 mapping).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { analyzeContainer } from '../../src/formats/index.js';
import { bufferSource } from '../../src/io/byte-source.js';

const ROOT = new URL('../fixtures/models/', import.meta.url);

interface ManifestStream {
  member: string;
  start?: number | null;
  end?: number | null;
  find_class: Array<[string, string]>;
}
interface ManifestFile {
  format: string;
  compression?: string;
  kind: 'benign' | 'malicious';
  streams?: ManifestStream[];
  stopped?: { member: string; module: string; name: string };
}

const manifest = JSON.parse(readFileSync(new URL('manifest.json', ROOT), 'utf8')) as { files: Record<string, ManifestFile> };

function analyze(file: string) {
  return analyzeContainer(bufferSource(new Uint8Array(readFileSync(new URL(file, ROOT)))));
}

/** member -> imports in order, joined as module.name */
function byMember(pairs: Array<[string, string[]]>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [member, names] of pairs) (out[member] ??= []).push(...names);
  return out;
}

const selected = Object.entries(manifest.files).filter(([, i]) => i.kind === 'benign');

/**
 * joblib runs a nested object-array pickle in the middle of the main one; the manifest
 * lists it as a stream of its own, we as part of the member's stream: same imports,
 * compared as a multiset.
 */
function normalise(file: string, m: Record<string, string[]>): Record<string, string[]> {
  if (!file.startsWith('joblib/')) return m;
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, [...v].sort()]));
}

describe('real torch, numpy, joblib and pickle files', () => {
  it('has fixtures to check', () => assert.ok(selected.length >= 40));

  for (const [file, info] of selected) {
    it(`${file}: format ${info.format}, and the imports we find are what the loader's find_class saw`, () => {
      const analysis = analyze(file);
      assert.equal(analysis.format, info.format);
      const ours = byMember(
        analysis.streams.map((s) => [s.member, s.analysis.imports.filter((i) => i.origin === 'import').map((i) => `${i.written.module}.${i.written.name}`)]),
      );
      const theirs = byMember((info.streams ?? []).map((s) => [s.member, s.find_class.map(([m, n]) => `${m}.${n}`)]));
      assert.deepEqual(normalise(file, ours), normalise(file, theirs));
      if (info.compression) assert.equal(analysis.compression, info.compression);
      // Each pickle the loader read starts and ends where ours does (five of them in legacy files).
      for (const m of info.streams ?? []) {
        if (typeof m.start !== 'number' || typeof m.end !== 'number') continue;
        const found = analysis.streams.some((s) => s.member === m.member && s.analysis.pickles.some((p) => p.start === m.start && p.end === m.end));
        assert.ok(found, `pickle ${m.start}..${m.end} in ${m.member || '(file)'}`);
      }
      // No container finding on real files, every pickle read to its STOP, and tensor data
      // never handed to the machine. (Machine-level findings are the pickle layer's tests.)
      assert.deepEqual(analysis.findings.filter((f) => f.code !== 'no-pickle'), []);
      for (const s of analysis.streams) {
        assert.ok(s.analysis.pickles.length > 0 && s.analysis.pickles.every((p) => p.complete), s.member);
        assert.ok(!/\/data\/[^/]+$/.test(s.member), `tensor member ${s.member} was scanned`);
      }
    });
  }
});

describe('real malicious files', () => {
  for (const [file, info] of Object.entries(manifest.files).filter(([, i]) => i.kind === 'malicious')) {
    it(`${file}: the payload's import is found in the member the loader ran it from`, () => {
      const analysis = analyze(file);
      assert.equal(analysis.format, info.format);
      const stopped = info.stopped as NonNullable<ManifestFile['stopped']>;
      const hit = analysis.streams.some(
        (s) => s.member === stopped.member && s.analysis.imports.some((i) => i.module === stopped.module && i.name === stopped.name),
      );
      assert.ok(hit, `${stopped.module}.${stopped.name} in ${stopped.member || '(file)'}`);
    });
  }
});
