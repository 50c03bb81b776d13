/**
 * Scans a list of files, in this thread or on N worker threads, and hands results back
 * in input order (so output does not depend on scheduling).
 */
import { Worker } from 'node:worker_threads';
import type { Policy } from '../policy/types.js';
import type { PolicyRequest } from './policy-source.js';
import type { FileResult } from './results.js';
import { scanOne } from './scan-one.js';

export interface PoolOptions {
  jobs: number;
  policy: Policy;
  request: PolicyRequest;
  /** Called as each file finishes (any order): `index` in `files`, `done` files so far. */
  onDone?: (index: number, result: FileResult, done: number) => void;
}

/**
 * Starts the worker module next to this one. Built, that is `scan-worker.js`. Run from
 * source under tsx (the tests), a worker does not inherit tsx's loader hooks, so a tiny
 * bootstrap registers them before importing `scan-worker.ts`.
 */
function startWorker(request: PolicyRequest): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./scan-worker.js', import.meta.url), { workerData: request });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./scan-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { eval: true, workerData: request });
}

function scanHere(files: readonly string[], options: PoolOptions): FileResult[] {
  return files.map((path, i) => {
    const result = scanOne(path, options.policy, options.request.cwd);
    options.onDone?.(i, result, i + 1);
    return result;
  });
}

export async function scanAll(files: readonly string[], options: PoolOptions): Promise<FileResult[]> {
  const jobs = Math.min(options.jobs, files.length);
  if (jobs <= 1) return scanHere(files, options);

  // Batches: small enough to balance the workers, large enough to keep round trips few.
  const size = Math.max(1, Math.min(32, Math.floor(files.length / (jobs * 8))));
  const batches: number[] = [];
  for (let i = 0; i < files.length; i += size) batches.push(i);
  const results: Array<FileResult | undefined> = new Array(files.length);
  let next = 0;
  let done = 0;
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolveAll, rejectAll) => {
      const feed = (worker: Worker): void => {
        if (next >= batches.length) return;
        const id = next++;
        const from = batches[id]!;
        worker.postMessage({ id, paths: files.slice(from, from + size) });
      };
      for (let i = 0; i < jobs; i++) {
        const worker = startWorker(options.request);
        workers.push(worker);
        worker.on('message', (msg: { id: number; results: FileResult[] }) => {
          const from = batches[msg.id]!;
          msg.results.forEach((r, k) => {
            results[from + k] = r;
            done++;
            options.onDone?.(from + k, r, done);
          });
          if (done === files.length) resolveAll();
          else feed(worker);
        });
        // A worker that dies leaves its files unscanned: that is an error, never "allowed".
        worker.on('error', rejectAll);
        worker.on('exit', (code) => {
          if (done < files.length) rejectAll(new Error(`scan worker exited early (code ${code})`));
        });
        feed(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results.map((r, i) => r ?? { path: files[i]!, error: { code: 'ERR_PICKLE_GUARD_INTERNAL', message: 'not scanned' } });
}
