/**
 * The effective policy as YAML (extends resolved), for `pickle-guard policy check`.
 * The output is itself a valid policy file: loading it gives the same decisions.
 */
import { isAbsolute, join } from 'node:path';
import { stringify } from 'yaml';
import type { Entry } from './entries.js';
import { POLICY_VERSION } from './parse.js';
import type { ResolvedPolicyData } from './resolve.js';

function entries(list: readonly Entry[]): unknown[] {
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const e of list) {
    const key = `${e.kind}:${e.text}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e.kind === 'members' ? { members: e.text, ...(e.why ? { why: e.why } : {}) } : e.why ? { name: e.text, why: e.why } : e.text);
  }
  return out;
}

/** Globs written relative to a policy folder, made absolute so the output can live anywhere. */
function anchored(globs: readonly string[], base: string): string[] {
  return globs.map((g) => (isAbsolute(g) || g.startsWith('**') ? g : join(base, g).split('\\').join('/')));
}

export function effectiveYaml(data: ResolvedPolicyData): string {
  const doc = {
    version: POLICY_VERSION,
    mode: data.mode,
    allow: entries(data.allow),
    deny: entries(data.deny),
    artifacts: { include: anchored(data.artifacts.include, data.artifacts.base), exclude: anchored(data.artifacts.exclude, data.artifacts.base) },
    rules: data.rules.map((r) => ({ files: anchored(r.files, r.base), allow: entries(r.allow), deny: entries(r.deny) })).map((r) => {
      const out: Record<string, unknown> = { files: r.files };
      if (r.allow.length) out.allow = r.allow;
      if (r.deny.length) out.deny = r.deny;
      return out;
    }).filter((r) => r.allow || r.deny),
    python: { launchers: data.pythonLaunchers },
  };
  const header = `# Effective pickle-guard policy (extends resolved)\n# source: ${data.source}\n# read: ${data.chain.join(', ')}\n`;
  return header + stringify(doc, { lineWidth: 0 });
}
