/**
 * Validators for the CLI's JSON report (schema/report.schema.json) and for SARIF 2.1.0
 * (the public OASIS schema, vendored in test/fixtures/sarif). The SARIF schema is
 * draft-04; ajv speaks draft-07, so the loader renames its top-level `id` to `$id` and
 * drops `$schema` (the two keywords that differ for this schema). Formats used by the
 * SARIF schema (uri, uri-reference, date-time) are checked with URL parsing / Date.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

function ajv(): Ajv {
  const a = new Ajv({ allErrors: true, strict: false });
  a.addFormat('uri', (s: string) => URL.canParse(s));
  a.addFormat('uri-reference', (s: string) => URL.canParse(s, 'file:///base/'));
  a.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
  return a;
}

export function reportValidator(): ValidateFunction {
  const schema = JSON.parse(readFileSync(join(ROOT, 'schema/report.schema.json'), 'utf8')) as object;
  return ajv().compile(schema);
}

export function sarifValidator(): ValidateFunction {
  const schema = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/sarif/sarif-schema-2.1.0.json'), 'utf8')) as Record<string, unknown>;
  schema.$id = schema.id;
  delete schema.id;
  delete schema.$schema;
  return ajv().compile(schema);
}

export function errorsOf(v: ValidateFunction): string {
  return JSON.stringify(v.errors, null, 2);
}
