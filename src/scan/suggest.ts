/**
 * `pickle-guard policy suggest`: the allow entries a trusted model needs beyond the
 * current policy. Never suggests a denied or known-dangerous name, nor a dunder walk.
 */
import { dangerReason } from '../policy/dangerous.js';
import type { Policy } from '../policy/types.js';
import type { ScanReport } from './report.js';

export interface Suggestions {
  /** Entry texts (module.qualname or module:qualname), ready to go under `allow:`. */
  entries: string[];
  refused: Array<{ name: string; why: string }>;
}

export function suggestAllowEntries(reports: readonly ScanReport[], policy: Policy): Suggestions {
  const entries: string[] = [];
  const refused: Suggestions['refused'] = [];
  const seen = new Set<string>();
  for (const report of reports) {
    const list = policy.forFile(report.path);
    for (const g of report.globals) {
      const key = `${g.origin}|${g.module}|${g.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const name = `${g.module}.${g.name}`;
      const danger = dangerReason(g.module, g.name);
      const imp = { module: g.module, name: g.name, origin: g.origin, traversal: g.origin === 'import' && g.name.includes('.'), dunder: false };
      // `builtins.getattr` used only in the constrained form is judged by the names it derives.
      if (g.decision === 'constrained-getattr') continue;
      const decision = list.check(imp);
      if (decision.allowed) continue;
      if (danger !== undefined) refused.push({ name, why: `known dangerous: ${danger}` });
      else if (decision.code === 'global-denied') refused.push({ name, why: decision.reason });
      else if (!decision.suggestion) refused.push({ name, why: decision.reason });
      else {
        const entry = decision.suggestion.replace(/^- /, '');
        const text = entry.startsWith('"') ? (JSON.parse(entry) as string) : entry;
        if (!entries.includes(text)) entries.push(text);
      }
    }
  }
  return { entries, refused };
}
