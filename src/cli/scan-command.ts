/** `pickle-guard scan PATH...` */
import { availableParallelism } from 'node:os';
import { UsageError } from '../errors.js';
import { parseArgs } from 'node:util';
import { positiveInt, usage } from './args.js';
import { collectTargets } from './collect.js';
import { paint, type CliIO } from './io.js';
import { loadPolicy, policyRequest } from './policy-source.js';
import { scanAll } from './pool.js';
import { jsonDocument, stringify } from './render/json.js';
import { sarifDocument } from './render/sarif.js';
import { renderResultText, renderSummaryText } from './render/text.js';
import { exitCodeFor, summarize, type FileResult } from './results.js';
import { fileLooksLikeModel } from './sniff.js';
import { packageVersion } from './version.js';

type Format = 'text' | 'json' | 'sarif';

// Measured: a worker costs ~0.15 s CPU to start (module graph, policy presets) plus its own
// JIT warm-up, and a small model scans in under 1 ms; below this many files it does not pay.
const MANY_FILES = 1000;

function formatOf(value: string | undefined, json: boolean | undefined): Format {
  if (json) {
    if (value !== undefined && value !== 'json') throw new UsageError(`--json contradicts --format ${value}`);
    return 'json';
  }
  if (value === undefined) return 'text';
  if (value === 'text' || value === 'json' || value === 'sarif') return value;
  throw new UsageError(`--format must be text, json or sarif, got ${JSON.stringify(value)}`);
}

/** A progress line on a terminal's stderr, for scans longer than 300 ms, at most ten updates a second. */
function progress(io: CliIO, total: number): { tick: (done: number, path: string) => void; clear: () => void } {
  if (!io.errIsTTY || total < 2) return { tick: () => {}, clear: () => {} };
  const started = Date.now();
  let last = 0;
  let shown = false;
  return {
    tick(done, path) {
      const now = Date.now();
      if (now - started < 300 || now - last < 100 || done === total) return;
      last = now;
      shown = true;
      const name = path.length > 60 ? `...${path.slice(-57)}` : path;
      io.err(`\r\x1b[2Kscanning ${done}/${total} ${name}`);
    },
    clear() {
      if (shown) io.err('\r\x1b[2K');
      shown = false;
    },
  };
}

/**
 * Text results are printed as soon as every earlier file is done, so a long scan shows
 * its first results early while the output order stays the input order.
 */
function orderedPrinter(print: (r: FileResult) => void): (index: number, r: FileResult) => void {
  const waiting = new Map<number, FileResult>();
  let next = 0;
  return (index, r) => {
    waiting.set(index, r);
    for (let ready = waiting.get(next); ready; ready = waiting.get(next)) {
      waiting.delete(next++);
      print(ready);
    }
  };
}

export async function scanCommand(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = usage(() =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        policy: { type: 'string' },
        format: { type: 'string' },
        json: { type: 'boolean' },
        jobs: { type: 'string' },
        include: { type: 'string', multiple: true },
        exclude: { type: 'string', multiple: true },
        'no-color': { type: 'boolean' },
      },
    }),
  );
  if (positionals.length === 0) throw new UsageError('scan needs at least one PATH (see pickle-guard scan --help)');
  const format = formatOf(values.format, values.json);
  const jobsFlag = positiveInt(values.jobs, '--jobs');

  const request = policyRequest(io, values.policy);
  const policy = loadPolicy(request);

  const collected = collectTargets(positionals, {
    include: values.include ?? [],
    exclude: values.exclude ?? [],
    looksLikeModel: fileLooksLikeModel,
    isArtifactPath: (p) => policy.isArtifactPath(p),
    cwd: io.cwd,
  });
  const jobs = jobsFlag ?? (collected.files.length >= MANY_FILES ? availableParallelism() : 1);
  const bar = progress(io, collected.files.length);
  const p = paint(io.color && !values['no-color']);
  const collectErrors: FileResult[] = collected.errors.map((e) => ({ path: e.path, error: { code: 'ERR_PICKLE_GUARD_IO', message: e.message } }));
  const text = format === 'text';
  const printText = (r: FileResult): void => {
    bar.clear(); // stdout and stderr share the terminal: never write over the progress line
    io.out(renderResultText(r, p));
  };
  if (text) collectErrors.forEach(printText);
  const printInOrder = orderedPrinter(printText);
  let scanned: FileResult[];
  try {
    scanned = await scanAll(collected.files, {
      jobs,
      policy,
      request,
      onDone: (index, r, done) => {
        if (text) printInOrder(index, r);
        bar.tick(done, r.path);
      },
    });
  } finally {
    bar.clear();
  }
  const results: FileResult[] = [...collectErrors, ...scanned];
  const summary = summarize(results);
  const version = packageVersion();

  if (format === 'json') io.out(`${stringify(jsonDocument(results, summary, version))}\n`);
  else if (format === 'sarif') io.out(`${stringify(sarifDocument(results, version, io.cwd))}\n`);
  else {
    if (results.length === 0) io.out('no model files found\n');
    io.out(renderSummaryText(summary, policy.source, p));
  }
  return exitCodeFor(summary);
}
