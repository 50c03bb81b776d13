/**
 * Worker thread for `scan --jobs N`: resolves the policy itself (a Policy holds
 * functions and cannot be posted), then scans the paths it is sent, one at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadPolicy, type PolicyRequest } from './policy-source.js';
import { scanOne } from './scan-one.js';

/** A batch of paths (batches keep message round trips few on large trees). */
interface Job {
  id: number;
  paths: string[];
}

const request = workerData as PolicyRequest;
const policy = loadPolicy(request);
parentPort?.on('message', (job: Job) => {
  parentPort?.postMessage({ id: job.id, results: job.paths.map((path) => scanOne(path, policy, request.cwd)) });
});
