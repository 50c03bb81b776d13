/**
 * The reasons a pickle stops, thrown inside the machine and turned into one finding
 * where the pickle's run ends (`run.ts`).
 */
import type { LimitName } from '../../findings.js';
import { PickleReadError } from '../reader.js';

/** CPython raises here too. */
export function malformed(message: string): PickleReadError {
  return new PickleReadError('malformed', message);
}

/** A bound was hit; `limit` names it. */
export function limitHit(limit: LimitName, message: string): PickleReadError {
  return new PickleReadError('limit', message, limit);
}

/** The pickle must stop here and the reason is already a finding (a nested pickle failed ...). */
export class AlreadyReported extends PickleReadError {
  constructor() {
    super('malformed', 'already reported');
  }
}
