/**
 * Scans a tar as its loaders read it: torch's oldest layout (`sys_info`, `pickle`,
 * `storages`, `tensors`) member by member the way `legacy_load` does, any other tar by
 * looking at each regular member's content.
 */
import type { ByteSource } from '../io/byte-source.js';
import { copyOf } from './bytes.js';
import { childPlace, report, takeMembers, type NestedAnalyzer, type Place, type ScanContext } from './context.js';
import { scanRawPickle } from './raw-pickle.js';
import { looksLikePickle, sniffHead, SNIFF_BYTES } from './sniff.js';
import { isRegular, isTorchTar, memberSource, readTar, TORCH_TAR_MEMBERS } from './tar.js';
import { analyzeTorchTarMember } from './torch-legacy.js';
import type { ContainerFormat } from './types.js';

export function analyzeTar(ctx: ScanContext, place: Place, source: ByteSource, nested: NestedAnalyzer): ContainerFormat {
  const head = copyOf(source.read(0, SNIFF_BYTES));
  // tarfile only checks header checksums, so the same bytes may also start a pickle
  // (np.load and joblib would unpickle them): scan that reading too.
  if (looksLikePickle(head)) scanRawPickle(ctx, place, source, 'pickle');
  const result = readTar(source, ctx.budget.members);
  if (result.ok === 'too-many') {
    takeMembers(ctx, place, ctx.budget.members + 1);
    return 'tar';
  }
  if (!result.ok) {
    report(ctx, place, { code: result.code, message: result.message, offset: result.offset });
    return 'tar';
  }
  if (!takeMembers(ctx, place, result.members.length)) return 'tar';
  const torch = isTorchTar(result.members);
  for (const member of result.members) {
    const here = childPlace(place, member.name);
    if (member.type === 'S') {
      report(ctx, here, { code: 'container-malformed', message: 'sparse tar member: its bytes as tarfile reads them are not reconstructed' });
      continue;
    }
    const torchName = torch && (TORCH_TAR_MEMBERS as readonly string[]).includes(member.name);
    if (!isRegular(member)) {
      // torch extracts these by name to disk and opens the result: a link could lead anywhere.
      if (torchName) report(ctx, here, { code: 'container-malformed', message: `torch tar member "${member.name}" is a link or special file, not data: torch would read whatever it points to` });
      continue; // other links point at members that are scanned themselves
    }
    if (torchName) {
      analyzeTorchTarMember(ctx, here, source, member);
      continue;
    }
    const bytes = memberSource(source, member);
    const inner = sniffHead(copyOf(bytes.read(0, SNIFF_BYTES)));
    if (inner.kind === 'pickle' || inner.kind === 'torch-legacy') scanRawPickle(ctx, here, bytes, torch ? 'torch-tar' : 'tar');
    else if (inner.kind !== 'unknown') nested(ctx, here, bytes, inner);
  }
  return torch ? 'torch-tar' : 'tar';
}
